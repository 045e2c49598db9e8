"""`cnndsl emit --onnx`: a valid ONNX graph whose outputs are the emitted PyTorch module's.

Each network is written as ONNX with the onnx package alone, checked by
onnx.checker (full_check), its shapes inferred again by onnx.shape_inference,
then filled with the PyTorch module's weights (cnndsl.port.torch_to_onnx)
and run by onnxruntime: the outputs must equal PyTorch's within 1e-4.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from emit_test_networks import NETWORKS
from example_files import model_files
from onnx_helpers import nchw_inputs, run_onnx, torch_module

import cnndsl
from cnndsl.core.errors import UnsupportedByTarget
from cnndsl.emit.onnx import OPSET, build
from cnndsl.port import torch_to_onnx

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]

# Every example network, Keras and torchvision style, families at their own defaults.
EXAMPLES = model_files()


def check_against_torch(model, torch):
    """Valid ONNX; onnx's own shape inference agrees with ours; outputs equal the PyTorch module's."""
    import onnx

    proto = build(model)
    assert proto.opset_import[0].version == OPSET >= 17
    bare = onnx.ModelProto()
    bare.CopyFrom(proto)
    del bare.graph.value_info[:]  # onnx infers every shape again from the inputs alone
    inferred = onnx.shape_inference.infer_shapes(bare, check_type=True, strict_mode=True)
    shapes = {v.name: v.type.tensor_type.shape.dim for v in (*inferred.graph.value_info, *inferred.graph.output)}
    compared = 0
    for node in model.layers:  # each layer's output under its own name, NCHW
        if node.name in shapes:
            dims = [d.dim_value if d.HasField("dim_value") else None for d in shapes[node.name]]
            assert dims[1:] == [node.shape[-1], *node.shape[:-1]], node.name
            compared += 1
    assert compared >= len(model.layers) // 2
    module = torch_module(model, torch)
    torch_to_onnx(module, proto)
    initializers = {init.name for init in proto.graph.initializer}
    left_out = tuple(f"{n}." for p in proto.metadata_props if p.key == "cnndsl.training_only" for n in p.value.split())
    assert {k for k in module.state_dict() if not k.endswith("num_batches_tracked") and not k.startswith(left_out)} <= (
        initializers
    )
    assert bool(left_out) == bool(model.training_only)
    inputs = nchw_inputs(model, torch)
    with torch.no_grad():
        expected = module(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = run_onnx(proto, inputs)
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4, rtol=1e-4)
    return proto


@pytest.mark.parametrize("name", NETWORKS)
def test_network_runs_as_pytorch(name, torch):
    check_against_torch(cnndsl.analyze(NETWORKS[name], name=name), torch)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_runs_as_pytorch(path, torch):
    proto = check_against_torch(cnndsl.analyze_file(path), torch)
    assert proto.producer_name == "cnndsl"


def test_shared_layer_is_one_initializer(torch):
    source = """
        def tower():
            conv 4 3 relu | pool 2 | dense 5
        left: input 10x10x1
        right: input 10x10x1
        @left | l: tower
        @right | r: reuse l
        subtract(@l; @r) | multiply(identity; identity)
        dense 1 sigmoid
    """
    model = cnndsl.analyze(source, name="siamese_small")
    proto = check_against_torch(model, torch)
    names = [i.name for i in proto.graph.initializer]
    assert len(names) == len(set(names)) == 6  # the tower's conv and dense, and the last dense: weight and bias each


def test_unknown_sizes_pad_same_upper(torch):
    """`input ?x?x3` with `same` and a stride: ONNX's SAME_UPPER is Keras's rule (the odd pixel after)."""
    import onnxruntime  # noqa: F401

    model = cnndsl.analyze("input ?x?x3\nconv 4 3 stride 2 same\nmaxpool 2 same\ngap\ndense 2", name="any_size")
    proto = build(model)
    sized = cnndsl.analyze("input 11x11x3\nconv 4 3 stride 2 same\nmaxpool 2 same\ngap\ndense 2", name="any_size")
    module = torch_module(sized, torch)
    torch_to_onnx(module, proto)
    inputs = nchw_inputs(sized, torch)
    with torch.no_grad():
        expected = module(*inputs)
    np.testing.assert_allclose(run_onnx(proto, inputs)[0], expected.numpy(), atol=1e-4, rtol=1e-4)


def test_unsupported_layer_is_located():
    model = cnndsl.analyze("input 8x8x3\nconv 4 3\nadaptivepool 4", name="m")  # 6 positions into 4 windows
    with pytest.raises(UnsupportedByTarget) as caught:
        build(model)
    assert "`adaptivepool`" in caught.value.message
    assert caught.value.span.line == 3


def cli(*args):
    return subprocess.run([sys.executable, "-m", "cnndsl", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_writes_a_file(tmp_path):
    import onnx

    out = tmp_path / "lenet.onnx"
    result = cli("emit", "--onnx", "examples/lenet.cnn", "-o", str(out))
    assert result.returncode == 0, result.stderr
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)


def test_cli_refuses_stdout_and_unsupported(tmp_path):
    result = cli("emit", "--onnx", "examples/lenet.cnn")
    assert result.returncode == 2 and "-o" in result.stderr
    source = tmp_path / "m.cnn"
    source.write_text("input 8x8x3\nadaptivepool 3\n")
    out = tmp_path / "m.onnx"
    result = cli("emit", "--onnx", str(source), "-o", str(out))
    assert result.returncode == 1 and "m.cnn:2:1" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
