"""Pooling: maxpool/pool, avgpool, and the global pools gap and gmp."""

from __future__ import annotations

import math

from ..core.sizes import Size
from .base import (
    Arg,
    Call,
    Choice,
    Flag,
    Inferred,
    LayerKind,
    SizeType,
    TorchModule,
    Window,
    axes,
    axis_names,
    channels_first,
    conv_windows,
    describe_shape,
    dot,
    figure,
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


def module_input(node) -> tuple[int, ...]:
    """The spatial size the PyTorch pooling module reads: padded first where Keras pads unevenly."""
    pads, spatial = node.resolved["pads"], node.in_shapes[0][:-1]
    if all(a == b for a, b in pads):
        return spatial
    return tuple(n + a + b for n, (a, b) in zip(spatial, pads))


def thop_window_sum(n: int, k: int, s: int, p: int, out: int) -> int:
    """thop's count of input values summed along one axis by an AvgPool (padding left out):
    the sum over windows i of min(i·s − p + k, n) − max(i·s − p, 0), in closed form, as `out`
    may be up to 2^31 (equal to that sum for every valid and padded window of n < 35, k < 9, s < 6)."""
    return out * (k - p) + s * (out * (out - 1) // 2) - _positive_sum(k - p - n, s, out) - _positive_sum(-p, s, out)


def _positive_sum(c: int, s: int, out: int) -> int:
    """The sum of max(i·s + c, 0) for i from 0 to out − 1."""
    first = 0 if c > 0 else -c // s + 1
    if first >= out:
        return 0
    m = out - first
    return m * c + s * (m * (first + out - 1) // 2)


class _Pool(LayerKind):
    NEEDS_LAST_AXIS = False
    ARGS = (
        Arg("size", SizeType(), default=(2,), positional=True, doc="pool size (default 2)", example="maxpool 2"),
        Arg("stride", SizeType(), default=None, doc="defaults to the pool size, as in Keras", example="stride 2"),
        Arg("padding", Choice("valid", "same"), default="valid", doc="`valid` (default) or `same`"),
    )
    KERAS_NAME = ""

    def infer(self, shapes):
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), POOL_HINT)
        size = fit_size(self, "size", self["size"], rank, shape)
        stride = fit_size(self, "stride", self["stride"], rank) if self["stride"] is not None else size
        out, pads = sliding_window(
            self, shape, size, stride, (1,) * rank, self["padding"], arg="size", words="pool size"
        )
        return Inferred(
            out + shape[-1:],
            f"{self.KERAS_NAME}{rank}D",
            resolved={"rank": rank, "size": size, "stride": stride, "pads": pads},
        )

    def window(self, node):
        r = node.resolved
        return conv_windows(r["size"], r["stride"], (1,) * r["rank"], r["pads"])

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


def _clipped(n: int, k: int, s: int, first: int, out: int) -> list[tuple[int, int]]:
    """The input positions each of `out` windows of size k covers, the first starting at `first`."""
    return [(max(first + i * s, 0), min(first + i * s + k, n)) for i in range(out)]


def keras_max_padding(spatial, out, size, stride, pads) -> str | None:
    """`valid` or `same` when Keras's windows, clipped to the input, are PyTorch's on every axis (the
    -inf padding never wins a max, so the values agree too); else None."""
    fits = {"valid", "same"}
    for n, o, k, s, (p, _) in zip(spatial, out, size, stride, pads):
        torch = _clipped(n, k, s, -p, o)
        if n < k or _clipped(n, k, s, 0, (n - k) // s + 1) != torch:
            fits.discard("valid")
        same_out = -(-n // s)  # Keras pads `same` with the smaller half on the left
        if _clipped(n, k, s, -(max((same_out - 1) * s + k - n, 0) // 2), same_out) != torch:
            fits.discard("same")
    return "valid" if "valid" in fits else "same" if fits else None


KERAS_MAX_POOL_PADDED = '''
class MaxPoolPadded(layers.Layer):
    """PyTorch's max pooling with `padding` and `ceil_mode`: pads each spatial axis with
    -inf (before, after), the after side longer where ceil_mode keeps a last partial
    window, then pools `valid`. Keras's own `same` and `valid` take other windows for
    these sizes."""

    def __init__(self, pool_size, strides, pads, **kwargs):
        super().__init__(**kwargs)
        self.pads = tuple(tuple(p) for p in pads)
        self.pool_size = self.per_axis(pool_size)
        self.strides = self.per_axis(strides)

    def per_axis(self, value):
        if isinstance(value, (list, tuple)):
            return tuple(value)
        return (value,) * len(self.pads)

    def call(self, x):
        pads = ((0, 0), *self.pads, (0, 0))
        x = keras.ops.pad(x, pads, constant_values=float("-inf"))
        return keras.ops.max_pool(x, self.pool_size, self.strides, padding="valid")

    def compute_output_shape(self, input_shape):
        sizes = input_shape[1:-1]
        axes = zip(sizes, self.pads, self.pool_size, self.strides, strict=True)
        spatial = [
            None if n is None else (n + a + b - k) // s + 1 for n, (a, b), k, s in axes
        ]
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self):
        config = {"pool_size": self.pool_size, "strides": self.strides}
        return {**super().get_config(), **config, "pads": self.pads}
'''


KERAS_AVG_POOL_SAME = '''
class AveragePooling{rank}D(layers.AveragePooling{rank}D):
    """Keras's own with `same` padding as TensorFlow and JAX compute it, on any backend:
    zeros padded (the odd one after), each window's sum divided by its count of input
    values. On the torch backend Keras's averages copies of the edge in instead."""

    def call(self, x):
        pads = [(0, 0)]
        for n, k, s in zip(x.shape[1:-1], self.pool_size, self.strides, strict=True):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        pads.append((0, 0))
        ones = keras.ops.pad(keras.ops.ones_like(x[..., :1]), pads)
        window = (self.pool_size, self.strides)
        total = keras.ops.average_pool(keras.ops.pad(x, pads), *window, padding="valid")
        return total / keras.ops.average_pool(ones, *window, padding="valid")
'''


def torch_window(n: int, k: int, s: int, p: int, ceil: bool) -> int:
    """PyTorch's pooled length: `(n + 2p - k) / s + 1` rounded down, or up with `ceil`, where a
    last window that would start in the right padding is dropped."""
    out = (n + 2 * p - k + (s - 1 if ceil else 0)) // s + 1
    if ceil and isinstance(n, Size):
        # the test below is (q mod s) ≤ t for q = n + 2p − k + s − 1, t = p − k + s − 1: an expression too
        threshold = p - k + s - 1
        if threshold >= s - 1:
            out -= 1
        elif threshold >= 0:
            out -= 1 - ((n + 2 * p - k + s - 1) % s + s - threshold - 1) // s
    elif ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


class MaxPool(_Pool):
    KEYWORDS = ("maxpool", "pool", "max_pool")
    ARGS = (
        *_Pool.ARGS,
        Arg(
            "pad",
            SizeType(minimum=0),
            default=None,
            doc="PyTorch's `padding`: pads every side with -inf, at most half the pool size",
            example="pad 1",
        ),
        Arg("ceil", Flag("ceil"), default=False, doc="`ceil` rounds the output size up (PyTorch's `ceil_mode`)"),
    )
    KERAS_NAME = "MaxPooling"
    SUMMARY = "max pooling; stride defaults to the pool size; `pad` and `ceil` as PyTorch's padding and ceil_mode"
    USAGE = "maxpool [SIZE] [stride S] [same|valid] [pad P] [ceil]"
    FOREIGN = (
        ("PyTorch", "MaxPool1d MaxPool2d MaxPool3d", "kernel_size=size stride padding=pad dilation=! return_indices=! ceil_mode=ceil"),
        ("Keras", "MaxPooling1D MaxPooling2D MaxPooling3D MaxPool2D", "pool_size=size strides=stride padding data_format"),
    )

    def validate(self):
        if (self["pad"] is not None or self["ceil"]) and self["padding"] == "same":
            raise self.fail("`same` cannot be combined with `pad` or `ceil`", "padding", "use `pad` and `ceil` alone")

    def infer(self, shapes):
        if self["pad"] is None and not self["ceil"]:
            return super().infer(shapes)
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), POOL_HINT)
        size = fit_size(self, "size", self["size"], rank, shape)
        stride = fit_size(self, "stride", self["stride"], rank) if self["stride"] is not None else size
        pad = fit_size(self, "pad", self["pad"] or (0,), rank)
        for k, p in zip(size, pad):
            if 2 * p > k:
                raise self.fail(
                    f"padding {p} is more than half the pool size {k}", "pad", "PyTorch pads at most half a window"
                )
        out = tuple(
            None if n is None else torch_window(n, k, s, p, self["ceil"])
            for n, k, s, p in zip(shape[:-1], size, stride, pad)
        )
        if min((n for n in out if isinstance(n, int)), default=1) < 1:
            raise self.fail(
                f"pool size {describe_shape(size)} is larger than its {describe_shape(shape[:-1])} input, padded",
                "size",
                "use a smaller pool, more `pad`, or `ceil`",
            )
        pads = tuple((p, p) for p in pad)
        # Keras's own layer where its `valid` or `same` takes PyTorch's windows, else the module's MaxPoolPadded
        # (asked on sizes alone: on `?` axes' expressions there is no window to compare)
        concrete = all(type(n) is int for n in shape[:-1])
        if concrete:
            padded = keras_max_padding(shape[:-1], out, size, stride, pads) is None
        else:  # an unknown size: only PyTorch's fixed -inf padding (no ceil) is one Keras layer at every size
            padded = not self["ceil"] and any(pad)
        return Inferred(
            out + shape[-1:],
            "MaxPoolPadded" if padded else f"{self.KERAS_NAME}{rank}D",
            resolved={"rank": rank, "size": size, "stride": stride, "pads": pads},
        )

    def explain_shape(self, node):
        if self["pad"] is None and not self["ceil"]:
            return super().explain_shape(node)
        r = node.resolved
        rounding = "ceil" if self["ceil"] else "floor"
        lines = [
            f"window {describe_shape(r['size'])}, stride {describe_shape(r['stride'])}",
            f"PyTorch's rule: out = {rounding}((n + 2·p − k)/s) + 1"
            + ("; a last window starting in the right padding is dropped" if self["ceil"] else ""),
        ]
        for name, n, out, k, st, (p, _) in zip(
            axis_names(r["rank"]), node.in_shapes[0], node.shape, r["size"], r["stride"], r["pads"]
        ):
            lines.append(f"{name}: {rounding}(({n} + 2·{p} − {k})/{st}) + 1 = {out}")
        return lines + [f"channels: {node.shape[-1]}, as its input"]

    def keras(self, node):
        if not self["ceil"] and self["pad"] is None:
            return super().keras(node)
        r = node.resolved
        if None in node.in_shapes[0]:
            if self["ceil"]:
                raise self.unsupported(
                    "Keras",
                    "with `ceil`, whether a last partial window is kept depends on the input's size, which is "
                    "unknown here; give the input a size, or use `pad` alone, `same` or `valid`",
                )
            # PyTorch pads p on each side and pools `valid` at every size: the padding is fixed
            if not any(p for p, _ in r["pads"]):
                return Call(f"layers.{self.KERAS_NAME}{r['rank']}D", [axes(r["size"]), kw("strides", axes(r["stride"]))])
            return Call("MaxPoolPadded", [axes(r["size"]), axes(r["stride"]), literal(tuple(r["pads"]))])
        padding = self.keras_padding(node)
        if padding is None:  # pad with -inf as PyTorch does (and on the right for `ceil`), then pool `valid`
            pads = []
            for n, out, k, s, (p, _) in zip(node.in_shapes[0], node.shape, r["size"], r["stride"], r["pads"]):
                pads.append((p, p + max((out - 1) * s + k - (n + 2 * p), 0)))
            return Call("MaxPoolPadded", [axes(r["size"]), axes(r["stride"]), literal(tuple(pads))])
        args = [axes(r["size"]), kw("strides", axes(r["stride"]))]
        return Call(
            f"layers.{self.KERAS_NAME}{r['rank']}D", args + [kw("padding", literal("same"))] * (padding == "same")
        )

    def keras_helpers(self, node):
        # infer chose the Keras layer (its type is the summary's row); refused `ceil` on `?` axes is not padded
        padded = node.keras_type == "MaxPoolPadded"
        return {"MaxPoolPadded": KERAS_MAX_POOL_PADDED} if padded else {}

    def keras_padding(self, node) -> str | None:
        r = node.resolved
        return keras_max_padding(node.in_shapes[0][:-1], node.shape[:-1], r["size"], r["stride"], r["pads"])

    def torch(self, node, step):
        """Keras's `same` padding never wins a max: pad with -inf where PyTorch's own cannot."""
        r = node.resolved
        any_size = (step, r["size"], r["stride"], (1,) * r["rank"])
        steps, padding = torch_padding(r["pads"], value='float("-inf")', any_size=any_size)
        args = self.torch_pool(node, padding)
        if self["ceil"]:
            args.append(kw("ceil_mode", True))
        pool = step.module(Call(f"nn.MaxPool{node.resolved['rank']}d", args))
        return [*steps, lambda x: Call(pool, [x])]

    def torch_modules(self, node):
        return [TorchModule(f"MaxPool{node.resolved['rank']}d", channels_first(node.shape))]

    def counts(self, node):
        """ptflops counts each input value twice: nn.MaxPool's hook, then the F.max_pool call inside it."""
        return {"ptflops": 2 * prod(module_input(node)) * node.shape[-1]}


class AvgPool(_Pool):
    KEYWORDS = ("avgpool", "avg_pool", "averagepool")
    ARGS = (
        *_Pool.ARGS,
        Arg(
            "pad",
            SizeType(minimum=0),
            default=None,
            doc="PyTorch's `padding`: zeros on every side, counted in each average (`count_include_pad=True`)",
            example="pad 1",
        ),
    )
    KERAS_NAME = "AveragePooling"
    SUMMARY = (
        "average pooling; with `same`, the padding is left out of each average; "
        "with `pad`, its zeros are counted (PyTorch's default)"
    )
    USAGE = "avgpool [SIZE] [stride S] [same|valid] [pad P]"
    FOREIGN = (
        ("PyTorch", "AvgPool1d AvgPool2d AvgPool3d", "kernel_size=size stride padding=pad ceil_mode=! count_include_pad=! divisor_override=!"),
        ("Keras", "AveragePooling1D AveragePooling2D AveragePooling3D AvgPool2D", "pool_size=size strides=stride padding data_format"),
    )

    def validate(self):
        if self["pad"] is not None and self["padding"] == "same":
            raise self.fail(
                "`same` cannot be combined with `pad`",
                "padding",
                "`same` leaves its padding out of each average, `pad` counts its zeros: use one of them",
            )

    def lower(self):
        """`pad P`: a zeropad of P, then a valid pool, whose every window holds the full count of values,
        the zeros among them: PyTorch's `padding=P` with `count_include_pad=True`, in both targets."""
        if self["pad"] is None:
            return [self]
        from .resize import ZeroPad

        # named `pad`, as written: a wrong count of numbers is reported in the file's words
        pad = ZeroPad("pad", {"padding": (self["pad"],)}, {"padding": self.span_of("pad")}, self.span)
        options = dict(self.options, pad=None, padding="valid", counted_pad=self["pad"])
        spans = {k: v for k, v in self.spans.items() if k != "pad"}
        return [pad, type(self)(self.keyword, options, spans, self.span)]

    def infer(self, shapes):
        inferred = super().infer(shapes)
        if self.options.get("counted_pad") is None:
            return inferred
        r = inferred.resolved
        pad = self.options["counted_pad"]
        r["counted_pad"] = pad
        if len(pad) not in (1, r["rank"]):  # before and after each axis (`pad 0x1x0x1`): an F.pad in PyTorch
            return inferred
        pad = fit_size(self, "pad", pad, r["rank"])
        unpadded = [None if n is None else n - 2 * p for n, p in zip(shapes[0][:-1], pad)]
        # PyTorch's own `padding=` takes at most half a window, and avg_pool3d refuses an input smaller
        # than its window before padding it: there the zeros stay an explicit F.pad
        if all(2 * p <= k for p, k in zip(pad, r["size"])) and (
            r["rank"] < 3 or all(isinstance(n, int) and n >= k for n, k in zip(unpadded, r["size"]))
        ):
            r["torch_padding"] = pad
        return inferred

    def explain_shape(self, node):
        r = node.resolved
        lines = super().explain_shape(node)
        window = f"{dot(*r['size'])} = {figure(prod(r['size']))}" if r["rank"] > 1 else str(r["size"][0])
        if "counted_pad" in r:
            pad = r["counted_pad"]
            written = str(pad[0]) if len(set(pad)) == 1 else describe_shape(pad)
            divisor = (
                f"divisor: always {window} values, the zeros of `pad {written}` "
                "counted (PyTorch's count_include_pad=True)"
            )
        elif self["padding"] == "same" and any(pads is None or any(pads) for pads in r["pads"]):
            divisor = (
                f"divisor: how many of the window's values are inside the input ({window} away from the border); "
                "the padding is left out (Keras's rule, PyTorch's count_include_pad=False)"
            )
        else:
            divisor = f"divisor: {window} values, every window inside the input"
        return lines[:-1] + [divisor, lines[-1]]

    def keras(self, node):
        call = super().keras(node)
        if self.uneven_same(node):  # the module's own AveragePooling class, of the same name and settings
            call.func = str(call.func).removeprefix("layers.")
        return call

    def keras_helpers(self, node):
        if not self.uneven_same(node):
            return {}
        name = f"AveragePooling{node.resolved['rank']}D"
        return {name: KERAS_AVG_POOL_SAME.replace("{rank}", str(node.resolved["rank"]))}

    def uneven_same(self, node) -> bool:
        """`same` padding more after than before on some axis (or on an axis of unknown size): there
        Keras's AveragePooling computes another function on its torch backend."""
        pads = node.resolved.get("pads") or ()
        return self["padding"] == "same" and any(pair is None or pair[0] != pair[1] for pair in pads)

    def torch(self, node, step):
        """Keras leaves `same` padding out of each average: `count_include_pad=False` does so
        where the padding is symmetric, the AvgPoolSame helper where it is not. `pad P` is the
        pool's own `padding=P` (its zeros counted, PyTorch's default) where PyTorch allows it."""
        r = node.resolved
        if step.target.absorbed_pads.get(node.id) is not None:
            pool = step.module(Call(f"nn.AvgPool{r['rank']}d", self.torch_pool(node, axes(r["torch_padding"]))))
            return [lambda x: Call(pool, [x])]
        if None in r["pads"]:  # `same` with a stride on an axis of unknown size: padded when run
            step.helper("keras_same_pad")
            pool = Call(f"nn.AvgPool{r['rank']}d", self.torch_pool(node))
            sizes = [literal(tuple(r["size"])), literal(tuple(r["stride"]))]
            pool = step.module(Call(step.helper("AvgPoolSameAnySize"), [pool, *sizes]))
            return [lambda x: Call(pool, [x])]
        steps, padding = torch_padding(r["pads"])
        # avg_pool3d refuses an input smaller than its window before padding it: pad first
        explicit = bool(steps) or (
            r["rank"] == 3 and any(n is None or n < k for n, k in zip(node.in_shapes[0], r["size"]))
        )
        if explicit:
            padding = 0
        pool = Call(f"nn.AvgPool{r['rank']}d", self.torch_pool(node, padding))
        if padding not in (0, "0"):
            pool.args.append(kw("count_include_pad", False))
        if explicit:
            pool = Call(step.helper("AvgPoolSame"), [pool, kw("pad", literal(torch_pad(r["pads"])))])
        pool = step.module(pool)
        return [lambda x: Call(pool, [x])]

    def torch_modules(self, node):
        pool, out = f"AvgPool{node.resolved['rank']}d", channels_first(node.shape)
        if module_input(node) == node.in_shapes[0][:-1]:
            return [TorchModule(pool, out)]
        ones = (1, *node.shape[:-1])  # the divisor: the same pooling over a padded tensor of ones
        return [TorchModule("AvgPoolSame", out, children=(TorchModule(pool, out), TorchModule(pool, ones)))]

    def counts(self, node):
        """ptflops counts each input value twice (module hook and F.avg_pool); thop one add per value
        in each window and one divide per output. With uneven padding the module runs twice, on the
        padded input and on a padded one-channel tensor of ones (the divisor)."""
        r, channels = node.resolved, node.shape[-1]
        padded = module_input(node)
        even = padded == node.in_shapes[0][:-1]
        if "torch_padding" in r:  # `pad P` as the pool's own padding: ptflops sees the input before it
            read = [n - 2 * p for n, p in zip(padded, r["torch_padding"])]
            windows = prod(thop_window_sum(n, k, s, 0, o) for n, k, s, o in zip(padded, r["size"], r["stride"], node.shape[:-1]))
            return {"ptflops": 2 * prod(read) * channels, "thop": channels * (windows + prod(node.shape[:-1]))}
        pads = [a for a, _ in r["pads"]] if even else [0] * len(padded)
        windows = prod(
            thop_window_sum(n, k, s, p, o)
            for n, k, s, p, o in zip(padded, r["size"], r["stride"], pads, node.shape[:-1])
        )
        calls = channels if even else channels + 1
        return {
            "ptflops": 2 * prod(padded) * calls,
            "thop": calls * (windows + prod(node.shape[:-1])),
        }


class _GlobalPool(LayerKind):
    NEEDS_LAST_AXIS = False
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
            f"one value per channel from {dot(*spatial)} = {figure(prod(spatial))} positions{kept}; {node.shape[-1]} channels"
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
    FOREIGN = (
        ("Keras", "GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalAvgPool2D", "data_format keepdims"),
    )


class GlobalMaxPool(_GlobalPool):
    KEYWORDS = ("gmp", "globalmaxpool")
    KERAS_NAME = "GlobalMaxPooling"
    TORCH_METHOD = "amax"
    SUMMARY = "global max pooling to one value per channel"
    USAGE = "gmp [keepdims]"
    FOREIGN = (
        ("Keras", "GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlobalMaxPool2D", "data_format keepdims"),
    )


def adaptive_widest(n: int, o: int) -> int:
    """The widest of PyTorch's adaptive windows, floor(i·n/o) .. ceil((i+1)·n/o) − 1, for n inputs
    and o outputs; in closed form, as o may be up to 2^31 (checked against the windows for n, o < 80)."""
    q, r = divmod(n, o)
    return q if r == 0 else q + (2 if r > math.gcd(r, o) else 1)


def adaptive_total(n: int, o: int) -> int:
    """The sum of the widths of all o adaptive windows over n inputs, in closed form."""
    q, r = divmod(n, o)
    return o * q if r == 0 else o * q + o + r - math.gcd(r, o)


class AdaptiveAvgPool(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("adaptivepool", "adaptive_avg_pool", "adaptiveavgpool")
    ARGS = (Arg("size", SizeType(), positional=True, required=True, doc="output size", example="adaptivepool 7x7"),)
    SUMMARY = "average pooling to a fixed output size, PyTorch's windows (`AdaptiveAvgPool2d`)"
    USAGE = "adaptivepool SIZE"
    FOREIGN = (
        ("PyTorch", "AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d", "output_size=size"),
    )

    def infer(self, shapes):
        (shape,) = shapes
        rank = require_rank(self, shape, (1, 2, 3), POOL_HINT)
        size = fit_size(self, "size", self["size"], rank)
        return Inferred(size + shape[-1:], f"AdaptiveAveragePooling{rank}D", resolved={"rank": rank, "size": size})

    def window(self, node):
        """Output i averages inputs floor(i·n/o) .. ceil((i+1)·n/o) − 1: windows n/o apart, the widest counted."""
        from fractions import Fraction  # only receptive fields need it: ~1.5 ms of every start

        windows = []
        for n, o in zip(node.in_shapes[0][:-1], node.resolved["size"]):
            # on an axis of unknown size, the windows' width and spacing are unknown too
            windows.append(Window(None, None, 0) if n is None else Window(adaptive_widest(n, o), Fraction(n, o), 0))
        return tuple(windows)

    def explain_shape(self, node):
        lines = ["out = the size asked for; output i averages inputs floor(i·n/out) to ceil((i+1)·n/out) − 1"]
        for name, n, o in zip(axis_names(node.resolved["rank"]), node.in_shapes[0], node.resolved["size"]):
            widest = "a width that depends on the unknown size" if n is None else f"up to {adaptive_widest(n, o)}"
            lines.append(f"{name}: {n} → {o}, windows of {widest}")
        return lines + [f"channels: {node.shape[-1]}, as its input"]

    def keras(self, node):
        size = node.resolved["size"]
        return Call(f"layers.AdaptiveAveragePooling{node.resolved['rank']}D", [axes(size)])

    def torch(self, node, step):
        pool = step.module(Call(f"nn.AdaptiveAvgPool{node.resolved['rank']}d", [axes(node.resolved["size"])]))
        return [lambda x: Call(pool, [x])]

    def torch_modules(self, node):
        return [TorchModule(f"AdaptiveAvgPool{node.resolved['rank']}d", channels_first(node.shape))]

    def counts(self, node):
        """ptflops counts each input twice (hook and F.adaptive_avg_pool), fvcore once but for 2-D
        only; thop the values in each of PyTorch's windows plus one divide per output."""
        inputs = prod(node.in_shapes[0])
        windows = prod(adaptive_total(i, o) for i, o in zip(node.in_shapes[0][:-1], node.shape[:-1]))
        return {
            "ptflops": 2 * inputs,
            "fvcore": inputs if node.resolved["rank"] == 2 else 0,
            "thop": windows * node.shape[-1] + prod(node.shape),
        }
