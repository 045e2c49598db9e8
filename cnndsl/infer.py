"""Layer graph to typed model: every shape, parameter count and name.

This is the only place shapes are computed; summary and code generators
read the result and never work a shape out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .errors import CnnError, DuplicateName, ShapeProblem
from .expand import BlockCall, Graph
from .layers import Inferred, LayerKind, Shape, to_snake_case
from .layers.base import prod
from .limits import check_size, check_total
from .source import Source, Span


@dataclass(frozen=True)
class TypedNode:
    id: int
    name: str
    layer: LayerKind
    inputs: tuple[int, ...]
    in_shapes: tuple[Shape, ...]
    info: Inferred
    implicit: bool = False
    blocks: tuple[BlockCall, ...] = ()
    """The block calls that produced this node, outermost first (empty at top level)."""

    @property
    def shape(self) -> Shape:
        return self.info.shape

    @property
    def keras_type(self) -> str:
        return self.info.keras_type

    @property
    def resolved(self):
        return self.info.resolved

    @property
    def span(self) -> Span:
        return self.layer.span

    @property
    def activations(self) -> int:
        """Values in this node's output for one example (the tutorials' "activation size")."""
        return prod(self.info.shape)


@dataclass(frozen=True)
class Model:
    nodes: tuple[TypedNode, ...]
    output: int
    name: str = "model"
    source: Source | None = None  # the text it came from, when known (explain quotes its lines)

    @property
    def input(self) -> TypedNode:
        return self.nodes[0]

    @property
    def layers(self) -> tuple[TypedNode, ...]:
        """Every node but the input."""
        return self.nodes[1:]

    @cached_property
    def sequential(self) -> bool:
        """True when each layer feeds only the next: Keras's Sequential."""
        return self.output == len(self.nodes) - 1 and all(node.inputs == (node.id - 1,) for node in self.nodes[1:])

    @cached_property
    def keras_order(self) -> tuple[TypedNode, ...]:
        """The nodes in the order a Keras functional model lists its layers.

        Keras sorts by depth (the longest path to the output), deepest
        first, and breaks ties by a depth-first walk from the output.
        """
        first_seen: dict[int, int] = {}
        stack = [self.output]
        while stack:
            i = stack.pop()
            if i in first_seen:
                continue
            first_seen[i] = len(first_seen)
            stack.extend(reversed(self.nodes[i].inputs))
        depth = dict.fromkeys(first_seen, 0)
        for i in sorted(first_seen, reverse=True):  # ids are topological
            for j in self.nodes[i].inputs:
                depth[j] = max(depth[j], depth[i] + 1)
        return tuple(self.nodes[i] for i in sorted(first_seen, key=lambda i: (-depth[i], first_seen[i])))

    @cached_property
    def block_calls(self) -> tuple[BlockCall, ...]:
        """Every block call that made a node, in call-id order (outer calls before the calls inside them)."""
        calls = {call.id: call for node in self.nodes for call in node.blocks}
        return tuple(calls[i] for i in sorted(calls))

    @property
    def output_shape(self) -> Shape:
        return self.nodes[self.output].shape

    @property
    def trainable(self) -> int:
        return sum(node.info.trainable for node in self.nodes)

    @property
    def non_trainable(self) -> int:
        return sum(node.info.non_trainable for node in self.nodes)

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def macs(self) -> int:
        return sum(node.info.macs for node in self.nodes)

    @property
    def activations(self) -> int:
        """Values output by every layer (not the input), for one example."""
        return sum(node.activations for node in self.layers)

    @cached_property
    def receptive_fields(self) -> dict:
        """Each node's receptive field on the input (`cnndsl.receptive.Field`, or None), by node id."""
        from .receptive import receptive_fields

        return receptive_fields(self)

    def memory(self, batch: int = 1, dtype: str = "float32", optimizer: str = "adam"):
        """Memory figures in bytes (a `cnndsl.memory.Memory`); the convention is in that module."""
        from .memory import memory

        return memory(self, batch, dtype, optimizer)

    def summary(
        self,
        columns=None,
        depth: int | None = None,
        layout: str = "channels_last",
        batch: int | None = None,
        macs: bool = False,
        dtype: str = "float32",
        optimizer: str = "adam",
        format: str = "table",
        memory: bool = False,
    ) -> str:
        """The summary as `cnndsl summary` prints it: `format` is table, markdown, html or json.

        `columns` is a list from `cnndsl.columns.COLUMNS` (or "all"), `depth` groups rows by
        block call, `memory` adds the memory figures under the totals.
        """
        from . import summary as views
        from .columns import COLUMNS, View

        if format == "json":
            import json

            return json.dumps(views.summary_dict(self, batch, dtype, optimizer, layout), indent=2)
        if columns == "all":
            columns, memory = COLUMNS, True
        view = View(tuple(columns) if columns else None, layout, depth, dtype, optimizer, memory)
        if format == "markdown":
            return views.format_markdown(self, batch, macs, view)
        if format == "html":
            return views.format_html(self, batch, macs, view)
        if format != "table":
            raise ValueError(f"unknown format {format!r}; one of table, markdown, html, json")
        return views.format_summary(self, batch, macs, view=view)

    def _repr_html_(self) -> str:
        """A notebook cell that ends with a model shows its summary table."""
        from .summary import format_html

        return format_html(self)

    def explain(self, layers=None, layout: str = "channels_last", dtype: str = "float32") -> str:
        """The arithmetic behind every figure, as `cnndsl explain` prints it."""
        from .explain import explain_text

        return explain_text(self, layers, layout=layout, dtype=dtype)


class _Namer:
    """Keras's default names: `conv2d`, `conv2d_1`, ... per class; labels kept."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.taken: dict[str, Span | None] = {}

    def auto(self, keras_type: str) -> str:
        base = "input_layer" if keras_type == "InputLayer" else to_snake_case(keras_type)
        count = self.counts.get(base, 0)
        self.counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def claim(self, name: str, span: Span | None, label_span: Span | None) -> None:
        if name in self.taken:
            other = self.taken[name]
            where = f" (line {other.line})" if other else ""
            if label_span is not None:
                raise DuplicateName(
                    f"a layer is already named `{name}`{where}",
                    label_span,
                    "layer names must be unique; labels inside a repeated block repeat too",
                )
            raise DuplicateName(
                f"Keras would give this layer the name `{name}`, which a label{where} already uses",
                span or other,
                "rename the label",
            )
        self.taken[name] = label_span or span


def infer(graph: Graph, name: str = "model") -> Model:
    """Infer shapes, parameters and names for every node of the graph."""
    nodes: list[TypedNode] = []
    new_id: dict[int, int] = {}
    labels = {node.label for node in graph.nodes if node.label}
    namer = _Namer()
    totals = [0, 0]  # parameters and MACs so far, each bounded by MAX_TOTAL

    def place(layer: LayerKind, inputs: tuple[int, ...], implicit: bool, blocks, label=None, label_span=None) -> int:
        in_shapes = tuple(nodes[i].shape for i in inputs)
        info = layer.infer(in_shapes)
        if any(d <= 0 for d in info.shape):
            raise ShapeProblem(f"this layer's output would be empty ({info.shape})", layer.span)
        _check_sizes(layer, info, totals)
        layer_name = label or namer.auto(info.keras_type)
        namer.claim(layer_name, layer.span if not label else None, label_span)
        node = TypedNode(len(nodes), layer_name, layer, inputs, in_shapes, info, implicit, blocks)
        nodes.append(node)
        return node.id

    for node in graph.nodes:
        inputs = tuple(new_id[i] for i in node.inputs)
        try:
            extra = node.layer.implicit_before(tuple(nodes[i].shape for i in inputs))
            if extra is not None:
                inputs = (place(extra, inputs, True, node.blocks),)
            new_id[node.id] = place(node.layer, inputs, False, node.blocks, node.label, node.label_span)
        except CnnError as error:
            error.called_from = error.called_from or node.called_from
            raise
    del labels
    return Model(tuple(nodes), new_id[graph.output], name)


def _check_sizes(layer: LayerKind, info: Inferred, totals: list[int]) -> None:
    """Every axis within MAX_AXIS; values, parameters and MACs, per layer and in all, within MAX_TOTAL."""
    for axis in info.shape:
        check_size(axis, layer.span, "an axis of this layer's output")
    check_total(prod(info.shape), layer.span, "the values in this layer's output")
    check_total(info.params, layer.span, "this layer's parameter count")
    check_total(info.macs, layer.span, "this layer's MACs")
    totals[0] += info.params
    totals[1] += info.macs
    check_total(totals[0], layer.span, "the parameters of the network up to here")
    check_total(totals[1], layer.span, "the MACs of the network up to here")
