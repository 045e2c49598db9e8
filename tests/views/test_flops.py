"""`cnndsl flops`: each FLOP counter's number, worked out by cnndsl from that tool's rules,
must be what the real tool reports on the emitted PyTorch model (torchinfo, fvcore, ptflops,
thop, all at their default settings; PyTorch's FlopCounterMode for cnndsl's own)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
from pathlib import Path

import pytest
from docs_pages import page
from emit_helpers import load
from example_files import model_files
from hypothesis import HealthCheck, given, settings
from netgen import networks

import cnndsl
from cnndsl.cli import main
from cnndsl.core.errors import SizeNeeded
from cnndsl.emit import generate
from cnndsl.emit.pytorch import TorchTarget
from cnndsl.views.flops import COUNTERS, calls, totals

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parent.parent.parent
# Every example agrees with every tool (about 4 minutes: CNNDSL_ALL_FLOPS=1 runs them all); CI runs
# the small ones and three big ones to keep its time down.
SMALL = {"cifar10_cnn", "coursera_cnn", "lenet", "mnist_cnn", "scenario1", "scenario2", "scenario3"}
# shuffle and chunk: PYTORCH_PIECES; convnext_tiny: layer norm (LayerNorm2d, and channels last between Permutes),
# dense on the last axis, layer scale (a bare parameter), stochastic depth; regnet_y_400mf and mobilenet_v3_small:
# nn.Sequential subclasses of an OrderedDict, squeeze-excite modules, hardswish and hardsigmoid modules
CI_BIG = {
    "examples/mobilenet",
    "torchvision/squeezenet1_1",
    "torchvision/convnext_tiny",
    "torchvision/regnet_y_400mf",
    "torchvision/mobilenet_v3_small",
}


def key(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


EXAMPLES = [
    path
    for path in model_files()  # not the files of blocks others `use`: they hold no network
    if os.environ.get("CNNDSL_ALL_FLOPS") == "1" or path.stem in SMALL or key(path) in CI_BIG
]


def at_a_size(path: Path):
    """The example, its inputs of any size (Keras's MobileNetV3, `input ?x?x3`) given 224: the tools run on a
    tensor, and cnndsl refuses to count without sizes."""
    text = path.read_text(encoding="utf-8")
    return cnndsl.analyze(re.sub(r"^input \?x\?x", "input 224x224x", text, flags=re.M), str(path))


def measure(model, torch) -> dict[str, int]:
    """What each real tool reports for the PyTorch module cnndsl emits for `model`."""
    import fvcore.nn
    import ptflops
    import thop
    import torchinfo
    from torch.utils.flop_counter import FlopCounterMode

    def fresh():
        return load(generate(model, "pytorch"), "generated_torch").build_model().eval()

    sizes = [(1, s[-1], *s[:-1]) for s in (model.nodes[i].shape for i in model.inputs)]
    xs = tuple(torch.zeros(size) for size in sizes)
    found = {}
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        fresh()(*xs)
    found["cnndsl"] = counter.get_total_flops() // 2
    found["torchinfo"] = torchinfo.summary(fresh(), input_size=sizes, verbose=0).total_mult_adds
    analysis = fvcore.nn.FlopCountAnalysis(fresh(), xs)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    found["fvcore"] = analysis.total()
    # ptflops calls forward with one tensor, or with the keyword arguments its input_constructor returns
    arguments = dict(zip(TorchTarget(model).arguments(), xs))
    with contextlib.redirect_stdout(io.StringIO()):
        found["thop"] = thop.profile(fresh(), inputs=xs, verbose=False)[0]
        found["ptflops"] = ptflops.get_model_complexity_info(
            fresh(),
            sizes[0][1:],
            as_strings=False,
            print_per_layer_stat=False,
            input_constructor=None if len(xs) == 1 else lambda _: arguments,
        )[0]
    return {name: int(found[name]) for name in COUNTERS}


@pytest.fixture(autouse=True)
def _quiet_fvcore():
    logging.getLogger("fvcore").setLevel(logging.ERROR)


def test_lenet_at_the_tools_defaults(torch):
    """The tools' own numbers for LeNet, measured here (torchinfo, fvcore and thop as the issue reports)."""
    model = cnndsl.analyze_file(ROOT / "examples" / "lenet.cnn")
    expected = {"cnndsl": 849_320, "torchinfo": 857_406, "fvcore": 849_320, "ptflops": 881_236, "thop": 849_320}
    assert measure(model, torch) == expected
    assert totals(model) == expected


@pytest.mark.parametrize("path", EXAMPLES, ids=key)
def test_every_example_equals_every_tool(path, torch):
    model = at_a_size(path)
    assert totals(model) == measure(model, torch)


def test_counting_needs_every_size():
    model = cnndsl.analyze_file(ROOT / "examples" / "mobilenet_v3_large.cnn")
    with pytest.raises(SizeNeeded, match="counting FLOPs needs every axis's size") as caught:
        totals(model)
    assert caught.value.hint == "give the input a size for this, e.g. `input 224x224x3`"


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(network=networks())
def test_random_networks_equal_every_tool(network, torch):
    model = cnndsl.analyze(network.text)
    assert totals(model) == measure(model, torch), network.text


PYTORCH_PIECES = """defaults pytorch
input 17x17x6
conv 12 3 pad 1 nobias | bn | relu6 | layernorm nocenter
maxpool 3 stride 2 pad 1 ceil | adaptivepool 5x3
concat(chunk 2 0; chunk 2 1 | conv 6 1 | bn noscale | gelu) | shuffle 3
avgpool 2 stride 1 same | bn nocenter | upsample 2 bilinear | deconv 4 3 stride 2 same
flatten | dense 10 softmax
"""


# Several inputs and outputs, and shared layers: each called once per use.
GRAPHS = [ROOT / "examples" / f"{name}.cnn" for name in ("siamese", "two_heads")]


@pytest.mark.parametrize("path", GRAPHS, ids=key)
def test_several_inputs_equal_every_tool(path, torch):
    model = cnndsl.analyze_file(path)
    assert totals(model) == measure(model, torch)


def test_the_calls_shown_for_several_inputs_run(torch):
    """Each call `cnndsl flops` prints for a two-input model, run as written, gives the figure beside it."""
    import fvcore.nn
    import ptflops
    import thop
    import torchinfo

    model = cnndsl.analyze_file(ROOT / "examples" / "siamese.cnn")
    built = load(generate(model, "pytorch"), "generated_torch").build_model().eval()
    names = {"model": built, "left": torch.zeros(1, 1, 105, 105), "right": torch.zeros(1, 1, 105, 105)}
    names |= {"torchinfo": torchinfo, "fvcore": fvcore, "ptflops": ptflops, "thop": thop}
    shown = calls(model)
    quiet = {  # the tools' own switches for silence and a plain number
        "torchinfo": ("input_size=", "verbose=0, input_size="),
        "ptflops": ("input_constructor=", "as_strings=False, print_per_layer_stat=False, input_constructor="),
        "thop": ("inputs=", "verbose=False, inputs="),
    }
    # the figures the real tools gave on the emitted siamese network
    expected = {"torchinfo": 1_818_992_641, "fvcore": 1_817_251_840, "ptflops": 1_824_153_601, "thop": 1_817_251_840}
    for name, figure in expected.items():
        code = shown[name].removesuffix(", pytorch backend").removesuffix(" (ultralytics-thop)")
        code = code.replace(*quiet[name]) if name in quiet else code
        with contextlib.redirect_stdout(io.StringIO()):
            result = eval(code, dict(names))
        assert int(result[0] if isinstance(result, tuple) else result) == figure, name
    assert 'input_constructor=lambda _: {"left": left, "right": right}' in shown["ptflops"]


def test_pytorch_pieces_equal_every_tool(torch):
    model = cnndsl.analyze(PYTORCH_PIECES)
    assert totals(model) == measure(model, torch)


def test_flops_command(capsys):
    assert main(["flops", "--json", str(ROOT / "examples" / "lenet.cnn")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {name: entry["macs"] for name, entry in data["conventions"].items()}["torchinfo"] == 857_406
    assert set(data["conventions"]) == set(COUNTERS)
    assert all(entry["counts"] for entry in data["conventions"].values())
    assert main(["flops", str(ROOT / "examples" / "lenet.cnn")]) == 0
    table = capsys.readouterr().out
    assert "ptflops" in table and "881,236" in table


def test_readme_table_is_current():
    text = page("commands.md")
    lenet = totals(cnndsl.analyze_file(ROOT / "examples" / "lenet.cnn"))
    resnet = totals(cnndsl.analyze_file(ROOT / "examples" / "torchvision" / "resnet50.cnn"))
    for name in COUNTERS:
        assert f"| {lenet[name]:,} | {resnet[name]:,} |" in text, name


# ptflops 0.7.5's README, "Benchmark / torchvision", MACs(G) with its `pytorch` backend: the models
# examples/torchvision/ also writes (googlenet's row counts the auxiliary heads the example leaves out).
PTFLOPS_README = {
    "alexnet": "0.72",
    "densenet121": "2.90",
    "efficientnet_b0": "0.41",
    "mnasnet1_0": "0.33",
    "mobilenet_v2": "0.32",
    "resnet18": "1.83",
    "resnet50": "4.13",
    "shufflenet_v2_x1_0": "0.15",
}


@pytest.mark.parametrize("name", sorted(PTFLOPS_README))
def test_ptflops_figure_is_ptflops_published_one(name):
    """With activations as torchvision writes them (nn.ReLU modules, which ptflops counts twice),
    the ptflops count of the emitted torchvision models is the one ptflops publishes."""
    model = cnndsl.analyze_file(ROOT / "examples" / "torchvision" / f"{name}.cnn")
    assert f"{totals(model)['ptflops'] / 1e9:.2f}" == PTFLOPS_README[name]


def test_explain_shows_one_layers_count_under_each_counter(torch, capsys):
    """Per layer, against the tools' own per-module figures (torchinfo's rows, fvcore's by_module)."""
    import fvcore.nn
    import torchinfo

    from cnndsl.emit.pytorch import TorchTarget
    from cnndsl.views.flops import layer_counts

    model = cnndsl.analyze(PYTORCH_PIECES)
    built = load(generate(model, "pytorch"), "generated_torch").build_model().eval()
    shape = model.input.shape
    x = torch.zeros(1, shape[-1], *shape[:-1])
    rows = torchinfo.summary(built, input_data=x, verbose=0).summary_list
    with_modules = [node for node in model.layers if node.layer.torch_modules(node)]
    assert [row.macs for row in rows if row.depth == 1] == [layer_counts(n)["torchinfo"] for n in with_modules]
    by_module = fvcore.nn.FlopCountAnalysis(built, x).unsupported_ops_warnings(False).by_module()
    attributes = TorchTarget(model).attributes
    assert {n.name: by_module[attributes[n.id]] for n in with_modules} == {
        n.name: layer_counts(n)["fvcore"] for n in with_modules
    }
    lenet = str(ROOT / "examples" / "lenet.cnn")
    assert main(["explain", "--flops", "--layer", "conv2d", lenet]) == 0
    assert "conv2d: cnndsl 470,400, torchinfo 476,672, fvcore 470,400, ptflops 482,944, thop 470,400" in (
        capsys.readouterr().out
    )
