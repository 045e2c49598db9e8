"""Random graphs (tests/helpers/netgen.py `graphs()`: references, several inputs and outputs,
shared layers, merges of referenced tensors that broadcast) through every oracle.

Keras: the generator's own twin (one layer object per label, called again by
`reuse`) must give cnndsl's summary row for row (name, type, shape, parameters,
"Connected to"), and the emitted Keras code must build to the same rows.
PyTorch: parameters, buffers, every output's shape and each layer's MACs.
A sample also runs numerically after keras_to_torch; fmt keeps its properties.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from emit_helpers import check_keras, check_torch, outputs_of_both, ported_models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netgen import graphs
from test_fmt import assert_formats_well, messy
from test_graphs import cnndsl_rows, keras_rows

import cnndsl

RELAXED = dict(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.mark.oracle
@settings(max_examples=40, **RELAXED)
@given(net=graphs())
def test_random_graphs_against_keras_and_torch(net, keras, torch):
    model = cnndsl.analyze(net.text)
    keras.backend.clear_session()  # Keras numbers default names per session
    twin = net.build_keras(keras)
    if not model.sequential:  # a chain from one input has no "Connected to" column
        assert cnndsl_rows(model) == keras_rows(twin), net.text
    layers = [row[:4] for row in keras_rows(twin)]
    assert [(n.name, n.keras_type, (None, *n.shape), n.info.params) for n in model.keras_order] == layers, net.text
    trainable = sum(math.prod(w.shape) for w in twin.trainable_weights)
    assert (model.total, model.trainable) == (twin.count_params(), trainable), net.text
    assert [(None, *model.nodes[i].shape) for i in model.outputs] == [tuple(t.shape) for t in twin.outputs]
    assert [model.nodes[i].shape for i in model.outputs] == net.output_shapes
    assert [model.nodes[i].shape for i in model.inputs] == net.input_shapes
    keras.backend.clear_session()
    check_keras(model, keras)
    check_torch(model, torch)


@pytest.mark.oracle
@settings(max_examples=12, **RELAXED)
@given(net=graphs(max_lines=4))
def test_random_graphs_compute_the_same_after_porting(net, keras, torch):
    model = cnndsl.analyze(net.text)
    rng = np.random.default_rng(7)
    keras_model, torch_model = ported_models(model, rng)
    xs = [rng.normal(0.0, 1.0, (2, *model.nodes[i].shape)).astype("float32") for i in model.inputs]
    expected, got = outputs_of_both(keras_model, torch_model, xs, keras, torch)
    assert [g.shape for g in got] == [e.shape for e in expected], net.text
    for g, e in zip(got, expected):
        assert np.abs(g - e).max() <= 1e-4 * max(1.0, float(np.abs(e).max())), net.text


@settings(max_examples=30, **RELAXED)
@given(data=st.data(), net=graphs())
def test_random_graphs_format_well(data, net):
    assert_formats_well(net.text)
    assert_formats_well(data.draw(messy(net.text)))


def test_graphs_cover_references_inputs_outputs_and_sharing():
    seen: set = set()

    @settings(max_examples=40, **RELAXED)
    @given(net=graphs())
    def collect(net):
        seen.update(net.features)

    collect()
    wanted = {
        ("reference", ""),
        ("reuse", ""),
        ("reuse", "labelled"),
        ("input", "count=2"),
        ("input", "count=3"),
        ("output", "count=2"),
        ("output", "implicit"),
        ("line", "continues"),
        ("label", "merge"),
        ("concat", "reference"),
        ("add", "reference"),
        ("layerscale", ""),
    }
    assert wanted - seen == set()
    assert any(detail == "broadcast reference" for _, detail in seen)  # a gate of 1-sized sides, joined by name
