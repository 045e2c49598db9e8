"""Activations: standalone layers (`relu`) and the fused `act` of conv and dense."""

from __future__ import annotations

from .base import (
    REGISTRY,
    Arg,
    Call,
    Choice,
    FloatType,
    Inferred,
    LayerKind,
    TorchModule,
    channels_first,
    kw,
    literal,
    prod,
)

# keyword -> Keras activation name. Each has an exact PyTorch twin (see emit).
ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu6",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "swish": "swish",
    "silu": "silu",
    "gelu": "gelu",
    "elu": "elu",
    "selu": "selu",
    "softplus": "softplus",
    "softsign": "softsign",
    "hardsigmoid": "hard_sigmoid",
    "hardswish": "hard_swish",
    "leakyrelu": "leaky_relu",
    "mish": "mish",
    "linear": "linear",
}
ALIASES = {
    "hard_sigmoid": "hardsigmoid",
    "hard_swish": "hardswish",
    "hard_silu": "hardswish",
    "leaky_relu": "leakyrelu",
}

# Keywords that name one function under two names: Keras's swish is its silu (x * sigmoid(x)), and both emit F.silu.
SAME_FUNCTION = {"swish": "silu"}


# keyword -> the exact PyTorch function (Keras's activation functions' defaults: leaky_relu's slope 0.2, exact gelu).
TORCH = {
    "relu": "F.relu",
    "relu6": "F.relu6",
    "sigmoid": "torch.sigmoid",
    "tanh": "torch.tanh",
    "softmax": "F.softmax",
    "swish": "F.silu",
    "silu": "F.silu",
    "gelu": "F.gelu",
    "elu": "F.elu",
    "selu": "F.selu",
    "softplus": "F.softplus",
    "softsign": "F.softsign",
    "hardsigmoid": "F.hardsigmoid",
    "hardswish": "F.hardswish",
    "leakyrelu": "F.leaky_relu",
    "mish": "F.mish",
    "linear": None,
}


def torch_activation(keyword: str | None):
    """A PyTorch step applying the activation `keyword`, or None for none/linear."""
    keyword = ALIASES.get(keyword, keyword)
    function = TORCH.get(keyword) if keyword else None
    if function is None:
        return None
    if keyword == "softmax":
        return lambda x: Call(function, [x, kw("dim", 1)])  # Keras's last axis is channels: dim 1 in NCHW
    if keyword == "leakyrelu":
        return lambda x: Call(function, [x, literal(0.2)])
    return lambda x: Call(function, [x])


# Under `defaults pytorch` an activation torchvision writes as a module is one in the emitted code:
# keyword -> (its nn class, whether it may work in place, what ptflops counts per value). ptflops
# counts a ReLU module twice, by its module hook and by the F.relu call inside it (measured,
# ptflops 0.7.4): ReLU and GELU 2 per value, ReLU6 and SiLU 1, the others none.
TORCH_MODULES = {
    "relu": ("ReLU", True, 2),
    "relu6": ("ReLU6", True, 1),
    "swish": ("SiLU", True, 1),
    "silu": ("SiLU", True, 1),
    "gelu": ("GELU", False, 2),
    "sigmoid": ("Sigmoid", False, 0),
    "tanh": ("Tanh", False, 0),
    "hardswish": ("Hardswish", True, 0),
    "hardsigmoid": ("Hardsigmoid", False, 0),
}

# The functions ptflops patches in torch.nn.functional (one op per element); no other tool counts activations.
PTFLOPS_FUNCTIONS = frozenset({"F.relu", "F.relu6", "F.elu", "F.gelu", "F.silu", "F.softmax"})


def module_form(keyword: str | None, conventions: str):
    """(nn class, in place, ptflops count per value) where the activation is an nn module, else None."""
    if not keyword or conventions != "pytorch":
        return None
    return TORCH_MODULES.get(ALIASES.get(keyword, keyword))


def activation_counts(keyword: str | None, elements: int, conventions: str = "keras") -> dict[str, int]:
    """What the FLOP counters add for an activation over `elements` values."""
    module = module_form(keyword, conventions)
    if module is not None:
        return {"ptflops": module[2] * elements} if module[2] else {}
    function = TORCH.get(ALIASES.get(keyword, keyword)) if keyword else None
    return {"ptflops": elements} if function in PTFLOPS_FUNCTIONS else {}


def activation_modules(
    keyword: str | None, conventions: str, shape: tuple, channels_last: bool = False
) -> list[TorchModule]:
    """The activation's nn module call, where it is one (for the torchinfo table); `channels_last`:
    on a tensor the PyTorch code has moved channels last (see cnndsl.emit.pytorch.channels_last_runs)."""
    module = module_form(keyword, conventions)
    return [TorchModule(module[0], shape if channels_last else channels_first(shape))] if module is not None else []


def with_counts(*parts: dict[str, int]) -> dict[str, int]:
    """Per-counter sums of several rules' counts."""
    total: dict[str, int] = {}
    for part in parts:
        for tool, n in part.items():
            total[tool] = total.get(tool, 0) + n
    return total


def activation_steps(keyword: str | None, step=None, in_place: bool = True, own: bool = False) -> list:
    """The PyTorch steps of an activation: an nn module of the block or model being written (`step`)
    under `defaults pytorch` where torchvision writes one (`nn.ReLU(inplace=True)`), else a function.
    `own`: the activation is the layer (`relu`), not fused into one (`conv 8 3 relu`)."""
    module = module_form(keyword, step.node.layer.conventions) if step is not None else None
    if module is not None:
        name, inplace, _ = module
        expr = Call(f"nn.{name}", [kw("inplace", True)] if inplace and in_place else [])
        attr = step.module(expr) if own else step.extra_module(name.lower(), expr)
        return [lambda x: Call(attr, [x])]
    function = torch_activation(keyword)
    return [function] if function else []


def activation_arg() -> Arg:
    """The fused activation that conv-like and dense layers accept."""
    return Arg(
        "activation",
        Choice(*ACTIVATIONS, aliases=ALIASES),
        default=None,
        doc="fused activation, e.g. `relu`",
    )


class Activation(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = tuple(k for k in ACTIVATIONS if k not in ("relu6", "leakyrelu")) + ("hard_sigmoid", "hard_swish")
    SUMMARY = "an activation layer (Keras `Activation`)"
    USAGE = "relu"
    FOREIGN = (
        ("PyTorch", "ReLU:relu Sigmoid:sigmoid Tanh:tanh GELU:gelu SiLU:silu ELU:elu SELU:selu Softplus:softplus Softsign:softsign Hardswish:hardswish Hardsigmoid:hardsigmoid Mish:mish Softmax:softmax Identity:linear", "inplace dim"),
        ("Keras", "Activation", "activation=@"),
        ("Keras", "ReLU:relu Softmax:softmax ELU:elu", "axis"),
    )

    @classmethod
    def _unexpected(cls, keyword, value, positional, next_positional):
        """`linear 10` (PyTorch's `nn.Linear`), `softmax dense 10`: a layer's words after an activation."""
        error = super()._unexpected(keyword, value, positional, next_positional)
        if keyword == "linear" and isinstance(value.value, int):
            error.hint = f"`linear` is the identity activation here; PyTorch's `nn.Linear` is `dense {value.value}`"
        elif isinstance(value.value, str) and value.value in REGISTRY:
            error.hint = (
                f"`{value.value}` is a layer: fuse the activation by writing it after that layer's arguments "
                f"(`{value.value} ... {keyword}`), or part the two with `|` (`{keyword} | {value.value} ...`)"
            )
        return error

    @property
    def function(self) -> str:
        return ALIASES.get(self.keyword, self.keyword)

    def infer(self, shapes):
        return Inferred(shapes[0], "Activation")

    def keras(self, node):
        return Call("layers.Activation", [literal(ACTIVATIONS[self.function])])

    def torch(self, node, step):
        return activation_steps(self.function, step, step.input_is_fresh(), own=True)

    def torch_modules(self, node, channels_last: bool = False):
        return activation_modules(self.function, self.conventions, node.shape, channels_last)

    def counts(self, node, channels_last: bool = False):
        return activation_counts(self.function, prod(node.shape), self.conventions)


class ReLU6(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("relu6",)
    SUMMARY = "ReLU capped at 6, as MobileNet uses (Keras `ReLU(6.0)`)"
    USAGE = "relu6"
    FOREIGN = (
        ("PyTorch", "ReLU6", "inplace"),
    )

    @property
    def function(self) -> str:
        return "relu6"

    def infer(self, shapes):
        return Inferred(shapes[0], "ReLU")

    def keras(self, node):
        return Call("layers.ReLU", [kw("max_value", 6.0)])

    def torch(self, node, step):
        return activation_steps("relu6", step, step.input_is_fresh(), own=True)

    def torch_modules(self, node, channels_last: bool = False):
        return activation_modules("relu6", self.conventions, node.shape, channels_last)

    def counts(self, node, channels_last: bool = False):
        return activation_counts("relu6", prod(node.shape), self.conventions)


class ReLULayer(ReLU6):
    """Keras's `layers.ReLU()` layer, as MobileNetV3 writes it; `relu` is `Activation("relu")`, the same function."""

    KEYWORDS = ("ReLU",)
    SUMMARY = "ReLU as its own Keras class (`layers.ReLU()`, as MobileNetV3 uses); `relu` is `Activation(\"relu\")`"
    USAGE = "ReLU"

    @property
    def function(self) -> str:
        return "relu"

    def keras(self, node):
        return Call("layers.ReLU", [])

    def torch(self, node, step):
        return activation_steps("relu", step, step.input_is_fresh(), own=True)

    def torch_modules(self, node, channels_last: bool = False):
        return activation_modules("relu", self.conventions, node.shape, channels_last)

    def counts(self, node, channels_last: bool = False):
        return activation_counts("relu", prod(node.shape), self.conventions)


class LeakyReLU(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("leakyrelu", "leaky_relu")
    ARGS = (
        Arg(
            "alpha",
            FloatType(0.0, None, "a slope of at least 0"),
            default=0.3,  # keras.layers.LeakyReLU's (its leaky_relu function, the activation option, has 0.2)
            torch_default=0.01,
            positional=True,
            example="leakyrelu 0.1",
        ),
    )
    SUMMARY = "leaky ReLU with negative slope α, default 0.3 (Keras `LeakyReLU`; 0.01 under `defaults pytorch`)"
    USAGE = "leakyrelu 0.3"

    @property
    def function(self) -> str:
        return "leaky_relu"

    def infer(self, shapes):
        return Inferred(shapes[0], "LeakyReLU")

    def keras(self, node):
        return Call("layers.LeakyReLU", [kw("negative_slope", self["alpha"])])

    def torch(self, node, step):
        return [lambda x: Call("F.leaky_relu", [x, literal(self["alpha"])])]
