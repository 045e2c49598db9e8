"""Merges that join branches: add, multiply, concat and friends.

Their keywords are also listed in the grammar (MERGE_OP), because
`add(a; b)` must be told apart from a block call while parsing.
"""

from __future__ import annotations

from ..core.errors import BranchMismatch
from ..core.sizes import Size, Undecided, compare
from .base import Arg, BinOp, Call, FloatType, Inferred, LayerKind, List, Window, axis_word, describe_shape, kw, literal


class _Merge(LayerKind):
    MERGE = True
    KERAS_NAME = ""
    EXACT_COUNT: int | None = None

    branch_spans: tuple = ()

    def mismatch(self, index: int, message: str, hint: str | None = None) -> BranchMismatch:
        spans = self.branch_spans
        span = spans[index] if index < len(spans) else self.span
        return BranchMismatch(message, span, hint)

    def sizes_differ(self, index: int, shapes, axis: int, mine, first, agreement) -> BranchMismatch:
        """Branches whose sizes on an axis that depends on a `?` axis differ (at every size, or at
        all but a few): the two expressions, and the few sizes where they would still agree."""
        word = axis_word(axis, len(shapes[index]))
        names = sorted(set().union(*(n.names() for n in (mine, first) if isinstance(n, Size))))
        written = " and ".join(names)
        where = ""
        if agreement.points:
            at = ", ".join(str(p) for p in agreement.points[:3])
            where = f" but {names[0]} = {at}"
        if agreement.kind == "relation":
            return self.mismatch(
                index,
                f"this branch's {word} is {_text(mine)}, but the first branch's is {_text(first)}: they agree "
                f"only when {_text(first)} = {_text(mine)}, a relation between the `?` axes of different inputs "
                "that cnndsl does not keep (only that they are one size)",
                f"give the inputs sizes, or make the branches of `{self.keyword}` agree when the inputs are one size",
            )
        try:
            gap = mine - first
        except (TypeError, Undecided):  # an expression too long: no constant difference to name
            gap = None
        cause = (
            f"they differ by {abs(gap)} at every size, the border a window without padding (or a crop or pad) "
            "changes: write `same` on the branch's convs and pools"
            if isinstance(gap, int)
            else "check strides and `same` padding"
        )
        return self.mismatch(
            index,
            f"this branch's {word} is {_text(mine)}, but the first branch's is {_text(first)}: "
            f"they differ for every size of {written}{where}",
            f"branches of `{self.keyword}` must agree for every size of the `?` axes; {cause}, or give the input a size",
        )

    def join_axis(self, x, y, stated: list, index: int):
        """One axis of two branches, either of which depends on `?` axes: the joined size, None when it
        is not known, or False when they differ. A condition they agree under goes to `stated`."""
        agreement = compare(x, y)
        if agreement.kind == "different" or agreement.kind == "relation":
            return False, agreement
        if agreement.tie is not None:
            stated.append((agreement.tie, index))
        if agreement.condition is not None:
            stated.append((agreement.condition, index))
        # tied, this branch's expression holds for the other's too: later merges are compared on it
        return (None if agreement.kind == "unknown" else x), None

    def check_symbolic(self, index: int, shape, first, stated: list, axes=None) -> None:
        """Every axis but the channels (or every axis), where either branch's depends on `?` axes."""
        for axis, (x, y) in enumerate(zip(shape[:-1] if axes is None else shape, first)):
            if (isinstance(x, Size) or isinstance(y, Size)) and x is not None and y is not None:
                joined, agreement = self.join_axis(x, y, stated, index)
                if joined is False:
                    raise self.sizes_differ(index, (shape,) * (index + 1), axis, x, y, agreement)

    def check_count(self, shapes):
        if len(shapes) < 2:
            raise BranchMismatch(
                f"`{self.keyword}` needs at least two branches",
                self.span,
                "separate branches with `;`; use `identity` for the input itself",
            )
        if self.EXACT_COUNT and len(shapes) != self.EXACT_COUNT:
            raise BranchMismatch(f"`{self.keyword}` takes exactly {self.EXACT_COUNT} branches", self.span)

    def window(self, node):
        """Every branch is read at the same position (`cnndsl.model.receptive` joins their fields)."""
        rank = len(node.shape) - 1
        return (Window(),) * rank if rank > 0 else None

    def keras(self, node):
        return Call(f"layers.{self.KERAS_NAME}")

    def torch(self, node, step):
        return [lambda x: self.torch_merge(node, step.inputs)]

    def torch_merge(self, node, inputs: list[str]):
        """The PyTorch expression joining the input variables."""
        raise self.unsupported("PyTorch")


FLAT = 8  # inputs an element-wise merge joins in one expression before grouping them


class _Elementwise(_Merge):
    """Keras's element-wise merges all broadcast axes of size 1 (Merge._compute_elemwise_op_output_shape)."""

    NEEDS_LAST_AXIS = False

    TORCH_OP = ""  # a binary operator, or a torch function of two tensors
    FOLD = True

    def torch_merge(self, node, inputs):
        inputs = [self.expand(name, shape, node.shape) for name, shape in zip(inputs, node.in_shapes)]
        return self.fold(inputs)

    def fold(self, inputs: list):
        """`a + b + c`, or `torch.maximum(torch.maximum(a, b), c)`, in order, as Keras joins them.

        Past FLAT inputs the terms are joined in groups, so that a merge of
        thousands of branches still nests only a few levels deep: Python
        cannot compile `a + b + ...` thousands of terms long.
        """
        if len(inputs) > FLAT:
            groups = [inputs[i : i + FLAT] for i in range(0, len(inputs), FLAT)]
            inner = [self.fold(group) if len(group) > 1 else group[0] for group in groups]
            if not self.TORCH_OP.startswith("torch."):
                inner = [f"({term})" if isinstance(term, BinOp) else term for term in inner]
            return self.fold(inner)
        if self.TORCH_OP.startswith("torch."):
            expr = inputs[0]
            for other in inputs[1:]:
                expr = Call(self.TORCH_OP, [expr, other])
            return expr
        return BinOp(self.TORCH_OP, inputs)

    @staticmethod
    def expand(name: str, shape, out):
        """Keras broadcasts a lower-rank branch by adding axes after the batch, channels last;
        in NCHW those axes go after the channels."""
        if len(shape) == len(out):
            return name
        ones = (1,) * (len(out) - len(shape))
        return str(Call(f"{name}.reshape", [-1, shape[-1], *ones, *shape[:-1]]))

    def infer(self, shapes):
        self.check_count(shapes)
        out = shapes[0]
        stated: list = []
        for i, shape in enumerate(shapes[1:], start=1):
            joined = broadcast(out, shape, self, stated, i, shapes)
            if joined is None:
                first = describe_shape(shapes[0])
                hint = f"branches of `{self.keyword}` must have equal shapes, or 1 where they differ; " + (
                    _padding_cause(out, shape) or "a 1x1 conv (with a stride) can match them"
                )
                raise self.mismatch(
                    i,
                    f"this branch gives {describe_shape(shape)}, but the first branch gives {first}",
                    hint,
                )
            out = joined
        return Inferred(out, self.KERAS_NAME, resolved={"size_conditions": tuple(stated)} if stated else {})

    def explain_shape(self, node):
        if all(shape == node.shape for shape in node.in_shapes):
            return [f"{len(node.in_shapes)} inputs of equal shape {describe_shape(node.shape)}, joined value by value"]
        written = ", ".join(describe_shape(s) for s in node.in_shapes)
        return [
            f"inputs {written} broadcast to {describe_shape(node.shape)} (1 stretches to match), then joined value by value"
        ]


def _padding_cause(a, b) -> str | None:
    """Spatial sizes that differ by less than a factor of 2 come from padding, not strides:
    a valid KxK window loses K-1 positions on each axis."""
    if len(a) != len(b) or len(a) < 2:
        return None
    # an axis of unknown size on either side never makes the branches differ
    pairs = [(x, y) for x, y in zip(a[:-1], b[:-1]) if x != y and x is not None and y is not None]
    if not pairs or any(max(x, y) >= 2 * min(x, y) for x, y in pairs):
        return None
    sizes = " and ".join(f"{describe_shape(s[:-1])}" for s in (a, b))
    return (
        f"the sizes {sizes} differ by the border a conv or pool without padding drops; "
        "write `same` on the branch's convs (and pools) to keep the size"
    )


def broadcast(a, b, merge=None, stated=None, index=0, shapes=()):
    """Keras's element-wise merge shape: equal axes, or 1 against anything; an axis of unknown
    size on either side is unknown, whatever the other (Keras checks nothing there). Sizes that
    depend on `?` axes (cnndsl.core.sizes) must agree for every size, or under a condition."""
    swapped = len(a) < len(b)
    if swapped:
        a, b = b, a
    lead = len(a) - len(b)
    out = list(a[:lead])
    for axis, (x, y) in enumerate(zip(a[lead:], b), start=lead):
        if x is None or y is None:
            out.append(None)
        elif x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif merge is None or not (isinstance(x, Size) or isinstance(y, Size)):
            return None
        else:
            joined, agreement = merge.join_axis(x, y, stated, index)
            if joined is False:
                mine, first = (x, y) if swapped else (y, x)
                raise merge.sizes_differ(index, (a,) * (index + 1), axis, mine, first, agreement)
            out.append(joined)
    return tuple(out)


def _text(size) -> str:
    return size.text() if isinstance(size, Size) else "?" if size is None else str(size)


class Add(_Elementwise):
    KEYWORDS = ("add", "residual")
    KERAS_NAME = "Add"
    TORCH_OP = "+"
    SUMMARY = "element-wise sum of branches (axes of size 1 broadcast); `residual(body)` is `add(identity; body)`"
    USAGE = "add(BRANCH; BRANCH ...)"


class Subtract(_Elementwise):
    KEYWORDS = ("subtract",)
    KERAS_NAME = "Subtract"
    TORCH_OP = "-"
    EXACT_COUNT = 2
    SUMMARY = "first branch minus second"
    USAGE = "subtract(BRANCH; BRANCH)"


class Multiply(_Elementwise):
    KEYWORDS = ("multiply",)
    KERAS_NAME = "Multiply"
    TORCH_OP = "*"
    SUMMARY = "element-wise product; broadcasts 1-sized axes (squeeze-excite)"
    USAGE = "multiply(BRANCH; BRANCH ...)"


class Average(_Elementwise):
    KEYWORDS = ("average",)
    KERAS_NAME = "Average"
    TORCH_OP = "+"

    def torch_merge(self, node, inputs):
        return BinOp("/", [f"({super().torch_merge(node, inputs)})", str(len(inputs))])

    SUMMARY = "element-wise mean of branches (axes of size 1 broadcast)"
    USAGE = "average(BRANCH; BRANCH ...)"


class Maximum(_Elementwise):
    KEYWORDS = ("maximum",)
    KERAS_NAME = "Maximum"
    TORCH_OP = "torch.maximum"
    SUMMARY = "element-wise maximum of branches (axes of size 1 broadcast)"
    USAGE = "maximum(BRANCH; BRANCH ...)"


class Minimum(_Elementwise):
    KEYWORDS = ("minimum",)
    KERAS_NAME = "Minimum"
    TORCH_OP = "torch.minimum"
    SUMMARY = "element-wise minimum of branches (axes of size 1 broadcast)"
    USAGE = "minimum(BRANCH; BRANCH ...)"


class Concat(_Merge):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("concat", "concatenate")
    KERAS_NAME = "Concatenate"
    SUMMARY = "joins branches along the channel axis; other axes must agree"
    USAGE = "concat(BRANCH; BRANCH ...)"

    def infer(self, shapes):
        self.check_count(shapes)
        first = shapes[0]
        stated: list = []
        for i, shape in enumerate(shapes[1:], start=1):
            if len(shape) == len(first):
                self.check_symbolic(i, shape, first, stated)
            if len(shape) != len(first) or any(
                x != y
                for x, y in zip(shape[:-1], first[:-1])
                if x is not None and y is not None and not (isinstance(x, Size) or isinstance(y, Size))
            ):
                raise self.mismatch(
                    i,
                    f"this branch gives {describe_shape(shape)}, but the first branch gives {describe_shape(first)}",
                    "`concat` joins channels; every other axis must be equal (check strides and `same` padding)",
                )
        # Keras's Concatenate.compute_output_shape: the other axes are the first branch's, even
        # where it is unknown and another branch's is known (or the other way round)
        channels = [s[-1] for s in shapes]
        return Inferred(
            first[:-1] + (None if None in channels else sum(channels),),
            "Concatenate",
            resolved={"size_conditions": tuple(stated)} if stated else {},
        )

    def explain_shape(self, node):
        channels = " + ".join(str(s[-1]) for s in node.in_shapes)
        return [f"channels: {channels} = {node.shape[-1]}, stacked along the last axis; the other axes agree"]

    def torch_merge(self, node, inputs):
        return Call("torch.cat", [List(inputs), kw("dim", 1)])  # Keras's last axis: channels, dim 1 in NCHW


KERAS_CUSTOM_SCALE = '''
class CustomScaleLayer(layers.Layer):
    """The shortcut plus the scaled residual, as InceptionResNetV2 has it."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale
'''


class ScaleAdd(_Merge):
    """`scaleadd(a; b) s` is a + s·b, Keras's CustomScaleLayer of InceptionResNetV2."""

    KEYWORDS = ("scaleadd",)
    KERAS_NAME = "CustomScaleLayer"
    EXACT_COUNT = 2
    ARGS = (
        Arg(
            "scale",
            FloatType(),
            positional=True,
            required=True,
            doc="the factor of the second branch (0.17, 0.1 and 0.2 in InceptionResNetV2)",
            example="scaleadd(identity; conv 8 1) 0.17",
        ),
    )
    SUMMARY = "the first branch plus the second times a factor (InceptionResNetV2's CustomScaleLayer)"
    USAGE = "scaleadd(BRANCH; BRANCH) SCALE"
    KERAS_HELPERS = {"CustomScaleLayer": KERAS_CUSTOM_SCALE}

    def infer(self, shapes):
        self.check_count(shapes)
        stated: list = []
        if len(shapes[1]) == len(shapes[0]):
            self.check_symbolic(1, shapes[1], shapes[0], stated, axes="all")
        if len(shapes[1]) != len(shapes[0]) or any(
            x != y for x, y in zip(shapes[1], shapes[0]) if not (isinstance(x, Size) or isinstance(y, Size))
        ):
            raise self.mismatch(
                1,
                f"this branch gives {describe_shape(shapes[1])}, but the first branch gives {describe_shape(shapes[0])}",
                "the two branches of `scaleadd` must have equal shapes",
            )
        return Inferred(
            shapes[0], "CustomScaleLayer", resolved={"size_conditions": tuple(stated)} if stated else {}
        )

    def explain_shape(self, node):
        return [f"two inputs of equal shape {describe_shape(node.shape)}: the first plus {self['scale']} times the second"]

    def keras(self, node):
        return Call("CustomScaleLayer", [literal(self["scale"])])

    def torch_merge(self, node, inputs):
        shortcut, residual = inputs
        return BinOp("+", [shortcut, BinOp("*", [residual, literal(self["scale"])])])
