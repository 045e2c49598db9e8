"""`diff` compares functions, not spellings: two names of one activation are no change (issue 25)."""

from __future__ import annotations

import pytest

from cnndsl import analyze
from cnndsl.layers.activation import SAME_FUNCTION
from cnndsl.views.diff import diff_models, format_diff


def test_keras_names_one_function_for_each_alias():
    keras = pytest.importorskip("keras")
    for alias, name in SAME_FUNCTION.items():
        assert keras.activations.get(alias) is keras.activations.get(name)


@pytest.mark.parametrize(
    "before, after",
    [("conv 8 3 swish", "conv 8 3 silu"), ("conv 8 3 | swish", "conv 8 3 | silu"), ("dense 4 silu", "dense 4 swish")],
)
def test_swish_and_silu_are_no_difference(before, after):
    diff = diff_models(analyze(f"input 8x8x3 | {before}"), analyze(f"input 8x8x3 | {after}"))
    assert diff.same, format_diff(diff, "a", "b")


def test_another_function_is_still_a_change():
    diff = diff_models(analyze("input 8x8x3 | conv 8 3 swish"), analyze("input 8x8x3 | conv 8 3 gelu"))
    assert not diff.same
    assert "activation    swish → gelu" in format_diff(diff, "a", "b")
