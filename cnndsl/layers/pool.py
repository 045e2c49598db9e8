"""Pooling: maxpool/pool, avgpool, and the global pools gap and gmp."""

from __future__ import annotations

from .base import Arg, Choice, Flag, Inferred, LayerKind, SizeType, fit_size, require_rank
from .conv import sliding_window

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


class MaxPool(_Pool):
    KEYWORDS = ("maxpool", "pool", "max_pool")
    KERAS_NAME = "MaxPooling"
    SUMMARY = "max pooling; stride defaults to the pool size"
    USAGE = "maxpool [SIZE] [stride S] [same|valid]"


class AvgPool(_Pool):
    KEYWORDS = ("avgpool", "avg_pool", "averagepool")
    KERAS_NAME = "AveragePooling"
    SUMMARY = "average pooling; with `same`, the padding is left out of each average"
    USAGE = "avgpool [SIZE] [stride S] [same|valid]"


class _GlobalPool(LayerKind):
    ARGS = (Arg("keepdims", Flag("keepdims"), default=False, doc="`keepdims` keeps 1x1 spatial axes"),)
    KERAS_NAME = ""

    def infer(self, shapes):
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), POOL_HINT)
        out = (1,) * rank + shape[-1:] if self["keepdims"] else shape[-1:]
        return Inferred(out, f"{self.KERAS_NAME}{rank}D", resolved={"rank": rank})


class GlobalAvgPool(_GlobalPool):
    KEYWORDS = ("gap", "globalavgpool")
    KERAS_NAME = "GlobalAveragePooling"
    SUMMARY = "global average pooling to one value per channel"
    USAGE = "gap [keepdims]"


class GlobalMaxPool(_GlobalPool):
    KEYWORDS = ("gmp", "globalmaxpool")
    KERAS_NAME = "GlobalMaxPooling"
    SUMMARY = "global max pooling to one value per channel"
    USAGE = "gmp [keepdims]"
