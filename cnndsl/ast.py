"""The syntax tree: small frozen dataclasses, each carrying its source span."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

from .source import Span


def _node(cls):
    """A frozen dataclass with slots, whose __init__ sets each slot directly.

    The generated __init__ of a frozen dataclass sets each field through
    object.__setattr__, by name; a parse builds tens of thousands of nodes,
    and the slots' own setters take half the time. Everything else (eq,
    hash, repr, immutability) is the dataclass's own.
    """
    cls = dataclass(frozen=True, slots=True, init=False)(cls)
    names = [f.name for f in fields(cls)]
    params = [name if f.default is MISSING else f"{name}={f.default!r}" for name, f in zip(names, fields(cls))]
    body = "".join(f"\n    set_{name}(self, {name})" for name in names)
    scope: dict = {}
    setters = {f"set_{name}": cls.__dict__[name].__set__ for name in names}
    exec(f"def __init__(self, {', '.join(params)}):{body}\n", setters, scope)
    scope["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = scope["__init__"]
    return cls


@_node
class Num:
    value: int | float
    span: Span


@_node
class Dims:
    """An `AxBxC` literal."""

    values: tuple[int, ...]
    span: Span


@_node
class Name:
    """A bare word: an option keyword, or a block parameter inside a def."""

    id: str
    span: Span


@_node
class BinOp:
    op: str
    left: Expr
    right: Expr
    span: Span


@_node
class Neg:
    operand: Expr
    span: Span


Expr = Num | Dims | Name | BinOp | Neg


@_node
class KeywordArg:
    name: str
    value: Expr
    span: Span


Arg = Expr | KeywordArg


@_node
class Layer:
    """`conv 64 3x3 stride 2`: a layer keyword and its raw arguments."""

    kind: str
    args: tuple[Arg, ...]
    span: Span
    kind_span: Span


@_node
class Call:
    """`block(64, s=2)`: a use of a `def` block."""

    name: str
    args: tuple[Arg, ...]
    span: Span
    name_span: Span


@_node
class Merge:
    """`add(a; b)`: branches from one input, joined by a merge layer."""

    op: str
    branches: tuple[Pipeline, ...]
    span: Span
    op_span: Span


@_node
class Group:
    """`( a | b )`: a parenthesised pipeline, usually for repetition."""

    body: Pipeline
    span: Span


@_node
class Repeat:
    """`unit * n`, or `unit * n as i` with `i` taking 0 .. n-1 in the body."""

    body: Stage
    count: Expr
    span: Span
    index: str | None = None
    index_span: Span | None = None


@_node
class Labelled:
    """`name: unit`: a user-chosen layer name."""

    label: str
    body: Stage
    span: Span
    label_span: Span


@_node
class Reference:
    """`@name`: the output of an earlier named layer or block call."""

    name: str
    span: Span
    name_span: Span


Stage = Layer | Call | Merge | Group | Repeat | Labelled | Reference


@_node
class Pipeline:
    stages: tuple[Stage, ...]
    span: Span


@_node
class Param:
    name: str
    default: Expr | None
    span: Span


@_node
class Definition:
    name: str
    params: tuple[Param, ...]
    body: tuple[Pipeline, ...]
    span: Span
    name_span: Span


@_node
class Program:
    definitions: tuple[Definition, ...]
    pipelines: tuple[Pipeline, ...]
