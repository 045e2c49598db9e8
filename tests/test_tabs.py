"""A tab inside a line is white space like a space; a tab that breaks a block's indentation is a located
error that says "tab", shows it (→) and offers spaces, in the text and JSON formats and the playground."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cnndsl import analyze
from cnndsl.tools.playground import Playground
from cnndsl.views.summary import summary_dict

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnndsl", *args], capture_output=True, cwd=ROOT, timeout=60)


def test_a_tab_after_the_input_is_white_space(tmp_path):
    path = tmp_path / "tab.cnn"
    path.write_text("input 8x8x3\t| conv 8 3\n")
    assert summary_dict(analyze(path.read_text())) == summary_dict(analyze("input 8x8x3 | conv 8 3\n"))
    assert cli("check", str(path)).returncode == 0
    assert cli("fmt", str(path)).stdout == b"input 8x8x3 | conv 8 3\n"


def test_a_tab_among_space_indented_lines_is_located_with_its_fix(tmp_path):
    path = tmp_path / "mixed.cnn"
    text = "def b():\n    relu\n\trelu\ninput 8\nb()\n"
    path.write_text(text)
    done = cli("check", str(path))
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert lines[0] == f"{path}:3:1: this line is indented with a tab, line 2 with spaces [E100]"
    assert lines[2:4] == ["3 | →relu", "  | ^"] and "\t" not in done.stderr.decode()
    assert "indent with spaces only" in lines[4]
    (error,) = json.loads(cli("check", "--error-format", "json", str(path)).stdout)
    assert error["fixes"] == [
        {"title": "Indent with 4 spaces", "line": 3, "column": 1, "end_line": 3, "end_column": 2, "text": "    "}
    ]
    assert cli("fmt", str(path)).returncode == 1
    (shown,) = Playground().analyse(text)["diagnostics"]
    assert "tab" in shown["message"] and shown["fixes"][0]["text"] == "    "
