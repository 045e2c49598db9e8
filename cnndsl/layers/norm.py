"""Normalisation and rescaling: bn, layernorm, rescale, normalize."""

from __future__ import annotations

from ..core.errors import BadArgument
from ..core.writer import Keyword
from .base import (
    Arg,
    BinOp,
    Call,
    Flag,
    FloatType,
    Inferred,
    LayerKind,
    List,
    TorchModule,
    channels_first,
    kw,
    literal,
    method,
    prod,
)


def keras_norm_options(layer, defaults) -> list:
    """`epsilon=`, `momentum=`, `center=`, `scale=` where they differ from Keras's defaults."""
    args = []
    for ours, theirs, default in defaults:
        if layer[ours] != default:
            args.append(kw(theirs, layer[ours]))
    return args


def torch_affine(layer, step, attr: str, channels: int) -> None:
    """Keras can keep beta without gamma (or gamma without beta); PyTorch's norms keep both or
    neither, so the one Keras keeps is added alone to a norm made without either."""
    if layer["scale"] != layer["center"]:
        name, init = ("bias", "zeros") if layer["center"] else ("weight", "ones")
        kept = "beta" if layer["center"] else "gamma"
        step.init(
            f"{attr}.{name} = ", Call("nn.Parameter", [Call(f"torch.{init}", [channels])]), f"Keras keeps only {kept}"
        )


class BatchNorm(LayerKind):
    KEYWORDS = ("bn", "batchnorm")
    ARGS = (
        Arg("scale", Flag("noscale"), default=True, doc="`noscale` drops gamma (InceptionV3)"),
        Arg("center", Flag("nocenter"), default=True, doc="`nocenter` drops beta"),
        Arg(
            "eps",
            FloatType(0.0, None, "a small positive number"),
            default=1e-3,
            torch_default=1e-5,
            doc="epsilon, default 0.001 (PyTorch's 1e-5 under `defaults pytorch`)",
            example="eps 1.001e-5",
        ),
        Arg(
            "momentum",
            FloatType(0.0, 1.0, "a number from 0 up to 1"),
            default=0.99,
            torch_default=0.1,
            doc="moving-average momentum, default 0.99; under `defaults pytorch` PyTorch's meaning "
            "(the new batch's weight), default 0.1",
            example="momentum 0.9",
        ),
    )
    SUMMARY = "batch normalisation over channels: 4C parameters, 2C of them non-trainable"
    USAGE = "bn [noscale] [nocenter] [eps E] [momentum M]"
    FOREIGN = (
        ("PyTorch", "BatchNorm1d BatchNorm2d BatchNorm3d", "num_features=- eps"),
        ("Keras", "BatchNormalization", "axis epsilon=eps"),
    )

    def infer(self, shapes):
        (shape,) = shapes
        channels = shape[-1]
        learned = int(self["scale"]) + int(self["center"])
        return Inferred(shape, "BatchNormalization", trainable=learned * channels, non_trainable=2 * channels)

    @property
    def keras_momentum(self) -> float:
        """Keras's momentum weighs the running average, PyTorch's the new batch."""
        momentum = self["momentum"]
        return round(1 - momentum, 12) if self.conventions == "pytorch" else momentum

    def explain_params(self, node):
        c = node.shape[-1]
        learned = [name for name, kept in (("γ", self["scale"]), ("β", self["center"])) if kept]
        parts = [f"{name} {c}" for name in learned] + [f"moving mean {c}", f"moving variance {c}"]
        return [
            f"{' + '.join([str(c)] * len(parts))} = {node.info.params:,}",
            f"trainable: {', '.join(parts[: len(learned)]) or 'none'}; "
            f"non-trainable: {parts[-2]}, {parts[-1]} (updated from the batches, not by gradients)",
        ]

    def keras(self, node):
        defaults = [("eps", "epsilon", 1e-3), ("center", "center", True), ("scale", "scale", True)]
        args = [] if self.keras_momentum == 0.99 else [kw("momentum", literal(self.keras_momentum))]
        return Call("layers.BatchNormalization", args + keras_norm_options(self, defaults))

    def torch(self, node, step):
        channels = node.shape[-1]
        rank = max(len(node.shape) - 1, 1)
        args = [channels, kw("eps", self["eps"]), kw("momentum", literal(round(1 - self.keras_momentum, 12)))]
        if not (self["scale"] and self["center"]):
            args.append(kw("affine", False))
        if rank > 3:  # no nn.BatchNorm4d: normalise the spatial axes flattened into one, same statistics
            bn = step.module(Call("nn.BatchNorm1d", args))
            torch_affine(self, step, bn, channels)
            return [lambda x: method(Call(bn, [method(x, "flatten", [2])]), "view_as", [x])]
        bn = step.module(Call(f"nn.BatchNorm{rank}d", args))
        torch_affine(self, step, bn, channels)
        return [lambda x: Call(bn, [x])]

    def torch_modules(self, node):
        rank = max(len(node.shape) - 1, 1)
        if rank > 3:
            return [TorchModule("BatchNorm1d", (node.shape[-1], prod(node.shape[:-1])), node.info.trainable)]
        return [TorchModule(f"BatchNorm{rank}d", channels_first(node.shape), node.info.trainable)]

    def counts(self, node):
        """In eval mode: torchinfo counts γ and β once, fvcore 1 op per value (2 with γ), ptflops
        1 (2 when affine), thop 2 (4 when affine)."""
        n = prod(node.shape)
        affine = self["scale"] and self["center"]
        return {
            "torchinfo": node.info.trainable,
            "fvcore": n * (2 if self["scale"] else 1),
            "ptflops": n * (2 if affine else 1),
            "thop": n * (4 if affine else 2),
        }


class LayerNorm(LayerKind):
    KEYWORDS = ("layernorm", "ln")
    ARGS = (
        Arg("scale", Flag("noscale"), default=True, doc="`noscale` drops gamma"),
        Arg("center", Flag("nocenter"), default=True, doc="`nocenter` drops beta"),
        Arg(
            "eps",
            FloatType(0.0, None, "a small positive number"),
            default=1e-3,
            torch_default=1e-5,
            doc="epsilon, default 0.001 (PyTorch's 1e-5 under `defaults pytorch`)",
            example="eps 1e-6",
        ),
    )
    SUMMARY = "layer normalisation over the last axis: 2C parameters"
    USAGE = "layernorm [noscale] [nocenter] [eps E]"
    FOREIGN = (
        ("PyTorch", "LayerNorm", "normalized_shape=- eps"),
        ("Keras", "LayerNormalization", "axis epsilon=eps"),
    )

    def infer(self, shapes):
        (shape,) = shapes
        learned = int(self["scale"]) + int(self["center"])
        return Inferred(shape, "LayerNormalization", trainable=learned * shape[-1])

    def explain_params(self, node):
        c = node.shape[-1]
        learned = [f"{name} {c}" for name, kept in (("γ", self["scale"]), ("β", self["center"])) if kept]
        if not learned:
            return []
        return [f"{' + '.join([str(c)] * len(learned))} = {node.info.params:,}", f"trainable: {', '.join(learned)}"]

    def keras(self, node):
        defaults = [("eps", "epsilon", 1e-3), ("center", "center", True), ("scale", "scale", True)]
        return Call("layers.LayerNormalization", keras_norm_options(self, defaults))

    def torch(self, node, step):
        """Keras normalises the last axis, the channels: dim 1 in NCHW, so move it last and back."""
        channels = node.shape[-1]
        args = [channels, kw("eps", self["eps"])]
        if not (self["scale"] and self["center"]):
            args.append(kw("elementwise_affine", False))
        image = len(node.shape) == 3 and not step.channels_last
        ln = step.module(Call(step.helper("LayerNorm2d") if image else "nn.LayerNorm", args))
        torch_affine(self, step, ln, channels)
        if len(node.shape) == 1 or step.channels_last or image:  # LayerNorm2d moves the channels itself
            return [lambda x: Call(ln, [x])]
        return [lambda x: method(Call(ln, [method(x, "movedim", [1, -1])]), "movedim", [-1, 1])]

    def torch_modules(self, node, channels_last: bool = False):
        if len(node.shape) == 3 and not channels_last:
            return [TorchModule("LayerNorm2d", channels_first(node.shape), node.info.trainable)]
        return [TorchModule("LayerNorm", node.shape, node.info.trainable)]  # applied channels last

    def counts(self, node, channels_last: bool = False):
        """torchinfo counts γ and β once, fvcore 4 ops per value (5 with γ), ptflops 1 (none for the
        LayerNorm2d of an image: ptflops counts nn.LayerNorm itself, not a subclass), thop 2 (4 when affine)."""
        n = prod(node.shape)
        affine = self["scale"] and self["center"]
        return {
            "torchinfo": node.info.trainable,
            "fvcore": n * (5 if self["scale"] else 4),
            "ptflops": 0 if len(node.shape) == 3 and not channels_last else n,
            "thop": n * (4 if affine else 2),
        }


class Rescale(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("rescale", "rescaling")
    ARGS = (
        Arg(
            "scale", FloatType(), positional=True, required=True, doc="multiplier, e.g. 1/255", example="rescale 1/255"
        ),
        Arg("offset", FloatType(), default=0.0, doc="added after scaling", example="offset -1"),
    )
    SUMMARY = "multiplies by a constant and adds an offset (Keras `Rescaling`)"
    USAGE = "rescale 1/255 [offset O]"
    FOREIGN = (
        ("Keras", "Rescaling", "scale offset"),
    )

    def infer(self, shapes):
        return Inferred(shapes[0], "Rescaling")

    def keras(self, node):
        return Call(
            "layers.Rescaling", [literal(self["scale"])] + ([kw("offset", self["offset"])] if self["offset"] else [])
        )

    def torch(self, node, step):
        def rescale(x):
            scaled = BinOp("*", [x, literal(self["scale"])])
            offset = self["offset"]
            if not offset:
                return scaled
            return BinOp("-" if offset < 0 else "+", [str(scaled), literal(abs(offset))])

        return [rescale]


class Normalize(LayerKind):
    KEYWORDS = ("normalize", "normalization")
    ARGS = (
        Arg(
            "mean",
            FloatType(),
            variadic=True,
            doc="fixed means, one or one per channel (then `variance` too): no weights",
            example="normalize mean 0.485 0.456 0.406 variance 0.0524 0.0502 0.0506",
        ),
        Arg(
            "variance",
            FloatType(low=0.0),
            variadic=True,
            doc="fixed variances, one or one per channel",
            example="normalize mean 0.485 0.456 0.406 variance 0.0524 0.0502 0.0506",
        ),
    )
    SUMMARY = (
        "per-channel (x - mean) / sqrt(variance) (Keras `Normalization`): statistics from `adapt`, "
        "or fixed with `mean ... variance ...` (then 0 parameters)"
    )
    USAGE = "normalize [mean M... variance V...]"

    def validate(self):
        if (self["mean"] is None) != (self["variance"] is None):
            given, missing = ("mean", "variance") if self["mean"] is not None else ("variance", "mean")
            raise BadArgument(
                f"`{given}` needs `{missing}` too", self.span_of(given), "fixed statistics take both, as Keras's do"
            )

    @property
    def fixed(self) -> bool:
        return self["mean"] is not None

    def infer(self, shapes):
        (shape,) = shapes
        if self.fixed:
            for name in ("mean", "variance"):
                if len(self[name]) not in (1, shape[-1]):
                    raise self.fail(
                        f"`{name}` has {len(self[name])} values, but the input has {shape[-1]} channels here",
                        name,
                        f"give one value, or one per channel ({shape[-1]})",
                    )
            return Inferred(shape, "Normalization")  # Keras keeps fixed statistics as constants, not weights
        # Keras keeps mean and variance per channel plus a scalar count.
        return Inferred(shape, "Normalization", non_trainable=2 * shape[-1] + 1)

    def explain_params(self, node):
        if self.fixed:
            return ["0: the mean and variance are fixed constants, not weights"]
        c = node.shape[-1]
        return [
            f"{c} + {c} + 1 = {node.info.params:,}",
            f"non-trainable: mean {c}, variance {c}, and the count of examples seen (1)",
        ]

    def _values(self, name):
        values = self[name]
        return literal(values[0]) if len(values) == 1 else List([literal(v) for v in values])

    def keras(self, node):
        if self.fixed:
            return Call(
                "layers.Normalization",
                [Keyword("mean", self._values("mean")), Keyword("variance", self._values("variance"))],
            )
        return Call("layers.Normalization")

    def torch(self, node, step):
        if self.fixed:
            args = [self._values("mean"), self._values("variance")]
            norm = step.module(Call(step.helper("FixedNormalization"), args))
        else:
            norm = step.module(Call(step.helper("Normalization"), [node.shape[-1]]))
        return [lambda x: Call(norm, [x])]

    def torch_modules(self, node):
        name = "FixedNormalization" if self.fixed else "Normalization"
        return [TorchModule(name, channels_first(node.shape))]
