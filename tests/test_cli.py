"""The command line: output, exit codes (0 ok, 1 model error, 2 usage), error format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.cli import main

ROOT = Path(__file__).resolve().parent.parent
LENET = ROOT / "examples" / "lenet.cnn"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cnndsl", *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_main_called_in_a_program_gives_the_collector_back(capsys, tmp_path):
    """A command froze its model out of the collector's sight and left it off: fine for the process it ends,
    but a program that calls main again and again (the fuzzing campaign) kept every later cycle, 80 MB per
    1,000 inputs, and grew to 15 GB."""
    import gc

    path = tmp_path / "net.cnn"
    path.write_text("input 8x8x3\nconv 4 3 | relu\n")
    assert gc.isenabled()
    for command in (["check"], ["summary"], ["emit", "--pytorch"]):
        assert main([*command, str(path)]) == 0
        assert gc.isenabled() and gc.get_freeze_count() == 0, command
    capsys.readouterr()


def test_summary_footer_is_exactly_keras_form():
    # The footer of the LeNet tutorial's Keras 3 summary (seed 003: 62,958 params).
    result = run("summary", str(LENET))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-3:] == [
        " Total params: 62,958 (245.93 KB)",
        " Trainable params: 62,958 (245.93 KB)",
        " Non-trainable params: 0 (0.00 B)",
    ]


def test_summary_rows_carry_keras_names_types_and_shapes(capsys):
    assert main(["summary", str(LENET)]) == 0
    out = capsys.readouterr().out
    for name, shape, params in [
        ("conv2d (Conv2D)", "(None, 28, 28, 8)", "608"),
        ("max_pooling2d (MaxPooling2D)", "(None, 14, 14, 8)", "0"),
        ("conv2d_1 (Conv2D)", "(None, 10, 10, 16)", "3,216"),
        ("flatten (Flatten)", "(None, 400)", "0"),
        ("dense (Dense)", "(None, 120)", "48,120"),
        ("dense_2 (Dense)", "(None, 10)", "850"),
    ]:
        row = next(line for line in out.splitlines() if name in line)
        cells = [cell.strip() for cell in row.strip("│").split("│")]
        assert cells == [name, shape, params]


def test_macs_column_and_total(capsys):
    # LeNet by hand: output positions x kernel volume x input channels x filters, and in x out for dense.
    by_hand = {
        "conv2d (Conv2D)": 28 * 28 * (5 * 5 * 3) * 8,
        "max_pooling2d (MaxPooling2D)": 0,
        "conv2d_1 (Conv2D)": 10 * 10 * (5 * 5 * 8) * 16,
        "dense (Dense)": 400 * 120,
        "dense_1 (Dense)": 120 * 84,
        "dense_2 (Dense)": 84 * 10,
    }
    assert main(["summary", "--macs", str(LENET)]) == 0
    out = capsys.readouterr().out.splitlines()
    for name, macs in by_hand.items():
        row = next(line for line in out if name in line)
        assert row.strip("│").split("│")[-1].strip() == f"{macs:,}"
    assert out[-1] == " Total MACs: 849,320 (849.32 K per example)"
    assert sum(by_hand.values()) == 849_320


def test_batch_size_replaces_none(capsys):
    assert main(["summary", "--batch", "32", str(LENET)]) == 0
    assert "(32, 28, 28, 8)" in capsys.readouterr().out


def test_json_has_layers_and_totals(capsys):
    assert main(["summary", "--json", str(LENET)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 62_958
    assert data["trainable_params"] == 62_958
    assert data["non_trainable_params"] == 0
    first = data["layers"][0]
    assert {
        k: first[k] for k in ("name", "type", "output_shape", "params", "trainable_params", "non_trainable_params")
    } == {
        "name": "conv2d",
        "type": "Conv2D",
        "output_shape": [None, 28, 28, 8],
        "params": 608,
        "trainable_params": 608,
        "non_trainable_params": 0,
    }


def test_json_batch_and_non_trainable():
    result = run("summary", "--json", "--batch", "4", "-", stdin="input 8x8x3 | conv 4 3 | bn\n")
    data = json.loads(result.stdout)
    assert data["layers"][-1]["output_shape"] == [4, 6, 6, 4]
    # bn on 4 channels: gamma, beta trainable; moving mean and variance not.
    assert (data["trainable_params"], data["non_trainable_params"]) == ((3 * 3 * 3 + 1) * 4 + 8, 8)


def test_stdin_and_check():
    assert run("check", "-", stdin="input 8x8x3 | conv 4 3\n").returncode == 0
    result = run("check", str(LENET))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_model_error_exits_1_with_file_line_col_caret_and_hint(tmp_path):
    bad = tmp_path / "bad.cnn"
    bad.write_text("input 4x4x3\nconv 8 5x5\n")
    result = run("summary", str(bad))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{bad}:2:8: kernel 5x5 is larger than its 4x4 input [E300]"
    assert lines[2] == "2 | conv 8 5x5"
    assert lines[3] == "  |        ^^^"
    assert lines[4] == "hint: input is 4x4 here; use `same` or a kernel of at most 4"
    assert "Traceback" not in result.stderr


def test_unknown_layer_suggests(tmp_path):
    bad = tmp_path / "typo.cnn"
    bad.write_text("input 28x28x1\nconv 8 3\nmaxpol 2\n")
    result = run("check", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"{bad}:3:1: unknown layer `maxpol` [E200]"
    assert "hint: did you mean `maxpool`?" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["summary", "--bogus", "x.cnn"],
        ["summary"],
        ["frobnicate", "x.cnn"],
        ["summary", "--batch", "0", "examples/lenet.cnn"],
        ["emit", "examples/lenet.cnn"],
        ["summary", "does/not/exist.cnn"],
    ],
)
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_file_exits_2(tmp_path):
    binary = tmp_path / "binary.cnn"
    binary.write_bytes(b"input 8\n\xff\xfe")
    result = run("check", str(binary))
    assert result.returncode == 2
    assert result.stderr == f"cnndsl: cannot read {binary}: not UTF-8 text (byte 0xff at offset 8)\n"


def test_a_bad_flag_shows_the_commands_own_usage():
    result = run("summary", "--bogus", str(LENET))
    assert result.stderr.startswith("usage: cnndsl summary ")
    assert result.stderr.splitlines()[-1] == "cnndsl summary: error: unrecognized arguments: --bogus"


def test_check_takes_several_files_and_reports_each(tmp_path):
    (tmp_path / "a.cnn").write_text("input 4x4x3\nconv 8 5\n")
    (tmp_path / "b.cnn").write_text("input 4x4x3\nconvv 8 3\n")
    result = run("check", str(LENET), str(tmp_path / "a.cnn"), str(tmp_path / "b.cnn"))
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line.startswith(str(tmp_path))] == [
        f"{tmp_path / 'a.cnn'}:2:8: kernel 5x5 is larger than its 4x4 input [E300]",
        f"{tmp_path / 'b.cnn'}:2:1: unknown layer `convv` [E200]",
    ]
    assert run("check", str(LENET), str(tmp_path / "missing.cnn")).returncode == 2


def test_a_reader_that_stops_early_is_not_an_error():
    # `| head -1`: the reader closes the pipe long before a 176-row table is written.
    command = [sys.executable, "-m", "cnndsl", "summary", str(ROOT / "examples" / "resnet50.cnn")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT) as process:
        assert process.stdout.readline() == b'Model: "resnet50"\n'
        process.stdout.close()
        assert process.wait(timeout=60) == 0
        assert process.stderr.read() == b""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_reported_with_exit_2():
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "cnndsl", "emit", "--keras", str(LENET)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr == "cnndsl: cannot write to standard output: No space left on device\n"


def test_layers_lists_every_keyword():
    result = run("layers")
    assert result.returncode == 0
    for keyword in ("conv", "dwconv", "sepconv", "deconv", "maxpool", "avgpool", "gap", "gmp", "bn", "zeropad"):
        assert any(line.startswith(keyword) for line in result.stdout.splitlines()), keyword



def test_layers_shows_the_layers_named_by_keyword_or_alias():
    result = run("layers", "conv2d", "pool")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == ["conv", "maxpool"]
    assert "    usage: conv FILTERS KERNEL" in result.stdout
    wrong = run("layers", "convv")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.endswith("cnndsl layers: error: no layer 'convv'; did you mean 'conv'?\n")

# What `summary` must not import: the frameworks, the other commands, and
# modules only a failure or another output format needs. Lark itself is not
# needed either: the parser ships in the package (cnndsl/_generated_parser.py),
# and a file that parses needs only its tables (cnndsl/_parse_tables.py).
# Nor the standard dataclasses module, and `inspect` with it (cnndsl/_dataclass.py).
NOT_FOR_SUMMARY = {
    "torch", "keras", "numpy", "tensorflow", "jax", "lark", "pygments",
    "difflib", "pickle", "logging", "json", "csv", "html", "unicodedata", "subprocess", "shutil",
    "cnndsl.emit.keras", "cnndsl.emit.pytorch", "cnndsl.views.explain", "cnndsl.views.diagram", "cnndsl.model.memory",
    "cnndsl.views.reference", "cnndsl.views.diagnostics", "cnndsl.port", "cnndsl.language.parser_build", "cnndsl.tools.highlight",
    "cnndsl.build.catalogue", "cnndsl.language._generated_parser", "dataclasses", "inspect", "fractions", "typing",
    "argparse", "gettext", "locale",
}  # fmt: skip


def _command_parsers(parser):
    (commands,) = (action for action in parser._actions if action.dest == "command")
    return commands.choices


def _options(parser):
    return [
        (a.option_strings, a.dest, a.default, a.choices, a.nargs, a.required, a.type, a.const)
        for a in parser._actions
        if a.dest != "help"
    ] + sorted((k, v) for k, v in parser._defaults.items() if k != "command_parser")


def test_a_command_built_alone_has_the_options_of_the_full_parser():
    # main() builds only the parser of the command on its line; each must be the one the full parser holds.
    from cnndsl.cli import build_parser

    full = _command_parsers(build_parser())
    assert len(full) >= 10
    for name, command in full.items():
        alone = _command_parsers(build_parser(name))
        assert list(alone) == [name]
        assert alone[name].format_help() == command.format_help(), name
        assert _options(alone[name]) == _options(command), name
    assert list(_command_parsers(build_parser("not-a-command"))) == list(full)


def test_summary_does_not_import_heavy_frameworks():
    # -S: site's own imports (shutil among them on some Pythons) would hide the same imports made by summary;
    # the paths are set by hand instead, the repository first.
    paths = [str(ROOT), *(p for p in sys.path if p)]
    code = (
        f"import sys; sys.path[:] = {paths!r}; before = set(sys.modules); from cnndsl.cli import main;"
        "main(['summary', 'examples/lenet.cnn']); sys.stderr.write(repr(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    imported = set(eval(result.stderr))  # noqa: S307 - our own repr of a list of names
    assert "cnndsl.views.summary" in imported
    assert sorted(imported & NOT_FOR_SUMMARY) == []


def test_check_imports_only_what_it_uses(tmp_path):
    # A pre-commit hook runs `check` on every commit: no dataclasses (inspect), no Decimal without a budget,
    # and no TOML parser for a pyproject.toml that cannot hold a [tool.cnndsl] table.
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 99\n", encoding="utf-8")
    model = tmp_path / "lenet.cnn"
    model.write_text(LENET.read_text(encoding="utf-8"), encoding="utf-8")
    paths = [str(ROOT), *(p for p in sys.path if p)]
    code = (
        f"import sys; sys.path[:] = {paths!r}; before = set(sys.modules); from cnndsl.cli import main;"
        f"status = main(['check', {str(model)!r}]); sys.stderr.write(repr((status, sorted(set(sys.modules) - before))))"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    status, imported = eval(result.stderr)  # noqa: S307 - our own repr
    assert status == 0 and "cnndsl.tools.budgets" in imported
    assert sorted(set(imported) & (NOT_FOR_SUMMARY | {"decimal", "tomllib", "tomli"})) == []


PLAIN_LINES = [
    ["summary", "examples/lenet.cnn"],
    ["check", "a.cnn"],
    ["check", "a.cnn", "b.cnn", "c.cnn"],
    ["explain", "x.cnn"],
    ["flops", "x.cnn"],
    ["diff", "a.cnn", "b.cnn"],
    ["fmt", "a.cnn", "b.cnn"],
    ["lsp"],
    ["summary", "a.cnn", "--json"],
    ["summary", "--macs", "--ascii", "a.cnn"],
    ["emit", "--pytorch", "examples/resnet50.cnn"],
    ["emit", "x.cnn", "--torch"],
    ["emit", "--keras", "--keras", "x.cnn"],
    ["explain", "--flops", "x.cnn"],
]


@pytest.mark.parametrize("argv", PLAIN_LINES, ids=lambda argv: " ".join(argv))
def test_a_line_without_options_reads_as_argparse_reads_it(argv):
    from cnndsl import cli

    plain = cli._plain_arguments(argv)
    assert plain is not None, "this line should take the path without argparse"
    parsed = cli.build_parser(argv[0]).parse_args(argv)
    expected = {key: value for key, value in vars(parsed).items() if key != "command_parser"}
    assert {key: value for key, value in vars(plain).items() if key != "command_parser"} == expected


@pytest.mark.parametrize(
    "argv",
    [[], ["summary"], ["summary", "a.cnn", "b.cnn"], ["summary", "-"], ["summary", "--jso", "a.cnn"], ["check"],
     ["diff", "a.cnn"], ["diff", "a.cnn", "--json", "b.cnn"], ["emit", "a.cnn"], ["emit", "--keras", "--pytorch", "a.cnn"],
     ["emit", "--keras", "-o", "out.py", "a.cnn"], ["summary", "--", "a.cnn"], ["layers"], ["layers", "conv"], ["import", "m.keras"], ["nosuch", "a"]],
    ids=lambda argv: " ".join(argv) or "nothing",
)  # fmt: skip
def test_any_other_line_goes_to_argparse(argv):
    from cnndsl import cli

    assert cli._plain_arguments(argv) is None


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["summary", "check", "emit", "explain", "diff", "fmt", "flops"]),
    st.lists(
        st.sampled_from(["a.cnn", "b.cnn", "-", "--", "--json", "--macs", "--keras", "--pytorch", "--torch", "--onnx",
                         "--flops", "--check", "--write", "-o", "--jso", "--all"]),
        max_size=5,
    ),
)  # fmt: skip
def test_whenever_the_plain_path_reads_a_line_argparse_reads_it_the_same(command, words):
    from cnndsl import cli

    argv = [command, *words]
    plain = cli._plain_arguments(argv)
    if plain is None:
        return
    parsed, extra = cli.build_parser(command).parse_known_args(argv)
    assert extra == []
    expected = {key: value for key, value in vars(parsed).items() if key != "command_parser"}
    assert {key: value for key, value in vars(plain).items() if key != "command_parser"} == expected


def test_the_plain_paths_parser_is_built_when_an_error_needs_it(capsys):
    from cnndsl import cli

    plain = cli._plain_arguments(["summary", "a.cnn"])
    with pytest.raises(SystemExit) as stop:
        plain.command_parser.error("something is wrong")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: cnndsl summary [-h]") and "cnndsl summary: error: something is wrong" in err


def test_a_missing_file_on_the_plain_path_is_a_usage_error(tmp_path, capsys):
    assert main(["summary", str(tmp_path / "missing.cnn")]) == 2
    assert "missing.cnn" in capsys.readouterr().err
