"""The option lists: one object each, in cnndsl.core.choices; the CLI and every owner use that object."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cnndsl
from cnndsl import cli
from cnndsl.core import choices

PACKAGE = Path(cnndsl.__file__).resolve().parent


def test_choices_imports_nothing():
    tree = ast.parse((PACKAGE / "core" / "choices.py").read_text(encoding="utf-8"))
    imported = [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.module != "__future__"
    ]
    assert imported == []


def test_the_cli_copies_no_option_list():
    tree = ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8"))
    literal = [
        keyword.value.lineno
        for keyword in ast.walk(tree)
        if isinstance(keyword, ast.keyword)
        and keyword.arg == "choices"
        and isinstance(keyword.value, (ast.Tuple, ast.List, ast.Set, ast.Dict))
    ]
    assert literal == [], f"cli.py lines {literal}: take the list from cnndsl.core.choices"


def test_every_owner_checks_against_the_same_object():
    from cnndsl.model import memory
    from cnndsl.tools import budgets, playground
    from cnndsl.views import columns, diagnostics, diagram, sweep

    assert memory.DTYPE_BYTES is choices.DTYPE_BYTES
    assert memory.OPTIMIZER_STATES is choices.OPTIMIZER_STATES
    assert diagnostics.FORMATS is choices.ERROR_FORMATS
    assert diagram.FORMATS is choices.DIAGRAM_FORMATS
    assert budgets.WARNING_MODES is choices.WARNING_MODES
    assert columns.COLUMNS is choices.SUMMARY_COLUMNS
    assert playground.LAYOUTS is choices.LAYOUTS
    assert playground.STYLES is choices.SUMMARY_STYLES
    assert sweep.FORMATS is choices.SWEEP_FORMATS


def _choices(command: str, flag: str):
    parser = cli.build_parser(command)
    (sub,) = [action for action in parser._actions if action.dest == "command"]
    (found,) = [action for action in sub.choices[command]._actions if flag in action.option_strings]
    return tuple(found.choices)


@pytest.mark.parametrize(
    "command, flag, expected",
    [
        ("summary", "--format", choices.SUMMARY_FORMATS),
        ("summary", "--style", choices.SUMMARY_STYLES),
        ("summary", "--layout", choices.LAYOUTS),
        ("explain", "--dtype", tuple(choices.DTYPE_BYTES)),
        ("explain", "--optimizer", tuple(choices.OPTIMIZER_STATES)),
        ("check", "--warnings", choices.WARNING_MODES),
        ("check", "--error-format", choices.ERROR_FORMATS),
        ("diagram", "--format", choices.DIAGRAM_FORMATS),
    ],
)
def test_the_cli_offers_each_list(command, flag, expected):
    assert _choices(command, flag) == expected


def test_every_summary_format_and_style_is_one_the_cli_handles(tmp_path, capsys):
    path = tmp_path / "net.cnn"
    path.write_text("input 28x28x1\nconv 8 3\nflatten\ndense 10\n", encoding="utf-8")
    for fmt in choices.SUMMARY_FORMATS:
        assert cli.main(["summary", str(path), "--format", fmt]) == 0, fmt
    for style in choices.SUMMARY_STYLES:
        assert cli.main(["summary", str(path), "--style", style]) == 0, style
    # Keras: Conv2D(8, 3) on 28x28x1 has 3*3*1*8 + 8 = 80 parameters, Dense(10) on 26*26*8 = 5,408 values 54,090
    assert capsys.readouterr().out.count("54,170") >= len(choices.SUMMARY_FORMATS)


def test_bytes_per_value_are_torchs(torch):
    for name, size in choices.DTYPE_BYTES.items():
        assert getattr(torch, name).itemsize == size, name


def test_optimizer_states_are_torchs(torch):
    weight = torch.nn.Parameter(torch.ones(3))
    made = {
        "sgd": torch.optim.SGD([weight], lr=0.1),
        "momentum": torch.optim.SGD([weight], lr=0.1, momentum=0.9),
        "adam": torch.optim.Adam([weight]),
    }
    for name, optimizer in made.items():
        weight.grad = torch.ones(3)
        optimizer.step()
        tensors = [v for v in optimizer.state[weight].values() if torch.is_tensor(v) and v.shape == weight.shape]
        assert len(tensors) == choices.OPTIMIZER_STATES[name], name


def test_the_owners_name_their_list_for_anything_else():
    from cnndsl.model.memory import memory
    from cnndsl.views.diagnostics import format_errors
    from cnndsl.views.diagram import diagram

    model = cnndsl.analyze("input 8x8x3\nconv 4 3\n")
    with pytest.raises(ValueError, match="dot, mermaid, svg, png"):
        diagram(model, "pdf")
    with pytest.raises(ValueError, match="text, json, sarif, github"):
        format_errors([], "xml")
    with pytest.raises(ValueError, match="float32, float16, bfloat16, int8"):
        memory(model, dtype="float64")
    with pytest.raises(ValueError, match="sgd, momentum, adam"):
        memory(model, optimizer="rmsprop")
