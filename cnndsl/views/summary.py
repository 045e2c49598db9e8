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
            # each size that depends on a `?` axis as its expression: `(None, floor(h/2), floor(w/2), 8)`
            return self.shape(model.calls[node.id][-1].symbolic if keras_uses else node.symbolic)
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
            return self.shape(nodes[-1].symbolic)
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
        if model.training_outputs and model.training_macs is not None:
            extra = model.training_macs
            lines.append(f" Training-only MACs: {extra:,} ({readable_count(extra)} per example, not in the total)")
    if view is not None and view.memory:
        lines += memory_footer(model, batch, view)
    if model.symbols:
        lines.append(f" Sizes: {model.symbol_text()}" + (f"; runs when {model.conditions_text()}" if model.conditions else ""))
    return lines


def size_json(n):
    """An axis in JSON: its size, its expression as a string (`"floor(h/2)"`), or null."""
    return n if n is None or isinstance(n, int) else str(n)


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
    training = {"training_macs": model.training_macs} if model.training_outputs else {}
    if model.symbols:  # each size of a `?` axis as its expression (a string), beside Keras's null
        for row, node in zip(layers, (n for n in (model.keras_order if not model.sequential else model.layers) if n.id not in model.inputs)):
            row["sizes"] = [batch, *(size_json(n) for n in to_layout(model.calls[node.id][-1].symbolic, layout))]
        symbolic = {
            "symbols": model.symbol_text(),
            "size_conditions": [c.text() for c in model.conditions],
            "input_sizes": [[batch, *(size_json(n) for n in to_layout(model.nodes[i].symbolic, layout))] for i in model.inputs],
        }
    else:
        symbolic = {}
    return {
        "name": model.name,
        "input_shape": [batch, *to_layout(model.input.shape, layout)],
        "output_shape": [batch, *to_layout(model.output_shape, layout)],
        "inputs": [
            {"name": model.nodes[i].name, "shape": [batch, *to_layout(model.nodes[i].shape, layout)]}
            for i in model.inputs
        ],
        "outputs": [
            {
                "name": model.nodes[i].name,
                "shape": [batch, *to_layout(model.nodes[i].shape, layout)],
                **({"training_only": True} if i in model.training_outputs else {}),
            }
            for i in model.outputs
        ],
        "layout": layout,
        **symbolic,
        "layers": layers,
        "total_params": model.total,
        "trainable_params": model.trainable,
        "non_trainable_params": model.non_trainable,
        "total_macs": model.macs,
        **training,
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


# Keras's notebook summary is rich's table: a heavy box round the header, light rules between rows, the
# type (`Conv2D`) in colour 33, numbers in 34 and `None` in 45 of the 256-colour palette. Those three
# are for dark backgrounds; on a light one each is a darker shade of the same hue (all >= 4.5:1).
LIGHT_COLOURS = {"type": "#005fd7", "number": "#008700", "none": "#005f87"}  # palette 26, 28, 24
DARK_COLOURS = {"type": "#0087ff", "number": "#00af00", "none": "#00d7ff"}  # palette 33, 34, 45
# What a notebook marks a dark theme with: JupyterLab and Notebook 7 on <body>, VS Code on its webview's <body>.
DARK_THEMES = ("[data-jp-theme-light=false]", "body.vscode-dark", "body.vscode-high-contrast:not(.vscode-high-contrast-light)")
_FONT = "Menlo,'DejaVu Sans Mono',Consolas,'Courier New',monospace"  # rich's own notebook font list
_CELL = "padding:.25em 1ch;white-space:pre;vertical-align:top;"
_HEAVY, _LIGHT = "border:2px solid #888;", "border:1px solid #888;"  # #888: >= 3:1 on white and on #111


def _dark_theme_css() -> str:
    """The one style sheet: dark-theme colours (a notebook that strips it keeps the light ones, inline)."""
    rules = []
    for kind, colour in DARK_COLOURS.items():
        selectors = ",".join(f"{theme} .cnndsl-summary .cnndsl-{kind}" for theme in DARK_THEMES)
        rules.append(f"{selectors}{{color:{colour}!important}}")
    return "<style>" + "".join(rules) + "</style>"


def _span(kind: str, text: str) -> str:
    return f'<span class="cnndsl-{kind}" style="color:{LIGHT_COLOURS[kind]}">{text}</span>'


def _marked_numbers(text: str) -> str:
    """An escaped shape or size with each number (and `None`) coloured, as Keras marks them."""
    import re

    return re.sub(r"None|\d+(?:,\d{3})*", lambda m: _span("none" if m[0] == "None" else "number", m[0]), text)


def _marked_title(text: str) -> str:
    """`conv2d (Conv2D)` with the type coloured; a block call's `stem: cbr(16) (cbr, 3 layers)` with its name."""
    import re

    found = re.fullmatch(r"(.*) \(([A-Za-z_][\w.]*)(, [^()]*)?\)", text)
    if found is None:
        return _html_text(text)
    head, kind, rest = found.groups()
    return f"{_html_text(head)} ({_span('type', _html_text(kind))}{_html_text(rest or '')})"


def _html_text(text: str) -> str:
    """Escaped as text (a table holds no attribute made from the model), and ASCII only (character
    references), so a saved file reads the same in any encoding and as a browser serialises its DOM."""
    from html import escape

    return escape(text, quote=False).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _html_cell(column: str, line: str) -> str:
    import re

    text = _html_text(line)
    if column == "title":
        return _marked_title(line)
    if column in ("shape", "rf", "stride", "padding"):
        return _marked_numbers(text)
    if column == "connected":  # Keras colours the indices of `conv2d[0][0]`
        return re.sub(r"\[(\d+)\]", lambda m: "[" + _span("number", m[1]) + "]", text)
    return _span("number", text) if text not in ("-", "?") else text


def _footer_line(line: str) -> str:
    """` Total params: 62,958 (245.93 KB)`: the label bold and the first figure coloured, as Keras has it."""
    import re

    indent = len(line) - len(line.lstrip(" ")) - 1  # the table's lines start with one space
    label, colon, rest = line.strip().partition(": ")
    if not colon:
        return " " * indent + f"<b>{_html_text(label)}</b>"
    rest = _html_text(rest)
    rest = re.sub(r"^\d+(?:,\d{3})*", lambda m: _span("number", m[0]), rest)
    return " " * indent + f"<b>{_html_text(label)}:</b> {rest}"


def format_html(
    model: Model, batch: int | None = None, macs: bool = False, view=None, most: int | None = None, more: str = ""
) -> str:
    """One self-contained table in Keras's notebook look: `Model: "name"`, a bordered table with padded
    cells, right-aligned numbers, the type and the numbers coloured, and the totals under it. Every
    style is inline but the dark-theme colours; no script. Wide tables scroll instead of wrapping.
    `most`: rows are made while their lines (a row as tall as its tallest cell) add up to no more, then one
    `tr.more` row counts the others and adds `more` (HTML)."""
    header, rows, align = table_rows(model, batch, macs, view)
    hidden = 0
    if most is not None:
        shown = lines = 0
        for cells in rows:
            lines += max(map(len, cells), default=1)
            if lines > most and shown:
                break
            shown += 1
        hidden = len(rows) - shown
        rows = rows[:shown]
    columns = ["title", *(view or KERAS_VIEW).chosen(model, macs)]
    side = {"<": "text-align:left", ">": "text-align:right"}

    def cell(tag: str, border: str, a: str, content: str) -> str:
        return f'<{tag} style="{_CELL}{border}{side[a]}">{content}</{tag}>'

    head = "".join(cell("th", _HEAVY + "font-weight:bold;", a, _html_text(h)) for h, a in zip(header, align))
    body = [
        "<tr>"
        + "".join(
            cell("td", _LIGHT, a, "<br>".join(_html_cell(column, line) for line in lines))
            for column, lines, a in zip(columns, cells, align)
        )
        + "</tr>"
        for cells in rows
    ]
    if hidden:
        body.append(f'<tr class="more"><td colspan="{len(header)}">… and {hidden:,} more rows{more}</td></tr>')
    foot = [
        f'<tr><td colspan="{len(header)}" style="padding:{".6em" if i == 0 else ".1em"} 0 .1em 0;border:none;'
        f'white-space:pre;text-align:left">{_footer_line(line)}</td></tr>'
        for i, line in enumerate(footer(model, macs, view, batch))
    ]
    table_style = (
        "border-collapse:collapse;border-spacing:0;table-layout:auto;width:auto;margin:0;border:none;"
        "font:inherit;color:inherit;background:transparent"
    )
    return "\n".join(
        [
            f'<div class="cnndsl-summary" style="overflow-x:auto;max-width:100%;text-align:left;'
            f'font-family:{_FONT};font-size:13px;line-height:1.4">',
            _dark_theme_css(),
            f'<table style="{table_style}">',
            '<caption style="caption-side:top;text-align:left;font-weight:bold;padding:0 0 .4em 0;white-space:pre">'
            f'Model: "{_html_text(model.name)}"</caption>',
            f"<thead><tr>{head}</tr></thead>",
            "<tbody>",
            *body,
            "</tbody>",
            "<tfoot>",
            *foot,
            "</tfoot>",
            "</table>",
            "</div>",
        ]
    )
