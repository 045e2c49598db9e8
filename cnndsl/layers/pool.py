"""Pooling: maxpool/pool, avgpool, and the global pools gap and gmp."""

from __future__ import annotations

from .base import (
    Arg,
    Call,
    Choice,
    Flag,
    Inferred,
    LayerKind,
    SizeType,
    axes,
    describe_shape,
    dot,
    fit_size,
    kw,
    literal,
    prod,
    require_rank,
    torch_pad,
    window_lines,
)
from .conv import sliding_window, torch_padding

POOL_HINT = "pooling needs an image-like input; put it before any flatten or dense layer"


class _Pool(LayerKind):
    ARGS = (
        Arg("size", SizeType(), default=(2,), positional=True, doc="pool size (default 2)", example="maxpool 2"),
        Arg("stride", SizeType(), default=None, doc="defaults to the pool size, as in Keras", example="stride 2"),
        Arg("padding", Choice("valid", "same"), default="valid", doc="`valid` (default) or `same`"),
    )
    KERAS_NAME = ""

    def infer(self, shapes):
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), POOL_HINT)
        size = fit_size(self, "size", self["size"], rank)
        stride = fit_size(self, "stride", self["stride"], rank) if self["stride"] is not None else size
        out, pads = sliding_window(
            self, shape, size, stride, (1,) * rank, self["padding"], arg="size", words="pool size"
        )
        return Inferred(
            out + shape[-1:],
            f"{self.KERAS_NAME}{rank}D",
            resolved={"rank": rank, "size": size, "stride": stride, "pads": pads},
        )

    def explain_shape(self, node):
        r = node.resolved
        lines = window_lines(
            node.in_shapes[0], node.shape, r["size"], r["stride"], (1,) * r["rank"], self["padding"], r["pads"]
        )
        lines.insert(0, f"window {describe_shape(r['size'])}, stride {describe_shape(r['stride'])}")
        return lines + [f"channels: {node.shape[-1]}, as its input"]

    def keras(self, node):
        r, args = node.resolved, [axes(node.resolved["size"])]
        if self["stride"] is not None:
            args.append(kw("strides", axes(r["stride"])))
        if self["padding"] != "valid":
            args.append(kw("padding", literal(self["padding"])))
        return Call(f"layers.{self.KERAS_NAME}{r['rank']}D", args)

    def torch_pool(self, node, padding=None):
        r = node.resolved
        args = [axes(r["size"])]
        if r["stride"] != r["size"]:
            args.append(kw("stride", axes(r["stride"])))
        if padding not in (None, 0, "0"):
            args.append(kw("padding", padding))
        return args


class MaxPool(_Pool):
    KEYWORDS = ("maxpool", "pool", "max_pool")
    KERAS_NAME = "MaxPooling"
    SUMMARY = "max pooling; stride defaults to the pool size"
    USAGE = "maxpool [SIZE] [stride S] [same|valid]"

    def torch(self, node, step):
        """Keras's `same` padding never wins a max: pad with -inf where PyTorch's own cannot."""
        steps, padding = torch_padding(node.resolved["pads"], value='float("-inf")')
        pool = step.module(Call(f"nn.MaxPool{node.resolved['rank']}d", self.torch_pool(node, padding)))
        return [*steps, lambda x: Call(pool, [x])]


class AvgPool(_Pool):
    KEYWORDS = ("avgpool", "avg_pool", "averagepool")
    KERAS_NAME = "AveragePooling"
    SUMMARY = "average pooling; with `same`, the padding is left out of each average"
    USAGE = "avgpool [SIZE] [stride S] [same|valid]"

    def torch(self, node, step):
        """Keras leaves `same` padding out of each average: `count_include_pad=False` does so
        where the padding is symmetric, the AvgPoolSame helper where it is not."""
        r = node.resolved
        steps, padding = torch_padding(r["pads"])
        pool = Call(f"nn.AvgPool{r['rank']}d", self.torch_pool(node, padding))
        if padding not in (0, "0"):
            pool.args.append(kw("count_include_pad", False))
        if steps:
            pool = Call(step.helper("AvgPoolSame"), [pool, kw("pad", literal(torch_pad(r["pads"])))])
        pool = step.module(pool)
        return [lambda x: Call(pool, [x])]


class _GlobalPool(LayerKind):
    ARGS = (Arg("keepdims", Flag("keepdims"), default=False, doc="`keepdims` keeps 1x1 spatial axes"),)
    KERAS_NAME = ""

    def infer(self, shapes):
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), POOL_HINT)
        out = (1,) * rank + shape[-1:] if self["keepdims"] else shape[-1:]
        return Inferred(out, f"{self.KERAS_NAME}{rank}D", resolved={"rank": rank})

    def explain_shape(self, node):
        spatial = node.in_shapes[0][:-1]
        kept = " (kept as 1s: keepdims)" if self["keepdims"] else ""
        return [
            f"one value per channel from {dot(*spatial)} = {prod(spatial):,} positions{kept}; {node.shape[-1]} channels"
        ]

    def keras(self, node):
        args = [kw("keepdims", True)] if self["keepdims"] else []
        return Call(f"layers.{self.KERAS_NAME}{node.resolved['rank']}D", args)

    def torch(self, node, step):
        dims = tuple(range(2, 2 + node.resolved["rank"]))
        args = [kw("dim", literal(dims if len(dims) > 1 else dims[0]))]
        if self["keepdims"]:
            args.append(kw("keepdim", True))
        return [lambda x: Call(f"{x}.{self.TORCH_METHOD}", args)]


class GlobalAvgPool(_GlobalPool):
    KEYWORDS = ("gap", "globalavgpool")
    KERAS_NAME = "GlobalAveragePooling"
    TORCH_METHOD = "mean"
    SUMMARY = "global average pooling to one value per channel"
    USAGE = "gap [keepdims]"


class GlobalMaxPool(_GlobalPool):
    KEYWORDS = ("gmp", "globalmaxpool")
    KERAS_NAME = "GlobalMaxPooling"
    TORCH_METHOD = "amax"
    SUMMARY = "global max pooling to one value per channel"
    USAGE = "gmp [keepdims]"
