"""The model as a picture: Graphviz DOT and Mermaid text, SVG and PNG through `dot`.

Every figure comes from the inferred model; nothing here works out a shape.
Block calls are drawn as clusters; a call at level `depth` (1 = top level, as
in `summary --depth`) becomes one node with its output shape and its parameter subtotal.
Each layer's box shows its defining options (`conv 64 3x3 /2 relu`) unless `compact`.
"""

from __future__ import annotations

import shutil
import subprocess

from ..core.choices import DIAGRAM_FORMATS as FORMATS
from ..core.choices import DIAGRAM_RANKDIRS as RANKDIRS
from ..core.records import dataclass, field
from ..core.source import Source, Span
from ..language.expand import BlockCall
from ..model.infer import Model, TypedNode
from .text import call_text, layer_options, params_text, shape_text

GRAPHVIZ_MISSING = (
    "rendering {fmt} needs Graphviz's `dot` program; install Graphviz "
    "(`apt-get install graphviz`, `brew install graphviz`, `conda install graphviz`) or use --format dot or mermaid"
)


class DiagramError(Exception):
    """The picture could not be made (Graphviz missing or failing); not a mistake in the model."""


@dataclass
class Box:
    """One drawn node: a layer, or a block call collapsed into one."""

    id: str
    lines: list[str]
    collapsed: bool = False


@dataclass
class Cluster:
    """A block call drawn around the boxes it made."""

    call: BlockCall
    title: str
    boxes: list[Box] = field(default_factory=list)
    children: list[Cluster] = field(default_factory=list)


@dataclass
class Layout:
    top: Cluster | None  # a root without a call; its boxes and children are the top level
    edges: list[tuple[str, str]]


def layout(model: Model, depth: int | None = None, source: Source | None = None, compact: bool = False) -> Layout:
    """Group the model's nodes into boxes and clusters. `depth` means what it means in the summary:
    calls down to that level are shown, a call at it is one box (its layers inside); None: all open.
    `compact` leaves each layer's options out of its box."""
    root = Cluster(BlockCall(-1, "", Span(1, 1, 1, 1)), "")
    clusters: dict[int, Cluster] = {}
    unit_of: dict[int, str] = {}  # node id -> the id of the box that shows it
    collapsed: dict[int, list[TypedNode]] = {}  # call id -> its nodes

    for node in model.nodes:
        parent = root
        path = node.blocks
        open_levels = len(path) if depth is None else min(depth - 1, len(path))  # a call at `depth` is one box
        for call in path[:open_levels]:
            if call.id not in clusters:
                clusters[call.id] = Cluster(call, _call_label(call, source))
                parent.children.append(clusters[call.id])
            parent = clusters[call.id]
        if open_levels < len(path):
            call = path[open_levels]
            if call.id not in collapsed:
                collapsed[call.id] = []
                parent.boxes.append(Box(f"call{call.id}", [_call_label(call, source)], collapsed=True))
            collapsed[call.id].append(node)
            unit_of[node.id] = f"call{call.id}"
        else:
            parent.boxes.append(Box(f"n{node.id}", _layer_lines(node, compact)))
            unit_of[node.id] = f"n{node.id}"

    _fill_collapsed(root, collapsed, model)
    edges: list[tuple[str, str]] = []
    seen = set()
    for node in model.nodes:
        for i in node.inputs:
            edge = (unit_of[i], unit_of[node.id])
            if edge[0] != edge[1] and edge not in seen:
                seen.add(edge)
                edges.append(edge)
    return Layout(root, edges)


def _call_label(call: BlockCall, source: Source | None) -> str:
    return call.written or call_text(call, source) or f"{call.name}(…) line {call.span.line}"


def _new_params(node: TypedNode) -> int:
    """Parameters a node adds: a shared (`reuse`d) layer's weights belong to its first use only."""
    return node.info.params if node.shares is None else 0


def _layer_lines(node: TypedNode, compact: bool = False) -> list[str]:
    """`conv2d: Conv2D`, its options (`conv 64 3x3 /2 relu`; none for a layer without any), shape, parameters."""
    options = [] if compact or node.layer.keyword == "input" else [layer_options(node.layer)]
    if options and options[0] == node.layer.keyword:  # `flatten`, `add`: the type line says it all
        options = []
    if node.shares is not None:  # drawn again (its inputs differ), but its weights are the first use's
        weights = "0 new params (weights shared)" if node.info.params else params_text(0)
        return [f"{node.name}: {node.keras_type}, shared", *options, shape_text(node.shape), weights]
    return [f"{node.name}: {node.keras_type}", *options, shape_text(node.shape), params_text(node.info.params)]


def _fill_collapsed(cluster: Cluster, collapsed: dict[int, list[TypedNode]], model: Model) -> None:
    """A collapsed call shows the shape of its last node (where its output leaves) and its subtotal."""
    for box in cluster.boxes:
        if box.collapsed:
            nodes = collapsed[int(box.id.removeprefix("call"))]
            last = max(nodes, key=lambda n: n.id)
            box.lines += [
                f"block of {len(nodes)} layer{'s' if len(nodes) != 1 else ''}",
                shape_text(last.shape),
                params_text(sum(_new_params(n) for n in nodes)),
            ]
    for child in cluster.children:
        _fill_collapsed(child, collapsed, model)


# DOT


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(
    model: Model, depth: int | None = None, source: Source | None = None, compact: bool = False, rankdir: str = "TB"
) -> str:
    """Graphviz DOT text, top to bottom (or as `rankdir` says: LR is left to right); blocks as clusters,
    collapsed calls as double boxes."""
    _check_rankdir(rankdir)
    plan = layout(model, depth, source, compact)
    out = [
        f"digraph {_dot_string(model.name)} {{",
        f"  rankdir={rankdir};",
        '  node [shape=box, style="rounded,filled", fillcolor="#f5f7fa", fontname="Helvetica", fontsize=10];',
        '  edge [color="#555555", arrowsize=0.6];',
        '  graph [fontname="Helvetica", fontsize=11];',
    ]

    def emit(cluster: Cluster, indent: str) -> None:
        for box in cluster.boxes:
            label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in box.lines)
            extra = ', peripheries=2, fillcolor="#e8eefc"' if box.collapsed else ""
            out.append(f'{indent}{box.id} [label="{label}"{extra}];')
        for child in cluster.children:
            out.append(f"{indent}subgraph cluster_{child.call.id} {{")
            out.append(f'{indent}  label={_dot_string(child.title)}; style="rounded,dashed"; color="#8899aa";')
            emit(child, indent + "  ")
            out.append(f"{indent}}}")

    emit(plan.top, "  ")
    out += [f"  {a} -> {b};" for a, b in plan.edges]
    out.append("}")
    return "\n".join(out) + "\n"


# Mermaid


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _check_rankdir(rankdir: str) -> None:
    if rankdir not in RANKDIRS:
        raise ValueError(f"unknown rankdir {rankdir!r}; one of {', '.join(RANKDIRS)}")


def to_mermaid(
    model: Model, depth: int | None = None, source: Source | None = None, compact: bool = False, rankdir: str = "TB"
) -> str:
    """A Mermaid flowchart; blocks as subgraphs."""
    _check_rankdir(rankdir)
    plan = layout(model, depth, source, compact)
    out = ["flowchart " + ("TD" if rankdir == "TB" else rankdir)]

    def emit(cluster: Cluster, indent: str) -> None:
        for box in cluster.boxes:
            label = "<br/>".join(_mermaid_text(line) for line in box.lines)
            out.append(f'{indent}{box.id}[["{label}"]]' if box.collapsed else f'{indent}{box.id}["{label}"]')
        for child in cluster.children:
            out.append(f'{indent}subgraph block{child.call.id}["{_mermaid_text(child.title)}"]')
            emit(child, indent + "  ")
            out.append(f"{indent}end")

    emit(plan.top, "  ")
    out += [f"  {a} --> {b}" for a, b in plan.edges]
    return "\n".join(out) + "\n"


# Mermaid's defaults (its config schema: maxTextSize 50000, maxEdges 500). Past either, Mermaid draws only
# "Maximum text size in diagram exceeded" (or its edge-limit message); a diagram cannot raise them itself.
MERMAID_MAX_TEXT = 50_000
MERMAID_MAX_EDGES = 500


def _mermaid_size(text: str) -> tuple[int, int]:
    """Characters as Mermaid counts them (JavaScript's length: UTF-16 code units) and links."""
    return len(text.encode("utf-16-le")) // 2, sum(" --> " in line for line in text.splitlines())


def _fits(size: tuple[int, int]) -> bool:
    return size[0] <= MERMAID_MAX_TEXT and size[1] <= MERMAID_MAX_EDGES


def _past_limits(size: tuple[int, int]) -> str:
    """`103,264 characters (Mermaid draws at most 50,000) and 926 links (at most 500)`: what is too much."""
    parts = [f"{size[0]:,} characters" + (f" (Mermaid draws at most {MERMAID_MAX_TEXT:,})" if size[0] > MERMAID_MAX_TEXT else "")]
    parts.append(f"{size[1]:,} links" + (f" (Mermaid draws at most {MERMAID_MAX_EDGES:,})" if size[1] > MERMAID_MAX_EDGES else ""))
    return " and ".join(parts)


def fitting_mermaid(
    model: Model,
    depth: int | None = None,
    source: Source | None = None,
    compact: bool = False,
    rankdir: str = "TB",
) -> tuple[str, str | None]:
    """Mermaid text that Mermaid will draw, and a note when it had to change: past Mermaid's default
    limits, the block calls are collapsed, from the deepest level up, until it fits (said in a `%%`
    comment and in the note). With `depth` given nothing is changed: past the limits is a DiagramError."""
    text = to_mermaid(model, depth, source, compact, rankdir)
    size = _mermaid_size(text)
    if _fits(size):
        return text, None
    if depth is not None:
        raise DiagramError(
            f"the Mermaid diagram at --depth {depth} has {_past_limits(size)}, past Mermaid's default limits, so "
            "Mermaid would draw only its limit message; give a smaller --depth, or --format dot or svg"
        )
    for level in range(max((len(n.blocks) for n in model.nodes), default=0), 0, -1):
        note = f"the whole Mermaid diagram has {_past_limits(size)}; block calls collapsed as with --depth {level}"
        collapsed = f"%% {note}\n" + to_mermaid(model, level, source, compact, rankdir)
        if _fits(_mermaid_size(collapsed)):
            return collapsed, note
    note = f"the Mermaid diagram has {_past_limits(size)}, even with every block call collapsed; "
    note += "Mermaid will draw only its limit message: use --format dot or svg"
    return f"%% {note}\n" + text, note


def render(dot_text: str, fmt: str) -> bytes:
    """SVG or PNG bytes from DOT text, through Graphviz's `dot`."""
    program = shutil.which("dot")
    if program is None:
        raise DiagramError(GRAPHVIZ_MISSING.format(fmt=fmt.upper()))
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DiagramError(f"Graphviz's `dot` failed: {err}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise DiagramError(f"Graphviz's `dot` failed: {message[0] if message else f'exit {done.returncode}'}")
    return done.stdout


def diagram(
    model: Model,
    fmt: str = "dot",
    depth: int | None = None,
    source: Source | None = None,
    compact: bool = False,
    rankdir: str = "TB",
    notes: list[str] | None = None,
) -> bytes:
    """The diagram in `fmt` (one of FORMATS), as bytes ready to write; what had to change to make it
    drawable (a Mermaid diagram collapsed) is appended to `notes`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {fmt!r}; one of {', '.join(FORMATS)}")
    if fmt == "mermaid":
        text, note = fitting_mermaid(model, depth, source, compact, rankdir)
        if note and notes is not None:
            notes.append(note)
        return text.encode()
    dot_text = to_dot(model, depth, source, compact, rankdir)
    return dot_text.encode() if fmt == "dot" else render(dot_text, fmt)
