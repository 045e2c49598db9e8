"""Each explained figure, layer kind by layer kind, against Keras's own numbers.

Keras builds the emitted model; every worked line of `explain` (parameter
sums, each axis of the output shape, `same` padding before and after) must
evaluate to the figure it states, and that figure must be Keras's.
"""

from __future__ import annotations

import math
import re

import pytest

from cnndsl import analyze
from cnndsl.emit import generate
from cnndsl.views.explain import explain_parts

SNIPPETS = [
    "input 32x32x3\nconv 8 5x5 relu",
    "input 15x17x4\nconv 6 3x3 stride 2 same",
    "input 14x14x4\nconv 8 4x4 stride 3 same nobias",
    "input 20x20x4\nconv 8 3x3 dilation 2",
    "input 16x16x8\nconv 8 3x3 groups 4 same",
    "input 30x6\nconv 4 5 padding causal dilation 2",
    "input 8x9x10x2\nconv 4 3 stride 2 same",
    "input 17x17x6\ndwconv 3x3 mult 2 stride 2 same",
    "input 16x16x6\nsepconv 12 5x5 mult 2",
    "input 7x7x4\ndeconv 8 3x3 stride 2",
    "input 7x7x4\ndeconv 8 4x4 stride 2 same",
    "input 7x7x4\ndeconv 8 3x3 stride 2 same outpad 1",
    "input 13x13x3\nmaxpool 3 stride 2 same",
    "input 13x13x3\navgpool 2",
    "input 6x6x3\ngap",
    "input 5x5x16\ndense 120",
    "input 400\ndense 84 nobias",
    "input 9x9x5\nbn",
    "input 9x9x5\nbn noscale",
    "input 9x9x5\nlayernorm",
    "input 9x9x5\nnormalize",
    "input 9x9x5\nzeropad 1 2 3 0",
    "input 9x9x5\ncrop 1 2 0 3",
    "input 9x9x5\nupsample 2x3",
    "input 6x6x4\nreshape 3x12x4",
    "input 8x8x4\nconcat(conv 4 1x1; conv 6 3x3 same)",
    "input 8x8x4\nadd(identity; conv 4 3x3 same | bn)",
]

WORKED = re.compile(r"^(?:[A-Z]|axis \d): (.+?) = (\d+)(?:;|$)")
PADS = re.compile(r"ceil\((\d+)/(\d+)\) = \d+; pads (\d+) before, (\d+) after")
SUM = re.compile(r"^([0-9·()+ −]+) = ([0-9,]+)")


def _value(expression: str) -> int:
    python = expression.replace("·", "*").replace("−", "-")
    return eval(python, {"floor": math.floor, "ceil": math.ceil, "max": max})  # digits and operators only


@pytest.mark.parametrize("text", SNIPPETS)
def test_explained_figures_are_keras_figures(text, keras):
    from emit_helpers import load
    from keras.src.backend.torch.nn import _compute_padding_length  # Keras's own `same` padding rule

    model = analyze(text + "\n")
    built = load(generate(model, "keras"), "generated_keras").build_model()
    by_name = {layer.name: layer for layer in built.layers}
    for node in model.layers:
        layer = by_name[node.name]
        parts = explain_parts(model, node)
        first = parts["params"][0]
        if layer.count_params():
            match = SUM.match(first)
            assert match, (node.name, first)
            assert _value(match.group(1)) == int(match.group(2).replace(",", "")) == layer.count_params()
        else:
            assert first == "none"
        keras_shape = tuple(layer.output.shape)[1:]
        axes = [WORKED.match(line) for line in parts["shape"][1:]]
        axes = [m for m in axes if m]
        if axes:  # a layer that changes the spatial axes works each one out
            assert len(axes) == len(keras_shape) - 1, (node.name, parts["shape"])
            for m, size in zip(axes, keras_shape):
                assert _value(m.group(1)) == int(m.group(2)) == size, (node.name, m.group(0))
        for line, k, s, d in _same_lines(node, parts):
            n, stride, before, after = map(int, PADS.search(line).groups())
            assert (before, after) == _compute_padding_length(n, k, s, d), (node.name, line)
        assert parts["shape"][0] == "(None, " + ", ".join(map(str, keras_shape)) + ")"


def _same_lines(node, parts):
    resolved = node.resolved
    if "pads" not in resolved or ("kernel" not in resolved and "size" not in resolved):
        return []
    if node.layer.options.get("padding") != "same":  # causal pads d·(k−1) before, by definition
        return []
    kernel = resolved.get("kernel", resolved.get("size"))
    dilation = resolved.get("dilation", (1,) * len(kernel))
    lines = [line for line in parts["shape"] if PADS.search(line)]
    return [(line, k, s, d) for line, k, s, d in zip(lines, kernel, resolved["stride"], dilation)]


@pytest.mark.oracle
@pytest.mark.parametrize("path", ["examples/lenet.cnn", "examples/torchvision/alexnet.cnn"])
def test_flatten_writes_its_product_in_the_layout_shown(path, torch):
    """The factors are PyTorch's: the NCHW tensor the emitted module flattens, and the order of the
    axes torch.flatten receives (the Keras-convention code moves the channels last first), both read
    with torch.fx's ShapeProp. A line says the order of the values when the layout shown is the other."""
    from pathlib import Path

    from emit_helpers import load
    from torch.fx import symbolic_trace
    from torch.fx.passes.shape_prop import ShapeProp

    model = analyze((Path(__file__).resolve().parent.parent.parent / path).read_text(encoding="utf-8"))
    traced = symbolic_trace(load(generate(model, "pytorch"), "flattening").build_model().eval())
    shape = model.nodes[0].shape
    ShapeProp(traced).propagate(torch.zeros(1, shape[-1], *shape[:-1]))
    flatten = next(n for n in traced.graph.nodes if n.target in (torch.flatten, "flatten"))
    source = flatten.args[0]
    if source.target == "movedim":  # x.movedim(1, -1).flatten(1): Keras's order
        source = source.args[0]
    nchw = tuple(source.meta["tensor_meta"].shape[1:])
    flattened = tuple(flatten.args[0].meta["tensor_meta"].shape[1:])
    node = next(n for n in model.nodes if n.keras_type == "Flatten")
    for layout, factors in (("channels_first", nchw), ("channels_last", (*nchw[1:], nchw[0]))):
        lines = explain_parts(model, node, layout=layout)["shape"]
        assert lines[1] == f"{'·'.join(map(str, factors))} = {math.prod(factors):,} features"
        assert len(lines) == (2 if factors == flattened else 3)
