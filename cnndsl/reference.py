"""The layer reference, generated from the layer kinds themselves."""

from __future__ import annotations

from .layers import REGISTRY, LayerKind
from .layers.base import Choice, Flag


def kinds() -> list[type[LayerKind]]:
    """Each layer kind once, in registry order."""
    seen: dict[type[LayerKind], None] = {}
    for kind in REGISTRY.values():
        seen.setdefault(kind)
    return list(seen)


def options_of(kind: type[LayerKind]) -> list[str]:
    words = []
    for arg in kind.ARGS:
        if arg.positional:
            continue
        if isinstance(arg.type, Flag):
            words.append(arg.type.word or arg.name)
        elif isinstance(arg.type, Choice):
            if arg.name != "activation":
                words.append("|".join(arg.type.choices))
            else:
                words.append("ACTIVATION")
        else:
            words.append(f"{arg.name} N")
    return words


def layer_table() -> str:
    lines = []
    for kind in kinds():
        first, *aliases = kind.KEYWORDS
        also = f"  (also: {', '.join(aliases)})" if aliases else ""
        lines.append(f"{first}{also}")
        lines.append(f"    {kind.SUMMARY}")
        if kind.USAGE:
            lines.append(f"    usage: {kind.USAGE}")
    return "\n".join(lines)
