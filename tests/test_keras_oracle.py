"""Keras 3 is the oracle for cnndsl's shape and parameter rules.

(a) One case per layer kind and option: a .cnn text next to the same model
    written with keras.layers by hand here; output shape, count_params() and
    the trainable / non-trainable split must be equal.
(b) A hypothesis property over random valid networks (tests/helpers/netgen.py):
    every summary row's Keras type, output shape and parameters, the totals
    and the split equal those of the independently built Keras twin.
(c) The generator itself reaches every layer kind, keyword (aliases too) and
    option that cnndsl registers, so (b) cannot silently stop covering one,
    and a new layer kind or option fails here until netgen learns it.

Every expected number comes from Keras, never from cnndsl.
"""

from __future__ import annotations

import itertools
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from netgen import ACTIVATIONS as KERAS_ACTIVATIONS
from netgen import networks

import cnndsl
from cnndsl.layers.base import REGISTRY, Choice

pytestmark = pytest.mark.oracle


def weights(ws) -> int:
    return sum(math.prod(w.shape) for w in ws)


def input_shape(text: str) -> tuple[int, ...]:
    first = text.strip().splitlines()[0].split()
    assert first[0] == "input"
    return tuple(int(d) for d in first[1].split("x"))


def seq(*factories):
    """A chain of Keras layers: each factory takes keras.layers and returns a layer."""

    def build(L, x):
        for factory in factories:
            x = factory(L)(x)
        return x

    return build


def keras_numbers(keras, text, build):
    x = keras.Input(shape=input_shape(text))
    model = keras.Model(x, build(keras.layers, x))
    return (
        tuple(model.output.shape)[1:],
        model.count_params(),
        weights(model.trainable_weights),
        weights(model.non_trainable_weights),
    )


def cnndsl_numbers(text):
    model = cnndsl.analyze(text)
    return model.output_shape, model.total, model.trainable, model.non_trainable


def se_dense(L, x):
    """Squeeze-excite with a flat gate: Keras broadcasts (None, C) over (None, H, W, C)."""
    gate = L.Dense(4, activation="sigmoid")(L.Dense(2, activation="relu")(L.GlobalAveragePooling2D()(x)))
    return L.Multiply()([x, gate])


def inception(L, x):
    a = L.Conv2D(4, 1)(x)
    b = L.Conv2D(5, 3, padding="same")(L.Conv2D(3, 1)(x))
    c = L.Conv2D(2, 1)(L.AveragePooling2D(3, strides=1, padding="same")(x))
    return L.Concatenate()([a, b, c])


def resnet_block(L, x):
    short = L.BatchNormalization()(L.Conv2D(8, 1, strides=2)(x))
    body = L.BatchNormalization()(L.Conv2D(8, 3, strides=2, padding="same")(x))
    body = L.BatchNormalization()(L.Conv2D(8, 3, padding="same")(L.Activation("relu")(body)))
    return L.Activation("relu")(L.Add()([short, body]))


P = pytest.param
CASES = [
    # conv: 2-D
    P("input 32x32x3\nconv 8 5x5", seq(lambda L: L.Conv2D(8, 5)), id="conv"),
    P("input 32x32x3\nconv 8 5", seq(lambda L: L.Conv2D(8, 5)), id="conv-kernel-int"),
    P("input 9x11x3\nconv 4 3x5", seq(lambda L: L.Conv2D(4, (3, 5))), id="conv-kernel-rect"),
    P("input 9x9x3\nconv 4 3 stride 2", seq(lambda L: L.Conv2D(4, 3, strides=2)), id="conv-stride"),
    P("input 10x10x3\nconv 4 4 stride 3", seq(lambda L: L.Conv2D(4, 4, strides=3)), id="conv-stride-floor"),
    P("input 9x10x3\nconv 4 3 stride 2x1", seq(lambda L: L.Conv2D(4, 3, strides=(2, 1))), id="conv-stride-rect"),
    P("input 7x7x3\nconv 4 3 same", seq(lambda L: L.Conv2D(4, 3, padding="same")), id="conv-same"),
    P(
        "input 7x8x3\nconv 4 4 stride 2 same",
        seq(lambda L: L.Conv2D(4, 4, strides=2, padding="same")),
        id="conv-same-stride",
    ),
    P("input 8x8x3\nconv 4 3 valid", seq(lambda L: L.Conv2D(4, 3, padding="valid")), id="conv-valid"),
    P("input 12x12x3\nconv 4 3 dilation 2", seq(lambda L: L.Conv2D(4, 3, dilation_rate=2)), id="conv-dilation"),
    P(
        "input 12x12x3\nconv 4 3 dilation 3 same",
        seq(lambda L: L.Conv2D(4, 3, dilation_rate=3, padding="same")),
        id="conv-dilation-same",
    ),
    P(
        "input 12x12x3\nconv 4 3 dilation 2x1",
        seq(lambda L: L.Conv2D(4, 3, dilation_rate=(2, 1))),
        id="conv-dilation-rect",
    ),
    P("input 8x8x4\nconv 6 3 groups 2", seq(lambda L: L.Conv2D(6, 3, groups=2)), id="conv-groups"),
    P(
        "input 8x8x8\nconv 8 1 groups 4 nobias",
        seq(lambda L: L.Conv2D(8, 1, groups=4, use_bias=False)),
        id="conv-groups-nobias",
    ),
    P("input 8x8x3\nconv 4 3 nobias", seq(lambda L: L.Conv2D(4, 3, use_bias=False)), id="conv-nobias"),
    P("input 8x8x3\nconv 4 3 relu", seq(lambda L: L.Conv2D(4, 3, activation="relu")), id="conv-act"),
    P(
        "input 8x8x3\nconv 4 3 leakyrelu",
        seq(lambda L: L.Conv2D(4, 3, activation="leaky_relu")),
        id="conv-act-leaky",
    ),
    P("input 8x8x3\nconv 4 3 pad 1", seq(lambda L: L.ZeroPadding2D(1), lambda L: L.Conv2D(4, 3)), id="conv-pad"),
    P(
        "input 9x9x3\nconv 4 3 pad 2 stride 2 valid",
        seq(lambda L: L.ZeroPadding2D(2), lambda L: L.Conv2D(4, 3, strides=2)),
        id="conv-pad-stride",
    ),
    P("input 8x8x3\nconv2d 4 3", seq(lambda L: L.Conv2D(4, 3)), id="conv2d-alias"),
    # conv: 1-D and 3-D
    P("input 20x3\nconv 4 3", seq(lambda L: L.Conv1D(4, 3)), id="conv1d"),
    P(
        "input 20x3\nconv1d 4 5 stride 3 same",
        seq(lambda L: L.Conv1D(4, 5, strides=3, padding="same")),
        id="conv1d-same",
    ),
    P("input 20x3\nconv 4 3 causal", seq(lambda L: L.Conv1D(4, 3, padding="causal")), id="conv1d-causal"),
    P(
        "input 20x3\nconv 4 3 causal dilation 4",
        seq(lambda L: L.Conv1D(4, 3, padding="causal", dilation_rate=4)),
        id="conv1d-causal-dilation",
    ),
    P(
        "input 21x3\nconv 4 3 causal stride 2",
        seq(lambda L: L.Conv1D(4, 3, padding="causal", strides=2)),
        id="conv1d-causal-stride",
    ),
    P("input 20x4\nconv 6 3 groups 2", seq(lambda L: L.Conv1D(6, 3, groups=2)), id="conv1d-groups"),
    P("input 6x7x8x2\nconv 4 3", seq(lambda L: L.Conv3D(4, 3)), id="conv3d"),
    P(
        "input 6x7x8x2\nconv3d 4 3 stride 2 same",
        seq(lambda L: L.Conv3D(4, 3, strides=2, padding="same")),
        id="conv3d-same",
    ),
    P("input 6x7x8x2\nconv 4 2x3x1", seq(lambda L: L.Conv3D(4, (2, 3, 1))), id="conv3d-rect"),
    P("input 6x6x6x4\nconv 4 1 groups 2", seq(lambda L: L.Conv3D(4, 1, groups=2)), id="conv3d-groups"),
    # depthwise and separable
    P("input 8x8x3\ndwconv 3x3", seq(lambda L: L.DepthwiseConv2D(3)), id="dwconv"),
    P("input 8x8x3\ndwconv 3 mult 2", seq(lambda L: L.DepthwiseConv2D(3, depth_multiplier=2)), id="dwconv-mult"),
    P(
        "input 9x9x3\ndwconv 3 stride 2 same",
        seq(lambda L: L.DepthwiseConv2D(3, strides=2, padding="same")),
        id="dwconv-stride-same",
    ),
    P("input 9x9x3\ndwconv 3 dilation 2", seq(lambda L: L.DepthwiseConv2D(3, dilation_rate=2)), id="dwconv-dilation"),
    P(
        "input 8x8x3\ndepthwise 3 nobias relu6",
        seq(lambda L: L.DepthwiseConv2D(3, use_bias=False, activation="relu6")),
        id="dwconv-nobias-act",
    ),
    P("input 16x3\ndwconv 3 mult 3", seq(lambda L: L.DepthwiseConv1D(3, depth_multiplier=3)), id="dwconv1d"),
    P("input 8x8x3\nsepconv 16 3x3", seq(lambda L: L.SeparableConv2D(16, 3)), id="sepconv"),
    P(
        "input 8x8x3\nsepconv 16 3 mult 2",
        seq(lambda L: L.SeparableConv2D(16, 3, depth_multiplier=2)),
        id="sepconv-mult",
    ),
    P(
        "input 9x9x3\nseparable 8 3 stride 2 same nobias",
        seq(lambda L: L.SeparableConv2D(8, 3, strides=2, padding="same", use_bias=False)),
        id="sepconv-stride-same-nobias",
    ),
    P(
        "input 9x9x3\nsepconv 8 3 dilation 2 swish",
        seq(lambda L: L.SeparableConv2D(8, 3, dilation_rate=2, activation="swish")),
        id="sepconv-dilation-act",
    ),
    P("input 16x3\nsepconv 5 3", seq(lambda L: L.SeparableConv1D(5, 3)), id="sepconv1d"),
    # transposed
    P("input 5x5x3\ndeconv 8 3", seq(lambda L: L.Conv2DTranspose(8, 3)), id="deconv"),
    P("input 5x5x3\ndeconv 8 3 stride 2", seq(lambda L: L.Conv2DTranspose(8, 3, strides=2)), id="deconv-stride"),
    P(
        "input 5x5x3\ndeconv 8 2 stride 3",
        seq(lambda L: L.Conv2DTranspose(8, 2, strides=3)),
        id="deconv-stride-above-kernel",
    ),
    P(
        "input 5x5x3\ndeconv 8 3 stride 2 same",
        seq(lambda L: L.Conv2DTranspose(8, 3, strides=2, padding="same")),
        id="deconv-same",
    ),
    P(
        "input 5x5x3\ndeconv 8 3 stride 2 outpad 1",
        seq(lambda L: L.Conv2DTranspose(8, 3, strides=2, output_padding=1)),
        id="deconv-outpad",
    ),
    P(
        "input 5x5x3\ndeconv 8 4 stride 3 same outpad 2",
        seq(lambda L: L.Conv2DTranspose(8, 4, strides=3, padding="same", output_padding=2)),
        id="deconv-outpad-same-even",
    ),
    P(
        "input 5x6x3\ndeconv 8 3 stride 2 same outpad 1x0",
        seq(lambda L: L.Conv2DTranspose(8, 3, strides=2, padding="same", output_padding=(1, 0))),
        id="deconv-outpad-rect",
    ),
    P(
        "input 5x5x3\ndeconv 8 3 dilation 2",
        seq(lambda L: L.Conv2DTranspose(8, 3, dilation_rate=2)),
        id="deconv-dilation",
    ),
    P(
        "input 5x5x3\nconvtranspose 8 4 dilation 2 same nobias",
        seq(lambda L: L.Conv2DTranspose(8, 4, dilation_rate=2, padding="same", use_bias=False)),
        id="deconv-dilation-same-nobias",
    ),
    P("input 7x3\ndeconv 4 3 stride 2", seq(lambda L: L.Conv1DTranspose(4, 3, strides=2)), id="deconv1d"),
    P(
        "input 3x4x5x2\ndeconv 4 3 stride 2 same",
        seq(lambda L: L.Conv3DTranspose(4, 3, strides=2, padding="same")),
        id="deconv3d",
    ),
    # pooling
    P("input 9x9x3\nmaxpool 2", seq(lambda L: L.MaxPooling2D(2)), id="maxpool"),
    P("input 9x9x3\nmaxpool", seq(lambda L: L.MaxPooling2D()), id="maxpool-default"),
    P("input 9x9x3\npool 3 stride 2", seq(lambda L: L.MaxPooling2D(3, strides=2)), id="pool-stride"),
    P("input 9x9x3\npool 3 stride 2 same", seq(lambda L: L.MaxPooling2D(3, strides=2, padding="same")), id="pool-same"),
    P(
        "input 3x3x3\nmaxpool 5 stride 1 same",
        seq(lambda L: L.MaxPooling2D(5, strides=1, padding="same")),
        id="pool-same-big",
    ),
    P("input 9x8x3\nmaxpool 3x2", seq(lambda L: L.MaxPooling2D((3, 2))), id="maxpool-rect"),
    P("input 9x9x3\navgpool 2", seq(lambda L: L.AveragePooling2D(2)), id="avgpool"),
    P(
        "input 9x9x3\navgpool 3 stride 1 same",
        seq(lambda L: L.AveragePooling2D(3, strides=1, padding="same")),
        id="avgpool-same",
    ),
    P("input 17x3\nmaxpool 3", seq(lambda L: L.MaxPooling1D(3)), id="maxpool1d"),
    P(
        "input 17x3\navgpool 2 stride 3 same",
        seq(lambda L: L.AveragePooling1D(2, strides=3, padding="same")),
        id="avgpool1d",
    ),
    P("input 5x6x7x2\nmaxpool 2", seq(lambda L: L.MaxPooling3D(2)), id="maxpool3d"),
    P("input 5x6x7x2\navgpool 2 same", seq(lambda L: L.AveragePooling3D(2, padding="same")), id="avgpool3d"),
    P("input 9x9x3\ngap", seq(lambda L: L.GlobalAveragePooling2D()), id="gap"),
    P("input 9x9x3\ngmp", seq(lambda L: L.GlobalMaxPooling2D()), id="gmp"),
    P("input 9x9x3\ngap keepdims", seq(lambda L: L.GlobalAveragePooling2D(keepdims=True)), id="gap-keepdims"),
    P("input 9x3\ngmp keepdims", seq(lambda L: L.GlobalMaxPooling1D(keepdims=True)), id="gmp1d-keepdims"),
    P("input 4x5x6x3\ngap", seq(lambda L: L.GlobalAveragePooling3D()), id="gap3d"),
    # dense and friends
    P("input 20\ndense 10", seq(lambda L: L.Dense(10)), id="dense"),
    P(
        "input 20\nfc 10 softmax nobias",
        seq(lambda L: L.Dense(10, activation="softmax", use_bias=False)),
        id="dense-nobias",
    ),
    P("input 5x5x16\ndense 120", seq(lambda L: L.Flatten(), lambda L: L.Dense(120)), id="dense-implicit-flatten"),
    P("input 7x3\ndense 4", seq(lambda L: L.Flatten(), lambda L: L.Dense(4)), id="dense-after-sequence"),
    P("input 5x5x16\nflatten", seq(lambda L: L.Flatten()), id="flatten"),
    P("input 5x5x16\ndropout 0.25", seq(lambda L: L.Dropout(0.25)), id="dropout"),
    # normalisation
    P("input 8x8x6\nbn", seq(lambda L: L.BatchNormalization()), id="bn"),
    P("input 8x8x6\nbn noscale", seq(lambda L: L.BatchNormalization(scale=False)), id="bn-noscale"),
    P("input 8x8x6\nbn nocenter", seq(lambda L: L.BatchNormalization(center=False)), id="bn-nocenter"),
    P(
        "input 8x8x6\nbatchnorm noscale nocenter eps 1.001e-5 momentum 0.9",
        seq(lambda L: L.BatchNormalization(scale=False, center=False, epsilon=1.001e-5, momentum=0.9)),
        id="bn-bare",
    ),
    P("input 12\nbn", seq(lambda L: L.BatchNormalization()), id="bn-flat"),
    P("input 12x5\nbn", seq(lambda L: L.BatchNormalization()), id="bn-sequence"),
    P("input 8x8x6\nlayernorm", seq(lambda L: L.LayerNormalization()), id="layernorm"),
    P("input 8x8x6\nln noscale", seq(lambda L: L.LayerNormalization(scale=False)), id="layernorm-noscale"),
    P(
        "input 12\nlayernorm nocenter eps 1e-6",
        seq(lambda L: L.LayerNormalization(center=False, epsilon=1e-6)),
        id="layernorm-flat",
    ),
    P("input 8x8x6\nrescale 1/255", seq(lambda L: L.Rescaling(1 / 255)), id="rescale"),
    P("input 8x8x6\nrescaling 2 offset 1", seq(lambda L: L.Rescaling(2.0, offset=1.0)), id="rescale-offset"),
    P("input 8x8x6\nnormalize", seq(lambda L: L.Normalization()), id="normalize"),
    P("input 12\nnormalization", seq(lambda L: L.Normalization()), id="normalize-flat"),
    # activation layers with their own Keras classes
    P("input 8x8x6\nrelu6", seq(lambda L: L.ReLU(max_value=6.0)), id="relu6"),
    P("input 8x8x6\nleakyrelu", seq(lambda L: L.LeakyReLU()), id="leakyrelu"),
    P("input 8x8x6\nleakyrelu 0.1", seq(lambda L: L.LeakyReLU(negative_slope=0.1)), id="leakyrelu-alpha"),
    P("input 8x8x6\nleaky_relu 0.3", seq(lambda L: L.LeakyReLU(negative_slope=0.3)), id="leaky_relu-alias"),
    # padding, cropping, resizing
    P("input 8x8x3\nzeropad 3", seq(lambda L: L.ZeroPadding2D(3)), id="zeropad"),
    P("input 8x8x3\nzeropad 1x2", seq(lambda L: L.ZeroPadding2D((1, 2))), id="zeropad-axes"),
    P("input 8x8x3\nzeropad 1 2", seq(lambda L: L.ZeroPadding2D((1, 2))), id="zeropad-axes-spaced"),
    P("input 8x8x3\npad 0 1 2 3", seq(lambda L: L.ZeroPadding2D(((0, 1), (2, 3)))), id="zeropad-sides"),
    P("input 8x3\nzeropad 2", seq(lambda L: L.ZeroPadding1D(2)), id="zeropad1d"),
    P("input 8x3\nzeropad 0 3", seq(lambda L: L.ZeroPadding1D((0, 3))), id="zeropad1d-sides"),
    P("input 4x5x6x2\nzeropad 1 2 3", seq(lambda L: L.ZeroPadding3D((1, 2, 3))), id="zeropad3d-axes"),
    P(
        "input 4x5x6x2\nzeropad 0 1 1 0 2 2",
        seq(lambda L: L.ZeroPadding3D(((0, 1), (1, 0), (2, 2)))),
        id="zeropad3d-sides",
    ),
    P("input 8x8x3\ncrop 2", seq(lambda L: L.Cropping2D(2)), id="crop"),
    P("input 8x8x3\ncrop 1x3", seq(lambda L: L.Cropping2D((1, 3))), id="crop-axes"),
    P("input 8x8x3\ncropping 0 1 2 3", seq(lambda L: L.Cropping2D(((0, 1), (2, 3)))), id="crop-sides"),
    P("input 8x3\ncrop 1 2", seq(lambda L: L.Cropping1D((1, 2))), id="crop1d-sides"),
    P("input 4x5x6x2\ncrop 1", seq(lambda L: L.Cropping3D(1)), id="crop3d"),
    P("input 8x8x3\nupsample", seq(lambda L: L.UpSampling2D()), id="upsample-default"),
    P("input 8x8x3\nupsample 3", seq(lambda L: L.UpSampling2D(3)), id="upsample"),
    P("input 8x8x3\nupsampling 2x3", seq(lambda L: L.UpSampling2D((2, 3))), id="upsample-axes"),
    P(
        "input 8x8x3\nupsample 2 bilinear",
        seq(lambda L: L.UpSampling2D(2, interpolation="bilinear")),
        id="upsample-bilinear",
    ),
    P("input 8x3\nupsample 3", seq(lambda L: L.UpSampling1D(3)), id="upsample1d"),
    P("input 2x3x4x2\nupsample 2 nearest", seq(lambda L: L.UpSampling3D(2)), id="upsample3d"),
    P("input 7x7x4\nreshape 49x4", seq(lambda L: L.Reshape((49, 4))), id="reshape"),
    P("input 196\nreshape 7x7x4", seq(lambda L: L.Reshape((7, 7, 4))), id="reshape-flat-to-image"),
    P("input 7x7x4\nreshape -1x4", seq(lambda L: L.Reshape((-1, 4))), id="reshape-unknown"),
    P("input 7x7x4\nreshape 196", seq(lambda L: L.Reshape((196,))), id="reshape-to-flat"),
    P("input 4\nreshape 1 1 4", seq(lambda L: L.Reshape((1, 1, 4))), id="reshape-axes-spaced"),
    P("input 2x3x4x5\nreshape 6x4x5", seq(lambda L: L.Reshape((6, 4, 5))), id="reshape-volume"),
    # branches
    P(
        "input 8x8x4\nadd(identity; conv 4 3 same | bn | relu)",
        lambda L, x: L.Add()([x, L.Activation("relu")(L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(x)))]),
        id="add-identity",
    ),
    P(
        "input 8x8x4\nresidual(conv 4 3 same)",
        lambda L, x: L.Add()([x, L.Conv2D(4, 3, padding="same")(x)]),
        id="residual",
    ),
    P(
        "input 8x8x4\nadd(conv 8 1 stride 2 | bn; conv 8 3 stride 2 same | bn | relu | conv 8 3 same | bn) | relu",
        resnet_block,
        id="add-projection",
    ),
    P(
        "input 8x8x4\nadd(identity; relu; conv 4 1)",
        lambda L, x: L.Add()([x, L.Activation("relu")(x), L.Conv2D(4, 1)(x)]),
        id="add-three",
    ),
    P(
        "input 8x8x4\nconcat(conv 4 1; conv 3 1 | conv 5 3 same; avgpool 3 stride 1 same | conv 2 1)",
        inception,
        id="concat-inception",
    ),
    P(
        "input 8x8x4\nconcatenate(identity; maxpool 3 stride 1 same)",
        lambda L, x: L.Concatenate()([x, L.MaxPooling2D(3, strides=1, padding="same")(x)]),
        id="concat-identity",
    ),
    P(
        "input 10\nconcat(dense 3; dense 4; identity)",
        lambda L, x: L.Concatenate()([L.Dense(3)(x), L.Dense(4)(x), x]),
        id="concat-flat",
    ),
    P(
        "input 12x3\nconcat(conv 2 3 same; conv 5 1)",
        lambda L, x: L.Concatenate()([L.Conv1D(2, 3, padding="same")(x), L.Conv1D(5, 1)(x)]),
        id="concat-sequence",
    ),
    P(
        "input 8x8x4\nmultiply(identity; gap keepdims | conv 2 1 relu | conv 4 1 sigmoid)",
        lambda L, x: L.Multiply()(
            [
                x,
                L.Conv2D(4, 1, activation="sigmoid")(
                    L.Conv2D(2, 1, activation="relu")(L.GlobalAveragePooling2D(keepdims=True)(x))
                ),
            ]
        ),
        id="multiply-se-conv",
    ),
    P("input 8x8x4\nmultiply(identity; gap | dense 2 relu | dense 4 sigmoid)", se_dense, id="multiply-se-dense"),
    P(
        "input 8x8x4\nmultiply(identity; gap | dense 4 sigmoid | reshape 1x1x4)",
        lambda L, x: L.Multiply()(
            [x, L.Reshape((1, 1, 4))(L.Dense(4, activation="sigmoid")(L.GlobalAveragePooling2D()(x)))]
        ),
        id="multiply-se-reshape",
    ),
    P(
        "input 8x8x4\nmultiply(gap keepdims; conv 1 1)",
        lambda L, x: L.Multiply()([L.GlobalAveragePooling2D(keepdims=True)(x), L.Conv2D(1, 1)(x)]),
        id="multiply-both-broadcast",
    ),
    P(
        "input 8x8x4\nsubtract(identity; conv 4 1)",
        lambda L, x: L.Subtract()([x, L.Conv2D(4, 1)(x)]),
        id="subtract",
    ),
    P(
        "input 8x8x4\naverage(identity; avgpool 3 stride 1 same; tanh)",
        lambda L, x: L.Average()([x, L.AveragePooling2D(3, strides=1, padding="same")(x), L.Activation("tanh")(x)]),
        id="average",
    ),
    P("input 6\nmaximum(identity; dense 6)", lambda L, x: L.Maximum()([x, L.Dense(6)(x)]), id="maximum"),
    P(
        "input 6\nminimum(dense 6; relu6)",
        lambda L, x: L.Minimum()([L.Dense(6)(x), L.ReLU(max_value=6.0)(x)]),
        id="minimum",
    ),
    P(
        "input 8x8x4\nadd(identity; concat(conv 2 1; conv 2 3 same) | bn)",
        lambda L, x: L.Add()(
            [x, L.BatchNormalization()(L.Concatenate()([L.Conv2D(2, 1)(x), L.Conv2D(2, 3, padding="same")(x)]))]
        ),
        id="nested",
    ),
]

# Every plain activation layer: (cnndsl keyword, Keras activation name), written out by hand.
ACTIVATION_LAYERS = [
    ("relu", "relu"),
    ("sigmoid", "sigmoid"),
    ("tanh", "tanh"),
    ("softmax", "softmax"),
    ("swish", "swish"),
    ("silu", "silu"),
    ("gelu", "gelu"),
    ("elu", "elu"),
    ("selu", "selu"),
    ("softplus", "softplus"),
    ("softsign", "softsign"),
    ("hardsigmoid", "hard_sigmoid"),
    ("hard_sigmoid", "hard_sigmoid"),
    ("hardswish", "hard_swish"),
    ("hard_swish", "hard_swish"),
    ("mish", "mish"),
    ("linear", "linear"),
]


@pytest.mark.parametrize(("text", "build"), CASES)
def test_layer_kind_against_keras(text, build, keras):
    assert cnndsl_numbers(text) == keras_numbers(keras, text, build)


@pytest.mark.parametrize(("keyword", "name"), ACTIVATION_LAYERS, ids=[k for k, _ in ACTIVATION_LAYERS])
def test_activation_layer_against_keras(keyword, name, keras):
    text = f"input 6x5x3\nconv 4 3 | {keyword}"
    build = seq(lambda L: L.Conv2D(4, 3), lambda L: L.Activation(name))
    assert cnndsl_numbers(text) == keras_numbers(keras, text, build)
    model = cnndsl.analyze(text)
    assert model.layers[-1].keras_type == "Activation"


@pytest.mark.parametrize("keyword", sorted(KERAS_ACTIVATIONS))
def test_fused_activation_against_keras(keyword, keras):
    text = f"input 6x5x3\nconv 4 3 {keyword} | dense 2 {keyword}"
    name = KERAS_ACTIVATIONS[keyword]
    build = seq(
        lambda L: L.Conv2D(4, 3, activation=name),
        lambda L: L.Flatten(),
        lambda L: L.Dense(2, activation=name),
    )
    assert cnndsl_numbers(text) == keras_numbers(keras, text, build)
    assert len(cnndsl.analyze(text).layers) == 3  # fused: no separate activation rows


def window_cases(L):
    """1-D sliding-window layers over a grid of sizes: (cnndsl text, Keras layer, input shape)."""
    for n, k, s, d, p in itertools.product(
        range(1, 10), range(1, 7), range(1, 5), range(1, 4), ["valid", "same", "causal"]
    ):
        if s == 1 or d == 1:
            yield (
                f"input {n}x2\nconv 3 {k} stride {s} dilation {d} {p}",
                L.Conv1D(3, k, strides=s, dilation_rate=d, padding=p),
            )
    for n, k, s, d, p in itertools.product(range(1, 8), range(1, 6), range(1, 5), range(1, 3), ["valid", "same"]):
        if s > 1 and d > 1:
            continue
        for outpad in [None, *range(s)]:
            extra = f" outpad {outpad}" if outpad is not None else ""
            yield (
                f"input {n}x2\ndeconv 3 {k} stride {s} dilation {d} {p}{extra}",
                L.Conv1DTranspose(3, k, strides=s, dilation_rate=d, padding=p, output_padding=outpad),
            )
    for n, k, s, p in itertools.product(range(1, 10), range(1, 6), range(1, 5), ["valid", "same"]):
        yield f"input {n}x2\nmaxpool {k} stride {s} {p}", L.MaxPooling1D(k, strides=s, padding=p)
        yield f"input {n}x2\navgpool {k} stride {s} {p}", L.AveragePooling1D(k, strides=s, padding=p)


def test_window_arithmetic_sweep(keras):
    """Every small combination of size, kernel, stride, dilation, padding and output padding:
    the same output length as Keras's own shape rule, and rejected exactly when Keras gives
    an empty (or no) output."""
    disagreements = []
    for text, layer in window_cases(keras.layers):
        n = input_shape(text)
        try:
            theirs = tuple(layer.compute_output_shape((None, *n)))[1:]
            if any(d is None or d <= 0 for d in theirs):
                theirs = None
        except ValueError:
            theirs = None
        try:
            ours = cnndsl.analyze(text).output_shape
        except cnndsl.CnnError:
            ours = None
        if ours != theirs:
            disagreements.append((text, theirs, ours))
    assert disagreements == []


# (b) random networks


def keras_rows(layers):
    return [
        (
            type(layer).__name__,
            tuple(layer.output.shape)[1:],
            weights(layer.trainable_weights),
            weights(layer.non_trainable_weights),
        )
        for layer in layers
    ]


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(net=networks())
def test_random_networks_against_keras(net, keras):
    model = cnndsl.analyze(net.text)
    layers: list = []
    built = net.build_keras(keras, record=layers)
    why = f"\n{net.text}\nKeras:\n{net.keras_source()}"
    expected = keras_rows(layers)
    got = [(node.keras_type, node.shape, node.info.trainable, node.info.non_trainable) for node in model.layers]
    assert got == expected, why
    labels = [(node.name, layer.name) for node, layer in zip(model.layers, layers) if re.fullmatch(r"n\d+", layer.name)]
    assert all(ours == theirs for ours, theirs in labels), why
    assert model.output_shape == tuple(built.output.shape)[1:] == net.output_shape, why
    assert model.total == built.count_params(), why
    assert (model.trainable, model.non_trainable) == (
        weights(built.trainable_weights),
        weights(built.non_trainable_weights),
    ), why


# (c) the generator covers every kind, keyword and option cnndsl registers

COVERAGE_EXAMPLES = 900  # generation only (no Keras): cheap; the 150 Keras examples above share its distribution


# PyTorch's own layers and options, which netgen does not draw: tests/layers/test_pytorch.py checks them against
# PyTorch, tests/emit/test_emit_numeric.py Keras's forms of them (ChannelShuffle, Chunk, MaxPoolPadded) against it.
PYTORCH_ONLY = {"shuffle", "channel_shuffle", "chunk", ("maxpool", "pad"), ("maxpool", "ceil")}
# Token ids: netgen's networks and the tools run on them take float inputs; tests/layers/test_embedding.py
# builds `input L int | embedding V D` in Keras and PyTorch, runs both on ids and counts with every tool.
PYTORCH_ONLY |= {"embedding", "embed", ("input", "integers")}


def required_features():
    """(keyword, option) pairs: every keyword of every layer kind, each non-choice option,
    each padding/interpolation choice; the fused activations are checked across kinds."""
    required = set()
    for keyword, kind in REGISTRY.items():
        if keyword in PYTORCH_ONLY:
            continue
        required.add(((keyword,), ""))
        keywords = tuple(k for k, c in REGISTRY.items() if c is kind)
        for arg in kind.ARGS:
            if (keywords[0], arg.name) in PYTORCH_ONLY:
                continue
            if isinstance(arg.type, Choice) and arg.name != "activation":
                required |= {(keywords, f"{arg.name}={choice}") for choice in arg.type.choices}
            else:
                required.add((keywords, arg.name))
    return required


def test_generator_covers_every_layer_kind_and_option():
    seen: set = set()

    @settings(max_examples=COVERAGE_EXAMPLES, derandomize=True, database=None, deadline=None)
    @given(net=networks())
    def collect(net):
        seen.update(net.features)

    collect()
    missing = sorted(
        (keywords[0], option)
        for keywords, option in required_features()
        if not any((k, option) in seen for k in keywords)
    )
    assert missing == [], f"netgen never produces: {missing}"
    fused = {option.split("=", 1)[1] for _, option in seen if option.startswith("activation=")}
    choices = next(arg for arg in REGISTRY["conv"].ARGS if arg.name == "activation").type.choices
    assert set(choices) - fused == set(), "no layer in netgen uses these fused activations"
    assert {("input", f"rank={r}") for r in (1, 2, 3, 4)} <= seen
