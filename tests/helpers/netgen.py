"""Random valid cnndsl networks, each with an independent Keras twin (hypothesis).

Stable API (tests/test_keras_oracle.py and the code-generation tests use it):

    from netgen import networks

    @given(net=networks())
    def test_something(net, keras):
        net.text            # a .cnn program: starts with `input ...`, ends with a newline
        net.input_shape     # (H, W, C) etc.: channels last, no batch axis
        net.output_shape    # the output shape the generator worked out by Keras's rules
        net.build_keras(keras)               # -> keras.Model, built from keras.layers directly
        net.build_keras(keras, record=rows)  # also appends each Keras layer to `rows` in the
                                             # order cnndsl lists its summary rows (text order;
                                             # dense's implicit Flatten and conv's `pad` included)
        net.features        # frozenset of (keyword, option) tags the text exercises, e.g.
                            # ("conv", "dilation"), ("conv", "padding=causal"), ("add", "")
        net.keras_source()  # the Keras calls as readable text, for failure messages

    networks(max_layers=10, max_depth=2)  # top-level statements, nesting of add(...)/concat(...)

Nothing here imports cnndsl: the generator tracks every shape itself with
Keras's own arithmetic (valid/same/causal windows, transposed convs, crops
and pads), so each network is valid by construction and the Keras twin is
an independent witness. It covers every layer kind and option that
`python -m cnndsl layers` lists: conv (stride, same/valid/causal, pad,
dilation, groups, nobias, fused activation), dwconv (mult), sepconv,
deconv (outpad), maxpool/pool/avgpool, gap/gmp (keepdims), dense (implicit
flatten), flatten, dropout, bn, layernorm, every activation, relu6,
leakyrelu α, zeropad/crop (all forms), upsample, reshape (AxB, -1, `A B C`),
rescale, normalize, and the merges add/residual/subtract/multiply (with
squeeze-excite broadcasts)/average/maximum/minimum/concat with `identity`
branches; inputs of rank 1 to 4. Shapes stay small so Keras builds fast.
Keras is passed in, never imported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hypothesis import strategies as st

Shape = tuple[int, ...]

MAX_SIDE = {1: 40, 2: 20, 3: 8}  # largest spatial side per spatial rank
MAX_CHANNELS = 16
MAX_FLAT = 2048  # largest vector a dense layer reads

ACTIVATIONS = {  # cnndsl keyword -> Keras activation name
    "relu": "relu",
    "relu6": "relu6",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "swish": "swish",
    "silu": "silu",
    "gelu": "gelu",
    "elu": "elu",
    "selu": "selu",
    "softplus": "softplus",
    "softsign": "softsign",
    "hardsigmoid": "hard_sigmoid",
    "hardswish": "hard_swish",
    "leakyrelu": "leaky_relu",
    "mish": "mish",
    "linear": "linear",
}
# Standalone activation layers (Keras `Activation`); relu6 and leakyrelu have their own layers.
ACTIVATION_LAYERS = [k for k in ACTIVATIONS if k not in ("relu6", "leakyrelu")] + ["hard_sigmoid", "hard_swish"]


# --------------------------------------------------------------------------
# The network as a tree: steps (one cnndsl layer) and merges (branches).


@dataclass(frozen=True)
class Step:
    """One cnndsl layer and the Keras layers it stands for: (class, args, kwargs) each."""

    text: str
    keras: tuple[tuple[str, tuple, dict], ...]
    shape: Shape
    tags: frozenset = frozenset()
    label: str | None = None

    def render(self) -> str:
        return f"{self.label}: {self.text}" if self.label else self.text


@dataclass(frozen=True)
class Merge:
    keyword: str  # add, residual, concat, multiply, ...
    keras_class: str
    branches: tuple[tuple, ...]  # each a tuple of Step/Merge; () is `identity`
    shape: Shape
    tags: frozenset = frozenset()
    args: tuple = ()  # the merge's own arguments: `scaleadd(a; b) 0.5`, and the Keras class's

    def render(self) -> str:
        if self.keyword == "residual":
            return f"residual({render(self.branches[1])})"
        after = "".join(f" {a!r}" for a in self.args)
        return f"{self.keyword}({'; '.join(render(b) or 'identity' for b in self.branches)}){after}"


def render(nodes) -> str:
    return " | ".join(node.render() for node in nodes)


def _all_tags(nodes) -> set:
    tags = set()
    for node in nodes:
        tags |= node.tags
        if isinstance(node, Merge):
            for branch in node.branches:
                tags |= _all_tags(branch)
    return tags


@dataclass(frozen=True)
class Net:
    text: str
    input_shape: Shape
    output_shape: Shape
    nodes: tuple = field(repr=False)
    features: frozenset = field(repr=False, default=frozenset())

    def build_keras(self, keras, record: list | None = None):
        """The same network built with keras.layers (functional API)."""
        record = [] if record is None else record
        inputs = keras.Input(shape=self.input_shape)
        outputs = _apply(keras, self.nodes, inputs, record)
        return keras.Model(inputs, outputs)

    def keras_source(self) -> str:
        lines: list[str] = []
        _source(self.nodes, lines, "")
        return "\n".join([f"keras.Input(shape={self.input_shape})", *lines])


def _apply(keras, nodes, x, record):
    for node in nodes:
        if isinstance(node, Step):
            for i, (cls, args, kwargs) in enumerate(node.keras):
                if node.label and i == len(node.keras) - 1:
                    kwargs = dict(kwargs, name=node.label)
                layer = keras_class(keras, cls)(*args, **kwargs)
                record.append(layer)
                x = layer(x)
        else:
            outs = [_apply(keras, branch, x, record) for branch in node.branches]
            layer = keras_class(keras, node.keras_class)(*node.args)
            record.append(layer)
            x = layer(outs)
    return x


def keras_class(keras, name):
    """A keras.layers class, or a layer keras.applications defines for itself (ConvNeXt's LayerScale,
    InceptionResNetV2's CustomScaleLayer)."""
    import importlib

    if name == "LayerScale":
        return importlib.import_module("keras.src.applications.convnext").LayerScale
    if name == "CustomScaleLayer":
        return importlib.import_module("keras.src.applications.inception_resnet_v2").CustomScaleLayer
    return getattr(keras.layers, name)


def _source(nodes, lines, indent):
    for node in nodes:
        if isinstance(node, Step):
            for cls, args, kwargs in node.keras:
                parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
                lines.append(f"{indent}{cls}({', '.join(parts)})")
        else:
            for i, branch in enumerate(node.branches):
                lines.append(f"{indent}branch {i}:" + ("" if branch else " identity"))
                _source(branch, lines, indent + "    ")
            lines.append(f"{indent}{node.keras_class}()")


# --------------------------------------------------------------------------
# Keras's arithmetic, written out here (not taken from cnndsl).


def conv_length(n: int, k: int, s: int, d: int, padding: str) -> int:
    eff = (k - 1) * d + 1
    if padding == "valid":
        return (n - eff) // s + 1
    return (n + s - 1) // s  # same, causal


def deconv_length(n: int, k: int, s: int, d: int, padding: str, outpad: int | None) -> int:
    """keras.src.utils.conv_utils / ops.operation_utils: deconv_output_length."""
    k = k + (k - 1) * (d - 1)
    if outpad is None:
        return n * s + max(k - s, 0) if padding == "valid" else n * s
    pad = k // 2 if padding == "same" else 0
    return (n - 1) * s + k - 2 * pad + outpad


def spatial_rank(shape: Shape) -> int:
    return len(shape) - 1


def fits(shape: Shape) -> bool:
    r = spatial_rank(shape)
    if min(shape) < 1:
        return False
    if r == 0:
        return shape[0] <= 4 * MAX_FLAT
    if r > 3:
        return math.prod(shape) <= 4 * MAX_FLAT
    return max(shape[:-1]) <= MAX_SIDE[r] and shape[-1] <= 2 * MAX_CHANNELS


def size_text(draw, values) -> str:
    """`3` for (3, 3) or (3,), sometimes `3x3`; `3x5` when they differ."""
    if len(set(values)) == 1 and (len(values) == 1 or draw(st.booleans())):
        return str(values[0])
    return "x".join(map(str, values))


def per_axis(draw, square: bool, low: int, highs) -> tuple[int, ...]:
    """One value per axis in [low, high_i]; all equal when `square`."""
    if square:
        v = draw(st.integers(low, max(low, min(highs))))
        return (v,) * len(highs)
    return tuple(draw(st.integers(low, max(low, h))) for h in highs)


KEYWORD_FORM = ("stride", "dilation", "groups", "mult", "outpad", "pad", "eps", "momentum", "offset")


def options_text(draw, head: str, options: list[str]) -> str:
    """The options in a random order; valued ones sometimes as `stride=2`."""
    options = [o for o in options if o]
    options = [
        o.replace(" ", "=", 1) if o.split(" ")[0] in KEYWORD_FORM and draw(st.integers(0, 4)) == 0 else o
        for o in options
    ]
    if len(options) > 1:
        options = draw(st.permutations(options))
    return " ".join([head, *options])


def maybe_activation(draw, p_none: float = 0.5) -> str | None:
    if draw(st.integers(0, 99)) < p_none * 100:
        return None
    return draw(st.sampled_from(sorted(ACTIVATIONS)))


# --------------------------------------------------------------------------
# Layer builders: each draws its options for the given input shape and
# returns a Step (or None when the kind does not fit this shape).


def gen_conv(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2, 3):
        return None
    n, c = shape[:-1], shape[-1]
    tags = {("conv", ""), ("conv", "filters"), ("conv", "kernel")}
    groups = 1
    if draw(st.integers(0, 3)) == 0:
        divisors = [g for g in range(2, min(c, 8) + 1) if c % g == 0]
        if divisors:
            groups = draw(st.sampled_from(divisors))
    filters = groups * draw(st.integers(1, max(1, MAX_CHANNELS // groups)))
    padding = draw(st.sampled_from(["valid", "same"] + (["causal"] * 2 if r == 1 else [])))
    pad = None  # (cnndsl text, Keras ZeroPadding argument, per-axis (before, after))
    if padding == "valid" and draw(st.integers(0, 4)) == 0:
        form = draw(st.sampled_from(["all", "all", "axes"]))
        if form == "all":
            p = draw(st.integers(0, 2))
            pad = (str(p), p, ((p, p),) * r)
        elif r == 1:  # `pad 1x2` on a sequence: before and after
            a, b = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            pad = (f"{a}x{b}", (a, b), ((a, b),))
        else:
            ps = tuple(draw(st.integers(0, 2)) for _ in range(r))
            pad = ("x".join(map(str, ps)), ps, tuple((p, p) for p in ps))
        if max(x + a + b for x, (a, b) in zip(n, pad[2])) > MAX_SIDE[r]:
            pad = None
    n_in = tuple(x + a + b for x, (a, b) in zip(n, pad[2])) if pad else n
    mode = draw(st.sampled_from(["plain", "stride", "stride", "dilation"]))
    square = draw(st.booleans())
    stride = (1,) * r
    dilation = (1,) * r
    if mode == "stride":
        stride = per_axis(draw, square, 1, [3] * r)
    elif mode == "dilation":
        dilation = per_axis(draw, square, 1, [3] * r)
    if padding == "valid":
        highs = [min(5, (x - 1) // d + 1) for x, d in zip(n_in, dilation)]
    else:
        highs = [5] * r
    kernel = per_axis(draw, square, 1, highs)
    out = tuple(conv_length(x, k, s, d, padding) for x, k, s, d in zip(n_in, kernel, stride, dilation))
    bias = draw(st.integers(0, 3)) > 0
    act = maybe_activation(draw)
    options = []
    if stride != (1,) * r or draw(st.integers(0, 5)) == 0:
        options.append(f"stride {size_text(draw, stride)}")
        tags.add(("conv", "stride"))
    if padding != "valid" or draw(st.booleans()):
        options.append(padding)
        tags.add(("conv", f"padding={padding}"))
    if pad is not None:
        options.append(f"pad {pad[0]}")
        tags.add(("conv", "pad"))
    if dilation != (1,) * r or draw(st.integers(0, 5)) == 0:
        options.append(f"dilation {size_text(draw, dilation)}")
        tags.add(("conv", "dilation"))
    if groups > 1 or draw(st.integers(0, 7)) == 0:
        options.append(f"groups {groups}")
        tags.add(("conv", "groups"))
    if not bias:
        options.append("nobias")
        tags.add(("conv", "bias"))
    if act:
        options.append(act)
        tags |= {("conv", "activation"), ("conv", f"activation={act}")}
    keyword = draw(st.sampled_from(["conv", "conv", f"conv{r}d"]))
    tags.add((keyword, ""))
    text = options_text(draw, f"{keyword} {filters} {size_text(draw, kernel)}", options)
    calls = []
    if pad is not None and any(a or b for a, b in pad[2]):  # `pad 0` pads nothing: no step of its own
        calls.append((f"ZeroPadding{r}D", (pad[1],), {}))
    calls.append(
        (
            f"Conv{r}D",
            (filters, kernel),
            dict(
                strides=stride,
                padding=padding,
                dilation_rate=dilation,
                groups=groups,
                use_bias=bias,
                activation=ACTIVATIONS[act] if act else None,
            ),
        )
    )
    return Step(text, tuple(calls), out + (filters,), frozenset(tags))


def _depthwise_geometry(draw, shape, kind, tags):
    """Kernel, stride, dilation, padding and output sides for dwconv/sepconv."""
    r = spatial_rank(shape)
    n = shape[:-1]
    padding = draw(st.sampled_from(["valid", "same"]))
    # Keras's depthwise and separable convolutions take a stride and a dilation together
    mode = draw(st.sampled_from(["plain", "stride", "dilation", "both"]))
    square = draw(st.booleans())
    stride = per_axis(draw, square, 1, [3] * r) if mode in ("stride", "both") else (1,) * r
    dilation = per_axis(draw, square, 1, [2] * r) if mode in ("dilation", "both") else (1,) * r
    highs = [min(4, (x - 1) // d + 1) for x, d in zip(n, dilation)] if padding == "valid" else [4] * r
    kernel = per_axis(draw, square, 1, highs)
    out = tuple(conv_length(x, k, s, d, padding) for x, k, s, d in zip(n, kernel, stride, dilation))
    options = []
    if stride != (1,) * r or draw(st.integers(0, 5)) == 0:
        options.append(f"stride {size_text(draw, stride)}")
        tags.add((kind, "stride"))
    if padding != "valid" or draw(st.booleans()):
        options.append(padding)
        tags.add((kind, f"padding={padding}"))
    if dilation != (1,) * r or draw(st.integers(0, 5)) == 0:
        options.append(f"dilation {size_text(draw, dilation)}")
        tags.add((kind, "dilation"))
    return kernel, stride, dilation, padding, out, options


def _bias_act(draw, kind, options, tags):
    bias = draw(st.integers(0, 3)) > 0
    act = maybe_activation(draw)
    if not bias:
        options.append("nobias")
        tags.add((kind, "bias"))
    if act:
        options.append(act)
        tags |= {(kind, "activation"), (kind, f"activation={act}")}
    return bias, (ACTIVATIONS[act] if act else None)


def gen_dwconv(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2):
        return None
    c = shape[-1]
    tags = {("dwconv", ""), ("dwconv", "kernel")}
    mult = draw(st.integers(1, max(1, min(3, (2 * MAX_CHANNELS) // c))))
    kernel, stride, dilation, padding, out, options = _depthwise_geometry(draw, shape, "dwconv", tags)
    if mult > 1 or draw(st.integers(0, 5)) == 0:
        options.append(f"mult {mult}")
        tags.add(("dwconv", "mult"))
    pad = 0  # `pad P`: Keras's ZeroPadding of P, then the valid depthwise conv
    if padding == "valid" and draw(st.integers(0, 4)) == 0 and max(shape[:-1]) + 4 <= MAX_SIDE[r]:
        pad = draw(st.integers(1, 2))
        options.append(f"pad {pad}")
        tags.add(("dwconv", "pad"))
        out = tuple(conv_length(x + 2 * pad, k, s, d, "valid") for x, k, s, d in zip(shape[:-1], kernel, stride, dilation))
    bias, act = _bias_act(draw, "dwconv", options, tags)
    keyword = draw(st.sampled_from(["dwconv", "dwconv", "depthwise"]))
    tags.add((keyword, ""))
    text = options_text(draw, f"{keyword} {size_text(draw, kernel)}", options)
    calls = ((f"ZeroPadding{r}D", (pad,), {}),) if pad else ()
    call = (
        f"DepthwiseConv{r}D",
        (kernel,),
        dict(
            strides=stride,
            padding=padding,
            depth_multiplier=mult,
            dilation_rate=dilation,
            use_bias=bias,
            activation=act,
        ),
    )
    return Step(text, (*calls, call), out + (c * mult,), frozenset(tags))


def gen_sepconv(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2):
        return None
    c = shape[-1]
    tags = {("sepconv", ""), ("sepconv", "filters"), ("sepconv", "kernel")}
    filters = draw(st.integers(1, MAX_CHANNELS))
    mult = draw(st.integers(1, max(1, min(3, (2 * MAX_CHANNELS) // c))))
    kernel, stride, dilation, padding, out, options = _depthwise_geometry(draw, shape, "sepconv", tags)
    if mult > 1 or draw(st.integers(0, 5)) == 0:
        options.append(f"mult {mult}")
        tags.add(("sepconv", "mult"))
    bias, act = _bias_act(draw, "sepconv", options, tags)
    keyword = draw(st.sampled_from(["sepconv", "sepconv", "separable"]))
    tags.add((keyword, ""))
    text = options_text(draw, f"{keyword} {filters} {size_text(draw, kernel)}", options)
    call = (
        f"SeparableConv{r}D",
        (filters, kernel),
        dict(
            strides=stride,
            padding=padding,
            depth_multiplier=mult,
            dilation_rate=dilation,
            use_bias=bias,
            activation=act,
        ),
    )
    return Step(text, (call,), out + (filters,), frozenset(tags))


def gen_deconv(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2, 3):
        return None
    n = shape[:-1]
    tags = {("deconv", ""), ("deconv", "filters"), ("deconv", "kernel")}
    filters = draw(st.integers(1, MAX_CHANNELS))
    padding = draw(st.sampled_from(["valid", "same"]))
    mode = draw(st.sampled_from(["plain", "stride", "stride", "dilation"]))
    square = draw(st.booleans())
    stride = per_axis(draw, square, 1, [3] * r) if mode == "stride" else (1,) * r
    dilation = per_axis(draw, square, 1, [2] * r) if mode == "dilation" else (1,) * r
    kernel = per_axis(draw, square, 1, [4] * r)
    outpad = None
    if max(stride) > 1 and draw(st.booleans()):
        outpad = tuple(draw(st.integers(0, s - 1)) for s in stride)
        if square and len(set(stride)) == 1:
            outpad = (outpad[0],) * r
    out = tuple(
        deconv_length(x, k, s, d, padding, outpad[i] if outpad else None)
        for i, (x, k, s, d) in enumerate(zip(n, kernel, stride, dilation))
    )
    if max(out) > MAX_SIDE[r]:  # too big: a plain same deconv keeps the size
        stride, dilation, outpad, padding = (1,) * r, (1,) * r, None, "same"
        out = tuple(n)
    options = []
    if stride != (1,) * r or draw(st.integers(0, 5)) == 0:
        options.append(f"stride {size_text(draw, stride)}")
        tags.add(("deconv", "stride"))
    if padding != "valid" or draw(st.booleans()):
        options.append(padding)
        tags.add(("deconv", f"padding={padding}"))
    if outpad is not None:
        options.append(f"outpad {size_text(draw, outpad)}")
        tags.add(("deconv", "outpad"))
    if dilation != (1,) * r or draw(st.integers(0, 5)) == 0:
        options.append(f"dilation {size_text(draw, dilation)}")
        tags.add(("deconv", "dilation"))
    bias, act = _bias_act(draw, "deconv", options, tags)
    keyword = draw(st.sampled_from(["deconv", "deconv", "convtranspose"]))
    tags.add((keyword, ""))
    text = options_text(draw, f"{keyword} {filters} {size_text(draw, kernel)}", options)
    call = (
        f"Conv{r}DTranspose",
        (filters, kernel),
        dict(
            strides=stride,
            padding=padding,
            output_padding=outpad,
            dilation_rate=dilation,
            use_bias=bias,
            activation=act,
        ),
    )
    return Step(text, (call,), out + (filters,), frozenset(tags))


def gen_pool(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2, 3):
        return None
    n = shape[:-1]
    keyword = draw(
        st.sampled_from(["maxpool", "pool", "avgpool", "maxpool", "avgpool", "max_pool", "avg_pool", "averagepool"])
    )
    tags = {(keyword, "")}
    padding = draw(st.sampled_from(["valid", "valid", "same"]))
    square = draw(st.booleans())
    highs = list(n) if padding == "valid" else [4] * r
    given_size = draw(st.integers(0, 4)) > 0
    size = per_axis(draw, square, 1, [min(4, h) for h in highs]) if given_size else (2,) * r
    if not given_size and padding == "valid" and min(n) < 2:
        return None
    given_stride = draw(st.booleans())
    stride = per_axis(draw, square, 1, [3] * r) if given_stride else size
    out = tuple(conv_length(x, k, s, 1, padding) for x, k, s in zip(n, size, stride))
    options = []
    pad = 0  # avgpool's `pad P`: Keras's ZeroPadding of P, then the valid pool (PyTorch's count_include_pad)
    average = keyword in ("avgpool", "avg_pool", "averagepool")
    if average and padding == "valid" and draw(st.integers(0, 3)) == 0 and max(n) + 4 <= MAX_SIDE[r]:
        pad = draw(st.integers(1, 2))
        options.append(f"pad {pad}")
        tags.add((keyword, "pad"))
        out = tuple(conv_length(x + 2 * pad, k, s, 1, "valid") for x, k, s in zip(n, size, stride))
    if given_size:
        tags.add((keyword, "size"))
    if given_stride:
        options.append(f"stride {size_text(draw, stride)}")
        tags.add((keyword, "stride"))
    if padding != "valid" or draw(st.booleans()):
        options.append(padding)
        tags.add((keyword, f"padding={padding}"))
    head = f"{keyword} {size_text(draw, size)}" if given_size else keyword
    text = options_text(draw, head, options)
    cls = f"{'Average' if keyword in ('avgpool', 'avg_pool', 'averagepool') else 'Max'}Pooling{r}D"
    call = (cls, (size,), dict(strides=stride, padding=padding))
    calls = ((f"ZeroPadding{r}D", (pad,), {}),) if pad else ()
    return Step(text, (*calls, call), out + shape[-1:], frozenset(tags))


def gen_adaptive_pool(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2, 3):
        return None
    keyword = draw(st.sampled_from(["adaptivepool", "adaptive_avg_pool", "adaptiveavgpool"]))
    size = per_axis(draw, draw(st.booleans()), 1, [min(7, n + 2) for n in shape[:-1]])
    call = (f"AdaptiveAveragePooling{r}D", (size,), {})
    tags = {(keyword, ""), (keyword, "size")}
    return Step(f"{keyword} {size_text(draw, size)}", (call,), size + shape[-1:], frozenset(tags))


def gen_global_pool(draw, shape, keepdims=None):
    r = spatial_rank(shape)
    if r not in (1, 2, 3):
        return None
    keyword = draw(st.sampled_from(["gap", "gmp", "gap", "gmp", "globalavgpool", "globalmaxpool"]))
    if keepdims is None:
        keepdims = draw(st.booleans())
    tags = {(keyword, "")} | ({(keyword, "keepdims")} if keepdims else set())
    cls = f"Global{'Average' if keyword in ('gap', 'globalavgpool') else 'Max'}Pooling{r}D"
    out = (1,) * r + shape[-1:] if keepdims else shape[-1:]
    return Step(
        keyword + (" keepdims" if keepdims else ""), ((cls, (), dict(keepdims=keepdims)),), out, frozenset(tags)
    )


def dense_step(draw, shape, units, act=None, bias=True, flatten=True):
    tags = {("dense", ""), ("dense", "units")}
    options = []
    if not flatten:  # Keras's Dense on the last axis of a tensor of any rank
        options.append(draw(st.sampled_from(["noflatten", "flatten=0"])))
        tags.add(("dense", "flatten"))
    if not bias:
        options.append("nobias")
        tags.add(("dense", "bias"))
    if act:
        options.append(act)
        tags |= {("dense", "activation"), ("dense", f"activation={act}")}
    calls = []
    if len(shape) > 1 and flatten:
        calls.append(("Flatten", (), {}))
        tags.add(("dense", "implicit flatten"))
    calls.append(("Dense", (units,), dict(activation=ACTIVATIONS[act] if act else None, use_bias=bias)))
    keyword = draw(st.sampled_from(["dense", "dense", "fc"]))
    tags.add((keyword, ""))
    out = (units,) if flatten else (*shape[:-1], units)
    return Step(options_text(draw, f"{keyword} {units}", options), tuple(calls), out, frozenset(tags))


def gen_dense(draw, shape):
    flatten = len(shape) == 1 or draw(st.integers(0, 3)) > 0
    if flatten and math.prod(shape) > MAX_FLAT:
        return None
    units = draw(st.integers(1, MAX_CHANNELS if not flatten else 2 * MAX_CHANNELS))
    return dense_step(draw, shape, units, maybe_activation(draw), draw(st.integers(0, 3)) > 0, flatten)


def gen_layerscale(draw, shape):
    keyword = draw(st.sampled_from(["layerscale", "layer_scale"]))
    init = draw(st.sampled_from([None, "1e-6", "0.5", "2"]))
    text = keyword if init is None else f"{keyword} {init}"
    tags = {(keyword, "")} | ({(keyword, "init")} if init else set())
    value = 1e-6 if init is None else float(init)
    return Step(text, (("LayerScale", (value, shape[-1]), {}),), shape, frozenset(tags))


def gen_droppath(draw, shape):
    keyword = draw(st.sampled_from(["droppath", "stochastic_depth"]))
    rate = draw(st.sampled_from(["0", "0.1", "0.5"]))
    noise = (None, *(1 for _ in shape))
    calls = (("Dropout", (float(rate),), {"noise_shape": noise}),)
    return Step(f"{keyword} {rate}", calls, shape, frozenset({(keyword, ""), (keyword, "rate")}))


def gen_flatten(draw, shape):
    if math.prod(shape) > MAX_FLAT:
        return None
    return Step("flatten", (("Flatten", (), {}),), (math.prod(shape),), frozenset({("flatten", "")}))


def gen_dropout(draw, shape):
    rate = draw(st.sampled_from(["0", "0.1", "0.25", "0.5", "0.9", ".3"]))
    return Step(
        f"dropout {rate}", (("Dropout", (float(rate),), {}),), shape, frozenset({("dropout", ""), ("dropout", "rate")})
    )


def gen_bn(draw, shape):
    tags = {("bn", "")}
    scale, center = draw(st.booleans()) or draw(st.booleans()), draw(st.booleans()) or draw(st.booleans())
    options = []
    kwargs: dict = {}
    if not scale:
        options.append("noscale")
        tags.add(("bn", "scale"))
    if not center:
        options.append("nocenter")
        tags.add(("bn", "center"))
    if draw(st.integers(0, 4)) == 0:
        options.append("eps 1.001e-5")
        kwargs["epsilon"] = 1.001e-5
        tags.add(("bn", "eps"))
    if draw(st.integers(0, 4)) == 0:
        options.append("momentum 0.9")
        kwargs["momentum"] = 0.9
        tags.add(("bn", "momentum"))
    keyword = draw(st.sampled_from(["bn", "bn", "batchnorm"]))
    tags.add((keyword, ""))
    call = ("BatchNormalization", (), dict(scale=scale, center=center, **kwargs))
    return Step(options_text(draw, keyword, options), (call,), shape, frozenset(tags))


def gen_layernorm(draw, shape):
    tags = {("layernorm", "")}
    scale, center = draw(st.booleans()) or draw(st.booleans()), draw(st.booleans()) or draw(st.booleans())
    options = []
    kwargs: dict = {}
    if not scale:
        options.append("noscale")
        tags.add(("layernorm", "scale"))
    if not center:
        options.append("nocenter")
        tags.add(("layernorm", "center"))
    if draw(st.integers(0, 4)) == 0:
        options.append("eps 1e-6")
        kwargs["epsilon"] = 1e-6
        tags.add(("layernorm", "eps"))
    keyword = draw(st.sampled_from(["layernorm", "ln"]))
    tags.add((keyword, ""))
    call = ("LayerNormalization", (), dict(scale=scale, center=center, **kwargs))
    return Step(options_text(draw, keyword, options), (call,), shape, frozenset(tags))


def gen_activation(draw, shape):
    group = draw(st.sampled_from(["activation", "activation", "relu6", "leakyrelu", "ReLU"]))
    if group == "ReLU":  # Keras's own ReLU class, as MobileNetV3 writes it
        return Step("ReLU", (("ReLU", (), {}),), shape, frozenset({("ReLU", "")}))
    if group == "activation":
        choice = draw(st.sampled_from(ACTIVATION_LAYERS))
    else:
        choice = group if group == "relu6" else draw(st.sampled_from(["leakyrelu", "leaky_relu"]))
    if choice == "relu6":
        return Step("relu6", (("ReLU", (), dict(max_value=6.0)),), shape, frozenset({("relu6", "")}))
    if choice in ("leakyrelu", "leaky_relu"):
        alpha = draw(st.sampled_from([None, "0.1", "0.3", "0", "1", "0.05"]))
        tags = {(choice, "")} | ({(choice, "alpha")} if alpha else set())
        kwargs = dict(negative_slope=float(alpha)) if alpha else {}
        return Step(f"{choice} {alpha}" if alpha else choice, (("LeakyReLU", (), kwargs),), shape, frozenset(tags))
    name = ACTIVATIONS.get(choice, choice)
    return Step(choice, (("Activation", (name,), {}),), shape, frozenset({(choice, "")}))


def _sides_text(draw, pairs) -> tuple[str, str]:
    """zeropad/crop arguments for per-axis (before, after) pairs; and the form used."""
    r = len(pairs)
    flat = [v for pair in pairs for v in pair]
    symmetric = all(a == b for a, b in pairs)
    if symmetric and len({a for a, _ in pairs}) == 1 and draw(st.booleans()):
        return str(pairs[0][0]), "all"
    if symmetric and r > 1 and draw(st.booleans()):
        values = [a for a, _ in pairs]
        return ("x".join(map(str, values)) if draw(st.booleans()) else " ".join(map(str, values))), "per axis"
    if r == 1 and draw(st.booleans()):
        return f"{flat[0]}x{flat[1]}", "per side"
    return " ".join(map(str, flat)), "per side"


def zeropad_step(draw, shape, pairs):
    r = spatial_rank(shape)
    keyword = draw(st.sampled_from(["zeropad", "zeropad", "pad"]))
    args, form = _sides_text(draw, pairs)
    out = tuple(n + a + b for n, (a, b) in zip(shape[:-1], pairs)) + shape[-1:]
    padding = pairs[0] if r == 1 else tuple(pairs)
    call = (f"ZeroPadding{r}D", (padding,), {})
    return Step(f"{keyword} {args}", (call,), out, frozenset({(keyword, ""), (keyword, "padding"), (keyword, form)}))


def crop_step(draw, shape, pairs):
    r = spatial_rank(shape)
    keyword = draw(st.sampled_from(["crop", "crop", "cropping"]))
    args, form = _sides_text(draw, pairs)
    out = tuple(n - a - b for n, (a, b) in zip(shape[:-1], pairs)) + shape[-1:]
    cropping = pairs[0] if r == 1 else tuple(pairs)
    call = (f"Cropping{r}D", (cropping,), {})
    return Step(f"{keyword} {args}", (call,), out, frozenset({(keyword, ""), (keyword, "padding"), (keyword, form)}))


def _pairs(draw, r, limits):
    """Random (before, after) pairs, each sum at most the axis limit."""
    form = draw(st.sampled_from(["all", "axis", "side"]))
    if form == "all":
        v = draw(st.integers(0, max(0, min(limits) // 2)))
        return ((v, v),) * r
    if form == "axis":
        vals = [draw(st.integers(0, max(0, lim // 2))) for lim in limits]
        return tuple((v, v) for v in vals)
    pairs = []
    for lim in limits:
        a = draw(st.integers(0, max(0, lim)))
        pairs.append((a, draw(st.integers(0, max(0, lim - a)))))
    return tuple(pairs)


def gen_zeropad(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2, 3):
        return None
    limits = [min(3, MAX_SIDE[r] - n) for n in shape[:-1]]
    if min(limits) < 0:
        return None
    return zeropad_step(draw, shape, _pairs(draw, r, limits))


def gen_crop(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2, 3):
        return None
    limits = [min(3, n - 1) for n in shape[:-1]]
    return crop_step(draw, shape, _pairs(draw, r, limits))


def gen_upsample(draw, shape):
    r = spatial_rank(shape)
    if r not in (1, 2, 3):
        return None
    n = shape[:-1]
    highs = [min(3, MAX_SIDE[r] // x) for x in n]
    if min(highs) < 1:
        return None
    tags = {("upsample", "")}
    given = draw(st.integers(0, 3)) > 0 or min(highs) < 2
    square = r == 1 or draw(st.booleans())
    size = per_axis(draw, square, 1, highs) if given else (2,) * r
    head = f"upsample {size_text(draw, size)}" if given else "upsample"
    if given:
        tags.add(("upsample", "size"))
    options = []
    interpolation = "nearest"
    if r == 2 and draw(st.booleans()):
        interpolation = "bilinear"
    if interpolation == "bilinear" or draw(st.booleans()):
        options.append(interpolation)
        tags.add(("upsample", f"interpolation={interpolation}"))
    kwargs = dict(interpolation=interpolation) if r == 2 else {}
    call = (f"UpSampling{r}D", (size[0] if r == 1 else size,), kwargs)
    out = tuple(x * f for x, f in zip(n, size)) + shape[-1:]
    keyword = draw(st.sampled_from(["upsample", "upsample", "upsampling"]))
    tags.add((keyword, ""))
    return Step(options_text(draw, head.replace("upsample", keyword, 1), options), (call,), out, frozenset(tags))


def _divisors(n: int, limit: int) -> list[int]:
    return [d for d in range(1, min(n, limit) + 1) if n % d == 0]


def gen_reshape(draw, shape):
    total = math.prod(shape)
    rank = draw(st.sampled_from([1, 2, 3, 4]))
    if rank == 1:
        target: tuple[int, ...] = (total,)
    else:
        channels = draw(st.sampled_from(_divisors(total, MAX_CHANNELS)))
        rest = total // channels
        sides = []
        for _ in range(rank - 2):
            sides.append(draw(st.sampled_from(_divisors(rest, MAX_SIDE[rank - 1]))))
            rest //= sides[-1]
        sides.append(rest)
        target = (*draw(st.permutations(sides)), channels)
        if not fits(target):
            return None
    tags = {("reshape", ""), ("reshape", "target")}
    written = [str(d) for d in target]
    if draw(st.booleans()):
        written[draw(st.integers(0, rank - 1))] = "-1"
        tags.add(("reshape", "-1"))
    if rank > 1 and draw(st.booleans()):
        args = "x".join(written)
    else:  # one number per axis: `reshape -1`, `reshape 4 -1`
        args = " ".join(written)
        tags.add(("reshape", "axes one by one"))
    keras_target = tuple(int(w) for w in written)
    return Step(f"reshape {args}", (("Reshape", (keras_target,), {}),), target, frozenset(tags))


def gen_rescale(draw, shape):
    scale, value = draw(st.sampled_from([("1/255", 1 / 255), ("2", 2.0), ("0.5", 0.5), ("1/127.5", 1 / 127.5)]))
    tags = {("rescale", ""), ("rescale", "scale")}
    offset = draw(st.sampled_from([None, "1", "0.5", "-1", "-0.5"]))
    kwargs = {}
    keyword = draw(st.sampled_from(["rescale", "rescaling"]))
    tags.add((keyword, ""))
    options = []
    if offset:
        options.append(f"offset {offset}")
        kwargs["offset"] = float(offset)
        tags.add(("rescale", "offset"))
    text = options_text(draw, f"{keyword} {scale}", options)
    return Step(text, (("Rescaling", (value,), kwargs),), shape, frozenset(tags))


def gen_normalize(draw, shape):
    keyword = draw(st.sampled_from(["normalize", "normalization"]))
    if draw(st.booleans()):
        return Step(keyword, (("Normalization", (), {}),), shape, frozenset({(keyword, "")}))
    # Fixed statistics (Keras: 0 weights): one value, or one per channel
    count = draw(st.sampled_from([1, shape[-1]]))
    mean = [draw(st.sampled_from([0.0, 0.5, 1.25, 3.0])) for _ in range(count)]
    variance = [draw(st.sampled_from([0.25, 1.0, 4.0])) for _ in range(count)]
    if count == 1 and draw(st.booleans()):
        text, kwargs = f"{keyword} mean={mean[0]} variance={variance[0]}", {"mean": mean[0], "variance": variance[0]}
    else:
        text = f"{keyword} mean {' '.join(map(str, mean))} variance {' '.join(map(str, variance))}"
        kwargs = {"mean": mean, "variance": variance}
    tags = {(keyword, ""), (keyword, "mean"), (keyword, "variance")}
    return Step(text, (("Normalization", (), kwargs),), shape, frozenset(tags))


# --------------------------------------------------------------------------
# Branches


def adapter(draw, shape: Shape, target: Shape, any_channels: bool = False) -> list:
    """Steps taking `shape` to `target` (same rank): crop/zeropad the sides, then a conv
    (or dense) for the channels; with `any_channels`, only the sides must match."""
    steps: list = []
    r = spatial_rank(shape)
    if r == 0:
        if shape != target or (any_channels and draw(st.booleans())):
            steps.append(dense_step(draw, shape, draw(st.integers(1, MAX_CHANNELS)) if any_channels else target[0]))
        return steps
    crops = tuple((lambda d: (d // 2, d - d // 2))(max(n - t, 0)) for n, t in zip(shape[:-1], target[:-1]))
    pads = tuple((lambda d: (d - d // 2, d // 2))(max(t - n, 0)) for n, t in zip(shape[:-1], target[:-1]))
    if any(a or b for a, b in crops):
        steps.append(crop_step(draw, shape, crops))
        shape = steps[-1].shape
    if any(a or b for a, b in pads):
        steps.append(zeropad_step(draw, shape, pads))
        shape = steps[-1].shape
    channels = draw(st.integers(1, MAX_CHANNELS)) if any_channels else target[-1]
    if shape[-1] != channels or (any_channels and draw(st.booleans())):
        kernel = draw(st.sampled_from([1, 1, 3]))
        padding = "same" if kernel > 1 else draw(st.sampled_from(["", "valid"]))
        text = f"conv {channels} {kernel}" + (f" {padding}" if padding else "")
        tags = {("conv", ""), ("conv", "filters"), ("conv", "kernel")}
        if padding:
            tags.add(("conv", f"padding={padding}"))
        call = (f"Conv{r}D", (channels, kernel), dict(padding=padding or "valid"))
        steps.append(Step(text, (call,), shape[:-1] + (channels,), frozenset(tags)))
    return steps


ELEMENTWISE = {  # keyword -> Keras class
    "add": "Add",
    "subtract": "Subtract",
    "multiply": "Multiply",
    "average": "Average",
    "maximum": "Maximum",
    "minimum": "Minimum",
}


def squeeze_excite(draw, shape) -> list:
    """A branch giving a 1-sized-sides or flat gate that Multiply broadcasts over `shape`."""
    r, c = spatial_rank(shape), shape[-1]
    hidden = draw(st.integers(1, max(1, c)))
    style = draw(st.sampled_from(["conv", "dense", "dense reshape"]))
    steps = []
    if style == "conv":
        steps.append(gen_global_pool(draw, shape, keepdims=True))
        one = steps[-1].shape
        if draw(st.booleans()):
            steps.append(
                Step(
                    f"conv {hidden} 1 relu",
                    ((f"Conv{r}D", (hidden, 1), dict(activation="relu")),),
                    one[:-1] + (hidden,),
                )
            )
        steps.append(Step(f"conv {c} 1 sigmoid", ((f"Conv{r}D", (c, 1), dict(activation="sigmoid")),), one[:-1] + (c,)))
    else:
        steps.append(gen_global_pool(draw, shape, keepdims=False))
        if draw(st.booleans()):
            steps.append(dense_step(draw, (c,), hidden, "relu"))
        steps.append(dense_step(draw, steps[-1].shape, c, "sigmoid"))
        if style == "dense reshape":
            target = (1,) * r + (c,)
            steps.append(
                Step(
                    f"reshape {'x'.join(map(str, target))}",
                    (("Reshape", (target,), {}),),
                    target,
                    frozenset({("reshape", "")}),
                )
            )
    return steps


def gen_merge(draw, shape, depth, max_depth):
    r = spatial_rank(shape)
    keyword = draw(
        st.sampled_from(
            ["add", "residual", "residual", "concat", "concat", "concatenate", "multiply", "scaleadd", *ELEMENTWISE]
        )
    )
    joins = keyword in ("concat", "concatenate")
    tags = {(keyword, "")}
    if keyword == "residual":
        body = pipeline(draw, shape, depth + 1, max_depth, max_len=3, keep_rank=True)
        body = body + adapter(draw, _out(body, shape), shape)
        if not body:
            body = [gen_activation(draw, shape)]
        return Merge("residual", "Add", ((), tuple(body)), shape, frozenset(tags))
    if keyword in ELEMENTWISE and r > 0 and draw(st.booleans() if keyword == "multiply" else st.integers(0, 3)) == 1:
        # Every Keras merge broadcasts: a gate of 1-sized sides (or a flat one) against the full tensor
        gate = squeeze_excite(draw, shape)
        branches = [(), tuple(gate)]
        if draw(st.integers(0, 3)) == 0:
            branches.reverse()
        tags.add((keyword, "broadcast"))
        return Merge(keyword, ELEMENTWISE[keyword], tuple(branches), shape, frozenset(tags))
    count = 2 if keyword in ("subtract", "scaleadd") else draw(st.integers(2, 3))
    first = pipeline(draw, shape, depth + 1, max_depth, max_len=3, keep_rank=True)
    target = _out(first, shape)
    branches = [tuple(first)]
    for _ in range(count - 1):
        if not joins and target == shape and draw(st.integers(0, 2)) == 0:
            branches.append(())  # identity
            continue
        lead = pipeline(draw, shape, depth + 1, max_depth, max_len=2, keep_rank=True)
        branch = lead + adapter(draw, _out(lead, shape), target, any_channels=joins)
        branches.append(tuple(branch))
    if draw(st.booleans()):
        branches.reverse()
    if joins:
        outs = [_out(b, shape) for b in branches]
        out = outs[0][:-1] + (sum(o[-1] for o in outs),)
    else:
        out = target
    if any(not b for b in branches):
        tags.add((keyword, "identity"))
    if keyword == "scaleadd":  # InceptionResNetV2's residual scaling: equal shapes, a factor
        scale = draw(st.sampled_from([0.17, 0.1, 0.2, 1.0, 2.5]))
        tags.add((keyword, "scale"))
        return Merge(keyword, "CustomScaleLayer", tuple(branches), out, frozenset(tags), (scale,))
    keras_class = "Concatenate" if joins else ELEMENTWISE[keyword]
    return Merge(keyword, keras_class, tuple(branches), out, frozenset(tags))


def _out(nodes, shape):
    return nodes[-1].shape if nodes else shape


# --------------------------------------------------------------------------
# Pipelines and whole networks

SPATIAL_KINDS = [
    *[gen_conv] * 5,
    *[gen_dwconv] * 2,
    *[gen_sepconv] * 2,
    *[gen_deconv] * 2,
    *[gen_pool] * 3,
    gen_adaptive_pool,
    *[gen_global_pool] * 2,
    gen_dense,
    gen_flatten,
    gen_dropout,
    *[gen_bn] * 2,
    gen_layernorm,
    *[gen_activation] * 5,
    gen_zeropad,
    gen_crop,
    gen_upsample,
    gen_reshape,
    gen_rescale,
    gen_normalize,
    gen_layerscale,
    gen_droppath,
]
FLAT_KINDS = [
    *[gen_dense] * 4,
    gen_flatten,
    gen_dropout,
    gen_bn,
    gen_layernorm,
    *[gen_activation] * 3,
    *[gen_reshape] * 2,
    gen_rescale,
    gen_normalize,
    gen_layerscale,
    gen_droppath,
]
RANK_CHANGING = {gen_dense, gen_flatten, gen_reshape}


def pipeline(draw, shape, depth, max_depth, max_len, keep_rank=False) -> list:
    nodes: list = []
    count = draw(st.integers(0 if depth else 1, max_len))
    for i in range(count):
        node = layer(draw, _out(nodes, shape), depth, max_depth, keep_rank, late=i >= count - 2)
        if node is not None:
            nodes.append(node)
    return nodes


def layer(draw, shape, depth, max_depth, keep_rank, late=True):
    """One layer or merge for `shape`; flattening ones are rare until `late` in a pipeline."""
    kinds = SPATIAL_KINDS if len(shape) > 1 else FLAT_KINDS
    if keep_rank:
        kinds = [k for k in kinds if k not in RANK_CHANGING]
    merge_weight = 4 if depth < max_depth else 0
    for _ in range(4):
        pick = draw(st.integers(0, len(kinds) - 1 + merge_weight))
        if pick >= len(kinds):
            node = gen_merge(draw, shape, depth, max_depth)
        else:
            node = kinds[pick](draw, shape)
            if node is not None and keep_rank and len(node.shape) != len(shape):
                global_pool = node.keras[-1][0].startswith("Global")
                node = gen_global_pool(draw, shape, keepdims=True) if global_pool else None
        if node is not None and len(node.shape) == 1 < len(shape) and not late and draw(st.integers(0, 3)):
            continue  # mostly keep spatial tensors spatial until the end
        if node is not None and fits(node.shape):
            return node
    return None


INPUT_SIDES = {0: (1, 64), 1: (4, 32), 2: (4, 16), 3: (3, 6)}


@st.composite
def networks(draw, max_layers: int = 10, max_depth: int = 2):
    """Random valid cnndsl networks (see the module docstring)."""
    r = draw(st.sampled_from([0, 1, 1, 2, 2, 2, 3]))
    low, high = INPUT_SIDES[r]
    if r == 0:
        shape: Shape = (draw(st.integers(low, high)),)
    else:
        square = draw(st.booleans())
        shape = per_axis(draw, square, low, [high] * r) + (draw(st.integers(1, 8)),)
    nodes = pipeline(draw, shape, 0, max_depth, max_layers)
    # labels: a few top-level layers get names, which flow to Keras
    labelled = []
    for i, node in enumerate(nodes):
        if isinstance(node, Step) and draw(st.integers(0, 9)) == 0:
            node = Step(node.text, node.keras, node.shape, node.tags | {("label", "")}, f"n{i}")
        labelled.append(node)
    nodes = labelled
    lines = [f"input {'x'.join(map(str, shape))}"]
    # top-level statements one per line, or several joined by `|`
    i = 0
    while i < len(nodes):
        take = draw(st.integers(1, 3))
        lines.append(render(nodes[i : i + take]))
        i += take
    text = "\n".join(lines) + "\n"
    features = _all_tags(nodes) | {("input", ""), ("input", "shape"), ("input", f"rank={len(shape)}")}
    return Net(text, shape, _out(nodes, shape), tuple(nodes), frozenset(features))


# --------------------------------------------------------------------------
# Graphs: named references (`@name`), several inputs and outputs (`input`
# lines, `| output`), shared layers (`reuse name`) and broadcasting merges of
# referenced tensors. A separate strategy, so `networks()` draws as before.
#
#     from netgen import graphs
#     net = ...                  # drawn from graphs()
#     net.text, net.input_shapes, net.output_shapes, net.features
#     net.build_keras(keras)     # keras.Model(inputs=[...], outputs=[...]), one
#                                # layer object per label, called again by `reuse`


@dataclass(frozen=True)
class Ref:
    """`@name`: the start of a line or of a branch."""

    name: str
    shape: Shape
    tags: frozenset = frozenset({("reference", "")})

    def render(self) -> str:
        return f"@{self.name}"


@dataclass(frozen=True)
class Reuse:
    """`reuse name` (optionally labelled): the named layer called again."""

    name: str
    shape: Shape
    label: str | None = None
    tags: frozenset = frozenset({("reuse", "")})

    def render(self) -> str:
        return (f"{self.label}: " if self.label else "") + f"reuse {self.name}"


@dataclass(frozen=True)
class Named:
    """A labelled merge: `name: add(...)`."""

    node: Merge
    label: str

    @property
    def shape(self) -> Shape:
        return self.node.shape

    @property
    def tags(self) -> frozenset:
        return self.node.tags | {("label", "merge")}

    def render(self) -> str:
        return f"{self.label}: {self.node.render()}"


@dataclass(frozen=True)
class Line:
    start: str | None  # `@start`, or None: continues from the line before
    nodes: tuple
    end: str  # the name later lines refer to (a label, or the line's input when empty)
    output: bool = False

    def render(self) -> str:
        parts = ([f"@{self.start}"] if self.start else []) + [n.render() for n in self.nodes]
        return " | ".join(parts + (["output"] if self.output else []))


@dataclass(frozen=True)
class Graph:
    text: str
    inputs: tuple[tuple[str, Shape], ...]
    lines: tuple[Line, ...] = field(repr=False)
    outputs: tuple[str, ...]  # tensor names, in the order the model returns them
    shapes: dict = field(repr=False, hash=False, compare=False)
    features: frozenset = field(repr=False, default=frozenset())

    @property
    def input_shapes(self) -> list[Shape]:
        return [s for _, s in self.inputs]

    @property
    def output_shapes(self) -> list[Shape]:
        return [self.shapes[n] for n in self.outputs]

    def build_keras(self, keras):
        """The same graph with keras.layers: each label's layer object made once, called per use."""
        tensors = {name: keras.Input(shape=shape, name=name) for name, shape in self.inputs}
        layers: dict = {}
        x = None
        for line in self.lines:
            x = tensors[line.start] if line.start else x
            x = _apply_graph(keras, line.nodes, x, tensors, layers)
            tensors.setdefault(line.end, x)
        inputs = [tensors[name] for name, _ in self.inputs]
        outputs = [tensors[name] for name in self.outputs]
        return keras.Model(inputs=inputs, outputs=outputs)


def _apply_graph(keras, nodes, x, tensors, layers):
    for node in nodes:
        if isinstance(node, Ref):
            x = tensors[node.name]
        elif isinstance(node, Reuse):
            for layer in layers[node.name]:
                x = layer(x)
            if node.label:
                tensors[node.label] = x
        elif isinstance(node, Step):
            made = []
            for i, (cls, args, kwargs) in enumerate(node.keras):
                if node.label and i == len(node.keras) - 1:
                    kwargs = dict(kwargs, name=node.label)
                made.append(keras_class(keras, cls)(*args, **kwargs))
                x = made[-1](x)
            if node.label:
                layers[node.label], tensors[node.label] = made, x
        else:
            merge, label = (node.node, node.label) if isinstance(node, Named) else (node, None)
            outs = [_apply_graph(keras, branch, x, tensors, layers) for branch in merge.branches]
            layer = keras_class(keras, merge.keras_class)(*merge.args, **({"name": label} if label else {}))
            x = layer(outs)
            if label:
                tensors[label] = x
    return x


def broadcast(a: Shape, b: Shape) -> Shape | None:
    """Keras's merge shape for two tensors of one rank: each axis equal, or 1 in one of them."""
    if len(a) != len(b) or any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        return None
    return tuple(max(x, y) for x, y in zip(a, b))


@st.composite
def graphs(draw, max_lines: int = 5):
    """Random valid graphs with references, several inputs and outputs, and shared layers."""
    r = draw(st.sampled_from([0, 1, 2, 2, 2]))
    low, high = INPUT_SIDES[r]
    high = min(high, 12)

    def input_shape():
        if r == 0:
            return (draw(st.integers(low, high)),)
        return per_axis(draw, draw(st.booleans()), low, [high] * r) + (draw(st.integers(1, 6)),)

    first = input_shape()
    count = draw(st.integers(1, 3))
    # Inputs mostly share one shape, so a layer made on one can be reused on another
    shapes = {f"in{i}": first if i == 0 or draw(st.integers(0, 3)) else input_shape() for i in range(count)}
    inputs = tuple(shapes.items())
    tags: set = {("input", ""), ("input", f"count={count}")}
    shareable: dict[str, tuple[Shape, Shape]] = {}  # label -> its layer's input and output shapes
    used: set[str] = set()
    lines: list[Line] = []
    fresh = iter(f"t{i}" for i in range(1000))

    def label_step(node, shape_in):
        name = next(fresh)
        if isinstance(node, Step):
            if len(node.keras) == 1:
                shareable[name] = (shape_in, node.shape)
            return Step(node.text, node.keras, node.shape, node.tags | {("label", "")}, name), name
        return Named(node, name), name

    unused_inputs = [name for name, _ in inputs]
    n_lines = draw(st.integers(max(2, count), max(max_lines, count + 1)))
    for _ in range(n_lines):
        last = lines[-1] if lines else None
        if unused_inputs:
            start = unused_inputs.pop(0)
        elif last and not last.output and last.end not in used and draw(st.booleans()):
            start = None  # continue from the line before
        else:
            open_ends = [line.end for line in lines if line.end not in used]
            start = draw(st.sampled_from(open_ends or sorted(shapes)))
        source = last.end if start is None else start
        used.add(source)
        shape = shapes[source]
        nodes: list = []
        kind = draw(st.sampled_from(["chain", "chain", "join", "join", "reuse"]))
        if kind == "reuse":
            fits_here = sorted(n for n, (s, _) in shareable.items() if s == shape)
            if fits_here:
                name = draw(st.sampled_from(fits_here))
                label = next(fresh) if draw(st.booleans()) else None
                nodes.append(Reuse(name, shareable[name][1], label))
                tags.add(("reuse", "labelled" if label else ""))
                if label:
                    shapes[label] = shareable[name][1]
                kind = "chain" if draw(st.booleans()) else "done"
            else:
                kind = "chain"
        if kind == "join":
            others = sorted(n for n in shapes if n != source and len(shapes[n]) == len(shape))
            gates = [n for n in others if shapes[n] != shape and broadcast(shape, shapes[n])]
            if others:
                other = draw(st.sampled_from(gates if gates and draw(st.booleans()) else others))
                used.add(other)
                keyword = draw(
                    st.sampled_from(["add", "concat", "multiply", "subtract", "average", "maximum", "minimum"])
                )
                if keyword == "concat":
                    adapt = adapter(draw, shapes[other], shape, any_channels=True)
                    out_side = _out(adapt, shapes[other])
                    out = shape[:-1] + (shape[-1] + out_side[-1],)
                    keras_class = "Concatenate"
                else:
                    # Keras broadcasts axes of size 1: a gate joins as it is, anything else is adapted
                    adapt = [] if broadcast(shape, shapes[other]) else adapter(draw, shapes[other], shape)
                    out = broadcast(shape, _out(adapt, shapes[other]))
                    keras_class = ELEMENTWISE[keyword]
                    if shapes[other] != shape and not adapt:
                        tags.add((keyword, "broadcast reference"))
                branches = [(), (Ref(other, shapes[other]), *adapt)]
                if draw(st.integers(0, 3)) == 0:
                    branches.reverse()
                nodes.append(
                    Merge(
                        keyword, keras_class, tuple(branches), out, frozenset({(keyword, ""), (keyword, "reference")})
                    )
                )
                if fits(out):
                    kind = "chain" if draw(st.integers(0, 2)) == 0 else "done"
                else:
                    nodes.pop()
                    kind = "chain"
            else:
                kind = "chain"
        if kind == "chain":
            nodes += pipeline(draw, _out(nodes, shape), 0, 1, 3)
            current = _out(nodes, shape)
            if spatial_rank(current) > 0 and draw(st.integers(0, 2)) == 0:
                nodes += squeeze_excite(draw, current)  # a gate for a later broadcasting merge
        # Name the line's end (and sometimes an earlier layer, to share or refer to later)
        for i, node in enumerate(nodes):
            if isinstance(node, Step) and i < len(nodes) - 1 and node.label is None and draw(st.integers(0, 3)) == 0:
                nodes[i], name = label_step(node, _out(nodes[:i], shape))
                shapes[name] = node.shape
        if nodes and isinstance(nodes[-1], Reuse) and nodes[-1].label:
            end = nodes[-1].label
        elif nodes and not isinstance(nodes[-1], Reuse):
            nodes[-1], end = label_step(nodes[-1], _out(nodes[:-1], shape))
        elif nodes:
            end = next(fresh)
            nodes[-1] = Reuse(nodes[-1].name, nodes[-1].shape, end)
        else:
            continue
        shapes[end] = nodes[-1].shape
        lines.append(Line(start, tuple(nodes), end))
    # Every end no later line reads is an output; an unmarked last line is the one output by default
    ends = [i for i, line in enumerate(lines) if line.end not in used]
    implicit = ends == [len(lines) - 1] and draw(st.booleans())
    if not implicit:
        for i in ends:
            lines[i] = Line(lines[i].start, lines[i].nodes, lines[i].end, True)
    outputs = tuple(lines[i].end for i in ends)
    tags.add(("output", f"count={len(outputs)}" if not implicit else "implicit"))
    text_lines = [f"{name}: input {'x'.join(map(str, shape))}" for name, shape in inputs]
    text_lines += [line.render() for line in lines]
    for line in lines:
        tags |= _all_graph_tags(line.nodes)
        if line.start is None:
            tags.add(("line", "continues"))
    return Graph("\n".join(text_lines) + "\n", inputs, tuple(lines), outputs, shapes, frozenset(tags))


def _all_graph_tags(nodes) -> set:
    tags = set()
    for node in nodes:
        tags |= node.tags
        merge = node.node if isinstance(node, Named) else node
        if isinstance(merge, Merge):
            for branch in merge.branches:
                tags |= _all_graph_tags(branch)
    return tags


# --------------------------------------------------------------------------
# Unknown sizes: the networks of `networks()`, with some spatial axes of the
# input written `?` (Keras's None). A network valid at the size it was drawn
# at stays valid with an axis unknown (Keras checks nothing there), unless a
# layer's weights need the unknown axis (a dense after a flatten): the Keras
# twin refuses those, and so must cnndsl.
#
#     from netgen import unknown_size_networks
#     net = ...            # drawn from unknown_size_networks()
#     net.text             # `input ?x12x3` ...
#     net.input_shape      # (None, 12, 3)
#     net.known_shape      # (9, 12, 3): a size every layer accepts
#     net.output_shape     # None: the generator does not work out None axes
#     net.build_keras(keras)  # the twin, on keras.Input(shape=(None, 12, 3))


@dataclass(frozen=True)
class UnknownSizeNet(Net):
    known_shape: Shape = ()


@st.composite
def unknown_size_networks(draw, max_layers: int = 8, max_depth: int = 2):
    """Random networks with at least one spatial axis of the input unknown (see above)."""
    net = draw(networks(max_layers=max_layers, max_depth=max_depth).filter(lambda n: len(n.input_shape) > 1))
    spatial = len(net.input_shape) - 1
    unknown = draw(st.sets(st.integers(0, spatial - 1), min_size=1))
    shape = tuple(None if i in unknown else n for i, n in enumerate(net.input_shape))
    written = "x".join("?" if n is None else str(n) for n in shape)
    rest = net.text.split("\n", 1)[1]
    return UnknownSizeNet(
        f"input {written}\n{rest}",
        shape,
        None,
        net.nodes,
        net.features | {("input", "unknown")},
        known_shape=net.input_shape,
    )
