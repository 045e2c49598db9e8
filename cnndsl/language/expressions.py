"""Evaluating the expressions of a .cnn file: arithmetic, comparisons, functions, `in.c`.

Values are Python's own: int, float, a word (str), a size (a tuple), a block
with its arguments (`Block`), and for a `for` loop a list of values. The rules
are Python's (`round` halves to even, `//` and `%` floor, `int` truncates),
so a keras.applications formula gives the same number here.
"""

from __future__ import annotations

import math

from ..core.errors import BadArgument, LimitExceeded, did_you_mean
from ..core.limits import MAX_LOOP_VALUES, check_number
from ..core.source import Span
from ..layers.base import Value
from . import ast


class Block:
    """A block call passed as a value, `se(72, 24)`: the block's name and its evaluated arguments."""

    __slots__ = ("name", "positional", "keywords", "span")

    def __init__(self, name: str, positional: list, keywords: list, span: Span):
        self.name, self.positional, self.keywords, self.span = name, positional, keywords, span

    def __str__(self) -> str:
        args = [v.describe() for v in self.positional] + [f"{k}={v.describe()}" for k, v, _ in self.keywords]
        return f"{self.name}({', '.join(args)})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Block) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, tuple) and any(isinstance(v, (float, tuple, list)) for v in value):
        return "(" + ", ".join(describe(v) for v in value) + ")"
    return Value(value, None).describe()


class Context:
    """What an expression may ask of the expansion around it: the blocks, and the input's shape."""

    definitions: dict = {}

    def input_shape(self, span: Span):
        """The shape of the tensor flowing into the statement being expanded; None before any."""
        return None


# The spatial axes by rank, channels last; `in.c` is the last axis at every rank (a flat vector's units).
_SPATIAL = {2: ("l",), 3: ("h", "w"), 4: ("d", "h", "w")}


def shape_axis(shape, axis: str, span: Span) -> int:
    """`in.h` of `shape` (channels last): the size, or a located error."""
    rank = len(shape)
    names = {"c": rank - 1}
    for index, name in enumerate(_SPATIAL.get(rank, ())):
        names[name] = index
    if axis not in names:
        known = ", ".join(f"`in.{n}`" for n in names)
        if axis in ("c", "h", "w", "d", "l"):
            message = f"the input here is {describe(shape)}, which has no `{axis}` axis"
        else:
            message = f"`in.{axis}` is not an axis"
        raise BadArgument(message, span, f"this input has {known}")
    size = shape[names[axis]]
    if size is None:
        raise BadArgument(
            f"`in.{axis}` is unknown here (the input is {describe(shape)})",
            span,
            "an axis written `?` has no size to compute with; give the input a size",
        )
    return size


def evaluate(expr, env, context: Context | None = None) -> Value:
    """An expression's value; names bound by a block call, a `let`, a `param` or a loop are substituted."""
    if isinstance(expr, ast.Num):
        return Value(expr.value, expr.span)
    if isinstance(expr, ast.Dims):
        return Value(expr.values, expr.span)
    if isinstance(expr, ast.Name):
        bound = env.get(expr.id)
        return Value(bound.value, expr.span) if bound is not None else Value(expr.id, expr.span)
    if isinstance(expr, ast.BinOp):
        return _binary(expr, env, context)
    if isinstance(expr, ast.Neg):
        operand = evaluate(expr.operand, env, context)
        if not _is_number(operand.value):
            raise BadArgument(f"cannot negate `{operand.describe()}`", expr.span)
        return Value(check_number(-operand.value, expr.span, "the result"), expr.span)
    if isinstance(expr, ast.Not):
        return Value(int(not truth(evaluate(expr.operand, env, context))), expr.span)
    if isinstance(expr, ast.Conditional):
        chosen = expr.then if truth(evaluate(expr.condition, env, context)) else expr.otherwise
        return Value(evaluate(chosen, env, context).value, expr.span)
    if isinstance(expr, ast.Function):
        return _function(expr, env, context)
    if isinstance(expr, ast.Shape):
        shape = context.input_shape(expr.span) if context is not None else None
        if shape is None:
            raise BadArgument(
                f"`in.{expr.axis}` has no input here",
                expr.span,
                "`in.c`, `in.h`... are the sizes of the tensor flowing into a layer; use them after `input`",
            )
        return Value(shape_axis(shape, expr.axis, expr.span), expr.span)
    if isinstance(expr, ast.ListOf):
        items = [evaluate(item, env, context).value for item in expr.items]
        return Value(tuple(items) if expr.tuple else items, expr.span)
    raise TypeError(expr)  # pragma: no cover - the grammar has no other expressions


def truth(value: Value) -> bool:
    """A condition's truth, as Python's: 0 and 0.0 are false, every other number true."""
    if not _is_number(value.value):
        raise BadArgument(
            f"`{value.describe()}` is not a number, so it is neither true nor false",
            value.span,
            "a condition compares numbers, as in `if stride == 2:`",
        )
    return bool(value.value)


def _not_a_number_hint(word: str, op: str) -> str:
    from ..layers import REGISTRY

    if op == "*" and any(word in kind.option_words() for kind in REGISTRY.values()):
        return "to repeat layers, put them in parentheses: `(conv 8 3 same) * 2`"
    return "is it a block parameter that was not passed, or a `param`/`let` not defined yet?"


_COMPARISONS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _binary(expr: ast.BinOp, env, context) -> Value:
    op = expr.op
    if op in ("and", "or"):  # Python's: the deciding operand, the right one unevaluated when not needed
        left = evaluate(expr.left, env, context)
        if truth(left) == (op == "or"):
            return Value(left.value, expr.span)
        right = evaluate(expr.right, env, context)
        truth(right)
        return Value(right.value, expr.span)
    left, right = evaluate(expr.left, env, context), evaluate(expr.right, env, context)
    if op in ("==", "!=") and not (_is_number(left.value) and _is_number(right.value)):
        return Value(int(_COMPARISONS[op](left.value, right.value)), expr.span)  # words compare too
    for side in (left, right):
        if not _is_number(side.value):
            hint = _not_a_number_hint(side.value, op) if isinstance(side.value, str) else None
            raise BadArgument(f"`{side.describe()}` is not a number, so `{op}` cannot apply", side.span, hint)
    a, b = left.value, right.value
    if op in _COMPARISONS:
        return Value(int(_COMPARISONS[op](a, b)), expr.span)
    if op in ("/", "//", "%") and b == 0:
        raise BadArgument(
            f"division by zero: `{describe(a)} {op} {describe(b)}`", expr.span, "the right-hand side is 0 here"
        )
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif op == "//":
        result = a // b
    elif op == "%":
        result = a % b
    elif op == "**":
        result = _power(a, b, expr.span)
    else:
        result = a / b
        if isinstance(a, int) and isinstance(b, int) and a % b == 0:
            result = a // b
    return Value(check_number(result, expr.span, "the result"), expr.span)


def _power(a, b, span: Span):
    if a == 0 and b < 0:
        raise BadArgument("division by zero: `0 ** " + describe(b) + "`", span, "0 has no negative powers")
    if isinstance(a, int) and isinstance(b, int) and b >= 0:
        # an exponent whose result would pass every bound is refused before Python computes it
        if a not in (-1, 0, 1) and b * math.log2(abs(a)) > 64:
            check_number(float("inf") if b > 10_000 else a**b, span, "the result")
        return a**b
    if a < 0 and not float(b).is_integer():
        raise BadArgument(f"`{describe(a)} ** {describe(b)}` is not a real number", span, "a negative base takes whole exponents")
    try:
        return float(a) ** float(b)
    except OverflowError:
        return check_number(float("inf"), span, "the result")


def _numbers(expr: ast.Function, values: list[Value], low: int, high: int) -> list:
    if not low <= len(values) <= high:
        count = f"{low}" if low == high else f"{low} to {high}" if high < 99 else f"at least {low}"
        raise BadArgument(
            f"`{expr.name}` takes {count} argument{'s' if high != 1 else ''}, not {len(values)}",
            expr.span,
            f"usage: {FUNCTIONS[expr.name][1]}",
        )
    for value in values:
        if not _is_number(value.value):
            raise BadArgument(
                f"`{expr.name}` takes numbers; `{value.describe()}` is not one", value.span, f"usage: {FUNCTIONS[expr.name][1]}"
            )
    return [value.value for value in values]


def divisible(value, divisor, minimum=None) -> int:
    """keras.applications' and torchvision's `_make_divisible`: the multiple of `divisor` nearest
    `value`, at least `minimum` (the divisor by default), and no more than 10% below `value`."""
    if minimum is None:
        minimum = divisor
    rounded = max(minimum, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _round(expr, values):
    args = _numbers(expr, values, 1, 2)
    if len(args) == 2:
        if not isinstance(args[1], int):
            raise BadArgument("`round`'s second argument counts digits", values[1].span, "write a whole number: `round(x, 2)`")
        return round(args[0], args[1])
    return round(args[0])


def _int(expr, values):
    (x,) = _numbers(expr, values, 1, 1)
    return int(x)


def _sqrt(expr, values):
    (x,) = _numbers(expr, values, 1, 1)
    if x < 0:
        raise BadArgument(f"`sqrt` of a negative number ({describe(x)})", values[0].span, "sqrt takes 0 or more")
    return math.sqrt(x)


def _log(expr, values):
    args = _numbers(expr, values, 1, 2)
    if any(a <= 0 for a in args) or (len(args) == 2 and args[1] == 1):
        raise BadArgument(
            f"`log` needs a positive number{' and a base other than 1' if len(args) == 2 else ''}",
            expr.span,
            f"here: `{describe(args[0])}`",
        )
    return math.log(*args)


def _divisible(expr, values):
    args = _numbers(expr, values, 2, 3)
    if args[1] <= 0:
        raise BadArgument(
            f"`divisible`'s divisor must be positive, not `{describe(args[1])}`", values[1].span, "for example `divisible(c, 8)`"
        )
    return divisible(*args)


def _range(expr, values):
    args = _numbers(expr, values, 1, 3)
    for arg, value in zip(args, values):
        if not isinstance(arg, int):
            raise BadArgument(
                f"`range` counts in whole numbers, not `{describe(arg)}`", value.span, "round it: `range(round(n))`"
            )
    if len(args) == 3 and args[2] == 0:
        raise BadArgument("`range`'s step cannot be 0", values[2].span, "count up with 1, down with -1")
    numbers = range(*args)
    if len(numbers) > MAX_LOOP_VALUES:
        raise LimitExceeded(
            f"`range` here gives {len(numbers):,} values, more than {MAX_LOOP_VALUES:,}",
            expr.span,
            "no real network loops this many times; check the bounds",
        )
    return list(numbers)


FUNCTIONS = {
    "round": (_round, "round(x) or round(x, digits): halves go to the even neighbour, as in Python"),
    "floor": (lambda e, v: math.floor(*_numbers(e, v, 1, 1)), "floor(x)"),
    "ceil": (lambda e, v: math.ceil(*_numbers(e, v, 1, 1)), "ceil(x)"),
    "min": (lambda e, v: min(_numbers(e, v, 1, 999)), "min(a, b, ...)"),
    "max": (lambda e, v: max(_numbers(e, v, 1, 999)), "max(a, b, ...)"),
    "abs": (lambda e, v: abs(*_numbers(e, v, 1, 1)), "abs(x)"),
    "int": (_int, "int(x): drops the fraction, as Python's int()"),
    "sqrt": (_sqrt, "sqrt(x)"),
    "log": (_log, "log(x) or log(x, base)"),
    "divisible": (_divisible, "divisible(value, divisor) or divisible(value, divisor, minimum)"),
    "range": (_range, "range(n), range(start, stop) or range(start, stop, step)"),
}


def _function(expr: ast.Function, env, context) -> Value:
    entry = FUNCTIONS.get(expr.name)
    definitions = context.definitions if context is not None else {}
    if entry is None:
        bound = env.get(expr.name)
        name = bound.value if bound is not None and isinstance(bound.value, str) else expr.name
        if name in definitions:  # `se(72, 24)` passed as a value: the block, called where it is used
            positional, keywords = [], []
            for arg in expr.args:
                if isinstance(arg, ast.KeywordArg):
                    keywords.append((arg.name, evaluate(arg.value, env, context), arg.span))
                else:
                    positional.append(evaluate(arg, env, context))
            return Value(Block(name, positional, keywords, expr.span), expr.span)
        raise BadArgument(
            f"no function or block named `{expr.name}`",
            expr.name_span,
            did_you_mean(expr.name, [*FUNCTIONS, *definitions])
            or "functions: " + ", ".join(f"`{f}`" for f in FUNCTIONS) + "; or define a block with `def`",
        )
    if any(isinstance(arg, ast.KeywordArg) for arg in expr.args):
        arg = next(arg for arg in expr.args if isinstance(arg, ast.KeywordArg))
        raise BadArgument(f"`{expr.name}` takes its arguments by position", arg.span, f"usage: {entry[1]}")
    values = [evaluate(arg, env, context) for arg in expr.args]
    try:
        result = entry[0](expr, values)
    except (OverflowError, ValueError):  # e.g. floor(1e308 * 10) is inf: no whole number
        raise BadArgument(f"`{expr.name}` has no finite result here", expr.span, "check its argument") from None
    if isinstance(result, list):
        return Value(result, expr.span)
    return Value(check_number(result, expr.span, "the result"), expr.span)


def mentions(expr, names) -> bool:
    """Whether an expression uses one of the names (a block's parameters), or the input's shape."""
    if isinstance(expr, ast.KeywordArg):
        return mentions(expr.value, names)
    if isinstance(expr, ast.Name):
        return expr.id in names
    if isinstance(expr, ast.Shape):
        return True
    if isinstance(expr, ast.BinOp):
        return mentions(expr.left, names) or mentions(expr.right, names)
    if isinstance(expr, (ast.Neg, ast.Not)):
        return mentions(expr.operand, names)
    if isinstance(expr, ast.Conditional):
        return any(mentions(e, names) for e in (expr.then, expr.condition, expr.otherwise))
    if isinstance(expr, ast.Function):
        return True  # a function's name may be a block's parameter; checked when called
    if isinstance(expr, ast.ListOf):
        return any(mentions(e, names) for e in expr.items)
    return False


# What an argument evaluated to, for `explain` and hovers: `in.c = 24, 24·6 = 144 filters`.

_PRECEDENCE = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5}
_PRECEDENCE.update({"*": 6, "/": 6, "//": 6, "%": 6, "**": 8})


def computed(expr) -> bool:
    """Whether an argument is more than a literal or a bare word: it names a value or computes one."""
    if isinstance(expr, ast.KeywordArg):
        return computed(expr.value)
    return not isinstance(expr, (ast.Num, ast.Dims))


def captured(expr, env, context, into: dict) -> None:
    """The values of the names and `in.` axes an expression reads, in the order it reads them."""
    if isinstance(expr, ast.KeywordArg):
        captured(expr.value, env, context, into)
    elif isinstance(expr, ast.Name):
        bound = env.get(expr.id)
        if bound is not None and expr.id not in into:
            into[expr.id] = bound.value
    elif isinstance(expr, ast.Shape):
        key = f"in.{expr.axis}"
        if key not in into and context is not None:
            try:  # a branch not taken may read an axis the input lacks or has no size for
                into[key] = shape_axis(context.input_shape(expr.span), expr.axis, expr.span)
            except (BadArgument, TypeError):
                pass
    elif isinstance(expr, ast.BinOp):
        captured(expr.left, env, context, into)
        captured(expr.right, env, context, into)
    elif isinstance(expr, (ast.Neg, ast.Not)):
        captured(expr.operand, env, context, into)
    elif isinstance(expr, ast.Conditional):
        for part in (expr.then, expr.condition, expr.otherwise):
            captured(part, env, context, into)
    elif isinstance(expr, (ast.Function, ast.ListOf)):
        for part in expr.args if isinstance(expr, ast.Function) else expr.items:
            captured(part, env, context, into)


def substituted(expr, values: dict, outer: int = 0) -> str:
    """The expression with each name and `in.` axis replaced by its value; `*` as `·`."""
    if isinstance(expr, ast.KeywordArg):
        return f"{expr.name}={substituted(expr.value, values)}"
    if isinstance(expr, (ast.Num, ast.Dims)):
        return describe(expr.value if isinstance(expr, ast.Num) else expr.values)
    if isinstance(expr, ast.Name):
        return describe(values[expr.id]) if expr.id in values else expr.id
    if isinstance(expr, ast.Shape):
        key = f"in.{expr.axis}"
        return describe(values[key]) if key in values else key
    if isinstance(expr, ast.BinOp):
        level = _PRECEDENCE[expr.op]
        right_level = level + (expr.op != "**")  # `a - (b - c)` keeps its parentheses; `**` groups to the right
        left = substituted(expr.left, values, level + (expr.op == "**"))
        right = substituted(expr.right, values, right_level)
        text = f"{left}·{right}" if expr.op == "*" else f"{left} {expr.op} {right}"
        return f"({text})" if level < outer else text
    if isinstance(expr, ast.Neg):
        return f"-{substituted(expr.operand, values, 7)}"
    if isinstance(expr, ast.Not):
        text = f"not {substituted(expr.operand, values, 3)}"
        return f"({text})" if outer > 3 else text
    if isinstance(expr, ast.Conditional):
        text = (
            f"{substituted(expr.then, values, 1)} if {substituted(expr.condition, values, 1)} "
            f"else {substituted(expr.otherwise, values)}"
        )
        return f"({text})" if outer > 0 else text
    if isinstance(expr, ast.Function):
        return f"{expr.name}({', '.join(substituted(arg, values) for arg in expr.args)})"
    if isinstance(expr, ast.ListOf):
        items = ", ".join(substituted(item, values) for item in expr.items)
        return f"({items}{',' if len(expr.items) == 1 else ''})" if expr.tuple else f"[{items}]"
    return "?"  # pragma: no cover - the grammar has no other expressions


class Worked:
    """One argument's evaluation, kept to be written out only when asked (most never are)."""

    __slots__ = ("parts", "values", "result", "argument")

    def __init__(self, parts: tuple, values: dict, result, argument: str | None):
        self.parts, self.values, self.result, self.argument = parts, values, result, argument

    def text(self) -> str:
        """`in.c = 24, 24·6 = 144 filters`; `c = 64 filters`; `size = 160, 160x160x3 shape`."""
        result = describe(self.result)
        shown = "x".join(substituted(part, self.values, 9 if len(self.parts) > 1 else 0) for part in self.parts)
        lines = [f"{name} = {describe(value)}" for name, value in self.values.items()]
        single = len(self.parts) == 1 and isinstance(self.parts[0], (ast.Name, ast.Shape))
        if not single or not lines:
            lines.append(result if shown == result else f"{shown} = {result}")
        text = ", ".join(lines)
        return f"{text} {self.argument}" if self.argument else text
