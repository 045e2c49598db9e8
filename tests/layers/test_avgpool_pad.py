"""`avgpool ... pad P`: PyTorch's padded average pooling, its zeros counted (`count_include_pad=True`,
PyTorch's default, as torchvision's Inception writes `F.avg_pool2d(x, 3, 1, 1)`). PyTorch's own
nn.AvgPoolNd is the oracle; the emitted Keras (ZeroPadding then a valid AveragePooling) and PyTorch
modules must both give its values."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from emit_helpers import load
from located import assert_located

import cnndsl
from cnndsl.emit import generate
from cnndsl.views.flops import totals

pytestmark = pytest.mark.oracle

# rank, input size, pool size, stride, pad: PyTorch's own padding where it allows it (p <= k/2; a 3-D
# input at least the window), an explicit F.pad before a valid pool where it does not
CASES = [
    (2, 8, 3, 1, 1),  # Inception's branch pool
    (2, 9, 3, 2, 1),
    (2, 7, 2, 2, 1),
    (2, 6, 3, 2, 2),  # more than half the window: F.pad, then the pool
    (1, 10, 4, 3, 2),
    (3, 5, 3, 2, 1),
    (3, 2, 3, 1, 1),  # avg_pool3d refuses a 2x2x2 input for a 3x3x3 window before padding it
]
SHAPE = {1: "{n}x3", 2: "{n}x{n}x3", 3: "{n}x{n}x{n}x3"}


def text_of(rank, n, k, s, p):
    return f"input {SHAPE[rank].format(n=n)}\navgpool {k} stride {s} pad {p}\n"


def oracle(torch, x, rank, k, s, p):
    """nn.AvgPoolNd(k, s, p, count_include_pad=True) where PyTorch takes the padding; else its definition,
    zeros added on every side and then pooled."""
    pool = getattr(torch.nn, f"AvgPool{rank}d")
    if 2 * p <= k and (rank < 3 or x.shape[-1] >= k):
        return pool(k, s, p, count_include_pad=True)(x)
    return pool(k, s)(torch.nn.functional.pad(x, (p, p) * rank))


@pytest.mark.parametrize("rank, n, k, s, p", CASES)
def test_both_targets_give_pytorchs_padded_average(rank, n, k, s, p, keras, torch):
    model = cnndsl.analyze(text_of(rank, n, k, s, p))
    x = np.random.default_rng(n * k + p).normal(size=(2, *model.input.shape)).astype("float32")
    channels_first = torch.from_numpy(x).movedim(-1, 1)
    with torch.no_grad():
        expected = oracle(torch, channels_first, rank, k, s, p).movedim(1, -1).numpy()
        torch_code = generate(model, "pytorch")
        got_torch = load(torch_code, "padded_avg_torch").build_model().eval()(channels_first).movedim(1, -1).numpy()
    keras_code = generate(model, "keras")
    assert f"ZeroPadding{rank}D" in keras_code and f"AveragePooling{rank}D" in keras_code
    got_keras = keras.ops.convert_to_numpy(load(keras_code, "padded_avg_keras").build_model()(x))
    assert expected.shape == got_torch.shape == got_keras.shape == (2, *model.output_shape)
    assert np.abs(expected).max() > 0.05  # random values, not a vanishing average
    assert np.abs(got_torch - expected).max() <= 1e-5
    assert np.abs(got_keras - expected).max() <= 1e-5
    own_padding = 2 * p <= k and (rank < 3 or n >= k)
    assert ("F.pad" not in torch_code) == own_padding
    assert (f"padding={p}" in torch_code) == own_padding


def test_the_pool_is_torchvisions_module(torch):
    """Under the torch emitter `avgpool 3 stride 1 pad 1` is nn.AvgPool2d(3, stride=1, padding=1), whose
    count_include_pad defaults to True; the summary's zero padding row is not a module of its own."""
    model = cnndsl.analyze("input 8x8x4\nx: avgpool 3 stride 1 pad 1\nreuse x\n")
    assert [n.keras_type for n in model.layers] == ["ZeroPadding2D", "AveragePooling2D"] * 2
    built = load(generate(model, "pytorch"), "inception_pool").build_model().eval()
    assert list(dict(built.named_children())) == ["x"]
    assert (built.x.kernel_size, built.x.stride, built.x.padding, built.x.count_include_pad) == (3, 1, 1, True)
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        reference = torch.nn.functional.avg_pool2d
        assert torch.allclose(built(x), reference(reference(x, 3, 1, 1), 3, 1, 1), atol=1e-6)


def test_explain_says_which_divisor_each_pool_uses():
    model = cnndsl.analyze(
        "input 8x8x4\navgpool 3 stride 1 pad 1\navgpool 3 stride 1 same\navgpool 2\navgpool 3 stride 2 pad 1x2\n"
    )
    text = model.explain()
    assert "divisor: always 3·3 = 9 values, the zeros of `pad 1` counted (PyTorch's count_include_pad=True)" in text
    assert "divisor: how many of the window's values are inside the input" in text
    assert "count_include_pad=False" in text
    assert "divisor: 2·2 = 4 values, every window inside the input" in text
    assert "the zeros of `pad 1x2` counted" in text
    # `same` on an axis of unknown size: padded when run, the padding still left out of each average
    unknown = cnndsl.analyze("input ?x?x3\navgpool 3 stride 2 same\navgpool 3 stride 1 pad 1\n").explain()
    assert "count_include_pad=False" in unknown and "count_include_pad=True" in unknown


def test_the_flop_counters_see_the_pool_as_emitted(torch):
    """ptflops counts the values a pool module reads (unpadded where the pool pads itself); thop one
    add per value of each window, zeros included, and one divide per output."""
    import ptflops
    import thop

    text = "input 12x12x3\navgpool 3 stride 1 pad 1\navgpool 3 stride 2 pad 2\navgpool 2 stride 1 pad 1\n"
    model = cnndsl.analyze(text)
    built = load(generate(model, "pytorch"), "counted_pools").build_model().eval()
    with contextlib.redirect_stdout(io.StringIO()):
        found_thop = thop.profile(built, inputs=(torch.zeros(1, 3, 12, 12),), verbose=False)[0]
        fresh = load(generate(model, "pytorch"), "counted_pools_2").build_model().eval()
        found_ptflops = ptflops.get_model_complexity_info(
            fresh, (3, 12, 12), as_strings=False, print_per_layer_stat=False
        )[0]
    counted = totals(model)
    assert (counted["thop"], counted["ptflops"]) == (int(found_thop), int(found_ptflops))


@pytest.mark.parametrize(
    "text, column, words",
    [
        ("input 8x8x4\navgpool 3 pad 1 same\n", 17, "`same` cannot be combined with `pad`"),
        ("input 8x8x4\navgpool 3 pad 1x1x1\n", 11, "`pad` on a 2-D input takes 1, 2 or 4 numbers, not 3"),
        ("input 8x8x4\navgpool 3 pad 0.5\n", 15, "`pad` must be a size such as 3 or 3x3, not `0.5`"),
        ("input 8x8x4\navgpool 9 pad 0\n", 9, "pool size 9x9 is larger than its 8x8 input"),
        ("input 10\navgpool 3 pad 1\n", 1, "`pad` needs a sequence (LxC), an image"),
    ],
)
def test_mistakes_are_located(text, column, words):
    assert_located(text, 2, column, words)


def test_pytorchs_padded_pool_written_as_code_is_translated():
    from cnndsl.language.foreign import read_call

    assert read_call("nn.AvgPool2d(3, 1, 1)").line == "avgpool 3 stride 1 pad 1"
    assert read_call("nn.AvgPool2d(3, stride=2, padding=1)").line == "avgpool 3 stride 2 pad 1"
    # the padding left out of the average is Keras's `same` only for some sizes: no exact line
    assert read_call("nn.AvgPool2d(3, 1, 1, count_include_pad=False)").line is None
