"""Every switch (`nobias`, `keepdims`, ...) of every layer kind reads the same in each form:
the bare word, `word=True`/`word=1`, `word 1`/`word True`, and the option's own name, `bias=False`."""

from __future__ import annotations

import pytest

import cnndsl
from cnndsl.layers import REGISTRY
from cnndsl.layers.base import Flag


def _switches():
    seen = set()
    for keyword, kind in REGISTRY.items():
        if kind in seen or keyword == "input":  # `input L int`: tests/layers/test_embedding.py
            continue
        seen.add(kind)
        required = [arg for arg in kind.ARGS if arg.positional and arg.required]
        # the example of the last required argument is a whole line: `conv 32 3x3`
        base = required[-1].example if required else keyword
        for arg in kind.ARGS:
            if isinstance(arg.type, Flag):
                yield pytest.param(kind, base, arg, id=f"{keyword}-{arg.type.word or arg.name}")


def options(kind, line):
    layer = cnndsl.analyze(f"input 8x8x3\n{line}").layers[-1].layer
    return {arg.name: layer[arg.name] for arg in kind.ARGS}


@pytest.mark.parametrize("kind, base, arg", list(_switches()))
def test_every_form_of_a_switch_agrees(kind, base, arg):
    word = arg.type.word or arg.name
    on, off = not arg.default, arg.default
    if "dense" in base and arg.name != "flatten":
        base += " noflatten"  # dense on 8x8x3 without flattening: Keras's Dense on the last axis
    plain = options(kind, base)
    switched = options(kind, f"{base} {word}")
    assert plain[arg.name] is off and switched[arg.name] is on
    assert {k: v for k, v in plain.items() if k != arg.name} == {k: v for k, v in switched.items() if k != arg.name}
    for form in (f"{word}=True", f"{word}=1", f"{word} 1", f"{word} True", f"{arg.name}={on}", f"{arg.name}={int(on)}"):
        assert options(kind, f"{base} {form}") == switched, form
    for form in (
        f"{word}=False",
        f"{word}=0",
        f"{word} 0",
        f"{word} False",
        f"{arg.name}={off}",
        f"{arg.name}={int(off)}",
    ):
        assert options(kind, f"{base} {form}") == plain, form


def test_there_are_switches_to_check():
    # conv, dwconv, sepconv, deconv, dense (2), bn (2), layernorm (2), maxpool, gap, gmp: 13
    assert len(list(_switches())) == 13


@pytest.mark.parametrize("line", ["conv 4 3 bias=2", "gap keepdims=relu", "bn noscale=0.5"])
def test_a_switch_takes_only_a_truth_value(line):
    with pytest.raises(cnndsl.CnnError) as info:
        cnndsl.analyze(f"input 8x8x3\n{line}")
    assert "is a switch: True or False" in info.value.message


def test_switch_forms_match_keras(keras):
    no_bias = keras.layers.Conv2D(4, 3, use_bias=False)
    no_bias.build((None, 8, 8, 3))
    kept = keras.layers.GlobalAveragePooling2D(keepdims=True).compute_output_shape((None, 8, 8, 3))
    for line in ("conv 4 3 nobias", "conv 4 3 bias=False", "conv 4 3 nobias=True", "conv 4 3 nobias 1"):
        node = cnndsl.analyze(f"input 8x8x3\n{line}").layers[-1]
        assert node.info.params == no_bias.count_params() == 108  # 3*3*3*4, no bias
    for line in ("gap keepdims", "gap keepdims=True", "gap keepdims 1", "gap keepdims True"):
        assert (None, *cnndsl.analyze(f"input 8x8x3\n{line}").layers[-1].shape) == tuple(kept) == (None, 1, 1, 3)
    # dense nobias 1: the 1 is the units, every required position not yet filled (8*8*3 weights, no bias)
    assert cnndsl.analyze("input 8x8x3\ndense nobias 1").layers[-1].info.params == 192
