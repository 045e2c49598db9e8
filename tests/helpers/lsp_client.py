"""A small Language Server Protocol client: JSON-RPC over a subprocess's pipes, as an editor speaks it."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


class Client:
    def __init__(self, *command: str):
        self.process = subprocess.Popen(
            list(command or (sys.executable, "-m", "cnndsl", "lsp")),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        self.next_id = 0
        self.responses: dict[int, queue.Queue] = {}
        self.notifications: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, framed or not, in one write."""
        with self.lock:
            self.process.stdin.write(data)
            self.process.stdin.flush()

    def reply_to(self, ident, timeout: float = 60) -> dict:
        """The whole response message with this id (None: an error about a message the server could not read)."""
        return self.responses.setdefault(ident, queue.Queue()).get(timeout=timeout)

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            message = json.loads(stream.read(int(headers["content-length"])))
            if "id" in message and "method" in message:  # a request from the server: accept it
                self._send({"id": message["id"], "result": None})
            elif "id" in message:
                self.responses.setdefault(message["id"], queue.Queue()).put(message)
            else:
                self.notifications.put(message)

    def request(self, method: str, params: dict | None = None, timeout: float = 60):
        message = self.request_message(method, params, timeout)
        if "error" in message:
            raise RuntimeError(message["error"])
        return message["result"]

    def request_message(self, method: str, params=None, timeout: float = 60) -> dict:
        """The whole response, result or error."""
        self.next_id += 1
        ident = self.next_id
        waiting = self.responses.setdefault(ident, queue.Queue())
        self._send({"id": ident, "method": method, "params": {} if params is None else params})
        return waiting.get(timeout=timeout)

    def notify(self, method: str, params: dict) -> None:
        self._send({"method": method, "params": params})

    def notification(self, method: str, timeout: float = 60) -> dict:
        """The next notification of this method (others are dropped)."""
        while True:
            message = self.notifications.get(timeout=timeout)
            if message["method"] == method:
                return message["params"]

    def initialize(self) -> dict:
        result = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "capabilities": {
                    "textDocument": {
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "publishDiagnostics": {"relatedInformation": True},
                        "documentSymbol": {"hierarchicalDocumentSymbolSupport": True},
                    }
                },
            },
        )
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "cnndsl", "version": version, "text": text}},
        )

    def change(self, uri: str, version: int, changes: list[dict]) -> None:
        self.notify(
            "textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}
        )

    def close(self) -> int:
        try:
            self.request("shutdown", timeout=30)
            self.notify("exit", {})
            return self.process.wait(timeout=30)
        finally:
            self.end()

    def end(self) -> str:
        """Stop the process if it still runs; what it wrote to standard error."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:  # a write that never reached a server that had gone
                pass
        if self.process.stderr.closed:
            return self.stderr
        self.stderr = self.process.stderr.read().decode(errors="replace")
        self.process.stderr.close()
        return self.stderr
