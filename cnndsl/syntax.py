"""The words of the language, for highlighters: read from the layer registry.

The Pygments lexer and the TextMate grammar are both built from these
lists, so a new layer kind or option is highlighted without editing either.
"""

from __future__ import annotations

from functools import cache

from .layers import REGISTRY

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# The grammar's number terminals (grammar/cnndsl.lark), most specific first.
DIMS = r"-?\d+(?:x-?\d+)+(?![A-Za-z_0-9])"
FLOAT = r"(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)"
INT = r"\d+"


@cache
def merge_words() -> tuple[str, ...]:
    """Merge layers: written `add(branch; branch)`."""
    return tuple(sorted(word for word, kind in REGISTRY.items() if kind.MERGE))


@cache
def layer_words() -> tuple[str, ...]:
    """Every layer keyword that starts a layer (`conv`, `bn`, `identity`, ...)."""
    words = {word for word, kind in REGISTRY.items() if not kind.MERGE}
    return tuple(sorted(words | {"identity", "output", "reuse"}))  # the expander's own words


@cache
def option_words() -> tuple[str, ...]:
    """Every bare word a layer accepts after its keyword: options, flags, choices."""
    return tuple(sorted({word for kind in set(REGISTRY.values()) for word in kind.option_words()}))


def alternation(words) -> str:
    """A regex alternative of whole words, longest first so that `conv1d` wins over `conv`."""
    return "(?:" + "|".join(sorted(words, key=lambda w: (-len(w), w))) + r")(?![A-Za-z0-9_])"
