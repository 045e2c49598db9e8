"""Blocks as the keras.applications trial wanted them: a parameter standing for a layer,
`* 0` as an empty pipeline, and a parameterless block repeated by its bare name."""

from __future__ import annotations

import pytest
from located import assert_located

import cnndsl


def rows(text):
    return [(n.keras_type, n.shape, n.info.params) for n in cnndsl.analyze(text).layers]


def test_a_parameter_stands_for_a_whole_layer():
    text = "def g(act):\n    conv 8 3 same | act\ninput 8x8x3\ng(relu)\ng(gelu)\n"
    # conv: (3*3*3 + 1) * 8 = 224, then (3*3*8 + 1) * 8 = 584 (Keras's rule)
    assert rows(text) == [
        ("Conv2D", (8, 8, 8), 224),
        ("Activation", (8, 8, 8), 0),
        ("Conv2D", (8, 8, 8), 584),
        ("Activation", (8, 8, 8), 0),
    ]


def test_a_parameter_can_name_a_block():
    text = "def se():\n    relu\ndef g(inner):\n    conv 4 1 | inner\ninput 4x4x2\ng(se)\n"
    assert [kind for kind, _, _ in rows(text)] == ["Conv2D", "Activation"]


def test_a_repeat_count_of_zero_is_an_empty_pipeline():
    text = "def stage(n):\n    conv 4 1 | (conv 4 1 relu) * (n - 2) | conv 4 1\ninput 4x4x4\nstage(2)\n"
    assert len(rows(text)) == 2  # first and last only, as Python's range(0) gives nothing
    assert len(rows(text.replace("stage(2)", "stage(4)"))) == 4


def test_a_parameterless_block_repeats_by_its_bare_name():
    text = "def blk():\n    conv 4 3 same | relu\ninput 8x8x4\nblk * 3\n"
    assert rows(text) == [("Conv2D", (8, 8, 4), 148), ("Activation", (8, 8, 4), 0)] * 3


def test_a_negative_repeat_count_is_still_an_error():
    with pytest.raises(cnndsl.CnnError) as info:
        cnndsl.analyze("input 8x8x4\n(conv 4 1) * -1")
    assert "repeat count must be a whole number" in info.value.message


def test_a_layer_keyword_repeats_like_a_block():
    """`relu * 2` was a syntax error; now it reads as `(relu) * 2`."""
    assert rows("input 8x8x3\nrelu * 2") == rows("input 8x8x3\n(relu) * 2") == [("Activation", (8, 8, 3), 0)] * 2


def test_parentheses_group_a_layer_argument():
    # (8 + 2*32)/2 = 36 filters on 8 channels, 1x1: 8*36 + 36 = 324 (Keras's Conv2D rule)
    text = "def b(c, n):\n    conv (c + n*32)/2 1x1\ninput 4x4x8\nb(8, 2)\n"
    assert rows(text) == [("Conv2D", (4, 4, 36), 324)]
    # nested and after an operator: ((3+1)*2) = 2*(3+1) = 8 units, 8*8 + 8 = 72
    assert rows("input 8\ndense ((3+1)*2)\ndense 2*(3 + 1)\ndense 2 * ( 3 + 1 )") == [("Dense", (8,), 72)] * 3
    # a window in parentheses: conv 8 (3) on 8x8x3 is conv 8 3, (3*3*3 + 1) * 8 = 224
    assert rows("input 8x8x3\nconv 8 (3)") == [("Conv2D", (6, 6, 8), 224)]


def test_parentheses_leave_negative_literals_subtraction_and_calls_alone():
    assert rows("input 4x4x8\nreshape 4 -1") == [("Reshape", (4, 32), 0)]  # two arguments: 4*4*8 / 4 = 32
    assert rows("def f(n):\n    dense n - 1\ninput 8\nf(5)") == [("Dense", (4,), 36)]  # 8*4 + 4
    calls = "def g(c):\n    conv c 1\ninput 8x8x3\ng(4)\ng (4)\nadd (identity; relu)\n((conv 4 1) * 2)\n(relu) * (3-2)"
    # (3 + 1) * 4 = 16, then (4 + 1) * 4 = 20 for each 1x1 conv on 4 channels
    assert [p for _, _, p in rows(calls)] == [16, 20, 0, 0, 20, 20, 0]


def test_a_repeat_index_counts_from_zero():
    # dense 2, 3, 4 on 8 inputs: 8*2 + 2 = 18, 2*3 + 3 = 9, 3*4 + 4 = 16
    assert rows("input 8\n(dense 2 + i) * 3 as i") == [("Dense", (2,), 18), ("Dense", (3,), 9), ("Dense", (4,), 16)]
    assert rows("input 8\n(dense 2 + i) * 0 as i | dense 1") == [("Dense", (1,), 9)]


def test_a_repeat_index_reaches_block_arguments_and_nests(keras):
    text = (
        "def blk(u):\n    dense u | relu\ninput 8\nblk(4*(i + 1)) * 3 as i\n((dense 10*j + k + 1) * 2 as k) * 2 as j\n"
    )
    x = inputs = keras.Input((8,))
    for units in [4, 8, 12]:
        x = keras.layers.Activation("relu")(keras.layers.Dense(units)(x))
    for units in [1, 2, 11, 12]:
        x = keras.layers.Dense(units)(x)
    expected = [layer.count_params() for layer in keras.Model(inputs, x).layers[1:]]
    # by hand: 8*4+4, 4*8+8, 8*12+12, then 12*1+1, 1*2+2, 2*11+11, 11*12+12
    assert [params for _, _, params in rows(text)] == expected == [36, 0, 40, 0, 108, 0, 13, 4, 33, 144]


def test_efficientnet_drop_rates_from_the_repeat_index():
    # keras.applications.efficientnet: drop_connect_rate * b / blocks, with 0.2 and 4 blocks
    text = "def blk(b, blocks):\n    dropout 0.2 * b / blocks\ninput 8\nblk(b, 4) * 4 as b\n"
    rates = [node.layer["rate"] for node in cnndsl.analyze(text).layers]
    assert rates == [0.2 * b / 4 for b in range(4)]  # Keras's own float expression, b = 0 .. 3
    assert rates == pytest.approx([0.0, 0.05, 0.1, 0.15])


def test_a_repeat_index_is_local_to_its_repeat():
    with pytest.raises(cnndsl.CnnError) as info:
        cnndsl.analyze("input 8\n(dense 2 + i) * 2 as i | dense i")
    assert "i" in info.value.message


def test_labels_built_from_block_parameters_match_keras_names(keras):
    text = (
        "def mb(b, s):\n    block{b}{s}_expand_conv: conv 8 1x1 nobias | block{b}{s}_expand_bn: bn\n"
        "input 8x8x3\nmb(1, a)\nconv 8 1\nmb(2, b)\nconv 8 1\n"
    )
    keras.backend.clear_session()  # Keras's default names count from zero again
    x = inputs = keras.Input((8, 8, 3))
    for block in ("1a", None, "2b", None):
        if block is None:
            x = keras.layers.Conv2D(8, 1)(x)
        else:
            x = keras.layers.Conv2D(8, 1, use_bias=False, name=f"block{block}_expand_conv")(x)
            x = keras.layers.BatchNormalization(name=f"block{block}_expand_bn")(x)
    expected = [layer.name for layer in keras.Model(inputs, x).layers[1:]]
    assert [node.name for node in cnndsl.analyze(text).layers] == expected
    assert expected == [
        "block1a_expand_conv",
        "block1a_expand_bn",
        "conv2d",  # a named layer takes no number from Keras's default names
        "block2b_expand_conv",
        "block2b_expand_bn",
        "conv2d_1",
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        ("def f(c):\n    x{d}: relu\ninput 4\nf(1)", "`{d}` names no block parameter"),
        ("def f(c):\n    {c}: relu\ninput 4\nf(1)", "becomes `1`, which is not a name"),
        ("def f(c):\n    x{c}: relu\ninput 4\nf(0.5)", "a label takes whole numbers and words"),
        ("def f(c):\n    x{c}-{c}: relu\ninput 4\nf(-1)", "becomes `x-1--1`, which is not a name"),
    ],
)
def test_a_label_template_that_cannot_be_filled_is_located(text, words):
    assert_located(text, 2, 5, words)


def test_a_label_template_joins_parts_with_dashes_as_torchvision_names_regnets_blocks():
    """torchvision's RegNet: `self.add_module(f"block{stage_index}-{i}", block)` in AnyStage, keys
    `trunk_output.block1.block1-0...`; a `-` stands between the parts, never at an end."""
    text = "def stage(k, n):\n    for i in range(n):\n        block{k}-{i}: relu\ninput 4\nstage(2, 2) | stage(3, 1)\n"
    assert [node.name for node in cnndsl.analyze(text).layers] == ["block2-0", "block2-1", "block3-0"]
    with pytest.raises(cnndsl.CnnError):  # `-` after the template ends it: `block{k}` then a stray `-`
        cnndsl.analyze("def f(k):\n    block{k}-: relu\ninput 4\nf(1)\n")
