"""Activations: standalone layers (`relu`) and the fused `act` of conv and dense."""

from __future__ import annotations

from .base import REGISTRY, Arg, Call, Choice, FloatType, Inferred, LayerKind, kw, literal, prod

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


# The functions ptflops patches in torch.nn.functional (one op per element); no other tool counts activations.
PTFLOPS_FUNCTIONS = frozenset({"F.relu", "F.relu6", "F.elu", "F.gelu", "F.silu", "F.softmax"})


def activation_counts(keyword: str | None, elements: int) -> dict[str, int]:
    """What the FLOP counters add for an activation over `elements` values."""
    function = TORCH.get(ALIASES.get(keyword, keyword)) if keyword else None
    return {"ptflops": elements} if function in PTFLOPS_FUNCTIONS else {}


def with_counts(*parts: dict[str, int]) -> dict[str, int]:
    """Per-counter sums of several rules' counts."""
    total: dict[str, int] = {}
    for part in parts:
        for tool, n in part.items():
            total[tool] = total.get(tool, 0) + n
    return total


def activation_steps(keyword: str | None) -> list:
    step = torch_activation(keyword)
    return [step] if step else []


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
        return activation_steps(self.function)

    def counts(self, node):
        return activation_counts(self.function, prod(node.shape))


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
        return activation_steps("relu6")

    def counts(self, node):
        return activation_counts("relu6", prod(node.shape))


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
        return activation_steps("relu")

    def counts(self, node):
        return activation_counts("relu", prod(node.shape))


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
