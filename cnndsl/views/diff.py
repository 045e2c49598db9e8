"""What changed between two models, layer by layer, and in every total.

Layers are matched by their place in the graph, not by index: the two
layer sequences (in the files' order) are aligned like lines in a text diff,
first on everything about a layer (type, label, shape and numbers), then,
between the unchanged layers, on the Keras type alone. So one inserted layer
is one insertion, and Keras's automatic names shifting after it (`conv2d_1`
becoming `conv2d_2`) is not a change; a label the file chose is matched by
name, and renaming it is a change.
"""

from __future__ import annotations

import difflib
import re

from ..core.records import dataclass
from ..layers import to_snake_case
from ..layers.activation import SAME_FUNCTION
from ..model.infer import Model, TypedNode
from .text import count_text, option_text, shape_text

TOTALS = (
    ("total_params", "Total params", lambda m: m.total),
    ("trainable_params", "Trainable params", lambda m: m.trainable),
    ("non_trainable_params", "Non-trainable params", lambda m: m.non_trainable),
    ("total_macs", "Total MACs", lambda m: m.macs),
)


@dataclass(frozen=True)
class LayerChange:
    change: str  # "added", "removed" or "changed"
    before: TypedNode | None
    after: TypedNode | None
    fields: tuple[str, ...] = ()  # for "changed": what differs
    options: tuple[tuple[str, object, object], ...] = ()  # (option, before, after) for each option that differs


@dataclass(frozen=True)
class ModelDiff:
    a: Model
    b: Model
    layers: tuple[LayerChange, ...]

    @property
    def same(self) -> bool:
        return not self.layers and all(get(self.a) == get(self.b) for _, _, get in TOTALS)


def auto_named(node: TypedNode) -> bool:
    """True for a name Keras would have given (`conv2d_3`); a label the file chose is part of the model."""
    base = "input_layer" if node.keras_type == "InputLayer" else to_snake_case(node.keras_type)
    return re.fullmatch(rf"{re.escape(base)}(_\d+)?", node.name) is not None


def options(node: TypedNode) -> dict:
    """Every option of a layer, given or default, as the layer uses it: `conv 8 3`'s kernel is 3x3."""
    resolved = node.resolved
    found = {key: resolved.get(key, value) for key, value in node.layer.options.items()}
    if isinstance(getattr(type(node.layer), "function", None), property):  # `relu` or `sigmoid`: the word is the option
        found = {"function": node.layer.function, **found}
    return found


def _canonical(value, option: str = ""):
    """One form for the ways of writing one value: `3` and `3x3`, `mean 1` and `mean 1 1 1` (broadcast),
    `swish` and `silu` (one function)."""
    if option in ("activation", "function") and isinstance(value, str):
        return SAME_FUNCTION.get(value, value)
    if isinstance(value, (tuple, list)):
        items = tuple(_canonical(v) for v in value)
        return items[:1] if items and all(v == items[0] for v in items) else items
    return value


def _option_changes(a: TypedNode, b: TypedNode) -> tuple[tuple[str, object, object], ...]:
    before, after = options(a), options(b)
    names = [*before, *(k for k in after if k not in before)]
    missing = object()
    return tuple(
        (name, before.get(name), after.get(name))
        for name in names
        if _canonical(before.get(name, missing), name) != _canonical(after.get(name, missing), name)
    )


def _facts(node: TypedNode) -> tuple:
    """A layer's type, its label if the file chose one, its options and its numbers: equal facts mean an unchanged layer."""
    label = None if auto_named(node) else node.name
    settings = tuple(sorted((k, _canonical(v, k)) for k, v in options(node).items()))
    shape = node.shape
    return (node.keras_type, label, shape, node.info.trainable, node.info.non_trainable, node.info.macs, settings)


# difflib's matcher is quadratic in the layers between the common start and end (18 s for
# `(relu) * 9999` against itself); past this many cell pairs, the middles pair up by place.
MAX_ALIGN_CELLS = 4_000_000


def _align(a: list, b: list) -> list[tuple[int | None, int | None]]:
    """Index pairs, like lines in a text diff; None on the side where a layer is missing.

    Linear in the layers but for a middle part (after the common start and end) small enough
    to align exactly."""
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end = 0
    while end < len(a) - start and end < len(b) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    pairs: list[tuple[int | None, int | None]] = [(i, i) for i in range(start)]
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    if len(middle_a) * len(middle_b) > MAX_ALIGN_CELLS:
        common = min(len(middle_a), len(middle_b))
        pairs += [(start + k, start + k) for k in range(common)]
        pairs += [(start + k, None) for k in range(common, len(middle_a))]
        pairs += [(None, start + k) for k in range(common, len(middle_b))]
    else:
        pairs += [
            (None if i is None else start + i, None if j is None else start + j)
            for i, j in _matched(middle_a, middle_b)
        ]
    pairs += [(len(a) - end + k, len(b) - end + k) for k in range(end)]
    return pairs


def _matched(a: list, b: list) -> list[tuple[int | None, int | None]]:
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    pairs: list[tuple[int | None, int | None]] = []
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            pairs += zip(range(i1, i2), range(j1, j2))
        else:
            pairs += [(i, None) for i in range(i1, i2)] + [(None, j) for j in range(j1, j2)]
    return pairs


def _differences(a: TypedNode, b: TypedNode, match: dict[int, int], unmatched_b: set[int]) -> tuple[str, ...]:
    fields = []
    if a.keras_type != b.keras_type:
        fields.append("type")
    if not (auto_named(a) and auto_named(b)) and a.name != b.name:
        fields.append("name")
    if a.shape != b.shape:
        fields.append("output_shape")
    if (a.info.trainable, a.info.non_trainable) != (b.info.trainable, b.info.non_trainable):
        fields.append("params")
    if a.info.macs != b.info.macs:
        fields.append("macs")
    if _option_changes(a, b):
        fields.append("options")
    # Rewiring between matched layers is a change; an input that was inserted or removed is its own entry.
    if all(i in match for i in a.inputs) and not unmatched_b.intersection(b.inputs):
        if [match[i] for i in a.inputs] != list(b.inputs):
            fields.append("inputs")
    return tuple(fields)


def diff_models(a: Model, b: Model) -> ModelDiff:
    # Unchanged layers anchor the alignment; between anchors, layers of the same kind pair up as changes.
    pairs: list[tuple[int | None, int | None]] = []
    anchored = _align([_facts(n) for n in a.nodes], [_facts(n) for n in b.nodes])
    k = 0
    while k < len(anchored):
        if None not in anchored[k]:
            pairs.append(anchored[k])
            k += 1
            continue
        end = k
        while end < len(anchored) and None in anchored[end]:
            end += 1
        left = [i for i, _ in anchored[k:end] if i is not None]
        right = [j for _, j in anchored[k:end] if j is not None]
        kinds_a, kinds_b = [a.nodes[i].keras_type for i in left], [b.nodes[j].keras_type for j in right]
        for i, j in _align(kinds_a, kinds_b):
            pairs.append((None if i is None else left[i], None if j is None else right[j]))
        k = end
    match = {i: j for i, j in pairs if i is not None and j is not None}
    unmatched_b = {j for i, j in pairs if i is None}
    changes = []
    for i, j in pairs:
        if j is None:
            changes.append(LayerChange("removed", a.nodes[i], None))
        elif i is None:
            changes.append(LayerChange("added", None, b.nodes[j]))
        elif fields := _differences(a.nodes[i], b.nodes[j], match, unmatched_b):
            before, after = a.nodes[i], b.nodes[j]
            changes.append(LayerChange("changed", before, after, fields, _option_changes(before, after)))
    return ModelDiff(a, b, tuple(changes))


def _json_value(value):
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "±0"


def _delta(before: int | None, after: int | None) -> str:
    if before is None or after is None:  # a figure that depends on an axis of unknown size
        return f"{count_text(before)} → {count_text(after)}" if before != after else "? (unknown)"
    return f"{before:,} → {after:,} ({_signed(after - before)})" if before != after else f"{after:,} (unchanged)"


def format_diff(diff: ModelDiff, name_a: str, name_b: str) -> str:
    """A readable report: each added, removed or changed layer, then every total before and after."""
    out = [f"--- {name_a}", f"+++ {name_b}"]
    for change in diff.layers:
        node = change.after or change.before
        sign = {"added": "+", "removed": "-", "changed": "~"}[change.change]
        lines = [c.span.line for c in (change.before, change.after) if c is not None]
        where = f"line {lines[0]}" if len(set(lines)) == 1 else f"line {lines[0]} → line {lines[1]}"
        if node.blocks:  # the calls that made it, outermost first, in the file it is in now
            where += " in " + " > ".join(f"{call.name} (line {call.span.line})" for call in node.blocks)
        if change.change != "changed":
            out.append(
                f"{sign} {node.name} ({node.keras_type}) at {where}: {shape_text(node.shape)}, "
                f"{node.info.params:,} params, {count_text(node.info.macs)} MACs"
            )
            continue
        a, b = change.before, change.after
        title = b.name if a.name == b.name or auto_named(a) and auto_named(b) else f"{a.name} → {b.name}"
        out.append(f"{sign} {title} ({b.keras_type}) at {where}")
        if "type" in change.fields:
            out.append(f"    type          {a.keras_type} → {b.keras_type}")
        for name, before, after in change.options:
            out.append(f"    {name:<13} {option_text(before)} → {option_text(after)}")
        if "output_shape" in change.fields:
            out.append(f"    output shape  {shape_text(a.shape)} → {shape_text(b.shape)}")
        if "params" in change.fields:
            out.append(f"    params        {_delta(a.info.params, b.info.params)}")
        if "macs" in change.fields:
            out.append(f"    MACs          {_delta(a.info.macs, b.info.macs)}")
        if "inputs" in change.fields:
            out.append(
                f"    inputs        {', '.join(diff.a.nodes[i].name for i in a.inputs)}"
                f" → {', '.join(diff.b.nodes[i].name for i in b.inputs)}"
            )
    if diff.same:
        out.append(
            f"no differences: {len(diff.b.layers)} layers, {diff.b.total:,} params, {count_text(diff.b.macs)} MACs"
        )
        return "\n".join(out)
    counts = {kind: sum(c.change == kind for c in diff.layers) for kind in ("added", "removed", "changed")}
    out.append(", ".join(f"{n} {kind}" for kind, n in counts.items()))
    out += [f" {label}: {_delta(get(diff.a), get(diff.b))}" for _, label, get in TOTALS]
    return "\n".join(out)


def _layer(node: TypedNode | None, model: Model) -> dict | None:
    if node is None:
        return None
    return {
        "name": node.name,
        "type": node.keras_type,
        "output_shape": [None, *node.shape],
        "params": node.info.params,
        "trainable_params": node.info.trainable,
        "non_trainable_params": node.info.non_trainable,
        "macs": node.info.macs,
        "inputs": [model.nodes[i].name for i in node.inputs],
        "line": node.span.line,
        "blocks": [{"name": call.name, "line": call.span.line} for call in node.blocks],
    }


def _change(before: int | None, after: int | None) -> int | None:
    """After minus before; None (JSON null) when either depends on an axis of unknown size."""
    return None if before is None or after is None else after - before


def diff_dict(diff: ModelDiff, name_a: str, name_b: str) -> dict:
    """The JSON form: every layer change with both sides, and every total before, after and the change."""
    return {
        "a": name_a,
        "b": name_b,
        "same": diff.same,
        "layers": [
            {
                "change": c.change,
                "fields": list(c.fields),
                "options": [
                    {"name": name, "before": _json_value(before), "after": _json_value(after)}
                    for name, before, after in c.options
                ],
                "before": _layer(c.before, diff.a),
                "after": _layer(c.after, diff.b),
            }
            for c in diff.layers
        ],
        "totals": {
            key: {"before": get(diff.a), "after": get(diff.b), "change": _change(get(diff.a), get(diff.b))}
            for key, _, get in TOTALS
        },
    }
