"""The keras.applications zoo, written in cnndsl, against Keras itself.

Each example in examples/ describes one keras.applications network. Keras
builds the real model here (weights=None, nothing is downloaded) and is the
oracle: totals, trainable and non-trainable counts, output shape, and the
multiset of layers (class, parameters, output shape) must all agree.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from application_imports import import_application
from applications import application

import cnndsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# example file -> keras.applications constructor
ZOO = {
    "vgg16.cnn": "VGG16",
    "vgg19.cnn": "VGG19",
    "resnet50.cnn": "ResNet50",
    "resnet50v2.cnn": "ResNet50V2",
    "mobilenet.cnn": "MobileNet",
    "mobilenet_v2.cnn": "MobileNetV2",
    "densenet121.cnn": "DenseNet121",
    "inception_v3.cnn": "InceptionV3",
    "xception.cnn": "Xception",
    "efficientnet_b0.cnn": "EfficientNetB0",
    "efficientnet_v2_b0.cnn": "EfficientNetV2B0",
    "convnext_tiny.cnn": "ConvNeXtTiny",
    "nasnet_mobile.cnn": "NASNetMobile",
}


@pytest.fixture
def built(keras):
    """Each Keras application, built at most once per run (tests/helpers/applications.py)."""
    return application


def counts(keras, model) -> tuple[int, int, int]:
    size = keras.ops.size
    trainable = sum(int(size(w)) for w in model.trainable_weights)
    non_trainable = sum(int(size(w)) for w in model.non_trainable_weights)
    return model.count_params(), trainable, non_trainable


def analyze(example: str):
    return cnndsl.analyze_file(EXAMPLES / example)


@pytest.mark.parametrize("example", ZOO)
def test_example_equals_keras(example, keras, tmp_path):
    """One test per application, so it is built once per run (under xdist, five tests of it would
    build it on each worker that ran one), then compared four ways, and imported from its `.keras`
    file (tests/importers/test_keras_applications.py imports the applications without an example)."""
    theirs = application(ZOO[example])
    totals_and_output_equal_keras(example, keras, theirs)
    same_layers_as_keras(example, keras, theirs)
    same_wiring_as_keras(example, keras, theirs)
    header_comment_states_keras_totals(example, keras, theirs)
    import_application(keras, ZOO[example], theirs, tmp_path)


def totals_and_output_equal_keras(example, keras, theirs):
    ours = analyze(example)
    assert (ours.total, ours.trainable, ours.non_trainable) == counts(keras, theirs)
    assert (None, *ours.output_shape) == tuple(theirs.output_shape)


def keras_rows(keras, model):
    """The rows of Keras's `model.summary(expand_nested=True)` that hold no others.

    A nested Sequential (ConvNeXt's stem and downsampling steps) is listed as
    its own layers, and an operator between tensors (ConvNeXt's `inputs + x`,
    an `Add` operation, not a layer) as the row Keras prints for it.
    """
    for op in getattr(model, "operations", None) or model.layers:  # a Sequential has only `layers`
        if isinstance(op, keras.Model):
            yield from keras_rows(keras, op)
        else:
            yield describe_keras(keras)(op)


def describe_keras(keras):
    def describe(op):
        params = op.count_params() if isinstance(op, keras.layers.Layer) else 0
        return op.__class__.__name__, params, tuple(op.output.shape[1:])

    return describe


def keras_graph(keras, model):
    """The rows of `keras_rows` and what each reads: a nested Sequential's first layer reads
    what the Sequential reads, and whatever reads the Sequential reads its last layer."""
    leaves, reads, output_of = [], {}, {}
    for op in model.operations:
        sources = [output_of[id(t._keras_history.operation)] for t in op._inbound_nodes[0].input_tensors]
        for leaf in op.layers if isinstance(op, keras.Sequential) else [op]:
            leaves.append(leaf)
            reads[id(leaf)] = sources
            sources = [leaf]
        output_of[id(op)] = sources[0]
    return leaves, reads


def same_layers_as_keras(example, keras, theirs):
    """Layer for layer (as a multiset): class, parameter count and output shape."""
    ours = Counter((node.keras_type, node.info.params, tuple(node.shape)) for node in analyze(example).nodes)
    rows = Counter(keras_rows(keras, theirs))
    assert ours - rows == Counter(), "layers cnndsl has and Keras does not"
    assert rows - ours == Counter(), "layers Keras has and cnndsl does not"


def wiring(layers, describe, reads) -> Counter:
    """Each layer as (class, params, shape, what it reads), the reads described the same way, to the input.

    The whole ancestry is compared, so a NASNet cell that reads the wrong earlier cell of the same
    shape differs. Concatenate's inputs keep their order (it decides the channels); other merges commute.
    """
    interned: dict = WIRING_IDS
    memo: dict = {}

    def signature(layer) -> int:
        key = id(layer)
        if key not in memo:
            kind, params, shape = describe(layer)
            inputs = [signature(source) for source in reads(layer)]
            entry = (kind, params, shape, tuple(inputs if kind == "Concatenate" else sorted(inputs)))
            memo[key] = interned.setdefault(entry, len(interned))
        return memo[key]

    return Counter(signature(layer) for layer in layers)


WIRING_IDS: dict = {}  # shared by both sides, so equal structures get equal numbers


def same_wiring_as_keras(example, keras, theirs):
    """Layer for layer, with everything each layer reads: NASNet's cells read the cell two back."""
    model = analyze(example)
    by_id = {node.id: node for node in model.nodes}
    ours = wiring(
        model.nodes,
        lambda node: (node.keras_type, node.info.params, tuple(node.shape)),
        lambda node: [by_id[i] for i in node.inputs],
    )
    leaves, reads = keras_graph(keras, theirs)
    wired = wiring(leaves, describe_keras(keras), lambda op: reads[id(op)])
    assert ours - wired == Counter(), "layers cnndsl has and Keras does not"
    assert wired - ours == Counter(), "layers Keras has and cnndsl does not"


def header_comment_states_keras_totals(example, keras, theirs):
    """The totals quoted at the top of each example are Keras's own."""
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    header = text.split("\ninput ", 1)[0]

    def stated(label: str) -> int | None:
        found = re.search(label + r" params: ([\d,]+)", header)
        return int(found.group(1).replace(",", "")) if found else None

    total, trainable, non_trainable = counts(keras, theirs)
    assert stated("Total") == total
    if non_trainable:
        assert (stated("Trainable"), stated("Non-trainable")) == (trainable, non_trainable)


# The reference numbers (from Keras's model.summary()), as literals.


def test_vgg16_reference():
    model = analyze("vgg16.cnn")
    assert (model.total, model.trainable, model.non_trainable) == (138_357_544, 138_357_544, 0)
    assert model.output_shape == (1000,)


def test_resnet50_reference():
    model = analyze("resnet50.cnn")
    assert (model.total, model.non_trainable) == (25_636_712, 53_120)
    assert model.trainable == 25_636_712 - 53_120
    assert model.output_shape == (1000,)


def test_mobilenet_v2_reference():
    model = analyze("mobilenet_v2.cnn")
    assert (model.total, model.non_trainable) == (3_538_984, 34_112)
    assert model.trainable == 3_538_984 - 34_112
    assert model.output_shape == (1000,)


def test_nasnet_mobile_reference():
    model = analyze("nasnet_mobile.cnn")
    assert (model.total, model.non_trainable) == (5_326_716, 36_738)
    assert model.trainable == 5_326_716 - 36_738
    assert model.output_shape == (1000,)


def test_resnet50_is_compact():
    """The issue asks for tens of lines, not hundreds."""
    lines = [line for line in (EXAMPLES / "resnet50.cnn").read_text().splitlines() if line.strip()]
    assert len(lines) < 60


# docs/blocks.md: its snippets run, and its table quotes Keras's numbers.

BLOCKS_DOC = EXAMPLES.parent / "docs" / "blocks.md"


def test_blocks_doc_snippets_are_valid_networks():
    snippets = re.findall(r"```cnn\n(.*?)```", BLOCKS_DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(snippets) >= 8
    for snippet in snippets:
        assert cnndsl.analyze(snippet).total > 0


def test_blocks_doc_table_quotes_keras(keras, built):
    rows = re.findall(
        r"^\| `(\w+\.cnn)` \| (\w+) \| ([\d,]+) \| ([\d,]+) \|$", BLOCKS_DOC.read_text(encoding="utf-8"), flags=re.M
    )
    assert sorted(row[0] for row in rows) == sorted(ZOO)
    for example, constructor, total, non_trainable in rows:
        assert constructor == ZOO[example]
        keras_total, _, keras_non_trainable = counts(keras, built(constructor))
        assert (int(total.replace(",", "")), int(non_trainable.replace(",", ""))) == (keras_total, keras_non_trainable)


def test_reshape_takes_axes_one_by_one_so_a_block_parameter_can_be_one():
    # EfficientNet's squeeze-excite: Reshape((1, 1, filters)) inside a block.
    by_axes = cnndsl.analyze("input 7x7x32\ndef squeeze(c):\n    gap | reshape 1 1 c\nsqueeze(32)\n")
    assert [node.shape for node in by_axes.layers] == [(32,), (1, 1, 32)]
    assert cnndsl.analyze("input 7x7x32 | gap | reshape 1x1x32").output_shape == (1, 1, 32)
    with pytest.raises(cnndsl.CnnError, match="only one axis"):
        cnndsl.analyze("input 7x7x32 | gap | reshape -1x2 -1x16")
