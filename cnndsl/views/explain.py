"""`cnndsl explain`: the arithmetic behind every figure, with the file's own numbers.

Each layer kind writes its own rules (`explain_shape`, `explain_params`,
`explain_macs` in cnndsl/layers); this module adds what every node shares
(input and output shapes, activation size, merges), block subtotals and totals.
Nothing here computes a shape: every figure is read from the inferred model.
"""

from __future__ import annotations

from ..core.source import visible
from ..layers.base import dot, figure, prod
from ..model.infer import Model, TypedNode
from ..model.memory import DTYPE_BYTES, known_sum, times
from .text import call_label, line_place, shape_text

INDENT = "  "


def explain_parts(
    model: Model, node: TypedNode, layout: str = "channels_last", dtype: str = "float32", batch: int | None = None
) -> dict[str, list[str]]:
    """One node's arithmetic by topic: `inputs`, `shape`, `params`, `macs`, `activations`, `field`.

    Each value is a list of lines without indentation; a topic with nothing to
    say is an empty list. An editor hover can show any of them alone.
    """
    layer = node.layer
    inputs = [f"{model.nodes[i].name} {shape_text(model.nodes[i].symbolic, batch, layout)}" for i in node.inputs]
    if len(inputs) > 1:
        inputs = [f"joins {len(inputs)} branches: " + ", ".join(inputs)]
    elif inputs:
        inputs = [f"from {inputs[0]}"]
    size = DTYPE_BYTES[dtype]
    values = node.activations
    if node.shares is not None and node.info.params:
        first = model.nodes[node.shares]
        params = [f"the weights of {first.name}'s first use ({line_place(first.span)}), counted there: 0 more"]
    elif node.info.params:
        params = layer.explain_params(node) or [f"{figure(node.info.params)}"]
        if node.info.non_trainable and node.info.trainable:
            params.append(f"trainable {figure(node.info.trainable)}, non-trainable {figure(node.info.non_trainable)}")
    else:
        params = ["none"]
    if node.info.macs is None:
        macs = [f"unknown: {model.unknown_reason()}"]
    else:
        macs = layer.explain_macs(node) if node.info.macs else ["none counted (only convolutions and dense layers)"]
    if values is None:
        activations = [f"unknown: {dot(*node.shape)} values, and {model.unknown_reason()}"]
        count = _symbolic_count(node)
        if count is not None:  # `16·floor(h/2)·floor(w/2)`: the count at any size
            activations.append(f"that is {count} values")
    else:
        batch_note = f"; ·{batch} for the batch = {figure(values * batch * size)} bytes" if batch and batch > 1 else ""
        activations = [
            f"{dot(*node.shape)} = {figure(values)} values" if len(node.shape) > 1 else f"{figure(values)} values",
            f"{figure(values)}·{size} = {figure(values * size)} bytes as {dtype}, per example{batch_note}",
        ]
    return {
        "values": [worked.text() for worked in layer.worked],
        "inputs": inputs,
        "shape": [shape_text(node.symbolic, batch, layout)]
        + ([f"agrees when {' and '.join(c.text() for c in node.conditions)}"] if node.conditions else [])
        + layer.explain_shape_in(node, layout),
        "params": params,
        "macs": macs,
        "activations": activations,
        "field": field_lines(model, node),
    }


def _symbolic_count(node: TypedNode) -> str | None:
    """The number of values of the node's output as an expression of the `?` axes, or None."""
    if node.sizes is None or None in node.sizes:
        return None
    try:
        return str(prod(node.sizes))
    except ArithmeticError:  # past the bound on an expression's length (cnndsl.core.sizes.Undecided)
        return None


def field_lines(model: Model, node: TypedNode) -> list[str]:
    """The receptive field and effective stride, with the recurrence r = r_in + (k − 1)·j_in, j = j_in·s."""
    from ..model.receptive import plain

    fields = model.receptive_fields
    field = fields[node.id]
    if field is None:
        return ["none: no spatial axes here"]
    if field.whole:
        return ["the whole input: a branch or layer upstream reduced the positions to one (or reshaped them)"]
    from .text import axes_text

    padding = axes_text(field.padding)
    lines = [f"{axes_text(field.size)}, effective stride {axes_text(field.stride)}, effective padding {padding}"]
    windows = node.layer.window(node) if node.inputs else None
    before = fields[node.inputs[0]] if len(node.inputs) == 1 else None
    if windows and before is not None and not before.whole and any(w.size != 1 or w.stride != 1 for w in windows):
        from ..layers.base import axis_names

        for name, w, r_in, j_in, r, j in zip(
            axis_names(len(windows)), windows, before.size, before.stride, field.size, field.stride
        ):
            lines.append(
                f"{name}: {plain(r_in)} + ({plain(w.size)} − 1)·{plain(j_in)} = {plain(r)}; "
                f"stride {plain(j_in)}·{plain(w.stride)} = {plain(j)}"
            )
    if field.note:
        lines.append("note: " + field.note)
    elif field.padding is not None and None in field.padding and None not in field.size:
        lines.append(
            "padding unknown: a strided `same` window here or upstream pads by an amount its input's size decides; "
            + model.unknown_reason()
        )
    return lines


LABELS = {
    "values": "values",
    "inputs": "input",
    "shape": "output",
    "params": "params",
    "macs": "MACs",
    "activations": "activations",
    "field": "field",
}


def explain_node(
    model: Model, node: TypedNode, layout: str = "channels_last", dtype: str = "float32", batch: int | None = None
) -> list[str]:
    """The lines `cnndsl explain` prints for one node, its heading first."""
    lines = [heading(model, node)]
    width = max(len(label) for label in LABELS.values()) + 1
    for topic, body in explain_parts(model, node, layout, dtype, batch).items():
        for k, text in enumerate(body):
            label = f"{LABELS[topic]}:" if k == 0 else ""
            lines.append(f"{INDENT}{label:<{width}} {text}")
    return lines


def heading(model: Model, node: TypedNode) -> str:
    where = line_place(node.span)
    if model.source is not None:
        # its comment may hold an escape sequence
        written = visible(node.span.source(model.source).line(node.span.line).strip())
        where += f": {written}"
    implicit = ", implicit" if node.implicit else ""
    return f"{node.name} ({node.keras_type}{implicit}), {where}"


def block_members(model: Model) -> dict[int, list[TypedNode]]:
    """Each block call's nodes, by call id, in one pass (a pass over the model for each call would
    read it 16,000 times for 16,000 calls)."""
    members: dict[int, list[TypedNode]] = {}
    for node in model.nodes:
        for call in node.blocks:
            members.setdefault(call.id, []).append(node)
    return members


def own_params(node: TypedNode) -> int:
    """Parameters this node adds: a shared layer's count at its first use only."""
    return node.info.params if node.shares is None else 0


def call_ordinals(model: Model) -> dict[int, str]:
    """Each block call's place among the calls of its block, in the order the file makes them:
    `call 2 of 13` (for the user, unlike the call's id, which counts the calls of every block)."""
    calls: dict[str, dict[int, None]] = {}
    for node in model.nodes:
        for call in node.blocks:
            calls.setdefault(call.name, {})[call.id] = None
    return {
        call_id: f"call {place} of {len(ids)}"
        for ids in calls.values()
        for place, call_id in enumerate(ids, start=1)
    }


def subtotal(model: Model, call, members: dict, dtype: str = "float32", ordinals: dict[int, str] | None = None) -> str:
    place = (ordinals or call_ordinals(model))[call.id]
    return f"subtotal of {call_label(call, model.source)} ({place}, {line_place(call.span)}): " + call_figures(
        members[call.id], dtype
    )


def call_figures(nodes: list[TypedNode], dtype: str = "float32") -> str:
    """A block call's layers (`nodes`, from `block_members`), parameters, MACs, activations and output
    shape, in one line."""
    params = sum(own_params(n) for n in nodes)
    terms = [figure(own_params(n)) for n in nodes if own_params(n)]
    sum_text = f" = {' + '.join(terms)}" if 1 < len(terms) <= 12 else ""
    macs = known_sum(n.info.macs for n in nodes)
    values = known_sum(n.activations for n in nodes)
    return (
        f"{len(nodes)} layer{'s' if len(nodes) != 1 else ''}, params {figure(params)}{sum_text}, MACs {figure(macs)}, "
        f"activations {figure(values)} values ({figure(times(values, DTYPE_BYTES[dtype]))} bytes), "
        f"output {shape_text(nodes[-1].shape)}"
    )


def select(model: Model, names) -> list[TypedNode]:
    """The nodes named, in the model's order; a name that is not a layer raises KeyError."""
    by_name = {node.name: node for node in model.nodes}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise KeyError(missing[0])
    wanted = set(names)
    return [node for node in model.nodes if node.name in wanted]


def explain_text(
    model: Model,
    layers=None,
    layout: str = "channels_last",
    dtype: str = "float32",
    batch: int | None = None,
    optimizer: str = "adam",
) -> str:
    """The whole explanation: every node (or those named), block subtotals, then the totals."""
    if layers:
        return "\n\n".join("\n".join(explain_node(model, n, layout, dtype, batch)) for n in select(model, layers))
    out: list[str] = [f'Model "{model.name}": every figure worked out (shapes {layout.replace("_", " ")})', ""]
    if model.symbols:  # the names the sizes of `?` axes are written in
        out[1:1] = [f"Sizes: {model.symbol_text()}" + (f"; runs when {model.conditions_text()}" if model.conditions else "")]
    open_calls: list = []
    ordinals = call_ordinals(model)
    members = block_members(model)
    for node in model.nodes:
        while open_calls and open_calls[-1] not in node.blocks:
            call = open_calls.pop()
            out += [INDENT * len(open_calls) + "└ " + subtotal(model, call, members, dtype, ordinals), ""]
        for call in node.blocks[len(open_calls) :]:
            out += [
                INDENT * len(open_calls)
                + f"┌ {call_label(call, model.source)} (block `{call.name}`, {ordinals[call.id]}, {line_place(call.span)})"
            ]
            open_calls.append(call)
        pad = INDENT * len(open_calls)
        out += [pad + line for line in explain_node(model, node, layout, dtype, batch)] + [""]
    while open_calls:
        call = open_calls.pop()
        out += [INDENT * len(open_calls) + "└ " + subtotal(model, call, members, dtype, ordinals), ""]
    out += totals(model, dtype, batch or 1, optimizer)
    return "\n".join(out)


def totals(model: Model, dtype: str = "float32", batch: int = 1, optimizer: str = "adam") -> list[str]:
    terms = [figure(own_params(n)) for n in model.nodes if own_params(n)]
    params_sum = f" = {' + '.join(terms)}" if 1 < len(terms) <= 12 else ""
    values = [figure(n.activations) for n in model.layers]
    values_sum = f" = {' + '.join(values)}" if 1 < len(values) <= 12 else ""
    memory = model.memory(batch, dtype, optimizer)
    size = DTYPE_BYTES[dtype]
    unknown = [f"{INDENT}? is unknown: {model.unknown_reason()}"] if model.unknown_inputs else []
    return [
        "Totals",
        *unknown,
        f"{INDENT}params: {figure(model.total)}{params_sum}",
        f"{INDENT}        trainable {figure(model.trainable)}, non-trainable {figure(model.non_trainable)}",
        f"{INDENT}MACs: {figure(model.macs)} per example",
        *(
            [f"{INDENT}      training-only: {figure(model.training_macs)} more (`| output train`, run only while training)"]
            if model.training_outputs
            else []
        ),
        f"{INDENT}activations: {figure(model.activations)} values per example{values_sum}",
        f"{INDENT}memory ({dtype}, {size} bytes a value; batch {batch}; {optimizer}):",
        f"{INDENT}  parameters {figure(model.total)}·{size} = {figure(memory.params_bytes)} bytes",
        f"{INDENT}  input {figure(known_sum(model.nodes[i].activations for i in model.inputs))}·{size}·{batch} = "
        f"{figure(memory.input_bytes)} bytes",
        f"{INDENT}  activations {figure(model.activations)}·{size}·{batch} = {figure(memory.activations_bytes)} bytes",
        f"{INDENT}  inference peak {figure(memory.inference_peak_bytes)} bytes "
        "(parameters + the most tensors alive at once)",
        f"{INDENT}  training {figure(memory.training_bytes)} bytes "
        "(parameters, gradients, optimizer state, input and activations)",
    ]
