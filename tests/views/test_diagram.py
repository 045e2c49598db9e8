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
    assert labels[1] == "conv2d: Conv2D\\n(None, 28, 28, 8)\\n608 params"
    assert labels[6] == "dense: Dense\\n(None, 120)\\n48,120 params"
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
    assert "predictions: Dense\\n(None, 1000)\\n2,049,000 params" in labels.values()
    # each of the 16 residual blocks, inside one of 4 stages, is a cluster
    assert dot.count("subgraph cluster_") == 20


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
    (tower,) = [label for label in collapsed.values() if label.startswith("tower")]
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
