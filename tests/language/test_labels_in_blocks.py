"""A label inside a `def` names a Keras layer, and Keras's layer names are global: a block that
labels a layer and is expanded twice (two calls, a repeat, a nesting) is an error that says so,
at the label, with the calls that made it, and a hint whose fix works."""

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


def test_two_calls_name_both_calls_and_the_fix():
    error = error_of("def f(c):\n    stem: conv c 3 same\ninput 8x8x3\nf(4)\nf(4)\n")
    assert (error.span.line, error.span.column) == (2, 5)
    assert error.message == (
        "`stem` names a layer in every call of block `f`, and block `f` is called at line 4 and again at line 5: "
        "layer names are global (Keras's), so the second call's layer cannot be named `stem` too"
    )
    assert "`def f(..., tag)` and `stem{tag}:`" in error.hint
    assert [span.line for _, span in error.called_from] == [5]


def test_a_repeated_call_says_the_repeat_and_how_to_pass_its_index():
    error = error_of("def f(c):\n    stem: conv c 3 same\ninput 8x8x3\nf(4) * 2\n")
    assert "the repeat at line 4 calls block `f` again" in error.message
    assert "`f(..., i) * n as i`" in error.hint


def test_the_block_called_twice_is_named_when_the_label_is_deeper():
    error = error_of("def g(c):\n    conv c 1\ndef f(c):\n    s: g(c)\ninput 8x8x4\nf(4)\nf(4)\n")
    assert "every call of block `f`, and block `f` is called at line 6 and again at line 7" in error.message


def test_a_labelled_merge_in_a_block_called_twice():
    error = error_of("def f(c):\n    x: add(identity; conv c 3 same)\ninput 8x8x3\nconv 4 1\nf(4)\nf(4)\n")
    assert error.span.line == 2 and "block `f` is called at line 5 and again at line 6" in error.message


def test_a_label_in_a_top_level_repeat():
    error = error_of("input 8x8x3\n(s: conv 3 1) * 2\n")
    assert "inside a repeat" in error.message and "`* n as i` and the label `s{i}:`" in error.hint


def test_the_fixes_the_hints_give_work():
    by_parameter = cnndsl.analyze("def f(c, tag):\n    stem{tag}: conv c 3 same\ninput 8x8x3\nf(4, 1)\nf(4, a)\n")
    assert [node.name for node in by_parameter.layers] == ["stem1", "stema"]
    by_index = cnndsl.analyze("def f(c, tag):\n    stem{tag}: conv c 3 same\ninput 8x8x3\nf(4, i) * 2 as i\n")
    assert [node.name for node in by_index.layers] == ["stem0", "stem1"]
    top = cnndsl.analyze("input 8x8x3\n(s{i}: conv 3 1) * 2 as i\n")
    assert [node.name for node in top.layers] == ["s0", "s1"]


def test_two_different_labels_of_one_name_keep_their_message():
    error = error_of("input 8x8x4\nx: conv 4 1\nx: conv 4 1\n")
    assert error.message == "a layer is already named `x` (line 2)" and error.span.line == 3
