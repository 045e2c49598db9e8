"""Spatial resizing without weights: zeropad, crop, upsample."""

from __future__ import annotations

from .base import (
    Arg,
    Call,
    Choice,
    Inferred,
    LayerKind,
    SizeType,
    TorchModule,
    Window,
    axes,
    axis_names,
    channels_first,
    describe_shape,
    kw,
    literal,
    prod,
    require_rank,
    torch_pad,
)


def keras_sides(pairs) -> str:
    """Keras's (before, after) per axis, in its shortest exact form."""
    if all(a == b for a, b in pairs):
        return axes([a for a, _ in pairs]) if len(pairs) > 1 else str(pairs[0][0])
    return literal(tuple(pairs)) if len(pairs) > 1 else literal(pairs[0])


HINT = "put it before any flatten, dense or global pooling layer"


def per_side(layer: LayerKind, rank: int) -> tuple[tuple[int, int], ...]:
    """`3`, `1x2` (per axis) or 2*rank numbers (per side, Keras order) to pairs."""
    given = layer["padding"]
    flat = [v for size in given for v in size]
    if len(given) == 1 and len(given[0]) == rank and rank > 1:
        return tuple((v, v) for v in given[0])
    if len(flat) == 1:
        return ((flat[0], flat[0]),) * rank
    if len(flat) == rank:
        return tuple((v, v) for v in flat)
    if len(flat) == 2 * rank:
        return tuple((flat[2 * i], flat[2 * i + 1]) for i in range(rank))
    counts = sorted({1, rank, 2 * rank})
    allowed = ", ".join(map(str, counts[:-1])) + f" or {counts[-1]}"
    raise layer.fail(
        f"`{layer.keyword}` on a {rank}-D input takes {allowed} numbers, not {len(flat)}",
        "padding",
        f"e.g. `{layer.keyword} 1` (all sides), or {' '.join(['0', '1'] * rank)} (before and after each axis)",
    )


class ZeroPad(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("zeropad", "pad")
    ARGS = (
        Arg(
            "padding",
            SizeType(minimum=0),
            positional=True,
            required=True,
            variadic=True,
            doc="P, PxQ, or before/after per axis",
            example="zeropad 1",
        ),
    )
    SUMMARY = "pads with zeros: `zeropad 3`, `zeropad 1x2`, or per side `zeropad 0 1 0 1` (top bottom left right)"
    USAGE = "zeropad P | zeropad PxQ | zeropad TOP BOTTOM LEFT RIGHT"
    FOREIGN = (
        ("Keras", "ZeroPadding1D ZeroPadding2D ZeroPadding3D", "padding data_format"),
    )

    def infer(self, shapes):
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), HINT)
        pads = per_side(self, rank)
        out = tuple(None if n is None else n + a + b for n, (a, b) in zip(shape[:-1], pads)) + shape[-1:]
        return Inferred(out, f"ZeroPadding{rank}D", resolved={"rank": rank, "pads": pads})

    def explain_shape(self, node):
        r = node.resolved
        lines = ["out = before + n + after"]
        for name, n, out, (before, after) in zip(axis_names(r["rank"]), node.in_shapes[0], node.shape, r["pads"]):
            lines.append(f"{name}: {before} + {n} + {after} = {out}")
        return lines + [f"channels: {node.shape[-1]}, as its input"]

    def window(self, node):
        return tuple(Window(1, 1, before) for before, _ in node.resolved["pads"])

    def keras(self, node):
        return Call(f"layers.ZeroPadding{node.resolved['rank']}D", [keras_sides(node.resolved["pads"])])

    def torch(self, node, step):
        return [lambda x: Call("F.pad", [x, literal(torch_pad(node.resolved["pads"]))])]


class Crop(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("crop", "cropping")
    ARGS = (
        Arg(
            "padding",
            SizeType(minimum=0),
            positional=True,
            required=True,
            variadic=True,
            doc="C, CxD, or before/after per axis",
            example="crop 1",
        ),
    )
    SUMMARY = "crops the borders: the same forms as zeropad"
    USAGE = "crop C | crop CxD | crop TOP BOTTOM LEFT RIGHT"

    def infer(self, shapes):
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), HINT)
        crops = per_side(self, rank)
        out = tuple(None if n is None else n - a - b for n, (a, b) in zip(shape[:-1], crops))
        if min((n for n in out if isinstance(n, int)), default=1) <= 0:
            raise self.fail(f"cropping {describe_shape(shape[:-1])} by {crops} leaves nothing", "padding", "crop less")
        return Inferred(out + shape[-1:], f"Cropping{rank}D", resolved={"rank": rank, "crops": crops})

    def explain_shape(self, node):
        r = node.resolved
        lines = ["out = n − before − after"]
        for name, n, out, (before, after) in zip(axis_names(r["rank"]), node.in_shapes[0], node.shape, r["crops"]):
            lines.append(f"{name}: {n} − {before} − {after} = {out}")
        return lines + [f"channels: {node.shape[-1]}, as its input"]

    def window(self, node):
        return tuple(Window(1, 1, -before) for before, _ in node.resolved["crops"])

    def keras(self, node):
        return Call(f"layers.Cropping{node.resolved['rank']}D", [keras_sides(node.resolved["crops"])])

    def torch(self, node, step):
        spans = []
        for n, (before, after) in zip(node.in_shapes[0][:-1], node.resolved["crops"]):
            end = -after if n is None else n - after  # from the end where the size is only known when run
            spans.append(f"{before or ''}:{end}" if after else f"{before or ''}:")
        return [lambda x: f"{x}[:, :, {', '.join(spans)}]"]


class UpSample(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("upsample", "upsampling")
    ARGS = (
        Arg("size", SizeType(), default=(2,), positional=True, doc="factor per axis (default 2)", example="upsample 2"),
        Arg(
            "interpolation",
            Choice("nearest", "bilinear"),
            default="nearest",
            doc="`nearest` (default) or `bilinear` (2-D only)",
        ),
    )
    SUMMARY = "repeats rows and columns by a factor"
    USAGE = "upsample [SIZE] [nearest|bilinear]"
    FOREIGN = (
        ("PyTorch", "Upsample", "size=! scale_factor=size mode=interpolation"),
        ("Keras", "UpSampling1D UpSampling2D UpSampling3D", "size data_format interpolation"),
    )

    def infer(self, shapes):
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), HINT)
        size = self["size"]
        if rank == 1 and len(size) != 1:
            raise self.fail("1-D upsampling takes one factor", "size")
        size = size * rank if len(size) == 1 else size
        if len(size) != rank:
            raise self.fail(f"`size` {describe_shape(size)} has {len(size)} axes but the input has {rank} here", "size")
        if self["interpolation"] == "bilinear" and rank != 2:
            raise self.fail("`bilinear` upsampling is only for 2-D inputs", "interpolation", "use `nearest`")
        out = tuple(None if n is None else n * f for n, f in zip(shape[:-1], size)) + shape[-1:]
        return Inferred(out, f"UpSampling{rank}D", resolved={"rank": rank, "size": size})

    def window(self, node):
        """Nearest reads one input, bilinear two; each output step is 1/factor of an input step."""
        from fractions import Fraction  # only receptive fields need it: ~1.5 ms of every start

        size = 2 if self["interpolation"] == "bilinear" else 1
        return tuple(Window(size, Fraction(1, f), Fraction(size - 1, 2)) for f in node.resolved["size"])

    def explain_shape(self, node):
        r = node.resolved
        lines = ["out = n·factor"]
        for name, n, out, f in zip(axis_names(r["rank"]), node.in_shapes[0], node.shape, r["size"]):
            lines.append(f"{name}: {n}·{f} = {out}")
        return lines + [f"channels: {node.shape[-1]}, as its input"]

    def keras(self, node):
        r = node.resolved
        args = [axes(r["size"])]
        if self["interpolation"] != "nearest":
            args.append(kw("interpolation", literal(self["interpolation"])))
        return Call(f"layers.UpSampling{r['rank']}D", args)

    def torch(self, node, step):
        r = node.resolved
        factor = axes(r["size"]) if len(set(r["size"])) == 1 else literal(tuple(float(f) for f in r["size"]))
        args = [kw("scale_factor", factor), kw("mode", literal(self["interpolation"]))]
        if self["interpolation"] == "bilinear":
            args.append(kw("align_corners", False))
        up = step.module(Call("nn.Upsample", args))
        return [lambda x: Call(up, [x])]

    def torch_modules(self, node):
        return [TorchModule("Upsample", channels_first(node.shape))]

    def counts(self, node):
        """ptflops counts each output twice (nn.Upsample's hook and F.interpolate); fvcore 1 (nearest)
        or 4 (bilinear) per output, 2-D only; thop 11 per output for bilinear, nearest free."""
        outputs, bilinear = prod(node.shape), self["interpolation"] == "bilinear"
        return {
            "ptflops": 2 * outputs,
            "fvcore": (4 if bilinear else 1) * outputs if node.resolved["rank"] == 2 else 0,
            "thop": 11 * outputs if bilinear else 0,
        }
