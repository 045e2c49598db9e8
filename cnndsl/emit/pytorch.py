"""PyTorch code: an `nn.Module` that computes exactly what the Keras model computes.

Layout: each `def` block is an nn.Module class and each call an instance
(a straight run of calls on one line, an nn.Sequential), as torchvision
writes ResNet; calls that differ only in numbers share a class whose
constructor takes them. Outside blocks each layer with weights (or with
train/eval behaviour) is an attribute named after its Keras layer
(`self.conv2d`), so weights can be matched by name (see cnndsl.port); the
model's `forward()` spells out every step with its NCHW shape in a comment.
Weightless steps (padding, activations, merges, flatten) are plain tensor
operations in `forward()`.

Keras semantics kept exactly:
- `same` padding is Keras's (extra pixel after); where it is asymmetric,
  `F.pad` pads explicitly before the layer (with -inf for max pooling).
- average pooling with `same` leaves the padding out of each average.
- BatchNorm momentum is converted (torch = 1 - keras), eps is Keras's.
- Flatten moves channels last first (`x.movedim(1, -1)`), so the values come
  out in Keras's NHWC order and a dense layer's weights port unchanged.
"""

from __future__ import annotations

import functools
import re

from ..core.writer import BUILTINS, BinOp, Call, CodeWriter, Keyword, List, Names, is_free, is_identifier, kw, literal
from ..layers.activation import Activation, ReLU6, module_form
from .target import Target, example_comment, example_shape

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
    "LayerNorm2d": '''
class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an (N, C, H, W) tensor, as torchvision's ConvNeXt
    has it."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
''',
    "Permute": '''
class Permute(nn.Module):
    """Reorders the axes, as torchvision's ops.misc.Permute: [0, 2, 3, 1] moves the
    channels last."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)
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


def numbered(names: Names, base: str) -> str:
    """`relu`, then `relu_1`, `relu_2`, ... as Keras numbers its default names."""
    if base not in names and base not in MODULE_ATTRIBUTES:
        return names.claim(base, unsafe=MODULE_ATTRIBUTES)
    k = 1
    while f"{base}_{k}" in names:
        k += 1
    return names.claim(f"{base}_{k}", unsafe=MODULE_ATTRIBUTES)


def class_name(model_name: str) -> str:
    """`MyNet` for my_net.cnn; a name the module needs (`None`, `F`, `nn`, a builtin) gets `Model` added."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", model_name) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name.isidentifier():
        return "Model"
    return name if is_free(name, TorchTarget.RESERVED) else name + "Model"


def channels_last_runs(model) -> list[list[int]]:
    """Runs of layers on the channels of every position (layer norms and dense layers, two or more, and
    the activations between them), one after the other in one block call: PyTorch moves the tensor
    channels last once before the run and back after it, with Permute modules, as torchvision's
    ConvNeXt block does, and the layers in between take it as it is."""
    from ..layers.activation import Activation, ReLU6
    from ..layers.core import Dense
    from ..layers.norm import LayerNorm

    readers: dict[int, list[int]] = {node.id: [] for node in model.nodes}
    for node in model.nodes:
        for i in node.inputs:
            readers[i].append(node.id)
    shared = {n.shares for n in model.nodes if n.shares is not None}

    def on_channels(node) -> bool:
        if isinstance(node.layer, LayerNorm):
            return len(node.shape) > 1
        if isinstance(node.layer, Dense):
            return len(node.in_shapes[0]) > 1 and "softmax" not in str(node.layer.options.get("activation"))
        return False

    def elementwise(node) -> bool:
        return isinstance(node.layer, (Activation, ReLU6)) and "softmax" not in str(node.layer.function)

    runs, current = [], []

    def close() -> None:
        while current and not on_channels(model.nodes[current[-1]]):
            current.pop()
        if sum(on_channels(model.nodes[i]) for i in current) >= 2:
            runs.append(list(current))
        current.clear()

    for node in model.layers:
        if node.shares is not None or node.id in shared:
            close()
            continue
        if current:
            previous = model.nodes[current[-1]]
            follows = (
                node.inputs == (previous.id,)
                and readers[previous.id] == [node.id]
                and previous.id not in model.outputs
                and [b.id for b in node.blocks] == [b.id for b in previous.blocks]
            )
            if follows and (on_channels(node) or elementwise(node)):
                current.append(node.id)
                continue
            close()
        if on_channels(node):
            current.append(node.id)
    close()
    return runs


class Scope:
    """One nn.Module being written: the model's own, or one call of a `def` block."""

    def __init__(self, call, members: list[int]):
        self.call = call  # the BlockCall, None for the model
        self.members = members  # every node the call made, nested calls' included
        self.items: list = []  # node ids and child scopes, in order
        self.inputs: list[int] = []  # tensors from outside it reads, in order of first use
        self.output: int | None = None  # the one tensor it gives
        self.init: list[tuple[str, object, str | None]] = []
        self.init_owners: list[int] = []  # the node that wrote each statement of `init`
        self.attributes: dict[int, str] = {}  # node id -> attribute, for the nodes directly in it
        self.locals: dict[int, str] = {}  # node id -> its short name in the block's class
        self.expr = None  # how the parent makes it: `Bottleneck(64, 64)`, `nn.Sequential(...)`
        self.forward: list[tuple[str, object, str | None]] = []  # (head, expr, comment); `# ...` alone
        self.arguments: list[str] = []  # forward()'s
        self.expr_is_sequence = False
        self.class_name: str | None = None
        self.extra_names: dict[int, str] = {}  # node id -> its fused activation module's name in the class
        self.sequence: list | None = None  # a chain of modules: the nn.Sequential's modules
        self.places: dict = {}  # in that Sequential: each node or call's index
        self.flat = False  # written as that nn.Sequential
        self.chain = False  # its layers and calls run one after the other

    def first_node(self) -> int:
        item = self.items[0]
        return item if isinstance(item, int) else item.first_node()

    def value(self, item) -> int:
        return item if isinstance(item, int) else item.output



def camel(name: str) -> str:
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Block"


def _leaves(expr, out: list) -> None:
    """The source strings of an expression tree, in order (where numbers may be lifted)."""
    if isinstance(expr, str):
        out.append(expr)
    elif isinstance(expr, Call):
        _leaves(str(expr.func), out)
        for arg in expr.args:
            _leaves(arg, out)
        _leaves(expr.trailer, out)
    elif isinstance(expr, List):
        for item in expr.items:
            _leaves(item, out)
    elif isinstance(expr, BinOp):
        for item in expr.operands:
            _leaves(item, out)
    elif isinstance(expr, Keyword):
        _leaves(expr.name, out)
        _leaves(expr.value, out)
    else:
        out.append(str(expr))


def _rebuild(expr, leaves):
    """`expr` with its source strings taken in order from the iterator `leaves`."""
    if isinstance(expr, str):
        return next(leaves)
    if isinstance(expr, Call):
        func = next(leaves)
        func = expr.func if func == str(expr.func) else func
        return Call(func, [_rebuild(a, leaves) for a in expr.args], next(leaves))
    if isinstance(expr, List):
        return List([_rebuild(i, leaves) for i in expr.items], expr.explode)
    if isinstance(expr, BinOp):
        return BinOp(expr.op, [_rebuild(i, leaves) for i in expr.operands])
    if isinstance(expr, Keyword):
        return Keyword(next(leaves), _rebuild(expr.value, leaves))
    return next(leaves)


_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d*(?:e[-+]?\d+)?|\d+e[-+]?\d+|\.\d+|\d+)(?![\w.])")
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
# Conv arguments PyTorch defaults to: written in a block's class when one call needs them.
_CONV_DEFAULTS = {"stride": "1", "padding": "0", "dilation": "1", "groups": "1"}


@functools.lru_cache(maxsize=4096)  # a block's leaves repeat in every call of it
def _split_numbers(text: str) -> tuple[str, tuple[str, ...]]:
    """`nn.Conv2d(64, 128, kernel_size=3)` -> (`nn.Conv2d(#, #, kernel_size=#)`, ['64', '128', '3']);
    numbers inside strings and names stay."""
    strings = []

    def keep(m):
        strings.append(m.group(0))
        return f"\0S{len(strings) - 1}\0"

    hidden = _STRING.sub(keep, text)
    numbers = _NUMBER.findall(hidden)
    skeleton = _NUMBER.sub(lambda m: "\1", hidden)
    return re.sub("\0S(\\d+)\0", lambda m: strings[int(m.group(1))], skeleton), tuple(numbers)


def _plain_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(text: str):
    return float(text) if any(c in text for c in ".e") else int(text)


def _conv_full(expr):
    """A conv's call with stride, padding, dilation and groups written even at PyTorch's defaults,
    so calls of one block that differ only there compare equal."""
    if isinstance(expr, Call) and str(expr.func).startswith("nn.Conv"):
        args = list(expr.args)
        given = {a.split("=", 1)[0] for a in args if isinstance(a, str) and "=" in a}
        place = next((i + 1 for i, a in enumerate(args) if isinstance(a, str) and a.startswith("kernel_size=")), None)
        if place is None:
            return expr
        for name, default in _CONV_DEFAULTS.items():
            if name in given:
                place = next(i + 1 for i, a in enumerate(args) if isinstance(a, str) and a.startswith(name + "="))
            else:
                args.insert(place, f"{name}={default}")
                place += 1
        return Call(expr.func, args, expr.trailer)
    if isinstance(expr, Call):
        return Call(expr.func, [_conv_full(a) for a in expr.args], expr.trailer)
    if isinstance(expr, List):
        return List([_conv_full(item) for item in expr.items], expr.explode)
    return expr


def _conv_trim(expr):
    """Leave out again the conv arguments still at PyTorch's defaults."""
    if isinstance(expr, Call):
        args = [_conv_trim(a) for a in expr.args]
        if str(expr.func).startswith("nn.Conv"):
            args = [a for a in args if not (isinstance(a, str) and a in {f"{k}={v}" for k, v in _CONV_DEFAULTS.items()})]
        return Call(expr.func, args, expr.trailer)
    if isinstance(expr, List):
        return List([_conv_trim(item) for item in expr.items], expr.explode)
    return expr


class TorchStep:
    """What a layer kind sees while writing its PyTorch code for one node."""

    def __init__(self, target: TorchTarget, node, inputs: list[str], scope: Scope | None = None):
        self.target = target
        self.node = node
        self.inputs = inputs
        self.scope = scope if scope is not None else target.root
        self.comments: list[str] = []
        # the layer works on a tensor moved channels last, as Keras has it (see channels_last_runs)
        self.channels_last = node.id in target.channels_last

    def module(self, expr, ahead: bool = False) -> str:
        """Make `expr` an attribute of the module being written (the model's, or its block's), named
        after the layer; its `self.` name.

        A layer used again is the same attribute: the module (and its weights) is shared.
        `ahead` sets it before every other module of the innermost block call that made
        the layer, where a PyTorch module written as that block registers its own
        parameters (before its submodules'), so its state comes in that order.
        """
        attr = self.scope.attributes[self.node.id]
        if self.node.shares is None:
            self._add((f"self.{attr} = ", expr, None), ahead)
        return f"self.{attr}"

    def init(self, head: str, expr, comment: str | None = None) -> None:
        """One more statement `head + expr` in `__init__`, after the layer's own attribute."""
        if self.node.shares is None:
            self._add((head, expr, comment), False)

    def _add(self, statement, ahead: bool) -> None:
        scope = self.scope
        place = len(scope.init)
        if ahead and self.node.blocks:
            # the call's layers come just before this one: walk back over them, not over the whole model
            call, nodes = self.node.blocks[-1].id, self.target.model.nodes
            while place and any(b.id == call for b in nodes[scope.init_owners[place - 1]].blocks):
                place -= 1
        scope.init.insert(place, statement)
        scope.init_owners.insert(place, self.node.id)

    def extra_module(self, base: str, expr) -> str:
        """One more module of the layer, after its own (a fused activation's `nn.ReLU`); its `self.` name.
        A shared layer's later uses call the first use's."""
        extras = self.target.extras
        if self.node.shares is not None:
            return f"self.{extras[self.node.shares]}"
        scope = self.scope
        attr = scope.extra_names.get(self.node.id) if scope.call is not None else None
        if attr is None:
            attr = numbered(scope.taken, base)
        extras[self.node.id] = attr
        self._add((f"self.{attr} = ", expr, None), False)
        return f"self.{attr}"

    def input_is_fresh(self) -> bool:
        """Whether the layer's input is a tensor only it reads, made by a layer that writes a new one:
        an activation may then work in place (`nn.ReLU(inplace=True)`)."""
        model, node = self.target.model, self.node
        if len(node.inputs) != 1 or node.shares is not None:
            return False
        source = node.inputs[0]
        producer = model.nodes[source]
        return (
            source not in model.inputs
            and source not in model.outputs
            and source not in self.target.skipped
            and self.target.readers()[source] == [node.id]
            and producer.shares is None
            and bool(producer.info.params or producer.layer.MERGE)
        )

    def helper(self, name: str) -> str:
        self.target.helpers.add(name)
        return name

    def comment(self, text: str) -> None:
        self.comments.append(text)


# Markers in a forward's statements: the layers between them run only in training mode.
TRAINING, END_TRAINING = object(), object()


class TorchTarget(Target):
    NAMES = ("pytorch", "torch")
    TITLE = "PyTorch"
    RESERVED = ("torch", "nn", "F", "OrderedDict", "self", "x", "out", "inputs", "build_model", "super", *HELPERS)
    # built once: a model of 16,000 block calls makes two sets of names per call
    SCOPE_RESERVED = frozenset((*BUILTINS, *RESERVED))
    LOCAL_RESERVED = SCOPE_RESERVED | MODULE_ATTRIBUTES

    def __init__(self, model):
        super().__init__(model)
        self.helpers: set[str] = set()
        self.extras: dict[int, str] = {}  # node id -> the attribute of its fused activation's module
        self.skipped: set[int] = set()  # nodes written as part of the next one (a pad as a conv's `padding=`)
        self.ordered = False  # whether the code builds an nn.Sequential from an OrderedDict
        self.flatten_modules: set[int] = set()  # flattens written as nn.Flatten, in an nn.Sequential
        self.names = Names()
        self.attributes = {}
        for node in model.layers:
            if node.shares is not None:
                self.attributes[node.id] = self.attributes[node.shares]
                continue
            attr = attribute_name(node.name)
            self.attributes[node.id] = self.names.claim(attr, unsafe=MODULE_ATTRIBUTES)
        self.absorbed_pads = self.padding_into_convs()
        runs = channels_last_runs(model)
        self.channels_last = {i for run in runs for i in run}
        self.run_starts = {run[0]: run for run in runs}
        self.run_ends = {run[-1] for run in runs}
        self.classes: list[tuple[str, list[str], Scope]] = []  # (class name, its parameters, a call it writes)
        self.class_names = Names((*BUILTINS, *self.RESERVED, class_name(model.name)))
        self.root = self.scopes()
        self.root.attributes = self.attributes
        self.paths: dict[int, str] = {}  # node id -> its module's dotted path in the model (state_dict keys)
        self.containers: dict[int, tuple] = {}  # node id -> the block modules it runs in, outermost first
        self.write_scopes()

    @property
    def init(self):
        return self.root.init

    def padding_into_convs(self) -> dict[int, tuple]:
        """conv id -> the pads of a symmetric zero padding written just before it (`conv ... pad 1`),
        which PyTorch writes as the conv's own `padding=1`, as torchvision does."""
        from ..layers.conv import _Convolution
        from ..layers.pool import AvgPool
        from ..layers.resize import ZeroPad

        model, readers = self.model, self.readers()
        shared = {n.shares for n in model.nodes if n.shares is not None}
        absorbed = {}
        for node in model.layers:
            if isinstance(node.layer, AvgPool) and "torch_padding" in node.resolved:
                # `avgpool ... pad P`: its own zeropad, read by it alone, copied with it by `reuse`
                (pad,) = node.inputs
                absorbed[node.id] = model.nodes[pad].resolved["pads"]
                self.skipped.add(pad)
                continue
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
                and "pads" in conv.resolved  # a transposed conv's padding crops: a zeropad before it stays
                and all(p == (0, 0) for p in conv.resolved["pads"])
            ):
                absorbed[conv.id] = pads
                self.skipped.add(node.id)
        return absorbed

    def permute(self, step: TorchStep, dims: list[int]) -> str:
        """A Permute module of the module being written, before or after a channels-last run; its `self.` name."""
        attr = numbered(step.scope.taken, "permute")
        step._add((f"self.{attr} = ", Call(step.helper("Permute"), [List(dims)]), None), False)
        return f"self.{attr}"

    # Blocks: a class per `def`, an instance per call.

    def scopes(self) -> Scope:
        """The tree of modules: the model's, holding its layers and one child per block call that can
        be a module of its own (one tensor out, its layers not shared with any outside it)."""
        model, readers = self.model, self.readers()
        members: dict[int, list[int]] = {}
        calls = {}
        for node in model.layers:
            for call in node.blocks:
                members.setdefault(call.id, []).append(node.id)
                calls[call.id] = call
        shared = {n.shares for n in model.nodes if n.shares is not None} | {
            n.id for n in model.nodes if n.shares is not None
        }
        refused = set()
        for cid, ids in members.items():
            inside = set(ids)
            outs = [i for i in ids if i in model.outputs or any(r not in inside for r in readers[i])]
            reads = [i for n in ids for i in model.nodes[n].inputs if i not in inside]
            if (
                outs != [ids[-1]]
                or not reads
                or ids != list(range(ids[0], ids[-1] + 1))
                or inside & shared
            ):
                refused.add(calls[cid].name)
        root = Scope(None, [n.id for n in model.layers])
        if not self.keras_order_kept():
            root.items = [n.id for n in model.layers]
            return root
        made: dict[int, Scope] = {}
        for node in model.layers:
            scope = root
            for call in node.blocks:
                if call.name in refused:
                    continue
                child = made.get(call.id)
                if child is None:
                    child = made[call.id] = Scope(call, members[call.id])
                    scope.items.append(child)
                scope = child
            scope.items.append(node.id)
        for scope in made.values():
            inside = set(scope.members)
            scope.inputs = list(
                dict.fromkeys(i for n in scope.members for i in model.nodes[n].inputs if i not in inside)
            )
            scope.output = scope.members[-1]
        return root

    def keras_order_kept(self) -> bool:
        """Whether Keras's graph, walked from the outputs (each layer after its inputs, in order), meets
        the layers with weights in the order the model made them: how cnndsl.port finds the module
        of each Keras layer when the layers are in block modules."""
        model = self.model
        order, done = [], set()
        stack = [(i, False) for i in reversed(model.outputs)]
        while stack:
            i, expanded = stack.pop()
            if i in done:
                continue
            if expanded:
                done.add(i)
                node = model.nodes[i]
                first = node.id if node.shares is None else node.shares
                if node.info.params and first not in order:
                    order.append(first)
                continue
            stack.append((i, True))
            stack.extend((j, False) for j in reversed(model.nodes[i].inputs) if j not in done)
        made = [n.id for n in model.layers if n.info.params and n.shares is None]
        return order == made

    def write_scopes(self) -> None:
        """Every block's class (the calls of one `def` that differ only in numbers share one, the
        numbers its parameters), then the model's own module."""
        scopes: list[Scope] = []
        heights: dict[int, int] = {}  # by id(scope): each worked out once, from its children's

        def walk(scope) -> int:
            height = 1
            for item in scope.items:
                if isinstance(item, Scope):
                    height = max(height, 1 + walk(item))
                    scopes.append(item)
            heights[id(scope)] = height
            return height

        walk(self.root)
        by_def: dict[str, list[Scope]] = {}
        for scope in scopes:
            by_def.setdefault(scope.call.name, []).append(scope)
        for name in sorted(by_def, key=lambda n: max(heights[id(s)] for s in by_def[n])):
            calls = by_def[name]
            for scope in calls:
                self.write_scope(scope)
            self.unify(name, calls)
        self.write_scope(self.root)
        self.fill_paths(self.root, "")

    def fill_paths(self, scope: Scope, prefix: str, chain: tuple = ()) -> None:
        """Each node's module path, and the containers it runs in: (path, class, the node they end at)."""
        for node_id, attr in scope.attributes.items():
            if node_id in scope.direct:
                self.paths[node_id] = prefix + attr
                self.containers[node_id] = chain
        for child, path in scope.child_paths.items():
            inner = chain
            if "." in path:  # in a run of calls: an nn.Sequential
                run = path.rpartition(".")[0]
                inner = (*chain, (prefix + run, "Sequential", scope.run_outputs[run]))
            self.place(child, prefix + path, inner)

    def place(self, scope: Scope, path: str, chain: tuple) -> None:
        """A block call's module at `path`."""
        if scope.class_name is not None:
            self.fill_paths(scope, path + ".", (*chain, (path, scope.class_name, scope.output)))
        elif scope.flat:
            inner = (*chain, (path, "Sequential", scope.output))  # its layers and calls by index
            for item, k in scope.places.items():
                if isinstance(item, Scope):
                    self.place(item, f"{path}.{k}", inner)
                else:
                    self.paths[item] = f"{path}.{k}"
                    self.containers[item] = inner
        elif scope.expr_is_sequence:  # an nn.Sequential of the calls it makes
            for child, inner in scope.child_paths.items():
                self.place(child, path + "." + inner.partition(".")[2], (*chain, (path, "Sequential", scope.output)))
        else:  # one call: that call's module
            for child in scope.child_paths:
                self.place(child, path, chain)

    def local_names(self, scope: Scope) -> None:
        """Short names in a block's class, the same in every call: `conv1`, `bn1`, `relu`, ..."""
        model = self.model
        direct = [i for i in scope.items if isinstance(i, int)]
        bases = []  # (node, its own name or its fused activation's, base), in the order they are made
        for i in direct:
            layer = model.nodes[i].layer
            module = module_form(layer.function, layer.conventions) if isinstance(layer, (Activation, ReLU6)) else None
            base = module[0].lower() if module else layer.KEYWORDS[0]
            bases.append((i, False, {"dense": "fc", "layerscale": "layer_scale"}.get(base, base)))
            fused = module_form(layer.options.get("activation"), layer.conventions)
            if fused is not None:
                bases.append((i, True, fused[0].lower()))
        # a label in the block's body names the layer in every call, as torchvision names them
        labels = {i: model.nodes[i].label for i in direct if model.nodes[i].label and model.nodes[i].shares is None}
        # (not `__x`: in a class body Python renames it `_Block__x`, and `__dict__` is the module's own)
        labels = {
            i: label
            for i, label in labels.items()
            if is_identifier(label) and label not in MODULE_ATTRIBUTES and not label.startswith("__")
        }
        counts: dict[str, int] = {}
        for i, _, base in bases:
            if i not in labels:
                counts[base] = counts.get(base, 0) + 1
        seen: dict[str, int] = {}
        taken = Names(self.LOCAL_RESERVED)
        for label in labels.values():
            taken.add(label)
        scope.extra_names = {}
        for i, extra, base in bases:
            if i in labels:  # its fused activation: `squeeze_activation`, as torchvision's Fire has it
                name = labels[i] if not extra else taken.claim(f"{labels[i]}_activation")
                (scope.extra_names if extra else scope.locals)[i] = name
                continue
            seen[base] = seen.get(base, 0) + 1
            name = taken.claim(base if counts[base] == 1 else f"{base}{seen[base]}")
            if extra:
                scope.extra_names[i] = name
            else:
                scope.locals[i] = name
        scope.attributes = dict(scope.locals)
        scope.taken = taken

    def runs(self, scope: Scope, readers: dict[int, list]) -> list[list]:
        """The scope's items, a straight run of block calls on one line grouped (an nn.Sequential)."""
        groups: list[list] = []
        for item in scope.items:
            last = groups[-1][-1] if groups else None
            if (
                isinstance(item, Scope)
                and isinstance(last, Scope)
                and item.inputs == [last.output]
                and readers[last.output] == [item]
                and item.call.span.line == last.call.span.line
                and not item.call.label  # a labelled call is an attribute of its own
                and not last.call.label
            ):
                groups[-1].append(item)
            else:
                groups.append([item])
        return groups

    def write_scope(self, scope: Scope) -> None:
        """`__init__` and `forward` of one module, as statements; numbers not yet lifted."""
        model = self.model
        is_root = scope.call is None
        if not is_root:
            self.local_names(scope)
        else:
            scope.taken = self.names
        scope.direct = {i for i in scope.items if isinstance(i, int)}
        scope.child_paths = {}
        scope.run_outputs = {}
        # who reads each tensor, by item
        readers: dict[int, list] = {}
        for item in scope.items:
            reads = model.nodes[item].inputs if isinstance(item, int) else item.inputs
            for t in reads:
                readers.setdefault(t, []).append(item)
        outputs = list(model.outputs) if is_root else [scope.output]
        ins = list(model.inputs) if is_root else scope.inputs
        chain_only = scope.chain = not is_root and self.is_chain(scope, readers)
        groups = [[item] for item in scope.items] if chain_only else self.runs(scope, readers)
        # variables
        taken = Names(self.SCOPE_RESERVED)
        names: dict[int, str] = {}
        chain = "x"
        if is_root:
            first = "x" if self.readers()[0] == [1] else "inputs"
            for i in ins:
                names[i] = first if len(ins) == 1 else taken.claim(model.nodes[i].name)
        else:
            for i in ins:
                names[i] = "x" if len(ins) == 1 else taken.claim(f"x{len(names) + 1}")
            if len(ins) == 1 and len(readers.get(ins[0], [])) > 1:
                chain = "out"
        scope.arguments = [names[i] for i in ins]
        steps = []
        for k, group in enumerate(groups):
            out = scope.value(group[-1])
            nxt = groups[k + 1][0] if k + 1 < len(groups) else None
            own = scope.locals.get(out) if isinstance(group[-1], int) and not is_root else None
            label = own or (
                group[-1].call.label or group[-1].call.name if isinstance(group[-1], Scope) else model.nodes[out].name
            )
            if out in self.skipped:
                names[out] = names[model.nodes[out].inputs[0]]
            elif is_root and out == model.output and len(outputs) == 1:
                names[out] = "x"
            elif not is_root and out == scope.output and not readers.get(out):
                names[out] = chain
            elif readers.get(out) == [nxt] and nxt is not None and out not in outputs:
                names[out] = chain
            else:
                names[out] = taken.claim(label)
            steps.append((group, out))
        w = scope.forward
        guarded = False  # inside `if self.training:`, for the layers only training-only outputs read
        for group, out in steps:
            item = group[0]
            if is_root and (out in model.training_only) != guarded and not (
                isinstance(item, int) and item in self.skipped
            ):
                w.append((TRAINING, None, None) if not guarded else (END_TRAINING, None, None))
                guarded = not guarded
            if isinstance(item, Scope):
                attr = self.child_attribute(scope, group)
                args = ", ".join(names[i] for i in item.inputs)
                comment = nchw(model.nodes[out].shape) if is_root else None
                w.append((f"{names[out]} = ", f"self.{attr}({args})", comment))
                continue
            node = model.nodes[item]
            if item in self.skipped:
                continue
            inputs = [names[i] for i in node.inputs]
            step = TorchStep(self, node, inputs, scope)
            rank = len(node.shape)
            if item in self.run_starts:
                before = self.permute(step, [0, *range(2, rank + 1), 1])
            made = node.layer.torch(node, step)
            if item in self.run_starts:
                made = [lambda x, before=before: Call(before, [x]), *made]
            if item in self.run_ends:
                after = self.permute(step, [0, rank, *range(1, rank)])
                made = [*made, lambda x, after=after: Call(after, [x])]
            for text in step.comments:
                w.append((None, text, None))
            var = names[item]
            shape = nchw(node.shape) if is_root else None
            if shape and item in self.channels_last and item not in self.run_ends:
                shape = "(" + ", ".join(map(str, ("N", *node.shape))) + ")"
            expr = inputs[0]
            for make in made:
                expr = make(expr)
            if not made:
                if var == inputs[0]:
                    w.append((None, f"{node.name if is_root else scope.locals[item]}: identity here"
                              + (f" {shape}" if shape else ""), None))
                else:
                    w.append((f"{var} = ", inputs[0], shape))
            elif len(made) == 1 or CodeWriter().fits(f"        {var} = ", expr, comment=shape):
                w.append((f"{var} = ", expr, shape))
            else:
                current = inputs[0]
                for i, make in enumerate(made):
                    w.append((f"{var} = ", make(current), shape if i == len(made) - 1 else None))
                    current = var
        if guarded:
            w.append((END_TRAINING, None, None))
        if is_root and model.training_outputs:  # torchvision's convention: the auxiliary outputs only in training
            w.append((TRAINING, None, None))
            w.append(("return ", ", ".join(names[i] for i in outputs), None))
            w.append((END_TRAINING, None, None))
            outputs = [i for i in outputs if i not in model.training_outputs]
        w.append(("return ", ", ".join(names[i] for i in outputs), None))
        if chain_only:
            self.as_sequence(scope)

    def is_chain(self, scope: Scope, readers: dict[int, list]) -> bool:
        """Whether a block's layers and calls run one after the other, each reading only the one before."""
        if len(scope.inputs) != 1:
            return False
        previous = scope.inputs[0]
        for item in scope.items:
            reads = self.model.nodes[item].inputs if isinstance(item, int) else item.inputs
            if list(reads) != [previous] or readers.get(previous) != [item]:
                return False
            previous = scope.value(item)
        return True

    def as_sequence(self, scope: Scope) -> None:
        """A chain whose every step is one module called on the step before's output is an
        nn.Sequential of those modules, as torchvision writes `downsample` (its state_dict keys
        `downsample.0.weight`, ...); `scope.sequence` is set to them, and each item's index."""
        model = self.model
        if any(item.call.label if isinstance(item, Scope) else model.nodes[item].label for item in scope.items):
            return  # a label names an attribute of the block's class
        called = []
        # a flatten between modules is one too, nn.Flatten(1), as torchvision's ConvNeXt classifier has it
        from ..layers.core import Flatten

        flattens = iter(i for i in scope.items if isinstance(i, int) and isinstance(model.nodes[i].layer, Flatten))
        modules = {}  # the name in `called` of each flatten made a module -> its node
        for head, expr, _ in scope.forward[:-1]:
            if head is None:
                return
            text, outer = str(expr), []
            if re.fullmatch(r"torch\.flatten\(\w+, 1\)", text):
                node = next(flattens, None)
                if node is None:
                    return
                modules[f"\0{node}"] = node
                called.append(f"\0{node}")
                continue
            while (found := re.fullmatch(r"self\.(\w+)\((.*)\)", text)) is not None:
                outer.append(found.group(1))  # `self.relu(self.conv(x))`: the conv, then the relu
                text = found.group(2)
            if not outer or not text.isidentifier():
                return
            called.extend(reversed(outer))
        made = [re.fullmatch(r"self\.(\w+) = ", head or "") for head, _, _ in scope.init]
        own = [attr for attr in called if attr not in modules]
        if None in made or [m.group(1) for m in made] != own or len(set(called)) != len(called) or not own:
            return
        exprs = [expr for _, expr, _ in scope.init]
        if len(exprs) == 2 and all(str(e.func if isinstance(e, Call) else e).startswith("nn.Conv") for e in exprs) and "groups=" in str(exprs[0]):
            return  # cnndsl.port reads a Sequential of a grouped conv and a conv as a separable conv
        by_attr = dict(zip(own, exprs))
        exprs = [Call("nn.Flatten", [literal(1)]) if attr in modules else by_attr[attr] for attr in called]
        self.flatten_modules.update(modules.values())
        index = {attr: k for k, attr in enumerate(called)}
        places = {node: index[attr] for attr, node in modules.items()}
        places.update({node: index[attr] for node, attr in scope.locals.items() if attr in index})
        places.update({child: index[attr] for child, attr in scope.child_paths.items() if attr in index})
        scope.sequence, scope.places = exprs, places

    def child_attribute(self, scope: Scope, group: list) -> str:
        """The attribute holding a block call (or a run of them): `layer1`, `bottleneck`."""
        stage = group[0].flat and all(isinstance(item, Scope) for item in group[0].places)  # a run of calls
        label = group[0].call.label if len(group) == 1 else None
        inside = set(group[0].members)
        if label and label.isidentifier() and label not in MODULE_ATTRIBUTES and all(
            node in inside for node, attr in scope.attributes.items() if attr == label
        ):  # the call's label (its last layer's name, which the call's module holds) names the call
            scope.taken.add(label)
            attr = label
        elif label:
            attr = scope.taken.claim(label, unsafe=MODULE_ATTRIBUTES)
        elif len(group) > 1 or group[0].expr_is_sequence or stage:
            scope.sequences = getattr(scope, "sequences", 0) + 1
            attr = scope.taken.claim(f"layer{scope.sequences}", unsafe=MODULE_ATTRIBUTES)
        else:
            attr = scope.taken.claim(group[0].call.label or group[0].call.name, unsafe=MODULE_ATTRIBUTES)
        expr = group[0].expr if len(group) == 1 else Call("nn.Sequential", [g.expr for g in group])
        scope.init.append((f"self.{attr} = ", expr, None))
        scope.init_owners.append(group[0].first_node())
        if len(group) == 1:
            scope.child_paths[group[0]] = attr
        else:
            scope.run_outputs[attr] = group[-1].output
            for i, g in enumerate(group):
                scope.child_paths[g] = f"{attr}.{i}"
        return attr

    def unify(self, name: str, calls: list[Scope]) -> None:
        """One class for the calls of `def name` whose code differs only in numbers; those numbers
        become its constructor's parameters, named after the block's own where they match."""
        # Calls that are each labelled, one after the other: an nn.Sequential of an OrderedDict, its keys
        # the labels, as torchvision writes RegNet's BottleneckTransform (`a`, `b`, `se`, `c`) and names
        # its blocks `block1-0` (not a Python name). Where every call has the same keys, a class of
        # its own (an nn.Sequential subclass, as torchvision's); otherwise the nn.Sequential, in place.
        keyed = [
            scope
            for scope in calls
            if scope.chain and all(isinstance(i, Scope) and i.call.label for i in scope.items)
        ]
        same_keys = len(keyed) == len(calls) and len({tuple(i.call.label for i in s.items) for s in keyed}) == 1
        for scope in keyed:
            pairs = [Call("", [literal(i.call.label), i.expr]) for i in scope.items]
            ordered = Call("OrderedDict", [List(pairs)])
            self.ordered = True
            if same_keys:
                scope.init, scope.forward = [("", Call("super().__init__", [ordered]), None)], []
                scope.child_paths = {i: i.call.label for i in scope.items}
            else:
                scope.expr = Call("nn.Sequential", [ordered])
                scope.child_paths = {i: f"layers.{i.call.label}" for i in scope.items}
                scope.expr_is_sequence, scope.class_name = True, None
        # a block that only calls blocks, one after the other: an nn.Sequential of them
        for scope in calls:
            if scope in keyed:
                continue
            if (
                all(isinstance(i, Scope) and not i.call.label for i in scope.items)  # a label keeps its attribute
                and len(scope.init) == 1
                and len(scope.forward) == 2
            ):
                scope.expr = scope.init[0][1]
                scope.expr_is_sequence = any("." in path for path in scope.child_paths.values())
                scope.class_name = None
            elif scope.sequence is not None:  # a chain of modules: an nn.Sequential of them
                scope.expr = Call("nn.Sequential", list(scope.sequence))
                scope.class_name, scope.flat = None, True
        # one kind of module per def: where one call is an nn.Sequential of calls, a call that makes
        # one is an nn.Sequential of one (torchvision's MNASNet stage of a single block)
        if any(
            scope.expr_is_sequence or (scope.flat and all(isinstance(item, Scope) for item in scope.places))
            for scope in calls
        ):
            for scope in calls:
                if scope.expr is not None and scope.class_name is None and not scope.expr_is_sequence and not scope.flat:
                    [child] = scope.child_paths  # the one call it makes
                    scope.expr = Call("nn.Sequential", [scope.expr])
                    scope.child_paths[child] = "layer.0"
                    scope.expr_is_sequence = True
        pending = [s for s in calls if s.expr is None]
        groups: list[tuple[str, list, list[Scope]]] = []  # (skeleton, statements, calls)
        for scope in pending:
            statements = [(h, _conv_full(e), c) for h, e, c in scope.init] + [None] + list(scope.forward)
            leaves: list[str] = []
            for s in statements:
                if s is not None:
                    _leaves(s[1], leaves)
            split = [_split_numbers(t) for t in leaves]
            skeleton = repr(([s and (s[0], s[2]) for s in statements], [a for a, _ in split]))
            numbers = [n for _, ns in split for n in ns]
            for group in groups:
                if group[0] == skeleton:
                    group[2].append((scope, numbers))
                    break
            else:
                groups.append((skeleton, statements, [(scope, numbers)]))
        base = camel(name)
        for k, (_, statements, members) in enumerate(groups):
            cls = self.class_names.claim(base if k == 0 else f"{base}{k + 1}")
            first = members[0][0]
            count = len(members[0][1])
            varying = [j for j in range(count) if len({m[1][j] for m in members}) > 1]
            params: list[str] = []
            values: dict[str, list] = {}
            replace: dict[int, str] = {}
            by_values: dict[tuple, str] = {}
            unsafe = {*BUILTINS, *self.RESERVED, *MODULE_ATTRIBUTES, "in_channels", *first.locals.values()}
            def_params = [  # a number in every call: one that is a size (`3` here, `1x1` there) names no number
                p
                for p, _ in first.call.args
                if p not in unsafe
                and not p.startswith("n")
                and all(_plain_number(dict(m[0].call.args).get(p)) for m in members)
            ]
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
                        break
                if text is None:
                    for p in def_params:
                        mine = tuple(dict(m[0].call.args)[p] for m in members)
                        if not all(isinstance(v, int) and not isinstance(v, bool) for v in mine):
                            continue  # `blk(3)` and `blk(1x1)`: one parameter, an int in one call and a shape in another
                        for f in (2, 3, 4, 6, 8):
                            if tuple(v * f for v in mine) == seen:
                                text = f"{p} * {f}"
                            elif all(v % f == 0 for v in mine) and tuple(v // f for v in mine) == seen:
                                text = f"{p} // {f}"
                            if text:
                                break
                        if text:
                            break
                if text is None:  # a kernel's half, rounded down: a conv's `padding=k // 2`
                    for p in def_params:
                        mine = tuple(dict(m[0].call.args)[p] for m in members)
                        if all(isinstance(v, int) for v in mine) and tuple(v // 2 for v in mine) == seen:
                            text = f"{p} // 2"
                            break
                if text is None:
                    channels = tuple(self.model.nodes[m[0].inputs[0]].shape[-1] for m in members)
                    if channels == seen:
                        text = "in_channels"
                if text is None:
                    text = f"n{len(values) + 1}"
                    values[text] = [m[1][j] for m in members]
                by_values[seen] = text
                replace[j] = text
            where = {text: j for j, text in sorted(replace.items(), reverse=True)}
            used = set()
            for text in replace.values():
                used.update(re.findall(r"[A-Za-z_]\w*", text))
            order = (["in_channels"] if "in_channels" in used else []) + [p for p in def_params if p in used]
            order += [p for p in values if p in used]
            params = order
            # the class's statements, from the first call's, its varying numbers named
            counter = iter(range(count))
            lifted = []
            for s in statements:
                if s is None:
                    lifted.append(None)
                    continue
                leaves = []
                _leaves(s[1], leaves)
                new = []
                for leaf in leaves:
                    skeleton, nums = _split_numbers(leaf)
                    parts = skeleton.split("\1")
                    text = parts[0]
                    for num, rest in zip(nums, parts[1:]):
                        j = next(counter)
                        text += replace.get(j, num) + rest
                    new.append(text)
                lifted.append((s[0], _conv_trim(_rebuild(s[1], iter(new))), s[2]))
            split = lifted.index(None)
            in_forward = set()
            for k2 in range(split + 1, len(lifted)):
                head, expr, comment = lifted[k2]
                if head is None:
                    continue
                leaves = []
                _leaves(expr, leaves)
                for p in params:
                    if any(re.search(rf"(?<![\w.]){p}\b", leaf) for leaf in leaves):
                        in_forward.add(p)
                leaves = [re.sub(rf"(?<![\w.])({'|'.join(params)})\b", r"self.\1", leaf) for leaf in leaves] if params else leaves
                lifted[k2] = (head, _rebuild(expr, iter(leaves)), comment)
            for p in sorted(in_forward, key=params.index):
                lifted.insert(split, (f"self.{p} = ", p, None))
                split += 1
            self.classes.append((cls, params, lifted, list(first.arguments)))
            for scope, numbers in members:
                args = []
                for p in params:
                    if p == "in_channels":
                        args.append(str(self.model.nodes[scope.inputs[0]].shape[-1]))
                    elif p in values:
                        args.append(values[p][members.index((scope, numbers))])
                    elif p in where:
                        args.append(numbers[where[p]])  # as the code writes it: 8, not 8.0
                    else:
                        value = dict(scope.call.args)[p]
                        args.append(literal(int(value) if isinstance(value, float) and value.is_integer() else value))
                scope.expr = Call(cls, args)
                scope.class_name = cls
                scope.expr_is_sequence = False

    def arguments(self) -> list[str]:
        """The names of forward()'s arguments: one per input, in order."""
        return list(self.root.arguments)

    def write_statements(self, w: CodeWriter, statements) -> None:
        for head, expr, comment in statements:
            if head is TRAINING:
                w.writeline("if self.training:")
                w.indent()
            elif head is END_TRAINING:
                w.outdent()
            elif head is None:
                w.comment(expr)
            else:
                w.statement(head, expr, comment=comment)

    def generate(self) -> str:
        model = self.model
        cls = class_name(model.name)
        w = self.out
        w.writeline(f'"""PyTorch model `{model.name}`, written by cnndsl.')
        w.blank()
        w.writeline("Tensors are channels first, (N, C, H, W), as PyTorch expects; the comment")
        if self.classes:
            w.writeline("after each step of the model's forward() gives its shape, N being the batch size.")
            w.writeline("Each block of the .cnn file is a module class; each call of it, an instance.")
        else:
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
        if self.ordered:
            w.writeline("from collections import OrderedDict")
            w.blank()
        w.writeline("import torch")
        w.writeline("from torch import nn")
        scratch = CodeWriter()
        for _, _, statements, _ in self.classes:
            self.write_statements(scratch, [s for s in statements if s is not None])
        self.write_statements(scratch, self.root.init + self.root.forward)
        body = "\n".join(scratch.lines) + "".join(HELPERS[h] for h in self.helpers)
        if re.search(r"\bF\.", body):
            w.writeline("from torch.nn import functional as F")
        for name in sorted(self.helpers):
            w.blank(2)
            w.lines.extend(HELPERS[name].strip("\n").split("\n"))
        for name, params, statements, arguments in self.classes:
            split = statements.index(None)
            self.write_class(name, params, statements[:split], statements[split + 1 :], arguments)
        self.write_class(cls, [], self.root.init, self.root.forward, self.root.arguments)
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
            w.writeline(example_comment(model))
        zeros = [
            Call(
                "torch.zeros",
                [literal(1), *(literal(d) for d in (shape[-1], *shape[:-1]))]
                + ([kw("dtype", "torch.long")] if ids else []),  # token ids, for nn.Embedding
            )
            for shape, ids in (
                (example_shape(model, model.nodes[i]), model.nodes[i].resolved.get("integers")) for i in model.inputs
            )
        ]
        w.writeline("with torch.no_grad():")
        w.indent()
        if len(zeros) == 1:
            w.statement("output = model(", zeros[0], ")")
        else:
            w.statement("inputs = ", List(zeros))
            w.writeline("output = model(*inputs)")
        w.outdent()
        if len(model.outputs) - len(model.training_outputs) == 1:  # eval mode: no training-only outputs
            w.writeline("print(tuple(output.shape))")
        else:
            w.writeline("print([tuple(each.shape) for each in output])")
        return w.getvalue()

    def write_class(self, name: str, params: list[str], init, forward, arguments: list[str]) -> None:
        """A module class; one without a forward is an nn.Sequential its `__init__` fills."""
        w = self.out
        w.blank(2)
        w.writeline(f"class {name}({'nn.Module' if forward else 'nn.Sequential'}):")
        w.indent()
        w.writeline(f"def __init__({', '.join(['self', *params])}):")
        w.indent()
        if forward:
            w.writeline("super().__init__()")
        self.write_statements(w, init)
        w.outdent()
        if not forward:
            w.outdent()
            return
        w.blank()
        w.writeline(f"def forward(self, {', '.join(arguments)}):")
        w.indent()
        self.write_statements(w, forward)
        w.outdent()
        w.outdent()
