"""summary --columns/--all/--depth/--layout/--dtype, and the JSON keys they add."""

from __future__ import annotations

import json

import pytest
from example_files import ROOT, model_files
from html_cells import table_text

from cnndsl import analyze, analyze_file
from cnndsl.cli import main
from cnndsl.views.columns import View
from cnndsl.views.summary import table_rows


def run(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_json_carries_activations_fields_and_memory(capsys):
    report = json.loads(run(capsys, "summary", "--json", "examples/coursera_cnn.cnn"))
    layers = {layer["name"]: layer for layer in report["layers"]}
    # the Coursera table's Activation Size column (seed 002), layer by layer
    assert [layer["activations"] for layer in report["layers"]] == [6272, 1568, 1600, 400, 400, 120, 84, 10]
    assert layers["max_pooling2d_1"]["receptive_field"] == [16, 16]
    assert layers["max_pooling2d_1"]["effective_stride"] == [4, 4]
    assert layers["flatten"]["receptive_field"] is None and layers["dense"]["effective_stride"] is None
    assert report["memory"] == {
        "dtype": "float32",
        "batch": 1,
        "optimizer": "adam",
        "params_bytes": 251_832,
        "input_bytes": 12_288,
        "activations_bytes": 41_816,
        "inference_peak_bytes": 289_208,
        "training_bytes": 1_061_432,
    }


def test_json_dtype_halves_and_batch_scales(capsys):
    full = json.loads(run(capsys, "summary", "--json", "--batch", "4", "examples/lenet.cnn"))["memory"]
    half = json.loads(run(capsys, "summary", "--json", "--batch", "4", "--dtype", "float16", "examples/lenet.cnn"))
    assert full["activations_bytes"] == 4 * 41_816
    for key in ("params_bytes", "input_bytes", "activations_bytes", "inference_peak_bytes", "training_bytes"):
        assert half["memory"][key] * 2 == full[key]
    sgd = json.loads(run(capsys, "summary", "--json", "--optimizer", "sgd", "examples/lenet.cnn"))["memory"]
    assert sgd["training_bytes"] == 2 * 251_832 + 12_288 + 41_816


def test_all_columns_and_memory_footer(capsys):
    out = run(capsys, "summary", "--all", "examples/lenet.cnn")
    for header in ("Activations", "Output Bytes", "Receptive Field", "Stride", "MACs", "Trainable #"):
        assert header in out
    conv = next(line for line in out.splitlines() if line.startswith("│ conv2d (Conv2D)"))
    assert [cell.strip() for cell in conv.split("│")[2:-1]] == [
        "(None, 28, 28, 8)",
        "608",
        "608",
        "470,400",
        "6,272",
        "25,088",
        "5x5",
        "1x1",
        "0x0",  # a valid conv on the input pads nothing
        "input_layer[0][0]",
    ]
    assert " Memory (float32, batch 1, adam):" in out
    assert "   training: 1,061,432 B (1.01 MiB)" in out  # the README's LeNet figure; 1,061,432 / 1024² = 1.012
    assert " Total params: 62,958 (245.93 KB)" in out  # Keras's footer keeps Keras's unit


def test_columns_pick_and_order(capsys):
    out = run(capsys, "summary", "--columns", "rf,params", "examples/lenet.cnn")
    head = out.splitlines()[2]
    assert head.index("Param #") < head.index("Receptive Field") and "Output Shape" not in head
    assert "16x16" in out


def test_channels_first_layout(capsys):
    out = run(capsys, "summary", "--layout", "channels_first", "examples/lenet.cnn")
    assert "(None, 8, 28, 28)" in out and "(None, 28, 28, 8)" not in out
    report = json.loads(run(capsys, "summary", "--json", "--layout", "channels_first", "examples/lenet.cnn"))
    assert report["layers"][0]["output_shape"] == [None, 8, 28, 28]
    assert report["input_shape"] == [None, 3, 32, 32]
    assert "(None, 16, 10, 10)" in run(capsys, "explain", "--layout", "channels_first", "examples/lenet.cnn")


def _top_level_sums(model, depth):
    header, rows, _ = table_rows(model, None, False, View(("params", "macs"), depth=depth))
    top = [cells for cells in rows if not cells[0][0].startswith(" ")]
    # `?`: a figure that depends on an axis of unknown size, which makes the sum unknown too
    cells = [[cells[k][0] for cells in top] for k in (1, 2)]
    sums = tuple(None if "?" in column else sum(int(c.replace(",", "")) for c in column) for column in cells)
    return sums, len(rows)


@pytest.mark.parametrize("path", [str(p.relative_to(ROOT)) for p in model_files()])
def test_depth_keeps_every_total(path):
    model = analyze_file(path)
    for depth in (1, 2, 3):
        (params, macs), _ = _top_level_sums(model, depth)
        assert (params, macs) == (model.total, model.macs), depth


def test_resnet50_at_depth_1_fits_on_a_screen(capsys):
    out = run(capsys, "summary", "--depth", "1", "examples/resnet50.cnn")
    assert sum(line.startswith("│") for line in out.splitlines()) == 13  # as the README says
    assert out.splitlines()[4].startswith("│ input_layer (InputLayer)")  # the row the stem is connected to
    assert "stack(128, 4) (stack, 42 layers)" in out
    row = next(line for line in out.splitlines() if "stack(256, 6) (stack" in line)
    assert row.split("│")[-2].strip() == "stack(128, 4)"  # connected to the folded call, not a layer inside it
    assert " Total params: 25,636,712 (97.80 MB)" in out  # Keras's total for ResNet50


def test_notebook_and_api_views():
    model = analyze_file("examples/lenet.cnn")
    table = table_text(model._repr_html_())
    assert table.tables == 1 and ["dense (Dense)", "(None, 120)", "48,120"] in table.rows["tbody"]
    assert "conv2d_1 (Conv2D)" in model.summary()
    assert "(None, 8, 28, 28)" in model.summary(layout="channels_first")
    everything = model.summary(columns="all")
    assert "Receptive Field" in everything and "inference peak: 289,208 B" in everything
    assert json.loads(model.summary(format="json"))["memory"]["params_bytes"] == 251_832
    assert "| conv2d (Conv2D) |" in model.summary(format="markdown", columns=["shape", "params"])
    assert "(5·5·8 + 1)·16 = 3,216" in model.explain(["conv2d_1"])
    resnet = analyze_file("examples/resnet50.cnn")
    assert "stack(512, 3) (stack, 32 layers)" in resnet.summary(depth=1)
    with pytest.raises(ValueError):
        model.summary(format="yaml")


def test_summary_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys; from cnndsl.cli import main; main(['summary', '--all', '--depth', '1', 'examples/resnet50.cnn']);"
        "heavy = [m for m in ('torch', 'keras', 'numpy') if m in sys.modules]; sys.exit(len(heavy))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


CALLS = """input 32x32x3
def cbr(c, k=3x3):
    conv c k same | bn | relu
def stage(c):
    cbr(c) | cbr(c*2, k=1x7)
stem: cbr(16)
stage(8) | gap | dense 10
"""


def test_calls_show_their_values_and_labels_at_every_depth_and_view():
    from cnndsl.views.diagram import to_dot

    model = analyze(CALLS, "calls")
    _, rows, _ = table_rows(model, None, False, View(depth=2))
    titles = [cells[0][0] for cells in rows]
    # Keras's own counts: Conv2D(8, 3x3) on 16 channels (3·3·16 + 1)·8 = 1,160 plus BN 4·8 = 32;
    # Conv2D(16, 1x7) on 8 channels (1·7·8 + 1)·16 = 912 plus BN 64
    assert titles[:1] == ["stem: cbr(16) (cbr, 3 layers)"]
    assert "  cbr(8) (cbr, 3 layers)" in titles and "  cbr(16, k=1x7) (cbr, 3 layers)" in titles
    sums = {cells[0][0].strip(): cells[2][0] for cells in rows}  # Param #
    assert sums["cbr(8) (cbr, 3 layers)"] == f"{1_160 + 32:,}" and sums["cbr(16, k=1x7) (cbr, 3 layers)"] == "976"
    assert "stage(8)" in model.explain()
    # the diagram reads --depth as the summary does: depth 1 draws each top-level call as one box
    dot = to_dot(model, 1)
    assert '"stem: cbr(16)\\nblock of 3 layers' in dot and "subgraph" not in dot
    assert "cluster" in to_dot(model, 2) and '"cbr(16, k=1x7)\\nblock of 3 layers' in to_dot(model, 2)


def test_a_model_repr_is_one_line_with_its_shapes_and_totals():
    # the tutorial's LeNet: 62,958 parameters; MACs per example, by hand: each conv is output positions x
    # kernel volume x filters, each dense inputs x units (the pools multiply nothing)
    macs = 28 * 28 * 75 * 8 + 10 * 10 * 200 * 16 + 400 * 120 + 120 * 84 + 84 * 10
    assert repr(analyze_file("examples/lenet.cnn")) == (
        f"<cnndsl.Model 'lenet': (None, 32, 32, 3) -> (None, 10), 8 layers, 62,958 params (62,958 trainable), {macs:,} MACs>"
    )
    # Keras's ResNet50: 25,636,712 parameters, 25,583,592 trainable; the repr was the whole record (87,680 characters)
    resnet = repr(analyze_file("examples/resnet50.cnn"))
    assert "\n" not in resnet and len(resnet) < 160
    assert resnet.startswith("<cnndsl.Model 'resnet50': (None, 224, 224, 3) -> (None, 1000), 176 layers, 25,636,712 params (25,583,592 trainable), ")
    # a size that depends on the input is `?`; a name is shown as Python writes a string (control characters escaped)
    unknown = analyze("input ?x?x3 | conv 8 3 | globalavgpool | dense 2", name="a\x1bb")
    assert repr(unknown) == "<cnndsl.Model 'a\\x1bb': (None, None, None, 3) -> (None, 2), 3 layers, 242 params (242 trainable), ? MACs>"
    two = repr(analyze_file("examples/two_heads.cnn"))
    assert "-> [(None, 10), (None, 4)]," in two  # every output, in the order the file names them
