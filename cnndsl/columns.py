"""The summary's optional columns (`--columns`, `--all`), layouts and block-level rows (`--depth`).

A `View` says what to show; `view_rows` turns the model into header, rows
and alignment for any of the summary's formats. Every figure is read from
the inferred model: shapes, parameters, MACs, receptive fields, memory.
"""

from __future__ import annotations

from ._dataclass import dataclass
from .infer import Model, TypedNode
from .memory import DTYPE_BYTES, count_text, known_sum, times

COLUMNS = ("shape", "params", "trainable", "macs", "activations", "memory", "rf", "stride", "connected")
HEADERS = {
    "shape": ("Output Shape", "<"),
    "params": ("Param #", ">"),
    "trainable": ("Trainable #", ">"),
    "macs": ("MACs", ">"),
    "activations": ("Activations", ">"),
    "memory": ("Output Bytes", ">"),
    "rf": ("Receptive Field", "<"),
    "stride": ("Stride", "<"),
    "connected": ("Connected to", "<"),
}


@dataclass(frozen=True)
class View:
    columns: tuple[str, ...] | None = None  # None: Keras's own columns
    layout: str = "channels_last"
    depth: int | None = None  # show this many levels of block calls; deeper calls are one row
    dtype: str = "float32"
    optimizer: str = "adam"
    memory: bool = False  # memory figures under the totals

    def chosen(self, model: Model, macs: bool) -> tuple[str, ...]:
        if self.columns is not None:
            return tuple(c for c in COLUMNS if c in self.columns)
        keras = ("shape", "params") + (("macs",) if macs else ())
        return keras + (("connected",) if not model.sequential else ())


def parse_columns(text: str) -> tuple[str, ...]:
    """`shape,params,rf` to a tuple; ValueError names a column that does not exist."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in COLUMNS]
    if unknown or not names:
        raise ValueError(f"unknown column {unknown[0]!r}" if unknown else "no columns given")
    return names


def shape_cell(shape, batch: int | None, layout: str) -> str:
    from .explain import shape_text

    return shape_text(shape, batch, layout)


def axes_text(values) -> str:
    from .receptive import plain

    return "-" if values is None else "x".join(str(plain(v)) for v in values)


def _sources(model: Model, ids, labels: dict[int, str]) -> list[str]:
    """The "Connected to" cell: each input's name, or the folded block call that holds it."""
    names = [labels.get(i, f"{model.nodes[i].name}[{model.nodes[i].call_index}][0]") for i in ids]
    names = list(dict.fromkeys(names)) or ["-"]
    return [name + ("," if i < len(names) - 1 else "") for i, name in enumerate(names)]


def _node_cells(
    model: Model, node: TypedNode, columns, batch, view: View, indent: str, labels: dict[int, str] | None = None
) -> list[list[str]]:
    field = model.receptive_fields.get(node.id)
    cells = [[f"{indent}{node.name} ({node.keras_type})"]]
    for column in columns:
        if column == "shape":
            cells.append([shape_cell(node.shape, batch, view.layout)])
        elif column == "params":
            cells.append([f"{_own(node, node.info.params):,}"])
        elif column == "trainable":
            cells.append([f"{_own(node, node.info.trainable):,}"])
        elif column == "macs":
            cells.append([count_text(node.info.macs)])
        elif column == "activations":
            cells.append([count_text(node.activations)])
        elif column == "memory":
            cells.append([count_text(times(node.activations, batch or 1, DTYPE_BYTES[view.dtype]))])
        elif column == "rf":
            cells.append([axes_text(field.size if field else None)])
        elif column == "stride":
            cells.append([axes_text(field.stride if field else None)])
        else:
            cells.append(_sources(model, node.inputs, labels or {}))
    return cells


def _own(node: TypedNode, count: int) -> int:
    """A shared layer's weights count at its first use only, as Keras counts them."""
    return count if node.shares is None else 0


def _call_cells(
    model: Model, call, nodes: list[TypedNode], columns, batch, view: View, indent: str, labels: dict[int, str]
) -> list[list[str]]:
    from .explain import call_text

    last = nodes[-1]
    inside = {n.id for n in nodes}
    field = model.receptive_fields.get(last.id)
    cells = [[f"{indent}{call_text(model, call)} ({call.name}, {len(nodes)} layers)"]]
    for column in columns:
        if column == "shape":
            cells.append([shape_cell(last.shape, batch, view.layout)])
        elif column in ("params", "trainable", "macs", "activations", "memory"):
            figure = {
                "params": lambda n: _own(n, n.info.params),
                "trainable": lambda n: _own(n, n.info.trainable),
                "macs": lambda n: n.info.macs,
                "activations": lambda n: n.activations,
                "memory": lambda n: times(n.activations, batch or 1, DTYPE_BYTES[view.dtype]),
            }[column]
            cells.append([count_text(known_sum(figure(n) for n in nodes))])
        elif column == "rf":
            cells.append([axes_text(field.size if field else None)])
        elif column == "stride":
            cells.append([axes_text(field.stride if field else None)])
        else:
            cells.append(_sources(model, sorted({i for n in nodes for i in n.inputs if i not in inside}), labels))
    return cells


def view_rows(model: Model, batch: int | None, macs: bool, view: View):
    """Header, rows (each cell a list of lines) and alignment for the chosen columns and depth."""
    columns = view.chosen(model, macs)
    header = ["Layer (type)"] + [HEADERS[c][0] for c in columns]
    align = ["<"] + [HEADERS[c][1] for c in columns]
    rows: list[list[list[str]]] = []
    if view.depth is None:
        for node in model.keras_order if not model.sequential else model.layers:
            rows.append(_node_cells(model, node, columns, batch, view, ""))  # Keras's own names
        return header, rows, align
    # Block rows: in file order, each call at the depth limit folds into one row; calls above it
    # get a row with their subtotals, and their contents follow, indented.
    from .explain import call_text

    # a layer inside a folded call is connected to through the call's row
    labels = {n.id: call_text(model, n.blocks[view.depth - 1]) for n in model.nodes if len(n.blocks) >= view.depth}
    shown: set[int] = set()
    for node in model.layers:
        path = node.blocks
        for level, call in enumerate(path[: view.depth]):
            if call.id in shown:
                continue
            shown.add(call.id)
            nodes = [n for n in model.layers if any(c.id == call.id for c in n.blocks)]
            rows.append(_call_cells(model, call, nodes, columns, batch, view, "  " * level, labels))
        if len(path) < view.depth:
            rows.append(_node_cells(model, node, columns, batch, view, "  " * len(path), labels))
    return header, rows, align


def memory_footer(model: Model, batch: int | None, view: View) -> list[str]:
    from .summary import readable_memory_size

    m = model.memory(batch or 1, view.dtype, view.optimizer)

    def size(value):
        if value is None:
            return "? (unknown: " + model.unknown_reason() + ")"
        return f"{value:,} B ({readable_memory_size(value)})"

    return [
        f" Memory ({view.dtype}, batch {m.batch}, {view.optimizer}):",
        f"   parameters: {size(m.params_bytes)}",
        f"   input: {size(m.input_bytes)}",
        f"   activations: {size(m.activations_bytes)}",
        f"   inference peak: {size(m.inference_peak_bytes)}",
        f"   training: {size(m.training_bytes)}",
    ]
