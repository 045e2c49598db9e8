"""Whole model families, one file each (examples/families/), against keras.applications built here.

Every member: total, trainable and non-trainable parameters, and every layer row in order
(class, parameters, output shape), as `test_zoo.keras_rows` reads them from Keras.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_zoo import counts, describe_keras, keras_rows

import cnndsl

FAMILIES = Path(__file__).resolve().parent.parent / "examples" / "families"


def ours(name: str, **params):
    return cnndsl.analyze((FAMILIES / name).read_text(encoding="utf-8"), str(FAMILIES / name), params=params)


def assert_same(model, keras, theirs):
    assert (model.total, model.trainable, model.non_trainable) == counts(keras, theirs)
    rows = [(node.keras_type, node.info.params, tuple(node.shape)) for node in model.nodes]
    assert rows == list(keras_rows(keras, theirs))


@pytest.mark.parametrize("alpha", [0.35, 0.5, 0.75, 1.0, 1.3, 1.4])
def test_mobilenet_v2_family(alpha, keras):
    size = 224 if alpha in (0.35, 1.0, 1.4) else 160  # an odd-sized stage at 160 exercises correct_pad
    theirs = keras.applications.MobileNetV2(alpha=alpha, input_shape=(size, size, 3), weights=None)
    assert_same(ours("mobilenet_v2.cnn", alpha=alpha, size=size), keras, theirs)


def test_mobilenet_v2_defaults_are_keras_defaults(keras):
    model = ours("mobilenet_v2.cnn")
    assert model.total == 3_538_984  # keras.applications.MobileNetV2() documents and builds this
    assert model.output_shape == (1000,)


# keras.applications.efficientnet: (width_coefficient, depth_coefficient, default_size, dropout_rate)
EFFICIENTNET = {
    "B0": (1.0, 1.0, 224, 0.2),
    "B1": (1.0, 1.1, 240, 0.2),
    "B2": (1.1, 1.2, 260, 0.3),
    "B3": (1.2, 1.4, 300, 0.3),
    "B4": (1.4, 1.8, 380, 0.4),
    "B5": (1.6, 2.2, 456, 0.4),
    "B6": (1.8, 2.6, 528, 0.5),
    "B7": (2.0, 3.1, 600, 0.5),
}


def efficientnet(member: str):
    width, depth, size, dropout = EFFICIENTNET[member]
    return ours("efficientnet.cnn", width=width, depth=depth, size=size, dropout=dropout)


@pytest.mark.parametrize("member", ["B0", "B1", "B3"])
def test_efficientnet_family_layer_for_layer(member, keras):
    theirs = getattr(keras.applications, f"EfficientNet{member}")(weights=None)
    assert_same(efficientnet(member), keras, theirs)


# The larger members take Keras 15 to 40 s each to build, so their figures are stored. Each is
# (total, trainable, non-trainable, layer rows) of keras.applications.EfficientNet{member}(weights=None),
# Keras 3.15 on the torch backend: `counts(keras, m)` and `len(list(keras_rows(keras, m)))`.
EFFICIENTNET_KERAS = {
    "B2": (9_177_569, 9_109_994, 67_575, 342),
    "B4": (19_466_823, 19_341_616, 125_207, 477),
    "B5": (30_562_527, 30_389_784, 172_743, 579),
    "B6": (43_265_143, 43_040_704, 224_439, 669),
    "B7": (66_658_687, 66_347_960, 310_727, 816),
}


@pytest.mark.parametrize("member", EFFICIENTNET_KERAS)
def test_efficientnet_family_totals(member):
    model = efficientnet(member)
    assert (model.total, model.trainable, model.non_trainable, len(model.nodes)) == EFFICIENTNET_KERAS[member]
    size = EFFICIENTNET[member][2]
    assert model.nodes[0].shape == (size, size, 3) and model.output_shape == (1000,)


def test_efficientnet_defaults_are_b0():
    assert efficientnet("B0").total == ours("efficientnet.cnn").total == 5_330_571  # Keras's documented B0


def hard_sigmoid_as_written(keras, model):
    """`keras_rows`, but the hard sigmoid's tensor operations `x + 3.0` and `* (1.0 / 6.0)` (no layers:
    Keras lists them as the operations Add and Multiply) as cnndsl writes them, `rescale 1 offset 3`
    and `rescale 1/6`."""
    for op in model.operations:
        row = describe_keras(keras)(op)
        if not isinstance(op, keras.layers.Layer):
            assert row[0] in ("Add", "Multiply") and row[1] == 0
            row = ("Rescaling", 0, row[2])
        yield row


@pytest.mark.parametrize("alpha", [0.75, 1.0])
@pytest.mark.parametrize("minimalistic", [0, 1])
@pytest.mark.parametrize("large", [0, 1])
def test_mobilenet_v3_family(large, minimalistic, alpha, keras):
    size = 224 if alpha == 1.0 else 0  # 0: Keras's default input, images of any size
    constructor = keras.applications.MobileNetV3Large if large else keras.applications.MobileNetV3Small
    theirs = constructor(
        input_shape=(size or None, size or None, 3), alpha=alpha, minimalistic=bool(minimalistic), weights=None
    )
    model = ours("mobilenet_v3.cnn", alpha=alpha, large=large, minimalistic=minimalistic, size=size)
    assert (model.total, model.trainable, model.non_trainable) == counts(keras, theirs)
    rows = [(node.keras_type, node.info.params, tuple(node.shape)) for node in model.nodes]
    assert rows == list(hard_sigmoid_as_written(keras, theirs))


def test_mobilenet_v3_defaults_are_keras_defaults():
    # keras.applications.MobileNetV3Small() and MobileNetV3Large() build these (tests/model/test_unknown_axes.py)
    assert ours("mobilenet_v3.cnn").total == 2_554_968
    assert ours("mobilenet_v3.cnn", large=1).total == 5_507_432
