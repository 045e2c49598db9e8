"""check --max-params / --max-macs, and [tool.cnndsl] in pyproject.toml.

LeNet (examples/lenet.cnn) has 62,958 parameters (the tutorial's Keras summary,
seed 003), 849,320 MACs (by hand: 28*28*75*8 + 10*10*200*16 + 400*120 + 120*84 + 84*10) and an
inference peak of 289,208 bytes (by hand: 62,958 float32 parameters plus the input and conv2d's
output alive at once, (3,072 + 6,272) * 4).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from docs_pages import page

from cnndsl.cli import main
from cnndsl.tools.budgets import FIGURES, BadBudget, parse_amount

ROOT = Path(__file__).resolve().parent.parent.parent
LENET = ROOT / "examples" / "lenet.cnn"
PARAMS, MACS = 62_958, 28 * 28 * 75 * 8 + 10 * 10 * 200 * 16 + 400 * 120 + 120 * 84 + 84 * 10
COUNT, BYTES = FIGURES[0], FIGURES[2]
PEAK = 62_958 * 4 + (32 * 32 * 3 + 28 * 28 * 8) * 4


@pytest.mark.parametrize(
    "flag, budget, status",
    [
        ("--max-params", "62958", 0),  # at the limit is within it
        ("--max-params", "62957", 1),
        ("--max-params", "62959", 0),
        ("--max-params", "62.958K", 0),
        ("--max-params", "62.957K", 1),
        ("--max-params", "0.062958M", 0),
        ("--max-params", "0.062957M", 1),
        ("--max-params", "0.000062958G", 0),
        ("--max-params", "0.000062957G", 1),
        ("--max-params", "62_958", 0),
        ("--max-params", "62,957", 1),
        ("--max-macs", "849320", 0),
        ("--max-macs", "849319", 1),
        ("--max-macs", "849.32k", 0),
        ("--max-macs", "849.319K", 1),
        ("--max-macs", "0.84932M", 0),
        ("--max-macs", "0.849319M", 1),
        ("--max-macs", "0.00000084932T", 0),
        ("--max-macs", "0.00000084931T", 1),
        ("--max-memory", "289208", 0),
        ("--max-memory", "289207B", 1),
        ("--max-memory", "289.208KB", 0),
        ("--max-memory", "289.207kb", 1),
        ("--max-memory", "282.4296875KiB", 0),  # 289,208 / 1024
        ("--max-memory", "282.4287109375KiB", 1),  # 289,207 / 1024
        ("--max-memory", "0.289208MB", 0),
        ("--max-memory", "0.289207MB", 1),
        ("--max-memory", "0.000289208GB", 0),
        ("--max-memory", "0.000289207GB", 1),
        ("--max-memory", "1MiB", 0),
        ("--max-memory", "0.25MiB", 1),  # 262,144 bytes
    ],
)
def test_budgets_at_just_under_and_just_over_the_limit(flag, budget, status, capsys):
    assert main(["check", flag, budget, str(LENET)]) == status
    assert (capsys.readouterr().err != "") == (status == 1)


def test_an_exceeded_budget_names_figure_budget_and_excess_at_the_input_line(capsys):
    assert main(["check", "--max-params", "60K", "--max-macs", "849319", str(LENET)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"{LENET}:5:1: the model has 62,958 parameters, 2,958 over the budget of 60,000 (60K) [E800]"
    assert lines[2] == "5 | input 32x32x3"
    assert lines[4] == "hint: the budget is set by --max-params"
    assert lines[5] == f"{LENET}:5:1: the model has 849,320 MACs, 1 over the budget of 849,319 [E800]"


def test_budget_errors_take_the_error_format(capsys):
    assert main(["check", "--max-params", "60K", "--error-format", "json", str(LENET)]) == 1
    (error,) = json.loads(capsys.readouterr().out)
    assert (error["code"], error["line"], error["column"], error["end_column"]) == ("E800", 5, 1, 14)


@pytest.mark.parametrize(
    "text, value",
    [("1K", 10**3), ("1M", 10**6), ("1G", 10**9), ("1T", 10**12), ("1.1K", 1100), (".5k", 500), ("7", 7), (12, 12)],
)
def test_count_units_are_powers_of_1000(text, value):
    assert parse_amount(text, COUNT) == value


@pytest.mark.parametrize(
    "text, value",
    [("2GB", 2 * 10**9), ("2GiB", 2 * 2**30), ("1KB", 1000), ("1kib", 1024), ("3MiB", 3 * 2**20), ("1TB", 10**12)],
)
def test_byte_units_are_decimal_or_binary(text, value):
    assert parse_amount(text, BYTES) == value


def test_the_memory_budget_is_the_inference_peak(capsys):
    assert PEAK == 289_208
    assert main(["check", "--max-memory", "289207", str(LENET)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{LENET}:5:1: the model has 289,208 bytes of memory at its inference peak (one example, float32), "
        "1 over the budget of 289,207 [E800]"
    )


@pytest.mark.parametrize("bad", ["1X", "1.5", "-3", "", "K", "1 MB", "1e6", "1.0001K", -1, 1.5, True])
def test_a_bad_budget_is_refused(bad):
    with pytest.raises(BadBudget):
        parse_amount(bad, COUNT)


@pytest.mark.parametrize(
    "flag, bad",
    [
        ("--max-params", "1X"),
        ("--max-params", "1.5"),
        ("--max-params", "2GB"),
        ("--max-memory", "2G"),
        ("--max-memory", "0.5B"),
    ],
)
def test_a_bad_budget_flag_is_a_usage_error(flag, bad, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["check", flag, bad, str(LENET)])
    assert caught.value.code == 2
    assert flag[2:] in capsys.readouterr().err


def project(tmp_path: Path, settings: str) -> Path:
    """A project with pyproject.toml at its root and LeNet two folders down."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n{settings}', encoding="utf-8")
    models = tmp_path / "models" / "vision"
    models.mkdir(parents=True)
    shutil.copy(LENET, models / "lenet.cnn")
    return models / "lenet.cnn"


def test_budgets_from_the_nearest_pyproject_with_a_cnndsl_table(tmp_path, capsys, monkeypatch):
    model = project(tmp_path, '[tool.cnndsl]\nmax-params = "62.957K"\nmax-macs = 849320\nmax-memory = "1MiB"\n')
    # A nearer pyproject.toml without [tool.cnndsl] belongs to something else: keep walking up.
    (model.parent / "pyproject.toml").write_text("[tool.ruff]\nline-length = 99\n", encoding="utf-8")
    assert main(["check", str(model)]) == 1
    err = capsys.readouterr().err
    assert "62,958 parameters, 1 over the budget of 62,957 (62.957K)" in err
    assert f"hint: the budget is set by {tmp_path / 'pyproject.toml'} [tool.cnndsl]" in err
    assert "MACs" not in err
    assert main(["check", "--max-params", "63K", str(model)]) == 0  # a flag wins over the file
    monkeypatch.chdir(model.parent)
    monkeypatch.setattr("sys.stdin", open(model, encoding="utf-8"))  # noqa: SIM115 - closed with the test
    assert main(["check", "-"]) == 1  # standard input: found from the working directory
    capsys.readouterr()


def test_a_pyproject_that_cannot_name_cnndsl_is_not_parsed(tmp_path, monkeypatch):
    # Parsing TOML costs ~3 ms of every `check`: a file without the word (or an escape) is skipped.
    import cnndsl.tools.budgets

    def refuse(path):
        raise AssertionError(f"parsed {path}")

    model = project(tmp_path, "[tool.ruff]\nline-length = 99\n")
    monkeypatch.setattr(cnndsl.tools.budgets, "_read_toml", refuse)
    assert main(["check", str(model)]) == 0


def test_a_cnndsl_table_spelt_with_an_escape_is_read(tmp_path, capsys):
    # TOML's basic-string keys take escapes: `[tool."cnnds\u006c"]` is [tool.cnndsl].
    model = project(tmp_path, '[tool."cnnds\\u006c"]\nmax-params = 10\n')
    assert main(["check", str(model)]) == 1
    assert "62,958 parameters, 62,948 over the budget of 10" in capsys.readouterr().err


def test_at_the_budget_from_pyproject_is_within_it(tmp_path, capsys):
    model = project(tmp_path, '[tool.cnndsl]\nmax-params = 62958\nmax-macs = "0.84932M"\n')
    assert main(["check", str(model)]) == 0


@pytest.mark.parametrize(
    "settings", ['[tool.cnndsl]\nmax-params = "lots"\n', "[tool.cnndsl\n", '[tool]\ncnndsl = "x"\n']
)
def test_a_bad_pyproject_is_a_usage_error(tmp_path, capsys, settings):
    model = project(tmp_path, settings)
    assert main(["check", str(model)]) == 2
    assert "pyproject.toml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "advice"),
    [
        ("max-parms", "did you mean `max-params`?"),
        ("max_macs", "did you mean `max-macs`?"),
        ("colour", "the keys are max-params, max-macs, max-memory, ignore, warnings"),
    ],
)
def test_an_unknown_pyproject_key_is_a_usage_error_naming_it(tmp_path, capsys, key, advice):
    model = project(tmp_path, f'[tool.cnndsl]\n{key} = "1M"\n')  # LeNet has 62,958 parameters: within 1M
    assert main(["check", str(model)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(f"pyproject.toml: [tool.cnndsl] has no setting {key!r}; {advice}")


def test_the_readme_budget_session_is_what_the_command_prints(capsys, monkeypatch):
    command = "$ cnndsl check --max-params 60K examples/lenet.cnn\n"
    shown = page("commands.md").split(command, 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    assert main(["check", "--max-params", "60K", "examples/lenet.cnn"]) == 1
    assert capsys.readouterr().err == shown
