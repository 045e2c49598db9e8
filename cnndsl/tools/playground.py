"""What the browser playground asks of cnndsl, answered as JSON-ready dicts.

The page runs cnndsl under Pyodide in a Web Worker; the worker holds one
`Playground` and calls its methods with plain values. Every figure comes
from the same code the command line uses: the editor's Document (diagnostics,
hovers, completions; its parse cache makes a keystroke cheap), the summary's
HTML table, torchinfo's table, explain, the emitters and the diagram's DOT.
No method raises for anything a user can type: a model error is a diagnostic,
and a bug in cnndsl comes back as `{"bug": ...}` without a traceback.
"""

from __future__ import annotations

from ..core.choices import LAYOUTS
from ..core.choices import SUMMARY_STYLES as STYLES
from ..core.limits import MAX_FILE_BYTES, PLAYGROUND_DIAGNOSTICS, PLAYGROUND_ROWS
from ..language.modules import Files
from .editor import Document, ParseCache

NO_FILES = Files(
    None,
    why="the playground has no files",
    hint="paste the `def`, `param` and `let` lines of the used file into this text, or run cnndsl on your files",
)


class Playground:
    def __init__(self) -> None:
        self.cache = ParseCache()
        self.document: Document | None = None
        self.filename = "model.cnn"
        self.params: dict | None = None  # the page's values for the file's `param`s, as `--set` gives them

    def _document(self, text: str) -> Document:
        if _too_large(text) is not None:
            raise _Refused
        document = self.document
        if (
            document is None
            or document.source.text != text
            or document.source.filename != self.filename
            or document.params != self.params
        ):
            self.document = Document(text, self.filename, self.cache, self.params, files=NO_FILES)
        return self.document

    def analyse(self, text: str, options: dict | None = None) -> dict:
        """The summary, totals, figures and diagnostics for `text`; `options` as the summary's toggles."""
        from ..model.pipeline import collector_paused

        with collector_paused():  # the file's params are read (a parse), the table made: no cycles in either
            return _guarded(lambda: self._analyse(text, options or {}))

    def _analyse(self, text: str, options: dict) -> dict:
        refused = _too_large(text)
        if refused is not None:
            self.document = None  # nor is the last text's analysis kept for hovers
            return {"diagnostics": [refused], "model": None, "params": []}
        filename = options.get("filename")
        # the model's name comes from the file name, as on the command line
        self.filename = filename if isinstance(filename, str) and filename.endswith(".cnn") else "model.cnn"
        declared = _declared_params(self.cache, text)
        given, refused = _param_values(options.get("params"), declared)
        self.params = given or None
        document = self._document(text)
        found = document.diagnostics()
        result: dict = {
            "diagnostics": [_diagnostic(d) for d in found[:PLAYGROUND_DIAGNOSTICS]],
            "more_diagnostics": max(len(found) - PLAYGROUND_DIAGNOSTICS, 0),
            "model": None,
        }
        result["params"] = [
            {**entry, "value": given.get(entry["name"]), "problem": refused.get(entry["name"])} for entry in declared
        ]
        model = document.model
        if model is not None:
            result["model"] = _model_view(model, options)
        return result

    def hover(self, text: str, line: int, column: int) -> dict | None:
        """Markdown for what is under (line, column), both 1-based, columns in characters."""

        def answer():
            found = self._document(text).hover(line, column)
            if found is None:
                return None
            markdown, span = found
            return {"markdown": markdown, "span": _span(span)}

        return _guarded(answer)

    def explain(self, text: str, layer: str | None, layout: str = "channels_last") -> dict:
        """`cnndsl explain` (Model.explain) for one layer, or every layer when `layer` is None."""

        def answer():
            document = self._document(text)
            model = document.hover_model
            if model is None:
                return {"text": None}
            names = {node.name for node in model.nodes}
            if layer is not None and layer not in names:
                return {"text": None}
            from ..views.explain import explain_text

            return {"text": explain_text(model, [layer] if layer else None, layout=_choice(layout, LAYOUTS))}

        return _guarded(answer, {"text": None})

    def layer_at(self, text: str, line: int, column: int) -> dict:
        """The name of the layer written under (line, column), for the explain panel."""

        def answer():
            nodes = self._document(text).nodes_at(line, column)
            return {"layer": nodes[0].name if nodes else None}

        return _guarded(answer, {"layer": None})

    def emit(self, text: str, target: str) -> dict:
        """The Keras or PyTorch module for the model, as `cnndsl emit` writes it."""

        def answer():
            model = self._document(text).model
            if model is None:
                return {"code": None}
            from ..emit import generate

            return {"code": generate(model, "keras" if target == "keras" else "pytorch")}

        return _guarded(answer, {"code": None})

    def diagram(self, text: str, depth: int | None = None) -> dict:
        """The diagram as Graphviz DOT (the page lays it out), `--depth` levels of blocks open."""

        def answer():
            document = self._document(text)
            if document.model is None:
                return {"dot": None}
            from ..views.diagram import to_dot

            return {"dot": to_dot(document.model, _depth(depth), document.source)}

        return _guarded(answer, {"dot": None})

    def completions(self, text: str, line: int, column: int) -> dict:
        def answer():
            items = self._document(text).completions(line, column)
            return {"items": [{"label": label, "kind": kind, "detail": detail} for label, kind, detail in items]}

        return _guarded(answer, {"items": []})


def vocabulary() -> dict:
    """The words the page's highlighter colours: layer keywords, merges, and every layer's option words."""
    from ..language.syntax import EXPRESSION_WORDS, STATEMENT_WORDS, merge_words
    from ..layers import REGISTRY

    merges = sorted(merge_words())
    layers = sorted(word for word in REGISTRY if word not in merges)
    options = sorted({word for kind in REGISTRY.values() for word in kind.option_words()} - set(layers))
    return {
        "layers": layers + ["identity"],
        "merges": merges,
        "options": options,
        "statements": list(STATEMENT_WORDS),
        "expressions": list(EXPRESSION_WORDS),
    }


def _declared_params(cache: ParseCache, text: str) -> list[dict]:
    """The file's top-level `param` lines, in order: name, default as written, line; none if it does not parse."""
    from ..core.errors import CnnError
    from ..core.source import Source
    from ..language import ast

    source = Source.of(text, "model.cnn")
    try:
        program = cache.parse(source)
    except CnnError:
        return []
    declared = []
    for statement in program.statements:
        if isinstance(statement, ast.FileParam):
            written = source.line(statement.span.line)
            default = written.partition("=")[2].split("#")[0].strip()
            declared.append({"name": statement.name, "default": default, "line": statement.span.line})
    return declared


def _param_values(asked, declared: list[dict]) -> tuple[dict, dict]:
    """The page's values for declared params, as numbers ({name: value}), and {name: why} for the unreadable ones.
    An empty value means the file's default; a name the file does not declare (any more) is dropped."""
    from ..core.errors import ParameterProblem
    from ..language.expand import parse_value

    names = {entry["name"] for entry in declared}
    given: dict = {}
    refused: dict = {}
    if not isinstance(asked, dict):
        return given, refused
    for name, text in asked.items():
        if name not in names or not isinstance(text, str) or not text.strip():
            continue
        try:
            given[name] = parse_value(name, text)
        except ParameterProblem as problem:
            refused[name] = problem.message
    return given, refused


def _model_view(model, options: dict) -> dict:
    from ..views.explain import totals
    from ..views.summary import format_html

    batch = _batch(options.get("batch"))
    layout = _choice(options.get("layout"), LAYOUTS)
    view = _view(options, layout)
    view_model = {
        "name": model.name,
        "total_params": f"{model.total:,}",
        "trainable_params": f"{model.trainable:,}",
        "non_trainable_params": f"{model.non_trainable:,}",
        "layers": [node.name for node in model.nodes[:PLAYGROUND_ROWS]],
        "figures": totals(model)[1:] + _field(model),
    }
    if _choice(options.get("style"), STYLES) == "torchinfo":
        from ..views.torchinfo_style import format_torchinfo

        try:
            view_model["torchinfo"] = format_torchinfo(model, batch or 1)
        except ValueError as error:  # e.g. an input with unknown sizes: torchinfo needs them
            view_model["torchinfo"] = f"torchinfo's table needs every size: {error}"
    else:
        view_model["table"] = format_html(
            model, batch, macs=bool(options.get("macs")), view=view, most=PLAYGROUND_ROWS, more=_MORE_ROWS
        )
    return view_model


_MORE_ROWS = " (the command line's <code>cnndsl summary</code> prints every row; Depth 1 folds blocks)"


def _field(model) -> list[str]:
    """The receptive field of the last layer that still has spatial axes."""
    from ..views.explain import field_lines

    spatial = [node for node in model.keras_order if model.receptive_fields.get(node.id) is not None]
    if not spatial:
        return []
    last = spatial[-1]
    return [f"  receptive field of {last.name}: {field_lines(model, last)[0]}"]


def _view(options: dict, layout: str):
    from ..views.columns import COLUMNS, View

    asked = options.get("columns")
    columns = tuple(c for c in COLUMNS if c in asked) or None if isinstance(asked, list) else None
    depth = _depth(options.get("depth"))
    if columns is None and depth is None and layout == "channels_last":
        return None
    return View(columns, layout, depth)


def _choice(value, choices: tuple[str, ...]) -> str:
    return value if value in choices else choices[0]


def _depth(value) -> int | None:
    return value if isinstance(value, int) and 1 <= value <= 50 else None  # `--depth` takes 1 or more


def _batch(value) -> int | None:
    return value if isinstance(value, int) and 1 <= value <= 2**31 else None


def _span(span) -> dict:
    return {"line": span.line, "col": span.column, "end_line": span.end_line, "end_col": span.end_column}


def _diagnostic(diagnostic) -> dict:
    message, _, hint = diagnostic.message.partition("\nhint: ")
    return {
        **_span(diagnostic.span),
        "code": diagnostic.code,
        "message": message,
        "hint": hint or None,
        "related": [{**_span(span), "message": text} for span, text in diagnostic.related],
        "fixes": [{"title": fix.title, "text": fix.text, **_span(fix.span)} for fix in diagnostic.fixes],
    }


class _Refused(Exception):
    """The text is past MAX_FILE_BYTES: `analyse` says so; hovers, code and diagrams have nothing to show."""




def _too_large(text: str) -> dict | None:
    """The diagnostic for a text past MAX_FILE_BYTES, as the command line refuses such a file, at the
    character where the bound is crossed; None for a text within it."""
    if len(text) * 4 <= MAX_FILE_BYTES:  # no character takes more than 4 bytes in UTF-8: no need to encode
        return None
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_FILE_BYTES:
        return None
    before = data[:MAX_FILE_BYTES].decode("utf-8", "ignore")  # a character cut in two is left out
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    megabytes = MAX_FILE_BYTES // 2**20
    return {
        "line": line,
        "col": column,
        "end_line": line,
        "end_col": column + 1,
        "code": None,
        "message": f"the text is {len(data):,} bytes, larger than {megabytes} MB (more than any .cnn file needs),"
        " so cnndsl does not analyse it; it passes the bound here",
        "hint": f"`cnndsl check` refuses such a file too; keep a model under {megabytes} MB",
        "related": [],
        "fixes": [],
    }


def _guarded(answer, nothing=None):
    try:
        return answer()
    except _Refused:
        return nothing
    except Exception as error:  # a bug in cnndsl: the page says so, as the CLI's exit 3 does
        return {"bug": f"{type(error).__name__}: {error}"}
