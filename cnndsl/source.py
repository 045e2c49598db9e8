"""Source text and positions within it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A region of source text; lines and columns are 1-based, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        """The span from the start of self to the end of other."""
        return Span(self.line, self.column, other.end_line, other.end_column)


def _fill_span_slots():
    # The generated __init__ of a frozen dataclass looks each field up by name
    # through object.__setattr__; the slots' own setters take 40% less time,
    # and a long file's parse makes a Span for almost every token.
    set_line, set_column, set_end_line, set_end_column = (
        Span.__dict__[name].__set__ for name in ("line", "column", "end_line", "end_column")
    )

    def __init__(self, line: int, column: int, end_line: int, end_column: int) -> None:  # noqa: N807
        set_line(self, line)
        set_column(self, column)
        set_end_line(self, end_line)
        set_end_column(self, end_column)

    __init__.__qualname__ = "Span.__init__"
    return __init__


Span.__init__ = _fill_span_slots()


@dataclass(frozen=True)
class Source:
    """A named .cnn text, with line endings normalised to \\n."""

    text: str
    filename: str = "<input>"

    @classmethod
    def of(cls, text: str, filename: str = "<input>") -> Source:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text.startswith("\ufeff"):
            text = text[1:]
        return cls(text, filename)

    def line(self, number: int) -> str:
        lines = self.text.split("\n")
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return ""
