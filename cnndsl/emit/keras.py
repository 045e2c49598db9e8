"""Keras 3 code: `keras.Sequential` for a straight network, the functional API for a graph.

Every layer gets its cnndsl summary name, so `model.summary()` of the
generated model matches `cnndsl summary` row for row. The implicit flatten
before a dense layer is a real `layers.Flatten` row, as in the summary.
One exception: under `defaults pytorch` a flatten of several positions is
channels first, and Keras gets a weightless `Permute` row before it.
"""

from __future__ import annotations

from ..core.writer import Call, List, Names, kw, literal
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


class KerasTarget(Target):
    NAMES = ("keras",)
    TITLE = "Keras"
    RESERVED = ("keras", "layers", "importlib", "os", "sys", "backend", "inputs", "outputs", "x", "model", "build_model", "LayerScale", "CustomScaleLayer", "MaxPoolPadded")

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
