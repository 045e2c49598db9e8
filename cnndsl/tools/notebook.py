"""`%load_ext cnndsl`: the `%%cnn` cell magic for IPython and Jupyter.

    %%cnn lenet
    input 32x32x3 | conv 8 5x5 relu | pool 2 | flatten | dense 10 softmax

The cell is analysed and shown as the summary table (HTML in a notebook, text
in a terminal); its model is stored under the given name (default `model`).
A mistake shows as the command line shows it, caret and hint, without a traceback;
the cell then counts as failed and the name holds no model.
"""

from __future__ import annotations

from html import escape

from ..core.errors import CnnError, render
from ..core.source import Source
from ..model.infer import Model
from ..model.pipeline import analyze as _pipeline


class Summary:
    """What a `%%cnn` cell shows: the model's summary, as HTML or text, after its warnings (if any)."""

    def __init__(self, model: Model, warnings: str = ""):
        self.model = model
        self.warnings = warnings  # rendered as the command line renders them

    def _repr_html_(self) -> str:
        from ..views.summary import format_html

        shown = f'<pre style="color:#8a5a00">{escape(self.warnings)}</pre>' if self.warnings else ""
        return shown + format_html(self.model)

    def __repr__(self) -> str:
        from ..views.summary import format_summary

        return (self.warnings + "\n" if self.warnings else "") + format_summary(self.model)


class ErrorReport:
    """A mistake in a cell: the rendered error, in a <pre> for notebooks."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return f'<pre style="color:#b00020">{escape(self.text)}</pre>'

    def __repr__(self) -> str:
        return self.text


def _analyze(text: str, filename: str, name: str) -> Model:
    return _pipeline(Source.of(text, filename), name)


def cnn(line: str, cell: str, namespace: dict, analyze=_analyze) -> Summary | ErrorReport:
    """Analyse a cell; store its model in `namespace` under the name on the magic's line.

    `analyze` is the API's (`cnndsl.analyze`, whose models have `summary()`) when the
    extension is loaded through the package.
    """
    words = line.split()
    name = words[0] if words else "model"
    if len(words) > 1 or not name.isidentifier():
        return ErrorReport(
            f"usage: %%cnn [NAME]  (NAME is the variable for the model, `model` by default; got {line!r})"
        )
    from ..model.diagnosis import every_error, suppressed
    from ..model.lint import warnings

    source = Source.of(cell, "<cell>")
    try:
        model = analyze(cell, "<cell>", name=name)
    except CnnError as error:
        # every independent mistake of the cell, as `cnndsl check` reports them
        report = ErrorReport("\n".join(render(found, source) for found in every_error(source, error, name)))
    except RecursionError:
        report = ErrorReport("<cell>: the cell nests too deeply to read")
    else:
        namespace[name] = model
        return Summary(model, "\n".join(render(warning, source) for warning in suppressed(warnings(model), source)))
    # the name must not keep an earlier run's model: later cells would go on with a model that is not this cell's
    namespace.pop(name, None)
    return report


class CellFailed(Exception):
    """Raised by the magic so the cell counts as failed ("Run all" stops); IPython shows only the report."""

    def __init__(self, report: ErrorReport):
        super().__init__(report.text)
        self.report = report

    def _render_traceback_(self) -> list[str]:  # IPython's hook: these lines instead of a traceback
        return self.report.text.splitlines()


def load_ipython_extension(ipython, analyze=_analyze) -> None:
    def cnn_magic(line: str, cell: str):
        result = cnn(line, cell, ipython.user_ns, analyze)
        if isinstance(result, ErrorReport):
            raise CellFailed(result)
        return result

    ipython.register_magic_function(cnn_magic, magic_kind="cell", magic_name="cnn")
