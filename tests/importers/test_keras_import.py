"""`cnndsl import model.keras`: Keras's own figures, layer by layer, from the file's config alone."""

from __future__ import annotations

import json
import zipfile

import pytest
from application_imports import keras_rows, keras_totals, summary_rows

from cnndsl.importers import ModelFileError, import_file


def test_a_saved_model_imports_with_its_weights_beside_it(keras, tmp_path):
    """model.save's own file (weights and all): only config.json is read."""
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    path = tmp_path / "small.keras"
    model.save(path)
    text = import_file(path).text
    assert summary_rows(text) == (keras_totals(keras, model), list(keras_rows(keras, model)))
    assert keras_totals(keras, model) == (13_610, 13_610, 0)  # 80 + 13,530: conv 3·3·8 + 8, dense 1352·10 + 10


def run_cli(*argv):
    import contextlib
    import io

    from cnndsl.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def saved(keras, model, path):
    from keras_files import write_config_only

    write_config_only(keras, model, path)
    return path


def test_a_lambda_is_refused_at_its_layer_and_never_run(keras, tmp_path):
    ran = []
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.Lambda(lambda t: ran.append(1) or t, name="sneaky")(x)
    path = saved(keras, keras.Model(inputs, x), tmp_path / "lambda.keras")
    ran.clear()
    status, out, err = run_cli("import", path)
    assert (status, out, ran) == (1, "", [])
    assert "layer 2 `sneaky` (Lambda)" in err and "never runs" in err


def test_a_custom_layer_class_is_refused_at_its_layer(keras, tmp_path):
    @keras.saving.register_keras_serializable(package="mine")
    class Twice(keras.layers.Layer):
        def call(self, x):
            return x * 2

    inputs = keras.Input((4,))
    path = saved(keras, keras.Model(inputs, Twice(name="twice")(inputs)), tmp_path / "custom.keras")
    status, _, err = run_cli("summary", path)
    assert status == 1
    assert "`twice` (Twice)" in err and "custom layer class" in err


def test_truncated_and_foreign_files_are_usage_errors(keras, applications, tmp_path):
    _, path = applications("MobileNetV2")
    truncated = tmp_path / "cut.keras"
    truncated.write_bytes(path.read_bytes()[:2000])
    status, out, err = run_cli("import", truncated)
    assert (status, out) == (2, "") and "truncated or corrupted" in err
    other = tmp_path / "other.keras"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("weights.h5", b"")
    status, _, err = run_cli("check", other)
    assert status == 2 and "no config.json" in err
    status, _, err = run_cli("import", tmp_path / "missing.keras")
    assert status == 2 and "cannot read" in err


def test_the_zip_is_bounded(tmp_path, monkeypatch):
    import cnndsl.importers.keras as reader

    many = tmp_path / "many.keras"
    with zipfile.ZipFile(many, "w") as archive:
        for n in range(5):
            archive.writestr(f"m{n}", b"")
        archive.writestr("config.json", "{}")
    monkeypatch.setattr(reader, "MAX_IMPORT_MEMBERS", 3)
    with pytest.raises(ModelFileError, match="6 members"):
        reader.read_keras_file(many)
    big = tmp_path / "big.keras"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", " " * 10_000)  # a zip bomb in miniature: 10 KB from a few bytes
    monkeypatch.setattr(reader, "MAX_IMPORT_CONFIG_BYTES", 1000)
    with pytest.raises(ModelFileError, match="config.json is 10,000 bytes") as error:
        reader.read_keras_file(big)
    assert error.value.exit_code == 2
    monkeypatch.setattr(reader, "MAX_IMPORT_FILE_BYTES", 10)
    with pytest.raises(ModelFileError, match="more than cnndsl reads"):
        reader.read_keras_file(big)


def test_import_writes_a_file_and_every_command_reads_a_model_file(applications, tmp_path):
    _, path = applications("MobileNetV2")
    out = tmp_path / "mobilenet_v2.cnn"
    assert run_cli("import", path, "-o", out)[0] == 0
    text = out.read_text()
    assert text.startswith("# Imported from MobileNetV2.keras")
    assert "#   Total params: 3,538,984" in text  # keras.applications.MobileNetV2's published total
    assert run_cli("check", path) == (0, "", "")
    status, summary, _ = run_cli("summary", "--json", path)
    assert status == 0 and json.loads(summary)["total_params"] == 3_538_984
    assert run_cli("diff", out, path)[0] == 0
    status, explained, _ = run_cli("explain", path, "--layer", "Conv1")
    assert status == 0 and "3·3·3·32 = 864 (no bias)" in explained  # Keras: Conv1 has 864 params


def test_the_list_of_keras_layers_in_the_docs_is_current_and_real(keras):
    from cnndsl.importers import docs
    from cnndsl.importers.keras import KERAS_RULES

    assert docs.current(docs.DOC.read_text(encoding="utf-8")) == docs.generated(), (
        "run: python -m cnndsl.importers.docs --update"
    )
    for name in KERAS_RULES:
        assert issubclass(getattr(keras.layers, name), keras.layers.Layer), name


@pytest.mark.parametrize("name", ["add", "concatenate", "multiply"])
def test_a_merge_named_as_its_keyword_is_a_label_that_parses(name, keras, tmp_path):
    """Keras names the first Add of a process `add` (NASNetLarge, when it is the first model built): read by
    two layers, it needs a label, and `add: add(...)` does not parse; it is written `add_0`, a name
    Keras gives by default too, so the rows still match Keras's."""
    layers = keras.layers
    inputs = keras.Input((8, 8, 4))
    a, b = layers.Conv2D(4, 1, name="one")(inputs), layers.Conv2D(4, 3, padding="same", name="three")(inputs)
    merge = {"add": layers.Add, "concatenate": layers.Concatenate, "multiply": layers.Multiply}[name](name=name)([a, b])
    model = keras.Model(inputs, [layers.ReLU(name="relu")(merge), layers.Conv2D(2, 1, name="head")(merge)])
    text = import_file(saved(keras, model, tmp_path / "m.keras")).text
    assert f"{name}_0: " in text
    assert summary_rows(text) == (keras_totals(keras, model), list(keras_rows(keras, model)))


OWN_CLASSES_MODEL = """
defaults pytorch
input 18x18x3
conv 8 3 | maxpool 3 stride 2 pad 1 ceil | conv 8 2 | maxpool 3 stride 2 pad 1 | layerscale 1e-6
avgpool 3 stride 2 same
add(identity; conv 8 1) | gap | dense 4
"""
OWN_SCALEADD = "input 8x8x4\nscaleadd(identity; conv 4 1) 0.17 | gap | dense 2\n"


@pytest.mark.parametrize("text", [OWN_CLASSES_MODEL, OWN_SCALEADD], ids=["pools_layerscale", "scaleadd"])
def test_the_emitted_keras_codes_own_classes_import_from_a_saved_file(text, keras, tmp_path):
    """The classes `emit --keras` defines (LayerScale, CustomScaleLayer, MaxPoolPadded, its AveragePooling)
    are read from the saved file's config, as every layer is: the file names the user's module, which
    is never imported. Keras's own figures for the model the emitted code builds, row for row."""
    from emit_helpers import load

    import cnndsl
    from cnndsl.emit import generate

    code = generate(cnndsl.analyze(text), "keras")
    classes = [name for name in ("LayerScale", "CustomScaleLayer", "MaxPoolPadded", "AveragePooling2D") if f"class {name}(" in code]
    assert classes == (["LayerScale", "MaxPoolPadded", "AveragePooling2D"] if "layerscale" in text else ["CustomScaleLayer"])
    model = load(code, "users_own_module").build_model()
    path = saved(keras, model, tmp_path / "own.keras")
    assert all(f'"module": "users_own_module", "class_name": "{name}"' in zipfile.ZipFile(path).read("config.json").decode() for name in classes)
    imported = import_file(path).text
    totals, rows = summary_rows(imported)
    assert totals == keras_totals(keras, model)
    shapes = [(row[2], row[3]) for row in keras_rows(keras, model)]  # Keras's classes are the module's own
    assert [(row[2], row[3]) for row in rows] == shapes
    source, back = cnndsl.analyze(text), cnndsl.analyze(imported)
    assert [(n.keras_type, n.shape, n.info.params) for n in back.layers] == [
        (n.keras_type, n.shape, n.info.params) for n in source.layers
    ]


def test_a_class_of_the_same_name_with_other_settings_is_still_refused(keras, tmp_path):
    config = {"module": "users_module", "class_name": "LayerScale", "registered_name": "LayerScale",
              "config": {"name": "layer_scale", "init_values": 1e-6, "projection_dim": 4, "run_this": "rm -rf /"}}
    from cnndsl.importers.keras import own_class_rule

    assert own_class_rule(config) is None
    config["config"].pop("run_this")
    assert own_class_rule(config) is not None
