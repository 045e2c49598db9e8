"""Convolutions: conv, dwconv (depthwise), sepconv (separable), deconv (transposed)."""

from __future__ import annotations

from .activation import activation_arg
from .base import (
    Arg,
    Choice,
    Flag,
    Inferred,
    IntType,
    LayerKind,
    SizeType,
    describe_shape,
    fit_size,
    prod,
    require_rank,
    same_pads,
)

CONV_HINT = "conv needs an image-like input; put it before any flatten or dense layer"


def sliding_window(layer: LayerKind, shape, kernel, stride, dilation, padding, arg="kernel", words="kernel"):
    """Output spatial size and per-axis (before, after) padding, Keras's rules."""
    spatial = shape[:-1]
    out, pads = [], []
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    for n, k, s in zip(spatial, effective, stride):
        if padding == "valid":
            if k > n:
                raise _too_large(layer, spatial, kernel, dilation, effective, arg, words)
            out.append((n - k) // s + 1)
            pads.append((0, 0))
        elif padding == "causal":
            out.append((n - 1) // s + 1)
            pads.append((k - 1, 0))
        else:
            out.append((n - 1) // s + 1)
            pads.append(same_pads(n, k, s))
    return tuple(out), tuple(pads)


def _too_large(layer, spatial, kernel, dilation, effective, arg, words):
    here = describe_shape(spatial)
    most = min(spatial)
    if any(d > 1 for d in dilation):
        message = (
            f"{words} {describe_shape(kernel)} with dilation {describe_shape(dilation)} spans "
            f"{describe_shape(effective)}, more than its {here} input"
        )
    else:
        message = f"{words} {describe_shape(kernel)} is larger than its {here} input"
    return layer.fail(message, arg, f"input is {here} here; use `same` or a {words} of at most {most}")


def _common(*, dilation=True, causal=False, padding_words=("valid", "same")):
    words = padding_words + (("causal",) if causal else ())
    args = [
        Arg("stride", SizeType(), default=(1,), doc="step of the window, e.g. `stride 2`", example="stride 2"),
        Arg("padding", Choice(*words), default="valid", doc="`valid` (default) or `same`"),
    ]
    if dilation:
        args.append(
            Arg("dilation", SizeType(), default=(1,), doc="dilation rate, e.g. `dilation 2`", example="dilation 2")
        )
    args += [
        Arg("bias", Flag("nobias"), default=True, doc="`nobias` drops the bias"),
        activation_arg(),
    ]
    return tuple(args)


class _Convolution(LayerKind):
    """Shared checks of the convolution family."""

    RANKS: tuple[int, ...] = (1, 2, 3)

    def geometry(self, shape):
        """Rank, kernel, stride and dilation fitted to the input."""
        rank = require_rank(self, shape, self.RANKS, CONV_HINT)
        kernel = fit_size(self, "kernel", self["kernel"], rank)
        stride = fit_size(self, "stride", self["stride"], rank)
        dilation = fit_size(self, "dilation", self.options.get("dilation") or (1,), rank)
        if max(stride) > 1 and max(dilation) > 1:
            raise self.fail(
                "Keras does not allow a stride above 1 together with a dilation above 1",
                "dilation",
                "use either `stride` or `dilation`, or split the layer in two",
            )
        if self["padding"] == "causal" and rank != 1:
            raise self.fail("`causal` padding is only for 1-D (sequence) inputs", "padding", "use `same` or `valid`")
        return rank, kernel, stride, dilation


class Conv(_Convolution):
    KEYWORDS = ("conv", "conv1d", "conv2d", "conv3d")
    ARGS = (
        Arg("filters", IntType(), positional=True, required=True, doc="number of filters", example="conv 32 3x3"),
        Arg(
            "kernel",
            SizeType(),
            positional=True,
            required=True,
            doc="kernel size; `3` means 3x3 on images",
            example="conv 32 3x3",
        ),
        *_common(causal=True),
        Arg("groups", IntType(), default=1, doc="grouped convolution", example="groups 4"),
        Arg("pad", SizeType(minimum=0), default=None, doc="explicit zero padding before a valid conv", example="pad 1"),
    )
    SUMMARY = "convolution; the input's rank picks Conv1D, Conv2D or Conv3D"
    USAGE = "conv FILTERS KERNEL [stride S] [same|valid] [pad P] [dilation D] [groups G] [nobias] [ACTIVATION]"

    def validate(self):
        if self["filters"] % self["groups"]:
            raise self.fail(
                f"{self['filters']} filters cannot be split into {self['groups']} groups",
                "groups",
                "the number of filters must be a multiple of `groups`",
            )
        if self["pad"] is not None and "padding" in self.spans and self["padding"] != "valid":
            raise self.fail("`pad` and `same` cannot be combined", "pad", "use one of them")

    def lower(self):
        if self["pad"] is None:
            return [self]
        from .resize import ZeroPad

        pad = ZeroPad("zeropad", {"padding": (self["pad"],)}, {"padding": self.span_of("pad")}, self.span)
        options = dict(self.options, pad=None, padding="valid")
        spans = {k: v for k, v in self.spans.items() if k != "pad"}
        return [pad, Conv(self.keyword, options, spans, self.span)]

    def infer(self, shapes):
        (shape,) = shapes
        rank, kernel, stride, dilation = self.geometry(shape)
        cin, groups, filters = shape[-1], self["groups"], self["filters"]
        if cin % groups:
            raise self.fail(
                f"{cin} input channels cannot be split into {groups} groups",
                "groups",
                "the input's channels must be a multiple of `groups`",
            )
        out, pads = sliding_window(self, shape, kernel, stride, dilation, self["padding"])
        per_filter = prod(kernel) * (cin // groups)
        return Inferred(
            out + (filters,),
            f"Conv{rank}D",
            trainable=per_filter * filters + (filters if self["bias"] else 0),
            macs=prod(out) * filters * per_filter,
            resolved={"rank": rank, "kernel": kernel, "stride": stride, "dilation": dilation, "pads": pads},
        )


class DepthwiseConv(_Convolution):
    KEYWORDS = ("dwconv", "depthwise")
    RANKS = (1, 2)
    ARGS = (
        Arg("kernel", SizeType(), positional=True, required=True, doc="kernel size", example="dwconv 3x3"),
        Arg("mult", IntType(), default=1, doc="depth multiplier", example="mult 2"),
        *_common(),
    )
    SUMMARY = "depthwise convolution: one filter (or `mult` filters) per input channel"
    USAGE = "dwconv KERNEL [mult M] [stride S] [same|valid] [dilation D] [nobias] [ACTIVATION]"

    def infer(self, shapes):
        (shape,) = shapes
        rank, kernel, stride, dilation = self.geometry(shape)
        channels = shape[-1] * self["mult"]
        out, pads = sliding_window(self, shape, kernel, stride, dilation, self["padding"])
        return Inferred(
            out + (channels,),
            f"DepthwiseConv{rank}D",
            trainable=prod(kernel) * channels + (channels if self["bias"] else 0),
            macs=prod(out) * channels * prod(kernel),
            resolved={"rank": rank, "kernel": kernel, "stride": stride, "dilation": dilation, "pads": pads},
        )


class SeparableConv(_Convolution):
    KEYWORDS = ("sepconv", "separable")
    RANKS = (1, 2)
    ARGS = (
        Arg(
            "filters",
            IntType(),
            positional=True,
            required=True,
            doc="number of output filters",
            example="sepconv 64 3x3",
        ),
        Arg(
            "kernel", SizeType(), positional=True, required=True, doc="depthwise kernel size", example="sepconv 64 3x3"
        ),
        Arg("mult", IntType(), default=1, doc="depth multiplier", example="mult 2"),
        *_common(),
    )
    SUMMARY = "depthwise then pointwise (1x1) convolution, with one bias"
    USAGE = "sepconv FILTERS KERNEL [mult M] [stride S] [same|valid] [dilation D] [nobias] [ACTIVATION]"

    def infer(self, shapes):
        (shape,) = shapes
        rank, kernel, stride, dilation = self.geometry(shape)
        middle = shape[-1] * self["mult"]
        filters = self["filters"]
        out, pads = sliding_window(self, shape, kernel, stride, dilation, self["padding"])
        return Inferred(
            out + (filters,),
            f"SeparableConv{rank}D",
            trainable=prod(kernel) * middle + middle * filters + (filters if self["bias"] else 0),
            macs=prod(out) * middle * (prod(kernel) + filters),
            resolved={"rank": rank, "kernel": kernel, "stride": stride, "dilation": dilation, "pads": pads},
        )


class Deconv(_Convolution):
    KEYWORDS = ("deconv", "convtranspose")
    ARGS = (
        Arg("filters", IntType(), positional=True, required=True, doc="number of filters", example="deconv 32 3x3"),
        Arg("kernel", SizeType(), positional=True, required=True, doc="kernel size", example="deconv 32 3x3"),
        *_common(),
        Arg(
            "outpad", SizeType(minimum=0), default=None, doc="output padding, less than the stride", example="outpad 1"
        ),
    )
    SUMMARY = "transposed convolution (Keras `Conv2DTranspose`)"
    USAGE = "deconv FILTERS KERNEL [stride S] [same|valid] [outpad P] [dilation D] [nobias] [ACTIVATION]"

    def infer(self, shapes):
        (shape,) = shapes
        rank, kernel, stride, dilation = self.geometry(shape)
        outpad = fit_size(self, "outpad", self["outpad"], rank) if self["outpad"] is not None else None
        if outpad is not None and any(p >= s for p, s in zip(outpad, stride)):
            raise self.fail(
                f"output padding {describe_shape(outpad)} must be less than the stride {describe_shape(stride)}",
                "outpad",
            )
        out = []
        for i, (n, k, s, d) in enumerate(zip(shape[:-1], kernel, stride, dilation)):
            k = (k - 1) * d + 1
            if self["padding"] == "valid":
                extra = max(k, s) - k if outpad is None else outpad[i]
                out.append((n - 1) * s + k + extra)
            else:
                out.append(n * s if outpad is None else (n - 1) * s + k % 2 + outpad[i])
        cin, filters = shape[-1], self["filters"]
        return Inferred(
            tuple(out) + (filters,),
            f"Conv{rank}DTranspose",
            trainable=prod(kernel) * cin * filters + (filters if self["bias"] else 0),
            macs=prod(shape[:-1]) * prod(kernel) * cin * filters,
            resolved={"rank": rank, "kernel": kernel, "stride": stride, "dilation": dilation, "outpad": outpad},
        )
