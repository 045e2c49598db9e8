"""PyTorch's semantics in the language: `defaults pytorch`, pooling's `pad` and `ceil`,
adaptive average pooling, channel shuffle and chunk. PyTorch is the oracle: its own
modules' defaults, output shapes and values."""

from __future__ import annotations

import pytest
from emit_helpers import check_torch, load
from hypothesis import given, settings
from hypothesis import strategies as st
from located import assert_located

import cnndsl
from cnndsl.core.errors import CnnError, UnsupportedByTarget
from cnndsl.emit import generate

pytestmark = pytest.mark.oracle

PYTORCH_NET = """defaults pytorch
input 9x9x4
conv 8 3 pad 1 nobias | bn | leakyrelu
layernorm
maxpool 3 stride 2 pad 1
flatten | dense 5
"""


def build(text: str):
    model = cnndsl.analyze(text)
    return model, load(generate(model, "pytorch"), "generated_torch").build_model().eval()


def test_defaults_pytorch_are_pytorchs_own(torch):
    _, built = build(PYTORCH_NET)
    nn = torch.nn
    bn, reference = built.batch_normalization, nn.BatchNorm2d(8)
    assert (bn.eps, bn.momentum) == (reference.eps, reference.momentum) == (1e-5, 0.1)
    assert built.layer_normalization.eps == nn.LayerNorm(8).eps == 1e-5
    code = generate(cnndsl.analyze(PYTORCH_NET), "pytorch")
    assert f"F.leaky_relu(x, {nn.LeakyReLU().negative_slope})" in code
    # PyTorch flattens channels first: the dense layer reads torch.flatten's order, no movedim.
    assert built.conv2d.padding == (1, 1)  # `pad 1`: the conv's own padding=1
    # Layer norm over the channels of an (N, C, H, W) tensor: torchvision's ConvNeXt LayerNorm2d, an
    # nn.LayerNorm of normalized_shape (C,) applied with the channels moved last.
    norm = built.layer_normalization
    assert isinstance(norm, nn.LayerNorm) and norm.normalized_shape == (8,)
    x = torch.randn(2, 4, 9, 9)
    with torch.no_grad():
        out = built(x)
        y = torch.nn.functional.leaky_relu(built.batch_normalization(built.conv2d(x)), 0.01)
        normed = torch.nn.functional.layer_norm(y.movedim(1, -1), (8,), norm.weight, norm.bias, 1e-5).movedim(-1, 1)
        assert torch.allclose(norm(y), normed, atol=1e-6)
        h = built.max_pooling2d(normed)
        assert torch.allclose(out, built.dense(torch.flatten(h, 1)), atol=1e-6)


def test_dwconv_pad_is_pytorchs_padding(torch):
    # torchvision's depthwise convs: nn.Conv2d(c, c * m, k, stride, padding=p, groups=c)
    model, built = build("input 9x9x4\ndwconv 3 stride 2 pad 1 nobias\ndwconv 5 pad 2 mult 2\n")
    first = torch.nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False)
    second = torch.nn.Conv2d(4, 8, 5, padding=2, groups=4)
    x = torch.randn(1, 4, 9, 9)
    with torch.no_grad():
        first.weight.copy_(built.depthwise_conv2d.weight)
        second.weight.copy_(built.depthwise_conv2d_1.weight)
        second.bias.copy_(built.depthwise_conv2d_1.bias)
        expected = second(first(x))
        assert torch.allclose(built(x), expected, atol=1e-6)
    assert model.total == sum(p.numel() for p in (*first.parameters(), *second.parameters()))
    assert (None, *model.output_shape) == (None, 5, 5, 8) and tuple(expected.shape) == (1, 8, 5, 5)
    with pytest.raises(CnnError, match="`pad` and `same` cannot be combined"):
        cnndsl.analyze("input 9x9x4\ndwconv 3 pad 1 same\n")


def test_bn_momentum_means_pytorchs_under_pytorch_defaults(torch, keras):
    text = "defaults pytorch\ninput 4x4x3\nbn momentum 0.02 eps 0.001\n"
    model, built = build(text)
    assert (built.batch_normalization.momentum, built.batch_normalization.eps) == (0.02, 0.001)
    bn = load(generate(model, "keras"), "generated_keras").build_model().layers[-1]
    assert (bn.momentum, bn.epsilon) == (0.98, 0.001)  # Keras weighs the running average: 1 - 0.02


def test_keras_defaults_are_unchanged_without_the_line(torch):
    _, built = build("input 4x4x3\nbn\n")
    assert (built.batch_normalization.eps, built.batch_normalization.momentum) == (1e-3, pytest.approx(0.01))


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("defaults tensorflow\ninput 4x4x3\n", 1, 10, "`keras` or `pytorch`"),
        ("input 4x4x3\ndefaults pytorch\n", 2, 1, "must be the first line"),
        ("defaults\ninput 4x4x3\n", 1, 1, "`keras` or `pytorch`"),
    ],
)
def test_defaults_line_errors_are_located(text, line, column, words):
    assert_located(text, line, column, words)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    ceil=st.booleans(),
)
def test_maxpool_pad_and_ceil_give_pytorchs_shape(torch, n, k, s, p, ceil):
    text = f"input {n}x{n + 1}x2\nmaxpool {k} stride {s}" + (f" pad {p}" if p else "") + (" ceil" if ceil else "")
    try:
        expected = torch.nn.MaxPool2d(k, s, p, ceil_mode=ceil)(torch.zeros(1, 2, n, n + 1)).shape
    except RuntimeError:
        expected = None
    try:
        model = cnndsl.analyze(text)
    except CnnError:
        assert expected is None, text
        return
    assert expected is not None, text
    assert (1, model.output_shape[-1], *model.output_shape[:-1]) == tuple(expected), text
    check_torch(model, torch, batch=1)


def test_maxpool_pad_fills_with_minus_infinity(torch):
    model, built = build("input 4x4x1\nmaxpool 3 stride 2 pad 1 ceil\n")
    x = -torch.rand(1, 1, 4, 4) - 1  # all negative: a zero pad would win every border max
    reference = torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)
    assert torch.equal(built(x), reference(x))


@pytest.mark.parametrize("size", [(7, 7), (3, 5), (1, 1), (9, 9)])
def test_adaptivepool_is_pytorchs(torch, size):
    model, built = build(f"input 7x6x3\nadaptivepool {size[0]}x{size[1]}\n")
    x = torch.randn(2, 3, 7, 6)
    assert torch.equal(built(x), torch.nn.AdaptiveAvgPool2d(size)(x))
    assert model.output_shape == (*size, 3)


def test_shuffle_and_chunk_are_pytorchs(torch):
    model, built = build("input 5x5x12\nconcat(chunk 2 0; chunk 2 1 | relu) | shuffle 3\n")
    x = torch.randn(2, 12, 5, 5)
    a, b = x.chunk(2, dim=1)
    assert torch.equal(built(x), torch.nn.ChannelShuffle(3)(torch.cat([a, torch.relu(b)], dim=1)))
    check_torch(model, torch, batch=1)


@pytest.mark.parametrize(
    "text, line, word",
    [
        ("input ?x?x4\nmaxpool 3 stride 2 pad 1 ceil\n", 2, "maxpool"),  # whether a last window is kept depends on the size
    ],
)
def test_keras_refuses_what_it_cannot_express_at_its_line(text, line, word):
    with pytest.raises(UnsupportedByTarget) as info:
        generate(cnndsl.analyze(text), "keras")
    assert info.value.span.line == line
    assert info.value.message.startswith(f"Keras code cannot express `{word}`")


def test_keras_writes_shuffle_and_chunk_as_layers_of_its_own():
    """tests/emit/test_emit_numeric.py checks that they take the channels in PyTorch's order."""
    code = generate(cnndsl.analyze("input 5x5x12\nconcat(chunk 2 0; chunk 2 1 | relu) | shuffle 3\n"), "keras")
    assert "class ChannelShuffle(layers.Layer):" in code and "class Chunk(layers.Layer):" in code
    assert 'ChannelShuffle(3, name="channel_shuffle")' in code and 'Chunk(2, 1, name="chunk_1")' in code


def test_keras_permutes_before_a_channels_first_flatten():
    """tests/emit/test_emit_numeric.py checks that both emitted models compute the same function."""
    code = generate(cnndsl.analyze("defaults pytorch\ninput 8x8x4\ndense 3\n"), "keras")
    assert 'layers.Permute((3, 1, 2), name="flatten_channels_first"),\n' in code
    one_by_one = generate(cnndsl.analyze("defaults pytorch\ninput 1x1x4\ndense 3\n"), "keras")
    assert "Permute" not in one_by_one  # one position: both orders are the same


def test_keras_writes_what_it_can_under_pytorch_defaults():
    code = generate(cnndsl.analyze("defaults pytorch\ninput 8x8x4\nconv 8 3 | bn | gap | dense 3\n"), "keras")
    assert "momentum=0.9" in code and "epsilon=1e-05" in code


@pytest.mark.parametrize(
    "text, words",
    [
        ("input 8x8x4\nshuffle 3\n", "4 channels cannot be split into 3"),
        ("input 8x8x4\nchunk 2 2\n", "group 2 does not exist"),
        ("input 8x8x4\nmaxpool 2 pad 2\n", "more than half the pool size"),
        ("input 8x8x4\nmaxpool 2 same ceil\n", "cannot be combined"),
    ],
)
def test_mistakes_are_located(text, words):
    assert_located(text, 2, None, words)


@pytest.mark.oracle
@pytest.mark.parametrize("text", ["input 8x8x4\nmaxpool 3 stride 2 pad 1\n", "input 10x10x4\nmaxpool 5 stride 2 ceil\n"])
def test_keras_pools_as_pytorch_where_its_paddings_take_other_windows(text, keras, torch):
    """Keras's `same` takes 5 windows of 10 where PyTorch's ceil_mode takes 4, and no Keras padding
    gives `pad 1` on 8: the module's MaxPoolPadded pads with -inf and pools `valid`, as PyTorch does."""
    import numpy as np

    model = cnndsl.analyze(text)
    code = generate(model, "keras")
    assert "MaxPoolPadded(" in code
    x = np.random.default_rng(3).normal(size=(2, *model.input.shape)).astype("float32")
    got = keras.ops.convert_to_numpy(load(code, "padded_pool").build_model()(x))
    size, stride, pad, ceil = (3, 2, 1, False) if "pad 1" in text else (5, 2, 0, True)
    with torch.no_grad():
        pool = torch.nn.MaxPool2d(size, stride, pad, ceil_mode=ceil)
        expected = pool(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert got.shape == expected.shape and np.array_equal(got, expected)


def test_a_zeropad_before_a_transposed_conv_stays_a_pad(torch):
    """ConvTranspose's `padding=` crops its output: the zeros written before it stay an F.pad."""
    model, built = build("input 4x1\nzeropad 1\ndeconv 1 1 nobias\n")
    x = torch.randn(1, 1, 4)
    with torch.no_grad():
        weight = built.conv1d_transpose.weight
        expected = torch.nn.functional.conv_transpose1d(torch.nn.functional.pad(x, (1, 1)), weight)
        assert torch.allclose(built(x), expected)
    assert tuple(expected.shape) == (1, 1, 6) == (1, *model.output_shape[::-1])
