"""keras.applications models and their .keras files, each made once per test session."""

from __future__ import annotations

import pytest
from applications import application
from keras_files import write_config_only  # noqa: F401  (the fixtures' files, also imported by the tests)


@pytest.fixture(scope="session")
def applications(keras, tmp_path_factory):
    """`build(name)` -> (the Keras model, the path of a .keras file holding its config)."""
    cache = {}
    folder = tmp_path_factory.mktemp("keras_apps")

    def build(name: str):
        if name not in cache:
            model = application(name)  # the one tests/test_zoo.py compares with too
            path = folder / f"{name}.keras"
            write_config_only(keras, model, path)
            cache[name] = model, path
        return cache[name]

    return build
