"""`cnndsl lsp` as an editor sees it: a client speaking JSON-RPC to the server in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lsp_client import Client

ROOT = Path(__file__).resolve().parent.parent.parent
RESNET = (ROOT / "examples" / "resnet50.cnn").read_text()
LENET = (ROOT / "examples" / "lenet.cnn").read_text()


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("pygls")  # in the `test` extra, so CI always has it
    client = Client()
    client.initialize()
    yield client
    assert client.close() == 0


def opened(client: Client, name: str, text: str) -> tuple[str, list]:
    uri = f"file:///work/{name}.cnn"
    client.open(uri, text)
    params = client.notification("textDocument/publishDiagnostics")
    assert params["uri"] == uri
    return uri, params["diagnostics"]


def at(uri: str, line: int, character: int) -> dict:
    """A position in the protocol's terms: 0-based."""
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def hover_text(client, uri, line, character) -> str:
    return client.request("textDocument/hover", at(uri, line, character))["contents"]["value"]


def test_diagnostics_on_open_and_on_every_change(client):
    uri, diagnostics = opened(client, "typo", "input 8x8x1\nconv 4 3 relu\ncovn 4 3\n")
    [found] = diagnostics
    assert found["range"] == {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 4}}
    assert found["message"] == "unknown layer `covn`\nhint: did you mean `conv`?"
    assert found["severity"] == 1 and found["source"] == "cnndsl"
    assert isinstance(found["code"], str)
    # an incremental edit that fixes it: the diagnostics are cleared
    change = {"range": {"start": {"line": 2, "character": 1}, "end": {"line": 2, "character": 4}}, "text": "onv"}
    client.change(uri, 2, [change])
    assert client.notification("textDocument/publishDiagnostics")["diagnostics"] == []
    # and one that breaks the shapes: 8x8 -> 6x6 after the first conv, then a 7x7 kernel
    change = {"range": {"start": {"line": 2, "character": 7}, "end": {"line": 2, "character": 8}}, "text": "7x7"}
    client.change(uri, 3, [change])
    [found] = client.notification("textDocument/publishDiagnostics")["diagnostics"]
    assert found["message"].startswith("kernel 7x7 is larger than its 6x6 input")
    assert found["range"]["start"] == {"line": 2, "character": 7}


def test_an_error_inside_a_block_relates_each_call_that_led_to_it(client):
    text = "def unit(c):\n    conv c 5x5\ndef stage(c):\n    unit(c) | unit(c)\ninput 6x6x1\nstage(4)\n"
    _, [found] = opened(client, "blocks", text)
    # 6x6 -> 2x2 after the first 5x5; the second cannot fit
    assert found["range"]["start"] == {"line": 1, "character": 11}
    related = [(r["location"]["range"]["start"], r["message"]) for r in found["relatedInformation"]]
    assert related == [
        ({"line": 3, "character": 14}, "in block `unit`, called here"),
        ({"line": 5, "character": 0}, "in block `stage`, called here"),
    ]


def test_hover_on_a_layer_shows_its_type_shape_parameters_and_arithmetic(client):
    uri, diagnostics = opened(client, "lenet", LENET)
    assert diagnostics == []
    # `dense 120 relu` on line 11: the tutorial's Keras summary says (None, 120), 48,120 (seed 003)
    text = hover_text(client, uri, 10, 2)
    assert "**dense** (Dense)" in text
    assert "(None, 120)" in text and "48,120" in text
    assert "params: 48,120 (trainable 48,120, non-trainable 0)" in text
    assert "params: 400·120 + 120 = 48,120" in text  # the flattened 5·5·16 = 400 inputs
    # the input's shape
    assert "(None, 32, 32, 3)" in hover_text(client, uri, 4, 1)


def test_hover_above_an_error_still_answers(client):
    # LeNet with its second pool replaced by a 20x20 kernel: the input there is 10x10, so line 9 is a shape error
    lines = LENET.splitlines()
    lines[8] = "conv 16 20x20"
    uri, [found] = opened(client, "lenet_broken", "\n".join(lines) + "\n")
    assert found["message"].startswith("kernel 20x20 is larger than its 10x10 input")
    text = hover_text(client, uri, 5, 1)  # `conv 8 5x5 relu`: the tutorial's conv2d, 608 params (seed 003)
    assert "(None, 28, 28, 8)" in text and "608" in text
    assert "(None, 32, 32, 3)" in hover_text(client, uri, 4, 1)
    # below the error nothing is known: no stale or guessed figures
    assert client.request("textDocument/hover", at(uri, 10, 2)) is None
    # a syntax error (an unknown layer) on the last line: the lines above still answer
    uri, [found] = opened(client, "lenet_typo", LENET + "dnese 5\n")
    assert "params: 400·120 + 120 = 48,120" in hover_text(client, uri, 10, 2)


def test_hover_above_an_error_inside_a_block_call_still_answers(client):
    # the error is reported in the block (line 2), but what fails is the call `stage(4)` on line 7:
    # 6x6 -> 2x2 after the first 5x5 conv, and the second cannot fit
    text = "def unit(c):\n    conv c 5x5\ndef stage(c):\n    unit(c) | unit(c)\ninput 6x6x1\nconv 3 1x1\nstage(4)\n"
    uri, [found] = opened(client, "blocks_broken", text)
    assert found["range"]["start"] == {"line": 1, "character": 11}
    # a 1x1 conv from 1 to 3 channels: 1·1·1·3 + 3 = 6 params, as Keras's Conv2D(3, 1) has
    hovered = hover_text(client, uri, 5, 1)
    assert "(None, 6, 6, 3)" in hovered and "params: 6 (trainable 6, non-trainable 0)" in hovered


def test_hover_on_batch_norm_splits_trainable_and_not(client):
    uri, _ = opened(client, "bn", "input 8x8x64\nbn\n")
    # Keras BatchNormalization over 64 channels: gamma, beta trainable; moving mean, variance not
    assert "params: 256 (trainable 128, non-trainable 128)" in hover_text(client, uri, 1, 0)


def test_hover_on_a_block_call_shows_its_subtotal(client):
    uri, _ = opened(client, "resnet50", RESNET)
    # ResNet50's first stage by hand: a projection block (76,928) and two identity blocks (71,552 each)
    text = hover_text(client, uri, 26, 2)
    assert "stack(64, 3, s=1)" in text and "params 220,032" in text and "output (None, 56, 56, 256)" in text
    # a layer inside a block is made once per call: each instance is listed
    projection_shortcut = hover_text(client, uri, 8, 10)  # `conv c*4 1x1 stride s`
    assert "made 4 times" in projection_shortcut
    assert "(None, 7, 7, 2048), 2,099,200 params" in projection_shortcut  # 1x1, 1024 -> 2048, with bias
    # the block itself: each call, by the calls that led to it
    block = hover_text(client, uri, 7, 6)
    assert "called 4 times" in block and "- stack(128, 4) › projection(128, 2)" in block  # the values stack(128, 4) passed (s=2 its default)


def test_completion_of_layers_options_blocks_and_parameters(client):
    text = RESNET + "conv 8 3 \nstack(\n"
    uri, _ = opened(client, "complete", text)
    last = text.count("\n")

    def labels(line, character):
        result = client.request("textDocument/completion", at(uri, line, character))
        return {item["label"] for item in result["items"]}

    at_start = labels(last - 1, 0)
    assert {"conv", "maxpool", "dense", "identity", "add", "concat", "stack", "projection"} <= at_start
    assert "same" not in at_start
    options = labels(last - 2, 9)
    assert {"same", "valid", "stride", "dilation", "relu", "nobias"} <= options
    assert "conv" not in options
    assert labels(last - 1, 6) == {"c=", "blocks=", "s="}
    # inside a block, its parameters too
    assert {"c", "s", "stride"} <= labels(8, 30)


def test_definition_references_and_symbols(client):
    uri, _ = opened(client, "resnet50-nav", RESNET)
    # `stack(128, 4)` on line 28: its definition is `def stack` on line 21
    [target] = client.request("textDocument/definition", at(uri, 27, 1))
    assert target["range"]["start"] == {"line": 20, "character": 4}
    refs = client.request("textDocument/references", {**at(uri, 20, 5), "context": {"includeDeclaration": True}})
    assert sorted(r["range"]["start"]["line"] for r in refs) == [20, 26, 27, 28, 29]
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [(s["name"], s["kind"]) for s in symbols] == [
        ("projection", 12),
        ("identity_block", 12),
        ("stack", 12),
        ("conv1", 13),
        ("predictions", 13),
    ]


def test_code_actions_carry_the_hints_edit(client):
    uri, [found] = opened(client, "fix", "input 8x8x1\nconv 4 3 smae\n")
    actions = client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": found["range"], "context": {"diagnostics": [found]}},
    )
    assert [a["title"] for a in actions] == ["Change to `same`"]
    [edit] = actions[0]["edit"]["changes"][uri]
    assert edit == {"range": found["range"], "newText": "same"}
    client.change(uri, 2, [{"range": edit["range"], "text": edit["newText"]}])
    assert client.notification("textDocument/publishDiagnostics")["diagnostics"] == []
    # a kernel too large: `same`, or the largest kernel that fits
    uri, [found] = opened(client, "fix2", "input 4x4x1\nconv 8 7x7 relu\n")
    actions = client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": found["range"], "context": {"diagnostics": [found]}},
    )
    edits = [(a["title"], a["edit"]["changes"][uri][0]["newText"]) for a in actions]
    assert edits == [("Use `same` padding", " same"), ("Use a kernel of 4x4", "4")]


def test_without_pygls_the_command_says_how_to_get_it():
    code = "import sys; sys.modules['pygls'] = None; from cnndsl.cli import main; sys.exit(main(['lsp']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert result.stderr == 'cnndsl: cnndsl lsp needs pygls: pip install "cnndsl[lsp]"\n'


def apply_edits(text: str, edits: list[dict]) -> str:
    """Text edits as an editor applies them: all ranges refer to the text before any edit."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(position):
        return offsets[position["line"]] + position["character"]

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        text = text[:start] + edit["newText"] + text[end:]
    return text


def test_formatting_goes_through_cnndsl_fmt(client):
    from cnndsl.tools.fmt import format_source

    messy = "input   28x28x1\nconv 8 3x3   same|relu   # first\ndef b( c ):\n  conv c 3\nb( 4 )\n\n\n"
    uri, _ = opened(client, "messy", messy)
    edits = client.request(
        "textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}}
    )
    assert apply_edits(messy, edits) == format_source(messy)
    assert len(edits) < messy.count("\n")  # only the lines that change
    # a file that does not parse is left alone
    uri, _ = opened(client, "unparsable", "input 8x8x1\nconv 8 3 |\n")
    assert (
        client.request(
            "textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}}
        )
        is None
    )


def test_a_code_action_is_offered_anywhere_on_the_diagnostics_line(client):
    # the cursor after the word, as Neovim asks with the cursor's position: (2, 7) on `maxpol 2`
    uri, [found] = opened(client, "fix-line", "input 8x8x1\nconv 4 3\nmaxpol 2\n")
    assert found["range"]["start"] == {"line": 2, "character": 0}
    here = {"start": {"line": 2, "character": 7}, "end": {"line": 2, "character": 7}}
    actions = client.request(
        "textDocument/codeAction", {"textDocument": {"uri": uri}, "range": here, "context": {"diagnostics": []}}
    )
    assert "Change to `maxpool`" in [a["title"] for a in actions]
    # and not on another line
    other = {"start": {"line": 1, "character": 3}, "end": {"line": 1, "character": 3}}
    assert (
        client.request(
            "textDocument/codeAction", {"textDocument": {"uri": uri}, "range": other, "context": {"diagnostics": []}}
        )
        is None
    )


TWO_HEADS = (ROOT / "examples" / "two_heads.cnn").read_text()


def test_hover_on_a_label_and_a_reference_shows_the_tensor_it_names(client):
    uri, _ = opened(client, "resnet50-labels", RESNET)
    # `conv1:` on line 25: Keras's ResNet50 conv1_conv, (None, 112, 112, 64) with 7·7·3·64 + 64 = 9,472 params
    text = hover_text(client, uri, 24, 14)
    assert text.startswith("label `conv1`: output `(None, 112, 112, 64)`")
    assert "params: 9,472" in text
    uri, _ = opened(client, "two_heads-labels", TWO_HEADS)
    # `@features | dense 64 relu`: the global average pool of 128 channels is (None, 128)
    reference = client.request("textDocument/hover", at(uri, 7, 3))
    assert reference["contents"]["value"].startswith("reference to `features`: output `(None, 128)`")
    assert reference["range"] == {"start": {"line": 7, "character": 0}, "end": {"line": 7, "character": 9}}


def test_completion_after_at_offers_the_labels_above(client):
    lines = TWO_HEADS.splitlines()
    text = "\n".join([*lines[:6], "@", *lines[6:]]) + "\n"  # `@` typed between the two heads
    uri, _ = opened(client, "two_heads-complete", text)
    items = client.request("textDocument/completion", at(uri, 6, 1))["items"]
    # only `features:` is above; `classes:` and `box:` come later and are not in scope
    assert [(item["label"], item["kind"]) for item in items] == [("features", 18)]  # 18: Reference
    assert "(None, 128)" in items[0]["detail"]


def test_hover_on_a_block_call_shows_its_arguments_not_an_internal_counter(client):
    uri, _ = opened(client, "resnet50-calls", RESNET)
    # `stack(128, 4)`: Keras's conv3 stage has 42 layers (12 in conv3_block1, 10 in each of the other three)
    # and ends in conv3_block4_out, (None, 28, 28, 512)
    text = hover_text(client, uri, 27, 2)
    assert "- stack(128, 4): 42 layers" in text and "output (None, 28, 28, 512)" in text
    assert "call #" not in text


def test_an_enter_above_the_model_moves_its_warnings_and_hovers_read_the_moved_model(client):
    text = "input 7x7x8\nmaxpool 2\nflatten\ndense 10\n"
    uri, [found] = opened(client, "moved", text)
    assert (found["code"], found["range"]["start"]["line"]) == ("W103", 1)  # 7 rows, a 2x2 window: one dropped
    change = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "# a\n\n"}
    client.change(uri, 2, [change])
    [found] = client.notification("textDocument/publishDiagnostics")["diagnostics"]
    assert (found["code"], found["range"]["start"]["line"]) == ("W103", 3)
    # Keras's Dense(10) on flatten(3x3x8 = 72): 72·10 + 10 = 730 parameters
    assert "params: 730" in hover_text(client, uri, 5, 2)


def test_a_burst_of_edits_is_analysed_once_and_no_older_version_is_published_after_a_newer(client):
    import json
    import queue

    uri, _ = opened(client, "burst", "input 8x8x1\nconv 4 3\n")
    frames = b""
    for version in range(2, 15):  # 13 edits in one write: the server reads them together
        width = str(version)
        change = {"range": {"start": {"line": 1, "character": 5}, "end": {"line": 1, "character": 6 + (version > 10)}}}
        change["text"] = width
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
            }
        ).encode()
        frames += b"Content-Length: %d\r\n\r\n" % len(body) + body
    client.send_raw(frames)
    published = [client.notification("textDocument/publishDiagnostics")]
    while True:
        try:
            published.append(client.notification("textDocument/publishDiagnostics", timeout=1))
        except queue.Empty:
            break
    versions = [p["version"] for p in published if p["uri"] == uri]
    # on the latest text (`conv 14 3`), newer after older only; once, or twice if the pipe cut the write
    assert versions == sorted(versions) and versions[-1] == 14 and len(versions) <= 2
    # and that text is the one analysed: Keras's Conv2D(14, 3) on 1 channel has (3·3·1 + 1)·14 = 140 params
    assert "params: 140" in hover_text(client, uri, 1, 1)
