"""Every command on a model with `input ?x?x3`, in every output format: an answer or a located refusal, never a bug."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from cnndsl.cli import INTERNAL, main

TEXT = "input ?x?x3\nconv 8 3 same relu\nmaxpool 2\nconv 16 3\ngap\ndense 10 softmax\n"
OTHER = "input ?x?x3\nconv 8 3 same relu\nmaxpool 2\nconv 32 3\ngap\ndense 10 softmax\n"

COMMANDS = [
    *(["summary", "--format", f] for f in ("table", "markdown", "csv", "json", "html")),
    ["summary", "--json", "--all"],
    ["summary", "--style", "torchinfo"],
    ["summary", "--depth", "1", "--format", "markdown"],
    ["check"],
    *(["check", "--error-format", f] for f in ("json", "sarif", "github")),
    ["check", "--max-macs", "1G", "--error-format", "json"],
    ["explain"],
    ["explain", "--flops"],
    ["flops"],
    ["emit", "--keras"],
    ["emit", "--pytorch"],
    ["diagram", "--format", "dot"],
    ["diagram", "--format", "mermaid"],
    ["fmt"],
]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path):
    a, b = tmp_path / "a.cnn", tmp_path / "b.cnn"
    a.write_text(TEXT, encoding="utf-8")
    b.write_text(OTHER, encoding="utf-8")
    return str(a), str(b)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command(command, files):
    code, out, err = run([*command, files[0]])
    assert code in (0, 1), err
    assert "Traceback" not in out + err and "internal error" not in err
    if "json" in command or "sarif" in command:
        json.loads(out) if out.strip() else None


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_diff_of_unknown_sizes(files, json_flag):
    code, out, err = run(["diff", *json_flag, *files])
    assert code == 1 and code != INTERNAL, err
    if json_flag:
        totals = json.loads(out)["totals"]
        # the MACs depend on the unknown size: no figure, and so no change, rather than a number
        assert totals["total_macs"] == {"before": None, "after": None, "change": None}
        # parameters do not depend on it: conv 16 -> 32 on 8 channels, 3x3, and the dense after it
        assert totals["total_params"]["change"] == (3 * 3 * 8 * 32 + 32 + 32 * 10 + 10) - (
            3 * 3 * 8 * 16 + 16 + 16 * 10 + 10
        )
