"""An imported graph as .cnn text: pipelines, merges with their branches, labels where needed.

A merge whose branches all start at one earlier layer (its immediate
dominator) and reach nothing else is written as that merge with its
branches inline (`add(identity; conv ... | bn)`), as a person writes a
residual block. A graph that does not nest that way (several inputs or
outputs, a layer read from two places) is written line by line, each line
starting at a labelled layer (`@name`).
"""

from __future__ import annotations

import re

from .graph import Graph
from .stages import CallStage, LayerStage, MergeStage, RefStage, Written, merge_words, pipeline_text, stage_text

WIDTH = 100  # a line longer than this is broken at a `|` or a `;`


class _NotNested(Exception):
    """The graph does not nest as merges with inline branches."""


# Structure


def immediate_dominators(graph: Graph) -> list[int]:
    """Each layer's immediate dominator, -1 for the inputs (a virtual root before them all).

    The layers are in topological order, so one pass suffices (Cooper, Harvey and Kennedy's
    intersection walk; a DAG needs no iteration)."""
    idom: list[int] = []
    for layer in graph.layers:
        if not layer.inputs:
            idom.append(-1)
            continue
        found = layer.inputs[0]
        for other in layer.inputs[1:]:
            a, b = found, other
            while a != b:
                while a > b:
                    a = idom[a]
                while b > a:
                    b = idom[b]
            found = a
        idom.append(found)
    return idom


def nest(graph: Graph) -> list:
    """The whole graph as one pipeline from its input, or _NotNested."""
    inputs = [i for i, layer in enumerate(graph.layers) if not layer.inputs]
    if len(inputs) != 1 or len(graph.outputs) != 1 or graph.outputs[0] != len(graph.layers) - 1:
        raise _NotNested
    idom = immediate_dominators(graph)
    written: set[int] = set()

    def pipeline(x: int, start: int, depth: int = 0) -> list:
        if depth > 200:
            raise _NotNested  # merges nested deeper than a file may nest brackets
        stages: list = []
        while x != start:
            if x in written or x == -1:
                raise _NotNested
            layer = graph.layers[x]
            written.add(x)
            if not layer.inputs:
                if start != -1:
                    raise _NotNested
                stages.append(LayerStage(x, layer.label, layer.keyword, layer.words))
                x = -1
            elif layer.merge:
                entry = idom[x]
                branches = [pipeline(i, entry, depth + 1) for i in layer.inputs]
                stages.append(MergeStage(x, layer.label, layer.keyword, branches, layer.words))
                x = entry
            else:
                stages.append(LayerStage(x, layer.label, layer.keyword, layer.words))
                x = layer.inputs[0]
        stages.reverse()
        return stages

    whole = pipeline(graph.outputs[0], -1)
    if len(written) != len(graph.layers):
        raise _NotNested  # a layer no branch reaches (it feeds nothing)
    return whole


def by_lines(graph: Graph) -> list[list]:
    """Every chain of the graph as its own line, each starting from a labelled layer."""
    consumers: list[list[int]] = [[] for _ in graph.layers]
    for i, layer in enumerate(graph.layers):
        for j in layer.inputs:
            consumers[j].append(i)
    outputs = set(graph.outputs)

    def continues(i: int) -> bool:
        """Layer i's line goes on into its only reader."""
        if i in outputs or len(consumers[i]) != 1:
            return False
        reader = graph.layers[consumers[i][0]]
        return not reader.merge

    referenced = {j for layer in graph.layers for j in layer.inputs if not continues(j)}
    # An ONNX node's name (`batch_normalization_1`, as emit --onnx names them) may be the name cnndsl
    # gives another layer: a line's label from one is marked as a node's (`node_batch_normalization_1`).
    prefix = "node_" if graph.format == "ONNX" else ""
    labels: dict[int, str] = {}
    for i in sorted(referenced):
        label = graph.layers[i].label or (
            node_label(graph.layers[i].source_name) if prefix else usable_label(graph.layers[i].source_name)
        )
        while label in labels.values():  # two node names that differ only in their punctuation
            label += "_"
        labels[i] = label
    lines, done = [], set()
    for i, layer in enumerate(graph.layers):
        if i in done:
            continue
        line: list = []
        if layer.merge:
            line.append(RefStage(labels[layer.inputs[0]]))
            branches = [[]] + [[RefStage(labels[j])] for j in layer.inputs[1:]]
            if layer.inputs[0] in layer.inputs[1:]:
                branches = [[RefStage(labels[j])] for j in layer.inputs]
            line.append(MergeStage(i, labels.get(i, layer.label), layer.keyword, branches, layer.words))
        elif layer.inputs:
            line.append(RefStage(labels[layer.inputs[0]]))
            line.append(LayerStage(i, labels.get(i, layer.label), layer.keyword, layer.words))
        else:
            line.append(LayerStage(i, labels.get(i, layer.label), layer.keyword, layer.words))
        done.add(i)
        x = i
        while continues(x):
            x = consumers[x][0]
            nxt = graph.layers[x]
            line.append(LayerStage(x, labels.get(x, nxt.label), nxt.keyword, nxt.words))
            done.add(x)
        if x in outputs and len(graph.outputs) > 1:
            line.append(RefStage("output"))  # written as `| output`
        lines.append(line)
    return lines


# Words a label cannot be: the language's keywords and the merges (`add: add(...)` does not parse).
RESERVED_LABELS = frozenset(
    ("def", "if", "elif", "else", "for", "in", "as", "param", "let", "use", "and", "or", "not")
    + ("identity", "output", "input", "reuse", "defaults", "residual")
)


def node_label(name: str) -> str:
    """An ONNX node's name as a label: torch.onnx.export names a node by its module's path
    (`/layer1/layer1.0/Relu`), and a label is a word, so each run of other characters is one `_`."""
    return usable_label("node_" + "_".join(re.findall(r"[A-Za-z0-9_]+", name)))


def usable_label(name: str) -> str:
    """`name` as a label that parses. A merge's word (Keras names its first Add `add`, which only a
    model built first in its process gets) becomes `add_0`, still a name Keras gives by default."""
    from ..language.parse import merge_words

    if name in merge_words():
        return f"{name}_0"
    return f"{name}_" if name in RESERVED_LABELS else name


def wrap_stages(stages: list, indent: int, width: int = WIDTH) -> list[str]:
    """A pipeline as lines of at most `width` (where it can), breaking before a `|`.

    A merge too long for its line opens its bracket and writes each branch on lines of
    its own, 4 spaces further in. Continued lines start with `| `.
    """
    lines: list[str] = []
    current = ""
    pad = " " * indent
    for stage in stages:
        text = stage_text(stage)
        if current:
            joined = f"{current} | {text}"
        else:  # a line after a merge that opened up continues the branch
            joined = "| " + text if lines and lines_continue(lines, indent) else text
        if len(pad) + len(joined) <= width:
            current = joined
            continue
        if isinstance(stage, MergeStage) and len(pad) + len(text) > width:
            label = f"{stage.label}: " if stage.label else ""
            head = f"{label}{stage.keyword}("
            if current:
                lines.append(pad + current)
                head = "| " + head
            inner = indent + 4
            branch_lines = []
            for n, branch in enumerate(stage.branches):
                end = ";" if n + 1 < len(stage.branches) else ""
                wrapped = wrap_stages(branch, inner, width) if branch else [" " * inner + "identity"]
                wrapped[-1] += end
                branch_lines.extend(wrapped)
            lines.append(pad + head + branch_lines[0].strip())
            lines.extend(branch_lines[1:])
            lines[-1] += ")" + merge_words(stage)
            current = ""
            continue
        if current:
            lines.append(pad + current)
            current = "| " + text if lines_continue(lines, indent) else text
        else:
            current = text
    if current:
        lines.append(pad + current)
    return lines


def lines_continue(lines: list[str], indent: int) -> bool:
    """Inside brackets a new line is part of the same branch: it needs its `|`."""
    return indent > 0 and not lines[-1].rstrip().endswith(";")


def top_lines(stages: list, indent: int = 0) -> list[str]:
    """A top-level (or def-body) pipeline: each line continues from the one before, so a
    long pipeline breaks into lines without a `|`; a merge too long for a line opens up."""
    lines: list[str] = []
    current = ""
    pad = " " * indent
    for stage in stages:
        text = stage_text(stage)
        if isinstance(stage, (CallStage, MergeStage)) or (stage_is_input(stage)):
            if current:
                lines.append(pad + current)
                current = ""
            if len(pad) + len(text) <= WIDTH:
                lines.append(pad + text)
            else:
                lines.extend(wrap_merge(stage, indent))
            continue
        joined = text if not current else f"{current} | {text}"
        if len(pad) + len(joined) <= WIDTH:
            current = joined
        else:
            lines.append(pad + current)
            current = text
    if current:
        lines.append(pad + current)
    return lines


def stage_is_input(stage) -> bool:
    return isinstance(stage, LayerStage) and stage.keyword == "input"


def wrap_merge(stage, indent: int) -> list[str]:
    if not isinstance(stage, MergeStage):
        return [" " * indent + stage_text(stage)]
    label = f"{stage.label}: " if stage.label else ""
    inner = indent + 4
    out = [" " * indent + f"{label}{stage.keyword}("]
    for n, branch in enumerate(stage.branches):
        end = ";" if n + 1 < len(stage.branches) else ""
        wrapped = wrap_stages(branch, inner) if branch else [" " * inner + "identity"]
        wrapped[-1] += end
        out.extend(wrapped)
    out[-1] += ")" + merge_words(stage)
    return out


_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")


def write(graph: Graph, source: str, *, blocks: bool = True) -> str:
    """The graph as a .cnn text, formatted as `cnndsl fmt` lays it out, with a header."""
    try:
        pipeline = nest(graph)
        written = Written(pipeline)
        if blocks:
            from .blocks import fold

            written = fold(graph, pipeline)
    except _NotNested:
        written = Written(by_lines(graph), by_lines=True)
    body: list[str] = []
    if graph.defaults != "keras":
        body.append(f"defaults {graph.defaults}")
    for block in written.blocks:
        body.append(f"def {block.name}({', '.join(block.params)}):")
        body.extend(top_lines(block.body, 4))
    if written.blocks:
        body.append("")
    if written.by_lines:
        for line in written.pipeline:
            if line and isinstance(line[-1], RefStage) and line[-1].name == "output":
                body.append(pipeline_text(line[:-1]) + " | output")
            else:
                body.append(pipeline_text(line))
    else:
        body.extend(top_lines(written.pipeline))
    text = "\n".join(body) + "\n"
    return header(graph, source, text) + format_text(text)


def format_text(text: str) -> str:
    from ..tools.fmt import format_source

    try:
        return format_source(text)
    except Exception:  # fmt refuses what it cannot prove unchanged; the text is still valid
        return text


def header(graph: Graph, source: str, text: str) -> str:
    """Where the model came from and its totals, as cnndsl works them out from the text."""
    from ..core.source import Source
    from ..model.pipeline import analyze

    model = analyze(Source.of(text, source))
    lines = [
        f"# Imported from {source} ({graph.format} model `{graph.name}`) by `cnndsl import`.",
        f"#   Total params: {model.total:,}",
        f"#   Trainable params: {model.trainable:,}, Non-trainable params: {model.non_trainable:,}",
        f"#   output {tuple([None, *model.output_shape])}",
    ]
    lines += [f"# {note}" for note in graph.notes]
    return "\n".join(lines) + "\n"
