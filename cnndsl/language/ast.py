"""The syntax tree: small frozen dataclasses, each carrying its source span."""

from __future__ import annotations

from ..core.frozen import frozen
from ..core.source import Span


@frozen
class Num:
    value: int | float
    span: Span


@frozen
class Dims:
    """An `AxBxC` literal; a `?` axis (unknown size) is None."""

    values: tuple[int | None, ...]
    span: Span


@frozen
class Name:
    """A bare word: an option keyword, or a block parameter inside a def."""

    id: str
    span: Span


@frozen
class BinOp:
    op: str
    left: Expr
    right: Expr
    span: Span


@frozen
class Neg:
    operand: Expr
    span: Span


@frozen
class Not:
    operand: Expr
    span: Span


@frozen
class Conditional:
    """`A if COND else B`."""

    then: Expr
    condition: Expr
    otherwise: Expr
    span: Span


@frozen
class Function:
    """`round(x)`, `divisible(c * alpha, 8)`, or a block call with arguments passed as a value: `se(72, 24)`."""

    name: str
    args: tuple[Arg, ...]
    span: Span
    name_span: Span


@frozen
class Shape:
    """`in.c`, `in.h`...: an axis of the tensor flowing into the statement."""

    axis: str
    span: Span


@frozen
class ListOf:
    """`[a, b]` or `(a, b)`: the values a `for` loop takes."""

    items: tuple[Expr, ...]
    span: Span
    tuple: bool = False


Expr = Num | Dims | Name | BinOp | Neg | Not | Conditional | Function | Shape | ListOf


@frozen
class KeywordArg:
    name: str
    value: Expr
    span: Span


Arg = Expr | KeywordArg


@frozen
class Layer:
    """`conv 64 3x3 stride 2`: a layer keyword and its raw arguments."""

    kind: str
    args: tuple[Arg, ...]
    span: Span
    kind_span: Span


@frozen
class Call:
    """`block(64, s=2)`: a use of a `def` block."""

    name: str
    args: tuple[Arg, ...]
    span: Span
    name_span: Span


@frozen
class Merge:
    """`add(a; b)`: branches from one input, joined by a merge layer; `scaleadd(a; b) 0.17`: with
    the merge's own arguments after its branches."""

    op: str
    branches: tuple[Pipeline, ...]
    span: Span
    op_span: Span
    args: tuple[Arg, ...] = ()


@frozen
class Group:
    """`( a | b )`: a parenthesised pipeline, usually for repetition."""

    body: Pipeline
    span: Span


@frozen
class Repeat:
    """`unit * n`, or `unit * n as i` with `i` taking 0 .. n-1 in the body."""

    body: Stage
    count: Expr
    span: Span
    index: str | None = None
    index_span: Span | None = None


@frozen
class Labelled:
    """`name: unit`: a user-chosen layer name."""

    label: str
    body: Stage
    span: Span
    label_span: Span


@frozen
class Reference:
    """`@name`: the output of an earlier named layer or block call."""

    name: str
    span: Span
    name_span: Span


@frozen
class Unparsed:
    """A top-level statement that did not parse, kept in its place when every error of a file is wanted.

    `labels` are the names it seems to give (`x:`), so later `@x` says nothing more;
    `starts_input` whether it begins with `input`.
    """

    span: Span
    labels: tuple[str, ...] = ()
    starts_input: bool = False


Stage = Layer | Call | Merge | Group | Repeat | Labelled | Reference | Unparsed


@frozen
class Pipeline:
    stages: tuple[Stage, ...]
    span: Span


@frozen
class Param:
    name: str
    default: Expr | None
    span: Span


@frozen
class Definition:
    name: str
    params: tuple[Param, ...]
    body: tuple[Statement, ...]
    span: Span
    name_span: Span


@frozen
class Let:
    """`let name = EXPR`: a constant for the rest of the file or of the block call."""

    name: str
    value: Expr
    span: Span
    name_span: Span


@frozen
class FileParam:
    """`param alpha = 1.0`: a constant that `--set alpha=0.5` (or `analyze(params=...)`) replaces."""

    name: str
    default: Expr
    span: Span
    name_span: Span


@frozen
class Use:
    """`use "blocks.cnn"`: the defs, params and lets of another file."""

    path: str
    span: Span


@frozen
class If:
    """`if C: ... elif C: ... else: ...`: each branch a condition and its statements; None for `else`."""

    branches: tuple[tuple[Expr | None, tuple[Statement, ...]], ...]
    span: Span


@frozen
class For:
    """`for i in range(N):` or `for a, b in [(1, 2), (3, 4)]:`."""

    names: tuple[str, ...]
    values: Expr
    body: tuple[Statement, ...]
    span: Span
    names_span: Span


Statement = Pipeline | Let | FileParam | Use | If | For | Definition


@frozen
class Program:
    definitions: tuple[Definition, ...]
    pipelines: tuple[Pipeline, ...]
    statements: tuple[Statement, ...] = ()  # every top-level statement but the defs, in order
