"""Named references (`@name`), several inputs and outputs, shared layers (`reuse name`).

Keras is the oracle: each case is a .cnn text beside the same network built
here with keras.layers, calling a shared layer object once per use. Every
summary row (name, type, shape, parameters, "Connected to") and the row
order must be Keras's own, as must the totals, which count a shared layer's
weights once.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import cnndsl
from cnndsl.core.errors import (
    BadArgument,
    DuplicateName,
    ShapeProblem,
    StructureProblem,
    UnknownLayer,
    UnknownReference,
)
from cnndsl.views.summary import format_summary, summary_dict, table_rows


def siamese(k):
    L = k.layers
    left, right = k.Input((8, 8, 3), name="left"), k.Input((8, 8, 3), name="right")
    shared = L.Conv2D(4, 3, name="shared")
    diff = L.Subtract(name="diff")([shared(left), shared(right)])
    o1 = L.Dense(2)(L.GlobalAveragePooling2D()(diff))
    o2 = L.Dense(3, name="o2")(L.GlobalAveragePooling2D()(diff))
    return k.Model(inputs=[left, right], outputs=[o1, o2])


SIAMESE = """
left: input 8x8x3
right: input 8x8x3
@left | shared: conv 4 3
@right | reuse shared
diff: subtract(@shared; identity) | gap
dense 2 | output
@diff | gap | o2: dense 3 | output
"""


def shared_at_two_depths(k):
    L = k.layers
    left, right = k.Input((9, 9, 3), name="left"), k.Input((9, 9, 3), name="right")
    tower = L.Conv2D(6, 3, padding="same", activation="relu", name="tower")
    joined = L.Concatenate(name="joined")([tower(left), tower(right)])
    head = L.Dense(5, name="head")
    o1 = head(L.GlobalAveragePooling2D()(joined))
    o2 = head(L.Dense(12)(L.GlobalAveragePooling2D()(left)))
    return k.Model(inputs=[left, right], outputs=[o1, o2])


SHARED_AT_TWO_DEPTHS = """
left: input 9x9x3
right: input 9x9x3
@left | tower: conv 6 3 same relu
@right | reuse tower
joined: concat(@tower; identity) | gap
head: dense 5 | output
@left | gap | dense 12 | reuse head | output
"""


def skip(k):
    L = k.layers
    x = k.Input((16, 16, 3))
    c1 = L.Conv2D(4, 3, padding="same", activation="relu", name="c1")(x)
    c2 = L.Conv2D(8, 3, padding="same", activation="relu", name="c2")(L.MaxPooling2D(2)(c1))
    up = L.UpSampling2D(2)(c2)
    y = L.Conv2D(4, 3, padding="same")(L.Concatenate()([up, c1]))
    return k.Model(x, y)


SKIP = """
def join(p):
    concat(identity; @p)
input 16x16x3
c1: conv 4 3 same relu
pool 2 | c2: conv 8 3 same relu
upsample 2 | join(c1) | conv 4 3 same
"""


def shared_block(k):
    L = k.layers
    a, b = k.Input((12, 12, 3), name="a"), k.Input((12, 12, 3), name="b")
    parts = [L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(8, 3), L.GlobalAveragePooling2D(name="t")]

    def tower(x):
        for part in parts:
            x = part(x)
        return x

    ta, tb = tower(a), tower(b)
    return k.Model(inputs=[a, b], outputs=L.Dense(1, activation="sigmoid")(L.Subtract()([ta, tb])))


SHARED_BLOCK = """
def tower():
    conv 4 3 relu | pool 2 | conv 8 3 | gap
a: input 12x12x3
b: input 12x12x3
@a | t: tower
@b | u: reuse t
subtract(@t; @u) | dense 1 sigmoid
"""


def auxiliary(k):
    L = k.layers
    x = k.Input((16, 16, 3))
    c = L.Conv2D(4, 3, activation="relu", name="c")(x)
    aux = L.Dense(3, activation="softmax")(L.GlobalAveragePooling2D()(c))
    main = L.Dense(5)(L.GlobalAveragePooling2D()(L.Conv2D(8, 3)(c)))
    return k.Model(x, [aux, main])


AUXILIARY = """
input 16x16x3 | c: conv 4 3 relu | gap | dense 3 softmax | output
@c | conv 8 3 | gap | dense 5 | output
"""


def shared_at_two_sizes(k):
    L = k.layers
    x = k.Input((8, 8, 2))
    s = L.Conv2D(2, 3, padding="same", name="s")
    first = s(x)
    branch = L.MaxPooling2D(2)(first)  # the branches' layers are made in the order they are written
    second = s(L.MaxPooling2D(2)(first))
    return k.Model(x, L.Add()([branch, second]))


SHARED_AT_TWO_SIZES = """
input 8x8x2 | s: conv 2 3 same
add(pool 2; pool 2 | reuse s)
"""

CASES = {
    "siamese": (SIAMESE, siamese),
    "shared_at_two_depths": (SHARED_AT_TWO_DEPTHS, shared_at_two_depths),
    "skip_through_a_block_parameter": (SKIP, skip),
    "shared_block_call": (SHARED_BLOCK, shared_block),
    "auxiliary_output": (AUXILIARY, auxiliary),
    "shared_at_two_sizes": (SHARED_AT_TWO_SIZES, shared_at_two_sizes),
}


def keras_rows(model) -> list[tuple]:
    """Each layer's summary row as Keras's print_summary computes it."""
    rows = []
    for layer in model.layers:
        connections = [
            f"{t._keras_history.operation.name}[{t._keras_history.node_index}][{t._keras_history.tensor_index}]"
            for node in layer._inbound_nodes
            for t in node.input_tensors
        ]
        shape = tuple(layer._inbound_nodes[-1].output_tensors[0].shape)  # Keras shows the last use's shape
        rows.append((layer.name, type(layer).__name__, shape, layer.count_params(), connections or ["-"]))
    return rows


def cnndsl_rows(model) -> list[tuple]:
    _, rows, _ = table_rows(model, None, False)
    out = []
    for (name_type,), (shape,), (params,), connected in rows:
        name, kind = name_type[:-1].split(" (")
        dims = tuple(None if d == "None" else int(d) for d in shape.strip("()").split(", "))
        out.append((name, kind, dims, int(params.replace(",", "")), [c.rstrip(",") for c in connected]))
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("case", sorted(CASES))
def test_graph_matches_keras(case, keras):
    text, build = CASES[case]
    model = cnndsl.analyze(text)
    keras.backend.clear_session()  # Keras numbers default names per session
    twin = build(keras)
    assert cnndsl_rows(model) == keras_rows(twin)
    assert model.total == twin.count_params()
    trainable = sum(math.prod(w.shape) for w in twin.trainable_weights)
    assert (model.trainable, model.non_trainable) == (trainable, twin.count_params() - trainable)
    assert [(None, *model.nodes[i].shape) for i in model.outputs] == [tuple(t.shape) for t in twin.outputs]
    assert [(None, *model.nodes[i].shape) for i in model.inputs] == [tuple(t.shape) for t in twin.inputs]


def test_json_lists_inputs_and_outputs():
    data = summary_dict(cnndsl.analyze(SIAMESE))
    assert data["inputs"] == [{"name": "left", "shape": [None, 8, 8, 3]}, {"name": "right", "shape": [None, 8, 8, 3]}]
    assert data["outputs"] == [{"name": "dense", "shape": [None, 2]}, {"name": "o2", "shape": [None, 3]}]
    shared = next(layer for layer in data["layers"] if layer["name"] == "shared")
    assert shared["inputs"] == ["left", "right"]
    assert shared["params"] == 4 * (3 * 3 * 3 + 1)  # once, however often it is used
    assert not data["sequential"]


def test_shared_layer_macs_count_every_use():
    model = cnndsl.analyze(SIAMESE)
    one_use = 6 * 6 * 4 * 3 * 3 * 3  # output positions x channels x kernel x input channels
    assert summary_dict(model)["layers"][0]["macs"] == 2 * one_use
    assert f" {2 * one_use:,} " in format_summary(model, macs=True)


def test_a_labelled_reuse_names_the_tensor_not_a_layer():
    model = cnndsl.analyze(SHARED_BLOCK)
    assert [n.name for n in model.layers].count("t") == 2
    assert "u" not in {n.name for n in model.nodes}


def error_of(text):
    with pytest.raises(cnndsl.CnnError) as info:
        cnndsl.analyze(text)
    return info.value


@pytest.mark.parametrize(
    "text, kind, line, column, words",
    [
        ("input 8x8x3\nconv 4 3\n@stem | relu", UnknownReference, 3, 2, "is named `stem`"),
        ("input 8x8x3\nstem: conv 4 3\nadd(identity; stem)", UnknownLayer, 3, 15, "unknown layer `stem`"),
        ("input 8x8x3\nstem: conv 4 3\nrelu | @stem", BadArgument, 3, 8, "can only start a pipeline"),
        ("input 8x8x3\nstem: conv 4 3 | relu\n@stem | gap", StructureProblem, 2, 18, "never used"),
        ("a: input 8x8x3\nb: input 8x8x3\n@a | conv 2 1", StructureProblem, 2, 1, "input is never used"),
        ("input 8x8x3\nc: conv 4 1\nreuse c", ShapeProblem, 3, 1, "cannot reuse its weights on 8x8x4"),
        ("input 8x8x3\nc: conv 4 1\nreuse d", UnknownReference, 3, 7, "named `d`"),
        ("input 8x8x3\nc: conv 4 1\nreuse", BadArgument, 3, 1, "name of one earlier layer"),
        ("input 8x8x3\nc: conv 3 1\nc: reuse c", DuplicateName, 3, 1, "already names a layer"),
        ("x: input 8x8x3\ny: input 8x8x3\n@y | reuse x", BadArgument, 3, 6, "contains an input"),
    ],
)
def test_graph_errors_point_at_the_cause(text, kind, line, column, words):
    error = error_of(text)
    assert isinstance(error, kind), error
    assert (error.span.line, error.span.column) == (line, column), error
    assert words in error.message, error.message


def test_unknown_layer_that_is_a_label_hints_at_both_spellings():
    error = error_of("input 8x8x3\nstem: conv 4 3\nadd(identity; stem)")
    assert error.hint == "`@stem` is its output; `reuse stem` applies the same layer again"


# The examples that need references, several inputs or outputs, or sharing: each built here in Keras.

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def unet(k):
    L = k.layers

    def double(x, c, name=None):
        x = L.Conv2D(c, 3, padding="same", activation="relu")(x)
        return L.Conv2D(c, 3, padding="same", activation="relu", name=name)(x)

    inputs = k.Input((128, 128, 1))
    x, skips = inputs, []
    for i, c in enumerate((64, 128, 256, 512)):
        x = double(L.MaxPooling2D(2)(x) if i else x, c, name=f"d{i + 1}")
        skips.append(x)
    x = double(L.MaxPooling2D(2)(x), 1024)
    for c, skip in zip((512, 256, 128, 64), reversed(skips)):
        x = double(L.Concatenate()([skip, L.Conv2DTranspose(c, 2, strides=2)(x)]), c)
    return k.Model(inputs, L.Conv2D(2, 1)(x))


def siamese_example(k):
    L = k.layers
    tower = [
        L.Conv2D(64, 10, activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(128, 7, activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(128, 4, activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(256, 4, activation="relu"),
        L.Flatten(),
        L.Dense(4096, activation="sigmoid", name="l"),
    ]

    def embed(x):
        for layer in tower:
            x = layer(x)
        return x

    left, right = k.Input((105, 105, 1), name="left"), k.Input((105, 105, 1), name="right")
    el, er = embed(left), embed(right)
    difference = L.Subtract()([el, er])
    squared = L.Multiply()([difference, difference])
    return k.Model(inputs=[left, right], outputs=L.Dense(1, activation="sigmoid")(squared))


def two_heads(k):
    L = k.layers
    x = inputs = k.Input((64, 64, 3))
    for c in (32, 64):
        x = L.MaxPooling2D(2)(L.Conv2D(c, 3, padding="same", activation="relu")(x))
    features = L.GlobalAveragePooling2D(name="features")(L.Conv2D(128, 3, padding="same", activation="relu")(x))
    classes = L.Dense(10, activation="softmax", name="classes")(features)
    box = L.Dense(4, activation="sigmoid", name="box")(L.Dense(64, activation="relu")(features))
    return k.Model(inputs, [classes, box])


GRAPH_EXAMPLES = {"unet": unet, "siamese": siamese_example, "two_heads": two_heads}


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(GRAPH_EXAMPLES))
def test_graph_example_is_exact(name, keras):
    model = cnndsl.analyze_file(EXAMPLES / f"{name}.cnn")
    keras.backend.clear_session()
    twin = GRAPH_EXAMPLES[name](keras)
    assert cnndsl_rows(model) == keras_rows(twin)
    trainable = sum(math.prod(w.shape) for w in twin.trainable_weights)
    assert (model.total, model.trainable) == (twin.count_params(), trainable)
    assert [(None, *model.nodes[i].shape) for i in model.outputs] == [tuple(t.shape) for t in twin.outputs]
