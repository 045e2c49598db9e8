"""Warnings: designs that work but are probably not what was meant (codes W…, docs/errors.md).

Each rule reads the inferred model only (its shapes, options and figures);
each warning is told once per place, however many block calls reach it.
"""

from __future__ import annotations

from functools import cache

from ..core.errors import (
    BiasBeforeBatchNorm,
    ChannelsFirstInput,
    CnnWarning,
    DominantLayer,
    DropoutAtOutput,
    DroppedBorder,
    Edit,
    Hint,
    SizeCondition,
    StackedActivation,
    ZeroEpsilon,
)
from ..layers.base import axis_names, describe_shape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .infer import Model, TypedNode

DOMINANT_SHARE = 0.5  # of all parameters, in one dense layer reading a flattened map
DOMINANT_PARAMS = 1_000_000  # and at least this many: LeNet's 48,120 of 61,706 is how LeNet is
_NORMS = ("bn", "batchnorm")
_IDEMPOTENT = {"relu", "relu6"}


class LintMemo:
    """Which layers of the last model linted were quiet under the rules that read only a node and its
    inputs (the editor's, between keystrokes). A node of the next model with the same layer and
    inferred objects, on inputs with the same layer and inferred objects (InferenceMemo gives them),
    is not looked at by those rules again."""

    def __init__(self):
        self.nodes: tuple = ()  # the last model's nodes
        self.quiet: dict[int, tuple] = {}  # id of a quiet node's layer -> what those rules read of it


def _local_reads(model: Model, node: TypedNode) -> tuple:
    """What the local rules read: the node's input shapes, layer and inferred figures, and its inputs'."""
    reads = [node.in_shapes, node.layer, node.info]
    for j in node.inputs:
        reads += (model.nodes[j].layer, model.nodes[j].info)
    return tuple(reads)


def _same(reads: tuple, before: tuple | None) -> bool:
    """Whether the local rules read the same objects (and equal input shapes) as before."""
    if before is None or len(reads) != len(before) or reads[0] != before[0]:
        return False
    for i in range(1, len(reads)):
        if reads[i] is not before[i]:
            return False
    return True


def warnings(model: Model, memo: LintMemo | None = None) -> list[CnnWarning]:
    """Every warning about the model, each place once, in the order of the nodes."""
    readers: dict[int, list[TypedNode]] = {}
    for node in model.nodes:
        for i in node.inputs:
            readers.setdefault(i, []).append(node)
    found: list[CnnWarning] = []
    seen: set[tuple] = set()

    def add(warning: CnnWarning, node: TypedNode) -> None:
        key = (warning.code, warning.span)
        if key in seen:
            return
        seen.add(key)
        warning.called_from = tuple((call.name, call.span) for call in reversed(node.blocks))
        found.append(warning)

    outputs = set(model.outputs)
    total = model.total
    was_quiet, before = (memo.quiet, memo.nodes) if memo is not None else ({}, ())
    quiet: dict[int, tuple] = {}
    nodes = model.nodes
    for node in model.nodes:
        if node.shares is not None:
            continue  # a layer used again was looked at where it was first used
        if node.id in model.inputs:
            warning = _channels_first(node)
        else:
            readers_of = readers.get(node.id, ())
            reads = was_quiet.get(id(node.layer)) if memo is not None else None
            i = node.id
            if reads is not None and i < len(before) and before[i] is node and all(before[j] is nodes[j] for j in node.inputs):
                still = True  # the same node on the same inputs: the same reads
            elif memo is not None:
                reads, before_reads = _local_reads(model, node), reads
                still = _same(reads, before_reads)
            else:
                still = False
            if still:
                quiet[id(node.layer)] = reads
                warning = _bias_before_norm(node, readers_of) or _dominant(model, node, total)
            else:
                local = (_dropped_border(model, node), _stacked_activation(model, node), _zero_epsilon(node))
                if reads is not None and all(warning is None for warning in local):
                    quiet[id(node.layer)] = reads
                dropped, stacked, zero = local
                warning = _bias_before_norm(node, readers_of) or dropped or stacked or _dominant(model, node, total) or zero
        if warning is not None:
            add(warning, node)
        if node.conditions:  # read apart from the memo: the sizes upstream may change where the shapes stay `?`
            add(_size_condition(model, node), node)
        if node.id in outputs and node.layer.keyword == "dropout":
            add(
                DropoutAtOutput(
                    "the network's output comes straight from this dropout: while training it zeroes the predictions",
                    node.span,
                    "put the dropout before the last dense layer, as `dropout 0.5 | dense 10 softmax`",
                ),
                node,
            )
    if memo is not None:
        memo.nodes, memo.quiet = model.nodes, quiet
    return found


def _size_condition(model: Model, node: TypedNode) -> CnnWarning:
    condition = " and ".join(c.text() for c in node.conditions)
    names = sorted({name for c in node.conditions for name in c.names})
    what = (
        f"the branches of this `{node.layer.keyword}` agree"
        if len(node.inputs) > 1
        else f"the values of this `{node.layer.keyword}` fit its shape"
    )
    return SizeCondition(
        f"{what} only when {condition}, and the model fails when run at other sizes ({model.symbol_text(names)})",
        node.span,
        "give the input such a size, or change the strides or padding so that the branches agree at every size"
        if len(node.inputs) > 1
        else "give the input such a size, or write the axis that depends on it as -1",
    )


def _channels_first(node: TypedNode) -> CnnWarning | None:
    shape = node.shape
    if len(shape) < 3 or None in shape or shape[0] not in (1, 3, 4) or min(shape[1:]) < 8 * shape[0]:
        return None
    written, fix = describe_shape(shape), describe_shape((*shape[1:], shape[0]))
    where = node.layer.span_of("shape")
    return ChannelsFirstInput(
        f"`input {written}` reads as {shape[0]} rows by {shape[1]} columns of {shape[-1]} channels: its first axis "
        "looks like PyTorch's channels, which cnndsl writes last",
        where,
        Hint(
            f"channels come last here: `input {fix}`",
            Edit(f"Change to `{fix}`", fix, original=written, span=where),
        ),
    )


def _bias_before_norm(node: TypedNode, readers) -> CnnWarning | None:
    layer = node.layer
    options = layer.options
    if options.get("bias") is not True or options.get("activation") not in (None, "linear") or node.implicit:
        return None
    if len(readers) != 1 or readers[0].layer.keyword not in _NORMS:
        return None
    span = layer.span
    edits = ()
    if span.line == span.end_line:
        end = span.at(span.line, span.end_column, span.line, span.end_column)
        edits = (Edit("Add `nobias`", " nobias", span=end),)
    return BiasBeforeBatchNorm(
        f"the bias of this `{layer.keyword}` is cancelled by the batch norm right after it "
        f"({node.shape[-1]:,} parameters that never learn anything)",
        span,
        Hint("write `nobias` on it: the batch norm's β is the bias", *edits),
    )


_WORDS = {1: ("step",), 2: ("row", "column"), 3: ("plane", "row", "column")}


def _dropped_border(model: Model, node: TypedNode) -> CnnWarning | None:
    if not node.in_shapes or len(node.in_shapes) != 1:
        return None
    in_shape, shape = node.in_shapes[0], node.shape
    if len(in_shape) < 2 or len(shape) != len(in_shape) or node.layer.keyword in ("zeropad", "crop"):
        return None
    windows = node.layer.window(node)
    if not windows:
        return None
    before = model.nodes[node.inputs[0]]
    padded_after = [0] * len(windows)
    if before.layer.keyword == "zeropad" and before.resolved.get("pads"):
        padded_after = [after for _, after in before.resolved["pads"]]
    rank = len(windows)
    dropped, worked = [], []
    for i, window in enumerate(windows):
        n, out = in_shape[i], shape[i]
        k, s, b = window.size, window.stride, window.before
        if not all(type(v) is int for v in (n, out, k, s, b)) or s <= 1 or k < s:
            return None  # a window narrower than its stride skips inputs everywhere, by design (a strided 1x1)
        last = (out - 1) * s - b + k - 1  # the last input position the last window reads
        unread = n - 1 - last - padded_after[i]  # zeros that a zeropad added after are no loss
        if unread > 0:
            words = _WORDS.get(rank) or tuple(f"position on {name}" for name in axis_names(rank))
            word = words[i] if i < len(words) else "position"
            dropped.append(f"{unread} {word}{'s' if unread > 1 else ''}")
            worked.append(f"({n} − {k}) mod {s} = {(n - k) % s}")
    if not dropped:
        return None
    parts = dropped[0] if len(dropped) == 1 else ", ".join(dropped[:-1]) + " and " + dropped[-1]
    unique = sorted(set(worked), key=worked.index)
    ceil = " or `ceil`" if node.layer.keyword in ("maxpool", "pool", "max_pool") else ""
    return DroppedBorder(
        f"this `{node.layer.keyword}` never reads the last {parts} of its {describe_shape(in_shape[:-1])} input: "
        f"{'; '.join(unique)}",
        node.span,
        f"`same` padding{ceil} reads them, or give it an input the window and stride tile (n − k a multiple of s)",
    )


@cache
def _activation_kinds() -> tuple[type, ...]:
    from ..layers.activation import Activation, LeakyReLU, ReLU6

    return (Activation, ReLU6, LeakyReLU)


def _activation_of(node: TypedNode) -> str | None:
    """The activation a node applies last: its own kind, or a fused `relu`; None for none."""
    layer = node.layer
    if isinstance(layer, _activation_kinds()):
        word = getattr(layer, "function", layer.keyword)
        return None if word == "linear" else layer.keyword
    fused = layer.options.get("activation") if isinstance(layer.options, dict) else None
    return None if fused in (None, "linear") else fused


def _stacked_activation(model: Model, node: TypedNode) -> CnnWarning | None:
    if not isinstance(node.layer, _activation_kinds()) or len(node.inputs) != 1:
        return None
    this = _activation_of(node)
    before = _activation_of(model.nodes[node.inputs[0]])
    if this is None or before is None:
        return None
    if before == "softmax":
        message = f"`{this}` after a `softmax`: its probabilities already sum to 1, and `{this}` distorts them"
        hint = "end the network with the `softmax`, or drop it and keep this activation"
    elif this == before and this in _IDEMPOTENT:
        message = f"`{this}` right after `{before}` changes nothing: {this}({this}(x)) is {this}(x)"
        hint = f"remove one `{this}`"
    else:
        message = f"`{this}` right after `{before}`: two activations in a row"
        hint = "keep one activation between two layers with weights"
    return StackedActivation(message, node.span, hint)


def _dominant(model: Model, node: TypedNode, total: int) -> CnnWarning | None:
    params = node.info.params
    if node.layer.keyword not in ("dense", "fc") or params < DOMINANT_PARAMS or params <= DOMINANT_SHARE * total:
        return None
    flatten = model.nodes[node.inputs[0]]
    if flatten.layer.keyword != "flatten" or not flatten.in_shapes:
        return None
    spatial = flatten.in_shapes[0]
    if len(spatial) < 2 or None in spatial or all(n == 1 for n in spatial[:-1]):
        return None
    share, units = params / total, node.shape[-1]
    return DominantLayer(
        f"this `{node.layer.keyword}` holds {params:,} of the network's {total:,} parameters ({int(share * 100)}%): "
        f"it reads the {describe_shape(spatial)} map flattened to {flatten.shape[0]:,} values",
        node.span,
        f"`gap` before it (global average pooling) gives it {spatial[-1]:,} inputs instead, "
        f"and {spatial[-1] * units + (units if node.layer.options.get('bias') else 0):,} parameters",
    )


def _zero_epsilon(node: TypedNode) -> CnnWarning | None:
    layer = node.layer
    if "eps" not in layer.options or layer.options["eps"] != 0:
        return None
    default = "1e-5" if layer.conventions == "pytorch" else "1e-3"
    where = layer.spans.get("eps")
    edits = ()
    if where is not None and where.line == where.end_line and layer.span.line == where.line:
        edits = (Edit(f"Use eps {default}", f"eps {default}", span=where),)
    return ZeroEpsilon(
        f"`{layer.keyword}` with `eps 0` gives NaN on a constant input (its variance is 0)",
        where or layer.span,
        Hint(f"leave the default (`eps {default}`), or give a small positive number", *edits),
    )
