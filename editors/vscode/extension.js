// Starts `cnndsl lsp` (pip install "cnndsl[lsp]") for .cnn files.
"use strict";
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("cnndsl").get("server.command", ["cnndsl", "lsp"]);
  client = new LanguageClient(
    "cnndsl",
    "cnndsl",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "cnndsl" }, { scheme: "untitled", language: "cnndsl" }] },
  );
  context.subscriptions.push(client);
  client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `cnndsl: could not start \`${command} ${args.join(" ")}\` (pip install "cnndsl[lsp]"): ${error.message}`,
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
