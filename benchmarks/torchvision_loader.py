"""torchvision's classification models without torchvision's compiled extension, for their state_dict keys.

    pip download --no-deps torchvision==0.28.0 -d /tmp/tv   # the release that goes with torch 2.13
    python benchmarks/torchvision_loader.py /tmp/tv/torchvision-0.28.0-*.whl

torchvision does not import next to the CPU build of torch used here (its C ops do
not load), but its model definitions are plain Python. This unpacks the wheel, gives
the few modules the models import that need the C ops or PIL small stand-ins
(`torchvision.utils._log_api_usage_once`, `transforms._presets.ImageClassification`),
loads torchvision/models/<name>.py from the wheel itself, builds each model and writes
its state_dict keys and shapes, in order, to tests/golden/torchvision_keys/<name>.txt.
It then gives each model the state `reference_state` makes from those keys and shapes alone
and writes its outputs (eval mode) for `reference_input()` to
tests/golden/torchvision_outputs/<name>.txt: the tests make the same state, load it with
strict=True into the module cnndsl emits and compare. Nothing from the wheel but the model
definitions runs.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import types
import zipfile
from pathlib import Path

# file in torchvision/models, builder, the example in examples/torchvision
MODELS = {
    "resnet18": ("resnet", "resnet18"),
    "resnet50": ("resnet", "resnet50"),
    "mobilenet_v2": ("mobilenetv2", "mobilenet_v2"),
    "vgg16_bn": ("vgg", "vgg16_bn"),
    "densenet121": ("densenet", "densenet121"),
    "alexnet": ("alexnet", "alexnet"),
    "squeezenet1_1": ("squeezenet", "squeezenet1_1"),
    "mobilenet_v3_small": ("mobilenetv3", "mobilenet_v3_small"),
    "efficientnet_b0": ("efficientnet", "efficientnet_b0"),
    "shufflenet_v2_x1_0": ("shufflenetv2", "shufflenet_v2_x1_0"),
    "googlenet": ("googlenet", "googlenet"),
    "mnasnet1_0": ("mnasnet", "mnasnet1_0"),
    "regnet_y_400mf": ("regnet", "regnet_y_400mf"),
    "convnext_tiny": ("convnext", "convnext_tiny"),
    "inception_v3": ("inception", "inception_v3"),  # aux_logits=True, as its published weights
}
GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden" / "torchvision_keys"
OUTPUTS = GOLDEN.parent / "torchvision_outputs"
# Smaller than ImageNet's 224 (every model here ends in an adaptive pooling): a quarter of the arithmetic.
INPUT_SIZE = 112


def reference_state(torch, keys: list[tuple[str, tuple[int, ...]]]) -> dict:
    """A state made from the keys and shapes alone, the same on every run: weights drawn with He's
    scale (so activations keep their size through a deep network), norm scales near 1, biases and
    running means near 0, running variances in [0.5, 1.5), ConvNeXt's layer scales near 0.5."""
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in keys:
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
            continue
        noise = torch.randn(shape, generator=generator)
        if key.endswith("running_var"):
            value = 0.5 + torch.rand(shape, generator=generator)
        elif key.endswith("layer_scale"):
            value = 0.5 + 0.1 * noise
        elif key.endswith(("bias", "running_mean")):
            value = 0.1 * noise
        elif len(shape) >= 2:
            fan_in = 1
            for n in shape[1:]:
                fan_in *= n
            value = noise * (2.0 / fan_in) ** 0.5
        else:
            value = 1.0 + 0.1 * noise
        state[key] = value
    return state


def reference_input(torch):
    return torch.randn((2, 3, INPUT_SIZE, INPUT_SIZE), generator=torch.Generator().manual_seed(1))


def read_keys(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """The lines `keys_text` writes, as (key, shape)."""
    pairs = []
    for line in text.splitlines():
        key, shape = line.split(" ")
        pairs.append((key, () if shape == "-" else tuple(int(n) for n in shape.split("x"))))
    return pairs


def outputs_text(torch, model) -> str:
    """The model's outputs in eval mode for the reference input and state, a line per example."""
    state = reference_state(torch, read_keys(keys_text(model)))
    with torch.no_grad():  # copied in place: MNASNet's loading hook wants the version its own state carries
        for key, value in model.state_dict().items():
            value.copy_(state[key])
    with torch.no_grad():
        output = model.eval()(reference_input(torch))
    return "".join(" ".join(f"{v:.9g}" for v in row) + "\n" for row in output.tolist())


def _package(name: str, path: Path | None = None) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [str(path)] if path is not None else []
    sys.modules[name] = module
    return module


def load_models(wheel: str, folder: str):
    """The wheel unpacked in `folder`; returns the function making one model by its builder's name."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder, [n for n in archive.namelist() if n.startswith("torchvision/") and n.endswith(".py")])
    root = Path(folder) / "torchvision"
    _package("torchvision", root)
    utils = types.ModuleType("torchvision.utils")
    utils._log_api_usage_once = lambda obj: None  # the real one only logs
    utils._make_ntuple = lambda x, n: tuple(x) if isinstance(x, (list, tuple)) else (x,) * n
    sys.modules["torchvision.utils"] = utils
    _package("torchvision.ops", root / "ops")  # ops/__init__ loads the C ops; misc and stochastic_depth do not
    _package("torchvision.transforms", root / "transforms")
    presets = types.ModuleType("torchvision.transforms._presets")

    class ImageClassification:  # only named in the weights' metadata
        def __init__(self, *args, **kwargs):
            pass

    presets.ImageClassification = ImageClassification
    presets.InterpolationMode = types.SimpleNamespace(BILINEAR="bilinear", BICUBIC="bicubic")
    sys.modules["torchvision.transforms._presets"] = presets
    _package("torchvision.models", root / "models")
    for name in ("ops.misc", "ops.stochastic_depth"):
        importlib.import_module(f"torchvision.{name}")
    sys.modules["torchvision.ops"].StochasticDepth = sys.modules["torchvision.ops.stochastic_depth"].StochasticDepth
    sys.modules["torchvision.ops"].stochastic_depth = sys.modules["torchvision.ops.stochastic_depth"].stochastic_depth
    sys.modules["torchvision.ops"].misc = sys.modules["torchvision.ops.misc"]
    sys.modules["torchvision.ops"].Conv2dNormActivation = sys.modules["torchvision.ops.misc"].Conv2dNormActivation
    sys.modules["torchvision.ops"].SqueezeExcitation = sys.modules["torchvision.ops.misc"].SqueezeExcitation
    sys.modules["torchvision.ops"].MLP = sys.modules["torchvision.ops.misc"].MLP
    sys.modules["torchvision.ops"].Permute = sys.modules["torchvision.ops.misc"].Permute

    def make(file: str, builder: str):
        module = importlib.import_module(f"torchvision.models.{file}")
        kwargs = {"aux_logits": False, "init_weights": False} if builder == "googlenet" else {}
        if builder == "inception_v3":  # its weights' own settings (the builder sets them with weights)
            kwargs = {"aux_logits": True, "init_weights": False}
        return getattr(module, builder)(weights=None, **kwargs)

    return make


def keys_text(model) -> str:
    """One line per state_dict entry: `key shape`, as torchvision orders them."""
    return "".join(f"{key} {'x'.join(map(str, value.shape)) or '-'}\n" for key, value in model.state_dict().items())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    import torch

    with tempfile.TemporaryDirectory() as folder:
        make = load_models(argv[0], folder)
        GOLDEN.mkdir(parents=True, exist_ok=True)
        OUTPUTS.mkdir(parents=True, exist_ok=True)
        for name, (file, builder) in MODELS.items():
            model = make(file, builder)
            (GOLDEN / f"{name}.txt").write_text(keys_text(model), encoding="utf-8")
            (OUTPUTS / f"{name}.txt").write_text(outputs_text(torch, model), encoding="utf-8")
            print(f"wrote {GOLDEN.name}/{name}.txt and {OUTPUTS.name}/{name}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
