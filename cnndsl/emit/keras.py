"""Keras 3 code: `keras.Sequential` for a straight network, the functional API for a graph.

Every layer gets its cnndsl summary name, so `model.summary()` of the
generated model matches `cnndsl summary` row for row. The implicit flatten
before a dense layer is a real `layers.Flatten` row, as in the summary.
One exception: under `defaults pytorch` a flatten of several positions is
channels first, and Keras gets a weightless `Permute` row before it.
"""

from __future__ import annotations

import re

from ..core.writer import BUILTINS, Call, List, Names, kw, literal
from ..layers.base import to_snake_case
from .pytorch import _leaves, _number, _rebuild, _split_numbers, numbered
from .target import Target, example_comment, example_shape

# Keras 3 defaults to TensorFlow (and writes that into ~/.keras/keras.json on first
# import), but a fresh `pip install keras torch` has no TensorFlow: without
# KERAS_BACKEND set, pick the backend that is installed, or say what to install.
BACKEND_CHOICE = """
import importlib.util
import os
import sys

if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
    for backend in ("torch", "jax"):
        if importlib.util.find_spec(backend) is not None:
            os.environ["KERAS_BACKEND"] = backend
            break
    else:
        sys.exit("Keras needs a backend: pip install torch (or jax, or tensorflow)")
"""


DEFAULT_NAMES = '''
class DefaultNames:
    """Keras's default layer names (`conv2d`, `conv2d_1`, ...), counted afresh for each
    model built, so that every build names its layers as `cnndsl summary` does."""

    def __init__(self):
        self.counts = {}

    def __call__(self, base):
        count = self.counts.get(base, 0)
        self.counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"
'''


class Block:
    """One call of a `def` written as a Python function call: its nodes, calls and tensors."""

    def __init__(self, call):
        self.call = call  # the BlockCall; None for build_model's own body
        self.items: list = []  # node ids and child Blocks, in order
        self.members: list[int] = []
        self.inputs: list[int] = []
        self.output: int | None = None
        self.function: str | None = None  # the function it calls
        self.arguments: list[str] = []  # the call's arguments after the tensors: numbers, as written

    def value(self, item) -> int:
        return item if isinstance(item, int) else item.output


LOOP = "\0for "  # a statement's head: its call made `for _ in range(count)`, the count and call in a List


def _loops(statements: list) -> list:
    """A run of the same block call, one after the other (`identity_block(c) * 3`), as a loop."""
    out: list = []
    for head, expr in statements:
        if out and not out[-1][0].startswith(LOOP) and head == "x = " and out[-1] == (head, expr):
            out[-1] = (LOOP + head, List(["2", expr]))
        elif out and out[-1][0] == LOOP + head and str(out[-1][1].items[1]) == str(expr):
            out[-1] = (out[-1][0], List([str(int(out[-1][1].items[0]) + 1), expr]))
        else:
            out.append((head, expr))
    return out


# Keras's convolutions default to strides 1 (its poolings to their pool size: left as written)
_KERAS_STRIDED = ("layers.Conv", "layers.DepthwiseConv", "layers.SeparableConv")


def _strides_full(expr):
    """A layer's call with `strides=1` written, so calls of one block that differ only there compare equal."""
    if isinstance(expr, Call):
        args = [_strides_full(a) for a in expr.args]
        if str(expr.func).startswith(_KERAS_STRIDED) and not any(str(a).startswith("strides=") for a in args):
            place = next((i for i, a in enumerate(args) if isinstance(a, str) and "=" in a), len(args))
            args.insert(place, "strides=1")
        return Call(expr.func, args, expr.trailer)
    if isinstance(expr, List):
        return List([_strides_full(i) for i in expr.items], expr.explode)
    return expr


def _strides_trim(expr):
    if isinstance(expr, Call):
        args = [_strides_trim(a) for a in expr.args]
        if str(expr.func).startswith(_KERAS_STRIDED):
            args = [a for a in args if a != "strides=1"]
        return Call(expr.func, args, expr.trailer)
    if isinstance(expr, List):
        return List([_strides_trim(i) for i in expr.items], expr.explode)
    return expr


def _base(node) -> str:
    """What a layer's name is counted from: its label, or Keras's default name for its class."""
    return node.label if node.label else to_snake_case(node.keras_type)


class KerasTarget(Target):
    NAMES = ("keras",)
    TITLE = "Keras"
    RESERVED = ("keras", "layers", "importlib", "os", "sys", "backend", "inputs", "outputs", "x", "model", "build_model", "LayerScale", "CustomScaleLayer", "MaxPoolPadded",
                "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")

    def before_calls(self, node) -> list[Call]:
        """The layers a node's own needs first (see LayerKind.keras_before), each under a name of its own."""
        calls = node.layer.keras_before(node)
        if calls and not hasattr(self, "_extra_names"):
            self._extra_names = Names(n.name for n in self.model.nodes)
        for call in calls:
            call.args.append(kw("name", literal(self._extra_names.claim(f"{node.name}_channels_first"))))
        return calls

    def layer_call(self, node, named: bool = True) -> Call:
        call = node.layer.keras(node)
        if named:
            call.args.append(kw("name", literal(node.name)))
        return call

    def generate(self) -> str:
        model, w = self.model, self.out
        w.writeline(f'"""Keras 3 model `{model.name}`, written by cnndsl.')
        w.blank()
        w.writeline("Runs on any Keras 3 backend (TensorFlow, JAX or PyTorch). The layer names")
        w.writeline("are cnndsl's, so `model.summary()` matches `cnndsl summary` row for row.")
        w.writeline('"""')
        w.blank()
        w.lines.extend(BACKEND_CHOICE.strip("\n").split("\n"))
        w.blank()
        w.writeline("import keras  # noqa: E402 (after the backend is chosen)")
        if model.layers:
            w.writeline("from keras import layers  # noqa: E402")
        helpers = {name: text for node in model.layers for name, text in node.layer.keras_helpers(node).items()}
        for name in sorted(helpers):
            w.blank(2)
            w.lines.extend(helpers[name].strip("\n").split("\n"))
        plan = self.plan()
        if plan is not None:
            self.functions(plan)
        else:
            w.blank(2)
            w.writeline("def build_model():")
            w.indent()
            if model.sequential and model.layers:
                self.sequential()
            else:
                self.functional()
            w.outdent()
        w.blank(2)
        w.writeline('if __name__ == "__main__":')
        w.indent()
        w.writeline("model = build_model()")
        w.writeline("model.summary()")
        if model.unknown_inputs:
            w.writeline(example_comment(model))
        zeros = [Call("keras.ops.zeros", [literal((1, *example_shape(model, model.nodes[i])))]) for i in model.inputs]
        if len(zeros) == 1:
            w.statement("output = model(", zeros[0], ")")
        else:
            w.statement("inputs = ", List(zeros))
            w.writeline("output = model(inputs)")
        if len(model.outputs) == 1:
            w.writeline("print(tuple(output.shape))")
        else:
            w.writeline("print([tuple(each.shape) for each in output])")
        return w.getvalue()

    # A function per `def`, as keras.applications writes its blocks.

    def blocks(self) -> Block | None:
        """build_model's body, each `def` call that can be a function call a Block: one tensor out, its
        layers made one after the other and none of them shared; None when no call can be."""
        model, readers = self.model, self.readers()
        members: dict[int, list[int]] = {}
        calls = {}
        for node in model.layers:
            for call in node.blocks:
                members.setdefault(call.id, []).append(node.id)
                calls[call.id] = call
        shared = {n.shares for n in model.nodes if n.shares is not None}
        shared |= {n.id for n in model.nodes if n.shares is not None}
        eligible = set()
        for cid, ids in members.items():
            inside = set(ids)
            outs = [i for i in ids if i in model.outputs or any(r not in inside for r in readers[i])]
            if (
                outs == [ids[-1]]
                and any(i not in inside for n in ids for i in model.nodes[n].inputs)
                and ids == list(range(ids[0], ids[-1] + 1))
                and not inside & shared
                and not inside & set(model.inputs)
                and not any(model.nodes[i].layer.keras_before(model.nodes[i]) for i in ids)
            ):
                eligible.add(cid)
        if not eligible:
            return None
        root, made = Block(None), {}
        for node in model.layers:
            block = root
            for call in node.blocks:
                if call.id in eligible:
                    child = made.get(call.id)
                    if child is None:
                        child = made[call.id] = Block(call)
                        block.items.append(child)
                    block = child
            block.items.append(node.id)
        for block in made.values():
            block.members = members[block.call.id]
            inside = set(block.members)
            block.inputs = list(
                dict.fromkeys(i for n in block.members for i in model.nodes[n].inputs if i not in inside)
            )
            block.output = block.members[-1]
        return root

    def body(self, block: Block, reserved) -> list[tuple[str, object]]:
        """The statements of a function's body (or build_model's), as (head, expression)."""
        model = self.model
        is_root = block.call is None
        readers: dict[int, list] = {}
        for item in block.items:
            for t in model.nodes[item].inputs if isinstance(item, int) else item.inputs:
                readers.setdefault(t, []).append(item)
        functions = self.function_names.taken if hasattr(self, "function_names") else ()
        taken = Names((*BUILTINS, *self.RESERVED, "names", "shortcut", *reserved, *functions))
        variables: dict[int, str] = {}
        statements = []
        if is_root:
            for i in model.inputs:
                variables[i] = "inputs" if len(model.inputs) == 1 else taken.claim(model.nodes[i].name)
                statements.append((f"{variables[i]} = ", self.layer_call(model.nodes[i])))
            outputs = list(model.outputs)
        else:
            for k, i in enumerate(block.inputs):
                variables[i] = "x" if len(block.inputs) == 1 else taken.claim(f"x{k + 1}")
            outputs = [block.output]
            if len(block.inputs) == 1 and len(readers.get(block.inputs[0], [])) > 1:
                statements.append(("shortcut = ", "x"))  # as keras.applications keeps a block's input
                variables[block.inputs[0]] = "shortcut"
        holds_x = next((i for i, v in variables.items() if v == "x"), None)
        for position, item in enumerate(block.items):
            out = block.value(item)
            later = block.items[position + 1 :]
            x_needed = holds_x is not None and any(
                holds_x in (model.nodes[i].inputs if isinstance(i, int) else i.inputs) for i in later
            )
            if is_root and out == model.output and len(outputs) == 1:
                var = "outputs"
            elif not x_needed and (readers.get(out) == later[:1] and later and out not in outputs or (
                not is_root and out == block.output
            )):
                var, holds_x = "x", out
            elif isinstance(item, Block):
                var = numbered(taken, item.call.label or item.call.name)
            else:
                var = numbered(taken, model.nodes[out].name if is_root else _base(model.nodes[out]))
            if isinstance(item, Block):
                args = [variables[i] for i in item.inputs] + item.arguments + ["names"]
                statements.append((f"{var} = ", Call(item.function, args)))
                variables[out] = var
                continue
            node = model.nodes[item]
            args = [variables[i] for i in node.inputs]
            call = self.layer_call(node, named=False)
            if node.id in self.counted:
                call.args.append(kw("name", f"names({literal(_base(node))})"))
            else:
                call.args.append(kw("name", literal(node.name)))
            if node.layer.MERGE:
                call = Call(str(call), [List(args)])
            else:
                call.trailer = f"({args[0]})"
            statements.append((f"{var} = ", call))
            variables[out] = var
        statements = _loops(statements)
        if is_root:
            ins, outs = [variables[i] for i in model.inputs], [variables[i] for i in model.outputs]
            io = [ins[0], outs[0]] if len(ins) == len(outs) == 1 else [kw("inputs", List(ins)), kw("outputs", List(outs))]
            statements.append(("return ", Call("keras.Model", [*io, kw("name", literal(model.name))])))
        else:
            statements.append(("return ", variables[block.output]))
        return statements

    def plan(self):
        """(functions, build_model's statements): each function (name, parameters, statements); None
        when no call of a `def` can be a function, or when the names its layers get would not be
        cnndsl's (Keras's default names are counted by DefaultNames in the order the layers are made)."""
        model = self.model
        if model.sequential or any(n.shares is not None for n in model.nodes):
            return None  # a straight network is a keras.Sequential, its summary without an input row
        root = self.blocks()
        if root is None:
            return None
        self.counted = self.counted_names(root)
        if self.counted is None:
            return None
        by_def: dict[str, list[Block]] = {}
        heights: dict[int, int] = {}

        def walk(block: Block) -> int:
            height = 0
            for item in block.items:
                if isinstance(item, Block):
                    height = max(height, walk(item))
                    by_def.setdefault(item.call.name, []).append(item)
            heights[id(block)] = height + 1
            return height + 1

        walk(root)
        function_names = self.function_names = Names((*BUILTINS, *self.RESERVED, "names", "DefaultNames"))
        functions = []
        for name in sorted(by_def, key=lambda n: max(heights[id(b)] for b in by_def[n])):
            calls = by_def[name]
            def_params = [
                p
                for p, v in calls[0].call.args
                if isinstance(v, (int, float)) and not isinstance(v, bool) and p not in {"x", "names", "shortcut"}
            ]
            groups: list[tuple[str, list, list]] = []
            for block in calls:
                statements = [(h, _strides_full(e)) for h, e in self.body(block, def_params)]
                leaves: list[str] = []
                for _, expr in statements:
                    _leaves(expr, leaves)
                split = [_split_numbers(t) for t in leaves]
                skeleton = repr(([h for h, _ in statements], [a for a, _ in split]))
                numbers = [n for _, ns in split for n in ns]
                for group in groups:
                    if group[0] == skeleton:
                        group[2].append((block, numbers))
                        break
                else:
                    groups.append((skeleton, statements, [(block, numbers)]))
            for k, (_, statements, members) in enumerate(groups):
                function = function_names.claim(name if k == 0 else f"{name}{k + 1}")
                functions.append(self.lift(function, def_params, statements, members))
        return functions, self.body(root, ())

    def lift(self, function: str, def_params: list[str], statements, members):
        """One function for the calls whose code differs only in numbers: those numbers its parameters,
        named after the block's own where they match (`c`, `c * 4`), else `n1`, `n2`, ..."""
        count = len(members[0][1])
        varying = [j for j in range(count) if len({m[1][j] for m in members}) > 1]
        replace: dict[int, str] = {}
        by_values: dict[tuple, str] = {}
        extra: dict[str, list] = {}
        for j in varying:
            seen = tuple(_number(m[1][j]) for m in members)
            if seen in by_values:
                replace[j] = by_values[seen]
                continue
            text = None
            for p in def_params:
                mine = tuple(dict(m[0].call.args)[p] for m in members)
                if mine == seen:
                    text = p
                elif all(isinstance(v, int) for v in mine) and tuple(v - 1 for v in mine) == seen:
                    text = f"{p} - 1"  # the blocks after a stage's first: `for _ in range(blocks - 1)`
                elif all(isinstance(v, int) for v in mine):
                    for f in (2, 4):
                        if tuple(v * f for v in mine) == seen:
                            text = f"{p} * {f}"
                        elif tuple(v // f for v in mine) == seen:
                            text = f"{p} // {f}"
                        if text:
                            break
                if text:
                    break
            if text is None:
                text = f"n{len(extra) + 1}"
                extra[text] = [m[1][j] for m in members]
            by_values[seen] = replace[j] = text
        used = {w for text in replace.values() for w in re.findall(r"[A-Za-z_]\w*", text)}
        params = [p for p in def_params if p in used] + list(extra)
        counter = iter(range(count))
        lifted = []
        for head, expr in statements:
            leaves: list[str] = []
            _leaves(expr, leaves)
            new = []
            for leaf in leaves:
                skeleton, numbers = _split_numbers(leaf)
                parts = skeleton.split("\1")
                text = parts[0]
                for number, rest in zip(numbers, parts[1:]):
                    text += replace.get(next(counter), number) + rest
                new.append(text)
            lifted.append((head, _strides_trim(_rebuild(expr, iter(new)))))
        block = members[0][0]
        tensors = ["x"] if len(block.inputs) == 1 else [f"x{k + 1}" for k in range(len(block.inputs))]
        for block, numbers in members:
            block.function = function
            block.arguments = []
            for p in params:
                if p in extra:
                    block.arguments.append(extra[p][members.index((block, numbers))])
                else:
                    value = dict(block.call.args)[p]
                    block.arguments.append(literal(int(value) if isinstance(value, float) and value.is_integer() else value))
        return function, [*tensors, *params, "names"], lifted

    def counted_names(self, root: Block) -> set[int] | None:
        """The layers whose names DefaultNames gives (`names("conv2d")`), made in the order the code
        makes them: every layer of a function, and at the top level those with Keras's default name
        (a label is written as it is). None where a name it would give is not cnndsl's."""
        model, counts, counted = self.model, {}, set()

        def visit(block: Block) -> bool:
            for item in block.items:
                if isinstance(item, Block):
                    if not visit(item):
                        return False
                    continue
                node = model.nodes[item]
                base = _base(node)
                count = counts.get(base, 0)
                name = base if count == 0 else f"{base}_{count}"
                if block.call is None and (node.label or name != node.name):
                    continue  # a label, kept as written
                if name != node.name:
                    return False
                counts[base] = count + 1
                counted.add(node.id)
            return True

        return counted if visit(root) else None

    def functions(self, plan) -> None:
        functions, statements = plan
        w = self.out
        w.blank(2)
        w.lines.extend(DEFAULT_NAMES.strip("\n").split("\n"))
        for name, params, body in functions:
            w.blank(2)
            w.writeline(f"def {name}({', '.join(params)}):")
            w.indent()
            self.write_body(body)
            w.outdent()
        w.blank(2)
        w.writeline("def build_model():")
        w.indent()
        w.writeline("names = DefaultNames()")
        self.write_body(statements)
        w.outdent()

    def write_body(self, statements) -> None:
        w = self.out
        for head, expr in statements:
            if head.startswith(LOOP):
                count, call = expr.items
                w.writeline(f"for _ in range({count}):")
                w.indent()
                w.statement(head.removeprefix(LOOP), call)
                w.outdent()
            else:
                w.statement(head, expr)

    def sequential(self) -> None:
        model = self.model
        items = [self.layer_call(model.input, named=False)]
        items += [call for node in model.layers for call in (*self.before_calls(node), self.layer_call(node))]
        call = Call("keras.Sequential", [List(items, explode=True), kw("name", literal(model.name))])
        self.out.statement("return ", call)

    def functional(self) -> None:
        model, w = self.model, self.out
        names = self.variables("inputs", "outputs")
        # A layer used more than once is made once, as a variable of its own, then called on each input.
        shared = Names(names.values())
        layer_variables = {
            first: shared.claim(f"{model.nodes[first].name}_layer")
            for first, uses in model.calls.items()
            if len(uses) > 1
        }
        for node in model.nodes:
            if node.id in model.inputs:
                w.statement(f"{names[node.id]} = ", self.layer_call(node))
                continue
            args = [names[i] for i in node.inputs]
            for before in self.before_calls(node):  # weightless: a new one on each use
                before.trailer = f"({args[0]})"
                w.statement(f"{names[node.id]} = ", before)
                args = [names[node.id]]
            first = node.id if node.shares is None else node.shares
            if first in layer_variables:
                if node.shares is None:
                    w.statement(f"{layer_variables[first]} = ", self.layer_call(node))
                reads = List(args) if node.layer.MERGE else args[0]
                w.statement(f"{names[node.id]} = ", f"{layer_variables[first]}({reads})")
                continue
            call = self.layer_call(node)
            if node.layer.MERGE:
                call = Call(str(call), [List(args)])
            else:
                call.trailer = f"({args[0]})"
            w.statement(f"{names[node.id]} = ", call)
        ins = [names[i] for i in model.inputs]
        outs = [names[i] for i in model.outputs]
        if len(ins) == 1 and len(outs) == 1:
            io = [ins[0], outs[0]]
        else:
            io = [kw("inputs", List(ins)), kw("outputs", List(outs))]
        w.statement("return ", Call("keras.Model", [*io, kw("name", literal(model.name))]))
