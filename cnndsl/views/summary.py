"""The Keras-style summary table, and the same facts as JSON."""

from __future__ import annotations

from ..model.infer import Model, TypedNode
from .columns import HEADERS, KERAS_VIEW, View
from .text import (
    axes_text,
    binary_size,
    call_label,
    count_text,
    layer_title,
    listed,
    markdown_text,
    readable_count,
    readable_memory_size,
    shape_text,
    tensor_name,
)

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


def table_rows(model: Model, batch: int | None, macs: bool, view: View | None = None):
    """Header, rows (each cell a list of lines) and alignment: the one row builder of every table format.

    Without block rows (`depth`), a row is a layer in Keras's order, with Keras's
    own figures for a shared layer: the shape of its last use, the MACs of all
    uses, and every use's inputs. With them, rows follow the file, one a use,
    and each call at the depth limit folds into one row with its subtotals.
    """
    view = view or KERAS_VIEW
    columns = view.chosen(model, macs)
    header = ["Layer (type)"] + [HEADERS[c][0] for c in columns]
    align = ["<"] + [HEADERS[c][1] for c in columns]
    cell = _Cells(model, batch, view)
    rows: list[list[list[str]]] = []
    if view.depth is None:
        functional = not model.sequential
        for node in model.keras_order if functional else model.layers:
            rows.append([[layer_title(node)], *(cell.layer(node, column, functional) for column in columns)])
        return header, rows, align
    # a layer inside a folded call is connected to through the call's row
    cell.labels = {n.id: call_label(n.blocks[view.depth - 1], model.source) for n in model.nodes if len(n.blocks) >= view.depth}
    shown: set[int] = set()
    layer_ids = {n.id for n in model.layers}
    if not model.sequential:  # the input rows the first rows are connected to, as at every depth
        for i in model.inputs:
            if i not in layer_ids:
                rows.append([[layer_title(model.nodes[i])], *(cell.layer(model.nodes[i], c, False) for c in columns)])
    for node in model.layers:
        path = node.blocks
        for level, call in enumerate(path[: view.depth]):
            if call.id in shown:
                continue
            shown.add(call.id)
            nodes = [n for n in model.layers if any(c.id == call.id for c in n.blocks)]
            title = f"{'  ' * level}{call_label(call, model.source)} ({call.name}, {len(nodes)} layer{'s' if len(nodes) != 1 else ''})"
            rows.append([[title], *(cell.call(nodes, column) for column in columns)])
        if len(path) < view.depth:
            title = "  " * len(path) + layer_title(node)
            rows.append([[title], *(cell.layer(node, column, False) for column in columns)])
    return header, rows, align


class _Cells:
    """The cells of one column for a layer's row or a block call's row."""

    def __init__(self, model: Model, batch: int | None, view: View):
        self.model, self.batch, self.view = model, batch, view
        self.labels: dict[int, str] = {}
        self.shapes: dict = {}  # most layers share their output shape with others

    def shape(self, shape) -> list[str]:
        shown = self.shapes.get(shape)
        if shown is None:
            shown = self.shapes[shape] = shape_text(shape, self.batch, self.view.layout)
        return [shown]

    def layer(self, node: TypedNode, column: str, keras_uses: bool) -> list[str]:
        """`keras_uses`: the figures of every use of a shared layer, as Keras's table has them."""
        model = self.model
        if column == "shape":
            # Keras shows a shared layer's shape from its last use; a Sequential model shares no layer.
            return self.shape(model.calls[node.id][-1].shape if keras_uses else node.shape)
        if column == "params":
            return [f"{_own(node, node.info.params):,}"]
        if column == "trainable":
            return [f"{_own(node, node.info.trainable):,}"]
        if column == "macs":
            return [count_text(_macs(model, node) if keras_uses else node.info.macs)]
        if column == "activations":
            return [count_text(node.activations)]
        if column == "memory":
            from ..model.memory import DTYPE_BYTES, times

            return [count_text(times(node.activations, self.batch or 1, DTYPE_BYTES[self.view.dtype]))]
        if column in ("rf", "stride", "padding"):
            return [self._field(node, column)]
        uses = model.calls[node.id] if keras_uses else (node,)
        return self._sources([i for use in uses for i in use.inputs], keep_repeats=keras_uses)

    def call(self, nodes: list[TypedNode], column: str) -> list[str]:
        if column == "shape":
            return self.shape(nodes[-1].shape)
        if column in ("rf", "stride", "padding"):
            return [self._field(nodes[-1], column)]
        if column == "connected":
            inside = {n.id for n in nodes}
            return self._sources(sorted({i for n in nodes for i in n.inputs if i not in inside}))
        from ..model.memory import DTYPE_BYTES, known_sum, times

        batch, size = self.batch or 1, DTYPE_BYTES[self.view.dtype]
        figure = {
            "params": lambda n: _own(n, n.info.params),
            "trainable": lambda n: _own(n, n.info.trainable),
            "macs": lambda n: n.info.macs,
            "activations": lambda n: n.activations,
            "memory": lambda n: times(n.activations, batch, size),
        }[column]
        return [count_text(known_sum(figure(n) for n in nodes))]

    def _field(self, node: TypedNode, column: str) -> str:
        field = self.model.receptive_fields.get(node.id)
        if field is None:
            return axes_text(None)
        return axes_text({"rf": field.size, "stride": field.stride}.get(column, field.padding) or ("?",))

    def _sources(self, ids, keep_repeats: bool = False) -> list[str]:
        """The "Connected to" cell: each input's name, or the folded block call that holds it."""
        nodes = self.model.nodes
        names = [self.labels.get(i) or tensor_name(nodes[i]) for i in ids]
        return listed(names if keep_repeats else list(dict.fromkeys(names)))


def _macs(model: Model, node: TypedNode) -> int | None:
    """A shared layer computes once per use; None when it depends on an axis of unknown size."""
    from ..model.memory import known_sum

    return known_sum(use.info.macs for use in model.calls[node.id])


def _own(node: TypedNode, count: int) -> int:
    """A shared layer's weights count at its first use only, as Keras counts them."""
    return count if node.shares is None else 0


NARROWEST = 12  # a text column is never cut below this many characters (the length of "Output Shape")


def fit(widths: list[int], align: list[str], width: int) -> list[int]:
    """Column widths whose table is at most `width` characters wide: the widest text (left-aligned)
    column loses a character at a time, none below NARROWEST; numbers are never cut."""
    widths = list(widths)
    excess = sum(widths) + 3 * len(widths) + 1 - width  # each cell is padded by a space on both sides
    while excess > 0:
        shrinkable = [i for i, a in enumerate(align) if a == "<" and widths[i] > NARROWEST]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _cut(text: str, width: int, ellipsis: str) -> str:
    return text if len(text) <= width else text[: width - len(ellipsis)] + ellipsis


def format_summary(
    model: Model,
    batch: int | None = None,
    macs: bool = False,
    ascii_only: bool = False,
    view=None,
    width: int | None = None,
) -> str:
    """The table `model.summary()` prints in Keras 3, with its exact footer; given `width`, text
    columns are cut with an ellipsis until the table fits (when it can)."""
    box = ASCII_BOX if ascii_only else UNICODE_BOX
    header, rows, align = table_rows(model, batch, macs, view)
    widths = [
        max(len(heading), max((len(line) for cells in rows for line in cells[i]), default=0))
        for i, heading in enumerate(header)
    ]
    if width is not None:
        fitted = fit(widths, align, width)
        if fitted != widths:
            ellipsis = "..." if ascii_only else "…"
            widths = fitted
            header = [_cut(h, w, ellipsis) for h, w in zip(header, widths)]
            rows = [[[_cut(line, w, ellipsis) for line in cell] for cell, w in zip(cells, widths)] for cells in rows]

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
        lines += memory_footer(model, batch, view)
    return lines


def summary_dict(
    model: Model,
    batch: int | None = None,
    dtype: str = "float32",
    optimizer: str = "adam",
    layout: str = "channels_last",
) -> dict:
    """The JSON form: every row and the totals; the batch axis is null unless given."""
    from ..layers.base import to_layout
    from ..model.memory import DTYPE_BYTES
    from ..model.receptive import plain

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
                "effective_padding": axes(field.padding) if field and field.padding else None,
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


def memory_footer(model: Model, batch: int | None, view: View) -> list[str]:
    m = model.memory(batch or 1, view.dtype, view.optimizer)

    def size(value):
        if value is None:
            return "? (unknown: " + model.unknown_reason() + ")"
        return f"{value:,} B ({binary_size(value)})"

    return [
        f" Memory ({view.dtype}, batch {m.batch}, {view.optimizer}):",
        f"   parameters: {size(m.params_bytes)}",
        f"   input: {size(m.input_bytes)}",
        f"   activations: {size(m.activations_bytes)}",
        f"   inference peak: {size(m.inference_peak_bytes)}",
        f"   training: {size(m.training_bytes)}",
    ]


def _flat_rows(model: Model, batch: int | None, macs: bool, view=None) -> tuple[list[str], list[list[str]], list[str]]:
    """The table's header and rows, each cell on one line (a merge's inputs joined by spaces)."""
    header, rows, align = table_rows(model, batch, macs, view)
    return header, [[" ".join(cell) for cell in cells] for cells in rows], align


def format_markdown(model: Model, batch: int | None = None, macs: bool = False, view=None) -> str:
    """The table as GitHub-flavoured Markdown, totals below it, for a README or a paper."""
    header, rows, align = _flat_rows(model, batch, macs, view)
    rule = {"<": ":--", ">": "--:"}
    out = [f"**{markdown_text(model.name)}**", "", "| " + " | ".join(map(markdown_text, header)) + " |"]
    out.append("|" + "|".join(rule[a] for a in align) + "|")
    out += ["| " + " | ".join(map(markdown_text, cells)) + " |" for cells in rows]
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
        shape = shape_text(tuple(layer["output_shape"][1:]), batch)
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
