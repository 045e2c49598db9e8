"""Source text and positions within it."""

from __future__ import annotations

from .records import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A region of source text; lines and columns are 1-based, end exclusive.

    `file` is the used file (`use "blocks.cnn"`) the region is in; None for the file being analysed.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    file: Source | None = None

    def to(self, other: Span) -> Span:
        """The span from the start of self to the end of other."""
        return Span(self.line, self.column, other.end_line, other.end_column, self.file)

    def at(self, line: int, column: int, end_line: int, end_column: int) -> Span:
        """Another region of the same file."""
        return Span(line, column, end_line, end_column, self.file)

    def source(self, main: Source) -> Source:
        """The text this span is in: its used file, or `main`, the file being analysed."""
        return self.file or main


@dataclass(frozen=True)
class Source:
    """A named .cnn text, with line endings normalised to \\n.

    A used file's source (`use "blocks.cnn"`) says where it was used: `used_at` is that `use`
    statement's span, in the file that uses it.
    """

    text: str
    filename: str = "<input>"
    used_at: Span | None = None

    @classmethod
    def of(cls, text: str, filename: str = "<input>", used_at: Span | None = None) -> Source:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text.startswith("\ufeff"):
            text = text[1:]
        return cls(text, filename, used_at)

    @classmethod
    def below(cls, text: str, blank: int, filename: str = "<input>") -> Source:
        """`text` (normalised) below `blank` empty lines: one statement where it sits in its file."""
        source = cls("\n" * blank + text, filename)
        object.__setattr__(source, "_lines", _LinesBelow(blank, text.split("\n")))
        return source

    def line(self, number: int) -> str:
        # split once: a text with thousands of errors asks for a line per error (quadratic otherwise)
        lines = self.__dict__.get("_lines")
        if lines is None:
            lines = self.text.split("\n")
            object.__setattr__(self, "_lines", lines)
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return ""


MAX_USE_NOTES = 32  # more than limits.MAX_USE_DEPTH: a chain of `use` is always told whole


def use_chain(span: Span | None) -> list[tuple[Source, Span]]:
    """How the file `span` is in was reached: each used file and the `use` that read it, the nearest
    first; empty for a span in the file analysed."""
    chain: list[tuple[Source, Span]] = []
    source = span.file if span is not None else None
    while source is not None and source.used_at is not None and len(chain) < MAX_USE_NOTES:
        chain.append((source, source.used_at))
        source = source.used_at.file
    return chain


class _LinesBelow:
    """The lines of `Source.below`, without a list entry for each blank line above (one statement of
    thousands, each with an error, would otherwise cost the lines above it)."""

    __slots__ = ("blank", "lines")

    def __init__(self, blank: int, lines: list[str]):
        self.blank, self.lines = blank, lines

    def __len__(self) -> int:
        return self.blank + len(self.lines)

    def __getitem__(self, index: int) -> str:
        return "" if index < self.blank else self.lines[index - self.blank]


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str, keep: str = "") -> str:
    """`text` safe to write to a terminal: every control, format (bidi override, zero-width) and
    separator character but a space is written as its escape, `\\x1b` or `\\u202e`, as rustc quotes source.

    `keep` lists characters left as they are (a report's own line breaks, "\\n").
    """
    if text.isprintable():  # the common case, at C speed
        return text
    lines = text.split("\n") if "\n" in keep else [text]
    # Only the lines with something to escape go through the character loop (a long report has none).
    return "\n".join(line if line.isprintable() else _escape_line(line, keep) for line in lines)


def _escape_line(line: str, keep: str) -> str:
    return "".join(c if c.isprintable() or c in keep else _escape_char(c) for c in line)
