"""param, let, expressions, if/elif/else, for, in.c, templated references, blocks passed with arguments.

The oracles are Python's own operators and functions (whose rules the language
takes) and keras.applications' `_make_divisible` (MobileNetV2) and `_depth` (MobileNetV3),
the rule torchvision's `_make_divisible` also follows.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import pytest

import cnndsl
from cnndsl.core.errors import CnnError


def filters(expression: str, before: str = "", params=None) -> int:
    """The filter count `conv EXPRESSION 1` gets on a 4x4x3 input."""
    model = cnndsl.analyze(f"{before}input 4x4x3\nconv {expression} 1\n", params=params)
    return model.layers[-1].shape[-1]


def value(expression: str, before: str = "") -> float:
    """`let v = EXPRESSION` (a whole number here), read back as a repeat count."""
    model = cnndsl.analyze(f"{before}let v = {expression}\ninput 4\n(relu) * (v)\n")
    return len(model.layers)


def error(text: str, params=None) -> CnnError:
    with pytest.raises(CnnError) as caught:
        cnndsl.analyze(text, params=params)
    assert caught.value.span is not None and caught.value.hint, caught.value
    return caught.value


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("round(2.5)", round(2.5)),  # half to even: 2
        ("round(3.5)", round(3.5)),
        ("round(0.5 + 2)", round(2.5)),
        ("floor(7.9)", math.floor(7.9)),
        ("ceil(7.1)", math.ceil(7.1)),
        ("int(7.9)", int(7.9)),
        ("min(9, 4, 6)", 4),
        ("max(2, 5)", 5),
        ("abs(3 - 10)", abs(3 - 10)),
        ("int(sqrt(81))", int(math.sqrt(81))),
        ("round(log(1000, 10))", round(math.log(1000, 10))),
        ("2 ** 5", 2**5),
        ("17 % 5 + 1", 17 % 5 + 1),
        ("-7 // 2 + 10", -7 // 2 + 10),
        ("4 if 2 > 1 else 9", 4),
        ("4 if 2 < 1 else 9", 9),
        ("(3 == 3) + (3 != 3) + (2 <= 2) + (2 >= 3) + 1", 3),
        ("(1 and 5) + (0 or 2) + (not 0)", 5 + 2 + 1),
        ("round(1.4 * 32 // 8 * 8)", round(1.4 * 32 // 8 * 8)),
    ],
)
def test_expressions_follow_python(expression, expected):
    assert value(expression) == expected


def _keras_depth(v, divisor=8, min_value=None):
    # keras.applications.mobilenet_v3._depth, as its source reads (imported below when Keras is present)
    from keras.src.applications.mobilenet_v3 import _depth

    return _depth(v, divisor, min_value)


@pytest.mark.parametrize(
    "v, d, m", [(44.8, 8, None), (16 * 0.35, 8, None), (32 * 1.3, 8, None), (11.0, 8, None), (100, 16, 32), (7, 8, 2)]
)
def test_divisible_is_the_make_divisible_of_keras_applications(v, d, m):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    from keras.src.applications.mobilenet_v2 import _make_divisible

    args = f"{v}, {d}" + (f", {m}" if m is not None else "")
    assert filters(f"divisible({args})") == _keras_depth(v, d, m) == _make_divisible(v, d, m)


def test_params_take_their_defaults_or_the_given_values():
    text = "param alpha = 1.0\nlet c = divisible(32 * alpha, 8)\ninput 8x8x3\nconv c 1\n"
    assert cnndsl.analyze(text).layers[-1].shape == (8, 8, 32)
    assert cnndsl.analyze(text, params={"alpha": 0.35}).layers[-1].shape == (8, 8, _keras_depth(32 * 0.35))
    assert cnndsl.analyze(text, params={"alpha": "0.5"}).layers[-1].shape == (8, 8, 16)


def test_an_unknown_param_or_a_bad_value_is_named():
    text = "param alpha = 1.0\ninput 8x8x3\nconv 8 1\n"
    with pytest.raises(ValueError, match="no `param alpa`") as caught:
        cnndsl.analyze(text, params={"alpa": 1})
    assert "did you mean `alpha`" in caught.value.hint
    with pytest.raises(ValueError, match="not a number"):
        cnndsl.analyze(text, params={"alpha": "wide"})


def test_set_on_the_command_line(tmp_path):
    path = tmp_path / "m.cnn"
    path.write_text("param alpha = 1.0\ninput 8x8x3\nconv divisible(32 * alpha, 8) 1\n")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "cnndsl", *args], capture_output=True, text=True)

    ok = run("summary", str(path), "--set", "alpha=0.5", "--format", "csv")
    assert ok.returncode == 0 and "8, 8, 16" in ok.stdout.replace('"', "").replace("(None, ", ""), ok.stdout
    unknown = run("check", str(path), "--set", "alpa=0.5")
    assert unknown.returncode == 2 and "did you mean `alpha`" in unknown.stderr
    bad = run("summary", str(path), "--set", "alpha=wide")
    assert bad.returncode == 2 and "not a number" in bad.stderr
    malformed = run("summary", str(path), "--set", "alpha")
    assert malformed.returncode == 2 and "NAME=VALUE" in malformed.stderr


def test_a_fraction_where_a_whole_number_is_needed_shows_the_value_and_how_to_round():
    found = error("input 8x8x3\nconv 44.8 3\n")
    assert "44.8" in found.message and "round(" in found.hint and "divisible(" in found.hint
    assert (found.span.line, found.span.column) == (2, 6)
    found = error("param alpha = 0.35\ninput 8x8x3\nconv 32 * alpha 3\n")
    assert "11.2" in found.message and (found.span.line, found.span.column) == (3, 6)


@pytest.mark.parametrize(
    "text, words, line, column",
    [
        ("let z = 0\ninput 8x8x3\nconv 8 // z 1\n", "division by zero", 3, 6),
        ("input 8x8x3\nconv 8 % (4 - 4) 1\n", "division by zero", 2, 6),
        ("input 8x8x3\nconv rond(8.2) 1\n", "no function or block named `rond`", 2, 6),
        ("input 8x8x3\nconv max() 1\n", "`max` takes at least 1 argument", 2, 6),
        ("input 8x8x3\nconv round(same) 1\n", "takes numbers", 2, 12),
        ("input 8x8x3\nconv int(sqrt(0 - 1)) 1\n", "negative", 2, 15),
        ("input 8x8x3\nconv in.q 1\n", "not an axis", 2, 6),
        ("input 8x3\nconv in.h 1\n", "no `h` axis", 2, 6),
        ("input ?x?x3\nconv in.h 1\n", "unknown", 2, 6),
        ("let c = in.c\ninput 8x8x3\n", "no input here", 1, 9),
        ("input 8x8x3\nfor i in 3:\n    conv 8 1\n", "`for` takes", 2, 10),
        ("input 8x8x3\nfor a, b in [(1, 2), 3]:\n    conv a 1\n", "takes 2 values", 2, 13),
        ("input 8x8x3\nif same:\n    conv 8 1\n", "neither true nor false", 2, 4),
        ("param a = 1\nparam a = 2\ninput 8\n", "already defined", 2, 7),
        ("input 8x8x3\nfor i in range(2):\n    h{i}: conv 8 1\n@h{i + 5} | conv 8 1\n", "no earlier layer", 4, 2),
        ("input 8x8x3\nh{j}: conv 8 1\n", "names no block parameter", 2, 1),
        ("input 8x8x3\nfor i in range(2.5):\n    conv 8 1\n", "whole numbers", 2, 16),
    ],
)
def test_mistakes_in_the_new_constructs_are_located(text, words, line, column):
    found = error(text)
    assert words in found.message, found
    assert (found.span.line, found.span.column) == (line, column), found


def test_if_elif_else_at_the_top_level_and_in_blocks():
    text = """\
param large = 0
def block(c, s):
    if s == 2:
        conv c 3 stride 2 same
    elif c > 16:
        let half = c // 2
        conv half 1
    else:
        conv c 1
input 32x32x3
block(8, 2)
block(32, 1)
block(8, 1)
if large:
    conv 64 1
else: conv 4 1
"""
    shapes = [layer.shape for layer in cnndsl.analyze(text).nodes[1:]]
    assert shapes == [(16, 16, 8), (16, 16, 16), (16, 16, 8), (16, 16, 4)]
    assert cnndsl.analyze(text, params={"large": 1}).layers[-1].shape == (16, 16, 64)


def test_for_loops_over_ranges_and_tuples_with_templated_labels_and_references():
    text = """\
input 32x32x3
for c, s in [(16, 1), (24, 2)]:
    conv c 3 stride s same
for i in range(1, 4):
    cell{i}: conv 8 * i 1
@cell{3 - 1} | conv 5 1 | output
@cell{3} | output
"""
    model = cnndsl.analyze(text)
    assert [(layer.name, layer.shape) for layer in model.nodes[1:6]] == [
        ("conv2d", (32, 32, 16)),
        ("conv2d_1", (16, 16, 24)),
        ("cell1", (16, 16, 8)),
        ("cell2", (16, 16, 16)),
        ("cell3", (16, 16, 24)),
    ]
    assert model.nodes[6].shape == (16, 16, 5) and model.nodes[model.nodes[6].inputs[0]].name == "cell2"


def test_in_reads_the_shape_flowing_into_the_statement():
    # DenseNet's transition (keras.applications.densenet: int(backend.int_shape(x)[-1] * reduction))
    text = "input 9x9x3 | conv 24 1\nconv int(in.c * 0.5) 1\nzeropad (0 if in.h % 2 else 1) 0\nlet c = in.c\nconv c * 6 1\n"
    shapes = [layer.shape for layer in cnndsl.analyze(text).nodes[1:]]
    assert shapes == [(9, 9, 24), (9, 9, 12), (9, 9, 12), (9, 9, 72)]  # 9 is odd: no padding
    even = cnndsl.analyze("input 8x8x3\nzeropad (0 if in.h % 2 else 1) 0\n")
    assert even.nodes[-1].shape == (10, 8, 3)
    seq = cnndsl.analyze("input 20x6\nconv1d in.l // 4 1\n")
    assert seq.layers[-1].shape == (20, 5)


def test_blocks_passed_with_their_arguments():
    text = """\
def se(c, r):
    residual(gap | dense r relu | dense c sigmoid) | identity
def ir(c, tail):
    conv c 1 | tail
def plain(c):
    conv c 3 same
input 8x8x3
ir(16, plain(4))
ir(72, se(72, 24))
"""
    layers = cnndsl.analyze(text).nodes
    assert [layer.keras_type for layer in layers[1:4]] == ["Conv2D", "Conv2D", "Conv2D"]
    assert layers[2].shape == (8, 8, 4)
    assert [layer.keras_type for layer in layers[4:]][:3] == ["GlobalAveragePooling2D", "Dense", "Dense"]
    assert layers[5].info.params == 72 * 24 + 24


def test_loops_count_toward_the_expansion_bounds():
    bombs = [
        "input 8\nfor i in range(9999):\n    for j in range(9999):\n        relu\n",
        "input 8\nfor i in range(9999):\n    for j in range(9999):\n        let x = 1\n",
        "input 8\nfor i in range(9999):\n    for j in range(9999):\n        if 0:\n            relu\n",
        "input 8\nfor i in range(10 ** 9):\n    relu\n",
        "input 8\nlet n = 2 ** 10000\n",
        "def b():\n    for i in range(9999):\n        relu\ninput 8\nb() * 9999\n",
    ]
    for text in bombs:
        start = time.perf_counter()
        with pytest.raises(CnnError) as caught:
            cnndsl.analyze(text)
        assert time.perf_counter() - start < 2, text
        assert caught.value.span is not None and caught.value.hint, text


def test_nesting_of_if_and_for_is_bounded():
    depth = 300
    text = "input 8\n" + "".join("    " * i + "if 1:\n" for i in range(depth)) + "    " * depth + "relu\n"
    with pytest.raises(CnnError) as caught:
        cnndsl.analyze(text)
    assert "nest" in caught.value.message


# `input size x size x 3`: a size joined from expressions by the word `x`


@pytest.mark.parametrize(
    "text, params, shape",
    [
        ("param size = 224\ninput size x size x 3\nconv 8 3\n", {"size": 160}, (160, 160, 3)),
        ("param size = 224\ninput size x size x 3\nconv 8 3\n", None, (224, 224, 3)),
        ("param n = 100\ninput n x 3\nconv 8 3\n", {"n": 40}, (40, 3)),
        ("param s = 9\ninput s * 2 x s // 2 x 1\nconv 8 3\n", None, (18, 4, 1)),
        ("param c = 3\ninput ?x? x c\nconv 8 3\n", {"c": 5}, (None, None, 5)),
        ("param s = 8\ninput s x (s + 1)x 2 | conv 4 3\n", None, (8, 9, 2)),
    ],
)
def test_an_input_size_joined_by_x_is_the_keras_input_shape(text, params, shape, keras):
    model = cnndsl.analyze(text, params=params)
    theirs = keras.Input(shape=shape)
    assert model.nodes[0].shape == tuple(theirs.shape[1:])
    conv = (keras.layers.Conv1D if len(shape) == 2 else keras.layers.Conv2D)(model.nodes[1].shape[-1], 3)
    assert model.nodes[1].shape == tuple(conv.compute_output_shape((1, *shape))[1:])


def test_a_size_joined_by_x_in_reshape_is_the_keras_target(keras):
    model = cnndsl.analyze("input 6x4x8\nreshape in.h * in.w x in.c\n")
    assert model.layers[-1].shape == tuple(keras.layers.Reshape((24, 8)).compute_output_shape((1, 6, 4, 8))[1:])


@pytest.mark.parametrize(
    "line, column, message",
    [
        ("input size * 1.3 x size x 3", 7, "an axis of a size must be a whole number, not `41.6`"),
        ("input size - 32 x size x 3", 7, "an axis of a size must be positive, not `0`"),
        ("input size x siz x 3", 14, "`siz` is not a number, so it cannot be an axis of a size"),
        ("input size x size x 3 / 2", 21, "an axis of a size must be a whole number, not `1.5`"),
    ],
)
def test_a_bad_axis_of_a_joined_size_is_located(line, column, message):
    caught = error(f"param size = 32\n{line}\nconv 8 3\n")
    assert (caught.span.line, caught.span.column) == (2, column)
    assert caught.message == message


def test_a_misspelt_axis_name_is_offered_the_param():
    assert "`size`" in str(error("param size = 32\ninput size x siz x 3\n").hint)


def test_a_size_of_literal_numbers_with_spaced_x_is_still_told_to_be_one_word():
    caught = error("input 32 x 32 x 3\n")
    assert caught.message == "`input` has no option `x`"


def test_set_reaches_a_joined_input_size(tmp_path):
    path = tmp_path / "net.cnn"
    path.write_text("param size = 32\ninput size x size x 3\nconv 8 3\n")
    run = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", str(path), "--set", "size=0"], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "net.cnn:2:7: an axis of a size must be positive, not `0`" in run.stderr
