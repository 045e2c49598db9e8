"""Default layer names and type names are Keras's own (the oracle names them)."""

from __future__ import annotations

import pytest

import cnndsl

CASES = [
    # (cnndsl line after `input 8x8x4`, Keras layer factory)
    ("conv 4 3", lambda L: L.Conv2D(4, 3)),
    ("dwconv 3", lambda L: L.DepthwiseConv2D(3)),
    ("sepconv 4 3", lambda L: L.SeparableConv2D(4, 3)),
    ("deconv 4 3", lambda L: L.Conv2DTranspose(4, 3)),
    ("maxpool 2", lambda L: L.MaxPooling2D(2)),
    ("avgpool 2", lambda L: L.AveragePooling2D(2)),
    ("gap", lambda L: L.GlobalAveragePooling2D()),
    ("gmp", lambda L: L.GlobalMaxPooling2D()),
    ("bn", lambda L: L.BatchNormalization()),
    ("layernorm", lambda L: L.LayerNormalization()),
    ("relu", lambda L: L.Activation("relu")),
    ("relu6", lambda L: L.ReLU(6.0)),
    ("leakyrelu 0.1", lambda L: L.LeakyReLU(0.1)),
    ("zeropad 1", lambda L: L.ZeroPadding2D(1)),
    ("crop 1", lambda L: L.Cropping2D(1)),
    ("upsample 2", lambda L: L.UpSampling2D(2)),
    ("reshape 16x16", lambda L: L.Reshape((16, 16))),
    ("dropout 0.5", lambda L: L.Dropout(0.5)),
    ("flatten", lambda L: L.Flatten()),
    ("rescale 0.5", lambda L: L.Rescaling(0.5)),
    ("normalize", lambda L: L.Normalization()),
]


@pytest.mark.parametrize("line, make", CASES, ids=[c[0] for c in CASES])
def test_default_names_and_types_match_keras(keras, line, make):
    node = cnndsl.analyze(f"input 8x8x4\n{line}").layers[-1]
    layer = make(keras.layers)
    # Keras numbers its default names per process; strip the counter.
    base = layer.name.rsplit("_", 1)[0] if layer.name.rsplit("_", 1)[-1].isdigit() else layer.name
    assert (node.name, node.keras_type) == (base, type(layer).__name__)


def test_merge_names_match_keras(keras):
    model = cnndsl.analyze(
        "input 8x8x4\nadd(identity; identity) | concat(identity; identity) | multiply(identity; identity)"
    )
    names = [(n.name, n.keras_type) for n in model.layers]
    expected = []
    for cls in (keras.layers.Add, keras.layers.Concatenate, keras.layers.Multiply):
        layer = cls()
        base = layer.name.rsplit("_", 1)[0] if layer.name.rsplit("_", 1)[-1].isdigit() else layer.name
        expected.append((base, cls.__name__))
    assert names == expected


def test_dense_and_input_names(keras):
    model = cnndsl.analyze("input 8 | dense 4 | dense 2")
    x = keras.Input((8,))
    assert model.input.name.startswith("input_layer") and x._keras_history[0].name.startswith("input_layer")
    assert [n.name for n in model.layers] == ["dense", "dense_1"]


def test_functional_rows_follow_keras_layer_order(keras):
    text = "input 8x8x4\nconcat(a: conv 4 1; p1: conv 4 1 | p2: conv 4 1 | p3: conv 4 1; q: maxpool 1) | out: conv 2 1"
    L = keras.layers
    x = keras.Input((8, 8, 4))
    a = L.Conv2D(4, 1, name="a")(x)
    p3 = L.Conv2D(4, 1, name="p3")(L.Conv2D(4, 1, name="p2")(L.Conv2D(4, 1, name="p1")(x)))
    q = L.MaxPooling2D(1, name="q")(x)
    y = L.Conv2D(2, 1, name="out")(L.Concatenate(name="concatenate")([a, p3, q]))
    expected = [layer.name for layer in keras.Model(x, y).layers][1:]
    model = cnndsl.analyze(text)
    assert [n.name for n in model.keras_order][1:] == expected


def test_leakyrelu_without_a_slope_is_keras_leakyrelu_layers_default(keras):
    from emit_helpers import load

    from cnndsl.emit import generate

    built = load(generate(cnndsl.analyze("input 8x8x4\nleakyrelu"), "keras"), "leaky").build_model()
    (layer,) = [layer for layer in built.layers if type(layer).__name__ == "LeakyReLU"]
    assert layer.negative_slope == keras.layers.LeakyReLU().negative_slope == 0.3  # Keras 3's layer default
    # the activation option is Keras's leaky_relu function, whose default stays 0.2
    act = cnndsl.analyze("input 8x8x4\nconv 4 3 leakyrelu")
    x = keras.ops.convert_to_tensor([[-1.0]])
    assert float(keras.activations.leaky_relu(x)[0][0]) == pytest.approx(-0.2)
    assert "F.leaky_relu(self.conv2d(x), 0.2)" in generate(act, "pytorch")
