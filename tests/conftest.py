"""Shared test set-up: Keras always runs on the torch backend.

Oracle tests import Keras or PyTorch through the fixtures below. When
CNNDSL_REQUIRE_ORACLES=1 (as in CI) a missing oracle fails the run
instead of skipping, so a green CI always means the oracles ran.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Tests live beside the subpackage they test (tests/views/test_diff.py tests cnndsl/views/diff.py);
# the shared helpers (netgen, emit_helpers, hostile_inputs, lsp_client, syntax_roles) are in
# tests/helpers, and a test may import another folder's test module for its cases.
_TESTS = Path(__file__).resolve().parent
for _folder in [
    _TESTS / "helpers",
    *sorted(p for p in _TESTS.iterdir() if p.is_dir() and p.name not in ("golden", "fuzz")),
]:
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

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
