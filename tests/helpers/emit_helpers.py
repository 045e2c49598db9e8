"""Shared by the code-generation tests: run emitted code and compare it with the summary.

Keras and PyTorch are imported by the callers (through the conftest
fixtures) and passed in; this module imports neither.
"""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import cnndsl
from cnndsl.emit import generate
from cnndsl.emit.pytorch import TorchTarget
from cnndsl.emit.target import EXAMPLE_SIZE
from cnndsl.port import keras_to_torch

RUFF = [sys.executable, "-m", "ruff"]


def load(code: str, name: str) -> types.ModuleType:
    """Execute generated source as a module (not as __main__)."""
    module = types.ModuleType(name)
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    return module


def check_keras(model, keras) -> object:
    """Build the emitted Keras model; its numbers must be the summary's, row for row."""
    built = load(generate(model, "keras"), "generated_keras").build_model()
    assert built.count_params() == model.total
    trainable = sum(math.prod(w.shape) for w in built.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in built.non_trainable_weights)
    assert (trainable, non_trainable) == (model.trainable, model.non_trainable)
    assert [tuple(t.shape) for t in built.outputs] == [(None, *model.nodes[i].shape) for i in model.outputs]
    assert built.name == model.name
    rows = [(layer.name, type(layer).__name__, layer.count_params()) for layer in built.layers]
    sequential = model.sequential and bool(model.layers)  # a bare input is built with the functional API
    if not sequential:  # the inputs in order, each under its own name
        names = [t._keras_history.operation.name for t in built.inputs]
        assert names == [model.nodes[i].name for i in model.inputs]
    nodes = model.layers if sequential else model.keras_order
    expected = [(node.name, node.keras_type, node.info.params) for node in nodes]
    # The summary lists a graph's rows in Keras's own order, so rows match one for one.
    assert rows == expected
    by_name = {layer.name: layer for layer in built.layers}
    for node in model.layers:  # a shared layer: each use's output in turn
        keras_node = by_name[node.name]._inbound_nodes[node.call_index]
        assert [tuple(t.shape) for t in keras_node.output_tensors] == [(None, *node.shape)], node.name
    return built


def check_torch(model, torch, batch: int = 2) -> object:
    """Build the emitted PyTorch model; parameters, BN buffers, output shape and MACs must match.

    MACs are counted by PyTorch's own FlopCounterMode (convolutions and
    matrix products, 2 FLOPs per multiply-accumulate), layer by layer: the
    emitted modules are named after the summary's layers.
    """
    built = load(generate(model, "pytorch"), "generated_torch").build_model()
    assert sum(p.numel() for p in built.parameters()) == model.trainable
    stats = sum(b.numel() for name, b in built.named_buffers() if not name.endswith("num_batches_tracked"))
    assert stats == model.non_trainable
    if model.unknown_inputs:  # the module takes any size: run it on one, and compare with that size's figures
        model = with_sizes(model, EXAMPLE_SIZE)
    zeros = [torch.zeros(batch, s[-1], *s[:-1]) for s in (model.nodes[i].shape for i in model.inputs)]
    counter = importlib.import_module("torch.utils.flop_counter").FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = built.eval()(*zeros)
    served = [i for i in model.outputs if i not in model.training_outputs]  # eval mode: no training-only ones
    outs = out if len(served) > 1 else (out,)
    finals = [model.nodes[i].shape for i in served]
    assert [tuple(o.shape) for o in outs] == [(batch, s[-1], *s[:-1]) for s in finals]
    # Keys are "Class.path" for each module: `Model.conv2d`, `Model.layer1.0.conv1` in a block's class.
    flops = {key.split(".", 1)[1]: sum(ops.values()) for key, ops in counter.get_flop_counts().items() if "." in key}
    paths = TorchTarget(model).paths  # the layer `train` is `self.train_`
    expected: dict[str, int] = {}
    for node in model.layers:  # a shared module counts once per use; training-only layers do not run
        macs = 0 if node.id in model.training_only else node.info.macs
        expected[node.name] = expected.get(node.name, 0) + 2 * batch * macs
    assert {node.name: flops.get(paths.get(node.id), 0) for node in model.layers} == expected
    assert counter.get_total_flops() == 2 * batch * model.macs
    return built


def with_sizes(model, size: int):
    """The model analysed again with every `?` axis of its inputs at `size`."""
    lines = model.source.text.split("\n")
    for node in model.unknown_inputs:
        line = lines[node.span.line - 1]
        code, hash_, comment = line.partition("#")
        lines[node.span.line - 1] = code.replace("?", str(size)) + hash_ + comment
    sized = cnndsl.analyze("\n".join(lines), name=model.name)
    assert not sized.unknown_inputs and len(sized.nodes) == len(model.nodes)
    return sized


def ruff_problems(*codes: str) -> list[str]:
    """What `ruff format --check` and `ruff check` object to in generated modules.

    Format is checked with ruff's defaults (88 columns, narrower than the
    project's 120), lint with the project's rule set at 88 columns. All the
    modules go to one ruff run of each kind, which is what keeps this fast.
    """
    with tempfile.TemporaryDirectory() as folder:
        for i, code in enumerate(codes):
            Path(folder, f"generated_{i}.py").write_text(code, encoding="utf-8")
        problems = []
        for command in (
            ["format", "--isolated", "--diff", folder],
            ["check", "--isolated", "--select", "E,F,W,I,B,UP", "--line-length", "88", "--no-cache", folder],
        ):
            run = subprocess.run([*RUFF, *command], capture_output=True, text=True)
            if run.returncode:
                problems.append(run.stdout + run.stderr)
    return problems


def randomize(keras_model, rng) -> None:
    """Random weights for every layer: variances positive, Normalization's count kept."""
    for layer in keras_model.layers:
        values = []
        for weight, value in zip(layer.weights, layer.get_weights()):
            if "variance" in weight.name:
                values.append(rng.uniform(0.5, 2.0, value.shape).astype("float32"))
            elif weight.name == "count":
                values.append(value)
            else:
                values.append(rng.normal(0.0, 0.5, value.shape).astype("float32"))
        layer.set_weights(values)


def ported_models(model, rng, name: str = "numeric") -> tuple[object, object]:
    """`model`'s emitted Keras and PyTorch (eval mode) models: Keras's weights random, ported to PyTorch."""
    keras_model = load(generate(model, "keras"), f"{name}_keras").build_model()
    torch_model = load(generate(model, "pytorch"), f"{name}_torch").build_model().eval()
    randomize(keras_model, rng)
    keras_to_torch(keras_model, torch_model)
    return keras_model, torch_model


def outputs_of_both(keras_model, torch_model, xs, keras, torch) -> tuple[list, list]:
    """Each model's outputs on the channels-last inputs `xs`, as lists of channels-last arrays."""
    several = len(keras_model.outputs) > 1
    expected = keras_model(xs if len(xs) > 1 else xs[0], training=False)
    expected = [keras.ops.convert_to_numpy(e) for e in (expected if several else [expected])]
    with torch.no_grad():
        got = torch_model(*(torch.from_numpy(x).movedim(-1, 1) for x in xs))
    return expected, [g.movedim(1, -1).numpy() for g in (got if several else [got])]


def run_at_stated_sizes(model, keras, torch) -> list[tuple[dict, list, list]]:
    """Both emitted targets built once and run at each of the model's three stated sizes of its `?` axes:
    (the sizes, Keras's output shapes, PyTorch's in channels-last order), batch 1."""
    keras_model = load(generate(model, "keras"), "sized_keras").build_model()
    torch_model = load(generate(model, "pytorch"), "sized_torch").build_model().eval()
    served = [i for i in model.outputs if i not in model.training_outputs]
    found = []
    for values in model.run_sizes(3):
        shapes = [model.example_shape(model.nodes[i], values) for i in model.inputs]
        ours = keras_model([keras.ops.zeros((1, *s)) for s in shapes] if len(shapes) > 1 else keras.ops.zeros((1, *shapes[0])))
        ours = list(ours) if isinstance(ours, (list, tuple)) else [ours]
        with torch.no_grad():
            theirs = torch_model(*[torch.zeros(1, s[-1], *s[:-1]) for s in shapes])
        theirs = list(theirs) if isinstance(theirs, (list, tuple)) else [theirs]
        found.append(
            (
                values,
                [tuple(o.shape)[1:] for o in ours][: len(model.outputs)],
                [(*tuple(o.shape)[2:], o.shape[1]) if o.dim() > 2 else tuple(o.shape)[1:] for o in theirs][: len(served)],
            )
        )
    return found
