"""`cnndsl diagram` stays within MAX_DIAGRAM_BOXES: repeats collapse, then block calls; a depth given
that cannot be drawn within it is a located refusal (issue 25: 22 bytes wrote a 10.6 MB SVG in 6 s)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnndsl import Source, analyze
from cnndsl.core.errors import LimitExceeded
from cnndsl.core.limits import MAX_DIAGRAM_BOXES
from cnndsl.views.diagram import diagram, to_dot, to_mermaid

ROOT = Path(__file__).resolve().parent.parent.parent
BOMB = "input 8\n(relu) * 9999\n"


def run(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cnndsl", "diagram", str(path), *args], capture_output=True, cwd=ROOT, timeout=120
    )


def boxes(dot: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r'^\s*(\w+) \[label="(.*?)"', dot, re.M)}


def edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+);", dot, re.M)


def _model(text: str):
    return analyze(text), Source.of(text, "net.cnn")


@pytest.fixture(scope="module")
def bomb():
    return _model(BOMB)


def test_a_repeat_past_the_bound_is_drawn_as_its_first_round_and_one_box(bomb):
    model, source = bomb
    assert len(model.nodes) == 10_000  # the input and 9,999 activations
    notes: list[str] = []
    dot = to_dot(model, source=source, notes=notes)
    labels = boxes(dot)
    assert list(labels) == ["n0", "n1", "rounds0"]
    assert labels["rounds0"] == "(relu) * 9999\\nrounds 2–9,999: 9,998 layers\\n(None, 8)\\n0 params"
    assert edges(dot) == [("n0", "n1"), ("n1", "rounds0")]
    (note,) = notes
    assert note == (
        "the diagram would have 10,000 boxes, more than the 1,000 cnndsl draws; "
        "each repeat is drawn as its first round and one box for the others"
    )
    assert dot.startswith(f"// {note}\n") and f'comment="{note}";' in dot


def test_the_later_rounds_carry_their_parameters_and_output_shape():
    # Keras's Dense(8) on 8 inputs has 8 * 8 + 8 = 72 weights; rounds 2 to 1,200 are 1,199 of them
    model, source = _model("input 8\n(dense 8 relu) * 1200\ndense 3\n")
    labels = boxes(to_dot(model, source=source))
    assert labels["rounds0"] == f"(dense 8 relu) * 1200\\nrounds 2–1,200: 1,199 layers\\n(None, 8)\\n{1199 * 72:,} params"
    assert labels["n1"].endswith("(None, 8)\\n72 params") and labels["n1201"].endswith("(None, 3)\\n27 params")
    assert list(labels) == ["n0", "n1", "rounds0", "n1201"]


def test_nested_repeats_and_loops_collapse_each_level():
    model, source = _model("input 8\n((relu) * 50) * 100\nfor i in range(1200):\n    dense 4\n")
    labels = boxes(to_dot(model, source=source))
    collapsed = {key: value.split("\\n")[:2] for key, value in labels.items() if key.startswith("rounds")}
    assert collapsed == {
        "rounds0": ["(relu) * 50", "rounds 2–50: 49 layers"],
        "rounds1": ["((relu) * 50) * 100", "rounds 2–100: 4,950 layers"],
        "rounds2": ["for i in range(1200):", "rounds 2–1,200: 1,199 layers"],
    }
    assert len(labels) == 6  # input, relu, its rounds, the outer rounds, dense, its rounds


def test_a_repeat_inside_a_block_collapses_inside_its_cluster():
    text = "input 8x8x3\ndef unit(c):\n    conv c 3 same relu | (bn | relu) * 300\nunit(8) * 3\n"
    model, source = _model(text)
    dot = to_dot(model, source=source)
    assert "subgraph cluster_0 {" in dot  # the first call, open
    labels = boxes(dot)
    assert labels["rounds0"].startswith("(bn | relu) * 300\\nrounds 2–300: 598 layers\\n(None, 8, 8, 8)\\n")
    # the calls of rounds 2 and 3: each a conv 8 -> 8 (3*3*8*8 + 8) and 300 bn (Keras: 4 * 8 = 32 each)
    assert labels["rounds1"] == f"unit(8) * 3\\nrounds 2–3: 1,202 layers\\n(None, 8, 8, 8)\\n{2 * (3 * 3 * 8 * 8 + 8 + 300 * 32):,} params"


def _nested_calls() -> str:
    relus = " | ".join(["relu"] * 10)
    calls = " | ".join(["b()"] * 10)
    return f"input 8\ndef b():\n    {relus}\ndef c():\n    {calls}\n" + " | ".join(["c()"] * 12) + "\n"


def test_without_repeats_block_calls_collapse_from_the_deepest_level():
    model, source = _model(_nested_calls())  # 1,200 activations in 120 calls of b in 12 calls of c
    notes: list[str] = []
    labels = boxes(to_dot(model, source=source, notes=notes))
    assert len(labels) == 1 + 12 * 10  # as at --depth 2: the input and each call of b
    assert notes == [
        "the diagram would have 1,201 boxes, more than the 1,000 cnndsl draws; block calls collapsed as with --depth 2"
    ]


def test_a_depth_past_the_bound_is_a_located_refusal_naming_the_depth_that_fits(tmp_path):
    path = tmp_path / "calls.cnn"
    path.write_text(_nested_calls())
    done = run(path, "--depth", "3")
    assert done.returncode == 1 and done.stdout == b""
    lines = done.stderr.decode().splitlines()
    # the 1,001st box (after the input) is the 1,000th relu: the tenth of the 100th call of b, on line 3
    assert lines[0] == f"{path}:3:68: the diagram at --depth 3 would have 1,201 boxes, more than the 1,000 cnndsl draws [E900]"
    assert lines[-1] == "hint: give --depth 2 (each block call at that level one box), or leave --depth out"
    model, source = _model(_nested_calls())
    with pytest.raises(LimitExceeded):
        to_mermaid(model, 3, source)
    assert run(path, "--depth", "2").returncode == 0


def test_a_file_that_writes_out_its_layers_is_drawn_whole(tmp_path):
    text = "input 8\n" + "relu\n" * (MAX_DIAGRAM_BOXES + 1)
    model, source = _model(text)
    notes: list[str] = []
    assert len(boxes(to_dot(model, source=source, notes=notes))) == MAX_DIAGRAM_BOXES + 2 and notes == []


def test_the_command_says_what_it_collapsed_in_dot_mermaid_and_svg(tmp_path):
    path = tmp_path / "bomb.cnn"
    path.write_text(BOMB)
    note = "cnndsl: note: the diagram would have 10,000 boxes, more than the 1,000 cnndsl draws; "
    note += "each repeat is drawn as its first round and one box for the others\n"
    for fmt, comment in (("dot", "// "), ("mermaid", "%% ")):
        done = run(path, "--format", fmt)
        assert done.returncode == 0 and done.stderr.decode() == note
        text = done.stdout.decode()
        assert text.startswith(comment + note.removeprefix("cnndsl: note: "))
        assert len(text) < 2_000
    mermaid = done.stdout.decode().splitlines()
    assert mermaid[1] == "flowchart TD" and mermaid[-1] == "  n1 --> rounds0"


def test_the_svg_is_small_and_carries_the_note(tmp_path, bomb):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's `dot` is not installed")  # tests/views/test_diagram.py requires it in CI
    model, source = bomb
    notes: list[str] = []
    svg = diagram(model, "svg", source=source, notes=notes).decode()
    (note,) = notes
    assert f"<!-- {note.replace('-', '&#45;')} -->" in svg
    assert len(svg) < 20_000  # the whole 10,000 boxes were 10.66 MB
    assert svg.count('class="node"') == 3


def test_the_playground_draws_the_collapsed_diagram_and_says_a_refusal_is_not_a_bug():
    from cnndsl.tools.playground import Playground

    page = Playground()
    assert list(boxes(page.diagram(BOMB)["dot"])) == ["n0", "n1", "rounds0"]
    answer = page.diagram(_nested_calls(), 3)
    assert answer["dot"] is None and "bug" not in answer
    assert answer["refused"].startswith("the diagram at --depth 3 would have 1,201 boxes")
