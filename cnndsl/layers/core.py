"""Input, dense, flatten, dropout and reshape."""

from __future__ import annotations

from .activation import activation_arg
from .base import Arg, Flag, FloatType, Inferred, IntType, LayerKind, ShapeType, describe_shape, prod


class Input(LayerKind):
    KEYWORDS = ("input",)
    ARGS = (Arg("shape", ShapeType(), positional=True, required=True, example="input 28x28x1"),)
    SUMMARY = "the input shape, channels last: N, LxC, HxWxC or DxHxWxC"
    USAGE = "input 32x32x3"

    def validate(self):
        if len(self["shape"]) > 4:
            raise self.fail(f"input has {len(self['shape'])} axes; cnndsl handles up to 4 (DxHxWxC)", "shape")

    def infer(self, shapes):
        return Inferred(tuple(self["shape"]), "InputLayer")


class Flatten(LayerKind):
    KEYWORDS = ("flatten",)
    SUMMARY = "flattens everything but the batch axis"
    USAGE = "flatten"

    def infer(self, shapes):
        return Inferred((prod(shapes[0]),), "Flatten")


class Dense(LayerKind):
    KEYWORDS = ("dense", "fc")
    ARGS = (
        Arg("units", IntType(), positional=True, required=True, example="dense 128"),
        activation_arg(),
        Arg("bias", Flag("nobias"), default=True, doc="`nobias` drops the bias"),
    )
    SUMMARY = "fully connected; after a spatial tensor it flattens first"
    USAGE = "dense 128 [relu] [nobias]"

    def implicit_before(self, shapes):
        if len(shapes[0]) > 1:
            return Flatten("flatten", {}, {}, self.span)
        return None

    def infer(self, shapes):
        (n,) = shapes[0]
        units = self["units"]
        return Inferred((units,), "Dense", trainable=n * units + (units if self["bias"] else 0), macs=n * units)


class Dropout(LayerKind):
    KEYWORDS = ("dropout",)
    ARGS = (
        Arg(
            "rate",
            FloatType(0.0, 1.0, "a rate from 0 up to (not including) 1"),
            positional=True,
            required=True,
            example="dropout 0.25",
        ),
    )
    SUMMARY = "randomly zeroes a fraction of inputs while training"
    USAGE = "dropout 0.25"

    def infer(self, shapes):
        return Inferred(shapes[0], "Dropout")


class Reshape(LayerKind):
    KEYWORDS = ("reshape",)
    ARGS = (Arg("target", ShapeType(allow_unknown=True), positional=True, required=True, example="reshape 7x7x64"),)
    SUMMARY = "reshapes to the given shape (one axis may be -1)"
    USAGE = "reshape 7x7x64"

    def infer(self, shapes):
        size = prod(shapes[0])
        target = tuple(self["target"])
        known = prod(d for d in target if d != -1)
        if -1 in target:
            if size % known:
                raise self.fail(
                    f"cannot reshape {describe_shape(shapes[0])} ({size} values) to {describe_shape(target)}", "target"
                )
            target = tuple(size // known if d == -1 else d for d in target)
        elif known != size:
            raise self.fail(
                f"cannot reshape {describe_shape(shapes[0])} ({size} values) to {describe_shape(target)} ({known} values)",
                "target",
                "the number of values must stay the same; one axis may be -1",
            )
        return Inferred(target, "Reshape", resolved={"target": target})
