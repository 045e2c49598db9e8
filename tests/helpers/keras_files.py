"""Writing .keras files in the tests."""

from __future__ import annotations

import json
import zipfile


def write_config_only(keras, model, path) -> None:
    """A .keras file without its weights: the config.json `model.save` writes
    (`serialize_keras_object(model)`, as keras.saving's saving_lib does) and its metadata."""
    config = keras.saving.serialize_keras_object(model)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
        archive.writestr("config.json", json.dumps(config))
