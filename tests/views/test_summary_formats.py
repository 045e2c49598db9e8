"""summary --format table|markdown|csv|json|html: each parsed back and checked against LeNet's Keras figures."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from html_cells import table_text

from cnndsl.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
LENET = str(ROOT / "examples" / "lenet.cnn")
RESNET = str(ROOT / "examples" / "resnet50.cnn")
# The LeNet tutorial's Keras model.summary() (seed 003): names, output shapes and parameters per layer.
KERAS_LENET = [
    ("conv2d", "Conv2D", "(None, 28, 28, 8)", 608),
    ("max_pooling2d", "MaxPooling2D", "(None, 14, 14, 8)", 0),
    ("conv2d_1", "Conv2D", "(None, 10, 10, 16)", 3216),
    ("max_pooling2d_1", "MaxPooling2D", "(None, 5, 5, 16)", 0),
    ("flatten", "Flatten", "(None, 400)", 0),
    ("dense", "Dense", "(None, 120)", 48120),
    ("dense_1", "Dense", "(None, 84)", 10164),
    ("dense_2", "Dense", "(None, 10)", 850),
]


def summary(capsys, *args: str) -> str:
    assert main(["summary", *args]) == 0
    return capsys.readouterr().out


def test_csv_has_one_header_row_and_one_row_per_layer(capsys):
    rows = list(csv.DictReader(io.StringIO(summary(capsys, "--format", "csv", LENET))))
    assert [(r["name"], r["type"], r["output_shape"], int(r["params"])) for r in rows] == KERAS_LENET
    assert int(rows[0]["macs"]) == 28 * 28 * (5 * 5 * 3) * 8  # output positions x kernel volume x filters
    assert [r["inputs"] for r in rows[:2]] == ["input_layer", "conv2d"]


def test_csv_of_a_graph_lists_every_input_of_a_merge(capsys):
    rows = list(csv.DictReader(io.StringIO(summary(capsys, "--format", "csv", RESNET))))
    merges = [r for r in rows if r["type"] == "Add"]
    assert len(merges) == 16  # ResNet50's 3 + 4 + 6 + 3 bottleneck blocks
    assert all(len(r["inputs"].split()) == 2 for r in merges)
    assert sum(int(r["params"]) for r in rows) == 25_636_712  # keras.applications.ResNet50


def test_json_format_is_the_json_flag(capsys):
    assert json.loads(summary(capsys, "--format", "json", LENET)) == json.loads(summary(capsys, "--json", LENET))


def test_markdown_is_a_table_with_the_totals_below(capsys):
    lines = summary(capsys, "--format", "markdown", "--macs", LENET).splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == "| Layer (type) | Output Shape | Param # | MACs |"
    assert table[1] == "|:--|:--|--:|--:|"
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    assert [(c[0], c[1], c[2]) for c in cells] == [(f"{n} ({t})", s, f"{p:,}") for n, t, s, p in KERAS_LENET]
    assert "Total params: 62,958 (245.93 KB)  " in lines


@pytest.mark.parametrize("path, layers", [(LENET, 8), (RESNET, 176)])
def test_html_is_one_table_with_a_row_per_layer(capsys, path, layers):
    parser = table_text(summary(capsys, "--format", "html", path))
    assert parser.tables == 1
    assert parser.rows["thead"][0][:3] == ["Layer (type)", "Output Shape", "Param #"]
    assert len(parser.rows["tbody"]) == layers + (path == RESNET)  # a functional model lists its input layer
    if path == LENET:
        assert [tuple(r[:3]) for r in parser.rows["tbody"]] == [
            (f"{n} ({t})", s, f"{p:,}") for n, t, s, p in KERAS_LENET
        ]
        assert parser.rows["tfoot"][0] == ["Total params: 62,958 (245.93 KB)"]


def test_table_is_still_the_default(capsys):
    assert summary(capsys, "--format", "table", LENET) == summary(capsys, LENET)


def test_csv_follows_the_layout(capsys):
    rows = list(csv.DictReader(io.StringIO(summary(capsys, "--format", "csv", "--layout", "channels_first", LENET))))
    assert rows[0]["output_shape"] == "(None, 8, 28, 28)"  # PyTorch's NCHW for conv2d's (None, 28, 28, 8)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--json", "--format", "csv"], "--json and --format csv ask for two formats; give one"),
        (["--format", "markdown", "--json"], "--json and --format markdown ask for two formats; give one"),
        (["--format", "csv", "--depth", "1"], "--format csv lists every layer with every figure it has; it takes no --depth"),
        (["--json", "--depth", "1"], "--format json lists every layer with every figure it has; it takes no --depth"),
        (["--format", "json", "--columns", "shape"], "--format json lists every layer with every figure it has; it takes no --columns"),
        (["--format", "csv", "--dtype", "float16"], "--format csv lists every layer with every figure it has; it takes no --dtype"),
    ],
)  # fmt: skip
def test_flags_a_format_would_ignore_are_refused_in_one_line(capsys, flags, message):
    assert main(["summary", *flags, LENET]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"cnndsl summary: {message}\n"


def test_flags_a_format_carries_anyway_are_accepted(capsys):
    # JSON and CSV carry every layer's MACs (conv2d: 28·28·8 outputs · 5·5·3 = 470,400) and JSON the memory figures
    rows = list(csv.DictReader(io.StringIO(summary(capsys, "--format", "csv", "--macs", LENET))))
    assert rows[0]["macs"] == "470400"
    assert json.loads(summary(capsys, "--json", "--format", "json", "--all", LENET))["total_params"] == 62_958
    # markdown honours --depth: ResNet50's stages as rows, Keras's total 25,636,712
    assert "Total params: 25,636,712" in summary(capsys, "--format", "markdown", "--depth", "1", RESNET)


MARKUP = """input 16x16x3
def down(a, b):
    conv a 3x3 same | conv b 1x1
let n = 4
_x_: conv 8 3x3
_y_: down(n*2, n*1)
a__b: dense 10
"""


def _gfm_cells(markdown: str) -> list[list[str]]:
    """The text of every table cell as a GFM renderer (markdown-it, tables on) shows it."""
    from markdown_it import MarkdownIt

    parser = table_text(MarkdownIt("commonmark").enable("table").render(markdown))
    return [[cell.replace("\xa0", " ") for cell in row] for row in parser.rows["thead"] + parser.rows["tbody"]]


def test_markdown_renders_back_to_the_cells_text_markup_and_indentation_kept(tmp_path, capsys):
    from cnndsl import analyze
    from cnndsl.views.columns import View
    from cnndsl.views.summary import table_rows
    from cnndsl.views.text import markdown_text

    path = tmp_path / "markup.cnn"
    path.write_text(MARKUP)
    rendered = _gfm_cells(summary(capsys, "--format", "markdown", "--depth", "2", str(path)))
    header, rows, _ = table_rows(analyze(MARKUP, "markup"), None, False, View(depth=2))
    assert rendered == [header, *([" ".join(cell) for cell in row] for row in rows)]
    # what a renderer would have read as emphasis, code or a cell rule, and the depth indentation
    titles = [row[0] for row in rendered]
    assert "_x_ (Conv2D)" in titles and "_y_: down(8, 4) (down, 2 layers)" in titles
    assert "  conv2d (Conv2D)" in titles
    text = "a*b*c _d_ `e` f|g <h> & ~~i~~ \\j"
    assert _gfm_cells(f"| x |\n|--|\n| {markdown_text(text)} |\n")[1] == [text]
