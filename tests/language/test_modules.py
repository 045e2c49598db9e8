"""`use "blocks.cnn"`: the defs, params and lets of another file, and every way following it can fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import cnndsl
from cnndsl import render
from cnndsl.cli import main
from cnndsl.core.errors import CnnError, UseProblem
from cnndsl.core.limits import MAX_USE_DEPTH, MAX_USED_FILES
from cnndsl.views.summary import summary_dict

BLOCKS = """\
param width = 1.0
let base = divisible(32 * width, 8)

def cbr(c, s=1):
    conv c 3 stride s same nobias | bn | relu
"""

NET = """\
use "blocks.cnn"
input 32x32x3
cbr(base)
cbr(base * 2, s=2)
gap | dense 10 softmax
"""

INLINE = BLOCKS + NET.replace('use "blocks.cnn"\n', "")


def figures(model) -> list:
    """Each layer's name, type, shape and counts (not its lines: the two texts differ in those)."""
    keys = ("name", "type", "output_shape", "params", "trainable_params", "macs", "inputs")
    return [{key: layer.get(key) for key in keys} for layer in summary_dict(model)["layers"]]


def write(folder: Path, **files: str) -> Path:
    for name, text in files.items():
        path = folder / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def analyze_file(path: Path, **params):
    return cnndsl.analyze(path.read_text(encoding="utf-8"), str(path), params=params or None)


def error_of(path: Path, **params) -> CnnError:
    with pytest.raises(CnnError) as caught:
        analyze_file(path, **params)
    return caught.value


def test_a_used_files_defs_params_and_lets_give_the_model_written_in_one_file(tmp_path):
    write(tmp_path, **{"blocks.cnn": BLOCKS, "net.cnn": NET})
    for params in ({}, {"width": 0.5}, {"width": 1.75}):
        used = analyze_file(tmp_path / "net.cnn", **params)
        inline = cnndsl.analyze(INLINE, str(tmp_path / "net.cnn"), params=params or None)
        assert figures(used) == figures(inline) and used.total == inline.total


def test_the_used_model_has_keras_numbers(tmp_path):
    keras = pytest.importorskip("keras")
    write(tmp_path, **{"blocks.cnn": BLOCKS, "net.cnn": NET})
    model = analyze_file(tmp_path / "net.cnn", width=0.5)  # base = divisible(16, 8) = 16
    layers = keras.layers
    x = inputs = keras.Input((32, 32, 3))
    for filters, stride in ((16, 1), (32, 2)):
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.Activation("relu")(layers.BatchNormalization()(x))
    x = layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    reference = keras.Model(inputs, x)
    assert model.total == reference.count_params()
    assert model.trainable == sum(int(w.numpy().size) for w in reference.trainable_weights)


def test_paths_are_relative_to_the_using_file_and_a_used_file_may_use_another(tmp_path):
    write(
        tmp_path,
        **{
            "lib__conv.cnn": "def c3(c):\n    conv c 3 same relu\n",
            "lib__stage.cnn": 'use "conv.cnn"\nlet wide = 12\ndef stage(c):\n    c3(c) | c3(c) | pool 2\n',
            "models__net.cnn": 'use "../lib/stage.cnn"\nuse "../lib/conv.cnn"\ninput 16x16x3\nstage(wide)\nc3(4)\n',
        },
    )
    model = analyze_file(tmp_path / "models" / "net.cnn")
    # conv 12: 3*3*3*12+12 = 336; conv 12 on 12: 3*3*12*12+12 = 1,308; conv 4 on 12: 3*3*12*4+4 = 436
    assert [n.info.params for n in model.layers if n.keras_type == "Conv2D"] == [336, 1308, 436]
    # the layers of a used file's block carry its file in their spans; the call is in the using file
    first = next(n for n in model.layers if n.keras_type == "Conv2D")
    assert first.span.file is not None and first.span.file.filename.endswith(os.path.join("lib", "conv.cnn"))
    assert first.blocks[0].span.file is None


def test_an_error_inside_a_used_file_is_told_in_that_file_with_a_note_at_the_use(tmp_path):
    write(tmp_path, **{"bad.cnn": "def bad(c):\n    conv c 9x9\n", "net.cnn": 'use "bad.cnn"\ninput 4x4x3\nbad(8)\n'})
    error = error_of(tmp_path / "net.cnn")
    assert (error.span.line, error.span.column) == (2, 12)
    text = render(error, error.source)
    lines = text.splitlines()
    assert lines[0] == f"{tmp_path / 'bad.cnn'}:2:12: kernel 9x9 is larger than its 4x4 input [E300]"
    assert "2 |     conv c 9x9" in text
    assert f"{tmp_path / 'net.cnn'}:3:1: note: in block `bad`, called here" in text
    assert f"{tmp_path / 'net.cnn'}:1:1: note: `bad.cnn` is used here" in text


def test_a_syntax_error_and_a_bad_let_in_a_used_file_point_into_it(tmp_path):
    write(
        tmp_path,
        **{
            "syntax.cnn": "def f(:\n",
            "zero.cnn": "let a = 1\nlet b = a / 0\n",
            "a.cnn": 'use "syntax.cnn"\ninput 8x8x3\nconv 4 3\n',
            "b.cnn": 'use "zero.cnn"\ninput 8x8x3\nconv 4 3\n',
        },
    )
    syntax = error_of(tmp_path / "a.cnn")
    assert syntax.span.file.filename == str(tmp_path / "syntax.cnn") and syntax.span.line == 1
    zero = error_of(tmp_path / "b.cnn")
    assert zero.span.file.filename == str(tmp_path / "zero.cnn") and zero.span.line == 2
    assert "note: `zero.cnn` is used here" in render(zero, zero.source)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "`blocks.cnn` does not exist"),
        ({"blocks.cnn": 'use "net.cnn"\n'}, "a cycle of `use`: net.cnn -> blocks.cnn -> net.cnn"),
        ({"blocks.cnn": 'use "blocks.cnn"\n'}, "a cycle of `use`: net.cnn -> blocks.cnn -> blocks.cnn"),
        ({"blocks.cnn": "input 8x8x3\n"}, "a used file holds `def`, `param`, `let` and `use` lines; this line adds layers"),
        ({"blocks.cnn": "def f():\n    relu\n", "extra.cnn": ""}, None),
    ],
)
def test_a_missing_file_or_a_cycle_is_a_located_error_at_the_use(tmp_path, files, message):
    write(tmp_path, **files, **{"net.cnn": 'use "blocks.cnn"\ninput 8x8x3\nconv 4 3\n'})
    if message is None:
        assert analyze_file(tmp_path / "net.cnn").total == 3 * 3 * 3 * 4 + 4
        return
    error = error_of(tmp_path / "net.cnn")
    assert message in error.message
    where = error.span.file.filename if error.span.file else str(tmp_path / "net.cnn")
    assert os.path.basename(where) in ("net.cnn", "blocks.cnn")
    assert error.span.line == 1


def test_only_regular_cnn_files_are_read_and_never_quoted_otherwise(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2_password\n")
    (tmp_path / "link.cnn").symlink_to(secret)
    (tmp_path / "folder.cnn").mkdir()
    cases = {
        'use "secret.txt"': "reads only .cnn files",
        'use "/etc/passwd"': "reads only .cnn files",
        'use "link.cnn"': "leads to a file whose name does not end in .cnn",
        'use "folder.cnn"': "is a folder",
        'use "/dev/null"': "reads only .cnn files",
    }
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.cnn")  # reading it would wait for a writer forever
        cases['use "fifo.cnn"'] = "is not a regular file"
    for line, message in cases.items():
        (tmp_path / "net.cnn").write_text(f"{line}\ninput 8x8x3\nconv 4 3\n")
        error = error_of(tmp_path / "net.cnn")
        assert isinstance(error, UseProblem) and message in error.message, line
        text = render(error, error.source)
        assert "hunter2" not in text and (error.span.line, error.span.column) == (1, 1)


def test_without_a_file_name_a_use_is_a_located_error(tmp_path):
    for filename in ("<input>", "<stdin>"):
        with pytest.raises(UseProblem) as caught:
            cnndsl.analyze('use "blocks.cnn"\ninput 8x8x3\nconv 4 3\n', filename)
        assert "cannot read files here" in caught.value.message and caught.value.span.line == 1


def test_the_playground_has_no_files_and_says_so(tmp_path, monkeypatch):
    from cnndsl.tools.playground import Playground

    write(tmp_path, **{"blocks.cnn": BLOCKS})
    monkeypatch.chdir(tmp_path)  # even with a blocks.cnn beside it, the page reads no file
    result = Playground().analyse(NET)
    [diagnostic] = result["diagnostics"]
    assert "playground has no files" in diagnostic["message"]
    assert result["model"] is None


def test_the_bounds_on_used_files(tmp_path):
    chain = {f"f{i}.cnn": f'use "f{i + 1}.cnn"\n' for i in range(MAX_USE_DEPTH + 1)}
    chain[f"f{MAX_USE_DEPTH + 1}.cnn"] = "let x = 1\n"
    write(tmp_path, **chain, **{"net.cnn": 'use "f0.cnn"\ninput 8x8x3\nconv 4 3\n'})
    error = error_of(tmp_path / "net.cnn")
    assert f"more than {MAX_USE_DEPTH} deep" in error.message
    many = {f"m{i}.cnn": f"let v{i} = {i}\n" for i in range(MAX_USED_FILES + 1)}
    uses = "".join(f'use "m{i}.cnn"\n' for i in range(MAX_USED_FILES + 1))
    write(tmp_path, **many, **{"wide.cnn": uses + "input 8x8x3\nconv 4 3\n"})
    error = error_of(tmp_path / "wide.cnn")
    assert f"more than {MAX_USED_FILES} files" in error.message
    assert error.span.line == MAX_USED_FILES + 1


def test_names_from_two_files_do_not_clash_silently(tmp_path):
    write(
        tmp_path,
        **{
            "a.cnn": "param width = 1\ndef f(c):\n    conv c 1\n",
            "b.cnn": "def f(c):\n    conv c 3\n",
            "blocks.cnn": "param width = 2\n",
            "two.cnn": 'use "a.cnn"\nuse "b.cnn"\ninput 8x8x3\nf(4)\n',
            "own.cnn": 'use "a.cnn"\ndef f(c):\n    conv c 3\ninput 8x8x3\nf(4)\n',
            "params.cnn": 'use "a.cnn"\nuse "blocks.cnn"\ninput 8x8x3\nconv 4 3\n',
            "twice.cnn": 'use "a.cnn"\nuse "a.cnn"\ninput 8x8x3\nf(4)\n',
        },
    )
    assert "block `f` is defined twice" in error_of(tmp_path / "two.cnn").message
    own = error_of(tmp_path / "own.cnn")
    assert own.span.file is None and own.span.line == 2 and "a.cnn, line 2" in own.message
    assert "`width` is already defined" in error_of(tmp_path / "params.cnn").message
    assert analyze_file(tmp_path / "twice.cnn").total == 3 * 4 + 4  # one file used twice is read once


def test_set_reaches_a_used_files_param_and_an_unknown_name_is_still_refused(tmp_path):
    write(tmp_path, **{"blocks.cnn": BLOCKS, "net.cnn": NET})
    assert analyze_file(tmp_path / "net.cnn", width=0.5).total < analyze_file(tmp_path / "net.cnn").total
    assert main(["check", "--set", "widht=2", str(tmp_path / "net.cnn")]) == 2


def test_every_command_works_on_a_file_that_uses_another(tmp_path, capsys):
    write(tmp_path, **{"blocks.cnn": BLOCKS, "net.cnn": NET})
    net = str(tmp_path / "net.cnn")
    for argv in (
        ["summary", net],
        ["summary", "--depth", "1", net],
        ["summary", "--format", "json", net],
        ["explain", net],
        ["check", net],
        ["diff", net, net],
        ["fmt", "--check", net],
        ["emit", "--keras", net, "-o", str(tmp_path / "net_keras.py")],
        ["emit", "--pytorch", net, "-o", str(tmp_path / "net_torch.py")],
    ):
        assert main(argv) == 0, argv
    out = capsys.readouterr().out
    assert "cbr(32)" in out and "blocks.cnn line 5" in out  # the block call, and explain's place in the used file
    assert main(["fmt", net]) == 0
    assert capsys.readouterr().out.startswith('use "blocks.cnn"\n')


def test_error_formats_name_the_used_file(tmp_path, capsys):
    import json

    write(tmp_path, **{"bad.cnn": "def bad(c):\n    conv c 9x9\n", "net.cnn": 'use "bad.cnn"\ninput 4x4x3\nbad(8)\n'})
    assert main(["check", "--error-format", "json", str(tmp_path / "net.cnn")]) == 1
    [record] = json.loads(capsys.readouterr().out)
    assert record["file"] == str(tmp_path / "bad.cnn") and record["line"] == 2
    assert [(n["file"], n["line"]) for n in record["notes"]] == [(str(tmp_path / "net.cnn"), 3), (str(tmp_path / "net.cnn"), 1)]
    assert main(["check", "--error-format", "sarif", str(tmp_path / "net.cnn")]) == 1
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("bad.cnn")


def test_every_error_of_a_file_that_uses_a_broken_one(tmp_path):
    write(tmp_path, **{"bad.cnn": "def bad(c):\n    conv c 9x9\n", "net.cnn": 'use "bad.cnn"\ninput 4x4x3\nbad(8)\ncovn 4\n'})
    diagnosis = cnndsl.diagnose((tmp_path / "net.cnn").read_text(), str(tmp_path / "net.cnn"))
    places = [(e.span.file.filename if e.span.file else "net", e.span.line) for e in diagnosis.errors]
    assert places == [("net", 4), (str(tmp_path / "bad.cnn"), 2)]


def test_random_edits_of_a_used_file_give_a_model_or_a_located_error(tmp_path, capsys):
    """Plain `random` with fixed seeds: each input is named by its seed for good."""
    import random
    import re

    pieces = re.findall(r"\w+|\s+|.", BLOCKS)
    words = ["use", '"net.cnn"', '"blocks.cnn"', "def", "let", "param", "(", ")", ":", "\n", "    ", "x", "1e999", "/ 0"]
    (tmp_path / "net.cnn").write_text(NET)
    for seed in range(150):
        rng = random.Random(seed)
        edited = list(pieces)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(edited))
            choice = rng.random()
            if choice < 0.4:
                del edited[at]
            elif choice < 0.7:
                edited.insert(at, rng.choice(words))
            else:
                edited[at] = rng.choice(pieces)
        (tmp_path / "blocks.cnn").write_text("".join(edited))
        status = main(["check", str(tmp_path / "net.cnn")])
        err = capsys.readouterr().err
        assert status in (0, 1), (seed, err)
        if status == 1:
            first = err.splitlines()[0]
            assert re.match(r"^\S+\.cnn:\d+:\d+: ", first) or first.startswith("cnndsl:"), (seed, err)
            assert "Traceback" not in err and "internal error" not in err, (seed, err)


def test_a_bomb_in_a_used_file_stops_at_the_bound(tmp_path):
    levels = "".join(f"def b{i}():\n    b{i - 1}() | b{i - 1}() | b{i - 1}()\n" for i in range(1, 16))
    write(tmp_path, **{"bomb.cnn": "def b0():\n    identity\n" + levels, "net.cnn": 'use "bomb.cnn"\ninput 8x8x3\nb15()\n'})
    error = error_of(tmp_path / "net.cnn")
    assert error.code == "E900" and error.span.file is None and error.span.line == 3  # at the outermost call
