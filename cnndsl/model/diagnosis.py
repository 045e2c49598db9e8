"""Every independent error of a .cnn text, in file order, and its warnings.

`check`, `summary`, the language server and the notebook all report what
`diagnose` finds. A text without errors costs what `analyze` costs, plus the
warnings. A text with one is analysed again, going on after each mistake:

- a statement that does not parse is reported and left out; the names it
  gives (`x:`, `def f`) are then known to be broken, so `@x` and `f(8)` are
  not reported again. When the statements alone do not fail where the whole
  file does (a `def` body that lost its indentation), only that error is told;
- a layer with a misspelt word is read as its hint proposes (`maxpol 2` as
  `maxpool 2`), a wrong argument is left out, and the analysis goes on;
- a layer whose shape fails gives the shape it would give an input of unknown
  height and width (its channels known); nothing is reported that only an
  unknown size made wrong, and what reads an output that cannot be known at
  all is not checked.

The same error reached twice (a mistake inside a block called twice) is told once.
"""

from __future__ import annotations

import re

from ..core.errors import CnnError, CnnWarning, LimitExceeded, SyntaxProblem
from ..core.source import Source, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .infer import Model

MAX_ERRORS = 20  # errors shown per file unless --max-errors says otherwise


class Diagnosis:
    """What a text gives: its model (None with an error), its errors and its warnings, each in file order."""

    __slots__ = ("source", "model", "errors", "warnings")

    def __init__(self, source: Source, model: Model | None, errors: list[CnnError], warnings: list[CnnWarning]):
        self.source, self.model, self.errors, self.warnings = source, model, errors, warnings

    @property
    def all(self) -> list[CnnError]:
        """Errors and warnings together, in file order."""
        return sorted([*self.errors, *self.warnings], key=_place)


def diagnose(
    source: Source, name: str | None = None, ignore=(), parse=None, params: dict | None = None, files=None
) -> Diagnosis:
    """The model of `source`, or every independent error in it; and the warnings not ignored
    (codes in `ignore`, or on a line that says `# cnndsl: ignore[W101]`). `parse` and `files` as for `analyze`."""
    from .pipeline import analyze, collector_paused

    with collector_paused():  # the lint's readers and findings hold no cycles either: superlinear collections otherwise
        try:
            model = analyze(source, name, parse, params, files=files)
        except CnnError as first:
            return Diagnosis(source, None, every_error(source, first, name, params, files), [])
        from .lint import warnings

        return Diagnosis(source, model, [], suppressed(warnings(model), source, ignore))


def every_error(
    source: Source, first: CnnError, name: str | None = None, params: dict | None = None, files=None
) -> list[CnnError]:
    """Every independent error of a source whose first error (as `analyze` raises it) is `first`."""
    from ..language.expand import expand
    from ..language.modules import Files, Library
    from .infer import infer
    from .pipeline import collector_paused, model_name

    if getattr(first, "ends_expansion", False):
        # the whole file parsed (a syntax error would come first) and each statement before the bound
        # expanded without error (it would have been raised first): a second expansion finds only this
        return _once_in_order([], first, source)
    errors: list[CnnError] = []
    with collector_paused():  # as in analyze: the trees hold no cycles
        try:
            program, broken = _parse_each(source, first, errors)
            if program is not None:
                library = Library(files or Files.of(source))
                graph = expand(program, params, errors, broken, library=library)
                infer(graph, name or model_name(source.filename), errors)
        except CnnError as error:  # a bound crossed, or the file as a whole malformed: nothing after it is sure
            errors.append(error)
        except RecursionError:
            pass  # `first` says it
    return _once_in_order(errors, first, source)


def _once_in_order(errors: list[CnnError], first: CnnError, source: Source) -> list[CnnError]:
    """Each error once, in file order; `first` itself stands for the one found at its place."""
    key = _identity(first)
    errors = [first if _identity(error) == key else error for error in errors]
    if first not in errors:
        errors.append(first)
    seen, kept = set(), []
    for error in errors:
        identity = (*_identity(error), error.message, str(error.hint or ""))
        if identity not in seen:
            seen.add(identity)
            error.source = source
            kept.append(error)
    return sorted(kept, key=_place)


def _identity(error: CnnError) -> tuple:
    span = error.span
    return (error.code, None if span is None else (span.line, span.column, _file(span)))


def _place(error: CnnError) -> tuple:
    """File order: the errors of the file itself, then those in the files it uses, by name."""
    span = error.span
    return (0, "", 0, 0) if span is None else (1, _file(span), span.line, span.column)


def _file(span: Span) -> str:
    return "" if span.file is None else span.file.filename


# Patterns, not compiled ones: `re` compiles them when an error first needs them, not on every start.
_LABEL = r"(?m)(?:^|[|;(]|\s)([A-Za-z_][A-Za-z_0-9{}]*)[ \t]*:(?![ \t]*(?:#.*)?$)"
_DEF = r"[ \t]*def[ \t]+([A-Za-z_][A-Za-z_0-9]*)"
_INPUT = r"[ \t]*(?:[A-Za-z_][A-Za-z_0-9]*[ \t]*:[ \t]*)?input\b"


def _parse_each(source: Source, first: CnnError, errors: list[CnnError]):
    """The program with each statement that does not parse left out (an `Unparsed` in its place),
    and the names of the blocks whose `def` did not parse; (None, ()) when that is not safe."""
    from ..language import ast
    from ..language.parse import parse, statements

    if not isinstance(first, SyntaxProblem):
        return parse(source), ()
    definitions, pipelines, kept_statements, broken = [], [], [], set()
    met_first = False
    for start, text in statements(source.text):
        lines = text.count("\n")
        try:
            program = parse(Source.of(text, source.filename), start)
        except SyntaxProblem as error:
            inside = first.span is not None and start + 1 <= first.span.line <= start + lines
            if not met_first and not inside:
                return None, ()  # alone, an earlier statement fails: the split misreads this text
            errors.append(first if inside and not met_first else error)
            met_first = True
            code = text.split("\n", 1)[0]
            span = Span(start + 1, 1, start + 1, len(code) + 1)
            defined = re.match(_DEF, text)
            if defined:
                broken.add(defined[1])
                continue
            labels = tuple(label for label in re.findall(_LABEL, text) if "{" not in label)
            unparsed = ast.Pipeline((ast.Unparsed(span, labels, bool(re.match(_INPUT, text))),), span)
            pipelines.append(unparsed)
            kept_statements.append(unparsed)
            continue
        except LimitExceeded as error:
            errors.append(error)
            return None, ()
        definitions += program.definitions
        pipelines += program.pipelines
        kept_statements += program.statements or program.pipelines
    if not met_first:
        return None, ()  # every statement parses alone: the whole does not, for a reason the split hides
    return ast.Program(tuple(definitions), tuple(pipelines), tuple(kept_statements)), broken


_IGNORE = r"#\s*cnndsl:\s*ignore\[([^\]]*)\]"


def suppressed(found: list[CnnWarning], source: Source, ignore=()) -> list[CnnWarning]:
    """The warnings not ignored: by code (`ignore`), or by a `# cnndsl: ignore[W101]` comment on
    the warning's line or on the line of a block call that led to it."""
    ignored = set(ignore)
    by_line: dict[int, set[str]] | None = None
    commented = "cnndsl:" in source.text  # once, not once a warning
    kept = []
    for warning in found:
        if warning.code in ignored:
            continue
        if commented:
            if by_line is None:
                by_line = {}
                for number, line in enumerate(source.text.split("\n"), start=1):
                    for match in re.finditer(_IGNORE, line):
                        by_line.setdefault(number, set()).update(c.strip() for c in match[1].split(","))
            spans = (warning.span, *(call for _, call in warning.called_from))
            lines = [span.line for span in spans if span and span.file is None]
            if any(warning.code in by_line.get(line, ()) for line in lines):
                continue
        kept.append(warning)
    return sorted(kept, key=_place)
