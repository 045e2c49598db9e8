"""examples/families/regnet.cnn: torchvision's RegNetX and RegNetY from their design-space parameters,
the widths quantised in the file (log, round, divisible), against torchvision's published figures."""

from __future__ import annotations

from pathlib import Path

import pytest

import cnndsl
from cnndsl.emit import generate

ROOT = Path(__file__).resolve().parent.parent
FAMILY = (ROOT / "examples" / "families" / "regnet.cnn").read_text(encoding="utf-8")

# torchvision/models/regnet.py (torchvision 0.28.0): each builder's BlockParams.from_init_params(depth, w_0,
# w_a, w_m, group_width, se_ratio), and its weights' meta num_params and _ops (IMAGENET1K_V1, or for
# regnet_y_128gf, which has no such weights, IMAGENET1K_SWAG_LINEAR_V1, at 224x224 too)
PUBLISHED = {
    "regnet_y_400mf": ((16, 48, 27.89, 2.09, 8, 0.25), 4_344_144, 0.402),
    "regnet_y_800mf": ((14, 56, 38.84, 2.4, 16, 0.25), 6_432_512, 0.834),
    "regnet_y_1_6gf": ((27, 48, 20.71, 2.65, 24, 0.25), 11_202_430, 1.612),
    "regnet_y_3_2gf": ((21, 80, 42.63, 2.66, 24, 0.25), 19_436_338, 3.176),
    "regnet_y_8gf": ((17, 192, 76.82, 2.19, 56, 0.25), 39_381_472, 8.473),
    "regnet_y_16gf": ((18, 200, 106.23, 2.48, 112, 0.25), 83_590_140, 15.912),
    "regnet_y_32gf": ((20, 232, 115.89, 2.53, 232, 0.25), 145_046_770, 32.28),
    "regnet_y_128gf": ((27, 456, 160.83, 2.52, 264, 0.25), 644_812_894, 127.518),
    "regnet_x_400mf": ((22, 24, 24.48, 2.54, 16, 0), 5_495_976, 0.414),
    "regnet_x_800mf": ((16, 56, 35.73, 2.28, 16, 0), 7_259_656, 0.8),
    "regnet_x_1_6gf": ((18, 80, 34.01, 2.25, 24, 0), 9_190_136, 1.603),
    "regnet_x_3_2gf": ((25, 88, 26.31, 2.25, 48, 0), 15_296_552, 3.177),
    "regnet_x_8gf": ((23, 80, 49.56, 2.88, 120, 0), 39_572_648, 7.995),
    "regnet_x_16gf": ((22, 216, 55.59, 2.1, 128, 0), 54_278_536, 15.941),
    "regnet_x_32gf": ((23, 320, 69.86, 2.0, 168, 0), 107_811_560, 31.736),
}
NAMES = ("depth", "w_0", "w_a", "w_m", "group_width", "se_ratio")


def family_member(name: str):
    return cnndsl.analyze(FAMILY, name=name, params=dict(zip(NAMES, PUBLISHED[name][0])))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameters_and_gflops(name):
    model = family_member(name)
    _, params, gflops = PUBLISHED[name]
    assert model.trainable == params
    assert round(model.macs / 1e9, 3) == gflops


def test_the_defaults_are_regnet_y_400mf_and_its_stages():
    """BlockParams of regnet_y_400mf: widths 48, 104, 208, 440 and depths 1, 3, 6, 6, as the
    hand-written examples/torchvision/regnet_y_400mf.cnn has them."""
    model = cnndsl.analyze(FAMILY)
    written = cnndsl.analyze_file(ROOT / "examples" / "torchvision" / "regnet_y_400mf.cnn")
    assert [n.shape for n in model.nodes] == [n.shape for n in written.nodes]
    assert (model.total, model.macs) == (written.total, written.macs)
    strided = [n.shape[-1] for n in model.layers if n.layer.keyword == "conv" and n.resolved["stride"] == (2, 2)]
    assert strided == [32, 48, 48, 104, 104, 208, 208, 440, 440]  # the stem, then each stage's 3x3 and projection


@pytest.mark.oracle
def test_state_comes_in_torchvisions_order(torch):
    """The emitted module's parameters and buffers have the shapes of torchvision's regnet_y_400mf, in order
    (tests/golden/torchvision_keys, from torchvision's own model definition)."""
    with torch.device("meta"):
        built = __import__("emit_helpers").load(generate(cnndsl.analyze(FAMILY), "pytorch"), "regnet").build_model()
    ours = ["x".join(map(str, value.shape)) or "-" for value in built.state_dict().values()]
    golden = (ROOT / "tests" / "golden" / "torchvision_keys" / "regnet_y_400mf.txt").read_text(encoding="utf-8")
    assert ours == [line.split(" ")[1] for line in golden.splitlines()]
