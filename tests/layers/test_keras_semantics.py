"""Keras's broadcasting merges and strided dilated depthwise convolutions, exactly.

Each case is a .cnn text beside the same layers built in Keras here: output
shape and parameters must be Keras's. The emitted PyTorch code must then
compute what the emitted Keras code computes (weights ported, 1e-4).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_emit_numeric import max_error

import cnndsl

pytestmark = pytest.mark.oracle

MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def keras_merge(keras, name, shapes):
    inputs = [keras.Input(shape) for shape in shapes]
    out = getattr(keras.layers, name)()(inputs)
    return tuple(out.shape[1:])


@pytest.mark.parametrize("merge", MERGES)
def test_every_merge_broadcasts_axes_of_size_1(merge, keras):
    word = merge.lower()
    # A 1x1 conv to one channel, a pooled gate, and a flat gate, each against 4x4x2.
    for branch, shape in (("conv 1 1", (4, 4, 1)), ("gap keepdims", (1, 1, 2)), ("gap", (2,))):
        model = cnndsl.analyze(f"input 4x4x2\n{word}(identity; {branch})")
        assert model.output_shape == keras_merge(keras, merge, [(4, 4, 2), shape])
        assert model.output_shape == (4, 4, 2)


def test_the_issue_example_maximum_of_a_one_channel_branch(keras):
    model = cnndsl.analyze("input 4x4x2\nmaximum(identity; conv 1 1)")
    x = keras.Input((4, 4, 2))
    twin = keras.Model(x, keras.layers.Maximum()([x, keras.layers.Conv2D(1, 1)(x)]))
    assert (None, *model.output_shape) == tuple(twin.output.shape) == (None, 4, 4, 2)
    assert model.total == twin.count_params() == 3


def test_a_mismatch_names_its_own_merge():
    with pytest.raises(cnndsl.CnnError) as info:
        cnndsl.analyze("input 4x4x2\nmaximum(identity; conv 3 1)")
    assert "branches of `maximum`" in info.value.hint


@pytest.mark.parametrize(
    "text, build",
    [
        ("input 9x9x1\ndwconv 3 stride 2 dilation 2", lambda L: L.DepthwiseConv2D(3, strides=2, dilation_rate=2)),
        (
            "input 11x10x3\ndwconv 3 stride 2 dilation 2 same mult 2",
            lambda L: L.DepthwiseConv2D(3, strides=2, dilation_rate=2, padding="same", depth_multiplier=2),
        ),
        (
            "input 12x12x3\nsepconv 4 3 stride 2 dilation 2",
            lambda L: L.SeparableConv2D(4, 3, strides=2, dilation_rate=2),
        ),
        (
            "input 20x3\nsepconv 4 3 stride 3 dilation 2 same",
            lambda L: L.SeparableConv1D(4, 3, 3, "same", dilation_rate=2),
        ),
    ],
)
def test_depthwise_and_separable_take_stride_with_dilation(text, build, keras):
    model = cnndsl.analyze(text)
    shape = tuple(int(d) for d in text.split()[1].split("x"))
    x = keras.Input(shape)
    twin = keras.Model(x, build(keras.layers)(x))
    assert (None, *model.output_shape) == tuple(twin.output.shape)
    assert model.total == twin.count_params()


def test_the_issue_example_depthwise_stride_2_dilation_2():
    model = cnndsl.analyze("input 9x9x1\ndwconv 3 stride 2 dilation 2")
    assert (model.output_shape, model.total) == ((3, 3, 1), 10)  # Keras: (None, 3, 3, 1), 10 parameters


def test_conv_still_refuses_stride_with_dilation():
    with pytest.raises(cnndsl.CnnError) as info:
        cnndsl.analyze("input 9x9x1\nconv 2 3 stride 2 dilation 2")
    assert "Keras does not allow" in info.value.message


NUMERIC = {
    "broadcasting_merges": """
        input 6x6x4
        maximum(identity; conv 1 1)
        minimum(gap keepdims; identity)
        subtract(identity; gap | dense 4)
        average(identity; conv 1 1; gap keepdims)
        add(identity; conv 1 1 | maxpool 6 | relu)
        conv 3 1
    """,
    "fixed_normalization": """
        input 6x6x3
        normalize mean 0.5 -1.25 2 variance 0.25 4 1e-20
        normalize mean=1 variance=2
        conv 4 3
    """,
    "layerscale_dense_on_last_axis_droppath": """
        input 7x7x6
        add(identity; dwconv 3 same | layernorm | dense 12 noflatten gelu | dense 6 flatten=0 | layerscale 0.5
            | droppath 0.2)
        gap | layerscale | dense 3 | droppath 0.1
    """,
    "strided_dilated_depthwise": """
        input 13x12x3
        dwconv 3 stride 2 dilation 2 same mult 2
        sepconv 5 2 stride 2 dilation 2 same
        dwconv 2 stride 2 dilation 2
    """,
}


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_emitted_pytorch_computes_what_keras_computes(name, keras, torch):
    assert max_error(NUMERIC[name], keras, torch) < 1e-4


@pytest.mark.parametrize(
    "text, kwargs",
    [
        (
            "normalize mean 0.485 0.456 0.406 variance 0.052441 0.050176 0.050625",
            {"mean": [0.485, 0.456, 0.406], "variance": [0.052441, 0.050176, 0.050625]},
        ),
        ("normalization mean=2 variance=4", {"mean": 2.0, "variance": 4.0}),
    ],
)
def test_fixed_statistics_normalization_has_no_weights(text, kwargs, keras):
    model = cnndsl.analyze(f"input 8x8x3\n{text}")
    x = keras.Input((8, 8, 3))
    twin = keras.Model(x, keras.layers.Normalization(**kwargs)(x))
    assert (model.total, model.non_trainable) == (twin.count_params(), 0) == (0, 0)
    assert cnndsl.analyze("input 8x8x3\nnormalize").non_trainable == 2 * 3 + 1  # adapted: mean, variance, count


def test_fixed_statistics_need_both_and_a_value_per_channel():
    for text, words in (
        ("normalize mean 1 2", "`mean` needs `variance` too"),
        ("normalize mean 1 2 variance 1 2", "`mean` has 2 values, but the input has 3 channels"),
    ):
        with pytest.raises(cnndsl.CnnError) as info:
            cnndsl.analyze(f"input 8x8x3\n{text}")
        assert words in info.value.message


def convnext_layer_scale(keras):
    import importlib

    return importlib.import_module("keras.src.applications.convnext").LayerScale


@pytest.mark.parametrize(
    "text, build",
    [
        ("input 7x7x96\nlayerscale 1e-6", lambda k, L: convnext_layer_scale(k)(1e-6, 96)),
        ("input 10\nlayer_scale 0.5", lambda k, L: convnext_layer_scale(k)(0.5, 10)),
        ("input 7x7x96\ndense 384 noflatten", lambda k, L: L.Dense(384)),
        ("input 5x4x3x2\ndense 7 flatten=0 nobias", lambda k, L: L.Dense(7, use_bias=False)),
        ("input 7x7x8\ndroppath 0.2", lambda k, L: L.Dropout(0.2, noise_shape=(None, 1, 1, 1))),
        ("input 12\nstochastic_depth 0.5", lambda k, L: L.Dropout(0.5, noise_shape=(None, 1))),
    ],
)
def test_new_layers_match_keras(text, build, keras):
    model = cnndsl.analyze(text)
    shape = tuple(int(d) for d in text.split()[1].split("x"))
    x = keras.Input(shape)
    layer = build(keras, keras.layers)
    twin = keras.Model(x, layer(x))
    assert (None, *model.output_shape) == tuple(twin.output.shape)
    assert (model.total, model.trainable) == (
        twin.count_params(),
        sum(int(np.prod(w.shape)) for w in twin.trainable_weights),
    )
    assert model.layers[-1].keras_type == type(layer).__name__


def test_scaleadd_is_inception_resnet_v2s_custom_scale_layer(keras):
    """`scaleadd(a; b) s` against keras.applications' own CustomScaleLayer: rows, shapes, outputs."""
    import importlib

    custom_scale = importlib.import_module("keras.src.applications.inception_resnet_v2").CustomScaleLayer
    x = keras.Input((5, 5, 4))
    residual = keras.layers.Conv2D(4, 1)(x)
    twin = keras.Model(x, custom_scale(0.17)([x, residual]))
    model = cnndsl.analyze("input 5x5x4\nscaleadd(identity; conv 4 1) 0.17")
    assert [(n.keras_type, n.info.params, (None, *n.shape)) for n in model.nodes[1:]] == [
        (type(layer).__name__, layer.count_params(), tuple(layer.output.shape)) for layer in twin.layers[1:]
    ]
    inputs = np.random.default_rng(3).normal(size=(2, 5, 5, 4)).astype("float32")
    kernel, bias = twin.layers[1].get_weights()
    expected = inputs + 0.17 * (inputs @ kernel[0, 0] + bias)  # x + scale·conv(x), the layer's call
    assert np.allclose(keras.ops.convert_to_numpy(twin(inputs)), expected, atol=1e-5)


def test_dense_on_the_last_axis_counts_every_position():
    model = cnndsl.analyze("input 7x7x96\ndense 384 noflatten")
    assert model.macs == 7 * 7 * 96 * 384  # one 96x384 product per position
