"""A label inside a `def` is its call's own: every call of the block has its `conv1` (as every
torchvision Bottleneck has its `conv1`), `@conv1` in the block is that call's layer, and the Keras
name, which must be global, is numbered as Keras numbers its own (`conv1`, `conv1_1`). A label
repeated where it is one scope (a top-level repeat, or twice in one call) is still an error."""

from __future__ import annotations

import pytest

import cnndsl
from cnndsl.core.errors import DuplicateName


def error_of(text: str) -> DuplicateName:
    with pytest.raises(DuplicateName) as caught:
        cnndsl.analyze(text)
    return caught.value


def test_keras_itself_refuses_two_layers_of_one_name(keras):
    x = inputs = keras.Input((8, 8, 3))
    for _ in range(2):
        x = keras.layers.Conv2D(4, 3, padding="same", name="stem")(x)
    with pytest.raises(ValueError, match="unique"):
        keras.Model(inputs, x)


def test_each_call_has_its_label_and_keras_names_are_numbered(keras):
    from emit_helpers import load

    from cnndsl.emit import generate

    model = cnndsl.analyze("def f(c):\n    stem: conv c 3 same\ninput 8x8x3\nf(4)\nf(4)\nf(4) * 2\n")
    assert [node.name for node in model.layers] == ["stem", "stem_1", "stem_2", "stem_3"]
    assert [node.label for node in model.layers] == ["stem"] * 4
    built = load(generate(model, "keras"), "labels_per_call").build_model()
    assert [layer.name for layer in built.layers if layer.name != "input_layer"] == ["stem", "stem_1", "stem_2", "stem_3"]


def test_a_reference_in_a_block_is_its_own_calls_layer():
    text = "def f(c):\n    a: conv c 1\n    conv c 3 same\n    add(@a; identity)\ninput 8x8x3\nf(4)\nf(4)\n"
    model = cnndsl.analyze(text)
    convs = [node.id for node in model.layers if node.keras_type == "Conv2D"]
    adds = [node for node in model.layers if node.keras_type == "Add"]
    assert [add.inputs for add in adds] == [(convs[0], convs[1]), (convs[2], convs[3])]


def test_the_top_levels_labels_keep_their_names():
    model = cnndsl.analyze("def f(c):\n    conv1: conv c 1\ninput 8x8x3\nf(4)\nconv1: conv 4 1\n")
    assert [node.name for node in model.layers] == ["conv1_1", "conv1"]


def test_a_label_twice_in_one_call():
    error = error_of("def f(c):\n    (s: conv c 1) * 2\ninput 8x8x3\nf(4)\n")
    assert (error.span.line, error.span.column) == (2, 6)
    assert error.message == "`s` already names a layer of this call of block `f`"


def test_a_label_in_a_top_level_repeat():
    error = error_of("input 8x8x3\n(s: conv 3 1) * 2\n")
    assert "inside a repeat" in error.message and "`* n as i` and the label `s{i}:`" in error.hint


def test_the_fix_the_hint_gives_works():
    top = cnndsl.analyze("input 8x8x3\n(s{i}: conv 3 1) * 2 as i\n")
    assert [node.name for node in top.layers] == ["s0", "s1"]
    by_parameter = cnndsl.analyze("def f(c, tag):\n    stem{tag}: conv c 3 same\ninput 8x8x3\nf(4, 1)\nf(4, a)\n")
    assert [node.name for node in by_parameter.layers] == ["stem1", "stema"]


def test_two_different_labels_of_one_name_keep_their_message():
    error = error_of("input 8x8x4\nx: conv 4 1\nx: conv 4 1\n")
    assert error.message == "a layer is already named `x` (line 2)" and error.span.line == 3


def test_one_mistake_is_one_error_however_often_the_block_is_called():
    """A label written twice in a block's body is one mistake: one E600, at the second label (the
    calls after the first once gave one more, at the first label, for a layer that was right)."""
    text = "def f(c):\n    s: conv c 1\n    s: conv c 1\ninput 8x8x3\nf(4)\nf(4)\nf(4) * 2\n"
    assert [(error.code, error.span.line, error.span.column) for error in cnndsl.diagnose(text).errors] == [
        ("E600", 3, 5)
    ]
