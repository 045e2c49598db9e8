"""Convolutions: conv, dwconv (depthwise), sepconv (separable), deconv (transposed)."""

from __future__ import annotations

from ..core.errors import Edit, Hint
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
    Choice,
    Flag,
    Inferred,
    IntType,
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
    same_pads,
    torch_pad,
    window_lines,
)

CONV_HINT = "conv needs an image-like input; put it before any flatten or dense layer"


def sliding_window(layer: LayerKind, shape, kernel, stride, dilation, padding, arg="kernel", words="kernel"):
    """Output spatial size and per-axis (before, after) padding, Keras's rules."""
    spatial = shape[:-1]
    out, pads = [], []
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    for n, k, s in zip(spatial, effective, stride):
        if n is None:  # an axis of unknown size stays unknown; Keras checks nothing there
            out.append(None)
            pads.append((0, 0) if padding == "valid" else (k - 1, 0) if padding == "causal" else same_pads(n, k, s))
        elif padding == "valid":
            if isinstance(n, int) and k > n:  # a size's expression (a Size) is checked at the run sizes
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
    # an unknown axis (None) never triggers the error, so only the known axes bound the fix
    known = [(n, k, d) for n, k, d in zip(spatial, kernel, dilation) if n is not None]
    most = min(n for n, _, _ in known)
    if any(d > 1 for d in dilation):
        message = (
            f"{words} {describe_shape(kernel)} with dilation {describe_shape(dilation)} spans "
            f"{describe_shape(effective)}, more than its {here} input"
        )
        # the largest dilation with which every axis of the kernel still fits
        fitting = min((n - 1) // (k - 1) if k > 1 else d for n, k, d in known)
        if fitting >= 1:
            hint = Hint(
                f"input is {here} here; use `same`, or a dilation of at most {fitting}",
                _use_same(layer),
                *_replace(layer, "dilation", f"Use dilation {fitting}", f"dilation {fitting}"),
            )
            return layer.fail(message, arg, hint)
    else:
        message = f"{words} {describe_shape(kernel)} is larger than its {here} input"
    fits = tuple(k if n is None else min(k, n) for k, n in zip(kernel, spatial))
    text = str(fits[0]) if len(set(fits)) == 1 else describe_shape(fits)
    hint = Hint(
        f"input is {here} here; use `same` or a {words} of at most {most}",
        _use_same(layer),
        *_replace(layer, arg, f"Use a {words} of {describe_shape(fits)}", text),
    )
    return layer.fail(message, arg, hint)


def _replace(layer, arg: str, title: str, text: str) -> tuple[Edit, ...]:
    """An edit of an argument the user wrote; none for a default."""
    where = layer.spans.get(arg)
    return (Edit(title, text, span=where),) if where is not None else ()


def _use_same(layer) -> Edit:
    """`same` padding: in place of a written `valid`, or after the layer's last argument."""
    where = layer.spans.get("padding")
    if where is None:
        end = layer.span
        where = end.at(end.end_line, end.end_column, end.end_line, end.end_column)
        return Edit("Use `same` padding", " same", span=where)
    return Edit("Use `same` padding", "same", span=where)


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


def transpose_crops(kernel, stride, dilation, padding, outpad):
    """Per axis, what Keras cuts (before, after) from the full transposed-conv output.

    The full output is `(n - 1) * stride + effective kernel` long; a negative
    cut extends it instead. Keras's own rule (its JAX/torch padding helpers).
    """
    crops = []
    for i, (k, s, d) in enumerate(zip(kernel, stride, dilation)):
        k = (k - 1) * d + 1
        extra = outpad[i] if outpad is not None else None
        if padding == "valid":
            left, right = k - 1, k - 1 + (max(k, s) - k if extra is None else extra)
        else:
            total = s + k - 2 if extra is None else k + k % 2 - 2 + extra
            left = min(total // 2 + total % 2, k - 1)
            right = total - left
        crops.append((k - 1 - left, k - 1 - right))
    return tuple(crops)


def torch_padding(pads, value=None, any_size=None):
    """PyTorch padding for Keras pads: (steps padding explicitly, the layer's own `padding`).

    Where a pad depends on an axis of unknown size (None), `any_size` = (step, kernel, stride,
    dilation) pads when run, with the `keras_same_pad` helper.
    """
    if None in pads:
        step, kernel, stride, dilation = any_size
        args = [literal(tuple(kernel)), literal(tuple(stride)), literal(tuple(dilation))]
        helper = step.helper("keras_same_pad")
        return [lambda x: Call(helper, [x, *args, *([kw("value", value)] if value else [])])], 0
    if all(a == b for a, b in pads):
        return [], axes([a for a, _ in pads])
    pad = literal(torch_pad(pads))
    if value is None:
        return [lambda x: Call("F.pad", [x, pad])], 0
    return [lambda x: Call("F.pad", [x, pad, kw("value", value)])], 0


class _Convolution(LayerKind):
    """Shared checks of the convolution family."""

    def torch_modules(self, node):
        return [
            TorchModule(f"Conv{node.resolved['rank']}d", channels_first(node.shape), node.info.trainable),
            *activation_modules(self["activation"], self.conventions, node.shape),
        ]

    def counts(self, node, module_out=None):
        """An nn.ConvNd (or depthwise then pointwise) ending in `module_out` positions, then its activation.

        torchinfo counts every parameter once per output position (so the bias too),
        ptflops adds one bias add per output value, fvcore and thop count the MACs.
        """
        positions = prod(node.shape[:-1]) if module_out is None else module_out
        macs = node.info.macs
        bias = node.shape[-1] if self["bias"] else 0
        return with_counts(
            {
                "cnndsl": macs,
                "torchinfo": node.info.trainable * positions,
                "fvcore": macs,
                "ptflops": macs + bias * positions,
                "thop": macs,
            },
            activation_counts(self["activation"], prod(node.shape), self.conventions),
        )

    def keras_options(self, node) -> list:
        """Keras arguments after filters and kernel, only where they differ from its defaults."""
        r, args = node.resolved, []
        if max(r["stride"]) > 1:
            args.append(kw("strides", axes(r["stride"])))
        if self["padding"] != "valid":
            args.append(kw("padding", literal(self["padding"])))
        if self.options.get("outpad") is not None:
            args.append(kw("output_padding", axes(r["outpad"])))
        if max(r["dilation"]) > 1:
            args.append(kw("dilation_rate", axes(r["dilation"])))
        if self.options.get("groups", 1) > 1:
            args.append(kw("groups", self["groups"]))
        if self.options.get("mult", 1) > 1:
            args.append(kw("depth_multiplier", self["mult"]))
        if self["activation"]:
            args.append(kw("activation", literal(ACTIVATIONS[self["activation"]])))
        if not self["bias"]:
            args.append(kw("use_bias", False))
        return args

    def torch_conv(self, node, step, cin, cout, groups=1, bias=None):
        """`nn.ConvNd(cin, cout, ...)` with Keras's geometry; padding steps before it."""
        r = node.resolved
        absorbed = step.target.absorbed_pads.get(node.id)
        if absorbed is not None:  # `pad P` (a symmetric zeropad just before): the conv's own `padding=`
            steps, padding = [], axes([a for a, _ in absorbed])
        # Uneven `same` stays an explicit F.pad: PyTorch's padding="same" would do at stride 1, but
        # fvcore counts no operations for a conv so written (its aten op has another name).
        else:
            steps, padding = torch_padding(r["pads"], any_size=(step, r["kernel"], r["stride"], r["dilation"]))
        args = [cin, cout, kw("kernel_size", axes(r["kernel"]))]
        if max(r["stride"]) > 1:
            args.append(kw("stride", axes(r["stride"])))
        if padding != 0 and padding != "0":
            args.append(kw("padding", padding))
        if max(r["dilation"]) > 1:
            args.append(kw("dilation", axes(r["dilation"])))
        if groups > 1:
            args.append(kw("groups", groups))
        if not (self["bias"] if bias is None else bias):
            args.append(kw("bias", False))
        return steps, Call(f"nn.Conv{r['rank']}d", args)

    RANKS: tuple[int, ...] = (1, 2, 3)

    def window(self, node):
        r = node.resolved
        return conv_windows(r["kernel"], r["stride"], r["dilation"], r["pads"])

    def explain_shape(self, node):
        r = node.resolved
        lines = window_lines(
            node.in_shapes[0], node.shape, r["kernel"], r["stride"], r["dilation"], self["padding"], r["pads"]
        )
        return lines + [f"channels: {node.shape[-1]}"]

    def explain_macs(self, node):
        """Every output value of a convolution is one dot product over its window."""
        positions, window = node.shape[:-1], self.window_size(node)
        return [f"{dot(*positions)} positions · {node.shape[-1]} filters · {window} = {figure(node.info.macs)}"]

    def window_size(self, node) -> str:
        """The products in one output value's dot product, written out."""
        return dot(*node.resolved["kernel"], node.in_shapes[0][-1])

    # Keras's Conv and ConvTranspose refuse a stride and a dilation both above 1; its
    # DepthwiseConv and SeparableConv accept them together.
    STRIDE_WITH_DILATION = False

    def geometry(self, shape):
        """Rank, kernel, stride and dilation fitted to the input."""
        hint = CONV_HINT
        if len(shape) - 1 > max(self.RANKS):
            hint = f"Keras has no {len(shape) - 1}-D `{self.keyword}`; `conv` works on volumes (`groups` makes it depthwise)"
        rank = require_rank(self, shape, self.RANKS, hint)
        kernel = fit_size(self, "kernel", self["kernel"], rank, shape)
        stride = fit_size(self, "stride", self["stride"], rank)
        dilation = fit_size(self, "dilation", self.options.get("dilation") or (1,), rank)
        if max(stride) > 1 and max(dilation) > 1 and not self.STRIDE_WITH_DILATION:
            raise self.fail(
                "Keras does not allow a stride above 1 together with a dilation above 1",
                "dilation",
                "use either `stride` or `dilation`, or split the layer in two",
            )
        if self["padding"] == "causal" and rank != 1:
            raise self.fail("`causal` padding is only for 1-D (sequence) inputs", "padding", "use `same` or `valid`")
        return rank, kernel, stride, dilation


def _pad_arg() -> Arg:
    return Arg("pad", SizeType(minimum=0), default=None, doc="explicit zero padding before a valid conv", example="pad 1")


def _validate_pad(layer) -> None:
    if layer["pad"] is not None and "padding" in layer.spans and layer["padding"] != "valid":
        raise layer.fail("`pad` and `same` cannot be combined", "pad", "use one of them")


def _lower_pad(layer) -> list:
    """`pad P`: a zeropad of P, then the same layer with valid padding (as PyTorch's `padding=P`)."""
    if layer["pad"] is None:
        return [layer]
    from .resize import ZeroPad

    options = dict(layer.options, pad=None, padding="valid")
    spans = {k: v for k, v in layer.spans.items() if k != "pad"}
    unpadded = type(layer)(layer.keyword, options, spans, layer.span)
    if not any(layer["pad"]):  # `pad k//2` with k = 1: PyTorch's padding=0, no step of its own
        return [unpadded]
    pad = ZeroPad("zeropad", {"padding": (layer["pad"],)}, {"padding": layer.span_of("pad")}, layer.span)
    return [pad, unpadded]


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
        _pad_arg(),
    )
    SUMMARY = "convolution; the input's rank picks Conv1D, Conv2D or Conv3D"
    USAGE = "conv FILTERS KERNEL [stride S] [same|valid] [pad P] [dilation D] [groups G] [nobias] [ACTIVATION]"
    FOREIGN = (
        ("PyTorch", "Conv1d Conv2d Conv3d", "in_channels=- out_channels=filters kernel_size=kernel stride padding=pad dilation groups bias padding_mode=!"),
        ("Keras", "Conv1D Conv2D Conv3D Convolution2D", "filters kernel_size=kernel strides=stride padding data_format dilation_rate=dilation groups activation use_bias=bias"),
    )

    def validate(self):
        if self["filters"] % self["groups"]:
            raise self.fail(
                f"{self['filters']} filters cannot be split into {self['groups']} groups",
                "groups",
                "the number of filters must be a multiple of `groups`",
            )
        _validate_pad(self)

    def lower(self):
        return _lower_pad(self)

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
            macs=prod((*out, filters, per_filter)),
            resolved={"rank": rank, "kernel": kernel, "stride": stride, "dilation": dilation, "pads": pads},
        )

    def window_size(self, node):
        return dot(*node.resolved["kernel"], node.in_shapes[0][-1] // self["groups"])

    def explain_params(self, node):
        kernel, cin, filters, groups = node.resolved["kernel"], node.in_shapes[0][-1], self["filters"], self["groups"]
        per_group = cin // groups
        total = figure(node.info.params)
        weights = prod(kernel) * per_group * filters
        if self["bias"]:
            lines = [
                f"({dot(*kernel, per_group)} + 1)·{filters} = {total}",
                f"{filters}·({dot(per_group, *kernel)} + 1) = {total}, in PyTorch's order "
                f"(weight {describe_shape((filters, per_group, *kernel))})",
            ]
        else:
            lines = [f"{dot(*kernel, per_group, filters)} = {total} (no bias)"]
        lines.append(
            f"kernel {describe_shape((*kernel, per_group, filters))}: {figure(weights)} weights"
            + (f"; bias: {filters}" if self["bias"] else "")
        )
        if groups > 1:
            lines.append(f"groups {groups}: each filter sees {cin}/{groups} = {per_group} input channels")
        return lines

    def keras(self, node):
        r = node.resolved
        return Call(f"layers.Conv{r['rank']}D", [self["filters"], axes(r["kernel"]), *self.keras_options(node)])

    def torch(self, node, step):
        cin = node.in_shapes[0][-1]
        steps, conv = self.torch_conv(node, step, cin, self["filters"], groups=self["groups"])
        conv = step.module(conv)
        return [*steps, lambda x: Call(conv, [x]), *activation_steps(self["activation"], step)]


class DepthwiseConv(_Convolution):
    STRIDE_WITH_DILATION = True
    KEYWORDS = ("dwconv", "depthwise")
    RANKS = (1, 2)
    ARGS = (
        Arg("kernel", SizeType(), positional=True, required=True, doc="kernel size", example="dwconv 3x3"),
        Arg("mult", IntType(), default=1, doc="depth multiplier", example="mult 2"),
        *_common(),
        _pad_arg(),
    )
    SUMMARY = "depthwise convolution: one filter (or `mult` filters) per input channel"
    USAGE = "dwconv KERNEL [mult M] [stride S] [same|valid] [pad P] [dilation D] [nobias] [ACTIVATION]"
    FOREIGN = (
        ("Keras", "DepthwiseConv1D DepthwiseConv2D", "kernel_size=kernel strides=stride padding depth_multiplier=mult data_format dilation_rate=dilation activation use_bias=bias"),
    )

    def validate(self):
        _validate_pad(self)

    def lower(self):
        return _lower_pad(self)

    def infer(self, shapes):
        (shape,) = shapes
        rank, kernel, stride, dilation = self.geometry(shape)
        channels = shape[-1] * self["mult"]
        out, pads = sliding_window(self, shape, kernel, stride, dilation, self["padding"])
        return Inferred(
            out + (channels,),
            f"DepthwiseConv{rank}D",
            trainable=prod(kernel) * channels + (channels if self["bias"] else 0),
            macs=prod((*out, channels, *kernel)),
            resolved={"rank": rank, "kernel": kernel, "stride": stride, "dilation": dilation, "pads": pads},
        )

    def window_size(self, node):
        return dot(*node.resolved["kernel"])

    def explain_macs(self, node):
        positions = node.shape[:-1]
        return [
            f"{dot(*positions)} positions · {node.shape[-1]} channels · {self.window_size(node)} = {figure(node.info.macs)}"
        ]

    def explain_params(self, node):
        kernel, cin, mult = node.resolved["kernel"], node.in_shapes[0][-1], self["mult"]
        channels = cin * mult
        weights = prod(kernel) * channels
        lines = [
            f"{dot(*kernel, cin, mult)}"
            + (f" + {channels}" if self["bias"] else "")
            + f" = {figure(node.info.params)}",
            f"depthwise kernel {describe_shape((*kernel, cin, mult))}: {figure(weights)} weights, one {describe_shape(kernel)} "
            f"filter per input channel{' and multiplier' if mult > 1 else ''}"
            + (f"; bias: {channels}" if self["bias"] else ""),
        ]
        return lines

    def keras(self, node):
        r = node.resolved
        return Call(f"layers.DepthwiseConv{r['rank']}D", [axes(r["kernel"]), *self.keras_options(node)])

    def torch(self, node, step):
        cin = node.in_shapes[0][-1]
        steps, conv = self.torch_conv(node, step, cin, node.shape[-1], groups=cin)
        conv = step.module(conv)
        return [*steps, lambda x: Call(conv, [x]), *activation_steps(self["activation"], step)]


class SeparableConv(_Convolution):
    STRIDE_WITH_DILATION = True
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
    FOREIGN = (
        ("Keras", "SeparableConv1D SeparableConv2D", "filters kernel_size=kernel strides=stride padding data_format dilation_rate=dilation depth_multiplier=mult activation use_bias=bias"),
    )

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
            macs=prod((*out, middle, prod(kernel) + filters)),
            resolved={"rank": rank, "kernel": kernel, "stride": stride, "dilation": dilation, "pads": pads},
        )

    def explain_params(self, node):
        kernel, cin, mult, filters = node.resolved["kernel"], node.in_shapes[0][-1], self["mult"], self["filters"]
        middle = cin * mult
        depthwise, pointwise = prod(kernel) * middle, middle * filters
        bias = f" + {filters}" if self["bias"] else ""
        return [
            f"{dot(*kernel, cin, mult)} + {dot(middle, filters)}{bias} = {figure(node.info.params)}",
            f"depthwise kernel {describe_shape((*kernel, cin, mult))}: {figure(depthwise)} weights; "
            f"pointwise kernel {describe_shape((1,) * len(kernel) + (middle, filters))}: {figure(pointwise)} weights"
            + (f"; bias: {filters}" if self["bias"] else ""),
        ]

    def explain_macs(self, node):
        positions, kernel, middle = node.shape[:-1], node.resolved["kernel"], node.in_shapes[0][-1] * self["mult"]
        return [
            f"{dot(*positions)} positions · {middle} channels · ({dot(*kernel)} depthwise + {self['filters']} pointwise)"
            f" = {figure(node.info.macs)}"
        ]

    def keras(self, node):
        r = node.resolved
        return Call(
            f"layers.SeparableConv{r['rank']}D", [self["filters"], axes(r["kernel"]), *self.keras_options(node)]
        )

    def torch(self, node, step):
        cin, r = node.in_shapes[0][-1], node.resolved
        middle = cin * self["mult"]
        steps, depthwise = self.torch_conv(node, step, cin, middle, groups=cin, bias=False)
        pointwise = [middle, self["filters"], kw("kernel_size", 1)] + ([] if self["bias"] else [kw("bias", False)])
        pair = step.module(Call("nn.Sequential", [depthwise, Call(f"nn.Conv{r['rank']}d", pointwise)]))
        step.comment(f"depthwise then pointwise convolution, as Keras's SeparableConv{r['rank']}D")
        return [*steps, lambda x: Call(pair, [x]), *activation_steps(self["activation"], step)]

    def torch_modules(self, node):
        cin, rank = node.in_shapes[0][-1], node.resolved["rank"]
        middle = cin * self["mult"]
        depthwise = prod(node.resolved["kernel"]) * middle
        return [
            TorchModule(
                "Sequential",
                channels_first(node.shape),
                children=(
                    TorchModule(f"Conv{rank}d", (middle, *node.shape[:-1]), depthwise),
                    TorchModule(f"Conv{rank}d", channels_first(node.shape), node.info.trainable - depthwise),
                ),
            ),
            *activation_modules(self["activation"], self.conventions, node.shape),
        ]


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
    FOREIGN = (
        ("PyTorch", "ConvTranspose1d ConvTranspose2d ConvTranspose3d", "in_channels=- out_channels=filters kernel_size=kernel stride"),
        ("Keras", "Conv1DTranspose Conv2DTranspose Conv3DTranspose", "filters kernel_size=kernel strides=stride padding output_padding=outpad data_format dilation_rate=dilation activation use_bias=bias"),
    )

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
            if n is None:
                out.append(None)
            elif self["padding"] == "valid":
                extra = max(k, s) - k if outpad is None else outpad[i]
                out.append((n - 1) * s + k + extra)
            else:
                out.append(n * s if outpad is None else (n - 1) * s + k % 2 + outpad[i])
        cin, filters = shape[-1], self["filters"]
        return Inferred(
            tuple(out) + (filters,),
            f"Conv{rank}DTranspose",
            trainable=prod(kernel) * cin * filters + (filters if self["bias"] else 0),
            macs=prod((*shape[:-1], *kernel, cin, filters)),
            resolved={
                "rank": rank,
                "kernel": kernel,
                "stride": stride,
                "dilation": dilation,
                "outpad": outpad,
                "crops": transpose_crops(kernel, stride, dilation, self["padding"], outpad),
            },
        )

    def window(self, node):
        """Output o gets input i where i·s + t·d = o + cut: at most ceil(span/s) inputs, 1/s of a step apart."""
        from fractions import Fraction  # only receptive fields need it: ~1.5 ms of every start

        r, windows = node.resolved, []
        for k, s, d, (cut, _) in zip(r["kernel"], r["stride"], r["dilation"], r["crops"]):
            span = (k - 1) * d + 1
            windows.append(Window(Fraction(span - 1, s) + 1, Fraction(1, s), Fraction(span - 1 - cut, s)))
        return tuple(windows)

    def explain_shape(self, node):
        r, lines = node.resolved, []
        if self["padding"] == "valid":
            if r["outpad"] is None:
                lines.append("valid padding: out = n·s + max(d·(k−1) + 1 − s, 0)")
            else:
                lines.append("valid padding with output padding p: out = (n − 1)·s + d·(k−1) + 1 + p")
        elif r["outpad"] is None:
            lines.append("same padding: out = n·s")
        else:
            lines.append("same padding with output padding p: out = (n − 1)·s + (d·(k−1) + 1) mod 2 + p")
        outpad = r["outpad"] or (None,) * r["rank"]
        for name, n, out, k, s, d, p in zip(
            axis_names(r["rank"]), node.in_shapes[0], node.shape, r["kernel"], r["stride"], r["dilation"], outpad
        ):
            span = (k - 1) * d + 1
            if self["padding"] == "valid" and p is None:
                worked = f"{n}·{s} + max({span} − {s}, 0)"
            elif self["padding"] == "valid":
                worked = f"({n} − 1)·{s} + {span} + {p}"
            elif p is None:
                worked = f"{n}·{s}"
            else:
                worked = f"({n} − 1)·{s} + {span % 2} + {p}"
            lines.append(f"{name}: {worked} = {out}")
        return lines + [f"channels: {node.shape[-1]}"]

    def explain_params(self, node):
        kernel, cin, filters = node.resolved["kernel"], node.in_shapes[0][-1], self["filters"]
        weights = prod(kernel) * cin * filters
        if self["bias"]:
            first = f"{dot(*kernel, filters, cin)} + {filters} = {figure(node.info.params)}"
        else:
            first = f"{dot(*kernel, filters, cin)} = {figure(node.info.params)} (no bias)"
        return [
            first,
            f"kernel {describe_shape((*kernel, filters, cin))}: {figure(weights)} weights"
            + (f"; bias: {filters}" if self["bias"] else ""),
        ]

    def explain_macs(self, node):
        """Each input value is spread over the kernel into every filter."""
        kernel, cin, filters = node.resolved["kernel"], node.in_shapes[0][-1], self["filters"]
        positions = node.in_shapes[0][:-1]
        return [f"{dot(*positions)} input positions · {dot(*kernel)} · {cin}·{filters} = {figure(node.info.macs)}"]

    def keras(self, node):
        r = node.resolved
        return Call(
            f"layers.Conv{r['rank']}DTranspose", [self["filters"], axes(r["kernel"]), *self.keras_options(node)]
        )

    def torch(self, node, step):
        """`padding` crops both sides equally and `output_padding` gives back some of the end;
        whatever Keras cuts that those two cannot, a slice to the output size cuts."""
        r = node.resolved
        padding, extra, sliced = [], [], False
        for (before, after), s, d in zip(r["crops"], r["stride"], r["dilation"]):
            if before >= after and before - after < max(s, d):
                padding.append(before)
                extra.append(before - after)
            elif before < after:
                padding.append(before)
                extra.append(0)
                sliced = True
            else:
                raise self.unsupported("PyTorch", "this transposed convolution's output padding is too large")
        args = [node.in_shapes[0][-1], self["filters"], kw("kernel_size", axes(r["kernel"]))]
        if max(r["stride"]) > 1:
            args.append(kw("stride", axes(r["stride"])))
        if max(padding) > 0:
            args.append(kw("padding", axes(padding)))
        if max(extra) > 0:
            args.append(kw("output_padding", axes(extra)))
        if max(r["dilation"]) > 1:
            args.append(kw("dilation", axes(r["dilation"])))
        if not self["bias"]:
            args.append(kw("bias", False))
        conv = step.module(Call(f"nn.ConvTranspose{r['rank']}d", args))
        steps = [lambda x: Call(conv, [x])]
        if sliced:
            step.comment("Keras cuts one more pixel at the end than PyTorch's `padding` does")
            # from the end where the size is known only when run
            cuts = [after - before for before, after in r["crops"]]
            ends = ", ".join(
                f":{n}" if n is not None else f":{-c}" if c > 0 else ":" for n, c in zip(node.shape[:-1], cuts)
            )
            steps.append(lambda x: f"{x}[:, :, {ends}]")
        return [*steps, *activation_steps(self["activation"], step)]

    def module_out(self, node) -> tuple[int, ...]:
        """PyTorch's module writes positions that a slice may then cut (see `torch`)."""
        extra = [max(after - before, 0) for before, after in node.resolved["crops"]]
        return tuple(n + e for n, e in zip(node.shape[:-1], extra))

    def counts(self, node):
        return super().counts(node, module_out=prod(self.module_out(node)))

    def torch_modules(self, node):
        rank = node.resolved["rank"]
        return [
            TorchModule(f"ConvTranspose{rank}d", (self["filters"], *self.module_out(node)), node.info.trainable),
            *activation_modules(self["activation"], self.conventions, node.shape),
        ]
