"""examples/torchvision/: torchvision's classification models, written in cnndsl.

The figures are torchvision's own, published in the `_meta` of each model's
weights in torchvision/models/*.py (`num_params`, and `_ops`, its "GFLOPS",
which count multiply-accumulates). torchvision itself does not import next
to the CPU build of torch used here; where it does, its models' state is
copied into the emitted modules in order and the outputs compared.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from docs_pages import page
from emit_helpers import check_keras, check_torch, load

import cnndsl
from cnndsl.emit import generate
from cnndsl.port import torch_to_torch

FOLDER = Path(__file__).resolve().parent.parent.parent / "examples" / "torchvision"

# torchvision/models/<module>.py, <Weights>.IMAGENET1K_V1.meta: (num_params, _ops)
PUBLISHED = {
    "resnet18": (11_689_512, 1.814),  # resnet.py, ResNet18_Weights
    "resnet50": (25_557_032, 4.089),  # resnet.py, ResNet50_Weights
    "alexnet": (61_100_840, 0.714),  # alexnet.py, AlexNet_Weights
    "vgg16_bn": (138_365_992, 15.47),  # vgg.py, VGG16_BN_Weights
    "squeezenet1_1": (1_235_496, 0.349),  # squeezenet.py, SqueezeNet1_1_Weights
    "mobilenet_v2": (3_504_872, 0.301),  # mobilenetv2.py, MobileNet_V2_Weights
    "mobilenet_v3_small": (2_542_856, 0.057),  # mobilenetv3.py, MobileNet_V3_Small_Weights
    "efficientnet_b0": (5_288_548, 0.386),  # efficientnet.py, EfficientNet_B0_Weights
    "shufflenet_v2_x1_0": (2_278_604, 0.145),  # shufflenetv2.py, ShuffleNet_V2_X1_0_Weights
    "densenet121": (7_978_856, 2.834),  # densenet.py, DenseNet121_Weights
    "googlenet": (6_624_904, 1.498),  # googlenet.py, GoogLeNet_Weights (without the auxiliary heads)
    "mnasnet1_0": (4_383_312, 0.314),  # mnasnet.py, MNASNet1_0_Weights
    "regnet_y_400mf": (4_344_144, 0.402),  # regnet.py, RegNet_Y_400MF_Weights
    "convnext_tiny": (28_589_128, 4.456),  # convnext.py, ConvNeXt_Tiny_Weights
    # inception.py, Inception_V3_Weights (aux_logits=True: the parameters count the auxiliary head, the
    # GFLOPS are inference's, without it: its MACs are the model's training-only ones)
    "inception_v3": (27_161_264, 5.713),
}
# Small enough to build and run here on every CI run; the others are built in the slow set below.
QUICK = [
    "squeezenet1_1",
    "mobilenet_v2",
    "resnet18",
    "shufflenet_v2_x1_0",
    "mobilenet_v3_small",
    "mnasnet1_0",
    "convnext_tiny",
]


def test_every_example_has_its_published_figures():
    assert sorted(p.stem for p in FOLDER.glob("*.cnn")) == sorted(PUBLISHED)


def test_the_readme_lists_every_example_with_its_published_figures():
    section = page("examples.md").split("## torchvision's models", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)\.cnn`[^|]*\| ([\d,]+) \| ([\d.]+) \|$", section, flags=re.M)
    assert {name: (int(params.replace(",", "")), float(gflops)) for name, params, gflops in rows} == PUBLISHED
    assert len(rows) == len(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameters_and_gflops(name):
    model = cnndsl.analyze_file(FOLDER / f"{name}.cnn")
    params, gflops = PUBLISHED[name]
    assert model.trainable == params
    assert round(model.macs / 1e9, 3) == gflops


@pytest.mark.oracle
@pytest.mark.parametrize("name", QUICK)
def test_emitted_module_matches_the_summary(name, torch):
    model = cnndsl.analyze_file(FOLDER / f"{name}.cnn")
    built = check_torch(model, torch, batch=1)
    assert sum(p.numel() for p in built.parameters()) == PUBLISHED[name][0]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name",
    ["alexnet", "vgg16_bn", "squeezenet1_1", "googlenet", "convnext_tiny", "resnet18", "densenet121", "shufflenet_v2_x1_0"],
)
def test_models_keras_can_express_build_in_keras(name, keras):
    """alexnet and vgg16_bn flatten a 6x6 or 7x7 map channels first: Keras permutes, then flattens.
    squeezenet1_1 and googlenet pool with `ceil` where Keras's `same` takes the same windows; resnet18's,
    densenet121's and shufflenet_v2_x1_0's stem (`maxpool 3 stride 2 pad 1`) is the MaxPoolPadded layer, padding with -inf.
    convnext_tiny's layer scales are Keras's ConvNeXt LayerScale, its stochastic depth a Dropout.
    shufflenet_v2_x1_0's shuffle and chunk are the ChannelShuffle and Chunk layers written into the module."""
    import math

    model = cnndsl.analyze_file(FOLDER / f"{name}.cnn")
    code = generate(model, "keras")
    assert ("layers.Permute((3, 1, 2)" in code) == (name in ("alexnet", "vgg16_bn"))
    assert ("MaxPoolPadded(" in code) == (name in ("resnet18", "densenet121", "shufflenet_v2_x1_0"))
    assert ("ChannelShuffle(" in code) == ("Chunk(" in code) == (name == "shufflenet_v2_x1_0")
    if name in ("alexnet", "vgg16_bn"):  # the Permute before the flatten is a row the summary leaves out
        built = load(code, "generated_keras").build_model()
    else:  # every row as Keras's summary has it: MaxPoolPadded, ChannelShuffle, Chunk among them
        built = check_keras(model, keras)
    assert sum(math.prod(w.shape) for w in built.trainable_weights) == PUBLISHED[name][0]
    assert built.count_params() == model.total  # and batch norm's moving statistics


@pytest.mark.oracle
def test_torch_to_torch_copies_in_order_and_checks_shapes(torch):
    model = cnndsl.analyze_file(FOLDER / "squeezenet1_1.cnn")
    code = generate(model, "pytorch")
    source = load(code, "a").build_model().eval()
    target = load(code, "b").build_model().eval()
    torch_to_torch(source, target)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(source(x), target(x))
    other = load(generate(cnndsl.analyze_file(FOLDER / "mobilenet_v2.cnn"), "pytorch"), "c").build_model()
    with pytest.raises(ValueError, match="does not fit|parameters and buffers"):
        torch_to_torch(other, target)


if importlib.util.find_spec("torchvision") is not None:  # not a test extra: CI counts a skip as a failure

    @pytest.mark.oracle
    @pytest.mark.parametrize("name", sorted(PUBLISHED))
    def test_torchvision_state_loads_in_order_and_gives_its_outputs(name, torch):
        import torchvision

        theirs = getattr(torchvision.models, name)().eval()
        ours = load(generate(cnndsl.analyze_file(FOLDER / f"{name}.cnn"), "pytorch"), name).build_model().eval()
        assert [tuple(v.shape) for v in theirs.state_dict().values()] == [
            tuple(v.shape) for v in ours.state_dict().values()
        ]
        torch_to_torch(theirs, ours)
        x = torch.randn(1, 3, 224, 224)
        with torch.no_grad():
            assert torch.allclose(theirs(x), ours(x), atol=1e-4)


def torchvision_convnext_tiny(torch):
    """torchvision's convnext_tiny(), rebuilt here because torchvision does not import next to this torch.

    Written from torchvision/models/convnext.py (and StochasticDepth, Permute and Conv2dNormActivation
    in torchvision/ops/), pytorch/vision commit 086fe1f (torchvision 0.2x, BSD-3-Clause): the same
    modules, registered in the same order under the same names (so `state_dict()` has torchvision's
    keys, shapes and order), the same forward, the same stochastic depth rates and initialisation.
    """
    from functools import partial

    from torch import nn
    from torch.nn import functional as F

    class Permute(nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.dims = dims

        def forward(self, x):
            return torch.permute(x, self.dims)

    class StochasticDepth(nn.Module):  # "row": a whole example at a time
        def __init__(self, p, mode):
            super().__init__()
            self.p, self.mode = p, mode

        def forward(self, x):
            if not self.training or self.p == 0.0:
                return x
            noise = torch.empty([x.shape[0]] + [1] * (x.ndim - 1), dtype=x.dtype).bernoulli_(1.0 - self.p)
            return x * noise.div_(1.0 - self.p)

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x):
            x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class CNBlock(nn.Module):
        def __init__(self, dim, layer_scale, stochastic_depth_prob):
            super().__init__()
            self.block = nn.Sequential(
                nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
                Permute([0, 2, 3, 1]),
                nn.LayerNorm(dim, eps=1e-6),
                nn.Linear(dim, 4 * dim, bias=True),
                nn.GELU(),
                nn.Linear(4 * dim, dim, bias=True),
                Permute([0, 3, 1, 2]),
            )
            self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
            self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

        def forward(self, x):
            result = self.stochastic_depth(self.layer_scale * self.block(x))
            result += x
            return result

    class ConvNeXt(nn.Module):
        def __init__(self, block_setting, stochastic_depth_prob, layer_scale=1e-6, num_classes=1000):
            super().__init__()
            norm_layer = partial(LayerNorm2d, eps=1e-6)
            stem = nn.Sequential(  # Conv2dNormActivation(3, 96, 4, stride 4, padding 0, bias, no activation)
                nn.Conv2d(3, block_setting[0][0], kernel_size=4, stride=4, padding=0, bias=True),
                norm_layer(block_setting[0][0]),
            )
            layers = [stem]
            total_stage_blocks = sum(n for _, _, n in block_setting)
            stage_block_id = 0
            for channels, out_channels, n in block_setting:
                stage = []
                for _ in range(n):
                    sd_prob = stochastic_depth_prob * stage_block_id / (total_stage_blocks - 1.0)
                    stage.append(CNBlock(channels, layer_scale, sd_prob))
                    stage_block_id += 1
                layers.append(nn.Sequential(*stage))
                if out_channels is not None:
                    layers.append(
                        nn.Sequential(norm_layer(channels), nn.Conv2d(channels, out_channels, kernel_size=2, stride=2))
                    )
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            last = block_setting[-1][0]
            self.classifier = nn.Sequential(norm_layer(last), nn.Flatten(1), nn.Linear(last, num_classes))
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, std=0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)))

    # convnext_tiny(): CNBlockConfig(input_channels, out_channels, num_layers), stochastic_depth_prob 0.1
    return ConvNeXt([(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)], stochastic_depth_prob=0.1)


@pytest.mark.oracle
def test_convnext_tiny_takes_torchvisions_state_in_order_and_gives_its_outputs(torch):
    torch.manual_seed(0)
    theirs = torchvision_convnext_tiny(torch).eval()
    ours = load(generate(cnndsl.analyze_file(FOLDER / "convnext_tiny.cnn"), "pytorch"), "convnext").build_model()
    ours.eval()
    assert sum(p.numel() for p in theirs.parameters()) == PUBLISHED["convnext_tiny"][0]
    # the layer scale (C, 1, 1) first in each block, as CNBlock registers it before its Sequential
    assert [tuple(v.shape) for v in theirs.state_dict().values()] == [
        tuple(v.shape) for v in ours.state_dict().values()
    ]
    assert list(theirs.state_dict())[4:6] == ["features.1.0.layer_scale", "features.1.0.block.0.weight"]
    rates = [m.p for m in theirs.modules() if type(m).__name__ == "StochasticDepth"]
    assert [m.rate for m in ours.modules() if type(m).__name__ == "DropPath"] == rates
    assert rates[1] == 0.1 / 17 and rates[-1] == 0.1
    with torch.no_grad():  # every weight random and of some size, so none hides behind 1e-6 scales or zeros
        for name, value in theirs.state_dict().items():
            value.copy_(torch.randn_like(value) * (0.5 if name.endswith("layer_scale") else 0.1))
    torch_to_torch(theirs, ours)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.shape == got.shape == (2, 1000)
    assert expected.abs().max() > 1  # not a vanishing output
    assert (expected - got).abs().max() < 1e-5  # 2.5e-7 measured: the same arithmetic, in another order


@pytest.mark.oracle
def test_convnext_tiny_computes_the_same_in_keras_and_pytorch(keras, torch):
    """The example on a 64x64 input (the same layers, less arithmetic): Keras's LayerScale weight (C,)
    ports into the (C, 1, 1) factor, and both models give the same logits for random weights."""
    import numpy as np
    from emit_helpers import outputs_of_both, ported_models

    text = (FOLDER / "convnext_tiny.cnn").read_text(encoding="utf-8")
    model = cnndsl.analyze(text.replace("input 224x224x3", "input 64x64x3"), name="convnext_tiny")
    rng = np.random.default_rng(11)
    keras_model, torch_model = ported_models(model, rng, "convnext")
    x = rng.normal(0.0, 1.0, (2, 64, 64, 3)).astype("float32")
    [expected], [got] = outputs_of_both(keras_model, torch_model, [x], keras, torch)
    scale = float(np.abs(expected).max())
    assert np.isfinite(scale) and scale > 1e-3
    assert float(np.abs(got - expected).max()) / scale < 1e-4


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("defaults", "expected"),
    [
        (  # torchvision's CNBlock: its layer_scale a (C, 1, 1) parameter of the block, which PyTorch lists
            # before its submodules' weights; at top level the model's own, so first of all
            "defaults pytorch",
            [("layer_scale_1", (4, 1, 1)), ("cnblock.layer_scale", (4, 1, 1))]
            + [("cnblock.conv.weight", (4, 4, 3, 3)), ("cnblock.conv.bias", (4,))],
        ),
        (  # Keras's LayerScale: a (C,) weight, in the file's order
            "defaults keras",
            [("cnblock.conv.weight", (4, 4, 3, 3)), ("cnblock.conv.bias", (4,)), ("cnblock.layer_scale", (4,))]
            + [("layer_scale_1", (4,))],
        ),
    ],
)
def test_layer_scale_is_torchvisions_under_pytorch_defaults(defaults, expected, torch):
    text = f"{defaults}\ndef cnblock(c):\n    residual(conv c 3 pad 1 | layerscale 0.5)\ninput 8x8x4\ncnblock(4) | layerscale 2\n"
    built = load(generate(cnndsl.analyze(text), "pytorch"), "scaled").build_model()
    state = [(key.removesuffix(".gamma"), tuple(value.shape)) for key, value in built.state_dict().items()]
    assert state == expected
    factor = built.cnblock.layer_scale
    assert getattr(factor, "gamma", factor).flatten().tolist() == [0.5] * 4
    assert isinstance(factor, torch.nn.Parameter) == (defaults == "defaults pytorch")
    assert built.cnblock.conv.padding == (1, 1)  # `pad 1`: the conv's own padding, as torchvision writes it
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        inner = x + 0.5 * torch.nn.functional.conv2d(x, built.cnblock.conv.weight, built.cnblock.conv.bias, padding=1)
        assert torch.allclose(built.eval()(x), 2 * inner)


@pytest.mark.oracle
def test_resnet18_is_written_as_torchvision_writes_it(torch):
    """torchvision/models/resnet.py: four stages `layer1`..`layer4` (nn.Sequential) of two blocks
    each, the first of layers 2-4 downsampling; every 3x3 conv pads itself (`padding=1`)."""
    model = cnndsl.analyze_file(FOLDER / "resnet18.cnn")
    code = generate(model, "pytorch")
    assert "F.pad" not in code and "class Basic(nn.Module):" in code and "class Down(nn.Module):" in code
    built = load(code, "resnet18_classes").build_model()
    stages = [getattr(built, f"layer{i}") for i in range(1, 5)]
    assert all(isinstance(stage, torch.nn.Sequential) and len(stage) == 2 for stage in stages)
    assert [type(stage[0]).__name__ for stage in stages] == ["Basic", "Down", "Down", "Down"]
    convs = [m for m in built.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 20  # torchvision's resnet18: 1 + 8 blocks x 2 + 3 downsample
    assert all(m.padding == (m.kernel_size[0] // 2,) * 2 for m in convs)
    # one class per block, its numbers the block's parameter
    assert code.count("class Basic(nn.Module):") == 1 and "def __init__(self, c):" in code


TORCHVISION_KEYS = Path(__file__).resolve().parent.parent / "golden" / "torchvision_keys"


def torchvision_keys(name: str) -> list[tuple[str, str]]:
    """torchvision's state_dict (key, shape) in order, written by benchmarks/torchvision_loader.py
    from torchvision 0.28.0's own model definitions."""
    lines = (TORCHVISION_KEYS / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(" ")) for line in lines]


# The examples whose emitted module has torchvision's state_dict: keys, shapes and order.
SAME_KEYS = [
    "alexnet",
    "convnext_tiny",
    "densenet121",
    "efficientnet_b0",
    "googlenet",
    "mnasnet1_0",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "regnet_y_400mf",
    "resnet18",
    "resnet50",
    "shufflenet_v2_x1_0",
    "squeezenet1_1",
    "vgg16_bn",
]


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_state_comes_in_torchvisions_order(name, torch):
    """Every parameter and buffer of the emitted module has the shape of torchvision's in the same place,
    and for SAME_KEYS its name: torchvision's state loads with strict=True."""
    model = cnndsl.analyze_file(FOLDER / f"{name}.cnn")
    with torch.device("meta"):  # no storage: only names and shapes are compared
        built = load(generate(model, "pytorch"), f"keys_{name}").build_model()
    ours = [(key, "x".join(map(str, value.shape)) or "-") for key, value in built.state_dict().items()]
    theirs = torchvision_keys(name)
    assert [shape for _, shape in ours] == [shape for _, shape in theirs]
    assert (ours == theirs) == (name in SAME_KEYS)


def torchvision_loader():
    """benchmarks/torchvision_loader.py, for the state it gives torchvision's models (it imports no torchvision)."""
    spec = importlib.util.spec_from_file_location("torchvision_loader", BENCHMARKS / "torchvision_loader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCHMARKS = Path(__file__).resolve().parent.parent.parent / "benchmarks"


@pytest.mark.oracle
@pytest.mark.parametrize("name", SAME_KEYS)
def test_torchvisions_state_loads_strictly_and_gives_its_outputs(name, torch):
    """The state benchmarks/torchvision_loader.py gave torchvision 0.28.0's own model (made from its keys
    and shapes alone) loads into the emitted module with strict=True, and the module's outputs are the
    ones torchvision's model gave (tests/golden/torchvision_outputs/, written by that script)."""
    loader = torchvision_loader()
    model = cnndsl.analyze_file(FOLDER / f"{name}.cnn")
    with torch.device("meta"):  # no initialisation: every value comes from the state
        built = load(generate(model, "pytorch"), f"strict_{name}").build_model()
    keys = loader.read_keys((TORCHVISION_KEYS / f"{name}.txt").read_text(encoding="utf-8"))
    state = loader.reference_state(torch, keys)
    result = built.load_state_dict(state, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert list(built.state_dict()) == [key for key, _ in keys]
    lines = (TORCHVISION_KEYS.parent / "torchvision_outputs" / f"{name}.txt").read_text(encoding="utf-8")
    expected = torch.tensor([[float(v) for v in line.split()] for line in lines.splitlines()])
    with torch.no_grad():
        got = built.eval()(loader.reference_input(torch))
    assert got.shape == expected.shape == (2, 1000)
    scale = expected.abs().max()
    assert scale > 1  # not a vanishing output
    assert (got - expected).abs().max() <= 1e-5 * scale
