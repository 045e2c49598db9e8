"""The language as the design sketch writes it: each line parses with its meaning.

Expected shapes and counts are hand arithmetic with Keras's rules
(valid: floor((n - k) / s) + 1; same: ceil(n / s); conv: (k*k*Cin + 1) * F).
"""

from __future__ import annotations

import pytest

import cnndsl
from cnndsl.core.errors import CnnError


def summary(text: str) -> list[tuple[str, tuple, int]]:
    return [(n.keras_type, n.shape, n.info.params) for n in cnndsl.analyze(text).layers]


def last(text: str):
    return cnndsl.analyze(text).layers[-1]


SKETCH = """\
input 224x224x3          # first statement, exactly once
conv 64 3x3              # filters, kernel (3 == 3x3)
conv 64 3x3 stride 2 same relu    # options: stride, same|valid, pad P,
                                  # dilation D, groups G, nobias, act
maxpool 2                # stride defaults to the pool size (Keras)
pool 3 stride 2 same     # `pool` is maxpool
avgpool 2 | gap | dense 8
"""


def test_sketch_lines_parse_with_their_meaning():
    assert summary(SKETCH) == [
        ("Conv2D", (222, 222, 64), (3 * 3 * 3 + 1) * 64),
        ("Conv2D", (111, 111, 64), (3 * 3 * 64 + 1) * 64),
        ("MaxPooling2D", (55, 55, 64), 0),
        ("MaxPooling2D", (28, 28, 64), 0),
        ("AveragePooling2D", (14, 14, 64), 0),
        ("GlobalAveragePooling2D", (64,), 0),
        ("Dense", (8,), 64 * 8 + 8),
    ]


@pytest.mark.parametrize(
    "line, keras_type, shape, params",
    [
        ("dwconv 3x3 mult 2", "DepthwiseConv2D", (14, 14, 32), 3 * 3 * 16 * 2 + 32),
        ("sepconv 128 3x3", "SeparableConv2D", (14, 14, 128), 3 * 3 * 16 + 16 * 128 + 128),
        ("deconv 32 3x3 stride 2", "Conv2DTranspose", (33, 33, 32), 3 * 3 * 16 * 32 + 32),
        ("deconv 32 3x3 stride 2 same", "Conv2DTranspose", (32, 32, 32), 3 * 3 * 16 * 32 + 32),
        ("deconv 32 3x3 stride 2 outpad 1", "Conv2DTranspose", (34, 34, 32), 3 * 3 * 16 * 32 + 32),
        ("bn", "BatchNormalization", (16, 16, 16), 4 * 16),
        ("bn noscale", "BatchNormalization", (16, 16, 16), 3 * 16),
        ("bn nocenter noscale", "BatchNormalization", (16, 16, 16), 2 * 16),
        ("layernorm", "LayerNormalization", (16, 16, 16), 2 * 16),
        ("dropout 0.25", "Dropout", (16, 16, 16), 0),
        ("flatten", "Flatten", (16 * 16 * 16,), 0),
        ("dense 10 softmax", "Dense", (10,), 16 * 16 * 16 * 10 + 10),
        ("dense 10 nobias", "Dense", (10,), 16 * 16 * 16 * 10),
        ("relu", "Activation", (16, 16, 16), 0),
        ("relu6", "ReLU", (16, 16, 16), 0),
        ("softmax", "Activation", (16, 16, 16), 0),
        ("swish", "Activation", (16, 16, 16), 0),
        ("silu", "Activation", (16, 16, 16), 0),
        ("gelu", "Activation", (16, 16, 16), 0),
        ("elu", "Activation", (16, 16, 16), 0),
        ("sigmoid", "Activation", (16, 16, 16), 0),
        ("tanh", "Activation", (16, 16, 16), 0),
        ("leakyrelu 0.2", "LeakyReLU", (16, 16, 16), 0),
        ("zeropad 3", "ZeroPadding2D", (22, 22, 16), 0),
        ("zeropad 1x2", "ZeroPadding2D", (18, 20, 16), 0),
        ("zeropad 0 1 2 3", "ZeroPadding2D", (17, 21, 16), 0),
        ("upsample 2", "UpSampling2D", (32, 32, 16), 0),
        ("reshape 256x16", "Reshape", (256, 16), 0),
        ("reshape 4x-1", "Reshape", (4, 1024), 0),
        ("reshape -1", "Reshape", (4096,), 0),
        ("reshape 16 -1", "Reshape", (16, 256), 0),
        ("reshape -1 8x4", "Reshape", (128, 8, 4), 0),
        ("gmp", "GlobalMaxPooling2D", (16,), 0),
        ("gap keepdims", "GlobalAveragePooling2D", (1, 1, 16), 0),
        ("conv 8 3 pad 1", "Conv2D", (16, 16, 8), (3 * 3 * 16 + 1) * 8),
        ("conv 8 3 dilation 2", "Conv2D", (12, 12, 8), (3 * 3 * 16 + 1) * 8),
        ("conv 8 3 groups 4 nobias", "Conv2D", (14, 14, 8), 3 * 3 * 4 * 8),
        ("conv 8 4x4 stride 2 same", "Conv2D", (8, 8, 8), (4 * 4 * 16 + 1) * 8),
        ("conv 8 3x1 stride 1x2", "Conv2D", (14, 8, 8), (3 * 16 + 1) * 8),
        ("maxpool 3 stride 2 same", "MaxPooling2D", (8, 8, 16), 0),
        ("avgpool 3 stride 1 same", "AveragePooling2D", (16, 16, 16), 0),
        ("rescale 1/255", "Rescaling", (16, 16, 16), 0),
        ("rescale 1/127.5 offset -1", "Rescaling", (16, 16, 16), 0),
        ("rescale 2 offset=-0.5", "Rescaling", (16, 16, 16), 0),
        ("normalize", "Normalization", (16, 16, 16), 2 * 16 + 1),
        ("crop 1 2 3 4", "Cropping2D", (13, 9, 16), 0),
    ],
)
def test_each_layer_line(line, keras_type, shape, params):
    node = last(f"input 16x16x16\n{line}\n")
    assert (node.keras_type, node.shape, node.info.params) == (keras_type, shape, params)


def test_batch_norm_split_is_2c_non_trainable():
    node = last("input 8x8x24 | bn")
    assert (node.info.trainable, node.info.non_trainable) == (48, 48)


@pytest.mark.parametrize(
    "text, keras_type, shape",
    [
        ("input 100x8 | conv 4 5", "Conv1D", (96, 4)),
        ("input 28x28x1 | conv 4 5", "Conv2D", (24, 24, 4)),
        ("input 10x28x28x1 | conv 4 5", "Conv3D", (6, 24, 24, 4)),
        ("input 100x8 | conv 4 5 causal", "Conv1D", (100, 4)),
        ("input 784 | dense 10", "Dense", (10,)),
    ],
)
def test_input_rank_picks_the_convolution(text, keras_type, shape):
    node = last(text)
    assert (node.keras_type, node.shape) == (keras_type, shape)


def test_separators_comments_crlf_and_tabs_mean_the_same():
    plain = "input 32x32x3\nconv 8 5x5\npool 2\ndense 120\n"
    variants = [
        "input 32x32x3 | conv 8 5x5 | pool 2 | dense 120",
        "input 32x32x3\r\nconv 8 5x5\r\npool 2\r\ndense 120\r\n",
        "# a comment\n\ninput\t32x32x3   # trailing\n\n\tconv 8 5x5 | pool 2\ndense\t120",
        "input 32x32x3 |\n  conv 8 5x5 | pool 2 | dense 120\n".replace("|\n  ", "| "),
    ]
    expected = summary(plain)
    for text in variants:
        assert summary(text) == expected, text


def test_a_choice_may_be_named_before_its_value_as_keras_names_it():
    # Keras's own spellings: Conv2D(8, 3, padding="same", activation="relu").
    bare = cnndsl.analyze("input 8x8x3 | conv 8 3 same relu | avgpool 2 same")
    for text in (
        "input 8x8x3 | conv 8 3 padding same activation relu | avgpool 2 padding same",
        "input 8x8x3 | conv 8 3 padding=same activation=relu | avgpool 2 padding=same",
    ):
        named = cnndsl.analyze(text)
        assert [(n.info, n.layer.options) for n in named.layers] == [(n.info, n.layer.options) for n in bare.layers]
    assert [n.shape for n in bare.layers] == [(8, 8, 8), (4, 4, 8)]


def test_layer_names_flow_into_the_summary():
    model = cnndsl.analyze("input 28x28x1\nconv1: conv 8 3\nconv 8 3\nhead: dense 10")
    assert [n.name for n in model.layers] == ["conv1", "conv2d", "flatten", "head"]


def test_default_names_count_per_class_like_keras():
    model = cnndsl.analyze("input 8x8x3 | conv 4 1 | relu | conv 4 1 | relu | bn | bn")
    assert [n.name for n in model.layers] == [
        "conv2d",
        "activation",
        "conv2d_1",
        "activation_1",
        "batch_normalization",
        "batch_normalization_1",
    ]


def test_stride_defaults_to_pool_size_and_valid_padding():
    assert last("input 9x9x1 | maxpool 3").shape == (3, 3, 1)
    assert last("input 9x9x1 | avgpool 2").shape == (4, 4, 1)
    assert last("input 9x9x1 | avgpool 2 same").shape == (5, 5, 1)


def test_minus_glued_after_a_space_is_a_negative_literal_otherwise_subtraction():
    assert last("def f(n): dense n-1\ninput 4 | f(9)").shape == (8,)
    assert last("def f(n): dense n - 1\ninput 4 | f(9)").shape == (8,)
    assert last("input 6x4 | reshape 3 -1").shape == (3, 8)
    with pytest.raises(CnnError, match="one too many"):
        cnndsl.analyze("input 4 | dense 8 -1")


@pytest.mark.parametrize(
    "text",
    [
        "conv 8 3",  # no input
        "input 8x8x3 | input 8x8x3",
        "input 8x8x3 | conv 8 9",
        "input 8x8x3 | dense 4 | conv 8 3",
        "input 8x8x3 | conv 8",
        "input 8x8x3 | conv 6 3 groups 4",
        "input 8x8x3 | dropout 1.5",
        "input 8x8x3 | reshape 5x5",
        "input 8x8x3 | conv 8 3x3x3",
        "input 8x8x3 | conv 8 3 stride 2 dilation 2",
        "",
    ],
)
def test_invalid_networks_are_errors_not_crashes(text):
    with pytest.raises(CnnError) as caught:
        cnndsl.analyze(text)
    assert caught.value.span is not None
