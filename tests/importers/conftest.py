"""keras.applications models, built once per test session (weights=None: nothing is downloaded)."""

from __future__ import annotations

import pytest
from keras_files import write_config_only  # noqa: F401  (the fixtures' files, also imported by the tests)


@pytest.fixture(scope="session")
def applications(keras, tmp_path_factory):
    """`build(name)` -> (the Keras model, the path of a .keras file holding its config)."""
    cache = {}
    folder = tmp_path_factory.mktemp("keras_apps")

    def build(name: str):
        if name not in cache:
            model = getattr(keras.applications, name)(weights=None)
            path = folder / f"{name}.keras"
            write_config_only(keras, model, path)
            cache[name] = model, path
        return cache[name]

    return build
