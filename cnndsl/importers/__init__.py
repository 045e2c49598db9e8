"""Model files (Keras `.keras`, ONNX `.onnx`) read into .cnn text.

Each importer turns its format into a `graph.Graph` (layers as cnndsl
words, wired by index); `writer` lays that graph out as a .cnn text, with
`blocks` folding repeated parts into `def` blocks. Reading a model file
never runs code from it: a Keras file's config.json is read as JSON, an
ONNX file as a protobuf.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ModelFileError, missing_extra  # noqa: F401  (the package's errors)

# Extensions of the model files an importer reads, and the extra that brings its package.
MODEL_FILES = {".keras": "keras", ".onnx": "onnx"}


@dataclass(frozen=True)
class Imported:
    """A model file as .cnn text, with what the header says about it."""

    text: str
    source: str  # the file's name
    format: str  # "Keras" or "ONNX"


def is_model_file(path: str) -> bool:
    return os.path.splitext(str(path))[1].lower() in MODEL_FILES


def import_file(path: str, *, blocks: bool = True) -> Imported:
    """The .cnn text for a model file; raises ModelFileError."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".keras":
        from .keras import read_keras_file

        graph = read_keras_file(path)
    elif ext == ".onnx":
        from .onnx import read_onnx_file

        graph = read_onnx_file(path)
    else:
        raise ModelFileError(f"cnndsl imports {', '.join(MODEL_FILES)} files, not `{ext or path}`", exit_code=2)
    from .writer import write

    return Imported(write(graph, os.path.basename(str(path)), blocks=blocks), os.path.basename(str(path)), graph.format)


def import_callable(kind: str, spec: str, input_shape: str | None = None, *, blocks: bool = True) -> Imported:
    """The .cnn text for the model `module:function` builds (`kind` "pytorch" or "keras"); this runs
    the user's code, so only `cnndsl import --pytorch/--keras` calls it."""
    from .callable import import_keras, import_pytorch

    graph = import_pytorch(spec, input_shape) if kind == "pytorch" else import_keras(spec)
    from .writer import write

    return Imported(write(graph, spec, blocks=blocks), spec, graph.format)
