"""Layer graph to typed model: every shape, parameter count and name.

This is the only place shapes are computed; summary and code generators
read the result and never work a shape out again.
"""

from __future__ import annotations

from functools import cached_property

from ..core.errors import (
    BranchMismatch,
    CnnError,
    DuplicateName,
    Hint,
    LimitExceeded,
    ShapeProblem,
    SizeNeeded,
    UnknownSize,
)
from ..core.frozen import frozen
from ..core.limits import MAX_AXIS, MAX_TOTAL, check_size, check_total
from ..core.records import dataclass
from ..core.sizes import EXAMPLE_SIZE, RUN_STARTS, Condition, Size, Tie, Undecided, choose, input_symbols
from ..core.source import Source, Span
from ..language.expand import BlockCall, Failed, Graph
from ..layers import Inferred, LayerKind, Shape, to_snake_case
from ..layers.base import axis_word, describe_shape, prod


@frozen
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
    shares: int | None = None  # the first use of this node's layer, when it is used again
    call_index: int = 0  # which use of its layer this is: Keras's node index
    label: str | None = None  # the label as written in a block's body (its call's own), where `name` may differ
    rounds: tuple = ()  # the repeats and loops that made it and its round in each (GraphNode.rounds)
    sizes: tuple | None = None
    """The output shape with each axis that depends on a `?` axis as its expression (a
    cnndsl.core.sizes.Size) where `shape` has None; None when no axis has one."""
    conditions: tuple = ()  # what this merge needs of the `?` axes' sizes (Conditions), as it states them

    @property
    def shape(self) -> Shape:
        return self.info.shape

    @property
    def symbolic(self) -> tuple:
        """The output shape, each axis an int, a Size, or None (unknown, with no expression)."""
        return self.info.shape if self.sizes is None else self.sizes

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
    def activations(self) -> int | None:
        """Values in this node's output for one example (the tutorials' "activation size");
        None when an axis of the output has no size (`input ?x?x3`)."""
        return prod(self.info.shape)


@dataclass(frozen=True)
class Model:
    nodes: tuple[TypedNode, ...]
    outputs: tuple[int, ...]
    name: str = "model"
    source: Source | None = None  # the text it came from, when known (explain quotes its lines)
    inputs: tuple[int, ...] = (0,)
    training_outputs: tuple[int, ...] = ()  # the outputs marked `| output train`, after the others
    conditions: tuple = ()  # what the merges need of the `?` axes' sizes, together (cnndsl.core.sizes.Condition)

    @property
    def output(self) -> int:
        """The first output (the only one, in most networks)."""
        return self.outputs[0]

    @property
    def input(self) -> TypedNode:
        return self.nodes[self.inputs[0]]

    @cached_property
    def layers(self) -> tuple[TypedNode, ...]:
        """Every node but the inputs."""
        return tuple(node for node in self.nodes if node.id not in self.inputs)

    @cached_property
    def calls(self) -> dict[int, tuple[TypedNode, ...]]:
        """Each layer's uses, first use first, keyed by the first use's id."""
        calls: dict[int, list[TypedNode]] = {}
        for node in self.nodes:
            calls.setdefault(node.id if node.shares is None else node.shares, []).append(node)
        return {key: tuple(value) for key, value in calls.items()}

    @cached_property
    def sequential(self) -> bool:
        """True when each layer feeds only the next: Keras's Sequential."""
        return (
            len(self.inputs) == 1
            and self.outputs == (len(self.nodes) - 1,)
            and all(node.inputs == (node.id - 1,) and node.shares is None for node in self.nodes[1:])
        )

    @cached_property
    def keras_order(self) -> tuple[TypedNode, ...]:
        """The layers (each once, by its first use) in the order a Keras functional model lists them.

        As Keras's `map_graph`: a depth-first walk from each output in turn
        numbers the layers and lists the uses inputs first; the depth of a use
        is its longest path to an output, and a shared layer takes the deepest
        of its uses. Layers are sorted deepest first, ties by walk order.
        """
        layer_of = [node.id if node.shares is None else node.shares for node in self.nodes]
        walk_index: dict[int, int] = {}
        inputs_first: list[int] = []
        finished: set[int] = set()
        for output in self.outputs:
            stack = [(output, False)]
            while stack:
                i, done = stack.pop()
                if done:
                    finished.add(i)
                    inputs_first.append(i)
                    continue
                if i in finished:
                    continue
                walk_index.setdefault(layer_of[i], len(walk_index))
                stack.append((i, True))
                stack.extend((j, False) for j in reversed(self.nodes[i].inputs))
        use_depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        for i in reversed(inputs_first):
            depth = max(use_depth.setdefault(i, 0), layer_depth.get(layer_of[i], 0))
            layer_depth[layer_of[i]] = use_depth[i] = depth
            for j in self.nodes[i].inputs:
                use_depth[j] = max(depth + 1, use_depth.get(j, 0))
        for i in self.inputs:  # Keras keeps inputs that no output reads
            if i not in layer_depth:
                layer_depth[i], walk_index[i] = 0, -1
        ordered = sorted(layer_depth, key=lambda i: (-layer_depth[i], walk_index[i]))
        return tuple(self.nodes[i] for i in ordered)

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
        return sum(node.info.trainable for node in self.nodes if node.shares is None)

    @property
    def non_trainable(self) -> int:
        return sum(node.info.non_trainable for node in self.nodes if node.shares is None)

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def macs(self) -> int | None:
        """Multiply-accumulates for one example at inference, so without the layers only training-only
        outputs read; None when some depend on an axis of unknown size."""
        if not self.training_outputs:
            return _total(node.info.macs for node in self.nodes)
        return _total(node.info.macs for node in self.nodes if node.id not in self.training_only)

    @property
    def training_macs(self) -> int | None:
        """The multiply-accumulates of the layers that run only while training (an auxiliary head)."""
        return _total(self.nodes[i].info.macs for i in sorted(self.training_only))

    @cached_property
    def training_only(self) -> frozenset[int]:
        """The layers only training-only outputs read (`| output train`): they do not run at inference."""
        if not self.training_outputs:
            return frozenset()
        needed = {i for i in self.outputs if i not in self.training_outputs}
        for node in reversed(self.nodes):
            if node.id in needed:
                needed.update(node.inputs)
        return frozenset(node.id for node in self.layers if node.id not in needed)

    @property
    def activations(self) -> int | None:
        """Values output by every layer (not the input), for one example; None when some are unknown."""
        return _total(node.activations for node in self.layers)

    @cached_property
    def unknown_inputs(self) -> tuple[TypedNode, ...]:
        """The inputs with an axis of unknown size (`input ?x?x3`): why a figure can be unknown."""
        return tuple(self.nodes[i] for i in self.inputs if None in self.nodes[i].shape)

    def unknown_reason(self) -> str:
        """Why figures that depend on the input's size are unknown, for a view to print."""
        return unknown_reason(self.unknown_inputs)

    @cached_property
    def symbols(self) -> tuple[str, ...]:
        """The names of the inputs' `?` axes (`h`, `w`; `h2` for a second input's), in order."""
        return tuple(n.text() for i in self.inputs for n in self.nodes[i].symbolic if isinstance(n, Size))

    def symbol_text(self, names=None) -> str:
        """What the symbols stand for: `h is the height of `input_layer`, line 1, w its width`."""
        parts = []
        for i in self.inputs:
            node, said = self.nodes[i], False
            for axis, n in enumerate(node.symbolic):
                if isinstance(n, Size) and (names is None or n.text() in names):
                    word = axis_word(axis, len(node.shape))
                    parts.append(f"{n.text()} its {word}" if said else f"{n.text()} is the {word} of `{node.name}`, line {node.span.line}")
                    said = True
        return ", ".join(parts)

    def conditions_text(self) -> str:
        """`h ≡ 0 mod 4 and w ≡ 0 mod 4`: what the merges need of the `?` axes' sizes, together."""
        return " and ".join(c.text() for c in self.conditions)

    def run_sizes(self, count: int = 3) -> list[dict[str, int]]:
        """Sizes of the `?` axes to run the model at, each meeting the merges' conditions and leaving every
        size that has an expression at least 1: the demo's (from 224 up) first, then from 67 and 131 up."""
        return self._run_sizes[:count]

    @cached_property
    def _run_sizes(self) -> list[dict[str, int]]:
        if not self.symbols:
            return [{}] * len(RUN_STARTS)
        found: list[dict[str, int]] = []
        for start in RUN_STARTS:
            spread = bool(found)  # the demo's `?` axes one size; the others apart, where the conditions allow
            values = choose(self.symbols, self.conditions, start, self._fits, spread=spread)
            if values in found:  # a modulus past the starts (h ≡ 0 mod 512): the next sizes up
                at = max(max(v.values()) for v in found) + 1
                values = choose(self.symbols, self.conditions, at, self._fits, spread=spread)
            found.append(values if values is not None else dict.fromkeys(self.symbols, start))
        return found

    def _fits(self, values: dict[str, int]) -> bool:
        return all(n.value(values) >= 1 for node in self.nodes if node.sizes for n in node.sizes if isinstance(n, Size))

    def example_shape(self, node: TypedNode, values: dict[str, int] | None = None) -> tuple[int, ...]:
        """An input's shape with its `?` axes at `values` (by default the demo's sizes)."""
        values = self.run_sizes(1)[0] if values is None else values
        return tuple(n.value(values) if isinstance(n, Size) else EXAMPLE_SIZE if n is None else n for n in node.symbolic)

    def require_sizes(self, what: str) -> None:
        """Refuse, at the input, a figure that needs every size when some axis has none."""
        if self.unknown_inputs:
            node = self.unknown_inputs[0]
            fix = describe_shape(tuple(224 if n is None else n for n in node.shape))
            raise SizeNeeded(
                f"{what} needs every axis's size, but this input has axes of unknown size ({describe_shape(node.shape)})",
                node.layer.span_of("shape"),
                f"give the input a size for this, e.g. `input {fix}`",
            )

    @cached_property
    def receptive_fields(self) -> dict:
        """Each node's receptive field on the input (`cnndsl.model.receptive.Field`, or None), by node id."""
        from .receptive import receptive_fields

        return receptive_fields(self)

    def memory(self, batch: int = 1, dtype: str = "float32", optimizer: str = "adam"):
        """Memory figures in bytes (a `cnndsl.model.memory.Memory`); the convention is in that module."""
        from .memory import memory

        return memory(self, batch, dtype, optimizer)


def _total(values) -> int | None:
    """A sum that is unknown (None) as soon as one of its terms is."""
    values = tuple(values)
    return None if None in values else sum(values)


def unknown_reason(inputs) -> str:
    """`the input's size is unknown (?x?x3, line 1)`: what an unknown figure depends on."""
    written = ", ".join(f"{describe_shape(node.shape)}, line {node.span.line}" for node in inputs)
    return f"it depends on the input's axes of unknown size ({written})"


class _Namer:
    """Keras's default names: `conv2d`, `conv2d_1`, ... per class; labels kept."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.taken: dict[str, tuple] = {}  # name -> (where it was given, the block calls that gave it)
        self.bases: dict[str, str] = {}  # keras_type -> its snake_case name (three regex passes each)
        self.reserved: set[str] = set()  # the top level's labels, which a block's labels leave to them

    def auto(self, keras_type: str) -> str:
        base = self.bases.get(keras_type)
        if base is None:
            base = "input_layer" if keras_type == "InputLayer" else to_snake_case(keras_type)
            self.bases[keras_type] = base
        count = self.counts.get(base, 0)
        self.counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def scoped(self, label: str, label_span: Span | None, blocks: tuple) -> str:
        """The Keras name of a layer a block's body labels: each call has its own `conv1`, and Keras's
        names are global, so the second call's is `conv1_1`, as Keras numbers its own names."""
        name, count = label, 0
        while name in self.taken or name in self.reserved:
            count += 1
            name = f"{label}_{count}"
        self.taken[name] = (label_span, blocks)
        return name

    def claim(self, name: str, span: Span | None, label_span: Span | None, blocks: tuple = ()) -> None:
        if name in self.taken:
            other, other_blocks = self.taken[name]
            where = f" (line {other.line})" if other else ""
            if label_span is not None and label_span == other:
                raise _label_in_block_called_again(name, label_span, blocks, other_blocks)
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
        self.taken[name] = (label_span or span, blocks)


def _label_in_block_called_again(name: str, label_span: Span, blocks: tuple, other_blocks: tuple) -> DuplicateName:
    """The same top-level label reached twice: a repeat (or a repeated call) that it labels. A label in a
    block's body is its call's own and never comes here; Keras's names are global."""
    return DuplicateName(
        f"`{name}` names a layer inside a repeat, which makes it again: layer names are global and unique",
        label_span,
        f"number it with the repeat's index: `* n as i` and the label `{name}{{i}}:`",
    )


class InferenceMemo:
    """The last inference of a file's graph, kept between keystrokes (the editor's). A graph that starts
    with the same node objects (ExpansionMemo gives them) takes their typed nodes from here: inference
    goes node by node and each reads only the nodes before it, so they are the ones it would make.
    After them, a layer object met before on inputs of the same shapes takes what it inferred then
    (`infos`): a layer's rule reads only the layer and those shapes."""

    def __init__(self):
        self.graph_nodes: list = []
        self.typed: list[TypedNode] = []
        self.new_id: dict[int, int] = {}
        self.infos: dict[int, tuple] = {}  # id of a layer -> (the layer, its input shapes, what they gave)

    def shared(self, graph: Graph) -> int:
        """How many leading graph nodes are the last graph's own."""
        count = 0
        for new, old in zip(graph.nodes, self.graph_nodes):
            if new is not old:
                break
            count += 1
        return count


def infer(graph: Graph, name: str = "model", errors: list | None = None, memo: InferenceMemo | None = None) -> Model:
    """Infer shapes, parameters and names for every node of the graph.

    Without `errors` the first mistake is raised. Given a list, each independent
    mistake is recorded there and inference goes on: a layer that fails gives
    the shape it would give an input of unknown height and width (its rank and
    channels known), or, when even that fails, an unknown output that nothing
    after it is checked against; an unknown size that only an earlier error
    made unknown is not reported again. The model is then only for the errors.
    """
    nodes: list[TypedNode] = []
    unknown: set[int] = set()  # nodes whose output is unknown: nothing reading them is checked
    tainted: set[int] = set()  # nodes with axes of unknown size because of an earlier error
    new_id: dict[int, int] = {}
    uses: dict[int, int] = {}
    namer = _Namer()
    namer.reserved = {node.label for node in graph.nodes if node.label and not node.label_depth}
    totals = [0, 0]  # parameters and MACs so far, each bounded by MAX_TOTAL
    memo = memo if errors is None else None
    kept = memo.shared(graph) if memo is not None else 0
    known = memo.infos if memo is not None else {}
    infos: dict[int, tuple] = {}  # this inference's, for the next (the last one's are dropped: bounded by the graph)
    conditions = _Conditions()

    def take(typed: TypedNode, label, label_span) -> None:
        """A typed node from the memo, with the bookkeeping `place` did for it."""
        info = typed.info
        for condition in typed.conditions:
            conditions.add(condition, typed.layer, 0)
        totals[0] += info.params
        if info.macs is not None:
            totals[1] += info.macs
        if typed.shares is None:
            if not label:
                namer.auto(info.keras_type)
            namer.taken[typed.name] = (label_span or (typed.layer.span if not label else None), typed.blocks)
        else:
            uses[typed.shares] = uses.get(typed.shares, 0) + 1
        if not typed.implicit:
            infos[id(typed.layer)] = (typed.layer, typed.in_shapes, info)
        nodes.append(typed)

    for node in graph.nodes[:kept]:
        typed_id = memo.new_id[node.id]
        while len(nodes) < typed_id:  # the implicit flatten placed before it
            take(memo.typed[len(nodes)], None, None)
        take(memo.typed[typed_id], node.label, node.label_span)
        new_id[node.id] = typed_id

    def place(
        layer: LayerKind,
        inputs: tuple[int, ...],
        in_shapes: tuple[Shape, ...],
        implicit: bool,
        blocks,
        label=None,
        label_span=None,
        shares=None,
        label_depth=0,
        rounds=(),
    ):
        before = known.get(id(layer))
        if before is not None and before[0] is layer and before[1] == in_shapes:
            info = before[2]  # it passed the checks below then
        else:
            if layer.NEEDS_LAST_AXIS and any(shape and shape[-1] is None for shape in in_shapes):
                raise _unknown_last_axis(layer, in_shapes, inputs, nodes)
            info = layer.infer(in_shapes)
            if info.shape and min((n for n in info.shape if n is not None), default=1) <= 0:
                raise ShapeProblem(f"this layer's output would be empty ({info.shape})", layer.span)
        if memo is not None and not implicit:
            infos[id(layer)] = (layer, in_shapes, info)
        _check_sizes(layer, info, totals)
        sizes, stated = None, ()
        if not inputs and None in info.shape:  # an input's `?` axes: its symbols
            count = sum(1 for n in nodes if not n.inputs and n.layer.keyword == layer.keyword)
            sizes = input_symbols(info.shape, count)
        elif any(nodes[i].sizes is not None for i in inputs):
            sizes, stated = _symbolic_sizes(layer, tuple(nodes[i].symbolic for i in inputs), info.shape)
            for condition, branch in stated:
                conditions.add(condition, layer, branch)
            stated = tuple(condition for condition, _ in stated)
        if shares is None and label and label_depth:
            layer_name = namer.scoped(label, label_span, blocks)
            call_index = 0
        elif shares is None:
            layer_name = label or namer.auto(info.keras_type)
            namer.claim(layer_name, layer.span if not label else None, label_span, blocks)
            call_index = 0
        else:
            first = nodes[shares]
            _check_same_weights(first, in_shapes, info)
            layer_name = first.name
            call_index = uses[shares] = uses.get(shares, 0) + 1
        node = TypedNode(
            len(nodes),
            layer_name,
            layer,
            inputs,
            in_shapes,
            info,
            implicit,
            blocks,
            shares=shares,
            call_index=call_index,
            label=label if label_depth and label_depth == len(blocks) else None,
            rounds=rounds,
            sizes=sizes,
            conditions=stated,
        )
        nodes.append(node)
        return node.id

    for node in graph.nodes[kept:] if kept else graph.nodes:
        inputs = tuple(new_id[i] for i in node.inputs)
        shares = None if node.shares is None else new_id[node.shares]
        if errors is not None and (
            isinstance(node.layer, Failed) or shares in unknown or any(i in unknown for i in inputs)
        ):
            new_id[node.id] = _add_unknown(nodes, node, inputs)
            unknown.add(new_id[node.id])
            continue
        if errors is not None and node.guessed:  # a layer with a wrong argument left out: a guess
            in_shapes = tuple(nodes[i].info.shape for i in inputs)
            new_id[node.id], _ = _add_guess(nodes, node, inputs, in_shapes, exact_first=False)
            if new_id[node.id] is None:
                new_id[node.id] = _add_unknown(nodes, node, inputs)
                unknown.add(new_id[node.id])
            else:
                tainted.add(new_id[node.id])
            continue
        in_shapes, read = (), inputs
        try:
            in_shapes = tuple([nodes[i].info.shape for i in inputs])
            if node.layer.READS_INTEGERS or any(nodes[i].info.resolved.get("integers") for i in inputs):
                _check_integers(node.layer, inputs, nodes)
            extra = node.layer.implicit_before(in_shapes)
            if extra is not None:
                # A shared dense shares the flatten before it too, as one Keras layer per use would not.
                flatten = None if shares is None or not nodes[shares - 1].implicit else shares - 1
                inputs = (place(extra, inputs, in_shapes, True, node.blocks, shares=flatten, rounds=node.rounds),)
                in_shapes = (nodes[inputs[0]].info.shape,)
            new_id[node.id] = place(
                node.layer,
                inputs,
                in_shapes,
                False,
                node.blocks,
                node.label,
                node.label_span,
                shares,
                node.label_depth,
                node.rounds,
            )
        except CnnError as error:
            if node.span is not None:
                error.span = node.span  # a reused layer's problem is where it was reused
            error.called_from = error.called_from or node.called_from
            if isinstance(error, ShapeProblem):
                _blame_channels_first(error, [nodes[new_id[i]].shape for i in graph.inputs if i in new_id])
            if errors is None or isinstance(error, LimitExceeded):
                raise
            after_error = any(i in tainted for i in read) or shares in tainted
            if not (after_error and isinstance(error, UnknownSize)):
                errors.append(error)
            # `inputs` and `in_shapes` are its implicit flatten's, when that was placed
            new_id[node.id], guessed = _add_guess(nodes, node, inputs, in_shapes)
            if new_id[node.id] is None:
                new_id[node.id] = _add_unknown(nodes, node, inputs)
                unknown.add(new_id[node.id])
            elif guessed or after_error:
                tainted.add(new_id[node.id])
            continue
        if errors is not None and (any(i in tainted for i in read) or shares in tainted):
            tainted.add(new_id[node.id])
    if memo is not None:
        memo.graph_nodes, memo.typed, memo.new_id, memo.infos = graph.nodes, nodes, new_id, infos
    return Model(
        tuple(nodes),
        tuple(new_id[i] for i in graph.outputs),
        name,
        inputs=tuple(new_id[i] for i in graph.inputs) or (0,),
        training_outputs=tuple(new_id[i] for i in graph.training),
        conditions=conditions.together(),
    )


def _symbolic_sizes(layer: LayerKind, shapes: tuple, concrete: Shape) -> tuple[tuple | None, tuple]:
    """The layer's output with expressions for the axes that depend on `?` axes, and the conditions a
    merge states (cnndsl.core.sizes): its own shape rule run on the inputs' expressions. A rule the
    algebra does not follow leaves those axes unknown; a merge whose sizes differ raises here."""
    try:
        found = layer.infer(shapes)
    except CnnError as error:
        if isinstance(error, BranchMismatch) or getattr(error, "from_sizes", False):
            raise
        return None, ()
    except Exception:  # noqa: BLE001 - Undecided, or a rule written for ints alone: the axes stay unknown
        return None, ()
    shape = found.shape
    if shape is None or len(shape) != len(concrete):
        return None, ()
    sizes = tuple(c if c is not None else n if isinstance(n, Size) else None for n, c in zip(shape, concrete))
    stated = tuple(found.resolved.get("size_conditions", ()))
    return (sizes if any(isinstance(n, Size) for n in sizes) else None), stated


def _mismatch(layer: LayerKind, branch: int, message: str, hint: str) -> BranchMismatch:
    mismatch = getattr(layer, "mismatch", None)
    return mismatch(branch, message, hint) if mismatch else BranchMismatch(message, layer.span, hint)


class _Conditions:
    """The conditions the merges put on the `?` axes so far, joined per group of symbols: a merge
    whose condition no size meets together with the earlier ones is a located error."""

    def __init__(self):
        self.joined: list[tuple[Condition, Span]] = []

    def add(self, condition: Condition | Tie, layer: LayerKind, branch: int) -> None:
        if isinstance(condition, Tie):  # one size for these symbols: kept as it is
            if all(condition != other for other, _ in self.joined):
                self.joined.append((condition, layer.span))
            return
        for i, (other, where) in enumerate(self.joined):
            if isinstance(other, Tie):
                continue
            if not set(other.names) & set(condition.names):
                continue
            try:
                both = other.both(condition)
            except Undecided:  # too long to list together: each is kept, and the sizes chosen meet them
                continue
            if not both.residues:
                raise _mismatch(
                    layer,
                    branch,
                    f"this merge needs {condition.text()}, but the merge at line {where.line} needs {other.text()}: "
                    "no size meets both",
                    "give the input a size, or change the strides so that the branches agree",
                )
            if both != other:
                self.joined[i] = (both, where)
            return
        self.joined.append((condition, layer.span))

    def together(self) -> tuple[Condition, ...]:
        return tuple(condition for condition, _ in self.joined)


def _add_unknown(nodes: list[TypedNode], node, inputs: tuple[int, ...]) -> int:
    """A node of unknown output (shape None), for a layer that failed or reads one that did."""
    nodes.append(
        TypedNode(len(nodes), node.label or "?", node.layer, inputs, (), Inferred(None, "?"), False, node.blocks)
    )
    return len(nodes) - 1


def _add_guess(nodes: list[TypedNode], node, inputs, in_shapes, exact_first=True) -> tuple[int | None, bool]:
    """The node a failed layer would be: its output for these inputs when only its name or its
    weights' reuse failed, else for inputs of unknown height and width (guessed: True); None when neither works."""
    unsized = tuple(shape if len(shape) < 2 else (None,) * (len(shape) - 1) + shape[-1:] for shape in in_shapes)
    for guessed, shapes in ((False, in_shapes), (True, unsized))[0 if exact_first else 1 :]:
        try:
            info = node.layer.infer(shapes)
        except Exception:  # noqa: BLE001 - any failure: try the next guess, or give up on this node
            continue
        if info.shape is not None and all(n is None or n > 0 for n in info.shape):
            nodes.append(TypedNode(len(nodes), node.label or "?", node.layer, inputs, shapes, info, False, node.blocks))
            return len(nodes) - 1, guessed
    return None, False


def _check_integers(layer: LayerKind, inputs, nodes) -> None:
    """Token ids (`input L int`) are read by `embedding` alone, and `embedding` reads nothing else."""
    ids = [nodes[i] for i in inputs if nodes[i].info.resolved.get("integers")]
    if layer.READS_INTEGERS and len(ids) < len(inputs):
        raise ShapeProblem(
            f"`{layer.keyword}` reads token ids, but its input holds numbers",
            layer.span,
            "make the network's input a sequence of ids, `input 400 int`, and put `embedding` just after it",
        )
    if ids and not layer.READS_INTEGERS:
        source = ids[0]
        raise ShapeProblem(
            f"`{layer.keyword}` computes with numbers, but its input holds token ids "
            f"(`input {describe_shape(source.shape)} int`, line {source.span.line})",
            layer.span,
            "put `embedding VOCAB DIM` first: it turns each id into a vector of DIM numbers",
        )


def _unknown_last_axis(layer: LayerKind, in_shapes, inputs, nodes) -> UnknownSize:
    """`flatten | dense 10` on `input ?x?x3`: the dense's weights would need the unknown length."""
    before = next(nodes[i] for i, shape in zip(inputs, in_shapes) if shape and shape[-1] is None)
    came = ""
    if before.layer.keyword != "input":
        verb = "flattening" if before.layer.keyword == "flatten" else f"`{before.layer.keyword}` on"
        came = f" ({verb} {describe_shape(before.in_shapes[0])} gives {describe_shape(before.shape)})"
    unknown = [node for node in nodes if node.layer.keyword == "input" and None in node.shape]
    written = " and ".join(f"`input {describe_shape(node.shape)}` (line {node.span.line})" for node in unknown)
    pool = f"pool them away first (`gap` before `{layer.keyword}`), " if before.layer.keyword == "flatten" else ""
    return UnknownSize(
        f"`{layer.keyword}` needs the size of its input's last axis, which is unknown here{came}: "
        "its weights depend on it",
        layer.span,
        f"the unknown axes come from {written}; {pool}or give the input a size",
    )


def _blame_channels_first(error: ShapeProblem, input_shapes: list[Shape]) -> None:
    """`input 3x224x224` (PyTorch's CHW habit) is a valid 3x224 map of 224 channels here,
    so the file only fails later: say so in the hint of the error it meets."""
    for shape in input_shapes:
        if shape is None or None in shape:
            continue
        if len(shape) >= 3 and shape[0] in (1, 3, 4) and min(shape[1:]) >= 8 * shape[0]:
            fix = describe_shape((*shape[1:], shape[0]))
            note = f"channels come last here: `input {fix}`, not `input {describe_shape(shape)}`"
            edits = getattr(error.hint, "edits", ())
            error.hint = Hint(f"{error.hint}; {note}" if error.hint else note, *edits)
            return


def _check_same_weights(first: TypedNode, in_shapes: tuple[Shape, ...], info: Inferred) -> None:
    """A layer used again must fit the weights it already has."""
    if info.params == first.info.params and (
        not info.params or [s[-1] for s in in_shapes] == [s[-1] for s in first.in_shapes]
    ):
        return
    raise ShapeProblem(
        f"`{first.name}` was built for {describe_shape(first.in_shapes[0])} and cannot reuse its weights "
        f"on {describe_shape(in_shapes[0])}",
        first.span,
        "a shared layer needs inputs with the same channels each time it is used",
    )


def _check_sizes(layer: LayerKind, info: Inferred, totals: list[int]) -> None:
    """Every axis within MAX_AXIS; values, parameters and MACs, per layer and in all, within MAX_TOTAL."""
    shape, params, macs = info.shape, info.params, info.macs
    if (
        macs is not None  # an unknown size takes the long way below
        and None not in shape
        and (not shape or (max(shape) <= MAX_AXIS and min(shape) >= -MAX_AXIS and prod(shape) <= MAX_TOTAL))
        and params <= MAX_TOTAL
        and macs <= MAX_TOTAL
        and totals[0] + params <= MAX_TOTAL
        and totals[1] + macs <= MAX_TOTAL
    ):  # every check below passes: one test instead of eight calls per layer
        totals[0] += params
        totals[1] += macs
        return
    for axis in info.shape:
        if axis is not None:
            check_size(axis, layer.span, "an axis of this layer's output")
    values = prod(n for n in info.shape if n is not None)  # the known axes alone are bounded too
    check_total(values, layer.span, "the values in this layer's output")
    check_total(info.params, layer.span, "this layer's parameter count")
    totals[0] += info.params
    if info.macs is None:  # depends on an axis of unknown size: the bound applies when it is known
        check_total(totals[0], layer.span, "the parameters of the network up to here")
        return
    check_total(info.macs, layer.span, "this layer's MACs")
    totals[1] += info.macs
    check_total(totals[0], layer.span, "the parameters of the network up to here")
    check_total(totals[1], layer.span, "the MACs of the network up to here")
