"""Syntax tree to layer graph: blocks called, repeats unrolled, arguments bound.

The result is a list of nodes in topological order, each a bound layer
kind with the ids of its inputs. Shapes are not known yet; `infer` comes next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import islice

from ..core.errors import (
    BadArgument,
    BlockProblem,
    CnnError,
    DuplicateName,
    Edit,
    Hint,
    LimitExceeded,
    MissingInput,
    ParameterProblem,
    StructureProblem,
    UnknownLayer,
    UnknownReference,
    UseProblem,
    did_you_mean,
)
from ..core.limits import MAX_CALL_DEPTH, MAX_LAYERS, MAX_NESTING, MAX_WORK, WORK_PER_WRITTEN_STAGE
from ..core.records import dataclass, field, replace
from ..core.source import Span
from ..layers import REGISTRY, LayerKind, Value
from ..layers.base import keras_layer_hint, keras_layer_word
from . import ast
from .expressions import Block, Context, Worked, captured, computed, evaluate, mentions, truth
from .modules import NO_PATH, NO_PATH_HINT


@dataclass(frozen=True)
class BlockCall:
    """One call of a `def` block while expanding; `id` tells apart two calls of one block.

    Ids count calls in the order expansion reaches them (0, 1, ...), so they
    are the same on every run of the same file. `span` is the call's text.
    """

    id: int
    name: str
    span: Span
    arguments: str | None = None  # the arguments it was given, evaluated: `192, 1x7`, `64, 3, s=1`
    label: str | None = None  # `stem` of `stem: bn3(32)`
    args: tuple = ()  # (parameter, value) as bound in this call

    @property
    def written(self) -> str | None:
        """`stem: cbr(192, 1x7)`: the call with its evaluated arguments and its label; None when unknown."""
        if self.arguments is None:
            return None
        return (f"{self.label}: " if self.label else "") + f"{self.name}({self.arguments})"


class Unrolled:
    """One unrolling of a repeat `(...) * n` or a `for` loop. `level`: the block calls open around it.
    Two unrollings are the same only if they are one object (a repeat in a block called twice is two)."""

    __slots__ = ("span", "rounds", "level")

    def __init__(self, span: Span, rounds: int, level: int):
        self.span, self.rounds, self.level = span, rounds, level


@dataclass
class GraphNode:
    id: int
    layer: LayerKind
    inputs: tuple[int, ...]
    label: str | None = None
    label_span: Span | None = None
    label_depth: int = 0  # how many block calls deep the label was written: 0 at the top level
    called_from: tuple[tuple[str, Span], ...] = ()  # innermost block call first
    shares: int | None = None  # the node whose layer (and weights) this one applies again
    span: Span | None = None  # where this use was written, when it is not the layer's own span
    blocks: tuple[BlockCall, ...] = ()  # the block calls that made this node, outermost first
    rounds: tuple[tuple[Unrolled, int], ...] = ()  # the repeats and loops that made it and its round in each, outermost first
    guessed: bool = False  # made from a layer written wrongly, without the wrong argument (see Expander.layer)


@dataclass
class Graph:
    nodes: list[GraphNode] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    training: list[int] = field(default_factory=list)  # the outputs marked `| output train`

    @property
    def output(self) -> int:
        return self.outputs[0]


@dataclass(frozen=True)
class _Named:
    """What a label names: the nodes its stage made, the tensor it read, the tensor it gave."""

    first: int
    stop: int
    entry: int | None
    result: int
    span: Span


class Failed(LayerKind):
    """Stands for a stage that could not be expanded, when every error of a file is wanted.

    Its output is unknown: inference gives it no shape, and nothing that only
    reads it is checked (its errors would follow from this one).
    """

    NEEDS_LAST_AXIS = False

    def __init__(self, span: Span):
        super().__init__("?", {}, {}, span)


# Words the expander handles itself; none of them is a layer kind.
IDENTITY, OUTPUT, REUSE = "identity", "output", "reuse"


Env = Mapping[str, Value]


def _reject_literal_product(arg) -> None:
    """`conv 8 3 * 2` reads like a repeat but would multiply the kernel."""
    if (
        isinstance(arg, ast.BinOp)
        and arg.op == "*"
        and isinstance(arg.left, ast.Num)
        and isinstance(arg.right, ast.Num)
    ):
        raise BadArgument(
            f"`{arg.left.value} * {arg.right.value}` multiplies two numbers",
            arg.span,
            "to repeat a layer, group it: `(conv 8 3) * 2`; for a product, write the result",
        )


class ExpansionMemo:
    """The last expansion of a file, kept between keystrokes (the editor's): the expander's state after
    each of its top-level statements, and what each statement made and read (StatementRecord). The
    next expansion of the same blocks and params starts after the statements it shares with it, on the
    same graph nodes; after that, a statement it shares whose reads this expansion answers alike is
    replayed, not expanded (see Replay). What it gives is the same as without.

    Only an expansion without errors is kept, and only when no statement changed a node made by an
    earlier one (a label put on a tensor an earlier statement made)."""

    def __init__(self):
        self.key: tuple | None = None  # (used files, params, conventions) the states are for
        self.statements: tuple = ()  # the top-level statements, in order
        self.states: list[tuple] = []  # states[i]: after statements[:i]; see Expander.state
        self.records: list[StatementRecord] = []  # records[i]: what statements[i] read and made
        # What each layer line bound to (Expander.bound_layers): by the line and its values, in the
        # order of the graph, and by layer; both hold only the last graph's layers.
        self.layers: dict[tuple, list] = {}
        self.bindings: dict[int, tuple] = {}  # id of a layer -> (its key in `layers`, the line, its layers)
        self.graph: Graph | None = None
        self.named: dict = {}
        self.shapes: list = []

    def resumable(self, key: tuple, statements, definitions: dict) -> int:
        """How many leading statements the next expansion takes from here: the same statements, calling
        the same blocks."""
        if self.key is None or self.key != key:
            return 0
        shared = 0
        for new, old, record in zip(statements, self.statements, self.records):
            if new is not old or not _same_definitions(record, definitions):
                break
            shared += 1
        return shared


# What a top-level statement read of the expansion around it, in order (StatementRecord.events):
# (_LOOKUP, label, result): a label looked up among the top-level labels, and the tensor it gave;
# (_DEFINE, label, taken, named): a label given, `taken` when one of that name was there already;
# (_PROBE, tensor, output, training): whether a tensor was already an output (of earlier statements).
_LOOKUP, _DEFINE, _PROBE = 0, 1, 2


class StatementRecord:
    """One top-level statement's expansion: the state it started from, what it read of what earlier
    statements made, and what it added. A statement that reads nothing else (no `in.c`, no `reuse`, no
    field of an earlier node: `replayable`) depends on node ids only through these reads, so renumbered
    consistently its nodes are those of the same statement expanded on a renumbered state."""

    __slots__ = (
        "statement", "current", "nodes_before", "calls_before", "work_before", "globals", "counts",
        "events", "called", "definitions", "replayable", "nodes", "inputs", "outputs", "training", "after", "flowing",
        "globals_after", "work", "calls",
    )  # fmt: skip

    def __init__(self, expander: Expander, statement, current: int | None):
        graph = expander.graph
        self.statement, self.current = statement, current
        self.nodes_before, self.calls_before, self.work_before = len(graph.nodes), expander.call_count, expander.work
        self.globals = dict(expander.globals)
        self.counts = (len(graph.inputs), len(graph.outputs), len(graph.training))
        self.events: list[tuple] = []
        self.called: set[str] = set()  # the blocks it called
        self.definitions: dict[str, object] = {}  # each name it looked up among the blocks -> what it found
        self.replayable = not isinstance(statement, ast.Use)

    def probe(self, graph: Graph, tensor: int | None) -> None:
        """`| output` asks whether the tensor is an output already: of the earlier statements, that is a read."""
        _, outputs, training = self.counts
        self.events.append((_PROBE, tensor, tensor in graph.outputs[:outputs], tensor in graph.training[:training]))

    def finish(self, expander: Expander, current: int | None) -> StatementRecord:
        graph, (inputs, outputs, training) = expander.graph, self.counts
        self.nodes = graph.nodes[self.nodes_before :]
        self.inputs, self.outputs, self.training = graph.inputs[inputs:], graph.outputs[outputs:], graph.training[training:]
        self.after, self.flowing = current, expander.flowing
        self.globals_after = dict(expander.globals)
        self.work, self.calls = expander.work - self.work_before, expander.call_count - self.calls_before
        return self


class _LayerKey:
    """A layer line and its values, as a key of ExpansionMemo.layers: hashed once (its values' spans are
    slow to hash, and each key is looked up again on every keystroke)."""

    __slots__ = ("values", "hash")

    def __init__(self, values: tuple):
        self.values, self.hash = values, hash(values)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other) -> bool:
        return self is other or (isinstance(other, _LayerKey) and self.hash == other.hash and self.values == other.values)


class _Definitions(dict):
    """The blocks by name. Each name a top-level statement asks about (a block or not) is noted in its
    record, with the definition it found: replayed, the statement must find the same ones."""

    __slots__ = ("expander",)

    def __init__(self, expander: Expander):
        super().__init__()
        self.expander = expander

    def note(self, name: str) -> None:
        recording = self.expander.recording
        if recording is not None and name not in recording.definitions:
            recording.definitions[name] = dict.get(self, name)

    def __contains__(self, name) -> bool:
        self.note(name)
        return dict.__contains__(self, name)

    def __getitem__(self, name):
        self.note(name)
        return dict.__getitem__(self, name)

    def get(self, name, default=None):
        self.note(name)
        return dict.get(self, name, default)


def _same_definitions(record: StatementRecord, definitions: dict) -> bool:
    """Whether every name the statement asked about names the same block (or none) here."""
    return all(dict.get(definitions, name) is found for name, found in record.definitions.items())


class _Unmatched(Exception):
    """A read of a recorded statement that this expansion answers otherwise: the statement is expanded."""


class Replay:
    """Replays the last expansion's top-level statements on this expansion's state.

    `moved` renumbers the last expansion's nodes: those of the statements resumed keep their ids
    (below `kept`); another one that a replayed statement read is bound, one to one, to the node here
    that answered the same read (the tensor flowing in, a label's tensor); a replayed statement's own
    nodes move by the difference in node count. A statement is replayed only when each of its reads
    is answered alike under that renumbering."""

    def __init__(self, memo: ExpansionMemo, start: int, kept: int):
        self.records = {id(record.statement): record for record in memo.records[start:]}
        self.kept = kept
        self.moved: dict[int, int] = {}  # a node of the last expansion -> its node here
        self.taken: set[int] = set()  # the nodes here that `moved` gives

    def ahead(self, statements) -> list[StatementRecord]:
        """The records of those statements that the last expansion has."""
        return [self.records[id(s)] for s in statements if id(s) in self.records]

    def run(self, expander: Expander, statement, current: int | None) -> tuple[StatementRecord, int | None] | None:
        """The statement's record and the tensor it ends with, replayed; None when it must be expanded."""
        record = self.records.get(id(statement))
        if record is None or not record.replayable or record.globals != expander.globals:
            return None
        if not _same_definitions(record, expander.definitions):
            return None  # a block it calls (or a name it took for a layer) is defined otherwise now
        graph = expander.graph
        if len(graph.nodes) + len(record.nodes) > expander.max_layers or expander.work + record.work > expander.max_work:
            return None  # expanded, it fails on this file's bounds
        if any(id(node.layer) in expander.in_use for node in record.nodes):
            return None  # a statement expanded before it took one of its layers
        shift = len(graph.nodes) - record.nodes_before
        own = range(record.nodes_before, record.nodes_before + len(record.nodes))
        bound: dict[int, int] = {}

        def match(old: int | None, new: int | None) -> None:
            """A tensor the statement read from outside it: `old` there, `new` here."""
            if old is None or new is None:
                if old is not new:
                    raise _Unmatched
            elif old in own:
                if new != old + shift:
                    raise _Unmatched
            elif old < self.kept:
                if new != old:
                    raise _Unmatched
            else:
                known = self.moved.get(old, bound.get(old))
                if known is None:
                    if new < self.kept or new in self.taken or new in bound.values():
                        raise _Unmatched
                    bound[old] = known = new
                if known != new:
                    raise _Unmatched

        def renumber(old: int | None) -> int | None:
            if old is None or old < self.kept:
                return old
            if old in own:
                return old + shift
            new = self.moved.get(old, bound.get(old))
            if new is None:
                raise _Unmatched
            return new

        labels: dict[str, _Named] = {}  # the labels it gives that were not given before, renumbered
        events: list[tuple] = []
        try:
            match(record.current, current)
            for event in record.events:
                if event[0] == _LOOKUP:
                    _, label, result = event
                    found = labels.get(label) or expander.named.get(label)
                    if found is None:
                        raise _Unmatched
                    match(result, found.result)
                    events.append((_LOOKUP, label, found.result))
                elif event[0] == _DEFINE:
                    _, label, taken, named = event
                    if (label in labels or label in expander.named) != taken:
                        raise _Unmatched
                    moved = _Named(named.first + shift, named.stop + shift, renumber(named.entry), renumber(named.result), named.span)
                    if not taken:
                        labels[label] = moved
                    events.append((_DEFINE, label, taken, moved))
                else:
                    _, tensor, output, training = event
                    new = renumber(tensor)
                    if tensor not in own and ((new in graph.outputs) != output or (new in graph.training) != training):
                        raise _Unmatched
                    events.append((_PROBE, new, output, training))
            inputs = [renumber(i) for i in record.inputs]
            outputs = [renumber(i) for i in record.outputs]
            training = [renumber(i) for i in record.training]
            after, flowing = renumber(record.after), renumber(record.flowing)
            calls = expander.call_count - record.calls_before
            same = shift == 0 and calls == 0 and all(renumber(i) == i for node in record.nodes for i in node.inputs)
            nodes = record.nodes if same else self.renumbered(record.nodes, renumber, shift, calls)
        except _Unmatched:
            return None
        self.moved.update(bound)
        self.taken.update(bound.values())
        expander.in_use.update(id(node.layer) for node in nodes)
        graph.nodes.extend(nodes)
        graph.inputs += inputs
        graph.outputs += outputs
        graph.training += training
        expander.named.update(labels)
        expander.globals.clear()
        expander.globals.update(record.globals_after)
        expander.called |= record.called
        expander.work += record.work
        expander.call_count += record.calls
        expander.flowing = flowing
        unchanged = (current, after, flowing, events, inputs, outputs, training) == (
            record.current, record.after, record.flowing, record.events, record.inputs, record.outputs, record.training
        )
        if same and unchanged:
            return record, after
        import copy  # the editor's path only: `summary` does not load it

        replayed = copy.copy(record)
        replayed.current, replayed.nodes_before = current, record.nodes_before + shift
        replayed.calls_before, replayed.work_before = record.calls_before + calls, expander.work - record.work
        replayed.counts = (len(graph.inputs) - len(inputs), len(graph.outputs) - len(outputs), len(graph.training) - len(training))
        replayed.events, replayed.nodes = events, nodes
        replayed.inputs, replayed.outputs, replayed.training = inputs, outputs, training
        replayed.after, replayed.flowing = after, flowing
        return replayed, after

    @staticmethod
    def renumbered(nodes: list[GraphNode], renumber, shift: int, calls: int) -> list[GraphNode]:
        """Copies of a statement's nodes with their ids, inputs and block calls renumbered."""
        blocks: dict[int, BlockCall] = {}

        def moved(call: BlockCall) -> BlockCall:
            new = blocks.get(id(call))
            if new is None:
                new = blocks[id(call)] = call if not calls else replace(call, id=call.id + calls)
            return new

        return [
            GraphNode(
                node.id + shift,
                node.layer,
                tuple(renumber(i) for i in node.inputs),
                node.label,
                node.label_span,
                node.label_depth,
                node.called_from,
                renumber(node.shares),
                node.span,
                tuple(moved(call) for call in node.blocks),
                node.rounds,
                node.guessed,
            )
            for node in nodes
        ]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Expander(Context):
    """Expands a program. Given `errors`, a list, it records each independent error there and goes
    on (a failing stage becomes a `Failed` node); without, the first error is raised.
    `broken_blocks` are blocks whose `def` did not parse: their calls are not errors again."""

    def __init__(
        self,
        program: ast.Program,
        params: Mapping[str, object] | None = None,
        errors: list | None = None,
        broken_blocks=(),
        memo: ExpansionMemo | None = None,
        library=None,
    ):
        self.graph = Graph()
        # the memo is read and kept only by an expansion that stops at its first error
        self.memo = memo if errors is None and not broken_blocks else None
        self.top_start = 0  # the first node of the top-level statement being expanded
        self.memo_key: tuple | None = None
        self.memo_states: list[tuple] | None = None  # this expansion's states, for the memo; None: not kept
        self.memo_records: list[StatementRecord] = []  # what each top-level statement read and made, for the memo
        self.bindings: dict[int, tuple] = {}  # this expansion's bound layers (see ExpansionMemo.bindings)
        self.in_use: set[int] = set()  # ids of the layers of the memo's graph that this graph has
        self.reserved: set[int] = set()  # ids of the layers of the statements still to be replayed
        self.next_layer: dict[tuple, int] = {}  # key in ExpansionMemo.layers -> where to look next
        self.overrides = dict(params or {})
        self.globals: dict[str, Value] = {}  # the file's params, lets and top-level loop variables
        self.flowing: int | None = None  # the tensor flowing into the statement being expanded (`in.c`)
        self.shapes: list = []  # the shapes of the graph's first nodes, worked out when `in.c` asks
        self.errors = errors
        self.calls: list[tuple[str, Span]] = []  # the block calls being expanded, outermost first
        self.broken_blocks = frozenset(broken_blocks)
        self.recording: StatementRecord | None = None  # the top-level statement being expanded, while kept
        self.definitions: dict[str, ast.Definition] = _Definitions(self)
        self.library = library
        self.used: dict[int, object] = {}  # id of each `use` statement read -> its language.modules.Module
        self.modules: list = []  # the used modules, each once, in the order their definitions are taken
        self.ran: set[int] = set()  # ids of the modules whose params and lets have been run
        unread = 0
        for statement in program.statements:
            if isinstance(statement, ast.Use):
                unread += not self.read_module(statement)
        if unread and self.errors:
            # Without a used file's names, every later use of them would be one more error: stop at these.
            raise self.errors.pop()
        for module in self.modules:
            for definition in module.program.definitions:
                self.define(definition)
        for definition in program.definitions:
            self.define(definition)
        self.program = program
        self.call_label: str | None = None  # the label of the block call about to expand
        self.named: dict[str, _Named] = {}  # labels and the stages they name, for `@name` and `reuse name`
        # the labels each block call being expanded gave, innermost last: a label in a `def` body is
        # the call's own, so every call of the block has its `conv1` (torchvision's attribute names)
        self.call_named: list[dict[str, _Named]] = []
        self.conventions = "keras"
        self.work = 0  # steps taken so far, bounded by max_work
        # Stages written out at the top level cost their own bytes, so they raise the bounds:
        # a long file is never refused for its length, only for what repeats and calls multiply.
        written = sum(len(pipeline.stages) for pipeline in program.pipelines)
        self.max_layers = MAX_LAYERS + written
        self.max_work = MAX_WORK + WORK_PER_WRITTEN_STAGE * written
        self.nesting = 0  # stages being expanded inside each other, bounded by MAX_NESTING
        self.unrolling: list[Span] = []  # the repeats and calls being expanded, outermost first
        self.block_path: list[BlockCall] = []  # the same calls, each with its id
        self.rounds: tuple[tuple[Unrolled, int], ...] = ()  # the repeats and loops being unrolled, and their rounds
        self.call_count = 0
        self.called: set[str] = set()  # blocks expanded at least once

    def read_module(self, statement: ast.Use) -> bool:
        """The module a top-level `use` reads, and the modules it uses, first the innermost."""
        try:
            if self.library is None:
                raise UseProblem(f"`use` cannot read files here: {NO_PATH}", statement.span, NO_PATH_HINT)
            module = self.library.use(statement)
        except CnnError as error:
            self.record(error)
            return False
        self.take(statement, module)
        return True

    def take(self, statement: ast.Use, module) -> None:
        self.used[id(statement)] = module
        if any(module is known for known in self.modules):
            return
        for inner, used in module.uses:
            self.take(inner, used)
        self.modules.append(module)

    def define(self, definition: ast.Definition) -> None:
        """Make a block known, once: the file's own or a used file's."""
        try:
            if definition.name in self.definitions:
                if self.definitions[definition.name] is definition:
                    return  # a used file reached twice
                first = self.definitions[definition.name].name_span
                where = f" in {first.file.filename}, line {first.line}" if first.file is not definition.name_span.file else ""
                raise BlockProblem(
                    f"block `{definition.name}` is defined twice" + (f" (first{where})" if where else ""),
                    definition.name_span,
                    "rename one of them",
                )
            if definition.name in REGISTRY or definition.name in (IDENTITY, OUTPUT, REUSE):
                raise BlockProblem(
                    f"`{definition.name}` is a layer; a block cannot take its name",
                    definition.name_span,
                    "choose another name",
                )
        except CnnError as error:
            self.record(error)
            return
        seen: set[str] = set()
        for param in definition.params:
            if param.name in seen:
                self.record(BlockProblem(f"parameter `{param.name}` is listed twice", param.span, "rename one of them"))
            seen.add(param.name)
        self.definitions[definition.name] = definition

    def record(self, error: CnnError) -> None:
        """Keep going after `error` when every error is wanted; otherwise raise it.

        A bound on the work (LimitExceeded) always stops: what comes after would cross it too.
        """
        if self.errors is None or isinstance(error, LimitExceeded):
            raise error
        if getattr(error, "follows_from_earlier", False):
            return
        if not error.called_from:
            for name, span in reversed(self.calls):  # innermost first, as `_note_call` adds them
                if not _within(error.span, span):
                    error.called_from = (*error.called_from, (name, span))
        self.errors.append(error)

    def failed(self, span: Span, current: int | None) -> int:
        """A node of unknown output in place of a stage that failed."""
        return self.add(Failed(span), () if current is None else (current,))

    def run(self) -> Graph:
        statements = list(self.program.statements or self.program.pipelines)
        first = next((i for i, s in enumerate(statements) if isinstance(s, ast.Pipeline)), None)
        if first is not None and _is_defaults(statements[first]):
            defaults = statements.pop(first)
            try:
                self.conventions = _conventions(defaults.stages[0])
            except CnnError as error:
                self.record(error)
        self.check_overrides(statements)
        current = self.top_level(statements)
        if current is None:
            raise StructureProblem(
                "the file has no layers", Span(1, 1, 1, 2), "start with a line such as `input 28x28x1`"
            )
        self.order_outputs(current)
        if not self.errors:  # after an error, a tensor left unused may be one the failed stage would have read
            self.check_all_used()
        self.check_uncalled()
        if self.memo is not None:
            self.keep_layers(self.memo)
        if self.memo is not None and self.memo_states is not None:
            memo = self.memo
            memo.key, memo.statements, memo.states = self.memo_key, tuple(statements), self.memo_states
            memo.records = self.memo_records
            memo.graph, memo.named, memo.shapes = self.graph, self.named, self.shapes
        return self.graph

    def order_outputs(self, current: int) -> None:
        """The last tensor is the output when none is marked (or only training-only ones are);
        training-only outputs come after the others, as torchvision returns (logits, aux_logits)."""
        graph = self.graph
        if all(i in graph.training for i in graph.outputs):
            if current in graph.training:
                node = graph.nodes[current]
                raise StructureProblem(
                    "every output of the network is training-only",
                    node.span or node.layer.span,
                    "mark the main output with `| output` (without `train`), or end the file with it",
                )
            graph.outputs.append(current)
        graph.outputs = [i for i in graph.outputs if i not in graph.training] + [
            i for i in graph.outputs if i in graph.training
        ]

    def top_level(self, statements: list) -> int | None:
        """The top-level statements in order, after those the memo holds the same (see ExpansionMemo)."""
        memo = self.memo
        if memo is None:
            self.memo_states = None
            return self.statements(statements, None, self.globals, top=True)
        self.memo_key = (tuple(self.modules), self.overrides, self.conventions)
        start = memo.resumable(self.memo_key, statements, self.definitions)
        while start and not self.fits(memo.states[start]):
            start -= 1
        if start:
            current = self.restore(memo.states[start])
            self.memo_states = memo.states[: start + 1]
        else:
            current = None
            self.memo_states = [self.state(current)]
        self.memo_records = memo.records[:start]
        self.in_use = {id(node.layer) for node in self.graph.nodes}
        replay = Replay(memo, start, len(self.graph.nodes)) if memo.key == self.memo_key else None
        if replay is not None:  # their layers are theirs: no other line takes them (see bound_layers)
            self.reserved = {id(node.layer) for record in replay.ahead(statements[start:]) for node in record.nodes}
        for statement in statements[start:]:
            self.top_start = len(self.graph.nodes)
            replayed = replay.run(self, statement, current) if replay is not None else None
            for old in replay.ahead((statement,)) if replay is not None else ():
                self.reserved.difference_update(id(node.layer) for node in old.nodes)  # replayed, or free to take
            if replayed is not None:
                record, current = replayed
            else:
                self.recording = StatementRecord(self, statement, current)
                try:
                    current = self.statements((statement,), current, self.globals, top=True)
                    record = self.recording.finish(self, current)
                finally:
                    self.recording = None
            self.memo_records.append(record)
            if self.memo_states is not None:
                self.memo_states.append(self.state(current))
        return current

    def state(self, current: int | None) -> tuple:
        """What the statements expanded so far leave for the next: sizes of what only grows, copies of the rest."""
        graph = self.graph
        return (
            current,
            len(graph.nodes),
            len(graph.inputs),
            len(graph.outputs),
            len(self.named),
            len(self.shapes),
            dict(self.globals),
            frozenset(self.called),
            self.work,
            self.call_count,
            frozenset(self.ran),
        )

    def fits(self, state: tuple) -> bool:
        """Whether that far the expansion keeps within this file's bounds (they grow with its length)."""
        return state[1] <= self.max_layers and state[8] <= self.max_work

    def restore(self, state: tuple) -> int | None:
        memo = self.memo
        current, nodes, inputs, outputs, named, shapes, globals_, called, work, calls, ran = state
        self.graph.nodes = memo.graph.nodes[:nodes]
        self.graph.inputs = memo.graph.inputs[:inputs]
        self.graph.outputs = memo.graph.outputs[:outputs]
        self.graph.training = [i for i in memo.graph.training if i < nodes]
        self.named = dict(islice(memo.named.items(), named))
        self.shapes = memo.shapes[:shapes]
        self.globals.update(globals_)
        self.called = set(called)
        self.work, self.call_count = work, calls
        self.ran = set(ran)
        return current

    def check_overrides(self, statements) -> None:
        """Every `--set` name is a `param` of the file, and its value a number."""
        declared = [s.name for s in statements if isinstance(s, ast.FileParam)]
        for module in self.modules:
            declared += [s.name for s in module.program.statements if isinstance(s, ast.FileParam)]
        for name, value in self.overrides.items():
            if name not in declared:
                hint = did_you_mean(name, declared) or (
                    "its params: " + ", ".join(f"`{d}`" for d in declared) if declared else "the file declares no `param`"
                )
                raise ParameterProblem(f"the file has no `param {name}`", None, hint)
            if isinstance(value, str):
                self.overrides[name] = parse_value(name, value)
            elif not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ParameterProblem(f"`{name}` must be a number, not {value!r}", None)

    def statements(self, statements, current: int | None, env: dict, top: bool = False) -> int | None:
        """Run statements in order: pipelines, `let`, `param`, `if`, `for`; the tensor they end with."""
        for statement in statements:
            if isinstance(statement, ast.Pipeline):
                if top and _starts_with_input(statement):
                    current = None  # each `input` line starts a network input of its own
                try:
                    current = self.pipeline(statement, current, env)
                except CnnError as error:
                    self.record(error)
                    current = self.failed(statement.span, current)
                continue
            self.spend(1, statement.span)
            self.flowing = current
            if isinstance(statement, ast.Let):
                env[statement.name] = Value(evaluate(statement.value, env, self).value, statement.name_span)
            elif isinstance(statement, ast.FileParam):
                if statement.name in env:
                    raise DuplicateName(
                        f"`{statement.name}` is already defined", statement.name_span, "give each param its own name"
                    )
                if statement.name in self.overrides:
                    env[statement.name] = Value(self.overrides[statement.name], statement.name_span)
                else:
                    env[statement.name] = Value(evaluate(statement.default, env, self).value, statement.name_span)
            elif isinstance(statement, ast.If):
                for condition, body in statement.branches:
                    if condition is None or truth(evaluate(condition, env, self)):
                        current = self.nested(statement, self.statements, body, current, env, top)
                        break
            elif isinstance(statement, ast.For):
                current = self.loop(statement, current, env, top)
            elif isinstance(statement, ast.Use):
                module = self.used.get(id(statement))
                if module is not None and id(module) not in self.ran:  # None: it could not be read, as told
                    self.ran.add(id(module))
                    current = self.nested(statement, self.statements, module.program.statements, current, env, top)
            else:  # pragma: no cover - the grammar has no other statements
                raise TypeError(statement)
        return current

    def nested(self, statement, expand, *args):
        if self.nesting >= MAX_NESTING:
            raise LimitExceeded(
                f"blocks, brackets, merges, `if` and `for` nest more than {MAX_NESTING} deep here",
                statement.span,
                "flatten some of the nesting",
            )
        self.nesting += 1
        try:
            return expand(*args)
        finally:
            self.nesting -= 1

    def loop(self, statement: ast.For, current: int | None, env: dict, top: bool) -> int | None:
        values = evaluate(statement.values, env, self)
        if not isinstance(values.value, list):
            raise BadArgument(
                f"`for` takes `range(...)` or a list such as `[(16, 1), (24, 2)]`, not `{values.describe()}`",
                values.span,
                "to loop N times: `for i in range(N):`",
            )
        from ..core.limits import MAX_LOOP_VALUES

        items = values.value
        if len(items) > MAX_LOOP_VALUES:
            raise LimitExceeded(
                f"this list has more than {MAX_LOOP_VALUES:,} values", values.span, "no real network loops this many times"
            )
        names = statement.names
        self.unrolling.append(statement.span)
        outer = self.rounds
        unrolled = Unrolled(statement.span, len(items), len(self.block_path))
        try:
            self.spend(len(items), statement.span)  # each round counts, even one that adds nothing
            for round_, item in enumerate(items):
                self.rounds = (*outer, (unrolled, round_))
                if len(names) > 1:
                    if not isinstance(item, tuple) or len(item) != len(names):
                        raise BadArgument(
                            f"`for {', '.join(names)}` takes {len(names)} values each round; this round has "
                            f"`{Value(item, values.span).describe()}`",
                            values.span,
                            f"write each round as a tuple of {len(names)}: `({', '.join(['…'] * len(names))})`",
                        )
                    for name, value in zip(names, item):
                        env[name] = Value(value, statement.names_span)
                else:
                    env[names[0]] = Value(item, statement.names_span)
                current = self.nested(statement, self.statements, statement.body, current, env, top)
        finally:
            self.unrolling.pop()
            self.rounds = outer
        return current

    def input_shape(self, span: Span):
        """`in.c`'s tensor: its shape, inferring the nodes made so far that no earlier `in.` asked about."""
        if self.flowing is None:
            return None
        if self.recording is not None:
            self.recording.replayable = False  # it read the shapes of earlier statements' nodes
        nodes, shapes = self.graph.nodes, self.shapes
        # The layers' own shape rules, as `infer` applies them; a layer that fails here fails there the same way.
        for node in nodes[len(shapes) : self.flowing + 1]:
            in_shapes = tuple(shapes[i] for i in node.inputs)
            if isinstance(node.layer, Failed) or any(shape is None for shape in in_shapes):
                shapes.append(None)  # unknown after an error (only while every error is wanted)
                continue
            if node.shares is not None and not node.inputs:
                in_shapes = ()
            extra = node.layer.implicit_before(in_shapes)
            if extra is not None:
                in_shapes = (extra.infer(in_shapes).shape,)
            shapes.append(node.layer.infer(in_shapes).shape)
        if shapes[self.flowing] is None:
            # `in.c` after a stage that failed: unknown because of an error already reported
            error = BadArgument("the size follows from an earlier error", span)
            error.follows_from_earlier = True
            raise error
        return shapes[self.flowing]

    def check_all_used(self) -> None:
        """Every tensor must lead to an output: Keras would silently drop the layers that do not."""
        used = set(self.graph.outputs)
        for node in reversed(self.graph.nodes):
            if node.id in used:
                used.update(node.inputs)
        for node in self.graph.nodes:
            if node.id not in used:
                what = "input" if not node.inputs and node.shares is None else "layer's output"
                raise StructureProblem(
                    f"this {what} is never used",
                    node.label_span or node.span or node.layer.span,
                    "mark a network output with `| output`, or use the tensor later with `@name`",
                )

    def check_uncalled(self) -> None:
        """A block never called is still checked as far as it can be without arguments:
        its layer and block names, and every layer whose arguments use no parameter."""
        for definition in self.definitions.values():
            if definition.name not in self.called:
                params = {param.name for param in definition.params}
                self.check_unexpanded_statements(definition.body, params)

    def check_unexpanded_statements(self, statements, params: set[str]) -> None:
        for statement in statements:
            if isinstance(statement, ast.Pipeline):
                self.check_unexpanded(statement, params)
            elif isinstance(statement, ast.Let):
                params.add(statement.name)
            elif isinstance(statement, ast.For):
                params.update(statement.names)
                self.check_unexpanded_statements(statement.body, params)
            elif isinstance(statement, ast.If):
                for _, body in statement.branches:
                    self.check_unexpanded_statements(body, params)

    def check_unexpanded(self, node, params: set[str]) -> None:
        if isinstance(node, ast.Pipeline):
            for stage in node.stages:
                try:
                    self.check_unexpanded(stage, params)
                except CnnError as error:
                    self.record(error)
        elif isinstance(node, ast.Repeat) and node.index is not None:
            self.check_unexpanded(node.body, params | {node.index})
        elif isinstance(node, (ast.Group, ast.Repeat, ast.Labelled)):
            self.check_unexpanded(node.body, params)
        elif isinstance(node, ast.Merge):
            for branch in node.branches:
                self.check_unexpanded(branch, params)
        elif isinstance(node, ast.Call) or (isinstance(node, ast.Layer) and node.kind in self.definitions):
            if isinstance(node, ast.Call):
                self.definition_of(node)
        elif isinstance(node, ast.Reference) or node.kind == REUSE:
            pass  # what `@name` and `reuse name` refer to is known only when the block is called
        elif node.kind in (IDENTITY, OUTPUT):
            self.check_output_args(node)
        else:
            kind = self.kind_of(node)
            if not any(mentions(arg, params) for arg in node.args):
                positional, keywords = self.arguments(node.args, self.globals, sizes=True)
                kind.bind(node.kind, positional, keywords, node.span, self.conventions)

    @staticmethod
    def check_output_args(stage) -> bool:
        """`identity` takes no arguments, `output` only `train` (an output that exists only while training)."""
        args = stage.args
        if stage.kind == OUTPUT and len(args) == 1 and isinstance(args[0], ast.Name) and args[0].id == "train":
            return True
        if args:
            if stage.kind == IDENTITY:
                raise BadArgument("`identity` takes no arguments", args[0].span)
            first_is_train = isinstance(args[0], ast.Name) and args[0].id == "train"
            raise BadArgument(
                "`output` takes only `train`",
                args[1].span if first_is_train else args[0].span,
                "`| output` marks a network output; `| output train` one that exists only while training "
                "(an auxiliary head)",
            )
        return False

    def spend(self, steps: int, span: Span) -> None:
        """Count expansion work; past MAX_WORK, stop at the outermost repeat or call under way."""
        self.work += steps
        if self.work > self.max_work:
            raise _ends_expansion(
                LimitExceeded(
                    f"expanding this takes more than {self.max_work:,} steps",
                    self.unrolling[0] if self.unrolling else span,
                    "every layer, `identity`, block call, repeat round and merge branch is a step, and "
                    "no real network needs this many: lower the repeat count, or the calls nested in calls",
                )
            )

    def add(self, layer: LayerKind, inputs: tuple[int, ...]) -> int:
        if len(self.graph.nodes) >= self.max_layers:
            raise _ends_expansion(
                LimitExceeded(
                    f"the network has more than {self.max_layers:,} layers",
                    self.unrolling[0] if self.unrolling else layer.span,
                    "no real network has this many (the largest in keras.applications has about 1,100); "
                    "check the repeat counts",
                )
            )
        node = GraphNode(
            len(self.graph.nodes),
            layer,
            inputs,
            called_from=tuple(reversed(self.calls)),
            blocks=tuple(self.block_path),
            rounds=self.rounds,
        )
        self.graph.nodes.append(node)
        return node.id

    def pipeline(self, pipeline: ast.Pipeline, current: int | None, env: Env) -> int | None:
        for i, stage in enumerate(pipeline.stages):
            if isinstance(stage, ast.Reference):
                try:
                    if i:
                        raise BadArgument(
                            f"`@{stage.name}` can only start a pipeline",
                            stage.span,
                            "a reference replaces the tensor before it; start a line or a branch with it",
                        )
                    name = stage.name
                    if "{" in name:
                        name = fill_template(name, stage.name_span, env, self)
                    current = self.lookup(name, stage.name_span, env).result
                except CnnError as error:
                    self.record(error)
                    current = self.failed(stage.span, None)
            else:
                current = self.stage(stage, current, env)
        return current

    def lookup(self, word: str, span: Span, env: Env) -> _Named:
        """What a label names; a block parameter may stand for the label."""
        bound = env.get(word)
        if bound is not None and isinstance(bound.value, str):
            word = bound.value
        found = next((scope[word] for scope in reversed(self.call_named) if word in scope), None)
        if found is None:
            found = self.named.get(word)
            if found is not None and self.recording is not None:
                self.recording.events.append((_LOOKUP, word, found.result))
        if found is None:
            hint = did_you_mean(word, list(self.named)) or "name a layer first, as in `stem: conv 32 3`"
            raise UnknownReference(f"no earlier layer or block call is named `{word}`", span, hint)
        return found

    def stage(self, stage: ast.Stage, current: int | None, env: Env) -> int | None:
        self.spend(1, stage.span)
        if self.nesting >= MAX_NESTING:
            raise LimitExceeded(
                f"blocks, brackets and merges nest more than {MAX_NESTING} deep here, counting every call",
                stage.span,
                "flatten some of the nesting: call blocks one after another instead of inside each other",
            )
        self.nesting += 1
        self.flowing = current
        try:
            return self.nested_stage(stage, current, env)
        except CnnError as error:
            if self.errors is None or (isinstance(error, MissingInput) and self.calls):
                raise  # a block's first layer without an input: `call` says the call lacks it
            self.record(error)
            return self.failed(stage.span, current)
        finally:
            self.nesting -= 1

    def nested_stage(self, stage: ast.Stage, current: int | None, env: Env) -> int | None:
        if isinstance(stage, ast.Unparsed):
            if self.recording is not None:
                self.recording.replayable = False
            result = self.failed(stage.span, None if stage.starts_input else current)
            for label in stage.labels:
                named = _Named(result, result + 1, current, result, stage.span)
                if self.call_named:
                    self.call_named[-1].setdefault(label, named)
                self.named.setdefault(label, named)
            return result
        if self.broken_blocks and (
            (isinstance(stage, ast.Call) and stage.name in self.broken_blocks)
            or (isinstance(stage, ast.Layer) and stage.kind in self.broken_blocks and stage.kind not in REGISTRY)
        ):
            return self.failed(stage.span, current)
        if isinstance(stage, ast.Layer):
            bound = env.get(stage.kind)
            if bound is not None and isinstance(bound.value, Block) and not stage.args:
                # `def ir(c, tail): ... | tail` called `ir(16, se(72, 24))`: the block, with its arguments
                block = bound.value
                call = ast.Call(block.name, (), stage.span, stage.kind_span)
                return self.call(call, current, env, (block.positional, block.keywords))
            if bound is not None and isinstance(bound.value, str) and not stage.args:
                # `def g(act): conv 8 3 | act` called `g(relu)`: the parameter stands for a whole layer
                stage = ast.Layer(bound.value, (), stage.span, stage.kind_span)
            if stage.kind in self.definitions:
                return self.call(ast.Call(stage.kind, stage.args, stage.span, stage.kind_span), current, env)
            return self.layer(stage, current, env)
        if isinstance(stage, ast.Call):
            return self.call(stage, current, env)
        if isinstance(stage, ast.Merge):
            return self.merge(stage, current, env)
        if isinstance(stage, ast.Group):
            return self.pipeline(stage.body, current, env)
        if isinstance(stage, ast.Repeat):
            count = evaluate(stage.count, env, self)
            if not isinstance(count.value, int) or count.value < 0:
                raise BadArgument(f"a repeat count must be a whole number, not `{count.describe()}`", count.span)
            # `* 0` is an empty pipeline: `first | middle * (n - 2) | last` holds for n = 2
            self.unrolling.append(stage.span)
            outer = self.rounds
            unrolled = Unrolled(stage.span, count.value, len(self.block_path))
            try:
                self.spend(count.value, stage.span)  # each round counts, even one that adds nothing
                for round_ in range(count.value):
                    if stage.index is not None:  # `* n as i`: the body sees i = 0 .. n-1
                        env = {**env, stage.index: Value(round_, stage.index_span)}
                    self.rounds = (*outer, (unrolled, round_))
                    current = self.stage(stage.body, current, env)
            finally:
                self.unrolling.pop()
                self.rounds = outer
            return current
        if isinstance(stage, ast.Labelled):
            if "{" in stage.label:
                stage = ast.Labelled(_filled_label(stage, env, self), stage.body, stage.span, stage.label_span)
            before = len(self.graph.nodes)
            body = stage.body
            calls = isinstance(body, ast.Call) or (isinstance(body, ast.Layer) and body.kind in self.definitions)
            self.call_label = stage.label if calls else None  # `stem: bn3(32)`, and `stem: bn3` of a bare block
            result = self.stage(stage.body, current, env)
            if result is None or len(self.graph.nodes) == before:
                raise BadArgument("only a layer can be named", stage.label_span)
            node = self.graph.nodes[result]
            if result < self.top_start and self.recording is not None:
                self.recording.replayable = False  # it reads (and may change) an earlier statement's node
            if result < self.top_start and node.shares is None:
                # a label on a tensor an earlier statement made: that statement's nodes are not as the memo has them
                self.memo_states = None
                if self.memo is not None:
                    self.memo.key = None
            scope = self.call_named[-1] if self.call_named else self.named
            if node.shares is None:
                if self.call_named and stage.label in scope:  # in one call of a block, as at the top level
                    raise DuplicateName(
                        f"`{stage.label}` already names a layer of this call of block `{self.block_path[-1].name}`",
                        stage.label_span,
                        "labels in a block are the call's own: give each layer of it its own label",
                    )
                if not (node.label and node.label_depth > len(self.block_path)):  # a call's label leaves its layer's
                    node.label, node.label_span, node.label_depth = stage.label, stage.label_span, len(self.block_path)
            elif stage.label in scope:  # a shared layer keeps its name; the label only names the tensor
                raise DuplicateName(f"`{stage.label}` already names a layer", stage.label_span, "choose another name")
            named = _Named(before, len(self.graph.nodes), current, result, stage.label_span)
            if self.call_named:
                scope.setdefault(stage.label, named)
            if self.recording is not None:
                self.recording.events.append((_DEFINE, stage.label, stage.label in self.named, named))
            self.named.setdefault(stage.label, named)
            return result
        raise TypeError(stage)  # pragma: no cover - the grammar has no other stages

    def layer(self, stage: ast.Layer, current: int | None, env: Env) -> int | None:
        """A layer stage. When every error is wanted, a layer whose name or argument is wrong is
        repaired as its hint proposes (`maxpol` as `maxpool`), or without the argument, and used so:
        what comes after is still checked. A layer without its argument is a guess (`guessed`)."""
        if self.errors is None:
            return self.plain_layer(stage, current, env)
        found: list[CnnError] = []
        guessed = dropped = False
        while True:
            before = len(self.graph.nodes)
            try:
                result = self.plain_layer(stage, current, env)
            except CnnError as error:
                if dropped:  # without the wrong argument it fails again: that follows from the first error
                    for earlier in found:
                        self.record(earlier)
                    return self.failed(stage.span, current)
                repair = None
                if found and error.span and found[-1].span and _starts(error.span, found[-1].span):
                    # the repaired word is wrong where it stands (`stride 2 strides 2`): leave it out instead
                    repair = _repaired(stage, error, drop=True)
                    if repair is not None:
                        stage, dropped = repair
                        guessed = True
                        continue
                if isinstance(error, (UnknownLayer, BadArgument)) and len(found) < MAX_REPAIRS:
                    repair = _repaired(stage, error)
                if repair is None:
                    for earlier in found:
                        self.record(earlier)
                    raise
                found.append(error)
                stage, dropped = repair
                guessed = guessed or dropped
                continue
            for error in found:
                self.record(error)
            for node in self.graph.nodes[before:]:
                node.guessed = guessed
            return result

    def plain_layer(self, stage: ast.Layer, current: int | None, env: Env) -> int | None:
        if stage.kind == DEFAULTS:
            raise StructureProblem(
                "`defaults` must be the first line of the file, alone",
                stage.kind_span,
                "write `defaults pytorch` above `input`; it applies to the whole file",
            )
        if stage.kind in (IDENTITY, OUTPUT):
            train = self.check_output_args(stage)
            if current is None:
                raise MissingInput(stage.span)
            if stage.kind == OUTPUT:
                if self.recording is not None:
                    self.recording.probe(self.graph, current)
                marked = current in self.graph.outputs
                if marked and (current in self.graph.training) != train:
                    raise BadArgument(
                        "this tensor is already an output" + (" in every mode" if train else " only while training"),
                        stage.span,
                        "mark it once: `| output` (always) or `| output train` (only while training)",
                    )
                if not (train and marked):
                    self.graph.outputs.append(current)
                if train and not marked:
                    self.graph.training.append(current)
            return current
        if stage.kind == REUSE:
            return self.reuse(stage, current, env)
        kind = self.kind_of(stage)
        records: list = []
        positional, keywords = self.arguments(stage.args, env, sizes=True, worked=records)
        layers = self.bound_layers(stage, kind, positional, keywords, records, env)
        if stage.kind == "input":
            if current is not None:
                raise StructureProblem(
                    "`input` must come first on a line of its own",
                    stage.kind_span,
                    "each network input starts a line (`left: input 28x28x1`); `@left` uses it later",
                )
        elif current is None:
            raise MissingInput(stage.span)
        for layer in layers:
            current = self.add(layer, () if current is None else (current,))
        if stage.kind == "input":
            self.graph.inputs.append(current)
        return current

    def bound_layers(self, stage: ast.Layer, kind, positional, keywords, records: list, env: Env) -> tuple:
        """The layers a layer line stands for, bound to its evaluated arguments. With the memo, a line
        given the same values (spans and all, and the same values for its computed arguments' names)
        as in the last expansion takes the layers bound then: binding reads nothing else. Each goes to
        one node, as a fresh binding's would."""
        key = None
        memo = self.memo
        if memo is not None:
            reads = []
            for span, parts, _ in records:
                values: dict = {}
                for part in parts:
                    captured(part, env, self, values)
                reads.append((span, tuple(map(id, parts)), tuple(values.items())))
            try:
                key = _LayerKey((id(stage), kind, self.conventions, tuple(positional), tuple(keywords), tuple(reads)))
            except TypeError:  # a value that cannot be a key (a list): bound afresh
                key = None
            kept = memo.layers.get(key, ()) if key is not None else ()
            if kept:
                i = self.next_layer.get(key, 0)
                while i < len(kept) and (
                    kept[i][1] is not stage or id(kept[i][2][0]) in self.in_use or id(kept[i][2][0]) in self.reserved
                ):
                    i += 1  # a layer this graph has (or a statement still to be replayed) goes to no other node
                self.next_layer[key] = i + 1
                if i < len(kept):
                    self.in_use.update(id(layer) for layer in kept[i][2])
                    return kept[i][2]
        bound = kind.bind(stage.kind, positional, keywords, stage.span, self.conventions)
        worked = self.worked(records, bound, env) if records else ()
        layers = tuple(bound.lower())
        for layer in layers:
            layer.conventions = self.conventions
            if worked:
                layer.worked = worked
        if key is not None and layers:
            entry = (key, stage, layers)
            for layer in layers:
                self.bindings[id(layer)] = entry
        return layers

    def keep_layers(self, memo: ExpansionMemo) -> None:
        """The bound layers of this graph, for the next expansion's `bound_layers`, in the graph's order."""
        layers: dict[tuple, list] = {}
        bindings: dict[int, tuple] = {}
        for node in self.graph.nodes:
            entry = self.bindings.get(id(node.layer)) or memo.bindings.get(id(node.layer))
            if entry is not None and node.shares is None:
                bindings[id(node.layer)] = entry
                if node.layer is entry[2][0]:
                    layers.setdefault(entry[0], []).append(entry)
        memo.layers, memo.bindings = layers, bindings

    def kind_of(self, stage: ast.Layer) -> type[LayerKind]:
        """The layer kind a layer line names; an unknown name or a merge written as a layer is an error."""
        kind = REGISTRY.get(stage.kind)
        if kind is None:
            choices = [*REGISTRY, *self.definitions, IDENTITY, OUTPUT, REUSE]
            hint = (
                keras_layer_hint(stage.kind)
                or did_you_mean(stage.kind, choices)
                or "`cnndsl layers` lists every layer; the README's language reference explains each"
            )
            if stage.kind in self.named and not stage.args:
                hint = f"`@{stage.kind}` is its output; `reuse {stage.kind}` applies the same layer again"
            raise UnknownLayer(f"unknown layer `{stage.kind}`", stage.kind_span, hint)
        if kind.MERGE:
            raise BadArgument(f"`{stage.kind}` joins branches: write `{stage.kind}(branch; branch)`", stage.kind_span)
        return kind

    def reuse(self, stage: ast.Layer, current: int | None, env: Env) -> int:
        """`reuse name`: the named layer, or every layer of the named block call, applied to `current`."""
        if len(stage.args) != 1 or not isinstance(stage.args[0], ast.Name):
            raise BadArgument(
                "`reuse` takes the name of one earlier layer or block call",
                stage.args[1].span if len(stage.args) > 1 else stage.span,
                "for example `reuse tower`",
            )
        if current is None:
            raise MissingInput(stage.span)
        if self.recording is not None:
            self.recording.replayable = False  # it reads the earlier layers it applies again
        named = self.lookup(stage.args[0].id, stage.args[0].span, env)
        copies: dict[int, int] = {} if named.entry is None else {named.entry: current}
        for original in self.graph.nodes[named.first : named.stop]:
            self.spend(1 + len(original.inputs), stage.span)  # a copy costs what the original did
            if not original.inputs:
                raise BadArgument(f"`{stage.args[0].id}` contains an input; only layers can be reused", stage.span)
            node_id = self.add(original.layer, tuple(copies.get(i, i) for i in original.inputs))
            node = self.graph.nodes[node_id]
            node.shares = original.id if original.shares is None else original.shares
            node.span = stage.span
            copies[original.id] = node_id
        return copies.get(named.result, named.result)

    def merge(self, stage: ast.Merge, current: int | None, env: Env) -> int:
        if current is None:
            raise MissingInput(stage.span)
        branches = stage.branches
        op = stage.op
        if op == "residual":
            if len(branches) != 1:
                raise BadArgument("`residual(body)` takes one branch", stage.op_span, "for more, use add(...; ...)")
            outputs = [current, self.pipeline(branches[0], current, env)]
            spans = (stage.op_span, branches[0].span)
            op = "add"
        else:
            outputs = [self.pipeline(branch, current, env) for branch in branches]
            spans = tuple(branch.span for branch in branches)
        self.spend(len(outputs), stage.span)  # each edge into the merge
        positional, keywords = self.arguments(stage.args, env) if stage.args else ((), ())
        layer = REGISTRY[op].bind(op, positional, keywords, stage.span, self.conventions)
        layer.branch_spans = spans
        return self.add(layer, tuple(outputs))

    def definition_of(self, stage: ast.Call) -> ast.Definition:
        """The block a call names; a layer called like a block, or an unknown name, is an error."""
        definition = self.definitions.get(stage.name)
        if definition is None and stage.name in REGISTRY:
            usage = REGISTRY[stage.name].usage(stage.name)
            raise BlockProblem(
                f"`{stage.name}` is a layer, not a block",
                stage.name_span,
                f"a layer's arguments follow it without parentheses or commas: `{usage or stage.name}`",
            )
        if definition is None and stage.name not in self.definitions:
            foreign = self.foreign_call_hint(stage)
            if foreign is not None:
                raise BlockProblem(f"no block named `{stage.name}`", stage.name_span, foreign)
            ours = keras_layer_word(stage.name)
            if ours is not None:
                raise BlockProblem(f"no block named `{stage.name}`", stage.name_span, self.keras_call_hint(stage, ours))
        if definition is None:
            hint = did_you_mean(stage.name, [*self.definitions, *REGISTRY]) or "define it with `def NAME(...):` first"
            raise BlockProblem(f"no block named `{stage.name}`", stage.name_span, hint)
        return definition

    def foreign_call_hint(self, stage: ast.Call) -> Hint | str | None:
        """`Conv2d(3, 8, 3)`, `Dense(10)`: a PyTorch or Keras class called as in Python, and its cnndsl line."""
        from .foreign import translate

        try:
            positional, keywords = self.arguments(stage.args, self.globals)
            call = translate([stage.name], [v.value for v in positional], {name: v.value for name, v, _ in keywords})
        except CnnError:
            call = translate([stage.name], None, None)
        if call is None or call.line is None:
            return call and call.hint()
        return Hint(call.hint(), Edit(f"Change to `{call.line}`", call.line, span=stage.span))

    @staticmethod
    def keras_call_hint(stage: ast.Call, ours: str) -> Hint:
        """`BatchNormalization()`, `Conv2D(32, 3)`: a Keras class called as in Python."""
        usage = REGISTRY[ours].usage(ours) or ours
        text = f"`{stage.name}` is Keras's name; cnndsl writes this layer `{ours}`, its arguments after it without parentheses or commas: `{usage}`"
        if stage.args:
            return Hint(text)
        # No arguments: the whole call becomes the bare layer word.
        return Hint(text, Edit(f"Change to `{ours}`", ours, span=stage.span))

    def call(self, stage: ast.Call, current: int | None, env: Env, given=None) -> int | None:
        definition = self.definition_of(stage)
        self.called.add(stage.name)
        if self.recording is not None:
            self.recording.called.add(stage.name)
        active = [name for name, _ in self.calls]
        if stage.name in active:
            chain = " -> ".join([*active[active.index(stage.name) :], stage.name])
            raise BlockProblem(
                f"block `{stage.name}` calls itself ({chain})", stage.name_span, "blocks cannot be recursive"
            )
        if len(self.calls) >= MAX_CALL_DEPTH:
            raise BlockProblem(
                f"blocks call each other more than {MAX_CALL_DEPTH} deep",
                stage.name_span,
                "cnndsl expands at most this many nested calls; flatten some of the chain",
            )
        guessed, before = False, len(self.graph.nodes)
        try:
            bindings = self.bind_call(definition, stage, env, given)
        except BlockProblem as error:
            plain = [arg for arg in stage.args if not isinstance(arg, ast.KeywordArg)]
            if self.errors is None or given is not None or len(plain) <= len(definition.params):
                raise
            # Too many arguments: the call without the extra ones is a guess at what was meant.
            extra = {id(arg) for arg in plain[len(definition.params) :]}
            trimmed = ast.Call(
                stage.name, tuple(a for a in stage.args if id(a) not in extra), stage.span, stage.name_span
            )
            bindings = self.bind_call(definition, trimmed, env)
            self.record(error)
            guessed = True
        self.calls.append((stage.name, stage.span))
        self.unrolling.append(stage.span)
        args = tuple((p.name, bindings[p.name].value) for p in definition.params if p.name in bindings)
        arguments = _arguments_text(definition, stage, bindings, given)
        label, self.call_label = self.call_label, None
        self.block_path.append(BlockCall(self.call_count, stage.name, stage.span, arguments, label, args))
        self.call_count += 1
        self.call_named.append({})
        try:
            current = self.statements(definition.body, current, bindings)
        except LimitExceeded as error:
            if error.span is not self.unrolling[0]:  # work bounds point at the outermost repeat or call
                _note_call(error, stage)
            raise
        except MissingInput as error:
            if current is None:  # the block was called first: the call is what lacks an input
                raise MissingInput(stage.span) from error
            _note_call(error, stage)
            raise
        except CnnError as error:
            _note_call(error, stage)
            raise
        finally:
            self.calls.pop()
            self.unrolling.pop()
            self.block_path.pop()
            self.call_named.pop()
        if guessed:
            for node in self.graph.nodes[before:]:
                node.guessed = True
        return current

    def bind_call(self, definition: ast.Definition, stage: ast.Call, env: Env, given=None) -> dict[str, Value]:
        params = definition.params
        names = [p.name for p in params]
        positional, keywords = given if given is not None else self.arguments(stage.args, env)
        usage = f"{definition.name}({', '.join(p.name if p.default is None else p.name + '=…' for p in params)})"
        if len(positional) > len(params):
            raise BlockProblem(
                f"`{definition.name}` takes {len(params)} argument{'s' if len(params) != 1 else ''}, "
                f"but {len(positional)} were given",
                positional[len(params)].span,
                f"usage: {usage}",
            )
        bindings: dict[str, Value] = dict(zip(names, positional))
        for name, value, span in keywords:
            if name not in names:
                raise BlockProblem(
                    f"`{definition.name}` has no parameter `{name}`",
                    span,
                    did_you_mean(name, names) or f"usage: {usage}",
                )
            if name in bindings:
                raise BlockProblem(f"`{name}` is given twice", span)
            bindings[name] = value
        for param in params:
            if param.name not in bindings:
                if param.default is None:
                    raise BlockProblem(
                        f"`{definition.name}` needs a value for `{param.name}`", stage.span, f"usage: {usage}"
                    )
                bindings[param.name] = evaluate(param.default, {**self.globals, **bindings}, self)
        return {**self.globals, **bindings}

    def arguments(
        self, args, env: Env, sizes: bool = False, worked: list | None = None
    ) -> tuple[list[Value], list[tuple[str, Value, Span]]]:
        """The evaluated arguments; for a layer (`sizes`), `size x size x 3` joined into one size.
        Given `worked`, each computed argument's evaluation goes there, for `explain` and hovers."""
        positional: list[Value] = []
        keywords: list[tuple[str, Value, Span]] = []
        written: list = []
        for arg in args:
            _reject_literal_product(arg)
            if isinstance(arg, ast.KeywordArg):
                keywords.append((arg.name, evaluate(arg.value, env, self), arg.span))
                if worked is not None and computed(arg.value) and not _is_word(arg.value, env):
                    worked.append((arg.span, (arg.value,), keywords[-1][1].value))
            else:
                positional.append(evaluate(arg, env, self))
                written.append((arg,))
        if sizes and any(_is_times(arg) for (arg,) in written[1:-1]):
            positional, written = _joined_sizes(written, positional, env)
        if worked is not None:
            for value, parts in zip(positional, written):
                if any(computed(part) for part in parts) and not (len(parts) == 1 and _is_word(parts[0], env)):
                    worked.append((value.span, parts, value.value))
        return positional, keywords

    def worked(self, records: list, layer: LayerKind, env: Env) -> tuple[Worked, ...]:
        """The evaluations of a layer's computed arguments, each with the argument it gave."""
        out = []
        for span, parts, result in records:
            values: dict = {}
            for part in parts:
                captured(part, env, self, values)
            name = next((n for n, where in layer.spans.items() if _within(span, where)), None)
            out.append(Worked(parts, values, result, name))
        return tuple(out)


def _is_word(expr, env: Env) -> bool:
    """A bare word the layer reads as an option (`same`), not a name with a value."""
    return isinstance(expr, ast.Name) and expr.id not in env


def _is_times(arg) -> bool:
    """The word `x` between two values: `input size x size x 3`."""
    return isinstance(arg, ast.Name) and arg.id == "x"


def _joined_sizes(written: list, values: list[Value], env: Env) -> tuple[list[Value], list[tuple]]:
    """`size x size x 3`: the values an `x` joins, as one size, and the parts each value was written
    as. A size of literal numbers only is left alone (it is written `32x32x3`, and the layer says
    so); any other part must be a whole number."""
    joined: list[Value] = []
    parts_of: list[tuple] = []
    i = 0
    while i < len(values):
        end = i
        while end + 2 < len(values) and _is_times(written[end + 1][0]) and not _is_times(written[end + 2][0]):
            end += 2
        parts = range(i, end + 1, 2)
        numeric = [isinstance(values[j].value, (int, float, tuple)) for j in parts]
        if end == i or all(isinstance(written[j][0], (ast.Num, ast.Dims)) for j in parts) or not any(numeric):
            joined.append(values[i])
            parts_of.append(written[i])
            i += 1
            continue
        axes_: list = []
        for j in parts:
            axes_.extend(_size_part(values[j], env))
        joined.append(Value(tuple(axes_), values[i].span.to(values[end].span)))
        parts_of.append(tuple(written[j][0] for j in parts))
        i = end + 1
    return joined, parts_of


def _size_part(value: Value, env: Env) -> tuple:
    """One part of a size joined by `x`: its axes, or a located error."""
    v = value.value
    if isinstance(v, str):
        known = [name for name, bound in env.items() if _is_number(bound.value)]
        raise BadArgument(
            f"`{v}` is not a number, so it cannot be an axis of a size",
            value.span,
            did_you_mean(v, known) or "an axis is a number or an expression: `size x size x 3` with `param size = 224`",
        )
    if isinstance(v, tuple):
        return v
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int):
        raise BadArgument(
            f"an axis of a size must be a whole number, not `{value.describe()}`",
            value.span,
            "make it whole in the file: `round(...)`, `int(...)`, or `divisible(..., 8)` for a multiple of 8",
        )
    if v == 0 or v < -1:
        raise BadArgument(f"an axis of a size must be positive, not `{v}`", value.span, "every axis has at least 1 element")
    return (v,)


def _arguments_text(definition: ast.Definition, stage: ast.Call, bindings: dict, given) -> str:
    """The call's arguments with their values, as it passed them (positionally or by name); defaults
    it left out stay out."""
    if given is not None:
        count, named = len(given[0]), [name for name, _, _ in given[1]]
    else:
        count = sum(not isinstance(arg, ast.KeywordArg) for arg in stage.args)
        named = [arg.name for arg in stage.args if isinstance(arg, ast.KeywordArg)]
    params = [p.name for p in definition.params]
    shown = [bindings[name].describe() for name in params[:count]]
    shown += [f"{name}={bindings[name].describe()}" for name in named if name in bindings and name in params]
    return ", ".join(shown)


MAX_REPAIRS = 4  # wrong words repaired in one layer before it counts as failed


def _repaired(stage: ast.Layer, error: CnnError, drop: bool = False) -> tuple[ast.Layer, bool] | None:
    """The layer as `error`'s one proposed edit writes it (False), or without the argument the error
    is about (True: a guess); None when the error is about no word of the layer."""
    span = error.span
    if span is None:
        return None
    edits = [edit for edit in getattr(error.hint, "edits", ()) if edit.original is not None and edit.span is None]
    if len(edits) == 1 and not drop:
        edit = edits[0]
        if stage.kind == edit.original and _starts(stage.kind_span, span):
            return ast.Layer(edit.text, stage.args, stage.span, stage.kind_span), False
        for i, arg in enumerate(stage.args):
            if not _starts(arg.span, span):
                continue
            if isinstance(arg, ast.Name) and arg.id == edit.original:
                fixed = ast.Name(edit.text, arg.span)
            elif isinstance(arg, ast.KeywordArg) and arg.name == edit.original:
                fixed = ast.KeywordArg(edit.text, arg.value, arg.span)
            else:
                break
            return ast.Layer(
                stage.kind, (*stage.args[:i], fixed, *stage.args[i + 1 :]), stage.span, stage.kind_span
            ), False
    if isinstance(error, UnknownLayer):
        return None
    for i, arg in enumerate(stage.args):
        if _within(span, arg.span):
            return ast.Layer(stage.kind, stage.args[:i] + stage.args[i + 1 :], stage.span, stage.kind_span), True
    kept = tuple(arg for arg in stage.args if not _within(arg.span, span))  # `stride 2` given twice: both words
    if len(kept) < len(stage.args):
        return ast.Layer(stage.kind, kept, stage.span, stage.kind_span), True
    return None


def _starts(span: Span, error_span: Span) -> bool:
    return (span.line, span.column, span.file) == (error_span.line, error_span.column, error_span.file)


def _filled_label(stage: ast.Labelled, env: Env, context=None) -> str:
    """`block{b}a_expand_conv` with b = 1: `block1a_expand_conv`, from the block's parameters."""
    return fill_template(stage.label, stage.label_span, env, context)


def fill_template(template: str, span: Span, env: Env, context=None) -> str:
    """A label or reference with `{EXPR}` parts (`h{b}`, `cell{i - 1}`), each part's value written in."""

    def part(match: re.Match) -> str:
        text = match[1].strip()
        if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", text) and text not in env:
            raise BadArgument(
                f"`{{{text}}}` names no block parameter, `let` or loop variable here",
                span,
                did_you_mean(text, list(env)) or "a `{name}` part of a label is filled from a parameter of the block",
            )
        try:
            value = evaluate(_template_expression(text), env, context)
        except CnnError as error:  # the part's own text is not in the file at its own place: point at the label
            raise BadArgument(f"in `{{{text}}}`: {error.message}", span, error.hint) from None
        if isinstance(value.value, (float, tuple, list, Block)):
            if isinstance(value.value, float) and value.value.is_integer():
                return str(int(value.value))
            raise BadArgument(
                f"`{{{text}}}` is `{value.describe()}`; a label takes whole numbers and words", span, "round it: `{round(x)}`"
            )
        return str(value.value)

    label = re.sub(r"\{([^{}]*)\}", part, template)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*(?:-[A-Za-z_0-9]+)*", label):
        raise BadArgument(
            f"the label becomes `{label}`, which is not a name",
            span,
            "a label is a name, its parts joined by `-` at most (`block{k}-{i}`)",
        )
    return label


_TEMPLATE_PARTS: dict[str, ast.Expr] = {}


def _template_expression(text: str) -> ast.Expr:
    """The expression inside a label's `{...}`, parsed by the grammar as a `let` value."""
    found = _TEMPLATE_PARTS.get(text)
    if found is None:
        from ..core.source import Source
        from .parse import parse

        if "\n" in text or len(text) > 200:
            raise BadArgument("a `{...}` part of a label holds one short expression", None, "name the value with `let`")
        program = parse(Source.of(f"let _ = {text}\n", "<label>"))
        statements = program.statements
        if len(statements) != 1 or not isinstance(statements[0], ast.Let):
            raise BadArgument(f"`{{{text}}}` is not an expression", None, "write a name or arithmetic: `{i - 1}`")
        found = _TEMPLATE_PARTS[text] = statements[0].value
    return found


def _starts_with_input(pipeline: ast.Pipeline) -> bool:
    first = pipeline.stages[0]
    if isinstance(first, ast.Labelled):
        first = first.body
    if isinstance(first, ast.Unparsed):
        return first.starts_input
    return isinstance(first, ast.Layer) and first.kind == "input"


DEFAULTS = "defaults"


def _is_defaults(pipeline: ast.Pipeline) -> bool:
    return (
        len(pipeline.stages) == 1 and isinstance(pipeline.stages[0], ast.Layer) and pipeline.stages[0].kind == DEFAULTS
    )


def _conventions(stage: ast.Layer) -> str:
    """`defaults pytorch`: whose defaults the file's layers take (BN epsilon, flatten order...)."""
    from ..layers.base import CONVENTIONS

    args = stage.args
    if len(args) != 1 or not isinstance(args[0], ast.Name) or args[0].id not in CONVENTIONS:
        where = args[0].span if args else stage.span
        word = args[0].id if args and isinstance(args[0], ast.Name) else ""
        raise BadArgument(
            "`defaults` takes one word: " + " or ".join(f"`{c}`" for c in CONVENTIONS),
            where,
            did_you_mean(word, CONVENTIONS) if word else "for example `defaults pytorch`",
        )
    return args[0].id


def _note_call(error: CnnError, call: ast.Call) -> None:
    """Note that the error happened inside this call (an error at the call itself needs no note)."""
    if not _within(error.span, call.span):
        error.called_from = (*error.called_from, (call.name, call.span))


def _within(inner: Span | None, outer: Span) -> bool:
    return (
        inner is not None
        and inner.file is outer.file
        and (outer.line, outer.column) <= (inner.line, inner.column)
        and (
            inner.end_line,
            inner.end_column,
        )
        <= (outer.end_line, outer.end_column)
    )


def _ends_expansion(error: LimitExceeded) -> LimitExceeded:
    """Marks a bound on the whole expansion (work, layers): expanding the file again, as the every-error
    mode would, stops at the same place with nothing else found, after as much work again."""
    error.ends_expansion = True
    return error


def parse_value(name: str, text: str):
    """A `--set` value: an int or a float as the file would write it; else a ParameterProblem."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ParameterProblem(f"`{name}={text}`: the value is not a number", None, "for example `--set alpha=0.5`") from None
    import math

    if not math.isfinite(value):
        raise ParameterProblem(f"`{name}={text}`: the value is not a finite number", None)
    return value


def expand(
    program: ast.Program,
    params: Mapping[str, object] | None = None,
    errors: list | None = None,
    broken_blocks=(),
    memo: ExpansionMemo | None = None,
    library=None,
) -> Graph:
    """Expand a parsed program into a layer graph; `params` replace the defaults of its `param`s.
    See `Expander` for `errors` and `broken_blocks`, ExpansionMemo for `memo`; `library`
    (a language.modules.Library) reads the files of `use` lines, and without one a `use` is an error."""
    return Expander(program, params, errors, broken_blocks, memo, library).run()
