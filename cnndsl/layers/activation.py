"""Activations: standalone layers (`relu`) and the fused `act` of conv and dense."""

from __future__ import annotations

from .base import Arg, Choice, FloatType, Inferred, LayerKind

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


def activation_arg() -> Arg:
    """The fused activation that conv-like and dense layers accept."""
    return Arg(
        "activation",
        Choice(*ACTIVATIONS, aliases=ALIASES),
        default=None,
        doc="fused activation, e.g. `relu`",
    )


class Activation(LayerKind):
    KEYWORDS = tuple(k for k in ACTIVATIONS if k not in ("relu6", "leakyrelu")) + ("hard_sigmoid", "hard_swish")
    SUMMARY = "an activation layer (Keras `Activation`)"
    USAGE = "relu"

    @property
    def function(self) -> str:
        return ALIASES.get(self.keyword, self.keyword)

    def infer(self, shapes):
        return Inferred(shapes[0], "Activation")


class ReLU6(LayerKind):
    KEYWORDS = ("relu6",)
    SUMMARY = "ReLU capped at 6, as MobileNet uses (Keras `ReLU(6.0)`)"
    USAGE = "relu6"

    @property
    def function(self) -> str:
        return "relu6"

    def infer(self, shapes):
        return Inferred(shapes[0], "ReLU")


class LeakyReLU(LayerKind):
    KEYWORDS = ("leakyrelu", "leaky_relu")
    ARGS = (
        Arg(
            "alpha",
            FloatType(0.0, None, "a slope of at least 0"),
            default=0.2,
            positional=True,
            example="leakyrelu 0.1",
        ),
    )
    SUMMARY = "leaky ReLU with negative slope α, default 0.2 (Keras `LeakyReLU`)"
    USAGE = "leakyrelu 0.2"

    @property
    def function(self) -> str:
        return "leaky_relu"

    def infer(self, shapes):
        return Inferred(shapes[0], "LeakyReLU")
