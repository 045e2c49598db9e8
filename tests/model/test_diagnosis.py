"""Every independent mistake of a file, each once, at its place: the multi-error suite.

Each file holds 2-5 independent mistakes of the kinds a user makes (typos,
shape misfits, merge mismatches, bad options, block arity, syntax); the
positions are those of the mistakes in the text. What only follows from an
earlier mistake (a reference to a label whose line did not parse, an unknown
size after a layer that failed, a second call of a block with a broken body)
must not be reported again.

On this suite: 9 files, 28 mistakes, 28 reported, 0 twice, 0 that only follow from another.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cnndsl
from cnndsl.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent

# (text, [(line, column, code), ...] in file order)
SUITE = {
    "typos and a merge": (
        "input 32x32x3\n"
        "covn 16 3 same relu\n"  # typo of a layer: read as `conv`, so what follows is still checked
        "conv 32 3 strid 2 relu\n"  # typo of an option: read as `stride`
        "maxpool 2\n"
        "add(identity; conv 16 3 same)\n"  # 7x7x32 + 7x7x16: independent of both typos
        "dense 10 softmx\n",
        [(2, 1, "E200"), (3, 11, "E201"), (5, 15, "E301"), (6, 10, "E201")],
    ),
    "block arity": (
        "def block(c, s):\n"
        "    conv c 3 stride s same | bn | relu\n"
        "input 64x64x3\n"
        "block(32)\n"
        "block(64, 2, 9)\n"
        "conv 8 70\n"  # after a call that could not be made, the size is unknown: nothing to report
        "gap\n"
        "dense 10 softmax\n",
        [(4, 1, "E500"), (5, 14, "E500")],
    ),
    "syntax, twice": (
        "input 28x28x1\n"
        "conv 8 3 |\n"
        "conv 16 3 relu\n"
        "x: conv 16 3 same relu |\n"
        "add(@x; conv 16 1)\n"  # `x` is the label of the line that did not parse: no E202
        "flatten\n"
        "dense 10 relu smae\n",
        [(2, 11, "E100"), (4, 25, "E100"), (7, 15, "E201")],
    ),
    "a block body mistake, called twice": (
        "def stem(c):\n"
        "    conv c 3 strid 2 | bn\n"  # one mistake, reached by two calls: told once
        "input 32x32x3\n"
        "stem(16)\n"
        "stem(32)\n"
        "conv 8 40\n"  # 7x7 here
        "dense 10 activation=relu\n",  # its input's size is unknown only because of line 6: no E302
        [(2, 14, "E201"), (6, 8, "E300")],
    ),
    "names and references": (
        "input 16x16x3\na: conv 8 3 same\na: conv 8 1\nb: conv 8 3\nadd(@a; @b)\nc: conv 4 1 nobais\nadd(@c; @d)\n",
        [(3, 1, "E600"), (5, 9, "E301"), (6, 13, "E201"), (7, 10, "E202")],
    ),
    "arity, a bad value, a typo": (
        "def down(c):\n"
        "    conv c 3 same | maxpool 2\n"
        "input 32x32x3\n"
        "down(16, 2)\n"
        "dropout 1.5\n"  # one mistake: without its rate the dropout is not reported again for needing one
        "gap | dense 10 sofmax\n",
        [(4, 10, "E500"), (5, 9, "E201"), (6, 16, "E201")],
    ),
    "two inputs": (
        "left: input 28x28x1\n"
        "conv 8 30\n"  # larger than 28x28
        "right: input 28x28x1\n"
        "conv 8 3 | maxpool 2 stride 0\n"
        "z: concat(@left; @right)\n"
        "dense 10 sigmoidd\n",
        [(2, 8, "E300"), (4, 29, "E201"), (6, 10, "E201")],
    ),
    "options": (
        "input 32x32x3\n"
        "conv 16 3 same relu groups 5\n"  # 3 channels do not split into 5 groups
        "bn eps -1\n"
        "maxpool 2 stride 2 strides 2\n"
        "dense 10 nobias nobias\n",
        [(2, 21, "E300"), (3, 8, "E201"), (4, 20, "E201"), (5, 17, "E201")],
    ),
    "defs and calls": (
        "def f(c):\n"
        "    conv c 3 same\n"
        "def f(c):\n"
        "    conv c 1\n"
        "def relu(x):\n"
        "    conv x 1\n"
        "input 8x8x3\n"
        "f(4)\n"
        "g(4)\n"
        "dense 10\n",
        [(3, 5, "E500"), (5, 5, "E500"), (9, 1, "E500")],
    ),
}


def found(text: str) -> list[tuple[int, int, str]]:
    diagnosis = cnndsl.diagnose(text, "net.cnn")
    assert diagnosis.model is None
    return [(error.span.line, error.span.column, error.code) for error in diagnosis.errors]


@pytest.mark.parametrize("name", SUITE)
def test_each_independent_mistake_is_reported_once_at_its_place(name):
    text, expected = SUITE[name]
    assert found(text) == expected


def test_the_suite_counts():
    files = len(SUITE)
    mistakes = sum(len(expected) for _, expected in SUITE.values())
    reported = sum(len(found(text)) for text, _ in SUITE.values())
    assert (files, mistakes, reported) == (9, 28, 28)


@pytest.mark.parametrize("name", SUITE)
def test_the_first_error_is_the_one_analyze_raises_word_for_word(name):
    """Reporting all of them changes nothing about the first one `analyze` meets."""
    text, _ = SUITE[name]
    with pytest.raises(cnndsl.CnnError) as caught:
        cnndsl.analyze(text, "net.cnn")
    errors = cnndsl.diagnose(text, "net.cnn").errors
    assert caught.value.span in [error.span for error in errors]
    same = next(error for error in errors if error.span == caught.value.span and error.code == caught.value.code)
    assert (same.message, str(same.hint)) == (caught.value.message, str(caught.value.hint))


def test_a_file_with_one_mistake_reports_exactly_what_analyze_raises():
    text = "input 28x28x1\nconv 8 3\nmaxpol 2\n"
    (error,) = cnndsl.diagnose(text, "net.cnn").errors
    assert str(error) == "3:1: unknown layer `maxpol` (hint: did you mean `maxpool`?)"


def test_in_after_a_failed_stage_is_not_a_second_error():
    # The input failed, so `in.h` has no size; that follows from the first error and is not told again.
    text = "param size = 32\nif size:\n    input size x siz x 3\nzeropad in.h % 2 1\nconv 8 3\nconv 8 3 strid 2\n"
    assert found(text) == [(3, 18, "E201"), (6, 10, "E201")]


def test_a_body_that_lost_its_indentation_is_one_error_not_a_cascade():
    # Alone, `def f(c):` fails at its end and `conv c 3` is a layer with an unbound `c`: the split misreads
    # the text, so only the whole file's error is told.
    text = "def f(c):\nconv c 3\ninput 8x8x3\nf(8)\n"
    errors = cnndsl.diagnose(text, "net.cnn").errors
    assert [(e.span.line, e.code) for e in errors] == [(2, "E100")]
    assert "indented under it" in errors[0].hint


def test_an_unclosed_bracket_is_one_error():
    text = "input 8x8x3\nadd(identity; conv 3 3 same\nrelu\ndense 10\n"
    assert [e.code for e in cnndsl.diagnose(text).errors] == ["E100"]


def test_check_reports_all_in_file_order_and_caps_them(tmp_path, capsys):
    path = tmp_path / "net.cnn"
    path.write_text(SUITE["typos and a merge"][0])
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    firsts = [line for line in err.splitlines() if line.startswith(str(path))]
    assert [line.split(": ")[0].rsplit(":", 2)[1] for line in firsts] == ["2", "3", "5", "6"]
    assert main(["check", "--max-errors", "2", str(path)]) == 1
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if line.startswith(f"{path}:") and line.endswith("]")]) == 2
    assert err.splitlines()[-1] == f"{path}: ... and 2 more (--max-errors N shows more)"


@pytest.mark.parametrize("style", ["json", "sarif", "github"])
def test_every_error_format_has_them_all(tmp_path, capsys, style):
    path = tmp_path / "net.cnn"
    path.write_text(SUITE["names and references"][0])
    assert main(["check", "--error-format", style, str(path)]) == 1
    out = capsys.readouterr().out
    if style == "json":
        assert [(r["line"], r["code"]) for r in json.loads(out)] == [(3, "E600"), (5, "E301"), (6, "E201"), (7, "E202")]
    elif style == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        assert [r["ruleId"] for r in results] == ["E600", "E301", "E201", "E202"]
    else:
        assert [line.split(",")[1] for line in out.splitlines()] == ["line=3", "line=5", "line=6", "line=7"]


def test_summary_reports_all_of_them_too():
    text = SUITE["syntax, twice"][0]
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "summary", "-"], input=text, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 1 and result.stdout == ""
    assert [line.split(": ")[0] for line in result.stderr.splitlines() if line.startswith("<stdin>:")] == [
        "<stdin>:2:11",
        "<stdin>:4:25",
        "<stdin>:7:15",
    ]
