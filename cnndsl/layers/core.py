"""Input, dense, flatten, dropout and reshape."""

from __future__ import annotations

from ..core.errors import BadArgument
from ..core.sizes import Size, Undecided, compare
from .activation import (
    ACTIVATIONS,
    activation_arg,
    activation_counts,
    activation_modules,
    activation_steps,
    with_counts,
)
from .base import (
    Arg,
    Call,
    Flag,
    FloatType,
    Inferred,
    IntType,
    LayerKind,
    ShapeType,
    TorchModule,
    describe_shape,
    dot,
    figure,
    kw,
    literal,
    method,
    prod,
    to_layout,
)


class Input(LayerKind):
    KEYWORDS = ("input",)
    ARGS = (
        Arg("shape", ShapeType(allow_unknown_size=True), positional=True, required=True, example="input 28x28x1"),
        Arg("integers", Flag("int"), default=False, doc="`int`: a sequence of token ids, for `embedding`"),
    )
    SUMMARY = (
        "the input shape, channels last: N, LxC, HxWxC or DxHxWxC; `?` for an axis of any size (`?x?x3`); "
        "`input L int`: L token ids"
    )
    USAGE = "input 32x32x3 | input 400 int"
    FOREIGN = (
        ("Keras", "Input InputLayer", "shape"),
    )

    def validate(self):
        if len(self["shape"]) > 4:
            raise self.fail(f"input has {len(self['shape'])} axes; cnndsl handles up to 4 (DxHxWxC)", "shape")
        if self["integers"]:
            if len(self["shape"]) != 1:
                raise self.fail(
                    f"an `int` input is one sequence of token ids, not {describe_shape(self['shape'])}",
                    "shape",
                    "give its length alone, `input 400 int` (or `input ? int`), then `embedding VOCAB DIM`",
                )
            return  # its one axis is the sequence, which may be of any length: no channels
        if self["shape"][-1] is None:
            raise self.fail(
                "the last axis (the channels) needs a size: the weights of the layers after it depend on it",
                "shape",
                f"only the other axes can be `?`, e.g. `input {describe_shape((*self['shape'][:-1], 3))}`",
            )

    def infer(self, shapes):
        return Inferred(tuple(self["shape"]), "InputLayer", resolved={"integers": True} if self["integers"] else {})

    def explain_shape(self, node):
        return ["as written, token ids (whole numbers)"] if self["integers"] else ["as written"]

    def keras(self, node):
        dtype = [kw("dtype", literal("int32"))] if self["integers"] else []
        return Call("keras.Input", [kw("shape", literal(node.shape)), *dtype])


class Flatten(LayerKind):
    KEYWORDS = ("flatten",)
    NEEDS_LAST_AXIS = False
    SUMMARY = "flattens everything but the batch axis"
    USAGE = "flatten"
    FOREIGN = (
        ("PyTorch", "Flatten", ""),
        ("Keras", "Flatten", "data_format"),
    )

    def infer(self, shapes):
        return Inferred((prod(shapes[0]),), "Flatten")

    def explain_shape(self, node):
        return self.explain_shape_in(node, "channels_last")

    def explain_shape_in(self, node, layout):
        """The product in the layout shown; where the values are flattened in the other order
        (Keras's channels last, or torch.flatten's channels first), a second line says so."""
        why = " (put in by cnndsl before a dense layer)" if node.implicit else ""
        shape = node.in_shapes[0]
        lines = [f"{dot(*to_layout(shape, layout))} = {figure(node.shape[0])} features{why}"]
        order = "channels_first" if self.conventions == "pytorch" else "channels_last"
        positions = prod(shape[:-1])  # None: an unknown size, so maybe several positions
        if order != layout and len(shape) > 1 and (positions is None or positions > 1):
            lines.append(
                "values in torch.flatten's order, channels first (`defaults pytorch`)"
                if order == "channels_first"
                else "values in Keras's order, channels last (the PyTorch code moves the channels last first)"
            )
        return lines

    def keras(self, node):
        return Call("layers.Flatten")

    def keras_before(self, node):
        """Under `defaults pytorch` the flatten is channels first, as PyTorch's: Keras's Flatten flattens
        channels last, so a Permute moves the channels first (only needed when there are several positions)."""
        rank = len(node.in_shapes[0])
        if self.conventions != "pytorch" or prod(node.in_shapes[0][:-1]) == 1:
            return []
        return [Call("layers.Permute", [literal((rank, *range(1, rank)))])]

    def torch(self, node, step):
        if len(node.in_shapes[0]) == 1 or self.conventions == "pytorch":
            return [lambda x: Call("torch.flatten", [x, 1])]
        step.comment("Keras flattens NHWC, PyTorch NCHW: channels go last first, as in Keras")
        return [lambda x: method(method(x, "movedim", [1, -1]), "flatten", [1])]


class Dense(LayerKind):
    KEYWORDS = ("dense", "fc")
    ARGS = (
        Arg("units", IntType(), positional=True, required=True, example="dense 128"),
        activation_arg(),
        Arg("bias", Flag("nobias"), default=True, doc="`nobias` drops the bias"),
        Arg(
            "flatten",
            Flag("noflatten"),
            default=True,
            doc="`noflatten` applies it to the last axis of any tensor, as Keras's Dense does",
        ),
    )
    SUMMARY = "fully connected; after a spatial tensor it flattens first (`noflatten`: on the last axis only)"
    USAGE = "dense 128 [relu] [nobias] [noflatten]"
    FOREIGN = (
        ("PyTorch", "Linear", "in_features=- out_features=units bias"),
        ("Keras", "Dense", "units activation use_bias=bias"),
    )

    def implicit_before(self, shapes):
        if len(shapes[0]) > 1 and self["flatten"]:
            flatten = Flatten("flatten", {}, {}, self.span)
            flatten.conventions = self.conventions
            return flatten
        return None

    def infer(self, shapes):
        *positions, n = shapes[0]  # one position unless `noflatten` kept the other axes
        units = self["units"]
        return Inferred(
            (*positions, units),
            "Dense",
            trainable=n * units + (units if self["bias"] else 0),
            macs=prod((*positions, n, units)),
        )

    def explain_shape(self, node):
        return [f"{self['units']} unit{'s' if self['units'] != 1 else ''}"]

    def explain_params(self, node):
        n, units = node.in_shapes[0][-1], self["units"]
        if self["bias"]:
            return [f"{n}·{units} + {units} = {figure(node.info.params)}", f"kernel {n}x{units}; bias: {units}"]
        return [f"{n}·{units} = {figure(node.info.params)} (no bias)", f"kernel {n}x{units}"]

    def explain_macs(self, node):
        *positions, n = node.in_shapes[0]
        units = self["units"]
        if positions:
            return [f"{prod(positions)} positions · {n}·{units} = {figure(node.info.macs)}"]
        return [f"{n}·{units} = {figure(node.info.macs)}"]

    def keras(self, node):
        args = [self["units"]]
        if self["activation"]:
            args.append(kw("activation", literal(ACTIVATIONS[self["activation"]])))
        if not self["bias"]:
            args.append(kw("use_bias", False))
        return Call("layers.Dense", args)

    def torch(self, node, step):
        args = [node.in_shapes[0][-1], self["units"]] + ([] if self["bias"] else [kw("bias", False)])
        linear = step.module(Call("nn.Linear", args))
        if len(node.in_shapes[0]) > 1 and not step.channels_last:  # Keras's last axis is the channels: dim 1 in NCHW
            step.comment("a dense layer on the channels of every position, as Keras applies Dense")
            return [
                lambda x: method(Call(linear, [method(x, "movedim", [1, -1])]), "movedim", [-1, 1]),
                *activation_steps(self["activation"], step),
            ]
        return [lambda x: Call(linear, [x]), *activation_steps(self["activation"], step)]

    def torch_modules(self, node, channels_last: bool = False):
        return [
            TorchModule("Linear", node.shape, node.info.trainable),
            *activation_modules(self["activation"], self.conventions, node.shape, channels_last),
        ]

    def counts(self, node, channels_last: bool = False):
        """torchinfo counts each parameter once, ptflops the MACs and the bias adds, fvcore and thop the MACs."""
        macs, units = node.info.macs, self["units"]
        bias = units * prod(node.shape[:-1]) if self["bias"] else 0
        return with_counts(
            {"cnndsl": macs, "torchinfo": node.info.trainable, "fvcore": macs, "ptflops": macs + bias, "thop": macs},
            activation_counts(self["activation"], prod(node.shape), self.conventions),
        )


def drop_rate_arg(example: str) -> Arg:
    """The required rate of a layer that drops values or branches while training."""
    return Arg(
        "rate",
        FloatType(0.0, 1.0, "a rate from 0 up to (not including) 1"),
        positional=True,
        required=True,
        example=example,
    )


class Dropout(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("dropout",)
    ARGS = (drop_rate_arg("dropout 0.25"),)
    SUMMARY = "randomly zeroes a fraction of inputs while training"
    USAGE = "dropout 0.25"
    FOREIGN = (
        ("PyTorch", "Dropout Dropout1d Dropout2d", "p=rate inplace"),
        ("Keras", "Dropout", "rate"),
    )

    def infer(self, shapes):
        return Inferred(shapes[0], "Dropout")

    def keras(self, node):
        return Call("layers.Dropout", [literal(self["rate"])])

    def torch(self, node, step):
        dropout = step.module(Call("nn.Dropout", [literal(self["rate"])]))
        return [lambda x: Call(dropout, [x])]

    def torch_modules(self, node):
        return [TorchModule("Dropout", (node.shape[-1], *node.shape[:-1]))]


class Reshape(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("reshape",)
    ARGS = (
        Arg(
            "target",
            ShapeType(allow_unknown=True),
            positional=True,
            required=True,
            variadic=True,  # `reshape 1 1 c`: axes one by one, so a block parameter can be one
            example="reshape 7x7x64",
        ),
    )
    SUMMARY = "reshapes to the given shape (one axis may be -1)"
    USAGE = "reshape 7x7x64 | reshape 1 1 C"

    def validate(self):
        if self.target.count(-1) > 1:
            raise BadArgument("only one axis of a shape can be -1", self.span_of("target"))

    @property
    def target(self) -> tuple[int, ...]:
        """The axes, whether written `7x7x64` or `7 7 64`."""
        return tuple(d for part in self["target"] for d in part)

    def infer(self, shapes):
        size = prod(shapes[0])
        target = self.target
        known = prod(d for d in target if d != -1)
        if isinstance(size, Size):  # the count depends on `?` axes: it must fit for every size, or under a condition
            return self.infer_symbolic(shapes[0], size, target, known)
        if size is None:  # as Keras: the -1 axis is unknown too, and the count cannot be checked
            target = tuple(None if d == -1 else d for d in target)
        elif -1 in target:
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

    def infer_symbolic(self, shape, size, target, known):
        """`reshape -1x4` of h·w·8 values: the -1 axis is 2·h·w; `reshape 8` of 4·n values fits n = 2 alone."""
        fitted = known * (size // known) if -1 in target else known
        agreement = compare(size, fitted)
        if agreement.kind == "different":
            where = f"; they fit only at {', '.join(sorted(size.names()))} = {agreement.points[0]}" if agreement.points else ""
            wanted = f"a multiple of {known}" if -1 in target else f"{known}"
            error = self.fail(
                f"cannot reshape {describe_shape(shape)} ({size} values) to {describe_shape(target)}: "
                f"the count is {wanted} for no size of the `?` axes{where}",
                "target",
                "give the input a size, or write the axis that depends on it as -1",
            )
            error.from_sizes = True  # raised by the sizes' expressions: an error, not an unknown
            raise error
        if agreement.kind not in ("equal", "condition"):
            raise Undecided("the count depends on a relation between the `?` axes")
        stated = ((agreement.condition, 0),) if agreement.kind == "condition" else ()
        out = tuple(size // known if d == -1 else d for d in target)
        return Inferred(out, "Reshape", resolved={"target": target, "size_conditions": stated})

    def explain_shape(self, node):
        size = figure(prod(node.in_shapes[0]))
        written = describe_shape(self.target)
        return [f"{dot(*node.in_shapes[0])} = {size} values, rearranged as {written}"] + (
            [
                f"-1 stands for {size} / {figure(prod(d for d in self.target if d != -1))} = {max(node.shape[i] for i, d in enumerate(self.target) if d == -1)}"
            ]
            if -1 in self.target
            else []
        )

    def keras(self, node):
        return Call("layers.Reshape", [literal(node.resolved["target"])])

    def torch(self, node, step):
        """Reshape in Keras's channels-last order: channels last, reshape, channels first again."""
        target = node.resolved["target"]

        def reshape(x):
            if len(node.in_shapes[0]) > 1:
                x = method(x, "movedim", [1, -1])
            if None in target:  # the -1 axis of an input of unknown size: PyTorch works it out per batch
                x = method(method(x, "flatten", [1]), "unflatten", [1, literal(tuple(-1 if d is None else d for d in target))])
            else:
                x = method(x, "reshape", [-1, *target])
            return method(x, "movedim", [-1, 1]) if len(target) > 1 else x

        return [reshape]
