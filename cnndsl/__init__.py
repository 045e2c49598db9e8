"""cnndsl: write a CNN once; get its shapes, parameters, Keras and PyTorch code."""

from __future__ import annotations

import gc
import os

# Importing the package makes only objects that live as long as the process
# (classes, functions, tables); the cyclic collector's passes over them while
# it is imported are ~2 ms of every start.
_collecting = gc.isenabled()
gc.disable()
try:
    from ._dataclass import replace
    from .errors import CnnError, render
    from .infer import Model
    from .source import Source
finally:
    if _collecting:
        gc.enable()
    del _collecting

__version__ = "0.1.0"
__all__ = ["CnnError", "Model", "Source", "analyze", "analyze_file", "diagnose", "render"]


def analyze(text: str, filename: str = "<input>", name: str | None = None) -> Model:
    """Parse, expand and infer a .cnn text; raises CnnError on any mistake."""
    from .expand import expand
    from .infer import infer
    from .parse import parse

    source = Source.of(text, filename)
    # The syntax tree and the graph hold no reference cycles, but the cyclic
    # collector would walk all of them again and again as they grow: most of
    # the time of a long file, and superlinear. Pause it while they are built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        model = infer(expand(parse(source)), name or _model_name(filename))
        return replace(model, source=source)
    except CnnError as error:
        error.source = source
        raise
    except RecursionError:
        # limits.py keeps every file within Python's default recursion limit; a caller
        # already deep in its own stack may still run out, and gets a CnnError all the same.
        from .errors import LimitExceeded
        from .source import Span

        error = LimitExceeded(
            "the file nests too deeply for the stack left to cnndsl here",
            Span(1, 1, 1, 2),
            "call cnndsl from a shallower place, or nest fewer brackets and blocks inside each other",
        )
        error.source = source
        raise error from None
    finally:
        if collecting:
            gc.enable()


def diagnose(text: str, filename: str = "<input>", name: str | None = None, ignore=()):
    """Every independent error of a .cnn text (in file order), or its model and warnings: a
    `cnndsl.diagnosis.Diagnosis` with `.model`, `.errors`, `.warnings`. Nothing is raised."""
    from .diagnosis import diagnose as find

    return find(text, filename, name, ignore)


def analyze_file(path: str | os.PathLike[str]) -> Model:
    with open(path, encoding="utf-8") as file:
        return analyze(file.read(), os.fspath(path))


def _model_name(filename: str) -> str:
    stem = os.path.splitext(os.path.basename(filename))[0]
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in stem)
    if not cleaned or cleaned[0].isdigit() or filename.startswith("<"):
        return "model"
    return cleaned


def load_ipython_extension(ipython) -> None:
    """`%load_ext cnndsl` in IPython or Jupyter: registers the `%%cnn` cell magic."""
    from .notebook import load_ipython_extension as load

    load(ipython)
