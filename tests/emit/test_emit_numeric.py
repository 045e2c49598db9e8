"""Numeric equivalence: the emitted PyTorch model computes what the emitted Keras model does.

Each network is built from both emitted modules; the Keras weights are set
to random values (batch-norm variances positive), copied across with
cnndsl.port.keras_to_torch, and both models run in inference mode on the
same random input. Outputs must agree within 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from emit_helpers import load, outputs_of_both, ported_models
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.core.errors import ShapeProblem
from cnndsl.emit import generate

pytestmark = pytest.mark.oracle

NETWORKS = {
    # Keras pads `same` asymmetrically here (stride 2, even kernels, odd sizes).
    "same_stride2_even_kernels": """
        input 15x15x3
        conv 8 4x4 stride 2 same
        conv 6 2x2 stride 2 same relu
        conv 5 3x3 stride 2 same nobias
        conv 4 2 same dilation 2
        conv 4 3 pad 1 groups 2
    """,
    # -inf padding for max pooling; padding left out of `same` averages, both symmetric and not.
    "pooling_same": """
        input 13x13x4
        maxpool 2 stride 2 same
        avgpool 3 stride 2 same
        avgpool 2 stride 1 same
        maxpool 3 stride 1 same
        avgpool 3 stride 1 same
        avgpool 2
        gmp keepdims
    """,
    "depthwise_and_separable": """
        input 12x12x3
        dwconv 3x3 mult 2 stride 2 same
        sepconv 8 4x4 mult 2 same relu
        dwconv 2 stride 1 same nobias
        sepconv 5 3 stride 2 same nobias
        dwconv 3 dilation 2 same
        dwconv 3 stride 2 pad 1 mult 2
    """,
    # ShuffleNet's channel shuffle and chunk: in Keras, layers of the module's own (PyTorch: F.channel_shuffle
    # and x.chunk), the groups of a shuffle interleaved as PyTorch's are.
    "shuffle_and_chunk": """
        input 6x5x12
        conv 12 3 same
        concat(chunk 2 0; chunk 2 1 | conv 6 1 | relu) | shuffle 3
        chunk 3 2 | shuffle 2 | conv 5 1
    """,
    # InceptionResNetV2's residual scaling: the shortcut plus the scaled branch.
    "scaled_residuals": """
        input 9x9x8
        conv 8 3 same
        scaleadd(identity; conv 8 1 | bn | relu) 0.17
        relu
        scaleadd(identity; concat(conv 4 1; conv 4 3 same) | conv 8 1) 1.0
        scaleadd(conv 8 1; identity) 2.5
    """,
    "batch_norm_inference": """
        input 8x8x3
        conv 6 3 same
        bn
        bn noscale
        bn nocenter eps 1.001e-5 momentum 0.9
        relu
        dense 4
        bn
        layernorm
    """,
    # Keras flattens NHWC: the PyTorch flatten must give the dense layer the same order.
    "flatten_before_dense": """
        input 6x5x4
        conv 3 3 relu
        flatten
        dense 7 tanh
        dense 3
    """,
    "graph_transposed_and_resizing": """
        input 7x7x2
        rescale 1/255 offset=0.5
        normalize
        deconv 4 3x3 stride 2 same
        add(identity; conv 4 3 same | bn | relu | conv 4 3 same)
        concat(conv 2 1; avgpool 3 stride 1 same; maxpool 2 stride 1 same)
        multiply(identity; gap | dense 10 sigmoid)
        multiply(identity; gap keepdims | conv 10 1 hardsigmoid)
        deconv 3 4x4 stride 2 outpad 1
        deconv 3 2 stride 3 same
        upsample 2 bilinear | zeropad 0 1 2 0 | crop 1 0 0 2 | upsample 2
        subtract(identity; swish) | average(identity; gelu; mish) | maximum(identity; elu) | minimum(identity; selu)
        leakyrelu 0.1 | softplus | ReLU | reshape 4x-1 | layernorm noscale | gap
    """,
    "sequences_and_volumes": """
        input 20x3
        conv 4 3 causal
        conv 4 2 stride 2 same dilation 1
        deconv 2 3 stride 2 same
        maxpool 3 stride 2 same | avgpool 2 stride 2 same
        sepconv 3 2 same | dwconv 2 same
        upsample 3 | zeropad 1 2 | crop 2 1
        flatten | dense 6 | reshape 2x3 | gap
    """,
    # Two inputs, a shared conv and a shared dense (one set of weights each), two outputs.
    "shared_layers_two_inputs_two_outputs": """
        left: input 9x9x3
        right: input 9x9x3
        @left | tower: conv 6 3 same relu
        @right | reuse tower
        joined: concat(@tower; identity) | gap
        head: dense 5 | output
        @left | gap | dense 12 | reuse head | output
    """,
    # PyTorch flattens channels first: the Keras code permutes before its Flatten, for each rank.
    "channels_first_flatten": """
        defaults pytorch
        input 7x6x3
        conv 4 3 relu
        flatten
        dense 5 tanh
        dense 3
    """,
    "channels_first_flatten_sequence_and_volume": """
        defaults pytorch
        a: input 9x3
        b: input 4x3x5x2
        @a | conv 4 3 | dense 6 | out_a: dense 2 | output
        @b | conv 3 2 | dense 6 | output
    """,
    "channels_first_flatten_shared": """
        defaults pytorch
        left: input 6x6x2
        right: input 6x6x2
        @left | conv 3 3 | head: dense 4
        @right | conv 3 3 | reuse head
        add(@head; identity)
    """,
    # PyTorch's pad and ceil where Keras's `same` or `valid` takes the same windows.
    "maxpool_pad_and_ceil_as_keras_padding": """
        defaults pytorch
        input 9x9x3
        conv 4 1
        maxpool 3 stride 2 pad 1
        maxpool 2 ceil
        maxpool 3 stride 2 ceil
        dense 3
    """,
    "maxpool_ceil_sequence": """
        input 20x3
        conv 4 1
        maxpool 3 stride 2 ceil
        gap
    """,
    "volume": """
        input 5x6x7x2
        conv 3 2 stride 2 same
        deconv 2 3 stride 2 same
        maxpool 2 same | avgpool 2 stride 1 same
        upsample 2 | zeropad 1 | crop 1 0 0 1 1 0
        bn | flatten | dense 3
    """,
}


def max_error(text: str, keras, torch) -> float:
    model = cnndsl.analyze(text)
    rng = np.random.default_rng(7)
    keras_model, torch_model = ported_models(model, rng)
    xs = [rng.normal(0.0, 1.0, (3, *model.nodes[i].shape)).astype("float32") for i in model.inputs]
    expected, got = outputs_of_both(keras_model, torch_model, xs, keras, torch)
    assert [g.shape for g in got] == [e.shape for e in expected]
    assert min(np.abs(e).max() for e in expected) > 1e-3  # a network that outputs ~0 would prove nothing
    return max(float(np.abs(g - e).max()) for g, e in zip(got, expected))


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_outputs_agree(name, keras, torch):
    assert max_error(NETWORKS[name], keras, torch) < 1e-4


def test_a_wrong_port_is_caught(keras, torch):
    """The comparison can fail: NCHW-order dense weights (no permutation) disagree."""
    model = cnndsl.analyze(NETWORKS["flatten_before_dense"])
    rng = np.random.default_rng(7)
    keras_model, torch_model = ported_models(model, rng)
    with torch.no_grad():  # undo the NHWC order of the first dense layer's inputs
        weight = torch_model.dense.weight
        weight.copy_(weight.reshape(7, 4, 3, 3).permute(0, 3, 1, 2).reshape(7, 36).clone())
    x = rng.normal(0.0, 1.0, (3, 6, 5, 4)).astype("float32")
    expected = keras.ops.convert_to_numpy(keras_model(x, training=False))
    with torch.no_grad():
        got = torch_model(torch.from_numpy(x).movedim(-1, 1)).numpy()
    assert np.abs(got - expected).max() > 1e-3


def test_a_flatten_without_its_permute_is_caught(keras, torch, monkeypatch):
    """The comparison can fail: Keras's own channels-last Flatten disagrees with PyTorch's."""
    from cnndsl.layers.core import Flatten

    monkeypatch.setattr(Flatten, "keras_before", lambda self, node: [])
    assert max_error(NETWORKS["channels_first_flatten"], keras, torch) > 1e-3


@settings(max_examples=80, derandomize=True, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    p=st.integers(0, 2),
    ceil=st.booleans(),
)
def test_maxpool_pad_and_ceil_in_keras_exactly(n, k, s, p, ceil, keras, torch):
    """PyTorch's MaxPool1d with padding and ceil_mode against the emitted Keras model: Keras's own
    MaxPooling1D where one of its paddings takes the same windows, else the MaxPoolPadded layer (pads
    with -inf as PyTorch does); the values equal PyTorch's either way. 32 random channels keep a
    different window from giving the same maxima by chance."""
    assume(2 * p <= k and (p or ceil))
    text = f"input {n}x32\nmaxpool {k} stride {s} pad {p}{' ceil' if ceil else ''}\n"
    try:
        model = cnndsl.analyze(text)
    except ShapeProblem:
        assume(False)
    x = np.random.default_rng(n * 100 + k * 10 + s).normal(size=(1, n, 32)).astype("float32")
    with torch.no_grad():
        pool = torch.nn.MaxPool1d(k, s, p, ceil_mode=ceil)
        expected = pool(torch.from_numpy(x).movedim(-1, 1)).movedim(1, -1).numpy()

    def agrees(padding: str) -> bool:
        if padding == "valid" and n < k:
            return False
        got = keras.ops.convert_to_numpy(keras.layers.MaxPooling1D(k, strides=s, padding=padding)(x))
        return got.shape == expected.shape and np.array_equal(got, expected)

    agreeing = {padding for padding in ("valid", "same") if agrees(padding)}
    code = generate(model, "keras")
    assert "MaxPoolPadded(" in code or agreeing, text  # Keras's own layer only where it agrees
    got = keras.ops.convert_to_numpy(load(code, "maxpool_padded").build_model()(x))
    assert got.shape == expected.shape and np.array_equal(got, expected), text


def test_maxpool_pad_on_unknown_sizes_is_pytorchs_pool_in_keras_at_every_size(keras, torch):
    """PyTorch pads p on each side with -inf and pools `valid`, whatever the size: on `?` axes the emitted
    Keras model is the MaxPoolPadded layer with that fixed padding, one model run at several sizes
    against nn.MaxPool2d. Only `ceil` (a last partial window kept or not, by the size) stays refused."""
    model = cnndsl.analyze("defaults pytorch\ninput ?x?x16\nmaxpool 3 stride 2 pad 1\n")
    code = generate(model, "keras")
    assert "MaxPoolPadded(3, 2, ((1, 1), (1, 1))" in code
    built = load(code, "maxpool_unknown").build_model()
    pool = torch.nn.MaxPool2d(3, 2, 1)
    for n, m in [(9, 8), (10, 11), (16, 16), (1, 2)]:
        x = np.random.default_rng(n * 100 + m).normal(size=(2, n, m, 16)).astype("float32")
        with torch.no_grad():
            expected = pool(torch.from_numpy(x).movedim(-1, 1)).movedim(1, -1).numpy()
        got = keras.ops.convert_to_numpy(built(x))
        assert got.shape == expected.shape == (2, (n + 2 - 3) // 2 + 1, (m + 2 - 3) // 2 + 1, 16)  # PyTorch's rule
        assert np.array_equal(got, expected), (n, m)
    with pytest.raises(cnndsl.CnnError, match="ceil"):
        generate(cnndsl.analyze("defaults pytorch\ninput ?x?x16\nmaxpool 3 stride 2 pad 1 ceil\n"), "keras")


def test_nasnet_mobile_example_agrees(keras, torch):
    """NASNet's cells read two cells back; the emitted models must wire them alike. Logits, not softmax,
    so a difference is not squashed; random weights through 771 layers grow them, so relative error."""
    text = (Path(__file__).resolve().parent.parent.parent / "examples" / "nasnet_mobile.cnn").read_text(
        encoding="utf-8"
    )
    assert "dense 1000 softmax" in text
    model = cnndsl.analyze(text.replace("dense 1000 softmax", "dense 1000"))
    rng = np.random.default_rng(7)
    keras_model, torch_model = ported_models(model, rng)
    x = rng.normal(0.0, 1.0, (2, *model.nodes[model.inputs[0]].shape)).astype("float32")
    [expected], [got] = outputs_of_both(keras_model, torch_model, [x], keras, torch)
    scale = float(np.abs(expected).max())
    assert np.isfinite(scale) and scale > 1e-3
    assert float(np.abs(got - expected).max()) / scale < 1e-4


def test_resnet18_stem_agrees_in_keras(keras, torch):
    """torchvision's stem, `maxpool 3 stride 2 pad 1`, in Keras (MaxPoolPadded) against PyTorch's MaxPool2d."""
    text = "defaults pytorch\ninput 33x30x3\nconv 8 7x7 stride 2 pad 3 nobias | bn | relu\nmaxpool 3 stride 2 pad 1\n"
    text += "maxpool 2 stride 2 ceil\nconv 4 1\n"
    model = cnndsl.analyze(text)
    rng = np.random.default_rng(5)
    keras_model, torch_model = ported_models(model, rng)
    x = rng.normal(0.0, 1.0, (2, 33, 30, 3)).astype("float32")
    [expected], [got] = outputs_of_both(keras_model, torch_model, [x], keras, torch)
    assert expected.shape == (2, 5, 4, 4)  # 33 -> 17 -> 9 -> 5 and 30 -> 15 -> 8 -> 4, PyTorch's rule
    assert float(np.abs(got - expected).max()) < 1e-4


def _same_average(x, size, stride):
    """Keras's `same` average pooling by hand (TensorFlow's rule): out = ceil(n / s) windows per axis,
    (out - 1)·s + k - n padding, the odd one after, each window the mean of the input values in it."""
    n, m = x.shape[1:3]
    (k1, k2), (s1, s2) = size, stride
    o1, o2 = -(-n // s1), -(-m // s2)
    p1, p2 = max((o1 - 1) * s1 + k1 - n, 0) // 2, max((o2 - 1) * s2 + k2 - m, 0) // 2
    out = np.zeros((x.shape[0], o1, o2, x.shape[3]), dtype="float64")
    for i in range(o1):
        for j in range(o2):
            rows = slice(max(i * s1 - p1, 0), min(i * s1 - p1 + k1, n))
            cols = slice(max(j * s2 - p2, 0), min(j * s2 - p2 + k2, m))
            out[:, i, j] = x[:, rows, cols].mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("shape", ["9x8", "9x9", "?x?"])
def test_same_average_pooling_is_one_function_in_keras_on_torch_and_pytorch(shape, keras, torch):
    """`avgpool 3 stride 2 same` on 9x8: 9 -> 5 windows padded (1, 1), 8 -> 4 padded (0, 1), uneven. Keras's
    own AveragePooling2D on the torch backend averages copies of the edge in there (0.87 away here); the
    emitted module's AveragePooling2D (a subclass) and the PyTorch module give the hand-made averages."""
    text = f"input {shape}x3\navgpool 3 stride 2 same\n"
    x = np.random.default_rng(9).normal(size=(2, 9, 8 if shape != "9x9" else 9, 3)).astype("float32")
    expected = _same_average(x, (3, 3), (2, 2))
    model = cnndsl.analyze(text)
    code = generate(model, "keras")
    assert ("class AveragePooling2D(layers.AveragePooling2D):" in code) == (shape != "9x9")
    got = keras.ops.convert_to_numpy(load(code, "same_average").build_model()(x))
    with torch.no_grad():
        torch_got = load(generate(model, "pytorch"), "same_average_torch").build_model()(
            torch.from_numpy(x).movedim(-1, 1)
        )
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(torch_got.movedim(1, -1).numpy(), expected, atol=1e-5)
    own = keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(3, strides=2, padding="same")(x))
    if keras.backend.backend() == "torch" and shape == "9x8":  # the disagreement the layer is there for
        assert np.abs(own - expected).max() > 0.1
