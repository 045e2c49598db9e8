"""`cnndsl import` of a keras.applications model, checked against the Keras model itself.

One check per application, called by the test that builds it (tests/test_zoo.py for the models
it has an example of, tests/importers/test_keras_applications.py for the others), so each model is
built once per run: the model is saved to a `.keras` file (its config, as `model.save` writes
it), imported, and the import's `summary --json` must equal Keras's figures row for row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# Every model keras.applications builds (Keras 3.15); a test holds this list to keras.applications.
APPLICATIONS = [
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge",
    "DenseNet121", "DenseNet169", "DenseNet201",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
    "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7",
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S",
    "InceptionResNetV2", "InceptionV3",
    "MobileNet", "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small",
    "NASNetLarge", "NASNetMobile",
    "ResNet101", "ResNet101V2", "ResNet152", "ResNet152V2", "ResNet50", "ResNet50V2",
    "VGG16", "VGG19", "Xception",
]  # fmt: skip

LINE_BUDGET = {"ResNet50": 40, "DenseNet121": 40, "MobileNetV2": 40}  # the bounds, non-comment lines
DEFAULT = "(Keras's default name)"
TABLE_BEGIN, TABLE_END = "<!-- application-lines:begin -->", "<!-- application-lines:end -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "importing.md"


def code_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def keras_rows(keras, model):
    """(name, class, output shape, parameters, trainable, non-trainable) of each layer and tensor
    operation Keras runs, in Keras's order; a name Keras gave by default is DEFAULT.

    A nested Sequential (ConvNeXt's stem) is its layers, as `model.summary(expand_nested=True)`
    lists them. An operation between a tensor and a number (MobileNetV3's `x + 3.0`, an Add
    operation, no layer) is the Rescaling cnndsl writes for it, as tests/test_families.py counts it.
    The input is left out: cnndsl's JSON gives it as `inputs`.
    """
    from cnndsl.importers.keras import is_default_name

    size = keras.ops.size
    for op in getattr(model, "operations", None) or model.layers:
        if isinstance(op, keras.Sequential):
            yield from keras_rows(keras, op)
            continue
        kind = op.__class__.__name__
        if kind == "InputLayer":
            continue
        name = DEFAULT if is_default_name(op.name, kind) else op.name
        if isinstance(op, keras.layers.Layer):
            trainable = sum(int(size(w)) for w in op.trainable_weights)
            non_trainable = sum(int(size(w)) for w in op.non_trainable_weights)
        else:
            trainable = non_trainable = 0
            if len(op._inbound_nodes[0].input_tensors) == 1:
                kind = "Rescaling"
        yield name, kind, [None, *op.output.shape[1:]], trainable + non_trainable, trainable, non_trainable


def keras_totals(keras, model) -> tuple[int, int, int]:
    size = keras.ops.size
    trainable = sum(int(size(w)) for w in model.trainable_weights)
    non_trainable = sum(int(size(w)) for w in model.non_trainable_weights)
    return model.count_params(), trainable, non_trainable


def summary_rows(text: str):
    """The totals and rows of `cnndsl summary --json` for a .cnn text, as `keras_rows` gives Keras's."""
    import cnndsl
    from cnndsl.importers.keras import is_default_name

    summary = json.loads(cnndsl.analyze(text, "imported.cnn").summary(format="json"))
    rows = [
        (
            DEFAULT if is_default_name(row["name"], row["type"]) else row["name"],
            row["type"],
            row["output_shape"],
            row["params"],
            row["trainable_params"],
            row["non_trainable_params"],
        )
        for row in summary["layers"]
        if not row["implicit"]
    ]
    return (summary["total_params"], summary["trainable_params"], summary["non_trainable_params"]), rows


def import_application(keras, name: str, model, folder: Path) -> int:
    """Saves `model` as `name`.keras in `folder`, imports it (with and without blocks) and checks the
    import against Keras; the number of non-comment lines of the import."""
    from keras_files import write_config_only

    from cnndsl.importers import import_file
    from cnndsl.tools.fmt import format_source

    path = folder / f"{name}.keras"
    write_config_only(keras, model, path)
    totals, rows = keras_totals(keras, model), list(keras_rows(keras, model))
    text = import_file(path).text
    for written in (text, import_file(path, blocks=False).text):
        assert summary_rows(written) == (totals, rows)
    assert format_source(text) == text  # laid out as `cnndsl fmt` lays it out
    header = text.split("\ninput ", 1)[0]
    assert f"# Imported from {name}.keras" in header and f"Total params: {totals[0]:,}" in header
    lines = code_lines(text)
    assert lines <= LINE_BUDGET.get(name, lines)
    assert table_row(name, lines, len(rows)) in documented_rows(), (
        "stale line counts: python tests/helpers/application_imports.py"
    )
    return lines


def table_row(name: str, lines: int, layers: int) -> str:
    return f"| {name} | {lines} | {layers} |"


def documented_rows() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0]
    return [line for line in table.strip().splitlines()[2:]]


def documented_names() -> list[str]:
    return [re.match(r"\| (\w+) \|", row)[1] for row in documented_rows()]


def measured(name: str, folder: Path) -> str:
    """The table row of one application, measured: its import's non-comment lines and its layers."""
    import keras
    from applications import application
    from keras_files import write_config_only

    from cnndsl.importers import import_file

    model = application.__wrapped__(name)  # not kept: the big ones hold gigabytes of weights
    path = folder / f"{name}.keras"
    write_config_only(keras, model, path)
    text = import_file(path).text
    return table_row(name, code_lines(text), len(summary_rows(text)[1]))


def update() -> None:
    """Rewrites the table of docs/importing.md, building every application (about 3 minutes)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        rows = [measured(name, Path(folder)) for name in APPLICATIONS]
    body = "\n".join(["| model | lines | layers |", "|---|---:|---:|", *rows])
    text = DOC.read_text(encoding="utf-8")
    before, rest = text.split(TABLE_BEGIN, 1)
    DOC.write_text(f"{before}{TABLE_BEGIN}\n{body}\n{TABLE_END}{rest.split(TABLE_END, 1)[1]}", encoding="utf-8")


if __name__ == "__main__":  # python tests/helpers/application_imports.py: the line counts of docs/importing.md
    import os
    import sys

    os.environ.setdefault("KERAS_BACKEND", "torch")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    update()
