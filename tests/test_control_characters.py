"""No control character from a user's file, file name or argument reaches a terminal raw.

A comment `# ESC]0;title BEL ESC[2J` quoted with an error would retitle and clear the terminal;
U+202E (RIGHT-TO-LEFT OVERRIDE) would make the quoted line read backwards. rustc and clang quote
such characters escaped; so does every cnndsl report, in every command and error format.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cnndsl
from cnndsl.cli import main
from cnndsl.core.errors import render
from cnndsl.core.source import Source, visible

ROOT = Path(__file__).resolve().parent.parent

# ESC OSC title BEL, clear screen, red; CR (overwrites the line), NUL, DEL, a C1 CSI, bidi overrides
# (a lone CR in a file ends its line, as in Python; it stays in file names and arguments)
HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x1b[31m\x00\x7f\x9b\u202e\u2066\u200b"
# Anything a terminal would act on rather than show: what no report may hold.
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")

GOOD = f"""def stage(c):
    conv c 3 relu
input 16x16x3  # {HOSTILE}
stage(8  # {HOSTILE}
)
conv 4 3 # {HOSTILE}
gap
"""
BAD = f"input 8x8x3\nconv 8 3 relu # {HOSTILE}\nfoo 3 # {HOSTILE}\n"


def test_visible_escapes_each_control_character_as_python_writes_it():
    assert visible("a\x1b[2J\x07\r\x00\x7f\x9b\u202e\u200b b") == r"a\x1b[2J\x07\x0d\x00\x7f\x9b\u202e\u200b b"
    assert visible("é ü 中 ┃") == "é ü 中 ┃"  # printable text is left alone
    assert visible("a\n\tb", keep="\n\t") == "a\n\tb"
    assert visible("a\n\tb") == r"a\x0a\x09b"


def test_a_quoted_line_escapes_the_comment_and_the_caret_stays_under_the_character():
    text = "input 8\ndense \x1b[31m4\n"
    error = cnndsl.diagnose(text).errors[0]
    lines = render(error, Source.of(text, "m.cnn")).split("\n")
    assert lines[2] == r"2 | dense \x1b[31m4"
    # the caret covers the four columns of `\x1b`, where the ESC was
    assert lines[3] == "  |       ^^^^"
    assert not RAW.search("\n".join(lines).replace("\n", ""))


def test_an_error_line_with_a_hostile_comment_and_a_hostile_file_name():
    name = f"e{HOSTILE}.cnn"
    error = cnndsl.diagnose(BAD, name).errors[0]
    shown = render(error, Source.of(BAD, name))
    assert not RAW.search(shown.replace("\n", ""))
    assert r"foo 3 # \x1b]0;PWNED\x07\x1b[2J" in shown
    assert shown.startswith(r"e\x1b]0;PWNED\x07")


def test_views_through_the_api_escape_what_they_quote():
    model = cnndsl.analyze(GOOD)
    for text in (model.explain(), model.summary(depth=1), model.summary()):
        assert not RAW.search(text.replace("\n", ""))
    assert r"input 16x16x3  # \x1b]0;PWNED" in model.explain()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    # a file name with ESC, BEL and U+202E in it (the file system takes all but NUL and /)
    good = folder / "g\x1b]0;T\x07\u202e.cnn"
    good.write_text(GOOD, encoding="utf-8")
    bad = folder / "b\x1b[2J\r\u202e.cnn"
    bad.write_text(BAD, encoding="utf-8")
    return good, bad


COMMANDS = [
    ["check", "{bad}"],
    ["check", "--error-format", "github", "{bad}"],
    ["check", "--error-format", "json", "{bad}"],
    ["check", "--error-format", "sarif", "{bad}"],
    ["summary", "{good}"],
    ["summary", "--depth", "1", "{good}"],
    ["summary", "--format", "markdown", "{good}"],
    ["summary", "--format", "html", "{good}"],
    ["summary", "--format", "csv", "{good}"],
    ["summary", "--json", "{good}"],
    ["summary", "--style", "torchinfo", "{good}"],
    ["summary", "{bad}"],
    ["explain", "{good}"],
    ["explain", "--flops", "{good}"],
    ["explain", "{good}", "no\x1b[2Jsuch"],
    ["flops", "{good}"],
    ["diagram", "{good}"],
    ["diagram", "--format", "mermaid", "{good}"],
    ["diff", "{good}", "{bad}"],
    ["diff", "{good}", "{good}"],
    ["fmt", "--check", "{good}"],
    ["fmt", "--check", "{bad}"],
    ["emit", "--pytorch", "{bad}"],
    ["check", "{good}x\x1b[2J"],  # a file that is not there, named in the message
    ["summary", "--bogus\x1b]0;T\x07", "{good}"],  # a usage error quoting the argument
    ["check", "--set", "x\x1b[2J=1", "{good}"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c).encode("unicode_escape").decode())
def test_no_command_writes_a_control_character(files, command, capsys):
    good, bad = files
    argv = [part.format(good=good, bad=bad) for part in command]
    try:
        main(argv)
    except SystemExit:
        pass  # argparse's own exit after a usage error
    out, err = capsys.readouterr()
    assert not RAW.search(out.replace("\n", "").replace("\t", "")), out
    assert not RAW.search(err.replace("\n", "").replace("\t", "")), err
    assert out or err
    if "json" in command or "sarif" in command or "--json" in command:
        json.loads(out)  # JSON escapes them its own way, and stays JSON


def test_json_keeps_the_exact_file_name(files, capsys):
    _, bad = files
    main(["check", "--error-format", "json", str(bad)])
    assert json.loads(capsys.readouterr().out)[0]["file"] == str(bad)


def test_fmt_writes_a_file_s_bytes_to_a_pipe_and_escapes_them_for_a_terminal(files, monkeypatch, capsys):
    good, _ = files
    main(["fmt", str(good)])
    assert "\x1b]0;PWNED\x07" in capsys.readouterr().out  # `fmt > new.cnn` must keep the comment as it is

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    main(["fmt", str(good)])
    assert not RAW.search(terminal.getvalue().replace("\n", ""))
    assert r"\x1b]0;PWNED\x07" in terminal.getvalue()


def test_the_real_process_writes_no_control_character(files):
    _, bad = files
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 1
    assert not RAW.search(result.stderr.replace("\n", ""))
    assert r"foo 3 # \x1b]0;PWNED\x07\x1b[2J\x1b[31m\x00\x7f\x9b\u202e" in result.stderr
    assert "b\\x1b[2J\\x0d\\u202e.cnn:3:1: unknown layer" in result.stderr
