"""`cnndsl import model.onnx`: the graph read (never run) back into a .cnn with the source's figures.

Sources: graphs `cnndsl emit --onnx` writes, and graphs torch.onnx.export writes
from the emitted PyTorch modules (TorchScript exporter, no constant folding,
training mode preserved). The imported file's summary must give the source
model's totals and every layer's type, output shape and parameters, in order.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from emit_test_networks import NETWORKS
from example_files import model_files
from hypothesis import HealthCheck, assume, given, settings
from netgen import networks
from onnx_helpers import torch_module

import cnndsl
from cnndsl.emit.onnx import build
from cnndsl.importers import ModelFileError, import_file

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]

# Every example network, but two whose ONNX graph is not the whole model by design:
NOT_ROUND_TRIPS = {
    # its towers share their layers (`reuse`): one weight read by several nodes, which the importer refuses
    "siamese.cnn": "shared layers",
    # its auxiliary head is an `output train`: an inference graph leaves it out (tested below without it)
    "torchvision/inception_v3.cnn": "training-only output",
}
ROUND_TRIPS = [p for p in model_files() if p.relative_to(ROOT / "examples").as_posix() not in NOT_ROUND_TRIPS]


def figures(model, skip=()):
    rows = [(n.keras_type, n.shape, n.info.trainable, n.info.non_trainable) for n in model.layers]
    rows = [r for r in rows if r[0] not in skip]
    return (model.total, model.trainable, model.non_trainable), rows


def imported(path) -> cnndsl.Model:
    return cnndsl.analyze(import_file(path).text, name="imported")


@pytest.mark.parametrize("path", ROUND_TRIPS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_emitted_onnx_imports_to_the_same_model(path, tmp_path):
    model = cnndsl.analyze_file(path)
    file = tmp_path / "model.onnx"
    file.write_bytes(build(model).SerializeToString())
    assert figures(imported(file)) == figures(model)


def test_a_training_only_output_is_left_out_and_the_rest_imports(tmp_path):
    """Inception v3's auxiliary head exists only while training, so the ONNX graph (inference) has
    neither its layers nor its parameters; every other layer comes back, in order."""
    model = cnndsl.analyze_file(ROOT / "examples/torchvision/inception_v3.cnn")
    file = tmp_path / "model.onnx"
    file.write_bytes(build(model).SerializeToString())
    ours = imported(file)
    kept = [n for n in model.layers if n.id not in model.training_only]
    assert len(kept) < len(model.layers)
    rows = [(n.keras_type, n.shape, n.info.trainable, n.info.non_trainable) for n in kept]
    assert figures(ours)[1] == rows
    assert ours.total == sum(n.info.params for n in kept)


@pytest.mark.parametrize(
    "text",
    [
        "input 12x12x1\ndeconv 16 3 same dilation 2147483648\n",  # the 2026-12-08 campaign's hang
        "input 12x12x1\ndeconv 4 3 stride 3 same outpad 1\n",
        "input 1x1\ndeconv 4 2 stride 2147483647\n",  # one output 2^31 − 1 long: valid's output padding
    ],
)
def test_a_transposed_convs_output_padding_is_solved_not_searched(text, tmp_path):
    """Import found the output padding whose cuts are the graph's by trying every value below
    max(stride, dilation): 2^31 tries for `dilation 2147483648`. The cuts' sum grows by one per unit of
    output padding, so the one value is solved for, and the model comes back as it was written."""
    model = cnndsl.analyze(text)
    file = tmp_path / "model.onnx"
    file.write_bytes(build(model).SerializeToString())
    assert figures(imported(file)) == figures(model)


@pytest.mark.parametrize("name", NETWORKS)
def test_emitted_network_imports_to_the_same_model(name, tmp_path):
    model = cnndsl.analyze(NETWORKS[name], name=name)
    file = tmp_path / "model.onnx"
    file.write_bytes(build(model).SerializeToString())
    assert figures(imported(file)) == figures(model)


@pytest.mark.parametrize("path", ["examples/torchvision/resnet18.cnn", "examples/torchvision/mobilenet_v2.cnn"])
def test_torch_exported_onnx_imports_to_the_same_model(path, tmp_path, torch):
    """torch.onnx.export of the emitted module. In eval mode it leaves dropout out, and the emitted module
    writes a symmetric `pad P` before a conv as the conv's own `padding=P` (as torchvision does), which
    ONNX keeps in the Conv node: those rows are set aside; every other row and the totals must agree."""
    model = cnndsl.analyze_file(ROOT / path)
    module = torch_module(model, torch)
    shape = model.nodes[model.inputs[0]].shape
    file = tmp_path / "exported.onnx"
    torch.onnx.export(
        module,
        (torch.zeros(1, shape[-1], *shape[:-1]),),
        str(file),
        dynamo=False,
        do_constant_folding=False,
        training=torch.onnx.TrainingMode.PRESERVE,
        opset_version=17,
    )
    ours = imported(file)
    assert (
        ours.total
        == model.total
        == sum(p.numel() for p in module.parameters())
        + sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked"))
    )
    aside = ("Dropout", "ZeroPadding2D")
    assert figures(ours, skip=aside) == figures(model, skip=aside)


# The emitted PyTorch module of these, exported by torch.onnx.export, is not read back yet:
NOT_THROUGH_PYTORCH = {
    "siamese.cnn": "shared layers",
    # `same` with a stride at unknown sizes: the module works its pads out from the input's shape (Shape, Gather ...)
    "mobilenet_v3_small.cnn": "pads computed from the shape",
    "mobilenet_v3_large.cnn": "pads computed from the shape",
    "families/mobilenet_v3.cnn": "pads computed from the shape",
    "nasnet_mobile.cnn": "a Slice of a tensor of unknown size (cropping at unknown sizes)",
    # torch.onnx.export (opset 17) has no ONNX for aten::channel_shuffle, which the emitted module calls
    "torchvision/shufflenet_v2_x1_0.cnn": "channel_shuffle not exportable",
}
THROUGH_PYTORCH = [p for p in model_files() if p.relative_to(ROOT / "examples").as_posix() not in NOT_THROUGH_PYTORCH]

# The emitted PyTorch module writes each pair as the same torch code, so the exported graph is the same:
SAME_IN_TORCH = {"DepthwiseConv2D": "Conv2D", "AdaptiveAveragePooling2D": "AveragePooling2D"}


def torch_figures(model):
    """The figures an ONNX graph exported from the emitted module can tell: what torch writes alike
    is read alike. A `pad P` before a layer and its `same` are one padding=P; `conv 8 3 relu` and
    `conv 8 3 | relu` one F.relu(conv(x)); a concat inside a concat one torch.cat (TorchScript flattens
    it); a dwconv a grouped nn.Conv2d; dropout (eval) nothing; a training-only output is not exported.
    Those rows are set aside or named alike; the totals and every other row are compared."""
    readers: dict = {}
    for n in model.layers:
        for i in n.inputs:
            readers.setdefault(i, []).append(n.keras_type)
    kept = [n for n in model.layers if n.id not in model.training_only]
    rows = [
        (SAME_IN_TORCH.get(n.keras_type, n.keras_type), n.shape, n.info.trainable, n.info.non_trainable)
        for n in kept
        if n.keras_type not in ("Dropout", "ZeroPadding2D", "Activation", "ReLU")
        and not (n.keras_type == "Concatenate" and readers.get(n.id) == ["Concatenate"])
    ]
    totals = [sum(getattr(n.info, k) for n in kept) for k in ("params", "trainable", "non_trainable")]
    return totals, rows


def export_from_torch(model, torch, file) -> None:
    """torch.onnx.export of the emitted module (TorchScript, no constant folding), unknown sizes kept unknown."""
    module = torch_module(model, torch)
    shapes = [model.nodes[i].shape for i in model.inputs]
    names = [f"input_{k}" for k in range(len(shapes))]
    args = tuple(torch.zeros(1, s[-1], *(67 if d is None else d for d in s[:-1])) for s in shapes)
    dynamic = {n: {1 + a: f"{n}_{a}" for a, d in enumerate(s[:-1]) if d is None} for n, s in zip(names, shapes)}
    torch.onnx.export(
        module,
        args,
        str(file),
        dynamo=False,
        do_constant_folding=False,
        training=torch.onnx.TrainingMode.PRESERVE,
        opset_version=17,
        input_names=names,
        dynamic_axes={n: axes for n, axes in dynamic.items() if axes} or None,
    )


@pytest.mark.parametrize("path", THROUGH_PYTORCH, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_emitted_pytorch_exported_to_onnx_imports_to_the_same_model(path, tmp_path, torch):
    model = cnndsl.analyze_file(path)
    file = tmp_path / "exported.onnx"
    export_from_torch(model, torch, file)
    assert torch_figures(imported(file)) == torch_figures(model)


def graph_file(tmp_path, nodes, inputs, outputs, initializers=(), name="g.onnx"):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        list(initializers),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def test_unsupported_operator_names_itself_and_its_place(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("Relu", ["x"], ["a"], name="first"), helper.make_node("LSTM", ["a"], ["b"], name="odd")]
    path = graph_file(tmp_path, nodes, [("x", [1, 3, 8, 8])], ["b"])
    with pytest.raises(ModelFileError) as caught:
        import_file(path)
    text = caught.value.render("g.onnx")
    assert caught.value.exit_code == 1
    assert "node 1 `odd` (LSTM)" in text and "`LSTM` is not one cnndsl imports" in text


def test_cycle_is_refused(tmp_path):
    from onnx import helper

    nodes = [
        helper.make_node("Add", ["x", "b"], ["a"], name="one"),
        helper.make_node("Relu", ["a"], ["b"], name="two"),
    ]
    import onnx

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, None)],
    )
    path = tmp_path / "cycle.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())  # onnx.save would check it first
    with pytest.raises(ModelFileError) as caught:
        import_file(path)
    assert "cycle" in caught.value.message and caught.value.exit_code == 2


def test_too_many_nodes_is_refused(tmp_path):
    from onnx import helper

    from cnndsl.core.limits import MAX_IMPORT_LAYERS

    count = MAX_IMPORT_LAYERS + 1
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"]) for i in range(count)]
    path = graph_file(tmp_path, nodes, [("t0", [1, 3, 4, 4])], [f"t{count}"])
    with pytest.raises(ModelFileError) as caught:
        import_file(path)
    assert f"{count:,} nodes" in caught.value.message


def cli(*args):
    return subprocess.run([sys.executable, "-m", "cnndsl", *args], capture_output=True, text=True, cwd=ROOT)


def test_truncated_and_foreign_files_are_exit_2(tmp_path):
    good = tmp_path / "lenet.onnx"
    good.write_bytes(build(cnndsl.analyze_file(ROOT / "examples/lenet.cnn")).SerializeToString())
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(good.read_bytes()[:1000])
    foreign = tmp_path / "foreign.onnx"
    foreign.write_bytes(b"\xff\x00 not a protobuf \x07" * 50)
    for path in (truncated, foreign):
        result = cli("import", str(path))
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_summary_reads_an_onnx_file(tmp_path):
    path = tmp_path / "lenet.onnx"
    model = cnndsl.analyze_file(ROOT / "examples/lenet.cnn")
    path.write_bytes(build(model).SerializeToString())
    result = cli("summary", "--json", str(path))
    assert result.returncode == 0, result.stderr
    import json

    assert json.loads(result.stdout)["total_params"] == model.total


def test_the_list_of_onnx_operators_in_the_docs_is_current_and_real():
    import onnx

    from cnndsl.importers import docs
    from cnndsl.importers.onnx import ONNX_RULES, ONNX_WORDS

    text = docs.DOC.read_text(encoding="utf-8")
    assert docs.current(text, docs.ONNX_BEGIN, docs.ONNX_END) == docs.generated_onnx(), (
        "run: python -m cnndsl.importers.docs --update"
    )
    assert set(ONNX_RULES) == set(ONNX_WORDS)
    for op in ONNX_RULES:
        assert onnx.defs.has(op), op


def test_torch_exported_gelu_and_upsampling_import(tmp_path, torch):
    """torch.onnx.export writes nn.GELU as x times 1 + erf(x/√2), then ·0.5, and nn.Upsample as a Resize."""
    from torch import nn

    module = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.GELU(), nn.Upsample(scale_factor=2), nn.Flatten(), nn.Linear(4 * 12 * 12, 2)
    ).eval()
    file = tmp_path / "gelu.onnx"
    torch.onnx.export(
        module, (torch.zeros(1, 3, 8, 8),), str(file), dynamo=False, do_constant_folding=False, opset_version=17
    )
    ours = imported(file)
    rows = [(n.keras_type, n.shape) for n in ours.layers]
    assert rows == [
        ("Conv2D", (6, 6, 4)),
        ("Activation", (6, 6, 4)),
        ("UpSampling2D", (12, 12, 4)),
        ("Flatten", (576,)),
        ("Dense", (2,)),
    ]
    assert ours.layers[1].layer.keyword == "gelu"
    assert ours.total == sum(p.numel() for p in module.parameters())


def test_an_erf_outside_a_gelu_is_refused_at_its_node(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("Relu", ["x"], ["a"], name="first"), helper.make_node("Erf", ["a"], ["b"], name="lone")]
    path = graph_file(tmp_path, nodes, [("x", [1, 3, 8, 8])], ["b"])
    with pytest.raises(ModelFileError) as caught:
        import_file(path)
    assert caught.value.exit_code == 1
    assert (
        "node 1 `lone` (Erf)" in caught.value.render("g.onnx") and "not part of an exact GELU" in caught.value.message
    )


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(net=networks(max_layers=6))
def test_random_networks_through_emitted_onnx(net):
    """netgen's networks written by `emit --onnx` (the onnx package alone, no torch: a few seconds) and imported."""
    from cnndsl.core.errors import UnsupportedByTarget

    model = cnndsl.analyze(net.text)
    try:
        proto = build(model)
    except UnsupportedByTarget:  # what ONNX cannot say (an adaptive pool to a size that does not divide)
        assume(False)
    file = Path(tempfile.mkdtemp()) / "random.onnx"
    file.write_bytes(proto.SerializeToString())
    assert figures(imported(file)) == figures(model), net.text
