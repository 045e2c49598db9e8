"""Writing Python source that reads as if by hand, and that ruff leaves alone.

`CodeWriter` keeps lines and an indentation level (`writeline`, `indent`,
`outdent`, as in jinja's compiler). Expressions are small trees (`Call`,
`List`, `BinOp`, or plain strings) so that a statement too long for one
line can be split the way ruff and black split it: every bracket that is
broken open gets one item per line and a trailing ("magic") comma, which
keeps `ruff format` from joining it again. Trailing comments that would
push a line over the limit go on a line of their own above the statement.

Nothing here knows about layers, Keras or PyTorch.
"""

from __future__ import annotations

import builtins
import keyword
import math
from collections.abc import Iterable, Sequence

from .records import dataclass, field

LINE_LENGTH = 88
INDENT = "    "

# A variable named `float` or `print` would break the code that uses the builtin after it;
# one named `nan` or `inf` would be read where repr() of a non-finite float was meant.
BUILTINS = frozenset(dir(builtins)) | {"nan", "inf"}


def literal(value) -> str:
    """A Python literal for a number, string, bool, None, tuple or list."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):  # cnndsl refuses non-finite arguments; a NaN here is a bug of ours
            raise ValueError("no literal for NaN")
        if math.isinf(value):
            return 'float("-inf")' if value < 0 else 'float("inf")'
        if value.is_integer() and abs(value) < 1e16:
            return f"{value:.1f}"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({literal(value[0])},)"
        return "(" + ", ".join(literal(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"no literal for {value!r}")


def _string(text: str) -> str:
    """A double-quoted string literal, every special character escaped."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable() and ch.isascii():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1] if ch != "'" else ch)
    out.append('"')
    return "".join(out)


def axes(values: Sequence[int]) -> str:
    """`3` when every axis is 3, else the tuple `(3, 5)`: how Keras users write sizes."""
    values = tuple(values)
    if values and all(v == values[0] for v in values):
        return str(values[0])
    return literal(values)


def is_identifier(name: str) -> bool:
    """A name Python lets code bind: `__debug__` is an identifier no assignment may target."""
    return name.isidentifier() and not keyword.iskeyword(name) and not keyword.issoftkeyword(name) and name != "__debug__"


def is_free(name: str, reserved: Iterable[str] = ()) -> bool:
    """A name generated code can bind without breaking anything: no keyword, builtin or `reserved` name."""
    return is_identifier(name) and name not in BUILTINS and name not in reserved


AMBIGUOUS = frozenset({"l", "O", "I"})  # pycodestyle's E741: they read as 1 and 0


class Names:
    """Unique, valid Python names for user-chosen layer names."""

    def __init__(self, reserved: Iterable[str] = ()):
        # a frozenset of reserved names is shared, not copied: the PyTorch emitter keeps one Names per
        # block call, and 16,000 calls each holding a copy of the builtins took 131 MB
        self.reserved = reserved if isinstance(reserved, frozenset) else frozenset(reserved)
        self.taken: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self.taken or name in self.reserved

    def add(self, name: str) -> None:
        self.taken.add(name)

    def claim(self, wanted: str, unsafe: Iterable[str] = ()) -> str:
        unsafe = unsafe if isinstance(unsafe, (set, frozenset)) else set(unsafe)
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in wanted) or "layer"
        if not name.isidentifier():
            name = "layer_" + name
        while not is_identifier(name) or name in self or name in unsafe or name in AMBIGUOUS:
            name += "_"
        self.taken.add(name)
        return name


# Expressions


@dataclass
class Attr:
    """`receiver.name`, kept apart so a long method chain can split where ruff splits it."""

    receiver: object
    name: str

    def __str__(self) -> str:
        return f"{self.receiver}.{self.name}"


@dataclass
class Call:
    """`func(arg, ..., key=value)`, optionally followed by `trailer` (`(x)`)."""

    func: str | Attr
    args: list = field(default_factory=list)
    trailer: str = ""

    def __str__(self) -> str:
        return f"{self.func}({', '.join(map(str, self.args))}){self.trailer}"


@dataclass
class List:
    """A list display `[a, b]`; `explode` forces one item per line."""

    items: list
    explode: bool = False

    def __str__(self) -> str:
        return "[" + ", ".join(map(str, self.items)) + "]"


@dataclass
class BinOp:
    """`a + b + c`: split one operand per line inside parentheses when long."""

    op: str
    operands: list

    def __str__(self) -> str:
        return f" {self.op} ".join(map(str, self.operands))


@dataclass
class Keyword:
    """`name=value` whose value may itself need splitting (a long list)."""

    name: str
    value: object

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


def method(receiver, name: str, args: list) -> Call:
    """`receiver.name(args)`."""
    return Call(Attr(receiver, name), args)


def kw(name: str, value) -> str:
    """A keyword argument, the value already source or rendered by `literal`."""
    return f"{name}={value if isinstance(value, (str, Call, List, BinOp)) else literal(value)}"


def _forced(expr) -> bool:
    if isinstance(expr, List):
        return expr.explode or any(_forced(item) for item in expr.items)
    if isinstance(expr, Call):
        return any(_forced(arg) for arg in expr.args)
    if isinstance(expr, Keyword):
        return _forced(expr.value)
    return False


def render(expr, level: int, head: str = "", tail: str = "") -> list[str]:
    """The lines of `head + expr + tail` at an indentation level."""
    pad = INDENT * level
    flat = f"{pad}{head}{expr}{tail}"
    if len(flat) <= LINE_LENGTH and not _forced(expr):
        return [flat]
    if isinstance(expr, Call):
        chained = isinstance(expr.func, Attr) and isinstance(expr.func.receiver, Call)
        inner = f"{INDENT * (level + 1)}{expr}"
        wrapped = head.endswith(" = ") and len(f"{pad}{head}(") <= LINE_LENGTH < len(f"{pad}{head}{expr.func}(")
        if wrapped and not chained and len(inner) <= LINE_LENGTH and not _forced(expr):
            # a long target: ruff wraps the value in parentheses rather than leave the opening line too long
            return [f"{pad}{head}(", inner, f"{pad}){tail}"]
        if chained and len(f"{pad}{head}{expr.func}(") > LINE_LENGTH:
            # ruff splits the receiver too when the opening line alone is too long
            lines = render(expr.func.receiver, level, head, tail=f".{expr.func.name}(")
        else:
            lines = [f"{pad}{head}{expr.func}("]
        for arg in expr.args:
            lines += render(arg, level + 1, tail=",")
        return lines + [f"{pad}){expr.trailer}{tail}"]
    if isinstance(expr, List):
        lines = [f"{pad}{head}["]
        for item in expr.items:
            lines += render(item, level + 1, tail=",")
        return lines + [f"{pad}]{tail}"]
    if isinstance(expr, Keyword):
        return render(expr.value, level, f"{head}{expr.name}=", tail)
    if isinstance(expr, BinOp):
        inner = INDENT * (level + 1)
        body = f"{inner}{expr}"
        if len(body) <= LINE_LENGTH:
            return [f"{pad}{head}(", body, f"{pad}){tail}"]
        lines = [f"{pad}{head}(", f"{inner}{expr.operands[0]}"]
        lines += [f"{inner}{expr.op} {operand}" for operand in expr.operands[1:]]
        return lines + [f"{pad}){tail}"]
    return [flat]  # an atom: nothing to split


class CodeWriter:
    """Lines of source with an indentation level, as jinja's CodeGenerator keeps them."""

    def __init__(self):
        self.lines: list[str] = []
        self.level = 0

    def indent(self) -> None:
        self.level += 1

    def outdent(self, step: int = 1) -> None:
        self.level -= step

    def writeline(self, text: str = "") -> None:
        self.lines.append(f"{INDENT * self.level}{text}" if text else "")

    def blank(self, count: int = 1) -> None:
        self.lines.extend([""] * count)

    def comment(self, text: str) -> None:
        self.writeline(f"# {text}")

    def statement(self, head: str, expr, tail: str = "", comment: str | None = None) -> None:
        """`head + expr + tail`, split when long, with an optional trailing comment."""
        lines = render(expr, self.level, head, tail)
        if comment:
            if len(lines) == 1 and len(lines[0]) + 4 + len(comment) <= LINE_LENGTH:
                lines[0] += f"  # {comment}"
            else:
                self.comment(comment)
        self.lines.extend(lines)

    def fits(self, head: str, expr, tail: str = "", comment: str | None = None) -> bool:
        extra = len(comment) + 4 if comment else 0
        return len(INDENT * self.level + head + str(expr) + tail) + extra <= LINE_LENGTH and not _forced(expr)

    def getvalue(self) -> str:
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"
