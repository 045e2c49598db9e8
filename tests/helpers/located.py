"""The error a text gives, and where: what the located-error tests across the suite ask."""

from __future__ import annotations

import pytest

import cnndsl
from cnndsl.core.errors import CnnError


def error_of(text: str, name: str = "net.cnn") -> CnnError:
    with pytest.raises(CnnError) as caught:
        cnndsl.analyze(text, name)
    return caught.value


def where(error: CnnError) -> tuple[int, int]:
    return error.span.line, error.span.column


def assert_located(text: str, line: int, column: int | None, words: str = "") -> CnnError:
    """The text fails with `words` in its message at line:column (any column when None)."""
    error = error_of(text)
    assert words in error.message, error.message
    assert error.span.line == line and column in (None, error.span.column), where(error)
    return error
