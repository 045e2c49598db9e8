"""Round trips: a model written out by `cnndsl emit` and imported again has the model's figures.

`emit --keras` then the Keras model that code builds, read from its config (what `import --keras
module:function` and a saved `.keras` file read), for examples and for random networks (netgen);
tests/importers/test_onnx_import.py does the same through `emit --onnx`. Names aside: the import keeps the built model's names.
Keras orders the layers of a graph by depth, which for several heads or cells reading earlier
cells is not the file's order, so rows are compared as a multiset there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from emit_helpers import load
from example_files import model_files
from hypothesis import HealthCheck, given, settings
from netgen import networks

import cnndsl
from cnndsl.emit import generate
from cnndsl.importers.keras import read_config
from cnndsl.importers.writer import write

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]


def figures(model, ordered=True):
    rows = [(n.keras_type, n.shape, n.info.trainable, n.info.non_trainable) for n in model.layers]
    return (model.total, model.trainable, model.non_trainable), rows if ordered else sorted(rows, key=repr)


def through_keras(keras, model) -> cnndsl.Model:
    built = load(generate(model, "keras"), "round_trip_keras").build_model()
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(built)))  # what model.save writes
    return cnndsl.analyze(write(read_config(config), "round_trip"), name="imported")


# Every example network, but these, whose emitted Keras model is not read back (yet):
NOT_THROUGH_KERAS = {
    "siamese.cnn": "shared layers",
    # a flatten of channels-first order (defaults pytorch) is a Permute before the Flatten in Keras
    "torchvision/alexnet.cnn": "Permute",
    "torchvision/vgg16_bn.cnn": "Permute",
    # a label written for a layer Keras named by default is a name cnndsl's own counting gives another layer
    "nasnet_mobile.cnn": "default names",
    "torchvision/inception_v3.cnn": "default names",
    "torchvision/shufflenet_v2_x1_0.cnn": "Keras has no channel shuffle: emit --keras refuses it",
}
KERAS_EXAMPLES = [
    p.relative_to(ROOT / "examples").as_posix()
    for p in model_files()
    if p.relative_to(ROOT / "examples").as_posix() not in NOT_THROUGH_KERAS
]


@pytest.mark.parametrize("example", KERAS_EXAMPLES)
def test_emitted_keras_imports_to_the_same_model(example, keras):
    model = cnndsl.analyze_file(ROOT / "examples" / example)
    ordered = len(model.outputs) == 1
    assert figures(through_keras(keras, model), ordered) == figures(model, ordered)


SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

@SETTINGS
@given(net=networks(max_layers=8))
def test_random_networks_through_keras(net, keras):
    model = cnndsl.analyze(net.text)
    assert figures(through_keras(keras, model), ordered=False) == figures(model, ordered=False), net.text
