"""Lines written as PyTorch or Keras code (`nn.Conv2d(3, 64, 3, padding=1)`, `layers.Dense(10)`), and
the cnndsl line each one means, for the hints of the errors they cause.

Each layer kind declares the framework classes it stands for in `FOREIGN` (see `LayerKind`):
the framework, the class names, and the class's arguments in their positional order, each
`theirs=ours` (`ours` an argument of the layer kind; `-` for one cnndsl works out, such as
`in_channels`; `@` for the value that names the cnndsl keyword, as Keras's `Activation('relu')`).
The text is read with Python's own parser and `ast.literal_eval`, never run.
"""

from __future__ import annotations

from ..layers import REGISTRY
from ..layers.base import Flag

MAX_TEXT = 400  # longer lines are not read as a call
IGNORED = {"inplace", "dim", "name", "data_format", "axis"}  # arguments that change nothing cnndsl counts
_PREFIXES = {"nn": "PyTorch", "torch": "PyTorch", "layers": "Keras", "keras": "Keras", "tf": "Keras"}


class Foreign:
    """A framework call read from a line: who wrote it, and the cnndsl line (None when no exact one exists)."""

    __slots__ = ("framework", "written", "keyword", "line", "usage", "worked_out")

    def __init__(self, framework: str, written: str, keyword: str, line, usage: str):
        self.framework, self.written, self.keyword, self.usage = framework, written, keyword, usage
        self.line, self.worked_out = line if line is not None else (None, ())

    def hint(self) -> str:
        said = f"this is {self.framework}'s `{self.written}`"
        if self.line is not None:
            known = " and ".join(f"`{name}`" for name in self.worked_out)
            return f"{said}; cnndsl writes it `{self.line}`" + (f" ({known} comes from the input)" if known else "")
        return f"{said}; cnndsl writes it `{self.keyword}`, its arguments after it without parentheses or commas: `{self.usage}`"


def _table() -> dict[str, list[tuple[str, type, str | None, str]]]:
    """Class name -> [(framework, layer kind, its keyword or None for the kind's first, signature)]."""
    table: dict[str, list] = {}
    for kind in dict.fromkeys(REGISTRY.values()):
        for framework, names, signature in getattr(kind, "FOREIGN", ()):
            for name in names.split():
                written, _, keyword = name.partition(":")
                table.setdefault(written, []).append((framework, kind, keyword or None, signature))
    return table


_TABLE: dict | None = None


def read_call(text: str) -> Foreign | None:
    """The framework call that `text` (one statement's code) is, or None."""
    text = text.strip().rstrip(",").strip()
    if not text or len(text) > MAX_TEXT or "(" not in text:
        return None
    import ast

    try:
        tree = ast.parse(text, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(tree.body) != 1:
        return None
    node = tree.body[0]
    node = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Call):  # `layers.Dense(10)(x)`
        node = node.func
    if not isinstance(node, ast.Call):
        return None
    path = []
    func = node.func
    while isinstance(func, ast.Attribute):
        path.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    path.append(func.id)
    path.reverse()
    try:
        positional = [ast.literal_eval(arg) for arg in node.args]
        named = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        positional = named = None  # not literals: the layer is still named, with its usage
    return translate(path, positional, named)


def translate(path: list[str], positional: list | None, named: dict | None) -> Foreign | None:
    """The call of the framework class `path` (`["nn", "Conv2d"]`) with these Python values, or None
    when no layer kind stands for that class. Arguments of None: say the layer, give no line."""
    global _TABLE
    name, prefix = path[-1], path[0] if len(path) > 1 else None
    if _TABLE is None:
        _TABLE = _table()
    entries = _TABLE.get(name)
    if not entries:
        return None
    wanted = _PREFIXES.get(prefix) if prefix else None
    framework, kind, keyword, signature = next((e for e in entries if e[0] == wanted), entries[0])
    keyword = keyword or kind.KEYWORDS[0]
    written, usage = ".".join(path), kind.usage(keyword)
    if positional is None or named is None or None in named:  # `**options`
        return Foreign(framework, written, keyword, None, usage)
    return Foreign(framework, written, keyword, _line(kind, keyword, signature, positional, named), usage)


def _line(kind, keyword: str, signature: str, positional: list, named: dict) -> tuple[str, list[str]] | None:
    """The cnndsl line for the call's arguments and the arguments it leaves to the input, or None
    where no exact translation exists."""
    order = [word.partition("=") for word in signature.split()]
    mapping = {theirs: ours or theirs for theirs, _, ours in order}
    if len(positional) > len(order):
        return None
    given = dict(zip([theirs for theirs, _, _ in order], positional))
    for name, value in named.items():
        if name in given:
            return None
        given[name] = value
    label = given.pop("name", None) if "name" not in mapping else None
    args = {a.name: a for a in kind.ARGS}
    plain, options, worked_out = [], [], []
    for theirs, value in given.items():
        if theirs in IGNORED:
            continue
        ours = mapping.get(theirs)
        if ours is None:
            return None
        if ours == "-":
            worked_out.append(theirs)
            continue
        if value is None:
            continue
        if ours == "@":
            if not isinstance(value, str) or REGISTRY.get(value.lower()) is None:
                return None
            keyword = value.lower()
            continue
        arg = args.get(ours)
        if arg is None:
            return None
        if isinstance(arg.type, Flag):
            if not isinstance(value, bool) and value not in (0, 1):
                return None
            if bool(value) != bool(arg.default):
                options.append(arg.type.word or arg.name)
            continue
        if ours == "pad" and value == 0:
            continue
        if ours == "pad" and isinstance(value, str):  # PyTorch's padding='same' / 'valid'
            ours, arg = "padding", args.get("padding")
            if arg is None:
                return None
        word = _word(value)
        if word is None:
            return None
        if ours in ("padding", "activation", "interpolation"):
            if not isinstance(value, str):
                return None
            if value != arg.default:
                options.append(word)
        elif arg.positional:
            plain.append(word)
        else:
            options.append(f"{ours} {word}")
    text = " ".join([keyword, *plain, *options])
    if label is not None:
        if not isinstance(label, str) or not label.isidentifier():
            return None
        text = f"{label}: {text}"
    return text, worked_out


def _word(value) -> str | None:
    """A Python literal as a cnndsl word: 3, 0.5, (3, 3) -> 3x3, 'same' -> same."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value.lower() if value.replace("_", "").isalnum() else None
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return "x".join(map(str, value))
    return None
