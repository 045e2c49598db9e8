"""cnndsl.tools.playground: what the browser page's worker asks, answered without a browser.

The figures are the seeds' and the frameworks': LeNet's 62,958 and 608 (the Keras tutorial),
torchinfo's own footer words, the receptive field worked by hand (5, then 5 + 1 = 6 by the pool,
6 + 4·2 = 14, 14 + 1·2 = 16; stride 2·2 = 4), ResNet50's 483 (Araujo et al., "Computing Receptive
Fields of Convolutional Neural Networks", Distill 2019).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from html_cells import html_text, table_text
from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.tools import playground as module
from cnndsl.tools.playground import Playground, vocabulary

ROOT = Path(__file__).resolve().parent.parent.parent
LENET = (ROOT / "examples" / "lenet.cnn").read_text(encoding="utf-8")


def test_lenet_summary_totals_and_figures():
    result = Playground().analyse(LENET, {"filename": "lenet.cnn"})
    assert result["diagnostics"] == []
    model = result["model"]
    assert model["name"] == "lenet"
    assert model["total_params"] == "62,958"
    assert ["conv2d (Conv2D)", "(None, 28, 28, 8)", "608"] in table_text(model["table"]).rows["tbody"]
    assert model["figures"][-1].startswith("  receptive field of max_pooling2d_1: 16x16, effective stride 4x4")
    assert any("62,958" in line for line in model["figures"])
    json.dumps(result)  # the worker sends it as JSON


def test_resnet50_receptive_field_is_the_published_one():
    text = (ROOT / "examples" / "resnet50.cnn").read_text(encoding="utf-8")
    model = Playground().analyse(text)["model"]
    assert model["total_params"] == "25,636,712"  # keras.applications.ResNet50
    assert ": 483x483, effective stride 32x32" in model["figures"][-1]


def test_torchinfo_style_and_columns():
    playground = Playground()
    torchinfo = playground.analyse(LENET, {"style": "torchinfo"})["model"]["torchinfo"]
    assert "Layer (type:depth-idx)" in torchinfo and "Total params: 62,958" in torchinfo
    table = playground.analyse(LENET, {"columns": ["shape", "rf"], "layout": "channels_first"})["model"]["table"]
    assert "Receptive Field" in table and "Param #" not in table
    assert "(None, 8, 28, 28)" in html_text(table)  # PyTorch's NCHW for the first conv's output


def test_a_diagnostic_is_the_command_lines_error():
    text = LENET + "dense 10 sofmax\n"
    [shown] = Playground().analyse(text)["diagnostics"]
    done = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", "--error-format", "json", "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    [expected] = json.loads(done.stdout)
    assert (shown["line"], shown["col"], shown["end_line"], shown["end_col"]) == (
        expected["line"],
        expected["column"],
        expected["end_line"],
        expected["end_column"],
    )
    assert (shown["code"], shown["message"], shown["hint"]) == (expected["code"], expected["message"], expected["hint"])
    assert [fix["text"] for fix in shown["fixes"]] == ["softmax"]


def test_hover_explain_emit_and_diagram():
    playground = Playground()
    playground.analyse(LENET)
    line = LENET.split("\n").index("conv 8 5x5 relu") + 1
    hover = playground.hover(LENET, line, 3)
    assert "(5·5·3 + 1)·8 = 608" in hover["markdown"]
    assert hover["span"]["line"] == line
    assert playground.layer_at(LENET, line, 3) == {"layer": "conv2d"}
    assert "(5·5·3 + 1)·8 = 608" in playground.explain(LENET, "conv2d")["text"]
    assert playground.explain(LENET, "no_such_layer") == {"text": None}
    assert "nn.Conv2d(3, 8, kernel_size=5)" in playground.emit(LENET, "pytorch")["code"]
    assert "layers.Conv2D(8, 5" in playground.emit(LENET, "keras")["code"]
    assert playground.diagram(LENET)["dot"].startswith("digraph")
    labels = [item["label"] for item in playground.completions("input 8x8x1\nco", 2, 3)["items"]]
    assert "conv" in labels


def test_a_diagram_past_its_bound_is_refused_with_its_reason_not_as_a_model_error():
    # 2^10 calls of b0 at level 11: at --depth 11 each is one box, with the input 1,025, past the 1,000
    text = "def b0(): relu\n" + "".join(f"def b{i}(): b{i - 1}()|b{i - 1}()\n" for i in range(1, 12)) + "input 8\nb11()\n"
    playground = Playground()
    assert playground.analyse(text)["model"] is not None
    answer = playground.diagram(text, 11)
    assert answer["dot"] is None
    assert answer["refused"].startswith("the diagram at --depth 11 would have 1,025 boxes, more than the 1,000")
    assert "give --depth" in answer["refused"]
    # the page shows that reason, not "the model has an error"
    script = (Path(__file__).resolve().parents[2] / "web" / "src" / "main.js").read_text(encoding="utf-8")
    diagram_branch = script[script.index('activeTab === "diagram"') :]
    assert "answer.refused ??" in diagram_branch[: diagram_branch.index("loadViz")]


def test_a_text_with_an_error_has_no_code_but_hovers_above_it():
    text = LENET + "conv 8 99x99\n"
    playground = Playground()
    result = playground.analyse(text)
    assert result["model"] is None and result["diagnostics"][0]["code"]
    assert playground.emit(text, "pytorch") == {"code": None}
    assert playground.diagram(text, 1) == {"dot": None}
    line = LENET.split("\n").index("dense 120 relu") + 1
    assert "48,120" in playground.hover(text, line, 2)["markdown"]


def test_the_vocabulary_is_the_registry():
    words = vocabulary()
    assert {"conv", "dense", "maxpool", "input", "identity"} <= set(words["layers"])
    assert {"add", "concat"} <= set(words["merges"])
    assert {"stride", "same", "valid"} <= set(words["options"])
    assert {"param", "let", "if", "elif", "else", "for"} <= set(words["statements"])
    assert {"and", "or", "not", "in"} <= set(words["expressions"])


def test_a_bug_in_cnndsl_is_an_answer_not_an_exception(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "_model_view", broken)
    assert Playground().analyse(LENET) == {"bug": "RuntimeError: boom"}


@settings(max_examples=60, deadline=None)
@given(
    st.text(max_size=80),
    st.dictionaries(
        st.sampled_from(["style", "layout", "columns", "depth", "batch"]),
        st.none() | st.integers() | st.text(max_size=5) | st.lists(st.text(max_size=8), max_size=3),
    ),
)
def test_any_text_and_options_give_an_answer(text, options):
    result = Playground().analyse("input 8x8x3\n" + text, options)
    assert "bug" not in result
    assert result["model"] is not None or result["diagnostics"]


EFFICIENTNET = (ROOT / "examples" / "families" / "efficientnet.cnn").read_text(encoding="utf-8")


def test_a_familys_params_are_listed_and_set_as_on_the_command_line():
    playground = Playground()
    result = playground.analyse(EFFICIENTNET, {"filename": "families/efficientnet.cnn"})
    assert [(p["name"], p["default"], p["value"]) for p in result["params"]] == [
        ("width", "1.0", None),
        ("depth", "1.0", None),
        ("size", "224", None),
        ("dropout", "0.2", None),
    ]
    assert result["model"]["total_params"] == "5,330,571"  # keras.applications.EfficientNetB0(weights=None)
    # B2's coefficients (keras/src/applications/efficientnet.py); its total is Keras's own build's
    b2 = {"width": "1.1", "depth": "1.2", "size": "260", "dropout": "0.3"}
    result = playground.analyse(EFFICIENTNET, {"filename": "families/efficientnet.cnn", "params": b2})
    assert result["diagnostics"] == []
    assert result["model"]["total_params"] == "9,177,569"
    assert [p["value"] for p in result["params"]] == [1.1, 1.2, 260, 0.3]
    # the other answers are about the same model: B2's input is 260x260
    assert "260, 260" in playground.emit(EFFICIENTNET, "keras")["code"]
    # back to the defaults: an empty value is the file's default
    result = playground.analyse(EFFICIENTNET, {"filename": "families/efficientnet.cnn", "params": {"width": ""}})
    assert result["model"]["total_params"] == "5,330,571"


def test_a_params_value_that_is_no_number_is_refused_and_the_default_used():
    text = "param units = 10\ninput 4\ndense units\n"
    result = Playground().analyse(text, {"params": {"units": "ten", "gone": "3"}})
    [units] = result["params"]
    assert units["value"] is None and "not a number" in units["problem"]
    assert result["model"]["total_params"] == f"{4 * 10 + 10:,}"
    result = Playground().analyse(text, {"params": {"units": "3"}})
    assert result["model"]["total_params"] == f"{4 * 3 + 3:,}"


def test_a_param_set_with_an_error_further_down_still_hovers_with_its_value():
    text = "param units = 10\ninput 4\ndense units\ndense 3 sofmax\n"
    playground = Playground()
    result = playground.analyse(text, {"params": {"units": "7"}})
    assert [d["line"] for d in result["diagnostics"]] == [4]
    hover = playground.hover(text, 3, 2)
    assert f"{4 * 7 + 7:,}" in hover["markdown"], hover


def test_a_table_of_thousands_of_layers_is_cut_to_the_playgrounds_bound():
    from cnndsl.core.limits import PLAYGROUND_ROWS

    model = Playground().analyse("input 8x8x3\n(conv 8 3 same) * 1500\n")["model"]
    body = model["table"].split("<tbody>")[1].split("</tbody>")[0]
    rows = [line for line in body.split("\n") if line.startswith("<tr>")]
    assert len(rows) == PLAYGROUND_ROWS
    # a row per conv (a Sequential's summary has no input row, as Keras prints it): the ones not shown are counted
    assert f"… and {1500 - PLAYGROUND_ROWS:,} more rows" in body
    assert len(model["layers"]) == PLAYGROUND_ROWS
    assert model["total_params"] == f"{(3 * 3 * 3 + 1) * 8 + 1499 * (3 * 3 * 8 + 1) * 8:,}"
    small = Playground().analyse(LENET)["model"]["table"]
    assert "more rows" not in small


def test_a_text_past_the_command_lines_file_bound_is_refused_where_it_crosses_it(tmp_path):
    from cnndsl.core.limits import MAX_FILE_BYTES

    # 2-byte characters in comment lines of 1,001 bytes: the bound falls inside a line, between whole characters
    line = "# " + "é" * 499 + "\n"
    lines = MAX_FILE_BYTES // len(line.encode()) + 1
    text = LENET + line * lines
    inside = MAX_FILE_BYTES - len(LENET.encode())  # bytes of the comment lines that fit
    crossing_line = LENET.count("\n") + inside // len(line.encode()) + 1
    crossing_col = len(line.encode()[: inside % len(line.encode())].decode("utf-8", "ignore")) + 1
    playground = Playground()
    assert playground.analyse(LENET)["model"]["total_params"] == "62,958"
    result = playground.analyse(text)
    [refusal] = result["diagnostics"]
    assert result["model"] is None
    assert (refusal["line"], refusal["col"]) == (crossing_line, crossing_col)
    assert f"{len(text.encode()):,} bytes, larger than 8 MB" in refusal["message"]
    # nothing else looks at it either, and the last model is not shown for it
    assert playground.hover(text, 2, 2) is None
    assert playground.emit(text, "pytorch") == {"code": None}
    assert playground.diagram(text) == {"dot": None}
    assert playground.completions(text, 1, 1) == {"items": []}
    # the command line refuses the same text (exit 2: a file it does not read), and one byte less is read
    path = tmp_path / "big.cnn"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cnndsl", "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 2 and "larger than 8 MB" in done.stderr
    fits = LENET + "#" * (MAX_FILE_BYTES - len(LENET.encode()) - 1) + "\n"
    assert len(fits.encode()) == MAX_FILE_BYTES
    assert playground.analyse(fits)["model"]["total_params"] == "62,958"


def test_a_table_of_tall_rows_is_cut_by_its_lines():
    """An add of 99 branches lists its 99 inputs in "Connected to", one a line, as Keras does: the input
    row (1 line) and 10 adds (990 lines) fit in the playground's 1,000 lines; the other 230 are counted."""
    from cnndsl.core.limits import PLAYGROUND_ROWS

    text = "input 8\n(add(" + ";".join(["identity"] * 99) + ")) * 240\n"
    table = Playground().analyse(text)["model"]["table"]
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    rows = [line for line in body.split("\n") if line.startswith("<tr>")]
    assert len(rows) == 1 + (PLAYGROUND_ROWS - 1) // 99 == 11
    assert [row.count("<br>") for row in rows] == [0] + [98] * 10
    assert "… and 230 more rows" in body


def test_the_same_text_under_another_file_name_is_that_files_model():
    playground = Playground()
    assert playground.analyse(LENET)["model"]["name"] == "model"
    assert playground.analyse(LENET, {"filename": "lenet.cnn"})["model"]["name"] == "lenet"
    assert "class Lenet(nn.Module)" in playground.emit(LENET, "pytorch")["code"]
