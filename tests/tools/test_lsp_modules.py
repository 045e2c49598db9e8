"""The language server on files that `use` others: definitions, hovers and diagnostics across files."""

from __future__ import annotations

import json
import os
import queue

import pytest
from lsp_client import Client

BLOCKS = "let base = 16\n\ndef cbr(c):\n    conv c 3 same nobias | bn | relu\n"
NET = 'use "blocks.cnn"\ninput 32x32x3\ncbr(base)\ngap | dense 10\n'


@pytest.fixture
def client():
    pytest.importorskip("pygls")
    client = Client()
    client.initialize()
    yield client
    assert client.close() == 0


def published(client: Client, uri: str) -> list:
    while True:
        params = client.notification("textDocument/publishDiagnostics", timeout=30)
        if params["uri"] == uri:
            return params["diagnostics"]


def at(uri: str, line: int, character: int) -> dict:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def test_definition_and_hover_reach_into_the_used_file(client, tmp_path):
    (tmp_path / "blocks.cnn").write_text(BLOCKS)
    uri = (tmp_path / "net.cnn").as_uri()
    client.open(uri, NET)
    assert published(client, uri) == []
    [location] = client.request("textDocument/definition", at(uri, 2, 1))
    assert location["uri"] == (tmp_path / "blocks.cnn").as_uri()
    assert location["range"]["start"] == {"line": 2, "character": 4}  # `cbr` of `def cbr(c):`
    [opened] = client.request("textDocument/definition", at(uri, 0, 6))  # on the `use` line: the file
    assert opened["uri"] == (tmp_path / "blocks.cnn").as_uri()
    hover = client.request("textDocument/hover", at(uri, 2, 1))["contents"]["value"]
    assert "cbr" in hover and "16" in hover  # the call, with its evaluated argument


def test_an_error_in_the_used_file_is_shown_at_the_call_and_points_into_the_file(client, tmp_path):
    (tmp_path / "blocks.cnn").write_text("def cbr(c):\n    conv c 9x9\n")
    uri = (tmp_path / "net.cnn").as_uri()
    client.open(uri, 'use "blocks.cnn"\ninput 4x4x3\ncbr(8)\n')
    [diagnostic] = published(client, uri)
    assert diagnostic["range"]["start"]["line"] == 2  # the call in this document
    assert diagnostic["message"].startswith(f"{tmp_path / 'blocks.cnn'}:2:12: kernel 9x9 is larger")
    places = [(r["location"]["uri"], r["location"]["range"]["start"]["line"]) for r in diagnostic["relatedInformation"]]
    assert places[0] == ((tmp_path / "blocks.cnn").as_uri(), 1)
    assert (uri, 0) in places  # the `use` line


def test_an_open_used_file_is_read_from_the_editor_and_its_edits_analyse_the_user_again(client, tmp_path):
    (tmp_path / "blocks.cnn").write_text(BLOCKS)
    blocks, net = (tmp_path / "blocks.cnn").as_uri(), (tmp_path / "net.cnn").as_uri()
    client.open(net, NET)
    assert published(client, net) == []
    client.open(blocks, BLOCKS)
    # an unsaved edit that makes the block's kernel larger than the 32x32 input
    client.change(blocks, 2, [{"text": "let base = 16\n\ndef cbr(c):\n    conv c 33x33\n"}])
    while True:  # the edit of blocks.cnn analyses net.cnn again, from the editor's text of blocks.cnn
        diagnostics = published(client, net)
        if diagnostics:
            break
    assert "kernel 33x33 is larger than its 32x32 input" in diagnostics[0]["message"]
    assert "33x33" not in (tmp_path / "blocks.cnn").read_text()


def test_the_server_reads_only_the_cnn_files_a_document_uses(client, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2_password\n")
    (tmp_path / "link.cnn").symlink_to(secret)
    (tmp_path / "device.cnn").symlink_to("/dev/zero")
    (tmp_path / "folder.cnn").mkdir()
    (tmp_path / "outer.cnn").write_text('use "secret.txt"\n')  # a used file that uses the secret
    lines = ['use "secret.txt"', 'use "link.cnn"', 'use "/dev/zero"', 'use "device.cnn"', 'use "folder.cnn"']
    lines.append('use "outer.cnn"')
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.cnn")
        lines.append('use "fifo.cnn"')
    for i, line in enumerate(lines):
        uri = (tmp_path / f"net{i}.cnn").as_uri()
        client.open(uri, f"{line}\ninput 8x8x3\nconv 4 3\n")
        [diagnostic] = published(client, uri)
        assert diagnostic["code"] == "E410" and diagnostic["range"]["start"]["line"] == 0
        assert "hunter2" not in json.dumps(diagnostic)
    try:  # nothing else was published
        extra = client.notifications.get(timeout=0.5)
    except queue.Empty:
        extra = None
    assert extra is None or "hunter2" not in json.dumps(extra)


def test_hovers_above_a_use_whose_file_fails_still_answer(tmp_path):
    from cnndsl.tools.editor import Document

    (tmp_path / "zero.cnn").write_text("let a = 1\nlet b = a / 0\n")
    text = 'input 8x8x3\nconv 4 3 same\nuse "zero.cnn"\nconv 8 3\n'
    document = Document(text, str(tmp_path / "net.cnn"))
    [diagnostic] = document.diagnostics()
    assert diagnostic.span.line == 3  # the `use` line of this document
    assert document.hover(2, 1) is not None  # the layer above it, from the model of the lines before
