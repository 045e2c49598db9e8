"""`cnndsl lsp` against a hostile client: bad frames, unopened URIs, paths it must never read.

Each test speaks raw bytes to a real server process over its pipes, and checks
the answer, that the server goes on (or closes cleanly) and that it wrote no
traceback to standard error.
"""

from __future__ import annotations

import json
import os
import queue
import sys

import pytest
from lsp_client import Client

from cnndsl.core.limits import MAX_LSP_MESSAGE_BYTES

pytest.importorskip("pygls")  # in the `test` extra, so CI always has it


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(ident, method: str, params) -> bytes:
    return frame(json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params}).encode())


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr


@pytest.fixture(scope="module")
def client():
    client = Client()
    client.initialize()
    yield client
    assert client.close() == 0
    assert_no_traceback(client.stderr)
    assert client.stderr == ""


def still_answers(client: Client) -> None:
    """A well-formed request after the bad one gets its answer: the connection was kept."""
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": "file:///never/opened.cnn"}})
    assert symbols is None


@pytest.mark.parametrize(
    "header",
    [
        b"Content-Length: 1000000000000000000000\r\n\r\n",  # past every integer type
        b"Content-Length: %d\r\n\r\n" % (MAX_LSP_MESSAGE_BYTES + 1),
        b"Content-Length: -5\r\n\r\n{}",
        b"Content-Length: 0x10\r\n\r\n",
        b"Content-Length: \xd9\xa3\r\n\r\n",  # ARABIC-INDIC DIGIT THREE: a digit to str.isdigit, not to the protocol
        b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}",  # no length at all
        b"hello there\r\n\r\n",
        b"Content-Length: 1" + b"0" * 9000 + b"\r\n\r\n",  # more digits than int() converts
        b"A" * 20000,  # a header that never ends
    ],
    ids=["huge", "over-the-bound", "negative", "hex", "non-ascii-digit", "no-length", "no-colon", "digits", "endless"],
)
def test_a_frame_that_cannot_be_read_gets_an_error_and_a_clean_close(header):
    client = Client()
    try:
        client.initialize()
        client.send_raw(header)
        reply = client.reply_to(None, timeout=30)
        assert reply["error"]["code"] == -32600
        assert reply["error"]["message"].startswith("cnndsl lsp: ")
        assert "data" not in reply["error"]
        assert client.process.wait(timeout=30) == 1
    finally:
        stderr = client.end()
    assert stderr == ""


@pytest.mark.parametrize(
    "body, code, ident",
    [
        (b"{not json", -32700, None),
        (b"\xff\xfe\x00garbage", -32700, None),
        (b"[" * 100_000, -32700, None),  # nested past the JSON reader's recursion limit
        (b"[1, 2, 3]", -32600, None),
        (b'{"id": 921, "method": "initialize"}', -32600, 921),  # no "jsonrpc": "2.0"; the id is answered
        (b'{"jsonrpc": "2.0", "id": [1], "method": "shutdown"}', -32600, None),
        (b'{"jsonrpc": "2.0", "id": 922, "method": 7}', -32600, 922),
    ],
)
def test_a_body_that_is_not_json_rpc_gets_an_error_and_the_connection_goes_on(client, body, code, ident):
    client.send_raw(frame(body))
    reply = client.reply_to(ident, timeout=30)
    assert reply["error"]["code"] == code and "data" not in reply["error"]
    still_answers(client)


def test_invalid_params_get_an_error_with_the_request_id(client):
    client.send_raw(request(901, "textDocument/hover", {"textDocument": {"uri": 5}, "position": "x"}))
    reply = client.reply_to(901, timeout=30)
    assert reply["error"] == {"code": -32602, "message": "cnndsl lsp: invalid params for textDocument/hover"}
    still_answers(client)


def test_an_unknown_method_is_named_and_nothing_else(client):
    reply = client.request_message("cnndsl/nothing", {})
    assert reply["error"] == {"code": -32601, "message": "Method Not Found: cnndsl/nothing"}


def test_frames_split_and_glued_are_read_as_frames(client):
    """Two requests in one write, and one request in three writes."""
    first, second = request(911, "shutdown-not", {}), request(912, "shutdown-not", {})
    client.send_raw(first + second)
    assert client.reply_to(911)["error"]["code"] == -32601
    assert client.reply_to(912)["error"]["code"] == -32601
    third = request(913, "shutdown-not", {})
    for part in (third[:7], third[7:30], third[30:]):
        client.send_raw(part)
    assert client.reply_to(913)["error"]["code"] == -32601


def test_before_initialize_a_request_is_refused_and_a_notification_dropped():
    """As the protocol asks (-32002, ServerNotInitialized); each was an internal error and a line on stderr
    that asked the user to report a bug (the 2026-12-08 campaign)."""
    client = Client()
    try:
        client.open("file:///w/early.cnn", "input 8\nrelu\n")
        client.send_raw(
            request(
                931,
                "textDocument/hover",
                {"textDocument": {"uri": "file:///w/early.cnn"}, "position": {"line": 1, "character": 1}},
            )
        )
        reply = client.reply_to(931, timeout=30)
        assert reply["error"] == {"code": -32002, "message": "cnndsl lsp: textDocument/hover before initialize"}
        client.initialize()
        still_answers(client)
        # the early didOpen was dropped: the document is not open, so it has no symbols
        assert client.request("textDocument/documentSymbol", {"textDocument": {"uri": "file:///w/early.cnn"}}) is None
        assert client.close() == 0
    finally:
        stderr = client.end()
    assert stderr == ""


@pytest.fixture
def secrets(tmp_path):
    """Files the server must never read: a secret text, a .cnn on disk nobody opened, a FIFO."""
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2_password_is_here\n")
    secret.chmod(0o600)
    on_disk = tmp_path / "on_disk.cnn"
    on_disk.write_text("input 8x8x1\nhunter3_layer 4\n")
    paths = {"secret": secret, "on_disk": on_disk, "passwd": "/etc/passwd", "zero": "/dev/zero"}
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.cnn")
        paths["fifo"] = tmp_path / "fifo.cnn"
    return {name: f"file://{path}" for name, path in paths.items()}


METHODS = {
    "textDocument/hover": {"position": {"line": 1, "character": 1}},
    "textDocument/completion": {"position": {"line": 1, "character": 1}},
    "textDocument/definition": {"position": {"line": 1, "character": 1}},
    "textDocument/references": {"position": {"line": 1, "character": 1}, "context": {"includeDeclaration": True}},
    "textDocument/documentSymbol": {},
    "textDocument/formatting": {"options": {"tabSize": 4, "insertSpaces": True}},
    "textDocument/codeAction": {
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
        "context": {"diagnostics": []},
    },
    "textDocument/semanticTokens/full": {},
}


def test_requests_on_unopened_documents_read_nothing_from_disk(client, secrets):
    for uri in secrets.values():
        for method, params in METHODS.items():
            reply = client.request_message(method, {"textDocument": {"uri": uri}, **params}, timeout=10)
            assert reply.get("result") is None, (method, uri, reply)
            assert "hunter" not in json.dumps(reply)
        # an edit of a document never opened is ignored, as is its close
        client.change(uri, 2, [{"text": "input 8x8x1\n"}])
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    still_answers(client)
    # nothing was published for any of them
    published = []
    while True:
        try:
            published.append(client.notifications.get(timeout=0.5))
        except queue.Empty:
            break
    assert [m for m in published if m["method"] == "textDocument/publishDiagnostics"] == []


def test_a_document_that_is_not_cnndsl_is_not_analysed(client, secrets):
    """Opened by the client as plain text: kept out of analysis, even with its text in hand."""
    for name, text in (("secret", "hunter2_password_is_here\n"), ("passwd", "root:x:0:0\n")):
        uri = secrets[name]
        item = {"uri": uri, "languageId": "plaintext", "version": 1, "text": text}
        client.notify("textDocument/didOpen", {"textDocument": item})
        assert (
            client.request("textDocument/hover", {"textDocument": {"uri": uri}, **METHODS["textDocument/hover"]})
            is None
        )
    # the next diagnostics are for the .cnn document opened after them
    client.open("file:///work/after.cnn", "input 8x8x1\nrelu\n")
    params = client.notification("textDocument/publishDiagnostics")
    assert params["uri"] == "file:///work/after.cnn"


def test_an_untitled_buffer_the_editor_calls_cnndsl_is_analysed(client):
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": "untitled:Untitled-1",
                "languageId": "cnndsl",
                "version": 1,
                "text": "input 8\ncovn 4\n",
            }
        },
    )
    params = client.notification("textDocument/publishDiagnostics")
    assert params["uri"] == "untitled:Untitled-1"
    assert params["diagnostics"][0]["message"].startswith("unknown layer `covn`")


BROKEN_HOVER = (
    "import sys\n"
    "import cnndsl.tools.editor\n"
    "def hover(self, line, column):\n"
    "    raise KeyError('/secret/internal/path.py')\n"
    "cnndsl.tools.editor.Document.hover = hover\n"
    "from cnndsl.cli import main\n"
    "sys.exit(main(['lsp']))\n"
)


def test_an_internal_error_is_answered_without_its_text_or_traceback():
    client = Client(sys.executable, "-c", BROKEN_HOVER)
    try:
        client.initialize()
        client.open("file:///work/model.cnn", "input 8x8x1\nrelu\n")
        client.notification("textDocument/publishDiagnostics")
        reply = client.request_message(
            "textDocument/hover", {"textDocument": {"uri": "file:///work/model.cnn"}, **METHODS["textDocument/hover"]}
        )
        assert reply["error"] == {"code": -32603, "message": "cnndsl lsp: internal error; please report it"}
        still_answers(client)
        assert client.close() == 0
    finally:
        stderr = client.end()
    assert_no_traceback(stderr)
    assert "secret" not in stderr
