"""Source text and positions within it."""

from __future__ import annotations

from .records import dataclass


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
