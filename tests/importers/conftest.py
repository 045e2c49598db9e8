"""keras.applications models, built once per test session (weights=None: nothing is downloaded)."""

from __future__ import annotations

import json
import zipfile

import pytest


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


def write_config_only(keras, model, path) -> None:
    """A .keras file without its weights: the config.json `model.save` writes
    (`serialize_keras_object(model)`, as keras.saving's saving_lib does) and its metadata."""
    config = keras.saving.serialize_keras_object(model)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
        archive.writestr("config.json", json.dumps(config))
