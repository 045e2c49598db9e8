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
from ..core.errors import LimitExceeded
from ..core.limits import MAX_DIAGRAM_BOXES
from ..core.records import dataclass, field
from ..core.source import Source, Span, visible
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
    """One drawn node: a layer, a block call collapsed into one, or the rounds of a repeat after its first."""

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
    note: str | None = None  # what was collapsed to keep within MAX_DIAGRAM_BOXES


def _groups(node: TypedNode) -> list:
    """The block calls and repeat rounds around `node`, outermost first: (call,) or (unrolled, round)."""
    if not node.rounds:
        return [(call,) for call in node.blocks]
    groups, calls = [], 0
    for unrolled, round_ in node.rounds:
        while calls < unrolled.level:
            groups.append((node.blocks[calls],))
            calls += 1
        groups.append((unrolled, round_))
    return groups + [(call,) for call in node.blocks[calls:]]


def _arrange(model: Model, depth: int | None, rounds_collapsed: bool, source: Source | None = None):
    """Which box shows each node: (the root cluster, node id -> box id, box id -> the nodes it shows).
    Boxes carry no lines yet (counting them is cheap)."""
    root = Cluster(BlockCall(-1, "", Span(1, 1, 1, 1)), "")
    clusters: dict[int, Cluster] = {}
    unit_of: dict[int, str] = {}
    members: dict[str, list[TypedNode]] = {}
    repeat_ids: dict = {}  # Unrolled -> its number among the repeats drawn as one box

    for node in model.nodes:
        parent, level, unit = root, 0, None
        for group in _groups(node) if node.blocks or node.rounds else ():
            if len(group) == 1:
                call = group[0]
                if depth is not None and level + 1 >= depth:  # a call at `depth` is one box
                    unit = f"call{call.id}"
                    break
                level += 1
                if call.id not in clusters:
                    clusters[call.id] = Cluster(call, _call_label(call, source))
                    parent.children.append(clusters[call.id])
                parent = clusters[call.id]
            elif rounds_collapsed and group[1]:  # the first round is drawn; the others are one box
                unit = f"rounds{repeat_ids.setdefault(group[0], len(repeat_ids))}"
                break
        if unit is None:
            unit = f"n{node.id}"
        if unit not in members:
            members[unit] = []
            parent.boxes.append(Box(unit, [], collapsed=unit[0] != "n"))
        members[unit].append(node)
        unit_of[node.id] = unit
    return root, unit_of, members


def _box_span(box_id: str, nodes: list[TypedNode]) -> Span:
    """Where the box's text was written: the layer, the call, or the repeat."""
    first = nodes[0]
    if box_id.startswith("call"):
        return next(call.span for call in first.blocks if f"call{call.id}" == box_id)
    if box_id.startswith("rounds"):
        return next(unrolled.span for unrolled, round_ in first.rounds if round_)
    return first.span


def _deepest_call(model: Model) -> int:
    return max((len(node.blocks) for node in model.nodes), default=0)


def _plan(model: Model, depth: int | None) -> tuple[int | None, bool, str | None]:
    """The depth and repeat drawing that keep the diagram within its bound, and a note of what was
    collapsed (None when nothing was). The bound is MAX_DIAGRAM_BOXES, or the boxes of the diagram
    with every repeat and top-level call collapsed when there are more (each of those is written in the
    file: drawing them costs what reading it does). Past the bound at a given depth: a LimitExceeded."""
    whole = len(_arrange(model, depth, False)[2])
    if whole <= MAX_DIAGRAM_BOXES:
        return depth, False, None
    least = _arrange(model, 1, True)[2]
    bound = max(MAX_DIAGRAM_BOXES, len(least))
    if whole <= bound:
        return depth, False, None
    past = f"the diagram would have {whole:,} boxes, more than the {bound:,} cnndsl draws"
    repeated = any(round_ for node in model.nodes for _, round_ in node.rounds)
    rounds = "each repeat is drawn as its first round and one box for the others"
    if repeated and len(_arrange(model, depth, True)[2]) <= bound:
        return depth, True, f"{past}; {rounds}"
    levels = range(_deepest_call(model) if depth is None else depth - 1, 0, -1)
    fitting = next((level for level in levels if len(_arrange(model, level, True)[2]) <= bound), 1)
    if depth is None:
        calls = f"block calls collapsed as with --depth {fitting}"
        return fitting, True, f"{past}; {rounds}, and {calls}" if repeated else f"{past}; {calls}"
    members = _arrange(model, depth, True)[2]
    box_id, nodes = list(members.items())[bound]
    even = " even with each repeat drawn as its first round" if repeated else ""
    raise LimitExceeded(
        f"the diagram at --depth {depth} would have {len(members):,} boxes{even}, more than the {bound:,} cnndsl draws",
        _box_span(box_id, nodes),
        f"give --depth {fitting} (each block call at that level one box), or leave --depth out",
    )


def layout(
    model: Model,
    depth: int | None = None,
    source: Source | None = None,
    compact: bool = False,
    bounded: bool = True,
) -> Layout:
    """Group the model's nodes into boxes and clusters. `depth` means what it means in the summary:
    calls down to that level are shown, a call at it is one box (its layers inside); None: all open.
    `compact` leaves each layer's options out of its box. `bounded`: within MAX_DIAGRAM_BOXES, repeats
    and then block calls collapsed as `_plan` says (the note says how), or a LimitExceeded."""
    rounds_collapsed, note = False, None
    if bounded:
        depth, rounds_collapsed, note = _plan(model, depth)
    root, unit_of, members = _arrange(model, depth, rounds_collapsed, source)
    _fill(root, members, source, compact)
    edges: list[tuple[str, str]] = []
    seen = set()
    for node in model.nodes:
        for i in node.inputs:
            edge = (unit_of[i], unit_of[node.id])
            if edge[0] != edge[1] and edge not in seen:
                seen.add(edge)
                edges.append(edge)
    return Layout(root, edges, note)


def _call_label(call: BlockCall, source: Source | None) -> str:
    return call.written or call_text(call, source) or f"{call.name}(…) line {call.span.line}"


def _repeat_label(span: Span, source: Source | None) -> str:
    """`(relu) * 9999` or `for i in range(12):` as written (its first line, white space folded, at most
    60 characters); `repeat, line 3` when the source is unknown."""
    if source is None:
        return f"repeat, line {span.line}"
    line = source.line(span.line)
    end = span.end_column - 1 if span.end_line == span.line else len(line)
    text = " ".join(line[span.column - 1 : end].split())
    return visible(text if len(text) <= 60 else text[:59] + "…")


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
        return [f"{node.name}: {node.keras_type}, shared", *options, shape_text(node.symbolic), weights]
    return [f"{node.name}: {node.keras_type}", *options, shape_text(node.symbolic), params_text(node.info.params)]


def _fill(cluster: Cluster, members: dict[str, list[TypedNode]], source: Source | None, compact: bool) -> None:
    """Each box's lines. A collapsed call or the later rounds of a repeat show the shape of their last
    node (where their output leaves) and their subtotal."""
    for box in cluster.boxes:
        nodes = members[box.id]
        if not box.collapsed:
            box.lines = _layer_lines(nodes[0], compact)
            continue
        last = max(nodes, key=lambda n: n.id)
        layers = f"{len(nodes):,} layer{'s' if len(nodes) != 1 else ''}"
        if box.id.startswith("call"):
            call = next(call for call in nodes[0].blocks if f"call{call.id}" == box.id)
            head = [_call_label(call, source), f"block of {layers}"]
        else:
            unrolled = next(unrolled for unrolled, round_ in nodes[0].rounds if round_)
            head = [_repeat_label(unrolled.span, source), f"rounds 2–{unrolled.rounds:,}: {layers}"]
        box.lines = [*head, shape_text(last.symbolic), params_text(sum(_new_params(n) for n in nodes))]
    for child in cluster.children:
        _fill(child, members, source, compact)


# DOT


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(
    model: Model,
    depth: int | None = None,
    source: Source | None = None,
    compact: bool = False,
    rankdir: str = "TB",
    notes: list[str] | None = None,
) -> str:
    """Graphviz DOT text, top to bottom (or as `rankdir` says: LR is left to right); blocks as clusters,
    collapsed calls as double boxes. Past MAX_DIAGRAM_BOXES, what was collapsed is said in a comment
    and appended to `notes`."""
    _check_rankdir(rankdir)
    plan = layout(model, depth, source, compact)
    _noted(plan, notes)
    out = [
        *([f"// {plan.note}"] if plan.note else []),
        f"digraph {_dot_string(model.name)} {{",
        *([f"  comment={_dot_string(plan.note)};"] if plan.note else []),  # Graphviz copies it into an SVG
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


def _noted(plan: Layout, notes: list[str] | None) -> None:
    if plan.note and notes is not None and plan.note not in notes:
        notes.append(plan.note)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _check_rankdir(rankdir: str) -> None:
    if rankdir not in RANKDIRS:
        raise ValueError(f"unknown rankdir {rankdir!r}; one of {', '.join(RANKDIRS)}")


def to_mermaid(
    model: Model,
    depth: int | None = None,
    source: Source | None = None,
    compact: bool = False,
    rankdir: str = "TB",
    notes: list[str] | None = None,
) -> str:
    """A Mermaid flowchart; blocks as subgraphs. Past MAX_DIAGRAM_BOXES as `to_dot`."""
    _check_rankdir(rankdir)
    plan = layout(model, depth, source, compact)
    _noted(plan, notes)
    return (f"%% {plan.note}\n" if plan.note else "") + _flowchart(plan, rankdir)


def _flowchart(plan: Layout, rankdir: str) -> str:
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
    """Mermaid text that Mermaid will draw, and a note when it had to change: past MAX_DIAGRAM_BOXES
    as `layout` says; past Mermaid's default limits, the block calls are collapsed, from the deepest
    level up, until it fits (said in a `%%` comment and in the note). With `depth` given the block calls
    stay as asked: past Mermaid's limits is a DiagramError."""
    _check_rankdir(rankdir)
    plan = layout(model, depth, source, compact)
    text = _flowchart(plan, rankdir)
    size = _mermaid_size(text)
    if _fits(size):
        return (f"%% {plan.note}\n" + text, plan.note) if plan.note else (text, None)
    if depth is not None:
        raise DiagramError(
            f"the Mermaid diagram at --depth {depth} has {_past_limits(size)}, past Mermaid's default limits, so "
            "Mermaid would draw only its limit message; give a smaller --depth, or --format dot or svg"
        )
    for level in range(_deepest_call(model), 0, -1):
        try:
            shallower = layout(model, level, source, compact)
        except LimitExceeded:  # more boxes than cnndsl draws at this depth: a shallower one may do
            continue
        note = f"the whole Mermaid diagram has {_past_limits(size)}; block calls collapsed as with --depth {level}"
        if shallower.note:
            note += "; each repeat is drawn as its first round and one box for the others"
        collapsed = f"%% {note}\n" + _flowchart(shallower, rankdir)
        if _fits(_mermaid_size(collapsed)):
            return collapsed, note
    note = f"the Mermaid diagram has {_past_limits(size)}, even with every block call collapsed; "
    note += "Mermaid will draw only its limit message: use --format dot or svg"
    if plan.note:
        note = f"{plan.note}; {note}"
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
    drawable (repeats or block calls collapsed) is appended to `notes`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {fmt!r}; one of {', '.join(FORMATS)}")
    if fmt == "mermaid":
        text, note = fitting_mermaid(model, depth, source, compact, rankdir)
        if note and notes is not None:
            notes.append(note)
        return text.encode()
    dot_text = to_dot(model, depth, source, compact, rankdir, notes)
    return dot_text.encode() if fmt == "dot" else render(dot_text, fmt)
