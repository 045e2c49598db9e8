"""cnndsl fmt: one canonical layout for a .cnn file, comments kept, the model unchanged.

The formatter works on the tokens the parser reads (so it follows the
grammar's contextual lexing, e.g. `n -1` against `n - 1`) and on the text
between them (spaces, comments, line breaks). It only changes whitespace:

- each line is indented 4 spaces per block level, and a line continued
  inside brackets (or after a `\\`) 4 more per open bracket; a line of `\\`
  alone starts a logical line, so it keeps the indenter's level (which may
  open or close a block), and the lines it continues sit with it;
- one space between words and around `|`; none before `,` `;` `:` `)`,
  after `(`, around `=`, or between a block or merge name and its `(`;
  around arithmetic operators, one space where the file had any, none
  where it had none (`n -1` is two arguments, `n - 1` one);
- a trailing comment gets two spaces before its `#`; comment lines take
  the indentation of the code that follows them;
- no trailing spaces, `\\n` line endings, one final newline (a blank line
  after a final `\\` stays: it ends the statement); a form feed that ends
  a line break is kept.

No line is added or removed (blank lines are kept, trailing ones dropped),
so every layer keeps its line number. Each result is checked before it is
returned: the same tokens, the same comments, and for a valid model the
same syntax tree (each node on the same line: so the same model, without
analysing it twice) or else the same summary; a mismatch is a bug
(`FormatChangedMeaning`), never a changed file.
"""

from __future__ import annotations

import bisect
import re

from ..core.source import Source

INDENT = "    "
LINE_TOKENS = ("_NL", "_INDENT", "_DEDENT")  # the indenter's: not text on a line


class FormatChangedMeaning(Exception):
    """The formatted text would read differently from the original (a bug in fmt)."""


def _wordy(char: str) -> bool:
    return char.isalnum() or char in "_."


def _space(prev, token, had_space: bool, statement: str | None = None) -> str:
    """The whitespace between two tokens on one line; `statement` is the line's first word."""
    p, t = str(prev), str(token)
    if statement in ("let", "param") and "=" in (p, t) and str(token) != "-":
        return " "  # `let c = 8`, as Python writes an assignment
    if t in (",", ";", ")", ":"):
        return ""
    if p == "(":
        return ""
    if p in (",", ";", ":", "|") or t == "|":
        return " "
    if t == "=" or p == "=":  # keyword arguments; `x=-1` stays a negative literal
        return ""
    if getattr(token, "type", None) == "ARG_LPAR" and (_wordy(p[-1]) or p == ")"):
        return " "  # `conv (c + 8)/2 1`: the space is what makes the `(` group an argument
    if t == "(" and _wordy(p[-1]):  # a block call or a merge: `stack(64, 3)`, `add(`
        return ""
    if _wordy(p[-1]) and _wordy(t[0]):
        # one space between words, but none where the file had none: `-1_x` is `-`, `1`, `_x`, and `-1 _x` would be `-1`, `_x`
        return " " if had_space else ""
    return " " if had_space else ""


def _comment(piece: str) -> str | None:
    at = piece.find("#")
    return piece[at:].rstrip() if at >= 0 else None


def parsed_tokens(text: str) -> list:
    """The tokens the parser reads from `text` (a Source's normalised text ending in a newline)."""
    from ..language.parse import tokens

    return tokens(text)


def comments(text: str, tokens: list) -> list[str]:
    """Every comment in the file, in order, without trailing spaces."""
    found, pos = [], 0
    for token in tokens:
        if token.type in ("_INDENT", "_DEDENT"):
            continue
        found += [c for piece in text[pos : token.start_pos].split("\n") if (c := _comment(piece))]
        if token.type == "_NL":
            found += [c for piece in str(token).split("\n") if (c := _comment(piece))]
        pos = token.end_pos
    found += [c for piece in text[pos:].split("\n") if (c := _comment(piece))]
    return found


_GAP = re.compile(r"#[^\n]*|\\[\t \f]*\n|\n")  # what a gap between tokens holds besides spaces


class _Line:
    """One physical line of the file as fmt sees it."""

    __slots__ = ("tokens", "spaced", "comment", "backslash", "kind", "depth")

    def __init__(self) -> None:
        self.tokens: list = []  # the parser's tokens on the line, in order
        self.spaced: list[bool] = []  # whether the file had a space before each of them
        self.comment: str | None = None
        self.backslash = False  # the line ends with a `\` continuation
        self.kind = "continued"  # "start" of a logical line, "free" (inside a line break), or "continued"
        self.depth = 0  # the indenter's depth, for a "start" line


def _lines(text: str, tokens: list) -> list[_Line]:
    """Each physical line's tokens, comment and `\\`, and where the indenter's logical lines start.

    A logical line starts where a `_NL` token ends (its indentation is that token's tail): on a
    line of tokens, or on a line of `\\` alone, which so carries an indentation of its own."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    lines = [_Line() for _ in starts]
    lines[0].kind = "start"

    def line_of(pos: int) -> int:
        return bisect.bisect_right(starts, pos) - 1

    def read_gap(begin: int, end: int) -> None:
        for match in _GAP.finditer(text, begin, end):
            piece = match.group()
            if piece.startswith("#"):
                lines[line_of(match.start())].comment = piece.rstrip()
            elif piece.startswith("\\"):
                lines[line_of(match.start())].backslash = True

    depth, pending, pos = 0, None, 0
    rising = False  # the line break before was an _INDENT: a _DEDENT now is the end of the file's
    for token in tokens:
        if token.type == "_INDENT":
            depth, rising = depth + 1, True
            continue
        if token.type == "_DEDENT":
            if rising and pending is not None:
                lines[pending].depth, pending = depth, None
            depth -= 1
            continue
        rising = False
        if pending is not None:
            lines[pending].depth = depth
            pending = None
        read_gap(pos, token.start_pos)
        if token.type == "_NL":
            first, last = line_of(token.start_pos) + 1, line_of(token.end_pos)
            for number in range(first, min(last, len(lines) - 1) + 1):
                lines[number].kind = "free"
            for match in re.finditer(r"#[^\n]*", str(token)):
                lines[line_of(token.start_pos + match.start())].comment = match.group().rstrip()
            if token.end_pos < len(text):
                lines[last].kind, pending = "start", last
        else:
            line = lines[line_of(token.start_pos)]
            line.spaced.append(token.start_pos > pos)
            line.tokens.append(token)
        pos = token.end_pos
    if pending is not None:
        lines[pending].depth = depth
    read_gap(pos, len(text))
    if not (lines[0].tokens or lines[0].backslash):
        lines[0].kind = "free"  # no line break before it: its spaces and form feeds mean nothing
    return lines[:-1]  # the text ends with a newline: nothing after it


def _layout(text: str, tokens: list) -> str:
    lines = _lines(text, tokens)
    indents: list[int | None] = []  # each line's depth; None: that of the next line with code on it
    base = parens = 0
    written = False  # whether the logical line has tokens before this physical line
    for line in lines:
        if line.kind == "start":
            base, written = line.depth, False
            indents.append(base)
        elif not line.tokens:
            indents.append(None)
        elif parens:  # inside brackets, one level per bracket still open (a closing one sits with its line)
            indents.append(base + parens - (str(line.tokens[0]) in (")", "]")))
        else:  # after `\`, one level, unless the logical line so far is only `\`
            indents.append(base + written)
        for token in line.tokens:
            parens += {"(": 1, ")": -1, "[": 1, "]": -1}.get(str(token), 0)
        written = written or bool(line.tokens)
    out: list[int] = []
    following = 0  # the depth of the next line with code on it, for comment and blank lines
    for depth in reversed(indents):
        if depth is None:
            depth = following
        following = depth
        out.append(depth)
    out.reverse()
    result: list[str] = []
    parens, statement, prev = 0, None, None
    for line, depth in zip(lines, out):
        if line.kind == "start":
            statement = None
        body = ""
        for number, token in enumerate(line.tokens):
            if number == 0:
                body = str(token)
                if statement is None:
                    statement = str(token)
            else:
                body += _space(prev, token, line.spaced[number], statement if parens == 0 else None) + str(token)
            parens += {"(": 1, ")": -1, "[": 1, "]": -1}.get(str(token), 0)
            prev = token
        if line.backslash:
            body += " \\" if body else "\\"
        elif line.kind == "start" and not body:
            body = "\f"  # a form feed, which ends a line break as code would (lines of \f alone)
        if line.comment:
            body += "  " + line.comment if body else line.comment
        result.append(INDENT * depth + body if body else "")
    while result and not result[-1] and not (len(result) > 1 and result[-2].endswith("\\")):
        result.pop()  # trailing blank lines, but the one a final `\` joins (it ends the statement)
    return "\n".join(result) + "\n" if result else ""


def format_source(text: str, filename: str = "<input>") -> str:
    """The canonical layout of a .cnn text; raises CnnError when it does not parse."""
    from ..language.parse import parse

    source = Source.of(text, filename)
    program = parse(source)  # a file that does not parse gets the same error as from `check`
    original = source.text if source.text.endswith("\n") else source.text + "\n"
    tokens = parsed_tokens(original)
    formatted = _layout(original, tokens)
    _check_same(original, tokens, formatted, filename, program)
    return formatted


def _tree(node, lines: bool) -> list:
    """The syntax tree in pre-order, each node's class and its fields, spans as their lines (with
    `lines`) or left out; a float by its repr (NaN equals itself). Iterative: a tree is as deep as
    the bounds on nesting let it be."""
    from dataclasses import fields, is_dataclass

    from ..core.source import Span

    out, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Span):
            out.append((item.line, item.end_line) if lines else "span")
        elif isinstance(item, (tuple, list)):
            out.append(("seq", len(item)))
            stack.extend(reversed(item))
        elif is_dataclass(item) and not isinstance(item, type):
            names = [f.name for f in fields(item)]
            out.append(type(item).__name__)
            stack.extend(getattr(item, name) for name in reversed(names))
        elif isinstance(item, float):
            out.append(("float", repr(item)))
        else:
            out.append((type(item).__name__, item))
    return out


def _check_same(original: str, tokens: list, formatted: str, filename: str, program) -> None:
    from ..core.errors import CnnError

    def words(tokens):
        return [(t.type, "" if t.type in LINE_TOKENS else str(t)) for t in tokens]

    from ..language._generated_parser import UnexpectedInput

    try:
        again = parsed_tokens(formatted)
    except (CnnError, UnexpectedInput) as error:
        raise FormatChangedMeaning(f"the formatted text does not parse: {error}") from None
    if words(again) != words(tokens):
        raise FormatChangedMeaning("the formatted text reads as different tokens")
    if comments(formatted, again) != comments(original, tokens):
        raise FormatChangedMeaning("the formatted text lost or changed a comment")
    if len(formatted.rstrip("\n").split("\n")) > len(original.rstrip("\n").split("\n")):
        raise FormatChangedMeaning("the formatted text has more lines")
    from ..language.parse import parse

    try:
        again_program = parse(Source.of(formatted, filename))
    except CnnError as error:
        raise FormatChangedMeaning(f"the formatted text does not parse: {error}") from None
    if _tree(again_program, lines=True) == _tree(program, lines=True):
        # The model is a function of the syntax tree, the file name and the files it uses: the same
        # tree, every node on its line, is the same model (and its warnings on the same lines), without
        # analysing the file twice (a 35-byte file of 10,000 layers took 2.6 s so).
        return
    if _tree(again_program, lines=False) != _tree(program, lines=False):
        raise FormatChangedMeaning("the formatted text is a different program")
    from ..model.pipeline import analyze
    from ..views.summary import summary_dict

    try:
        before = summary_dict(analyze(Source.of(original, filename)))
    except CnnError:
        return  # not a model yet (a shape error, say): the same tokens are the same program
    if summary_dict(analyze(Source.of(formatted, filename))) != before:
        raise FormatChangedMeaning("the formatted text gives a different summary")
