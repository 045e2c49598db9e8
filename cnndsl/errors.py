"""Every mistake a user can make in a .cnn file, one class per diagnostic.

Detection raises these; `render` (the reporter) formats them. Nothing here
knows about the command line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .source import Source, Span


class CnnError(Exception):
    """A mistake in a .cnn file, with where it is and, if we can, a fix."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        # (block name, call span), innermost first: how the text at `span` was reached
        self.called_from: tuple[tuple[str, Span], ...] = ()

    def __str__(self) -> str:
        where = f"{self.span.line}:{self.span.column}: " if self.span else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class SyntaxProblem(CnnError):
    """The text does not follow the grammar."""


class UnknownLayer(CnnError):
    """A layer keyword that no layer kind or block defines."""


class BadArgument(CnnError):
    """A layer or block got an argument it cannot take."""


class ShapeProblem(CnnError):
    """A layer cannot accept the shape that reaches it."""


class BranchMismatch(ShapeProblem):
    """The branches of a merge have shapes it cannot combine."""


class StructureProblem(CnnError):
    """The network as a whole is malformed (no input, two inputs, ...)."""


class MissingInput(StructureProblem):
    """A layer comes before any `input`."""

    def __init__(self, span: Span):
        super().__init__("the network must start with `input`", span, "add a first line such as `input 28x28x1`")


class UnknownReference(CnnError):
    """`@name` or `reuse name` names no earlier layer or block call."""


class BlockProblem(CnnError):
    """A `def` block is undefined, recursive, or called wrongly."""


class DuplicateName(CnnError):
    """Two layers would get the same name."""


class UnsupportedByTarget(CnnError):
    """A code generator cannot express a layer."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest other choice, if one is close enough."""
    others = sorted(set(choices) - {word})
    by_case = [choice for choice in others if choice.lower() == word.lower()]
    if by_case:
        return f"did you mean `{by_case[0]}`? names are case-sensitive"
    close = difflib.get_close_matches(word.lower(), others, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


MAX_NOTES = 6


def render(error: CnnError, source: Source) -> str:
    """`file:line:col: message`, the source line, a caret, and a hint.

    An error inside a block is followed by the calls that reached it, each
    with its own line and caret, innermost first.
    """
    lines = _located(source, error.span, error.message)
    if error.hint:
        lines.append(f"hint: {error.hint}")
    calls = error.called_from
    # A long chain shows its innermost calls and the outermost one.
    shown = calls if len(calls) <= MAX_NOTES else calls[: MAX_NOTES - 2]
    for block, span in shown:
        lines += _located(source, span, f"note: in block `{block}`, called here")
    if len(shown) < len(calls):
        lines.append(f"{source.filename}: note: ... {len(calls) - len(shown) - 1} more calls ...")
        block, span = calls[-1]
        lines += _located(source, span, f"note: in block `{block}`, called here")
    return "\n".join(lines)


def _located(source: Source, span: Span | None, message: str) -> list[str]:
    if span is None:
        return [f"{source.filename}: {message}"]
    text = source.line(span.line).expandtabs(1)
    gutter = " " * len(str(span.line))
    width = (span.end_column - span.column) if span.end_line == span.line else len(text) - span.column + 1
    return [
        f"{source.filename}:{span.line}:{span.column}: {message}",
        f"{gutter} |",
        f"{span.line} | {text}",
        f"{gutter} | {' ' * (span.column - 1)}{'^' * max(1, width)}",
    ]
