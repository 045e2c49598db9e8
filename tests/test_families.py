"""Whole model families, one file each (examples/families/), against keras.applications built here.

Every member: total, trainable and non-trainable parameters, and every layer row in order
(class, parameters, output shape), as `test_zoo.keras_rows` reads them from Keras.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_zoo import counts, keras_rows

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
