"""ONNX: the inferred model as an ONNX graph (opset 18), built with the `onnx` package alone.

The graph computes what the emitted PyTorch module computes, on the same
NCHW tensors: Keras's `same` padding as explicit (possibly uneven) pads, or
`SAME_UPPER` where a size is unknown; the padding left out of averages;
Keras's channels-last flatten. Each initializer is named as the PyTorch
module's state_dict names that weight (`conv2d.weight`,
`batch_normalization.running_var`), so `cnndsl.port.torch_to_onnx` fills
it from the emitted module. Until then the weights are deterministic
starting values (small uniform kernels, zero biases, unit variances).

numpy and onnx are imported only when called: `summary` pays for neither.
"""

from __future__ import annotations

from ..core.errors import UnsupportedByTarget
from .pytorch import TorchTarget

OPSET = 18
PRODUCER = "cnndsl"


class OnnxGraph:
    """Nodes, initializers and shapes of the graph being written."""

    def __init__(self, model):
        import numpy as np
        from onnx import helper

        self.np, self.helper = np, helper
        self.model = model
        self.nodes: list = []
        self.initializers: dict[str, object] = {}
        self.value_info: list = []
        self.names: set[str] = set()
        self.rng = np.random.default_rng(0)
        self.attributes = TorchTarget(model).paths  # state_dict prefixes: `layer1.0.conv1` in a block module

    def fresh(self, name: str) -> str:
        base, i = name, 1
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs) -> str:
        """One node; its output's name."""
        out = self.fresh(name)
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def weight(self, node, suffix: str | None, shape, fill: str | float = "uniform") -> str:
        """An initializer of `node`'s layer named as the PyTorch state_dict names it; shared layers share it.
        No suffix: the layer is itself a parameter (torchvision's bare `layer_scale`)."""
        name = self.attributes[node.id] if suffix is None else f"{self.attributes[node.id]}.{suffix}"
        if name not in self.initializers:
            np = self.np
            if fill == "uniform":
                fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
                bound = 1 / max(fan_in, 1) ** 0.5
                value = self.rng.uniform(-bound, bound, size=shape).astype(np.float32)
            else:
                value = np.full(shape, {"ones": 1.0, "zeros": 0.0}.get(fill, fill), dtype=np.float32)
            self.initializers[name] = value
            self.names.add(name)
        return name

    def constant(self, name: str, values, dtype="int64") -> str:
        """A constant input (pads, clip bounds, shapes) as an initializer."""
        name = self.fresh(name)
        self.initializers[name] = self.np.array(values, dtype=dtype)
        return name


def unsupported(node, why: str) -> UnsupportedByTarget:
    return UnsupportedByTarget(f"ONNX cannot be written for `{node.layer.keyword}`: {why}", node.span)


def _pads(pads) -> list[int]:
    """Keras's (before, after) per axis as ONNX's [begins..., ends...]."""
    return [a for a, _ in pads] + [b for _, b in pads]


def _window_attrs(node, pads, **extra) -> dict:
    """`pads`, or `auto_pad=SAME_UPPER` where a size is unknown (Keras's `same`: the odd pixel after)."""
    if any(p is None or None in p for p in pads):
        return {"auto_pad": "SAME_UPPER", **extra}
    return {"pads": _pads(pads), **extra}


def activation(g: OnnxGraph, node, x: str, keyword: str | None, name: str) -> str:
    """`x` through the activation `keyword` (Keras's definitions, as the PyTorch code has them)."""
    from ..layers.activation import ALIASES

    keyword = ALIASES.get(keyword, keyword)
    if keyword in (None, "linear"):
        return x
    simple = {
        "relu": "Relu",
        "sigmoid": "Sigmoid",
        "tanh": "Tanh",
        "softplus": "Softplus",
        "softsign": "Softsign",
        "selu": "Selu",
        "mish": "Mish",
        "hardswish": "HardSwish",
    }
    if keyword in simple:
        return g.op(simple[keyword], [x], name)
    if keyword == "relu6":
        low, high = g.constant(f"{name}.min", 0.0, "float32"), g.constant(f"{name}.max", 6.0, "float32")
        return g.op("Clip", [x, low, high], name)
    if keyword == "softmax":
        return g.op("Softmax", [x], name, axis=1)  # Keras's last axis, the channels: axis 1 in NCHW
    if keyword in ("swish", "silu"):
        return g.op("Mul", [x, g.op("Sigmoid", [x], f"{name}.sigmoid")], name)
    if keyword == "elu":
        return g.op("Elu", [x], name, alpha=1.0)
    if keyword == "hardsigmoid":
        return g.op("HardSigmoid", [x], name, alpha=1 / 6, beta=0.5)  # PyTorch's and Keras 3's: relu6(x + 3) / 6
    if keyword == "leakyrelu":
        return g.op("LeakyRelu", [x], name, alpha=0.2)  # Keras's leaky_relu function's slope
    if keyword == "gelu":  # exact: x·(1 + erf(x/√2))/2 (Gelu is an operator only from opset 20)
        root2, half, one = (
            g.constant(f"{name}.{n}", v, "float32") for n, v in (("sqrt2", 2**0.5), ("half", 0.5), ("one", 1.0))
        )
        erf = g.op("Erf", [g.op("Div", [x, root2], f"{name}.scaled")], f"{name}.erf")
        return g.op("Mul", [g.op("Mul", [x, half], f"{name}.half"), g.op("Add", [erf, one], f"{name}.plus1")], name)
    raise unsupported(node, f"no ONNX operator written for the activation `{keyword}`")


def _channels_last(g, x, rank: int, name: str) -> str:
    return g.op("Transpose", [x], name, perm=[0, *range(2, rank + 1), 1])


def _channels_first(g, x, rank: int, name: str) -> str:
    return g.op("Transpose", [x], name, perm=[0, rank, *range(1, rank)])


def _conv(g, node, x, cin, cout, groups, bias, name, suffix="") -> str:
    r = node.resolved
    weight = g.weight(node, f"{suffix}weight", (cout, cin // groups, *r["kernel"]))
    inputs = [x, weight] + ([g.weight(node, f"{suffix}bias", (cout,), "zeros")] if bias else [])
    attrs = _window_attrs(node, r["pads"], kernel_shape=list(r["kernel"]), strides=list(r["stride"]))
    attrs["dilations"] = list(r["dilation"])
    if groups > 1:
        attrs["group"] = groups
    return g.op("Conv", inputs, name, **attrs)


def _deconv(g, node, x, name) -> str:
    """ConvTranspose cut as Keras cuts the full output: `pads` where it cuts, `output_padding` where
    it extends the end (a negative cut)."""
    layer, r = node.layer, node.resolved
    cin, filters = node.in_shapes[0][-1], layer["filters"]
    weight = g.weight(node, "weight", (cin, filters, *r["kernel"]))  # PyTorch's (in, out, k...), as ONNX's
    inputs = [x, weight] + ([g.weight(node, "bias", (filters,), "zeros")] if layer["bias"] else [])
    before = [b for b, _ in r["crops"]]
    after = [max(a, 0) for _, a in r["crops"]]
    attrs = {"kernel_shape": list(r["kernel"]), "strides": list(r["stride"]), "dilations": list(r["dilation"])}
    attrs["pads"] = before + after
    if any(a < 0 for _, a in r["crops"]):
        attrs["output_padding"] = [max(-a, 0) for _, a in r["crops"]]
    y = g.op("ConvTranspose", inputs, name + ".conv", **attrs)
    return activation(g, node, y, layer["activation"], name) if layer["activation"] else _rename(g, y, name)


def _normalize(g, node, x, name) -> str:
    """(x − mean) / max(√variance, 1e-7) per channel, as Keras's Normalization and the PyTorch helpers;
    learned statistics are the module's buffers (mean, variance and Keras's count), fixed ones constants."""
    np, layer = g.np, node.layer
    c, rank = node.shape[-1], len(node.shape)
    view = [c, *(1,) * (rank - 1)]
    if layer.fixed:
        mean, variance = (
            g.constant(f"{name}.{word}", np.broadcast_to(np.array(layer[word]), (c,)).reshape(view), "float32")
            for word in ("mean", "variance")
        )
    else:
        shape = g.constant(name + ".view", view)
        mean = g.op("Reshape", [g.weight(node, "mean", (c,), "zeros"), shape], name + ".mean")
        variance = g.op("Reshape", [g.weight(node, "variance", (c,), "ones"), shape], name + ".variance")
        g.weight(node, "count", (), "zeros")  # read by nothing: Keras's count of examples seen, a weight all the same
    root = g.op("Sqrt", [variance], name + ".sqrt")
    deviation = g.op("Max", [root, g.constant(name + ".epsilon", 1e-7, "float32")], name + ".deviation")
    centred = g.op("Sub", [x, mean], name + ".centred")
    return g.op("Div", [centred, deviation], name)


def write_node(g: OnnxGraph, node, inputs: list[str]) -> str:
    """The ONNX nodes of one layer; the name of its output."""
    from ..layers import REGISTRY, channels, conv, core, merge, norm, pool, resize
    from ..layers import activation as acts

    StochasticDepth = REGISTRY["droppath"]
    layer, name = node.layer, node.name
    x = inputs[0]
    in_shape = node.in_shapes[0]
    if isinstance(layer, conv.Conv):
        y = _conv(g, node, x, in_shape[-1], layer["filters"], layer["groups"], layer["bias"], name + ".conv")
        return activation(g, node, y, layer["activation"], name) if layer["activation"] else _rename(g, y, name)
    if isinstance(layer, conv.DepthwiseConv):
        y = _conv(g, node, x, in_shape[-1], node.shape[-1], in_shape[-1], layer["bias"], name + ".conv")
        return activation(g, node, y, layer["activation"], name) if layer["activation"] else _rename(g, y, name)
    if isinstance(layer, conv.SeparableConv):
        cin, middle = in_shape[-1], in_shape[-1] * layer["mult"]
        d = _conv(g, node, x, cin, middle, cin, False, name + ".depthwise", "0.")
        weight = g.weight(node, "1.weight", (layer["filters"], middle, *(1,) * node.resolved["rank"]))
        bias = [g.weight(node, "1.bias", (layer["filters"],), "zeros")] if layer["bias"] else []
        y = g.op("Conv", [d, weight, *bias], name + ".pointwise", kernel_shape=[1] * node.resolved["rank"])
        return activation(g, node, y, layer["activation"], name) if layer["activation"] else _rename(g, y, name)
    if isinstance(layer, conv.Deconv):
        return _deconv(g, node, x, name)
    if isinstance(layer, core.Dense):
        n, units = in_shape[-1], layer["units"]
        weight = g.weight(node, "weight", (units, n))
        bias = [g.weight(node, "bias", (units,), "zeros")] if layer["bias"] else []
        if len(in_shape) == 1:
            y = g.op("Gemm", [x, weight, *bias], name + ".gemm", transB=1)
        else:  # on the channels of every position, as Keras's Dense on a tensor with more axes
            rank = len(in_shape)
            last = _channels_last(g, x, rank, name + ".channels_last")
            wt = g.op("Transpose", [weight], name + ".weight_t", perm=[1, 0])
            y = g.op("MatMul", [last, wt], name + ".matmul")
            if bias:
                y = g.op("Add", [y, bias[0]], name + ".bias")
            y = _channels_first(g, y, rank, name + ".channels_first")
        return activation(g, node, y, layer["activation"], name) if layer["activation"] else _rename(g, y, name)
    if isinstance(layer, core.Flatten):
        if len(in_shape) > 1 and layer.conventions != "pytorch":  # Keras flattens channels last
            x = _channels_last(g, x, len(in_shape), name + ".channels_last")
        return g.op("Flatten", [x], name, axis=1)
    if isinstance(layer, (core.Dropout, StochasticDepth)):  # the identity at inference, as onnxruntime runs it
        return g.op("Dropout", [x, g.constant(name + ".ratio", layer["rate"], "float32")], name)
    if isinstance(layer, norm.BatchNorm):
        c = node.shape[-1]
        if len(node.shape) > 4:
            raise unsupported(node, "a batch norm on more than three spatial axes")
        scale = g.weight(node, "weight" if layer["scale"] else "fixed_weight", (c,), "ones")
        bias = g.weight(node, "bias" if layer["center"] else "fixed_bias", (c,), "zeros")
        mean = g.weight(node, "running_mean", (c,), "zeros")
        var = g.weight(node, "running_var", (c,), "ones")
        return g.op("BatchNormalization", [x, scale, bias, mean, var], name, epsilon=layer["eps"])
    if isinstance(layer, (acts.Activation, acts.ReLU6)):
        y = activation(g, node, x, layer.function, name)
        return y if y != x else g.op("Identity", [x], name)
    if isinstance(layer, acts.LeakyReLU):
        return g.op("LeakyRelu", [x], name, alpha=layer["alpha"])
    if isinstance(layer, pool.MaxPool):
        r = node.resolved
        attrs = _window_attrs(node, r["pads"], kernel_shape=list(r["size"]), strides=list(r["stride"]))
        if layer["ceil"]:
            attrs["ceil_mode"] = 1
        return g.op("MaxPool", [x], name, **attrs)
    if isinstance(layer, pool.AvgPool):
        r = node.resolved
        attrs = _window_attrs(node, r["pads"], kernel_shape=list(r["size"]), strides=list(r["stride"]))
        return g.op("AveragePool", [x], name, count_include_pad=0, **attrs)  # Keras leaves the padding out
    if isinstance(layer, (pool.GlobalAvgPool, pool.GlobalMaxPool)):  # as PyTorch's x.mean(dim=(2, 3)) exports
        op = "ReduceMean" if isinstance(layer, pool.GlobalAvgPool) else "ReduceMax"
        spatial = g.constant(name + ".axes", list(range(2, 2 + node.resolved["rank"])))
        return g.op(op, [x, spatial], name, keepdims=int(layer["keepdims"]))
    if isinstance(layer, pool.AdaptiveAvgPool):
        spatial, out = in_shape[:-1], node.shape[:-1]
        if out == (1,) * len(out):
            return g.op("GlobalAveragePool", [x], name)
        if None in spatial or any(n % o for n, o in zip(spatial, out)):
            raise unsupported(
                node, "ONNX pools to a fixed size only where each input size is a multiple of the output's"
            )
        kernel = [n // o for n, o in zip(spatial, out)]
        return g.op("AveragePool", [x], name, kernel_shape=kernel, strides=kernel)
    if isinstance(layer, resize.ZeroPad):
        pads = g.constant(
            name + ".pads", [0, 0, *(a for a, _ in node.resolved["pads"]), 0, 0, *(b for _, b in node.resolved["pads"])]
        )
        return g.op("Pad", [x, pads], name)
    if isinstance(layer, norm.LayerNorm):
        c, rank = node.shape[-1], len(node.shape)
        scale = g.weight(node, "weight" if layer["scale"] else "fixed_weight", (c,), "ones")
        bias = g.weight(node, "bias" if layer["center"] else "fixed_bias", (c,), "zeros")
        last = _channels_last(g, x, rank, name + ".channels_last") if rank > 1 else x
        y = g.op(
            "LayerNormalization",
            [last, scale, bias],
            name + ".norm" if rank > 1 else name,
            axis=-1,
            epsilon=layer["eps"],
        )
        return _channels_first(g, y, rank, name) if rank > 1 else y
    if isinstance(layer, norm.Rescale):
        y = g.op("Mul", [x, g.constant(name + ".scale", layer["scale"], "float32")], name + ".scaled")
        return g.op("Add", [y, g.constant(name + ".offset", layer["offset"], "float32")], name)
    if isinstance(layer, core.Reshape):  # in Keras's channels-last order, as the PyTorch code
        target = node.resolved["target"]
        if len(in_shape) > 1:
            x = _channels_last(g, x, len(in_shape), name + ".channels_last")
        y = g.op(
            "Reshape",
            [x, g.constant(name + ".shape", [0, *(-1 if d is None else d for d in target)])],
            name + ".reshape" if len(target) > 1 else name,
        )
        return _channels_first(g, y, len(target), name) if len(target) > 1 else y
    if isinstance(layer, resize.Crop):
        crops = node.resolved["crops"]
        axes = list(range(2, 2 + len(crops)))
        starts = g.constant(name + ".starts", [a for a, _ in crops])
        ends = g.constant(name + ".ends", [-b if b else 2**62 for _, b in crops])
        return g.op("Slice", [x, starts, ends, g.constant(name + ".axes", axes)], name)
    if isinstance(layer, resize.UpSample):
        factors = [1.0, 1.0, *(float(f) for f in node.resolved["size"])]
        scales = g.constant(name + ".scales", factors, "float32")
        if layer["interpolation"] == "bilinear":
            attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
        else:
            attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
        return g.op("Resize", [x, "", scales], name, **attrs)
    if isinstance(layer, merge.ScaleAdd):  # the shortcut plus the residual times the scale
        scaled = g.op("Mul", [inputs[1], g.constant(name + ".scale", layer["scale"], "float32")], name + ".scaled")
        return g.op("Add", [inputs[0], scaled], name)
    if isinstance(layer, merge.Concat):
        return g.op("Concat", inputs, name, axis=1)  # Keras's last axis, the channels: axis 1 in NCHW
    if isinstance(layer, merge._Elementwise):
        if any(len(s) != len(node.shape) for s in node.in_shapes):
            raise unsupported(node, "branches of different ranks")
        ops = {
            merge.Add: "Sum",
            merge.Multiply: "Mul",
            merge.Average: "Mean",
            merge.Maximum: "Max",
            merge.Minimum: "Min",
            merge.Subtract: "Sub",
        }
        op = ops.get(type(layer))
        if op is None:
            raise unsupported(node, "no ONNX operator written for this merge")
        if op == "Mul":  # binary: fold in order, as Keras joins them
            y = inputs[0]
            for i, other in enumerate(inputs[1:], start=1):
                y = g.op("Mul", [y, other], name if i == len(inputs) - 1 else f"{name}.{i}")
            return y
        if op == "Sum" and len(inputs) == 2:
            return g.op("Add", inputs, name)
        return g.op(op, inputs, name)
    if isinstance(layer, norm.Normalize):
        return _normalize(g, node, x, name)
    if isinstance(layer, REGISTRY["layerscale"]):  # x·γ, γ in the PyTorch module's own shape
        c, rank = node.shape[-1], len(node.shape)
        torchvision = layer.conventions == "pytorch"
        shape = (c, *(1,) * (rank - 1)) if torchvision else (c,)
        gamma = g.weight(node, None if torchvision else "gamma", shape, float(layer["init"]))
        if rank > 1 and not torchvision:
            gamma = g.op("Reshape", [gamma, g.constant(name + ".view", [c, *(1,) * (rank - 1)])], name + ".gamma")
        return g.op("Mul", [x, gamma], name)
    if isinstance(layer, channels.ChannelShuffle):
        order = g.constant(name + ".order", channels.shuffle_order(node.shape[-1], layer["groups"]))
        return g.op("Gather", [x, order], name, axis=1)
    if isinstance(layer, channels.Chunk):  # x.chunk(G, dim=1)[i]: channels i·C/G to (i + 1)·C/G
        width = node.shape[-1]
        starts = g.constant(name + ".starts", [layer["index"] * width])
        ends = g.constant(name + ".ends", [(layer["index"] + 1) * width])
        return g.op("Slice", [x, starts, ends, g.constant(name + ".axes", [1])], name)
    if layer.READS_INTEGERS:  # embedding: the table's rows for the ids (int64), channels moved to axis 1
        table = g.weight(node, "weight", (layer["vocab"], layer["dim"]))
        y = g.op("Gather", [table, x], name + ".gather", axis=0)
        return g.op("Transpose", [y], name, perm=[0, 2, 1])
    raise unsupported(node, "no ONNX operators are written for this layer yet")


def _rename(g, x: str, name: str) -> str:
    """The layer's output under the layer's own name (the last node of several already has another)."""
    last = g.nodes[-1]
    if last.output[0] == x and name not in g.names:
        g.names.discard(x)
        g.names.add(name)
        last.output[0] = name
        last.name = name
        return name
    return x


def _value(helper, name: str, shape, integers: bool = False) -> object:
    from onnx import TensorProto

    dims = ["N", shape[-1], *shape[:-1]] if len(shape) > 1 else ["N", shape[0]]
    dims = [f"{name}_{i}" if d is None else d for i, d in enumerate(dims)]
    return helper.make_tensor_value_info(name, TensorProto.INT64 if integers else TensorProto.FLOAT, dims)


def build(model):
    """The model as an `onnx.ModelProto` (opset 18), checked by onnx's full checker."""
    import onnx
    from onnx import helper, numpy_helper

    g = OnnxGraph(model)
    outputs: dict[int, str] = {}
    inputs = []
    for i in model.inputs:
        node = model.nodes[i]
        name = g.fresh(node.name)
        outputs[i] = name
        inputs.append(_value(helper, name, node.shape, bool(node.resolved.get("integers"))))
    for node in model.layers:
        if node.id in model.training_only:  # the graph is for inference: no training-only outputs
            continue
        first = len(g.nodes)
        outputs[node.id] = write_node(g, node, [outputs[i] for i in node.inputs])
        for written in g.nodes[first:]:  # which layer each node is of, for `cnndsl import` to read back
            written.doc_string = f"cnndsl: {node.layer.keyword}"
        g.value_info.append(_value(helper, outputs[node.id], node.shape))
    graph_outputs = []
    for n, i in enumerate(model.outputs):
        if i in model.training_outputs:
            continue
        name = outputs[i]
        if name in (outputs[j] for j in model.inputs) or name in (outputs[j] for j in model.outputs[:n]):
            name = g.op("Identity", [name], g.fresh(f"output_{n}"))
        graph_outputs.append(_value(helper, name, model.nodes[i].shape))
    outputs_named = {v.name for v in graph_outputs}
    value_info = [v for v in g.value_info if v.name not in outputs_named]
    initializers = [numpy_helper.from_array(value, name) for name, value in g.initializers.items()]
    graph = helper.make_graph(g.nodes, model.name, inputs, graph_outputs, initializers, value_info=value_info)
    proto = helper.make_model(graph, producer_name=PRODUCER, opset_imports=[helper.make_opsetid("", OPSET)])
    # whose defaults the layers follow, so that `cnndsl import` writes the file back under the same
    props = {"cnndsl.defaults": model.input.layer.conventions}
    left_out = sorted({g.attributes[i] for i in model.training_only if i in g.attributes})
    if left_out:  # the PyTorch module's weights of layers run only while training, which this graph has not
        props["cnndsl.training_only"] = " ".join(left_out)
    helper.set_model_props(proto, props)
    proto.ir_version = 8  # opset 18's; onnxruntime 1.16 and later read it
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_bytes(model) -> bytes:
    return build(model).SerializeToString()
