"""PyTorch code: an `nn.Module` that computes exactly what the Keras model computes.

Layout: each layer with weights (or with train/eval behaviour) is an
attribute named after its Keras layer (`self.conv2d`), so weights can be
matched by name (see cnndsl.port); `forward()` spells out every step with
its NCHW shape in a comment. Weightless steps (padding, activations,
merges, flatten) are plain tensor operations in `forward()`.

Keras semantics kept exactly:
- `same` padding is Keras's (extra pixel after); where it is asymmetric,
  `F.pad` pads explicitly before the layer (with -inf for max pooling).
- average pooling with `same` leaves the padding out of each average.
- BatchNorm momentum is converted (torch = 1 - keras), eps is Keras's.
- Flatten moves channels last first (`x.movedim(1, -1)`), so the values come
  out in Keras's NHWC order and a dense layer's weights port unchanged.
"""

from __future__ import annotations

import re

from ..core.writer import Call, CodeWriter, List, Names, is_free, literal
from .target import EXAMPLE_SIZE, Target, example_shape

# Attribute names an nn.Module already uses: a layer named so gets a suffix.
MODULE_ATTRIBUTES = frozenset(
    """T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda
    double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
    get_submodule half ipu load_state_dict modules mtia named_buffers named_children named_modules
    named_parameters parameters register_backward_hook register_buffer register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
    set_extra_state set_submodule share_memory state_dict to to_empty train training type xpu
    zero_grad""".split()
)


def attribute_name(name: str) -> str:
    """The attribute of the generated nn.Module that holds the layer `name`."""
    return Names().claim(name, unsafe=MODULE_ATTRIBUTES) if not name.startswith("_") else "layer" + name


HELPERS = {
    "keras_same_pad": '''
def keras_same_pad(x, kernel, stride, dilation, value=0.0):
    """Keras's `same` padding for a window with a stride, on an input whose size
    is known only when run: per axis, (ceil(n/s) - 1)·s + d·(k - 1) + 1 - n
    positions, the odd one after."""
    pads = []
    spatial = x.shape[2:]
    for i in reversed(range(len(spatial))):  # F.pad takes the last axis first
        n, k, s, d = spatial[i], kernel[i], stride[i], dilation[i]
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)
''',
    "AvgPoolSameAnySize": '''
class AvgPoolSameAnySize(nn.Module):
    """Average pooling with Keras's `same` padding on an input whose size is known only when
    run; as in Keras, the padding is left out of each average."""

    def __init__(self, pool, kernel, stride):
        super().__init__()
        self.pool = pool
        self.kernel = kernel
        self.stride = stride

    def forward(self, x):
        ones = torch.ones_like(x[:1, :1])
        dilation = (1,) * len(self.kernel)
        padded = keras_same_pad(x, self.kernel, self.stride, dilation)
        return self.pool(padded) / self.pool(keras_same_pad(ones, self.kernel, self.stride, dilation))
''',
    "AvgPoolSame": '''
class AvgPoolSame(nn.Module):
    """Average pooling with Keras's `same` padding, which may be asymmetric.

    As in Keras, the padding is left out of each average: each window's sum
    is divided by the number of real input values in it, not by its size.
    """

    def __init__(self, pool, pad):
        super().__init__()
        self.pool = pool
        self.pad = pad

    def forward(self, x):
        ones = torch.ones_like(x[:1, :1])
        return self.pool(F.pad(x, self.pad)) / self.pool(F.pad(ones, self.pad))
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """A learned factor per channel: shaped (C,) as Keras's ConvNeXt LayerScale has it,
    or (C, 1, 1) as torchvision's ConvNeXt has it."""

    def __init__(self, init_values, shape):
        super().__init__()
        self.gamma = nn.Parameter(torch.full(shape, float(init_values)))

    def forward(self, x):
        return x * self.gamma.view((1, -1) + (1,) * (x.dim() - 2))
''',
    "DropPath": '''
class DropPath(nn.Module):
    """Stochastic depth: while training, zeroes whole examples with probability
    `rate` and scales the rest by 1 / (1 - rate); the identity at inference
    (Keras's Dropout with noise shape (None, 1, 1, 1))."""

    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        keep = 1.0 - self.rate
        mask = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device) < keep
        return x * mask / keep
''',
    "FixedNormalization": '''
class FixedNormalization(nn.Module):
    """Keras's `Normalization(mean=..., variance=...)`: fixed statistics, no weights.

    One value applies to every channel; a list gives one per channel.
    """

    def __init__(self, mean, variance):
        super().__init__()
        self.mean = mean
        self.variance = variance

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
        variance = torch.tensor(self.variance, dtype=x.dtype, device=x.device)
        return (x - mean) / variance.sqrt().clamp(min=1e-7).view(shape)
''',
    "Normalization": '''
class Normalization(nn.Module):
    """Keras's `Normalization`: (x - mean) / sqrt(variance), per channel.

    The statistics are buffers (Keras's non-trainable weights, set by its
    `adapt()`); cnndsl.port.keras_to_torch copies them from a Keras model.
    """

    def __init__(self, channels):
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("variance", torch.ones(channels))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        std = self.variance.sqrt().clamp(min=1e-7)
        return (x - self.mean.view(shape)) / std.view(shape)
''',
}


def nchw(shape: tuple[int, ...]) -> str:
    """`(N, C, H, W)` for a channels-last shape without batch."""
    dims = ("N", shape[-1], *shape[:-1])
    return "(" + ", ".join(map(str, dims)) + ")"


def class_name(model_name: str) -> str:
    """`MyNet` for my_net.cnn; a name the module needs (`None`, `F`, `nn`, a builtin) gets `Model` added."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", model_name) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name.isidentifier():
        return "Model"
    return name if is_free(name, TorchTarget.RESERVED) else name + "Model"


class TorchStep:
    """What a layer kind sees while writing its PyTorch code for one node."""

    def __init__(self, target: TorchTarget, node, inputs: list[str]):
        self.target = target
        self.node = node
        self.inputs = inputs
        self.comments: list[str] = []

    def module(self, expr, ahead: bool = False) -> str:
        """Make `expr` an attribute of the model, named after the layer; its `self.` name.

        A layer used again is the same attribute: the module (and its weights) is shared.
        `ahead` sets it before every other module of the innermost block call that made
        the layer, where a PyTorch module written as that block registers its own
        parameters (before its submodules'), so its state comes in that order.
        """
        attr = self.target.attributes[self.node.id]
        if self.node.shares is None:
            self._add((f"self.{attr} = ", expr, None), ahead)
        return f"self.{attr}"

    def init(self, head: str, expr, comment: str | None = None) -> None:
        """One more statement `head + expr` in `__init__`, after the layer's own attribute."""
        if self.node.shares is None:
            self._add((head, expr, comment), False)

    def _add(self, statement, ahead: bool) -> None:
        target, place = self.target, len(self.target.init)
        if ahead and self.node.blocks:
            # the call's layers come just before this one: walk back over them, not over the whole model
            call, nodes = self.node.blocks[-1].id, target.model.nodes
            while place and any(b.id == call for b in nodes[target.init_owners[place - 1]].blocks):
                place -= 1
        target.init.insert(place, statement)
        target.init_owners.insert(place, self.node.id)

    def helper(self, name: str) -> str:
        self.target.helpers.add(name)
        return name

    def comment(self, text: str) -> None:
        self.comments.append(text)


class TorchTarget(Target):
    NAMES = ("pytorch", "torch")
    TITLE = "PyTorch"
    RESERVED = ("torch", "nn", "F", "self", "x", "inputs", "build_model", "super", *HELPERS)

    def __init__(self, model):
        super().__init__(model)
        self.init: list[tuple[str, object, str | None]] = []
        self.init_owners: list[int] = []  # the node that wrote each statement of `init`
        self.helpers: set[str] = set()
        self.skipped: set[int] = set()  # nodes written as part of the next one (a pad as a conv's `padding=`)
        names = Names()
        self.attributes = {}
        for node in model.layers:
            if node.shares is not None:
                self.attributes[node.id] = self.attributes[node.shares]
                continue
            attr = attribute_name(node.name)
            self.attributes[node.id] = names.claim(attr, unsafe=MODULE_ATTRIBUTES)
        self.absorbed_pads = self.padding_into_convs()

    def padding_into_convs(self) -> dict[int, tuple]:
        """conv id -> the pads of a symmetric zero padding written just before it (`conv ... pad 1`),
        which PyTorch writes as the conv's own `padding=1`, as torchvision does."""
        from ..layers.conv import _Convolution
        from ..layers.resize import ZeroPad

        model, readers = self.model, self.readers()
        shared = {n.shares for n in model.nodes if n.shares is not None}
        absorbed = {}
        for node in model.layers:
            pads = node.resolved.get("pads") if isinstance(node.layer, ZeroPad) else None
            if not pads or None in (x for pair in pads for x in pair) or any(a != b for a, b in pads):
                continue
            if len(readers[node.id]) != 1 or node.id in model.outputs or node.shares is not None:
                continue
            conv = model.nodes[readers[node.id][0]]
            if (
                isinstance(conv.layer, _Convolution)
                and hasattr(conv.layer, "torch_conv")
                and conv.inputs == (node.id,)
                and conv.shares is None
                and conv.id not in shared
                and conv.blocks == node.blocks
                and all(p == (0, 0) for p in conv.resolved["pads"])
            ):
                absorbed[conv.id] = pads
                self.skipped.add(node.id)
        return absorbed

    def generate(self) -> str:
        model = self.model
        forward = self.forward()
        cls = class_name(model.name)
        w = self.out
        w.writeline(f'"""PyTorch model `{model.name}`, written by cnndsl.')
        w.blank()
        w.writeline("Tensors are channels first, (N, C, H, W), as PyTorch expects; the comment")
        w.writeline("after each step of forward() gives its shape, N being the batch size.")
        if model.input.layer.conventions == "pytorch":
            w.writeline("Written with PyTorch's defaults (`defaults pytorch`): batch norm's eps and")
            w.writeline("momentum and the flatten order are PyTorch's, so the state of a PyTorch")
            w.writeline("model with the same layers loads in order (cnndsl.port.torch_to_torch).")
        else:
            w.writeline("Padding, pooling, batch norm and flatten follow Keras exactly, so weights")
            w.writeline("copied from the Keras model (cnndsl.port.keras_to_torch) give its outputs.")
        w.writeline('"""')
        w.blank()
        w.writeline("import torch")
        w.writeline("from torch import nn")
        body = "\n".join(forward) + "".join(HELPERS[h] for h in self.helpers)
        body += "\n".join(f"{head}{expr}" for head, expr, _ in self.init)
        if re.search(r"\bF\.", body):
            w.writeline("from torch.nn import functional as F")
        for name in sorted(self.helpers):
            w.blank(2)
            w.lines.extend(HELPERS[name].strip("\n").split("\n"))
        w.blank(2)
        w.writeline(f"class {cls}(nn.Module):")
        w.indent()
        w.writeline("def __init__(self):")
        w.indent()
        w.writeline("super().__init__()")
        for head, expr, comment in self.init:
            w.statement(head, expr, comment=comment)
        w.outdent()
        w.blank()
        w.lines.extend(forward)
        w.outdent()
        w.blank(2)
        w.writeline("def build_model():")
        w.indent()
        w.writeline(f"return {cls}()")
        w.outdent()
        w.blank(2)
        w.writeline('if __name__ == "__main__":')
        w.indent()
        w.writeline("model = build_model().eval()")
        if model.unknown_inputs:
            w.writeline(f"# an axis written `?` takes any size; {EXAMPLE_SIZE} here")
        zeros = [
            Call("torch.zeros", [literal(1), *(literal(d) for d in (shape[-1], *shape[:-1]))])
            for shape in (example_shape(model.nodes[i].shape) for i in model.inputs)
        ]
        w.writeline("with torch.no_grad():")
        w.indent()
        if len(zeros) == 1:
            w.statement("output = model(", zeros[0], ")")
        else:
            w.statement("inputs = ", List(zeros))
            w.writeline("output = model(*inputs)")
        w.outdent()
        if len(model.outputs) == 1:
            w.writeline("print(tuple(output.shape))")
        else:
            w.writeline("print([tuple(each.shape) for each in output])")
        return w.getvalue()

    def _names(self) -> dict[int, str]:
        first = "x" if self.readers()[0] == [1] else "inputs"
        names = self.variables(first, "x")
        for i in sorted(self.skipped):
            names[i] = names[self.model.nodes[i].inputs[0]]
        return names

    def arguments(self) -> list[str]:
        """The names of forward()'s arguments: one per input, in order."""
        names = self._names()
        return [names[i] for i in self.model.inputs]

    def forward(self) -> list[str]:
        model = self.model
        names = self._names()
        w = CodeWriter()
        w.level = 1
        w.writeline(f"def forward(self, {', '.join(names[i] for i in model.inputs)}):")
        w.indent()
        for node in model.layers:
            if node.id in self.skipped:
                continue
            inputs = [names[i] for i in node.inputs]
            step = TorchStep(self, node, inputs)
            steps = node.layer.torch(node, step)
            for text in step.comments:
                w.comment(text)
            var, shape = names[node.id], nchw(node.shape)
            expr = inputs[0]
            for make in steps:
                expr = make(expr)
            if not steps:
                if var == inputs[0]:
                    w.comment(f"{node.name}: identity here {shape}")
                else:
                    w.writeline(f"{var} = {inputs[0]}  # {shape}")
            elif w.fits(f"{var} = ", expr, comment=shape) or len(steps) == 1:
                w.statement(f"{var} = ", expr, comment=shape)
            else:
                current = inputs[0]
                for i, make in enumerate(steps):
                    w.statement(f"{var} = ", make(current), comment=shape if i == len(steps) - 1 else None)
                    current = var
        w.writeline(f"return {', '.join(names[i] for i in model.outputs)}")
        return w.lines
