"""Normalisation and rescaling: bn, layernorm, rescale, normalize."""

from __future__ import annotations

from .base import Arg, Flag, FloatType, Inferred, LayerKind


class BatchNorm(LayerKind):
    KEYWORDS = ("bn", "batchnorm")
    ARGS = (
        Arg("scale", Flag("noscale"), default=True, doc="`noscale` drops gamma (InceptionV3)"),
        Arg("center", Flag("nocenter"), default=True, doc="`nocenter` drops beta"),
        Arg(
            "eps",
            FloatType(0.0, None, "a small positive number"),
            default=1e-3,
            doc="epsilon, default 0.001",
            example="eps 1.001e-5",
        ),
        Arg(
            "momentum",
            FloatType(0.0, 1.0, "a number from 0 up to 1"),
            default=0.99,
            doc="moving-average momentum, default 0.99",
            example="momentum 0.9",
        ),
    )
    SUMMARY = "batch normalisation over channels: 4C parameters, 2C of them non-trainable"
    USAGE = "bn [noscale] [nocenter] [eps E] [momentum M]"

    def infer(self, shapes):
        (shape,) = shapes
        channels = shape[-1]
        learned = int(self["scale"]) + int(self["center"])
        return Inferred(shape, "BatchNormalization", trainable=learned * channels, non_trainable=2 * channels)


class LayerNorm(LayerKind):
    KEYWORDS = ("layernorm", "ln")
    ARGS = (
        Arg("scale", Flag("noscale"), default=True, doc="`noscale` drops gamma"),
        Arg("center", Flag("nocenter"), default=True, doc="`nocenter` drops beta"),
        Arg(
            "eps",
            FloatType(0.0, None, "a small positive number"),
            default=1e-3,
            doc="epsilon, default 0.001",
            example="eps 1e-6",
        ),
    )
    SUMMARY = "layer normalisation over the last axis: 2C parameters"
    USAGE = "layernorm [noscale] [nocenter] [eps E]"

    def infer(self, shapes):
        (shape,) = shapes
        learned = int(self["scale"]) + int(self["center"])
        return Inferred(shape, "LayerNormalization", trainable=learned * shape[-1])


class Rescale(LayerKind):
    KEYWORDS = ("rescale", "rescaling")
    ARGS = (
        Arg(
            "scale", FloatType(), positional=True, required=True, doc="multiplier, e.g. 1/255", example="rescale 1/255"
        ),
        Arg("offset", FloatType(), default=0.0, doc="added after scaling", example="offset -1"),
    )
    SUMMARY = "multiplies by a constant and adds an offset (Keras `Rescaling`)"
    USAGE = "rescale 1/255 [offset O]"

    def infer(self, shapes):
        return Inferred(shapes[0], "Rescaling")


class Normalize(LayerKind):
    KEYWORDS = ("normalize", "normalization")
    SUMMARY = "per-channel (x - mean) / sqrt(variance), statistics from `adapt` (Keras `Normalization`)"
    USAGE = "normalize"

    def infer(self, shapes):
        (shape,) = shapes
        # Keras keeps mean and variance per channel plus a scalar count.
        return Inferred(shape, "Normalization", non_trainable=2 * shape[-1] + 1)
