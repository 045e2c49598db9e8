"""Oracle tests of `cnndsl emit`: Keras and PyTorch build the emitted code and
must agree with `cnndsl summary` on every number.

Keras: count_params(), the trainable/non-trainable split, every row's name,
type, parameters and shape, and the output shape. PyTorch: the parameter
count is the summary's trainable count, the BatchNorm (and Normalization)
buffers are its non-trainable count, and a forward pass on zeros gives the
summary's output shape in NCHW. Every example and >= 300 random networks
(hypothesis, derandomized) go through both, and through ruff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from emit_helpers import check_keras, check_torch, ruff_problems
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.emit import generate

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.cnn"))
RANDOM_NETWORKS = 300

pytestmark = pytest.mark.oracle


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_keras(path, keras):
    model = cnndsl.analyze_file(path)
    check_keras(model, keras)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_torch(path, torch):
    model = cnndsl.analyze_file(path)
    check_torch(model, torch, batch=1)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("target", ["keras", "pytorch"])
def test_example_code_is_ruff_clean_and_deterministic(path, target):
    model = cnndsl.analyze_file(path)
    code = generate(model, target)
    assert ruff_problems(code) == []
    assert generate(cnndsl.analyze_file(path), target) == code


# Random networks: tests/netgen.py's generator when it is there, else a smaller one of our own.

ACTIVATIONS = [
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "swish",
    "silu",
    "gelu",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "hardsigmoid",
    "hardswish",
    "mish",
    "linear",
    "relu6",
    "leakyrelu",
    "leakyrelu 0.1",
]


def _spatial_layers(c):
    """Layer texts for an image-like input with c channels (as text, checked afterwards)."""
    act = st.sampled_from(["", " relu", " swish", " sigmoid", " linear", " leakyrelu"])
    k = st.integers(1, 4)
    s = st.integers(1, 3)
    pad = st.sampled_from(["", " same", " valid"])
    return st.one_of(
        st.builds(
            lambda f, k, s, p, a, b: f"conv {f} {k} stride {s}{p}{a}{b}",
            st.integers(1, 6),
            k,
            s,
            pad,
            act,
            st.sampled_from(["", " nobias"]),
        ),
        st.builds(lambda f, k, d: f"conv {f} {k} dilation {d} same", st.integers(1, 6), k, st.integers(1, 2)),
        st.builds(lambda g, k: f"conv {2 * g} {k} groups {g} same", st.sampled_from([1, 2]), k),
        st.builds(lambda f, p: f"conv {f} 3 pad {p}", st.integers(1, 4), st.integers(0, 2)),
        st.builds(
            lambda k, m, s, p, b: f"dwconv {k} mult {m} stride {s}{p}{b}",
            k,
            st.integers(1, 2),
            s,
            pad,
            st.sampled_from(["", " nobias", " relu"]),
        ),
        st.builds(
            lambda f, k, m, s, p: f"sepconv {f} {k} mult {m} stride {s}{p}",
            st.integers(1, 6),
            k,
            st.integers(1, 2),
            s,
            pad,
        ),
        st.builds(
            lambda f, k, s, p, o: f"deconv {f} {k} stride {s}{p}{o}",
            st.integers(1, 4),
            k,
            st.integers(1, 3),
            pad,
            st.sampled_from(["", " outpad 1"]),
        ),
        st.builds(
            lambda kind, k, s, p: f"{kind} {k} stride {s}{p}",
            st.sampled_from(["maxpool", "avgpool"]),
            st.integers(1, 3),
            st.integers(1, 3),
            pad,
        ),
        st.builds(
            lambda o: f"bn{o}",
            st.sampled_from(["", " noscale", " nocenter", " noscale nocenter", " eps 1.001e-5 momentum 0.9"]),
        ),
        st.sampled_from(
            [
                "layernorm",
                "layernorm noscale",
                "rescale 1/255",
                "rescale 2 offset 1",
                "normalize",
                "dropout 0.3",
                "zeropad 1",
                "zeropad 0 1 1 0",
                "crop 1 0 0 1",
                "upsample 2",
                "upsample 2 bilinear",
                "gap keepdims",
                "gmp keepdims",
                *ACTIVATIONS,
            ]
        ),
        st.builds(lambda f: f"add(identity; conv {c} 3 same | bn | relu)", st.just(0)),
        st.builds(
            lambda f, g: f"concat(conv {f} 1; conv {g} 3 same; maxpool 3 stride 1 same)",
            st.integers(1, 4),
            st.integers(1, 4),
        ),
        st.sampled_from(
            [
                f"multiply(identity; gap keepdims | conv {c} 1 sigmoid)",
                f"multiply(identity; gap | dense {c} sigmoid)",
                "subtract(identity; relu)",
                "average(identity; avgpool 3 stride 1 same; tanh)",
                "maximum(identity; sigmoid)",
                "minimum(identity; relu6)",
            ]
        ),
    )


@st.composite
def own_networks(draw):
    rank = draw(st.sampled_from([1, 2, 2, 2, 3]))
    side = draw(st.integers(4, 12 if rank < 3 else 5))
    channels = draw(st.integers(1, 4))
    lines = ["input " + "x".join([str(side)] * rank + [str(channels)])]
    for _ in range(draw(st.integers(1, 6))):
        try:
            c = cnndsl.analyze("\n".join(lines)).output_shape[-1]
        except cnndsl.CnnError:  # pragma: no cover - every prefix is kept valid
            break
        candidate = draw(_spatial_layers(c))
        if rank == 1 and draw(st.booleans()):
            candidate = draw(st.sampled_from(["conv 3 3 causal", "conv 2 2 causal dilation 2"]))
        try:
            model = cnndsl.analyze("\n".join([*lines, candidate]))
        except cnndsl.CnnError:
            continue
        if max(model.output_shape) <= 48:
            lines.append(candidate)
    tail = draw(
        st.sampled_from(
            [
                "",
                "flatten",
                "dense 5",
                "dense 3 softmax nobias",
                "gap",
                "gmp | dense 2 relu",
                "reshape -1",
                "flatten | reshape 1x-1",
            ]
        )
    )
    if tail:
        try:
            cnndsl.analyze("\n".join([*lines, tail]))
            lines.append(tail)
        except cnndsl.CnnError:
            pass
    text = "\n".join(lines) + "\n"
    return type("Network", (), {"text": text})()


try:
    from netgen import networks as _networks  # the shared generator, when present
except ImportError:  # pragma: no cover - depends on the checkout
    _networks = own_networks


@settings(
    max_examples=RANDOM_NETWORKS,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(network=_networks())
def test_random_networks(network, keras, torch):
    model = cnndsl.analyze(network.text)
    assert ruff_problems(generate(model, "keras"), generate(model, "pytorch")) == [], network.text
    check_keras(model, keras)
    check_torch(model, torch)
