"""summary's table fits the terminal: --width, $COLUMNS on a terminal, the whole table down a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cnndsl.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
TWO_HEADS = str(ROOT / "examples" / "two_heads.cnn")
LENET = str(ROOT / "examples" / "lenet.cnn")


def table(capsys, *args: str) -> list[str]:
    assert main(["summary", *args]) == 0
    return capsys.readouterr().out.splitlines()


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line[1:-1].split("│")]


def test_width_cuts_the_widest_text_column_with_an_ellipsis_and_keeps_every_number(capsys):
    whole = table(capsys, TWO_HEADS)
    assert max(map(len, whole)) > 80  # the case: 103 columns
    fitted = table(capsys, "--width", "80", TWO_HEADS)
    assert max(map(len, fitted)) <= 80 and len(fitted) == len(whole)
    rows = [(_cells(a), _cells(b)) for a, b in zip(whole, fitted) if a.startswith("│")]
    assert any(b[0].endswith("…") for _, b in rows)
    for a, b in rows:
        assert b[2] == a[2]  # Param #: never cut
        assert all(x == y or (y.endswith("…") and x.startswith(y[:-1])) for x, y in zip(a, b))
    assert whole[-3:] == fitted[-3:]  # the footer


def test_never_below_a_readable_minimum(capsys):
    lines = table(capsys, "--width", "10", "--ascii", LENET)
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    assert header == ["Layer (type)", "Output Shape", "Param #"]  # 12 characters each: not cut further
    assert "| conv2d (C... | (None, 28... |     608 |" in lines  # ASCII's ellipsis; LeNet's 608 (seed 003)


def _on_a_terminal(columns: str, *args: str) -> list[str]:
    """summary's lines when its standard output is a terminal (a pseudo-terminal) with $COLUMNS set."""
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": columns, "PYTHONIOENCODING": "utf-8"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cnndsl", "summary", *args], stdout=follower, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert process.wait() == 0, process.stderr.read()
    return out.decode().replace("\r\n", "\n").splitlines()


def test_a_terminal_gets_its_width_and_a_pipe_the_whole_table(capsys):
    assert max(map(len, _on_a_terminal("80", TWO_HEADS))) <= 80
    assert _on_a_terminal("200", TWO_HEADS) == table(capsys, TWO_HEADS)  # wide enough: nothing cut
    piped = subprocess.run(
        [sys.executable, "-m", "cnndsl", "summary", TWO_HEADS],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "80", "PYTHONIOENCODING": "utf-8"}, cwd=ROOT,
    )  # fmt: skip
    assert piped.stdout.splitlines() == table(capsys, TWO_HEADS)
