"""Oracle tests of `cnndsl emit`: Keras and PyTorch build the emitted code and
must agree with `cnndsl summary` on every number.

Keras: count_params(), the trainable/non-trainable split, every row's name,
type, parameters and shape, and the output shape. PyTorch: the parameter
count is the summary's trainable count, the BatchNorm (and Normalization)
buffers are its non-trainable count, a forward pass on zeros gives the
summary's output shape in NCHW, and FlopCounterMode counts each layer's
MACs as the summary does. Every example and >= 300 random networks
(hypothesis, derandomized) go through both, and through ruff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from emit_helpers import check_keras, check_torch, ruff_problems
from example_files import model_files
from hypothesis import HealthCheck, given, settings
from netgen import networks

import cnndsl
from cnndsl.emit import generate

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn"))
# The families at a small input (their widths and depths do not depend on it), and a file that uses another
FAMILIES = {
    "efficientnet": {"size": 64},
    "mobilenet_v2": {"size": 64, "alpha": 0.35},
    "mobilenet_v3": {"size": 64, "large": 1, "minimalistic": 1},
    "regnet": {},  # regnet_y_400mf, at 224 (its input line)
}
MORE = [(ROOT / "examples" / "families" / f"{name}.cnn", params) for name, params in FAMILIES.items()]
MORE.append((ROOT / "examples" / "modules" / "net.cnn", {"width": 0.5}))
RANDOM_NETWORKS = 300

pytestmark = pytest.mark.oracle


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_keras(path, keras):
    model = cnndsl.analyze_file(path)
    check_keras(model, keras)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_torch(path, torch):
    model = cnndsl.analyze_file(path)
    check_torch(model, torch, batch=1)


def test_every_family_file_is_in_the_list():
    assert sorted(path.stem for path, _ in MORE[:-1]) == sorted(p.stem for p in (ROOT / "examples" / "families").glob("*.cnn"))


@pytest.mark.parametrize(("path", "params"), MORE, ids=[f"{path.parent.name}/{path.stem}" for path, _ in MORE])
def test_family_and_module_examples_in_both_targets(path, params, keras, torch):
    model = cnndsl.analyze(path.read_text(encoding="utf-8"), str(path), params=params)
    check_keras(model, keras)
    check_torch(model, torch, batch=1)
    assert ruff_problems(generate(model, "keras"), generate(model, "pytorch")) == []


# The networks of every folder: torchvision's, the families at their defaults
@pytest.mark.parametrize("path", model_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("target", ["keras", "pytorch"])
def test_example_code_is_ruff_clean_and_deterministic(path, target):
    model = cnndsl.analyze_file(path)
    code = generate(model, target)
    assert ruff_problems(code) == []
    assert generate(cnndsl.analyze_file(path), target) == code


# Random networks: tests/helpers/netgen.py builds each one valid by construction and covers every
# layer kind, option and branch form (tests/test_keras_oracle.py checks that coverage).


@settings(
    max_examples=RANDOM_NETWORKS,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(network=networks())
def test_random_networks(network, keras, torch):
    model = cnndsl.analyze(network.text)
    assert ruff_problems(generate(model, "keras"), generate(model, "pytorch")) == [], network.text
    check_keras(model, keras)
    check_torch(model, torch)
