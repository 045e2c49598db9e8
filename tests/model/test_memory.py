"""Memory figures, worked by hand under the convention in cnndsl/memory.py."""

from __future__ import annotations

import pytest

from cnndsl import analyze, analyze_file

RESIDUAL = "input 8x8x4\nresidual(conv 4 3x3 same | bn)\nrelu\n"


def test_lenet_by_hand():
    m = analyze_file("examples/lenet.cnn").memory()
    assert m.params_bytes == 62_958 * 4 == 251_832
    assert m.input_bytes == 32 * 32 * 3 * 4 == 12_288
    # outputs: 6,272 + 1,568 + 1,600 + 400 + 400 (flatten) + 120 + 84 + 10 = 10,454 values
    assert m.activations_bytes == 10_454 * 4 == 41_816
    # a chain: the most alive at once is the input and conv2d's output, 3,072 + 6,272 values
    assert m.inference_peak_bytes == 251_832 + (3_072 + 6_272) * 4 == 289_208
    # adam: weights, gradients and two moments of 62,958 parameters, plus the input and outputs
    assert m.training_bytes == 62_958 * 4 * 4 + 12_288 + 41_816 == 1_061_432


def test_small_residual_by_hand():
    model = analyze(RESIDUAL)
    # conv (3·3·4 + 1)·4 = 148, bn 4·4 = 16 of which 8 trainable: 164 parameters, 156 trainable
    assert (model.total, model.trainable) == (164, 156)
    m = model.memory()
    assert m.params_bytes == 164 * 4 == 656
    assert m.input_bytes == 8 * 8 * 4 * 4 == 1_024
    assert m.activations_bytes == 4 * 256 * 4 == 4_096  # conv, bn, add, relu: 256 values each
    # the input lives until the add: at bn's output, input + conv + bn = 768 values are alive
    assert m.inference_peak_bytes == 656 + 768 * 4 == 3_728
    assert m.training_bytes == 656 + 156 * 3 * 4 + 1_024 + 4_096 == 7_648
    sgd = model.memory(optimizer="sgd")
    assert sgd.training_bytes == 656 + 156 * 4 + 1_024 + 4_096 == 6_400
    assert model.memory(optimizer="momentum").training_bytes == 656 + 156 * 2 * 4 + 1_024 + 4_096


@pytest.mark.parametrize("path", ["examples/lenet.cnn", "examples/resnet50.cnn"])
def test_batch_scales_activations_and_dtype_scales_bytes(path):
    model = analyze_file(path)
    one, eight = model.memory(1), model.memory(8)
    assert eight.activations_bytes == 8 * one.activations_bytes
    assert eight.input_bytes == 8 * one.input_bytes
    assert eight.params_bytes == one.params_bytes
    half = model.memory(8, dtype="float16")
    for key in ("params_bytes", "input_bytes", "activations_bytes", "inference_peak_bytes", "training_bytes"):
        assert getattr(half, key) * 2 == getattr(eight, key)
        assert getattr(model.memory(8, dtype="bfloat16"), key) == getattr(half, key)
        assert getattr(model.memory(8, dtype="int8"), key) * 4 == getattr(eight, key)


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="float64"):
        analyze(RESIDUAL).memory(dtype="float64")
