"""The Keras-style summary table, and the same facts as JSON."""

from __future__ import annotations

from .infer import Model, TypedNode

UNICODE_BOX = {
    "top": "┏━┳┓",
    "head": "┃┃┃",
    "head_rule": "┡━╇┩",
    "row": "│││",
    "rule": "├─┼┤",
    "bottom": "└─┴┘",
}
ASCII_BOX = {
    "top": "+-++",
    "head": "|||",
    "head_rule": "+=++",
    "row": "|||",
    "rule": "+-++",
    "bottom": "+-++",
}


def readable_memory_size(size: float) -> str:
    """Keras's own formatting of a byte count (`245.93 KB`)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def format_shape(shape: tuple[int, ...], batch: int | None) -> str:
    return "(" + ", ".join(["None" if batch is None else str(batch), *map(str, shape)]) + ")"


def _rows(model: Model, batch: int | None, macs: bool, view=None) -> tuple[list[str], list[list[list[str]]], list[str]]:
    if view is not None:  # chosen columns, a layout or block rows (cnndsl.columns)
        from .columns import view_rows

        return view_rows(model, batch, macs, view)
    functional = not model.sequential
    header = ["Layer (type)", "Output Shape", "Param #"]
    align = ["<", "<", ">"]
    if macs:
        header.append("MACs")
        align.append(">")
    if functional:
        header.append("Connected to")
        align.append("<")
    rows = []
    shapes: dict = {}  # most layers share their output shape with others
    for node in model.keras_order if functional else model.layers:
        # Keras shows a shared layer's shape from its last use; a Sequential model shares no layer.
        shape = model.calls[node.id][-1].shape if functional else node.info.shape
        shown = shapes.get(shape)
        if shown is None:
            shown = shapes[shape] = format_shape(shape, batch)
        cells = [[f"{node.name} ({node.keras_type})"], [shown], [f"{node.info.params:,}"]]
        if macs:
            cells.append([count_text(_macs(model, node))])
        if functional:
            cells.append(_connected(model, node))
        rows.append(cells)
    return header, rows, align


def _connected(model: Model, node: TypedNode) -> list[str]:
    """Keras's `name[use][0]` for every tensor each use of the layer reads."""
    names = [
        f"{model.nodes[i].name}[{model.nodes[i].call_index}][0]" for use in model.calls[node.id] for i in use.inputs
    ]
    if not names:
        return ["-"]
    return [name + ("," if i < len(names) - 1 else "") for i, name in enumerate(names)]


def _macs(model: Model, node: TypedNode) -> int | None:
    """A shared layer computes once per use; None when it depends on an axis of unknown size."""
    from .memory import known_sum

    return known_sum(use.info.macs for use in model.calls[node.id])


def count_text(value: int | None) -> str:
    from .memory import count_text

    return count_text(value)


def format_summary(
    model: Model, batch: int | None = None, macs: bool = False, ascii_only: bool = False, view=None
) -> str:
    """The table `model.summary()` prints in Keras 3, with its exact footer."""
    box = ASCII_BOX if ascii_only else UNICODE_BOX
    header, rows, align = _rows(model, batch, macs, view)
    widths = [
        max(len(heading), max((len(line) for cells in rows for line in cells[i]), default=0))
        for i, heading in enumerate(header)
    ]

    def rule(kind: str) -> str:
        left, fill, cross, right = box[kind]
        return left + cross.join(fill * (w + 2) for w in widths) + right

    def line(kind: str, cells: list[str]) -> str:
        left, mid, right = box[kind]
        parts = [f" {cell:{a}{w}} " for cell, a, w in zip(cells, align, widths)]
        return left + mid.join(parts) + right

    out = [f'Model: "{model.name}"', rule("top"), line("head", header), rule("head_rule")]
    separator = rule("rule")
    # A row is one line unless a cell has several (a merge's inputs): one format for all such rows.
    left, mid, right = box["row"]
    one_line = left + mid.join(f" {{:{a}{w}}} " for a, w in zip(align, widths)) + right
    for r, cells in enumerate(rows):
        if r:
            out.append(separator)
        height = max(map(len, cells))
        if height == 1:
            out.append(one_line.format(*[cell[0] for cell in cells]))
            continue
        for k in range(height):
            out.append(line("row", [c[k] if k < len(c) else "" for c in cells]))
    out.append(rule("bottom"))
    out += footer(model, macs, view, batch)
    return "\n".join(out)


def footer(model: Model, macs: bool = False, view=None, batch: int | None = None) -> list[str]:
    trainable, non_trainable = model.trainable, model.non_trainable  # each a sum over every layer
    total = trainable + non_trainable
    lines = [
        f" Total params: {total:,} ({readable_memory_size(total * 4)})",
        f" Trainable params: {trainable:,} ({readable_memory_size(trainable * 4)})",
        f" Non-trainable params: {non_trainable:,} ({readable_memory_size(non_trainable * 4)})",
    ]
    if macs or (view is not None and view.columns is not None and "macs" in view.columns):
        if model.macs is None:
            lines.append(f" Total MACs: ? (unknown: {model.unknown_reason()})")
        else:
            lines.append(f" Total MACs: {model.macs:,} ({readable_count(model.macs)} per example)")
    if view is not None and view.memory:
        from .columns import memory_footer

        lines += memory_footer(model, batch, view)
    return lines


def readable_count(count: int) -> str:
    """3,857,973,248 as `3.86 G`: decimal prefixes, as MACs and FLOPs are quoted."""
    for prefix, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= size:
            return f"{count / size:.2f} {prefix}"
    return str(count)


def summary_dict(
    model: Model,
    batch: int | None = None,
    dtype: str = "float32",
    optimizer: str = "adam",
    layout: str = "channels_last",
) -> dict:
    """The JSON form: every row and the totals; the batch axis is null unless given."""
    from .layers.base import to_layout
    from .memory import DTYPE_BYTES
    from .receptive import plain

    def axes(values):
        return None if values is None else [plain(v) for v in values]

    fields = model.receptive_fields
    layers = []
    for node in model.keras_order if not model.sequential else model.layers:
        if node.id in model.inputs:
            continue
        uses = model.calls[node.id]
        field = fields[node.id]
        layers.append(
            {
                "name": node.name,
                "type": node.keras_type,
                "output_shape": [batch, *to_layout(uses[-1].shape, layout)],
                "params": node.info.params,
                "trainable_params": node.info.trainable,
                "non_trainable_params": node.info.non_trainable,
                "macs": _macs(model, node),
                "inputs": [model.nodes[i].name for use in uses for i in use.inputs],
                "implicit": node.implicit,
                "line": node.span.line,
                "activations": node.activations,
                "activation_bytes": None
                if node.activations is None
                else node.activations * (batch or 1) * DTYPE_BYTES[dtype],
                "receptive_field": axes(field.size if field else None),
                "effective_stride": axes(field.stride if field else None),
                "receptive_field_note": field.note if field and field.note else None,
                "blocks": [{"id": c.id, "name": c.name, "line": c.span.line} for c in node.blocks],
            }
        )
    return {
        "name": model.name,
        "input_shape": [batch, *to_layout(model.input.shape, layout)],
        "output_shape": [batch, *to_layout(model.output_shape, layout)],
        "inputs": [
            {"name": model.nodes[i].name, "shape": [batch, *to_layout(model.nodes[i].shape, layout)]}
            for i in model.inputs
        ],
        "outputs": [
            {"name": model.nodes[i].name, "shape": [batch, *to_layout(model.nodes[i].shape, layout)]}
            for i in model.outputs
        ],
        "layout": layout,
        "layers": layers,
        "total_params": model.total,
        "trainable_params": model.trainable,
        "non_trainable_params": model.non_trainable,
        "total_macs": model.macs,
        "memory_bytes": model.total * 4,
        "sequential": model.sequential,
        "total_activations": model.activations,
        "memory": model.memory(batch or 1, dtype, optimizer).as_dict(),
    }


def _flat_rows(model: Model, batch: int | None, macs: bool, view=None) -> tuple[list[str], list[list[str]], list[str]]:
    """The table's header and rows, each cell on one line (a merge's inputs joined by spaces)."""
    header, rows, align = _rows(model, batch, macs, view)
    return header, [[" ".join(cell) for cell in cells] for cells in rows], align


def format_markdown(model: Model, batch: int | None = None, macs: bool = False, view=None) -> str:
    """The table as GitHub-flavoured Markdown, totals below it, for a README or a paper."""
    header, rows, align = _flat_rows(model, batch, macs, view)
    rule = {"<": ":--", ">": "--:"}
    out = [f"**{model.name}**", "", "| " + " | ".join(header) + " |", "|" + "|".join(rule[a] for a in align) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |" for cells in rows]
    out.append("")
    out += [line.strip() + "  " for line in footer(model, macs, view, batch)]
    out[-1] = out[-1].rstrip()
    return "\n".join(out)


CSV_COLUMNS = ("name", "type", "output_shape", "params", "trainable_params", "non_trainable_params", "macs", "inputs")


def format_csv(model: Model, batch: int | None = None, layout: str = "channels_last") -> str:
    """One header row and one row per layer, with the JSON keys as column names."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for layer in summary_dict(model, batch, layout=layout)["layers"]:
        shape = format_shape(tuple(layer["output_shape"][1:]), batch)
        writer.writerow(
            [
                *(layer[key] for key in CSV_COLUMNS[:2]),
                shape,
                *(layer[key] for key in CSV_COLUMNS[3:7]),
                " ".join(layer["inputs"]),
            ]
        )
    return out.getvalue()


def format_html(model: Model, batch: int | None = None, macs: bool = False, view=None) -> str:
    """One self-contained <table>: a caption, a header, a row per layer and the totals as its footer."""
    from html import escape

    header, rows, align = _flat_rows(model, batch, macs, view)
    style = {"<": "text-align:left", ">": "text-align:right"}

    def row(tag: str, cells: list[str]) -> str:
        return (
            "<tr>" + "".join(f'<{tag} style="{style[a]}">{escape(c)}</{tag}>' for c, a in zip(cells, align)) + "</tr>"
        )

    out = [
        '<table style="border-collapse:collapse;font-family:monospace">',
        f"<caption>{escape(model.name)}</caption>",
        "<thead>" + row("th", header) + "</thead>",
        "<tbody>",
        *(row("td", cells) for cells in rows),
        "</tbody>",
        "<tfoot>",
        *(
            f'<tr><td colspan="{len(header)}">{escape(line.strip())}</td></tr>'
            for line in footer(model, macs, view, batch)
        ),
        "</tfoot>",
        "</table>",
    ]
    return "\n".join(out)
