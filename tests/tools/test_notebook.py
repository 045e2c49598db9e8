"""The `%%cnn` cell magic, run by IPython's own shell in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from html_cells import html_text

LENET = (Path(__file__).resolve().parent.parent.parent / "examples" / "lenet.cnn").read_text()


@pytest.fixture(scope="module")
def shell():
    pytest.importorskip("IPython")  # in the `test` extra, so CI always has it
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "cnndsl")
    yield shell
    InteractiveShell.clear_instance()


def run(shell, cell: str):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = shell.run_cell(cell, store_history=False)
    return result, captured


def test_a_cell_shows_the_summary_and_keeps_the_model(shell):
    result, _ = run(shell, "%%cnn lenet\n" + LENET)
    assert result.success
    html = html_text(result.result._repr_html_())
    # the tutorial's Keras summary (seed 003)
    for text in ("dense_2", "48,120", "(None, 5, 5, 16)", "62,958"):
        assert text in html
    assert "Total params: 62,958 (245.93 KB)" in repr(result.result)
    assert shell.user_ns["lenet"].total == 62_958
    # the model is an ordinary variable for the next cell
    after, _ = run(shell, "lenet.layers[-1].shape")
    assert after.result == (10,)


def test_without_a_name_the_model_is_model(shell):
    result, _ = run(shell, "%%cnn\ninput 8x8x1 | conv 4 3 | flatten | dense 2\n")
    assert result.success
    # conv: (3·3·1 + 1)·4 = 40; dense: (6·6·4 + 1)·2 = 290
    assert shell.user_ns["model"].total == 330


def test_an_error_shows_its_caret_without_a_traceback(shell):
    result, captured = run(shell, "%%cnn broken\ninput 8x8x1\ncovn 4 3\n")
    assert not result.success and result.result is None  # the cell failed, so "Run all" stops here
    assert "broken" not in shell.user_ns
    assert captured.stdout.splitlines() == [
        "<cell>:2:1: unknown layer `covn` [E200]",
        "  |",
        "2 | covn 4 3",
        "  | ^^^^",
        "hint: did you mean `conv`?",
    ]
    assert "Traceback" not in captured.stdout + captured.stderr
    assert captured.outputs == []


def test_a_failed_cell_leaves_no_earlier_model_behind(shell):
    first, _ = run(shell, "%%cnn net\ninput 8x8x1 | conv 4 3 | flatten | dense 2\n")
    assert first.success and shell.user_ns["net"].total == 330  # as in test_without_a_name_the_model_is_model
    failed, _ = run(shell, "%%cnn net\ninput 8x8x1 | conv 4 9x9 | flatten | dense 2\n")  # kernel larger than 8x8
    assert not failed.success
    assert "net" not in shell.user_ns
    stale, captured = run(shell, "net.total")
    assert not stale.success and isinstance(stale.error_in_exec, NameError)


def test_a_bad_name_is_a_usage_message(shell):
    result, captured = run(shell, "%%cnn 2fast\ninput 8x8x1\n")
    assert not result.success
    assert "usage: %%cnn [NAME]" in captured.stdout and "Traceback" not in captured.stdout


def test_every_error_of_a_cell_is_shown(shell):
    result, captured = run(shell, "%%cnn broken\ninput 8x8x1\ncovn 4 3\nconv 4 3 strid 2\n")
    assert not result.success
    firsts = [line for line in captured.stdout.splitlines() if line.startswith("<cell>:")]
    assert firsts == ["<cell>:2:1: unknown layer `covn` [E200]", "<cell>:3:10: `conv` has no option `strid` [E201]"]


def test_a_warning_is_shown_above_the_summary(shell):
    result, _ = run(shell, "%%cnn warned\ninput 7x7x8\nmaxpool 2\nflatten\ndense 10\n")
    assert result.success and shell.user_ns["warned"].total == 9 * 8 * 10 + 10
    text = repr(result.result)
    assert text.startswith("<cell>:2:1: warning: this `maxpool` never reads the last 1 row and 1 column")
    assert "[W103]" in result.result._repr_html_()
