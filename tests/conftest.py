"""Shared test set-up: Keras always runs on the torch backend.

Oracle tests import Keras or PyTorch through the fixtures below. When
CNNDSL_REQUIRE_ORACLES=1 (as in CI) a missing oracle fails the run
instead of skipping, so a green CI always means the oracles ran.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")


def _oracle(name: str):
    if os.environ.get("CNNDSL_REQUIRE_ORACLES") == "1":
        return __import__(name)
    return pytest.importorskip(name)


@pytest.fixture(scope="session")
def keras():
    """Keras 3 on the torch backend."""
    module = _oracle("keras")
    assert module.backend.backend() == "torch", "Keras must run on the torch backend"
    return module


@pytest.fixture(scope="session")
def torch():
    return _oracle("torch")
