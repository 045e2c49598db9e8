// Tokenize .cnn files with the extension's TextMate grammar, as VS Code does
// (vscode-textmate on the Oniguruma WebAssembly build). Prints, per file, one
// JSON line: {"file", "tokens": [[line, startIndex, endIndex, [scopes...]], ...]}.
// Lines and indices are 0-based. Used by tests/test_textmate.py.
"use strict";
const fs = require("fs");
const path = require("path");
const textmate = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const here = __dirname;
const wasm = fs.readFileSync(path.join(here, "..", "node_modules", "vscode-oniguruma", "release", "onig.wasm"));
const grammarPath = path.join(here, "..", "syntaxes", "cnndsl.tmLanguage.json");

async function main(files) {
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === "source.cnndsl"
        ? textmate.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
        : null,
  });
  const grammar = await registry.loadGrammar("source.cnndsl");
  for (const file of files) {
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    let state = textmate.INITIAL;
    const tokens = [];
    lines.forEach((line, number) => {
      const result = grammar.tokenizeLine(line, state);
      for (const token of result.tokens) {
        tokens.push([number, token.startIndex, Math.min(token.endIndex, line.length), token.scopes]);
      }
      state = result.ruleStack;
    });
    process.stdout.write(JSON.stringify({ file, tokens }) + "\n");
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
