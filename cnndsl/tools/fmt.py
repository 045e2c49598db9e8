"""cnndsl fmt: one canonical layout for a .cnn file, comments kept, the model unchanged.

The formatter works on the tokens the parser reads (so it follows the
grammar's contextual lexing, e.g. `n -1` against `n - 1`) and on the text
between them (spaces, comments, line breaks). It only changes whitespace:

- each line is indented 4 spaces per block level, and a line continued
  inside brackets (or after a `\\`) 4 more per open bracket;
- one space between words and around `|`; none before `,` `;` `:` `)`,
  after `(`, around `=`, or between a block or merge name and its `(`;
  around arithmetic operators, one space where the file had any, none
  where it had none (`n -1` is two arguments, `n - 1` one);
- a trailing comment gets two spaces before its `#`; comment lines take
  the indentation of the code that follows them;
- no trailing spaces, `\\n` line endings, one final newline.

No line is added or removed (blank lines are kept, trailing ones dropped),
so every layer keeps its line number. Each result is checked before it is
returned: the same tokens, the same comments, and for a valid model the
same summary; a mismatch is a bug (`FormatChangedMeaning`), never a
changed file.
"""

from __future__ import annotations

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


def _between(piece: str) -> str:
    """A line with no token on it, as written out: its comment, `\\` for a line that only
    continues (`\\` alone on a line joins the lines around it), or blank."""
    comment = _comment(piece)
    if comment:
        return comment
    return "\\" if piece.strip() == "\\" else ""


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


def _layout(text: str, tokens: list) -> str:
    lines: list[str] = []
    queue: list[str] = []  # comment and blank lines waiting for the indentation of the code after them
    current: str | None = None  # the code line being built
    line_open = False  # whether the physical line has produced anything yet
    depth = parens = 0
    prev = statement = None
    pos = 0

    def flush(indent: str) -> None:
        lines.extend(indent + item if item else "" for item in queue)
        queue.clear()

    for token in tokens:
        if token.type == "_INDENT":
            depth += 1
            continue
        if token.type == "_DEDENT":
            depth -= 1
            continue
        pieces = text[pos : token.start_pos].split("\n")
        pos = token.end_pos
        trailing = _comment(pieces[0])
        if token.type == "_NL":
            if len(pieces) > 1:  # `\` continued the line (or a line of `\` alone) into the one this ends
                if current is not None:
                    lines.append(current + " \\")
                    current = None
                elif not line_open:
                    queue.append(_between(pieces[0]))
                queue.extend(_between(piece) for piece in pieces[1:-1])
                trailing, line_open = _comment(pieces[-1]), False
            if trailing:
                if current is not None:
                    current += "  " + trailing
                else:
                    queue.append(trailing)
                    line_open = True
            if current is not None:
                lines.append(current)
                current = None
            elif not line_open:
                queue.append("")
            line_open = False
            queue.extend(_comment(piece) or "" for piece in str(token).split("\n")[1:-1])
            continue
        if len(pieces) > 1:  # a line break inside brackets, or after a backslash
            current_before = current is not None
            if current is not None:
                if trailing:
                    current += "  " + trailing
                if parens == 0:
                    current += " \\"
                lines.append(current)
                current = None
            else:  # a statement after lines of `\` alone: they join nothing but the blank lines between
                queue.append(_between(pieces[0]))
            queue.extend(_between(piece) for piece in pieces[1:-1])
            # inside brackets, one level per bracket still open (a closing one sits with its line); after `\`, one
            opened = (parens - (str(token) in (")", "]")) if parens else 1) if current_before else 0
            indent = INDENT * (depth + opened)
            flush(indent)
            current = indent + str(token)
            if not current_before:
                statement = str(token)
        elif current is None:
            flush(INDENT * depth)
            current = INDENT * depth + str(token)
            statement = str(token)
        else:
            current += _space(prev, token, pieces[0] != "", statement if parens == 0 else None) + str(token)
        line_open = True
        parens += {"(": 1, ")": -1, "[": 1, "]": -1}.get(str(token), 0)
        prev = token
    tail = text[pos:].split("\n")
    if current is not None:
        if _comment(tail[0]):
            current += "  " + _comment(tail[0])
        lines.append(current)
    queue.extend(c for piece in tail[1:] if (c := _comment(piece)))
    flush("")
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def format_source(text: str, filename: str = "<input>") -> str:
    """The canonical layout of a .cnn text; raises CnnError when it does not parse."""
    from ..language.parse import parse

    source = Source.of(text, filename)
    parse(source)  # a file that does not parse gets the same error as from `check`
    original = source.text if source.text.endswith("\n") else source.text + "\n"
    tokens = parsed_tokens(original)
    formatted = _layout(original, tokens)
    _check_same(original, tokens, formatted, filename)
    return formatted


def _check_same(original: str, tokens: list, formatted: str, filename: str) -> None:
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
    from ..model.pipeline import analyze
    from ..views.summary import summary_dict

    try:
        before = summary_dict(analyze(Source.of(original, filename)))
    except CnnError:
        return  # not a model yet (a shape error, say): the same tokens are the same program
    if summary_dict(analyze(Source.of(formatted, filename))) != before:
        raise FormatChangedMeaning("the formatted text gives a different summary")
