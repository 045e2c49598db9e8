"""`cnndsl diagram`: DOT and Mermaid from the inferred model; SVG and PNG through Graphviz."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docs_pages import page

from cnndsl import Source, analyze_file
from cnndsl.views.diagram import to_dot, to_mermaid

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn"))


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnndsl", *args], capture_output=True, cwd=ROOT, timeout=120, env=env)


@pytest.fixture(scope="session")
def dot_program() -> str:
    """Graphviz's `dot`; CI installs it (.ci/run) and must not skip these tests."""
    found = shutil.which("dot")
    if found is None:
        if os.environ.get("CNNDSL_REQUIRE_ORACLES") == "1":
            pytest.fail("Graphviz's `dot` is required in CI")
        pytest.skip("Graphviz's `dot` is not installed")
    return found


def dot_of(path: Path, depth=None) -> str:
    return to_dot(analyze_file(path), depth, Source.of(path.read_text(), str(path)))


def boxes(dot: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r'^\s*(\w+) \[label="(.*?)"', dot, re.M)}


def edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+);", dot, re.M)


def test_lenet_is_a_chain_of_keras_layers():
    # the tutorial's Keras summary (seed 003): names, shapes, parameters
    dot = dot_of(ROOT / "examples" / "lenet.cnn")
    labels = list(boxes(dot).values())
    # each box shows the layer's options: the tutorial's Conv2D(8, (5, 5), activation="relu"), MaxPooling2D(2, 2)
    assert labels[1] == "conv2d: Conv2D\\nconv 8 5x5 relu\\n(None, 28, 28, 8)\\n608 params"
    assert labels[2] == "max_pooling2d: MaxPooling2D\\nmaxpool 2 /2\\n(None, 14, 14, 8)\\n0 params"
    assert labels[5] == "flatten: Flatten\\n(None, 400)\\n0 params"  # no options: the type line says it
    assert labels[6] == "dense: Dense\\ndense 120 relu\\n(None, 120)\\n48,120 params"
    assert labels[0] == "input_layer: InputLayer\\n(None, 32, 32, 3)\\n0 params"
    assert len(labels) == 9
    assert edges(dot) == [(f"n{i}", f"n{i + 1}") for i in range(8)]


def test_resnet50_merges_are_drawn_as_the_graph_they_are():
    dot = dot_of(ROOT / "examples" / "resnet50.cnn")
    labels = boxes(dot)
    # keras.applications.ResNet50: 177 layers with the input, 16 Add layers each joining two branches
    assert len(labels) == 177
    adds = [box for box, label in labels.items() if ": Add\\n" in label]
    assert len(adds) == 16
    incoming = [b for _, b in edges(dot)]
    assert all(incoming.count(add) == 2 for add in adds)
    assert "predictions: Dense\\ndense 1000 softmax\\n(None, 1000)\\n2,049,000 params" in labels.values()
    # each of the 16 residual blocks, inside one of 4 stages, is a cluster
    assert dot.count("subgraph cluster_") == 20


def test_boxes_show_the_options_keras_builds_resnet50_with_and_compact_leaves_them_out():
    path = ROOT / "examples" / "resnet50.cnn"
    labels = list(boxes(dot_of(path)).values())
    # keras.applications.resnet: Conv2D(64, 7, strides=2, name="conv1_conv"), MaxPooling2D(3, strides=2),
    # BatchNormalization(epsilon=1.001e-5), the 3x3 convs padding="same"
    assert labels[2] == "conv1: Conv2D\\nconv 64 7x7 /2\\n(None, 112, 112, 64)\\n9,472 params"
    assert "max_pooling2d: MaxPooling2D\\nmaxpool 3 /2\\n(None, 56, 56, 64)\\n0 params" in labels
    assert labels[3] == "batch_normalization: BatchNormalization\\nbn eps 1.001e-05\\n(None, 112, 112, 64)\\n256 params"
    assert "conv2d_2: Conv2D\\nconv 64 3x3 same\\n(None, 56, 56, 64)\\n36,928 params" in labels
    compact = to_dot(analyze_file(path), compact=True)
    assert "predictions: Dense\\n(None, 1000)\\n2,049,000 params" in boxes(compact).values()
    assert "conv 64" not in compact and edges(compact) == edges(dot_of(path))


def test_an_option_shows_as_the_layer_was_built_however_it_was_written():
    from cnndsl import analyze

    written = ["conv 16 3 stride 2 padding same activation relu", "conv 16 3 relu same stride=2", "conv 16 3 same relu stride 2"]
    lines = {boxes(to_dot(analyze(f"input 32x32x3 | {text}")))["n1"].split("\\n")[1] for text in written}
    assert lines == {"conv 16 3 /2 same relu"}
    # switches and defaults: nobias is shown, a default never is (Keras's BatchNormalization momentum is 0.99)
    label = boxes(to_dot(analyze("input 8x8x3 | conv 4 3 nobias | bn momentum 0.99 | dropout 0.25")))
    assert [label[n].split("\\n")[1] for n in ("n1", "n3")] == ["conv 4 3 nobias", "dropout 0.25"]
    assert label["n2"].split("\\n")[1] == "(None, 6, 6, 4)"  # bn at its defaults: no options line


def _svg_size(svg: bytes) -> tuple[float, float]:
    found = re.search(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return float(found[1]), float(found[2])


def test_rankdir_lr_lays_a_network_out_left_to_right(dot_program):
    path = ROOT / "examples" / "resnet50.cnn"
    model, source = analyze_file(path), Source.of(path.read_text(), str(path))
    down = _svg_size(subprocess.run([dot_program, "-Tsvg"], input=to_dot(model, 1, source).encode(), capture_output=True).stdout)
    across_dot = to_dot(model, 1, source, rankdir="LR")
    assert "  rankdir=LR;" in across_dot and boxes(across_dot) == boxes(to_dot(model, 1, source))
    across = _svg_size(subprocess.run([dot_program, "-Tsvg"], input=across_dot.encode(), capture_output=True).stdout)
    # Graphviz's own measure of the drawing: a chain of 13 boxes is tall top to bottom, wide left to right
    assert down[1] > 3 * down[0] and across[0] > 3 * across[1]
    assert to_mermaid(model, 1, source, rankdir="LR").startswith("flowchart LR\n")
    done = run("diagram", "--rankdir", "lr", "--format", "mermaid", "examples/lenet.cnn")
    assert done.returncode == 0 and done.stdout.startswith(b"flowchart LR\n")


def test_an_unknown_rankdir_is_a_usage_error_naming_the_choices():
    done = run("diagram", "--rankdir", "sideways", "examples/lenet.cnn")
    assert done.returncode == 2 and done.stdout == b""
    assert "argument --rankdir: invalid choice: 'SIDEWAYS' (choose from 'TB', 'LR', 'BT', 'RL')" in done.stderr.decode()


def _mermaid_size(text: str) -> tuple[int, int]:
    # Mermaid's own count: JavaScript's String length (UTF-16 code units), and its links
    return len(text.encode("utf-16-le")) // 2, len(re.findall(r"^\s*\w+ --> \w+$", text, re.M))


# Mermaid's default configuration (its config schema): maxTextSize 50000, maxEdges 500
MERMAID_TEXT, MERMAID_EDGES = 50_000, 500


def test_a_mermaid_diagram_past_mermaids_limits_collapses_its_blocks_and_says_so():
    done = run("diagram", "--format", "mermaid", "examples/nasnet_mobile.cnn")
    assert done.returncode == 0
    text, (note,) = done.stdout.decode(), done.stderr.decode().splitlines()
    whole = _mermaid_size(to_mermaid(analyze_file(ROOT / "examples" / "nasnet_mobile.cnn")))
    assert whole[0] > MERMAID_TEXT and whole[1] > MERMAID_EDGES  # the issue measured 90,740 characters without options
    size = _mermaid_size(text)
    assert size[0] <= MERMAID_TEXT and size[1] <= MERMAID_EDGES
    first, second = text.splitlines()[:2]
    assert first.startswith("%% ") and second == "flowchart TD"
    assert note == "cnndsl: note: " + first[3:]
    assert f"{whole[0]:,} characters" in note and "--depth 1" in note
    # what it drew is the diagram at the depth it names
    assert text.split("\n", 1)[1] == run("diagram", "--format", "mermaid", "--depth", "1", "examples/nasnet_mobile.cnn").stdout.decode()


def test_a_mermaid_diagram_at_a_given_depth_past_the_limits_is_refused():
    done = run("diagram", "--format", "mermaid", "--depth", "2", "examples/nasnet_mobile.cnn")
    assert done.returncode == 2 and done.stdout == b""
    (line,) = done.stderr.decode().splitlines()
    links = _mermaid_size(to_mermaid(analyze_file(ROOT / "examples" / "nasnet_mobile.cnn"), 2))[1]
    assert links > MERMAID_EDGES and f"{links:,} links (Mermaid draws at most 500)" in line
    assert line.startswith("cnndsl: the Mermaid diagram at --depth 2 has ") and line.endswith("give a smaller --depth, or --format dot or svg")
    # the same depth as DOT is fine: Graphviz has no such limit
    assert run("diagram", "--depth", "2", "examples/nasnet_mobile.cnn").returncode == 0


def test_a_mermaid_diagram_without_blocks_to_collapse_is_written_with_a_warning(tmp_path):
    wide = tmp_path / "wide.cnn"
    wide.write_text("input 32x32x3\n" + "conv 8 3 same relu\n" * 600)
    done = run("diagram", "--format", "mermaid", str(wide))
    assert done.returncode == 0
    (line,) = done.stderr.decode().splitlines()
    assert "600 links (Mermaid draws at most 500)" in line and "use --format dot or svg" in line
    assert done.stdout.decode().startswith("%% the Mermaid diagram has ")
    small = run("diagram", "--format", "mermaid", "examples/resnet50.cnn")  # 177 boxes, under both limits
    assert small.stderr == b"" and small.stdout.startswith(b"flowchart TD\n")


def test_depth_collapses_block_calls_with_their_subtotals():
    # ResNet50's first stage by hand: the projection block is
    # 1x1 conv 64->256 (16,640) + bn (1,024) + 1x1 64->64 (4,160) + bn (256)
    # + 3x3 64->64 (36,928) + bn (256) + 1x1 64->256 (16,640) + bn (1,024) = 76,928;
    # an identity block drops the shortcut: 16,448 + 256 + 36,928 + 256 + 16,640 + 1,024 = 71,552.
    resnet = ROOT / "examples" / "resnet50.cnn"
    top = boxes(dot_of(resnet, depth=1))
    assert top["call0"] == "stack(64, 3, s=1)\\nblock of 32 layers\\n(None, 56, 56, 256)\\n220,032 params"
    assert 76_928 + 2 * 71_552 == 220_032
    assert len(top) == 7 + 4 + 2  # the stem, four stages, gap and predictions
    inner = boxes(dot_of(resnet, depth=2))
    assert inner["call1"] == "projection(64, 1)\\nblock of 12 layers\\n(None, 56, 56, 256)\\n76,928 params"
    assert inner["call2"] == "identity_block(64)\\nblock of 10 layers\\n(None, 56, 56, 256)\\n71,552 params"
    assert "subgraph cluster_0" in dot_of(resnet, depth=2)
    # a collapsed stage is still one link in the chain
    assert ("n6", "call0") in edges(dot_of(resnet, depth=1))


def _label_params(label: str) -> int:
    return int(re.search(r"\\n([\d,]+) (?:new )?params?", label)[1].replace(",", ""))


def test_a_shared_layer_counts_its_weights_once():
    # torchinfo 1.8.0 on the emitted siamese model: 38,951,745 parameters, the shared tower counted once
    siamese = ROOT / "examples" / "siamese.cnn"
    labels = boxes(dot_of(siamese))
    assert sum(_label_params(label) for label in labels.values()) == 38_951_745
    reused = [label for label in labels.values() if ", shared" in label]
    assert len(reused) == 9 and all(_label_params(label) == 0 for label in reused)
    # the tower collapsed: everything but the final Dense(1) on 4,096 inputs (4,096 + 1 = 4,097 params)
    collapsed = boxes(dot_of(siamese, depth=1))
    (tower,) = [label for label in collapsed.values() if label.startswith("l: tower()")]  # the call keeps its label
    assert _label_params(tower) == 38_951_745 - 4_097
    assert sum(_label_params(label) for label in collapsed.values()) == 38_951_745


def test_mermaid_has_every_node_edge_and_block():
    model = analyze_file(ROOT / "examples" / "resnet50.cnn")
    text = to_mermaid(model)
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert sum(bool(re.match(r"\s*n\d+\[", line)) for line in lines) == 177
    assert sum("-->" in line for line in lines) == len(edges(to_dot(model)))
    assert sum(line.strip().startswith("subgraph ") for line in lines) == 20
    assert sum(line.strip() == "end" for line in lines) == 20


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_graphviz_accepts_the_dot_of_every_example(path, dot_program):
    done = subprocess.run([dot_program, "-Tsvg"], input=dot_of(path).encode(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    assert done.stdout.lstrip().startswith(b"<?xml")


def test_png_and_svg_through_the_command(tmp_path, dot_program):
    out = tmp_path / "resnet50.png"
    result = run("diagram", "examples/resnet50.cnn", "--depth", "1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = run("diagram", "examples/lenet.cnn", "--format", "svg")
    assert svg.returncode == 0 and b"conv2d: Conv2D" in svg.stdout


def test_without_graphviz_svg_says_how_to_get_it_in_one_line(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # nothing to run there
    result = run("diagram", "examples/lenet.cnn", "--format", "svg", env=env)
    assert result.returncode == 2
    assert result.stdout == b""
    message = result.stderr.decode()
    assert message.count("\n") == 1 and "install Graphviz" in message and "--format dot" in message
    # DOT and Mermaid need nothing else
    assert run("diagram", "examples/lenet.cnn", env=env).returncode == 0
    assert run("diagram", "examples/lenet.cnn", "--format", "mermaid", env=env).returncode == 0


def test_the_output_format_follows_the_file_extension(tmp_path):
    out = tmp_path / "lenet.mmd"
    assert run("diagram", "examples/lenet.cnn", "-o", str(out)).returncode == 0
    assert out.read_text().startswith("flowchart TD")


@pytest.mark.parametrize(
    ("name", "flags", "message"),
    [
        ("lenet.jpg", [], "cannot tell a diagram format from -o"),
        ("lenet.txt", [], "cannot tell a diagram format from -o"),
        ("lenet", [], "cannot tell a diagram format from -o"),
        ("lenet.png", ["--format", "dot"], "--format dot contradicts -o"),
        ("lenet.mmd", ["--format", "svg"], "--format svg contradicts -o"),
    ],
)
def test_an_output_name_that_does_not_say_the_format_is_refused(tmp_path, name, flags, message):
    out = tmp_path / name
    result = run("diagram", "examples/lenet.cnn", *flags, "-o", str(out))
    assert result.returncode == 2
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith(f"cnndsl: {message} {out}")
    assert not out.exists()


def test_an_unknown_extension_is_fine_with_an_explicit_format(tmp_path):
    out = tmp_path / "lenet.txt"
    assert run("diagram", "examples/lenet.cnn", "--format", "mermaid", "-o", str(out)).returncode == 0
    assert out.read_text().startswith("flowchart TD")
    gv = tmp_path / "lenet.GV"
    assert run("diagram", "examples/lenet.cnn", "--format", "dot", "-o", str(gv)).returncode == 0
    assert gv.read_text().startswith("digraph")


def test_a_model_error_is_reported_as_usual(tmp_path):
    bad = tmp_path / "bad.cnn"
    bad.write_text("input 8x8x1\ncovn 4 3\n")
    result = run("diagram", str(bad))
    assert result.returncode == 1
    assert b"did you mean `conv`?" in result.stderr


def test_the_manual_shows_a_rendering_that_exists():
    assert 'src="../resnet50-diagram.png"' in page("commands.md")
    assert (ROOT / "docs" / "resnet50-diagram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
