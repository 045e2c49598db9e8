"""cnndsl: write a CNN once; get its shapes, parameters, Keras and PyTorch code.

The package is built in layers; a module imports only from its own layer and
the layers before it (tests/test_layout.py walks every import to hold this):

    core      source text and spans, errors, limits, records, the code-writing vocabulary
    layers    one class per layer kind: its syntax, shape, parameter and code rules
    language  the grammar's parser, the syntax tree, block and repeat expansion
    model     shape inference, memory, receptive fields; the one pipeline (model.pipeline)
    emit      Keras and PyTorch code
    views     summary tables, explain, diagrams, diff, FLOP counters, error formats
    tools     fmt, the editor and language server, the notebook, highlighting, budgets
    api       this module and port.py: the public API
    cli       the command line (and _plain_commands.py, its options' defaults, generated)
    build     `python -m cnndsl.build`: rewrites every generated file
"""

from __future__ import annotations

import gc
import os

# Importing the package makes only objects that live as long as the process
# (classes, functions, tables); the cyclic collector's passes over them while
# it is imported are ~2 ms of every start.
_collecting = gc.isenabled()
gc.disable()
try:
    from .core.errors import CnnError, render
    from .core.moved import install as _install_moved_modules
    from .core.records import same_fields
    from .core.source import Source
    from .core.version import __version__
    from .model import infer as _infer
    from .model.pipeline import model_name as _model_name  # noqa: F401 - kept for older callers
finally:
    if _collecting:
        gc.enable()
    del _collecting

_install_moved_modules()
__all__ = ["CnnError", "Model", "Source", "__version__", "analyze", "analyze_file", "diagnose", "render"]


@same_fields
class Model(_infer.Model):
    """An analysed network: its layers with their shapes and figures, and every view of them."""

    __slots__ = ()

    @classmethod
    def of(cls, model: _infer.Model) -> Model:
        """The API's Model of one the pipeline made."""
        return cls(
            nodes=model.nodes,
            outputs=model.outputs,
            name=model.name,
            source=model.source,
            inputs=model.inputs,
            training_outputs=model.training_outputs,
            conditions=model.conditions,
        )

    def summary(
        self,
        columns=None,
        depth: int | None = None,
        layout: str = "channels_last",
        batch: int | None = None,
        macs: bool = False,
        dtype: str = "float32",
        optimizer: str = "adam",
        format: str = "table",
        memory: bool = False,
    ) -> str:
        """The summary as `cnndsl summary` prints it: `format` is table, markdown, html or json.

        `columns` is a list from `cnndsl.views.columns.COLUMNS` (or "all"), `depth` groups rows by
        block call, `memory` adds the memory figures under the totals.
        """
        from .views import summary as views
        from .views.columns import COLUMNS, View

        if format == "json":
            import json

            return json.dumps(views.summary_dict(self, batch, dtype, optimizer, layout), indent=2)
        if columns == "all":
            columns, memory = COLUMNS, True
        view = View(tuple(columns) if columns else None, layout, depth, dtype, optimizer, memory)
        if format == "markdown":
            return views.format_markdown(self, batch, macs, view)
        if format == "html":
            return views.format_html(self, batch, macs, view)
        if format != "table":
            raise ValueError(f"unknown format {format!r}; one of table, markdown, html, json")
        return views.format_summary(self, batch, macs, view=view)

    def __repr__(self) -> str:
        """One line, as a terminal or a list shows a model: its name, input and output shapes and totals
        (the whole table is `print(model.summary())`)."""
        from .views.text import count_text, shape_text

        def shapes(ids) -> str:
            texts = [shape_text(self.nodes[i].shape) for i in ids]
            return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"

        return (
            f"<cnndsl.Model {self.name!r}: {shapes(self.inputs)} -> {shapes(self.outputs)}, "
            f"{len(self.layers):,} layers, {self.total:,} params ({self.trainable:,} trainable), "
            f"{count_text(self.macs)} MACs>"
        )

    def _repr_html_(self) -> str:
        """A notebook cell that ends with a model shows its summary table."""
        from .views.summary import format_html

        return format_html(self)

    def explain(self, layers=None, layout: str = "channels_last", dtype: str = "float32") -> str:
        """The arithmetic behind every figure, as `cnndsl explain` prints it."""
        from .views.explain import explain_text

        return explain_text(self, layers, layout=layout, dtype=dtype)


def analyze(text: str, filename: str = "<input>", name: str | None = None, params: dict | None = None) -> Model:
    """Parse, expand and infer a .cnn text; raises CnnError on any mistake.

    `params` replace the defaults of the file's `param` lines: `{"alpha": 0.5}`.
    """
    from .model.pipeline import analyze as run

    return Model.of(run(Source.of(text, filename), name, params=params))


def diagnose(text: str, filename: str = "<input>", name: str | None = None, ignore=(), params: dict | None = None):
    """Every independent error of a .cnn text (in file order), or its model and warnings: a
    `cnndsl.model.diagnosis.Diagnosis` with `.model`, `.errors`, `.warnings`. Nothing is raised."""
    from .model.diagnosis import diagnose as find

    diagnosis = find(Source.of(text, filename), name, ignore, params=params)
    if diagnosis.model is not None:
        diagnosis.model = Model.of(diagnosis.model)
    return diagnosis


def analyze_file(path: str | os.PathLike[str]) -> Model:
    with open(path, encoding="utf-8") as file:
        return analyze(file.read(), os.fspath(path))


def load_ipython_extension(ipython) -> None:
    """`%load_ext cnndsl` in IPython or Jupyter: registers the `%%cnn` cell magic."""
    from .tools.notebook import load_ipython_extension as load

    load(ipython, analyze)
