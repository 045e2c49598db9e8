"""Hostile language-server sessions: JSON-RPC frames, well-formed, mutated and broken, on hostile documents.

    from hostile_lsp import session, check_session
    data = session(random.Random(seed))   # the bytes a client sends, in one stream
    check_session(data)                   # raises AssertionError on a crash, an internal error or a traceback

A session opens documents from the other strategies (hostile_inputs.STRATEGIES),
edits them with ranges in and past the text, asks every request the server
offers at positions in, before and past the document, and mixes in frames that
are not JSON, not JSON-RPC, carry wrong params or ids, or a Content-Length
that lies; now and then a header that ends the connection. The server runs in
this process, on pipes, through the transport an editor talks to (serve_frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import threading

from hostile_inputs import STRATEGIES

REQUESTS = [
    "textDocument/hover",
    "textDocument/completion",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/documentSymbol",
    "textDocument/codeAction",
    "textDocument/semanticTokens/full",
    "textDocument/formatting",
]
URIS = ["file:///fuzz/net.cnn", "file:///fuzz/other.cnn", "untitled:Untitled-1", "file:///etc/passwd", "x", ""]
NUMBERS = [0, 1, 2, 5, 40, -1, -(2**31), 2**31, 2**53, 2**64, 1.5, None, "3", True, [], {}]
BREAKING = [
    b"Content-Length: 99999999999999999999\r\n\r\n",
    b"Content-Length: -4\r\n\r\n{}",
    b"Content-Length: 1e3\r\n\r\n",
    b"no colon here\r\n\r\n",
    b"Content-Type: text/plain\r\n\r\n{}",
    b"X" * 70_000,
]


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def message(payload) -> bytes:
    return frame(json.dumps(payload).encode())


def position(rng: random.Random, text: str) -> dict:
    lines = text.split("\n")
    if rng.random() < 0.8:
        line = rng.randrange(len(lines) + 2)
        character = rng.randrange(len(lines[line]) + 3) if line < len(lines) else rng.randrange(5)
        return {"line": line, "character": character}
    return {"line": rng.choice(NUMBERS), "character": rng.choice(NUMBERS)}


def document_text(rng: random.Random) -> str:
    name = rng.choice([name for name in STRATEGIES if name != "bomb"] * 20 + ["bomb"])
    return STRATEGIES[name](rng)


def session(rng: random.Random) -> bytes:
    """One client's stream: initialize, documents opened, edited, asked about and closed, hostile frames."""
    out = []
    ident = 0
    if rng.random() < 0.9:
        ident += 1
        out.append(message({"jsonrpc": "2.0", "id": ident, "method": "initialize", "params": {"capabilities": {}}}))
        out.append(message({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    texts = {}
    for _ in range(rng.choice([1, 3, 8, 15])):
        roll = rng.random()
        uri = rng.choice(URIS)
        text = texts.get(uri, "")
        if roll < 0.2 or not texts:
            texts[uri] = document_text(rng)
            language = rng.choice(["cnndsl", "cnndsl", "cnn", "plaintext", None])
            document = {
                "uri": uri,
                "languageId": language,
                "version": rng.choice([1, 0, -5, 2**40]),
                "text": texts[uri],
            }
            out.append(
                message({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}})
            )
        elif roll < 0.4:
            changes = []
            for _ in range(rng.choice([1, 2, 4])):
                new = rng.choice(
                    ["", "x", "\n", "relu | ", "conv 8 3\n", "(", "@a", "\\\n", "é", "🙂", document_text(rng)]
                )
                if rng.random() < 0.15:
                    changes.append({"text": new})  # the whole text
                else:
                    changes.append({"range": {"start": position(rng, text), "end": position(rng, text)}, "text": new})
            version = rng.choice([2, 3, 1, 0, 2**40])
            params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}
            out.append(message({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params}))
        elif roll < 0.75:
            ident += 1
            params = {"textDocument": {"uri": uri}, "position": position(rng, text)}
            method = rng.choice(REQUESTS)
            if method == "textDocument/codeAction":
                params = {
                    "textDocument": {"uri": uri},
                    "range": {"start": position(rng, text), "end": position(rng, text)},
                    "context": {"diagnostics": []},
                }
            elif method == "textDocument/formatting":
                params = {
                    "textDocument": {"uri": uri},
                    "options": {"tabSize": rng.choice([4, 0, -1]), "insertSpaces": True},
                }
            elif method == "textDocument/references":
                params["context"] = {"includeDeclaration": rng.random() < 0.5}
            out.append(message({"jsonrpc": "2.0", "id": ident, "method": method, "params": params}))
        elif roll < 0.8:
            out.append(
                message({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}})
            )
        else:
            out.append(mutated(rng, ident))
    if rng.random() < 0.05:
        out.append(rng.choice(BREAKING))  # the connection ends here: the server says why and exits 1
    if rng.random() < 0.7:
        out.append(message({"jsonrpc": "2.0", "id": ident + 1, "method": "shutdown"}))
        out.append(message({"jsonrpc": "2.0", "method": "exit"}))
    return b"".join(out)


def mutated(rng: random.Random, ident: int) -> bytes:
    """A frame that is wrong in one way and can still be cut from the stream."""
    roll = rng.random()
    if roll < 0.15:
        return frame(rng.choice([b"{", b"null", b"[]", b"\xff\xfe", b'"x"', b"1e999", b"[" * 5000 + b"]" * 5000]))
    if roll < 0.3:
        return message(rng.choice([{}, {"jsonrpc": "1.0", "id": 1, "method": "x"}, {"jsonrpc": "2.0", "method": 5}]))
    if roll < 0.5:
        bad_id = rng.choice([True, 1.5, [], {}, None, "s", -1, 2**70])
        return message({"jsonrpc": "2.0", "id": bad_id, "method": rng.choice(REQUESTS), "params": {}})
    if roll < 0.7:
        params = rng.choice([None, [], 5, "x", {"textDocument": 5}, {"textDocument": {"uri": 5}, "position": "x"}])
        return message({"jsonrpc": "2.0", "id": ident + 1000, "method": rng.choice(REQUESTS), "params": params})
    if roll < 0.8:
        return message(
            {"jsonrpc": "2.0", "id": ident + 2000, "method": rng.choice(["$/x", "nope", "workspace/symbol"])}
        )
    if roll < 0.9:  # a length that lies: the next frame's bytes are read into this one, or this one's into the next
        body = json.dumps({"jsonrpc": "2.0", "method": "initialized", "params": {}}).encode()
        return b"Content-Length: %d\r\n\r\n" % max(0, len(body) + rng.choice([-3, -1, 1, 7])) + body
    return b"\r\n" * rng.choice([1, 3]) + message({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}})


def run_session(data: bytes, timeout: float = 60) -> tuple[int | None, bytes, str]:
    """The server in this process on `data`: (its exit code or None if it did not finish, its output, stderr)."""
    import logging

    from cnndsl.tools.lsp import build_server
    from cnndsl.tools.lsp_transport import serve_frames

    # as serve() sets it: pygls logs each failure with its traceback, and the client gets an error reply instead
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    server = build_server()
    in_read, in_write = os.pipe()
    out_read, out_write = os.pipe()
    codes: list = []
    output = bytearray()

    def serve() -> None:
        try:
            codes.append(asyncio.run(serve_frames(server.protocol, server.cnndsl_idle, in_read, out_write)))
        except BaseException as error:  # noqa: BLE001 - reported as the finding it is
            codes.append(error)

    def read() -> None:
        while chunk := os.read(out_read, 65536):
            output.extend(chunk)

    def write() -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(in_write, view[:65536]) :]
        except OSError:  # the server stopped reading (a broken frame): the rest is not read
            pass
        os.close(in_write)

    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        threads = [threading.Thread(target=target, daemon=True) for target in (serve, read, write)]
        for thread in threads:
            thread.start()
        threads[0].join(timeout)
        finished = not threads[0].is_alive()
        threads[2].join(1)
        os.close(out_write)
        threads[1].join(5)
    os.close(out_read)
    if finished:
        os.close(in_read)
    code = codes[0] if codes else None
    if isinstance(code, BaseException):
        raise AssertionError(f"serve_frames raised {type(code).__name__}: {code}")
    return code, bytes(output), errors.getvalue()


def replies(output: bytes) -> list[dict]:
    """The messages the server wrote, read back as a client would."""
    messages = []
    while output:
        head, _, rest = output.partition(b"\r\n\r\n")
        fields = dict(line.split(b":", 1) for line in head.split(b"\r\n"))
        length = int(fields[b"Content-Length"])
        messages.append(json.loads(rest[:length]))
        output = rest[length:]
    return messages


def check_session(data: bytes) -> int:
    """The session's property: the server ends cleanly (0, or 1 after a broken frame) within the time, writes
    nothing on stderr, answers with readable frames and never an internal error or a traceback. Exit code."""
    code, output, errors = run_session(data)
    assert code is not None, "the server did not finish the session within 60 s"
    assert code in (0, 1), f"exit code {code}"
    assert errors == "", errors[-500:]
    for reply in replies(output):
        text = json.dumps(reply)
        assert "Traceback" not in text and 'File \\"' not in text, text[:500]
        error = reply.get("error")
        assert error is None or error.get("code") != -32603, text[:500]
    return code
