"""The layer reference, generated from the layer kinds themselves."""

from __future__ import annotations

from ..layers import REGISTRY, LayerKind
from ..layers.base import Choice, Flag


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


def layer_table(names: list[str] | None = None) -> str:
    """Every layer kind's entry, or only those of `names` (a keyword or an alias each), in that order;
    ValueError names one that is not a layer, with the nearest keyword."""
    chosen = kinds()
    if names:
        chosen = []
        for name in names:
            kind = REGISTRY.get(name.lower())
            if kind is None:
                from difflib import get_close_matches

                near = get_close_matches(name.lower(), list(REGISTRY), n=1)
                raise ValueError(f"no layer {name!r}" + (f"; did you mean {near[0]!r}?" if near else ""))
            if kind not in chosen:
                chosen.append(kind)
    lines = []
    for kind in chosen:
        first, *aliases = kind.KEYWORDS
        also = f"  (also: {', '.join(aliases)})" if aliases else ""
        lines.append(f"{first}{also}")
        lines.append(f"    {kind.SUMMARY}")
        if kind.USAGE:
            lines.append(f"    usage: {kind.USAGE}")
    return "\n".join(lines)


def _arg_words(kind: type[LayerKind]) -> tuple[str, str]:
    """The positional part and the options part of a layer's syntax."""
    positional = " ".join(
        (arg.name.upper() + ("..." if arg.variadic else "")) if arg.required else f"[{arg.name.upper()}]"
        for arg in kind.ARGS
        if arg.positional
    )
    options = []
    for arg in kind.ARGS:
        if arg.positional:
            continue
        if isinstance(arg.type, Flag):
            options.append(f"`{arg.type.word or arg.name}`")
        elif isinstance(arg.type, Choice):
            options.append("ACTIVATION" if arg.name == "activation" else "`" + "`/`".join(arg.type.choices) + "`")
        else:
            options.append(f"`{arg.name} N`")
    return positional, ", ".join(options)


def markdown() -> str:
    """The layer table of the manual's language reference (docs/manual/language.md)."""
    lines = ["| layer | arguments | options | what it is |", "|---|---|---|---|"]
    for kind in kinds():
        first, *aliases = kind.KEYWORDS
        name = f"`{first}`" + (" (" + ", ".join(f"`{a}`" for a in aliases) + ")" if aliases else "")
        positional, options = _arg_words(kind)
        if kind.MERGE:
            positional = f"`{first}(BRANCH; BRANCH …)`"
        lines.append(f"| {name} | {positional} | {options} | {kind.SUMMARY} |")
    return "\n".join(lines)


BEGIN, END = "<!-- layers:begin -->", "<!-- layers:end -->"


def update_readme(path) -> bool:
    """Rewrite the table between the markers; True when the file changed."""
    from pathlib import Path

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{markdown()}\n{END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--update-readme"]:
        print(
            "docs/manual/language.md updated"
            if update_readme(sys.argv[2] if len(sys.argv) > 2 else "docs/manual/language.md")
            else "docs/manual/language.md is current"
        )
    else:
        print(markdown())
