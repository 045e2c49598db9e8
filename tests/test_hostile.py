"""Hostile input: every bound of cnndsl/limits.py is a located error that says why.

Each class of escape, hang and blow-up that fuzzing found has a case here:
huge and non-finite numbers, sizes past 2^31 and totals past 2^63, bombs
made of identity layers, empty blocks, exponential call trees and wide
merges, and nesting across blocks. The timings behind the bounds are in
benchmarks/bombs.py; these tests assert what is deterministic: the error,
its place, and that expansion stopped.
"""

from __future__ import annotations

import keyword
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from emit_helpers import check_keras, check_torch, load
from located import error_of, where
from test_emit_numeric import max_error

import cnndsl
from cnndsl.core.errors import BadArgument, CnnError, LimitExceeded, render
from cnndsl.core.limits import MAX_AXIS, MAX_LAYERS, MAX_NESTING, MAX_TOTAL, MAX_WORK, WORK_PER_WRITTEN_STAGE
from cnndsl.core.source import Source
from cnndsl.core.writer import BUILTINS, literal
from cnndsl.emit import generate
from cnndsl.emit.keras import KerasTarget
from cnndsl.emit.pytorch import TorchTarget
from cnndsl.language.parse import parse

BIG = "1" + "0" * 309  # past the largest float
HUGE = "1" + "0" * 4300  # past Python's int-to-string limit


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        # numbers too long to convert, or too large to compute with
        (f"input 8\ndropout 0.5+{BIG}", 2, 13, "310 digits"),
        (f"input 8\ndense {BIG}/3", 2, 7, "310 digits"),
        (f"input 8\nrescale {BIG}", 2, 9, "310 digits"),
        (f"input 8\nbn eps {BIG}", 2, 8, "310 digits"),
        (f"input 8\ndense {HUGE}", 2, 7, "4,301 digits"),
        (f"input {HUGE}x8", 1, 7, "4,301 digits"),
        (f"def b(c={HUGE}):\n    dense c\ninput 8\nb()", 1, 9, "4,301 digits"),
        ("input 8\ndense 1e300 | dense 1e300", 2, 7, "larger than 2^63"),
        ("input 8\ndense 9223372036854775807+9223372036854775807", 2, 7, "the result is larger than 2^63"),
        ("input 8\ndef b(c):\n    dense c*c*c\nb(4294967296)", 3, 11, "the result is larger than 2^63"),
        # non-finite floats in every numeric slot
        ("input 8\nrescale 1e999-1e999", 2, 9, "infinite"),
        ("input 8\nrescale 1e999", 2, 9, "infinite"),
        ("input 8\nleakyrelu 1e400", 2, 11, "infinite"),
        ("input 8\nbn momentum -1e999", 2, 13, "infinite"),
        ("input 8\ndef b(c):\n    rescale c-c\nb(1e999)", 4, 3, "infinite"),
        # one size past 2^31: arguments, and shapes that grow
        ("input 8\ndense 2147483649", 2, 7, "`units` is 2,147,483,649, larger than 2^31"),
        ("input 3000000000x3", 1, 7, "larger than 2^31"),
        ("input 8x8x3\nconv 8 3 stride 9999999999", 2, 17, "`stride` is 9,999,999,999"),
        ("input 8x8x3\nupsample 100000x100000 | upsample 100000x100000", 2, 26, "axis of this layer's output"),
        ("input 8\nconcat(identity; identity) * 40", 2, 1, "4,294,967,296, larger than 2^31"),
        ("input 8\n(concat(identity; identity)) * 40", 2, 2, "4,294,967,296, larger than 2^31"),
        # totals past 2^63
        ("input 2000000000x2000000000x4", 1, 1, "the values in this layer's output"),
        (
            "input 2000000000\ndense 2000000000 | dense 2000000000 | dense 2000000000",
            2,
            39,
            "parameters of the network",
        ),
    ],
)
def test_sizes_and_numbers_are_bounded_with_located_errors(text, line, column, words):
    error = error_of(text)
    assert isinstance(error, LimitExceeded), error
    assert where(error) == (line, column), error
    assert words in str(error)
    assert error.hint


def test_the_bounds_are_the_documented_powers_of_two():
    assert (MAX_AXIS, MAX_TOTAL) == (2**31, 2**63)
    assert cnndsl.analyze("input 8\ndense 2147483648").nodes[-1].shape == (2**31,)


def test_a_summary_of_the_largest_sizes_prints(capsys):
    from cnndsl.cli import main

    text = "input 2147483648\ndense 2147483648 | dense 1"
    model = cnndsl.analyze(text)
    assert model.total == 2**31 * 2**31 + 2**31 + 2**31 + 1
    assert model.total < MAX_TOTAL
    # `summary --macs` and `--json` print these in full
    from cnndsl.views.summary import format_summary, summary_dict

    assert "4,611,686,022,722,355,201" in format_summary(model, macs=True)
    assert summary_dict(model)["total_macs"] == 2**62 + 2**31
    del main, capsys


@pytest.mark.parametrize(
    "text, words",
    [
        ("input 8\nreshape target=8", (8,)),
        ("input 8x8x1\nzeropad padding=1", (10, 10, 1)),
        ("input 8x8x1\nzeropad padding=1x2", (10, 12, 1)),
        ("input 8x8x1\ncrop padding=1", (6, 6, 1)),
        ("input 8x8x1\nreshape target=64x1", (64, 1)),
    ],
)
def test_keyword_forms_of_variadic_arguments(text, words):
    assert cnndsl.analyze(text).nodes[-1].shape == words


def test_a_variadic_argument_given_both_ways_is_given_twice():
    error = error_of("input 8x8x1\nreshape 4 -1 target=16")
    assert isinstance(error, BadArgument) and "given twice" in str(error)


# Bombs: tiny files asking for enormous work. Each stops at the outermost repeat or call.


def exponential_calls(levels: int, body: str = "identity") -> str:
    """Each block calls the one before it twice: 2^levels calls of the first."""
    text = f"def b0(): {body}\n"
    text += "".join(f"def b{i}(): b{i - 1}()|b{i - 1}()\n" for i in range(1, levels + 1))
    return text + f"input 8\nb{levels}()\n"


BOMBS = {
    "identity repeat": ("input 8\n(identity) * 1000000000000\n", 2, 1),
    "empty block": ("def e():\n    identity\ninput 8\n(e()) * 99999999\n", 4, 1),
    "empty block called bare": ("def e():\n    identity\ninput 8\ne() * 99999999\n", 4, 1),
    "exponential calls": (exponential_calls(40), 43, 1),
    "exponential calls of layers": (exponential_calls(30, "relu"), 33, 1),
    "wide concat": ("input 8\n(concat(" + "; ".join(["identity"] * 64) + ")) * 99999\n", 2, 1),
    "wide add": ("input 8\n(add(" + ";".join(["identity"] * 100) + ")) * 10000\n", 2, 1),
    "nested repeats": ("input 8\n(((identity) * 1000) * 1000) * 1000\n", 2, 1),
    "repeated conv": ("input 8x8x3\n(conv 8 3 same) * 99999\n", 2, 1),
    "repeat inside a block": ("def r():\n    (relu) * 99999\ninput 8\nr()\n", 4, 1),
}


@pytest.mark.parametrize("name", BOMBS)
def test_bombs_stop_at_the_outermost_repeat_or_call(name):
    text, line, column = BOMBS[name]
    assert len(text.encode()) < 1024
    error = error_of(text)
    assert isinstance(error, LimitExceeded), error
    assert where(error) == (line, column), error
    written = sum(len(pipeline.stages) for pipeline in parse(Source.of(text)).pipelines)
    bounds = {
        f"more than {MAX_WORK + WORK_PER_WRITTEN_STAGE * written:,} steps",
        f"more than {MAX_LAYERS + written:,} layers",
    }
    assert any(bound in error.message for bound in bounds), error
    assert error.called_from == ()  # no notes from inner calls: the place is the outer one
    assert "no real network" in error.hint


def test_layers_written_out_raise_the_bounds():
    """A long file is refused for what its repeats multiply, never for its own length."""
    model = cnndsl.analyze("input 8\n" + "relu\nbn\n" * 6_000)
    assert len(model.layers) == 12_000  # past MAX_LAYERS, all written out
    error = error_of("input 8\n" + "relu\n" * 10 + "(relu) * 20000\n")
    assert isinstance(error, LimitExceeded) and where(error) == (12, 1)
    assert f"more than {MAX_LAYERS + 12:,} layers" in error.message  # input, 10 relus, the repeat


def test_work_within_the_bound_is_fine():
    assert len(cnndsl.analyze("input 8\n(identity) * 1000 | relu").nodes) == 2
    assert len(cnndsl.analyze(exponential_calls(10, "relu")).nodes) == 1 + 2**10
    assert len(cnndsl.analyze("input 8x8x3\n(conv 8 3 same) * 9000").nodes) == 9001


def nested_blocks(blocks: int, brackets: int) -> str:
    """Each block nests `brackets` groups and calls the next inside them."""
    text = ""
    for i in range(blocks):
        inner = f"b{i + 1}()" if i + 1 < blocks else "relu"
        text += f"def b{i}():\n    " + "(" * brackets + inner + ")" * brackets + "\n"
    return text + "input 8\nb0()\n"


@pytest.mark.parametrize("limit", [None, 700])
def test_nesting_across_blocks_is_a_located_error_even_with_a_low_recursion_limit(limit):
    old = sys.getrecursionlimit()
    if limit:
        sys.setrecursionlimit(limit + len(__import__("inspect").stack()))
    try:
        error = error_of(nested_blocks(10, 49))
    finally:
        sys.setrecursionlimit(old)
    assert isinstance(error, LimitExceeded)
    assert f"more than {MAX_NESTING} deep" in error.message
    assert error.span.line > 1 and error.called_from  # inside a block, with the calls that reached it
    assert "note: in block `b0`, called here" in render(error, Source.of(nested_blocks(10, 49), "n.cnn"))


def test_nesting_within_the_bound_is_fine():
    assert len(cnndsl.analyze(nested_blocks(3, 40)).nodes) == 2


# Generated code: no name a user chooses can break or change it.

EMITTER_NAMES = sorted(
    {*BUILTINS, *keyword.kwlist, *keyword.softkwlist, *KerasTarget.RESERVED, *TorchTarget.RESERVED}
    | {"nan", "inf", "math", "np", "output", "model", "AvgPoolSame", "Normalization"}
)


def labelled_network(names: list[str]) -> str:
    """Each name labels a layer whose output two layers read, so it becomes a variable."""
    lines = ["input 6x6x3"]
    for name in names:
        lines.append(f"{name}: relu | add(identity; conv 3 1 same)")
    lines.append("maxpool 2 same | avgpool 2 same | dense 4")
    return "\n".join(lines) + "\n"


def labels_that_parse() -> list[str]:
    usable = []
    for name in EMITTER_NAMES:
        try:
            cnndsl.analyze(labelled_network([name]))
        except CnnError:
            continue  # a cnndsl keyword (`def`, `input`, ...): never a label, so never a variable
        usable.append(name)
    return usable


LABELS = labels_that_parse()


def test_almost_every_emitter_name_can_be_a_label():
    assert len(LABELS) > len(EMITTER_NAMES) - 30
    assert {"float", "nan", "F", "nn", "torch", "keras", "layers", "print", "tuple", "self"} <= set(LABELS)


@pytest.mark.parametrize("chunk", range(0, len(LABELS), 40))
def test_labels_named_like_builtins_keywords_and_modules_give_working_pytorch(chunk, torch):
    model = cnndsl.analyze(labelled_network(LABELS[chunk : chunk + 40]))
    check_torch(model, torch)
    compile(generate(model, "keras"), "<keras>", "exec")


def test_labels_named_like_builtins_give_working_keras(keras):
    model = cnndsl.analyze(labelled_network(["float", "print", "tuple", "keras", "layers", "inputs", "x", "F", "nan"]))
    check_keras(model, keras)


@pytest.mark.parametrize("name", [n for n in EMITTER_NAMES if n.lower() == n][::7] + ["none", "true", "f", "nn"])
def test_file_names_never_give_a_class_name_that_breaks(name, torch):
    model = cnndsl.analyze("input 4x4x2\nmaxpool 2 same | bn | dense 3\n", f"{name}.cnn")
    code = generate(model, "pytorch")
    compile(code, f"{name}.py", "exec")
    check_torch(model, torch)


@pytest.mark.parametrize(
    "file, cls", [("none.cnn", "NoneModel"), ("true.cnn", "TrueModel"), ("f.cnn", "FModel"), ("my_net.cnn", "MyNet")]
)
def test_class_names_that_would_clash_get_model_added(file, cls):
    assert f"class {cls}(nn.Module):" in generate(cnndsl.analyze("input 4\ndense 2", file), "pytorch")


def test_a_nan_is_never_written_as_a_bare_name():
    with pytest.raises(ValueError):
        literal(float("nan"))


@pytest.mark.parametrize(
    "text",
    [
        "input 2x3x4x5\nreshape 2 3 2 2 5 | bn",  # 5 axes: there is no nn.BatchNorm4d
        "input 2x3x4x5\nreshape 2 3 2 2 1 5 | bn noscale | reshape 2 3 4 5 | conv 2 1",
    ],
)
def test_batch_norm_on_five_or_more_axes_matches_keras(text, keras, torch):
    assert max_error(text, keras, torch) < 1e-5


def same_average(x: np.ndarray, size, stride) -> np.ndarray:
    """TF's `same` average pool (channels last, no batch), by its definition: each window's
    mean over the input values inside it; the padding before is half the total, rounded down."""
    spatial = x.shape[:-1]
    out = [-(-n // s) for n, s in zip(spatial, stride)]
    before = [max((o - 1) * s + k - n, 0) // 2 for n, k, s, o in zip(spatial, size, stride, out)]
    result = np.zeros((*out, x.shape[-1]), dtype="float64")
    for index in np.ndindex(*out):
        window = tuple(
            slice(max(i * s - b, 0), min(i * s - b + k, n))
            for i, s, b, k, n in zip(index, stride, before, size, spatial)
        )
        result[index] = x[window].reshape(-1, x.shape[-1]).mean(axis=0)
    return result


@pytest.mark.parametrize(
    "shape, size, stride",
    [((2, 2, 2, 3), (3, 3, 3), (1, 1, 1)), ((2, 1, 2, 3), (3, 2, 5), (2, 2, 2)), ((1, 1, 1, 2), (4, 4, 4), (1, 1, 1))],
)
def test_3d_same_average_pool_smaller_than_its_window_runs_in_pytorch(shape, size, stride, torch):
    # Keras on torch cannot run these (avg_pool3d refuses them), so TF's rule is the witness.
    text = f"input {'x'.join(map(str, shape))}\navgpool {'x'.join(map(str, size))} stride {'x'.join(map(str, stride))} same"
    built = load(generate(cnndsl.analyze(text), "pytorch"), "pool3d").build_model()
    x = np.random.default_rng(3).normal(size=shape).astype("float32")
    with torch.no_grad():
        got = built(torch.from_numpy(x[None]).movedim(-1, 1)).movedim(1, -1).numpy()[0]
    np.testing.assert_allclose(got, same_average(x, size, stride), atol=1e-6)


def test_keras_on_torch_averages_uneven_same_padding_differently_as_the_readme_says(keras, torch):
    """`input 6x1 | avgpool 3 stride 2 same` on 1..6: TF and JAX (and cnndsl) give 2, 4, 5.5."""
    x = np.arange(1, 7, dtype="float32").reshape(1, 6, 1)
    pool = keras.layers.AveragePooling1D(3, strides=2, padding="same")
    assert [round(float(v), 3) for v in keras.ops.convert_to_numpy(pool(x)).ravel()] == [2.0, 4.0, 5.667]
    model = cnndsl.analyze("input 6x1\navgpool 3 stride 2 same")
    built = load(generate(model, "pytorch"), "readme_pool").build_model()
    with torch.no_grad():
        out = built(torch.from_numpy(x).movedim(-1, 1)).numpy().ravel()
    assert out.tolist() == [2.0, 4.0, 5.5]  # (1+2+3)/3, (3+4+5)/3, (5+6)/2: the padding is left out


# The environment: closed streams, a narrow encoding, endless files. Exit 2, one line, no traceback.

ROOT = Path(__file__).resolve().parent.parent
LENET = str(ROOT / "examples" / "lenet.cnn")


def cli(*args: str, stdin=subprocess.DEVNULL, env=None, **options) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cnndsl", *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
        **options,
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_closed_standard_input():
    result = cli("check", "-", pass_fds=(), stdin=None, preexec_fn=lambda: os.close(0))
    assert one_line(result) == "cnndsl: cannot read -: standard input is closed\n"


@pytest.mark.parametrize("command", [("summary", LENET), ("layers",), ("emit", "--keras", LENET)])
def test_closed_standard_output(command):
    process = subprocess.run(
        [sys.executable, "-m", "cnndsl", *command],
        stdout=None,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        preexec_fn=lambda: os.close(1),
        timeout=60,
    )
    assert one_line(process) == "cnndsl: cannot write to standard output: it is closed\n"


@pytest.mark.parametrize(
    "command, words",
    [
        (("summary", LENET), "cannot show U+250F in its encoding, ascii; set PYTHONIOENCODING=utf-8, or use --ascii"),
        (("layers",), "cannot show U+03B1 in its encoding, ascii; set PYTHONIOENCODING=utf-8\n"),
    ],
)
def test_an_ascii_standard_output(command, words):
    result = cli(*command, env={"PYTHONIOENCODING": "ascii"})
    assert words in one_line(result)
    assert result.stdout == ""
    assert cli("summary", "--ascii", LENET, env={"PYTHONIOENCODING": "ascii"}).returncode == 0


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_refused_after_a_bounded_read():
    assert "cannot read /dev/zero: larger than 8 MB" in one_line(cli("check", "/dev/zero"))
    with open("/dev/zero", "rb") as zero:
        assert "cannot read -: larger than 8 MB" in one_line(cli("check", "-", stdin=zero))


def test_invalid_utf8_on_standard_input_is_the_same_usage_error_as_in_a_file(tmp_path):
    data = b"input 8\n\xff\n"
    (tmp_path / "bad.cnn").write_bytes(data)
    from_file = one_line(cli("check", str(tmp_path / "bad.cnn")))
    from_stdin = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", "-"], input=data, capture_output=True, cwd=ROOT
    )
    from_stdin.stderr = from_stdin.stderr.decode()
    assert from_file.endswith(": not UTF-8 text (byte 0xff at offset 8)\n")
    assert one_line(from_stdin) == "cnndsl: cannot read -: not UTF-8 text (byte 0xff at offset 8)\n"


@pytest.mark.parametrize("value", ["9" * 5000, "2147483649"], ids=["5000 digits", "2^31+1"])
def test_a_huge_batch_says_it_is_too_large(value):
    result = cli("summary", "--batch", value, LENET)
    assert result.returncode == 2
    assert "argument --batch: must be at most 2^31 (2,147,483,648)" in result.stderr
    assert "(2147483648, 28, 28, 8)" in cli("summary", "--batch", "2147483648", LENET).stdout


# -o: never over the input, and whole or not at all


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "standard input"])
def test_emit_refuses_to_write_over_its_input(tmp_path, how):
    model = tmp_path / "net.cnn"
    model.write_text(Path(LENET).read_text())
    before = model.read_bytes()
    output = tmp_path / "out.py"
    if how == "same path":
        output = model
    elif how == "symlink":
        output.symlink_to(model)
    elif how == "hard link":
        os.link(model, output)
    if how == "standard input":
        with open(model) as stdin:
            result = cli("emit", "--keras", "-", "-o", str(model), stdin=stdin)
    else:
        result = cli("emit", "--pytorch", str(model), "-o", str(output))
    assert "cnndsl: refusing to write over" in one_line(result)
    assert model.read_bytes() == before


def test_a_failed_write_leaves_the_old_output_whole(tmp_path):
    old = tmp_path / "model.py"
    old.write_text("# the previous output\n")

    def small_files():  # a file-size limit, as a full disk would stop the write part-way
        resource.setrlimit(resource.RLIMIT_FSIZE, (400, 400))

    result = cli("emit", "--pytorch", str(ROOT / "examples" / "resnet50.cnn"), "-o", str(old), preexec_fn=small_files)
    assert one_line(result) == f"cnndsl: cannot write {old}: File too large\n"
    assert old.read_text() == "# the previous output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.py"]  # no temporary file left behind


def test_output_replaces_the_file_a_symlink_names_and_keeps_its_permissions(tmp_path):
    real = tmp_path / "real.py"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert cli("emit", "--keras", LENET, "-o", str(link)).returncode == 0
    assert link.is_symlink() and "def build_model()" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "real.py"]


# Language holes found on the way


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("def identity():\n    relu\ninput 8\nadd(identity; relu)", 1, 5, "`identity` is a layer; a block cannot"),
        ("def f(c, c):\n    dense c\ninput 8\nf(1, 2)", 1, 10, "parameter `c` is listed twice"),
        ("def f(c, d, c=2):\n    dense c\ninput 8\nf(1, 2)", 1, 13, "parameter `c` is listed twice"),
        # a block never called is still checked where it does not depend on its parameters
        ("def unused():\n    convv 8 3\ninput 8\nrelu", 2, 5, "unknown layer `convv`"),
        ("def unused(c):\n    conv c 3 | dropout 2\ninput 8\nrelu", 2, 24, "`rate` must be"),
        ("def unused(c):\n    conv c 3 | add(relu; dense 0)\ninput 8\nrelu", 2, 32, "`units` must be"),
        ("def unused(c):\n    (relu | nope()) * c\ninput 8\nrelu", 2, 13, "no block named `nope`"),
        ("def unused():\n    relu | identity 3\ninput 8\nrelu", 2, 21, "`identity` takes no arguments"),
        ("def a():\n    b()\ndef b():\n    dense 1e999\ninput 8\nrelu", 4, 11, "infinite"),
        # a form feed or U+2028 in a comment is not a line break
        ("input 8\n(relu\n# a \f comment\n", 2, 1, "this `(` is never closed"),
        ("input 8\n(relu\n# a \u2028 comment\n", 2, 1, "this `(` is never closed"),
    ],
)
def test_language_holes_are_located_errors(text, line, column, words):
    error = error_of(text)
    assert where(error) == (line, column), error
    assert words in error.message


def test_an_uncalled_block_that_depends_on_its_parameters_is_accepted():
    model = cnndsl.analyze("def later(c, s=2):\n    conv c 3 stride s | dense c*2\ninput 8\nrelu")
    assert len(model.nodes) == 2


# Every argument of every layer kind, by keyword and with hostile numbers


def _kinds():
    from cnndsl.layers import REGISTRY

    return sorted({cls for cls in REGISTRY.values() if not cls.MERGE}, key=lambda cls: cls.KEYWORDS[0])


INPUTS = ("input 8 int", "input 8", "input 8x4", "input 8x8x4", "input 4x4x4x4")  # token ids first: embedding
SAMPLE = {"IntType": "2", "SizeType": "2", "ShapeType": "8", "FloatType": "0.5", "Flag": "0"}
SAMPLE_FOR = {("chunk", "index"): "1"}  # an index below the number of groups
# Past a bound, every one (2^31 itself is the largest size allowed; a float may exceed 2^31)
HOSTILE_NUMBERS = ["9223372036854775809", "1" + "0" * 309, "1" + "0" * 5000, "1e999", "1e999-1e999", "-1e999"]
HUGE_SIZES = ["2147483649", "4294967296"]


def _line(cls, given: dict[str, str]) -> str:
    words = [cls.KEYWORDS[0]]
    for arg in cls.ARGS:
        if arg.name in given:
            words.append(f"{arg.name}={given[arg.name]}")
        elif arg.positional and arg.required:
            sample = SAMPLE_FOR.get((cls.KEYWORDS[0], arg.name)) or SAMPLE.get(type(arg.type).__name__, "2")
            words.append(f"{arg.name}={sample}")
    return " ".join(words)


def _outcome(line: str) -> str:
    """'model' if some input shape takes the line; else the error of the last try (never an escape)."""
    for first in INPUTS if not line.startswith("input") else ("",):
        try:
            cnndsl.analyze(f"{first}\n{line}\n")
            return "model"
        except CnnError as error:
            assert error.span is not None, error
            last = error
    return type(last).__name__


@pytest.mark.parametrize("cls", _kinds(), ids=lambda cls: cls.KEYWORDS[0])
def test_every_argument_of_every_layer_kind_by_keyword(cls):
    outcomes = [_outcome(_line(cls, {}))]
    for arg in cls.ARGS:
        value = arg.type.choices[0] if hasattr(arg.type, "choices") else SAMPLE.get(type(arg.type).__name__, "2")
        outcomes.append(_outcome(_line(cls, {arg.name: value})))
    assert "model" in outcomes, _line(cls, {})


@pytest.mark.parametrize("cls", _kinds(), ids=lambda cls: cls.KEYWORDS[0])
def test_hostile_numbers_in_every_numeric_slot_are_located_errors(cls):
    numeric = [arg for arg in cls.ARGS if type(arg.type).__name__ in ("IntType", "SizeType", "ShapeType", "FloatType")]
    for arg in numeric:
        floats = type(arg.type).__name__ == "FloatType"
        for number in HOSTILE_NUMBERS + ([] if floats else HUGE_SIZES):
            outcome = _outcome(_line(cls, {arg.name: number}))
            assert outcome in ("LimitExceeded", "BadArgument"), (arg.name, number, outcome)


def test_a_caller_deep_in_its_own_stack_still_gets_a_cnn_error():
    def deep(levels: int):
        if levels:
            return deep(levels - 1)
        return error_of(nested_blocks(3, 45))

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(__import__("inspect").stack()) + 300)
    try:
        error = deep(150)
    finally:
        sys.setrecursionlimit(old)
    assert isinstance(error, LimitExceeded)
    assert "nests too deeply" in error.message


def test_labels_nan_and_inf_never_become_variables():
    code = generate(
        cnndsl.analyze("input 8x8x3\nnan: relu\nadd(identity; conv 3 1)\ninf: relu\nmaxpool 3 stride 2 same"), "pytorch"
    )
    assert "nan_ = F.relu(x)" in code and "x = nan_ + x" in code
    assert not any(line.lstrip().startswith(("nan =", "inf =")) for line in code.splitlines())


def test_a_huge_adaptive_pool_is_worked_out_in_closed_form():
    """Found by the campaign (seed 1063761): `adaptivepool 2147483648` looped over every output."""
    from cnndsl.layers.pool import adaptive_total, adaptive_widest

    for n in range(1, 60):
        for o in range(1, 60):
            widths = [-(-(i + 1) * n // o) - (i * n // o) for i in range(o)]  # PyTorch's windows
            assert (adaptive_widest(n, o), adaptive_total(n, o)) == (max(widths), sum(widths))
    text = "input 6x6x2\nadaptivepool 2147483648\n"
    for command in (["summary", "--json"], ["explain"], ["flops"], ["summary", "--style", "torchinfo"]):
        assert cli(*command, "-", stdin=None, input=text).returncode == 0, command


def test_thop_average_pool_counts_are_worked_out_in_closed_form():
    """`input 2000000000x1 | avgpool 1 stride 1` looped over 2e9 windows in `flops`."""
    from cnndsl.layers.pool import thop_window_sum

    for n in range(1, 25):
        for k in range(1, 7):
            for s in range(1, 5):
                for p in range(k):
                    for out in range(1, max((n + 2 * p - k) // s + 2, 1)):
                        windows = [max(min(i * s - p + k, n) - max(i * s - p, 0), 0) for i in range(out)]
                        assert thop_window_sum(n, k, s, p, out) == sum(windows), (n, k, s, p, out)
    text = "input 2000000000x1\navgpool 1 stride 1\n"
    for command in (["flops"], ["summary", "--style", "torchinfo"]):
        assert cli(*command, "-", stdin=None, input=text).returncode == 0, command


# Issue 25: escapes on inputs with axes of unknown size (`?`).


@pytest.mark.parametrize("shape", ["8x?x3", "?x8x3"])
@pytest.mark.parametrize("layer", ["conv 1 9", "maxpool 9", "dwconv 9"])
def test_a_window_larger_than_the_known_axis_is_located_beside_an_unknown_one(layer, shape):
    error = error_of(f"input {shape}\n{layer}\n")
    assert (error.span.line, error.span.column) == (2, len(layer))  # the 9
    # the known axis, 8, bounds the window; the unknown one says nothing
    assert "larger than its" in error.message and "at most 8" in str(error.hint)


def test_a_merge_of_unknown_inputs_with_other_channels_is_located_at_the_branch():
    error = error_of("i0: input ?x?x2\ni1: input ?x8x3\ni2: input 8x?x3\naverage(@i0; @i1; @i2)\n")
    assert (error.span.line, error.span.column) == (4, 14)
    assert "?x8x3" in error.message and "?x?x2" in error.message


def test_explain_of_a_flatten_of_an_unknown_axis_in_the_other_layout():
    from cnndsl.views.explain import explain_text

    model = cnndsl.analyze("defaults pytorch\ninput ?x4x3\nflatten\n")
    assert "values in torch.flatten's order, channels first" in explain_text(model)
    model = cnndsl.analyze("i0: input ?x4x3\ni1: input ?x4x3\nadd(@i0; @i1)\nflatten\n")
    assert "values in Keras's order" in explain_text(model, layout="channels_first")


def test_diff_json_of_unknown_sizes_gives_null_changes(tmp_path):
    import json

    a, b = tmp_path / "a.cnn", tmp_path / "b.cnn"
    a.write_text("input ?x8x3\nconv 4 3\nflatten\n")
    b.write_text("input 8x8x3\nconv 5 3\nflatten\n")
    done = subprocess.run(
        [sys.executable, "-m", "cnndsl", "diff", "--json", str(a), str(b)], capture_output=True, text=True
    )
    assert done.returncode == 1 and done.stderr == "", done.stderr  # they differ: exit 1
    totals = json.loads(done.stdout)["totals"]
    # conv 4 3 on 3 channels: 3*3*3*4 + 4 = 112 weights; conv 5 3: 140 (Keras's count)
    assert totals["total_params"] == {"before": 112, "after": 140, "change": 28}
    assert totals["total_macs"]["before"] is None and totals["total_macs"]["change"] is None


def test_same_paddings_count_before_an_unknown_size_is_tfs_at_every_size_and_costs_nothing_per_stride():
    """The 2026-12-08 campaign's one hang: MobileNetV3-Large with `stride 2147483647` on its stem, input
    ?x?x3. The dropped-border warning asked `same_before` for the zeros TF's `same` puts before an axis
    of unknown size, and that counted them for every remainder of the stride: 2^31 steps."""
    from cnndsl.layers.base import same_before

    def tf_before(n: int, k: int, s: int) -> int:  # TF's SAME: pad max((ceil(n/s) − 1)·s + k − n, 0), half before
        return max((-(-n // s) - 1) * s + k - n, 0) // 2

    for k in range(1, 12):
        for s in range(1, 12):
            seen = {tf_before(n, k, s) for n in range(1, 5 * s + 2 * k)}
            assert same_before(k, s) == (seen.pop() if len(seen) == 1 else None), (k, s)
    assert same_before(1, 2**31 - 1) == 0 and same_before(3, 2**31 - 1) is None
    text = (ROOT / "examples" / "mobilenet_v3_large.cnn").read_text(encoding="utf-8")
    stem = "conv: conv 16 3 stride 2 same nobias"
    assert stem in text
    diagnosis = cnndsl.diagnose(text.replace(stem, "conv: conv 16 3 stride 2147483647 same nobias"))
    assert not diagnosis.errors and diagnosis.model.total == cnndsl.analyze(text).total  # a stride holds no weights
