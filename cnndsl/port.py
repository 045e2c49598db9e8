"""Copy a Keras model's weights into the PyTorch model cnndsl generated for it.

    from cnndsl.port import keras_to_torch
    keras_to_torch(keras_model, torch_model)

Both models must come from the same .cnn file (`cnndsl emit --keras` and
`cnndsl emit --pytorch`): layers are matched by name, since the PyTorch
model keeps each Keras layer's weights in an attribute of the same name;
where its layers are in block modules (a class per `def`), each kind of
layer in the order the file made them, which Keras's graph gives walked
from the outputs (the emitter keeps blocks inline where it would not).
Afterwards both compute the same function (in inference mode), the PyTorch
one on NCHW tensors: `torch_model.eval()(x.permute(0, 3, 1, 2))` equals
`keras_model(x, training=False)` moved channels first.

Layouts: conv kernels HWIO -> OIHW; depthwise (H, W, C, M) -> (C*M, 1, H, W);
separable: depthwise and pointwise into the two convs of an nn.Sequential;
transposed (H, W, O, I) -> (I, O, H, W); dense (in, out) -> (out, in) (the
generated Flatten already orders values as Keras does, so no permutation);
batch norm gamma, beta, moving mean and variance -> weight, bias,
running_mean, running_var; layer norm gamma/beta; Normalization's
statistics -> the buffers of the generated helper.

numpy and torch are imported only when called; cnndsl itself needs neither.
"""

from __future__ import annotations

import re

from .emit.pytorch import attribute_name


def keras_to_torch(keras_model, torch_model) -> None:
    """Copy every weight of `keras_model` into `torch_model`, in place."""
    import torch

    weighted = [layer for layer in keras_model.layers if layer.weights]
    modules = [getattr(torch_model, attribute_name(layer.name), None) for layer in weighted]
    if None in modules and any(True for _ in torch_model.children()) and _nested(torch_model):
        weighted = [layer for layer in _in_cnndsl_order(keras_model) if layer.weights]
        modules = _in_order(weighted, torch_model)
    with torch.no_grad():
        for layer, module in zip(weighted, modules):
            if module is None:
                raise KeyError(
                    f"the PyTorch model has no layer `{attribute_name(layer.name)}` for Keras's `{layer.name}`"
                )
            kind = type(layer).__name__
            port = _PORTS.get(re.sub(r"[123]D", "", kind))
            if port is None:
                raise TypeError(f"cannot port the weights of a Keras {kind} layer")
            port(layer, module)


def _nested(torch_model) -> bool:
    """Whether the model keeps layers in block modules (cnndsl writes a class per `def`, an
    nn.Sequential for a block of modules one after the other)."""
    for _, child in torch_model.named_modules():
        if child is torch_model:
            continue
        if type(child).__module__ == type(torch_model).__module__:
            return True
        if type(child).__name__ == "Sequential" and not _is_separable(child):
            return True
    return False


def _is_separable(module) -> bool:
    """An nn.Sequential of a grouped conv and a conv: how cnndsl writes a separable convolution."""
    children = list(module.children())
    return (
        type(module).__name__ == "Sequential"
        and len(children) == 2
        and all(_torch_kind(c) == "conv" for c in children)
        and children[0].groups > 1
    )


def _in_cnndsl_order(keras_model) -> list:
    """Keras's layers in the order cnndsl made them: each layer after its inputs, a merge's inputs
    in their order (Keras's own `layers` go by depth)."""
    order, seen, done = [], set(), set()
    stack = [(t._keras_history[0], t._keras_history[1], False) for t in reversed(keras_model.outputs)]
    while stack:
        layer, index, expanded = stack.pop()
        if (id(layer), index) in done:
            continue
        if expanded:
            done.add((id(layer), index))
            if id(layer) not in seen:
                seen.add(id(layer))
                order.append(layer)
            continue
        stack.append((layer, index, True))
        node = layer._inbound_nodes[index]
        for tensor in reversed(list(node.input_tensors)):
            history = tensor._keras_history
            if (id(history[0]), history[1]) not in done:
                stack.append((history[0], history[1], False))
    return order


def _torch_kind(module) -> str | None:
    name = type(module).__name__
    if name.startswith(("Conv", "ConvTranspose")) and name[-2:] in ("1d", "2d", "3d"):
        return "conv"
    if name.startswith(("BatchNorm", "LayerNorm")):
        return "norm"
    return {
        "Linear": "dense",
        "LayerScale": "LayerScale",
        "Normalization": "Normalization",
        "Embedding": "Embedding",
    }.get(name)


_KERAS_KINDS = {
    "Conv": "conv",
    "DepthwiseConv": "conv",
    "ConvTranspose": "conv",
    "SeparableConv": "separable",
    "Dense": "dense",
    "BatchNormalization": "norm",
    "LayerNormalization": "norm",
    "Normalization": "Normalization",
    "LayerScale": "LayerScale",
    "Embedding": "Embedding",
}


def _in_order(layers, torch_model) -> list:
    """The module for each Keras layer, by kind in the order each kind's modules were made."""
    queues: dict[str, list] = {}
    inside_separable = set()
    for _, module in torch_model.named_modules():
        if id(module) in inside_separable:
            continue
        if _is_separable(module):
            queues.setdefault("separable", []).append(module)
            inside_separable.update(id(c) for c in module.children())
            continue
        kind = _torch_kind(module)
        if kind is not None:
            queues.setdefault(kind, []).append(module)
        for name, parameter in module.named_parameters(recurse=False):
            if name.startswith("layer_scale"):  # torchvision's ConvNeXt: a parameter of the block (defaults pytorch)
                queues.setdefault("LayerScale", []).append(parameter)
    for queue in queues.values():
        queue.reverse()
    found = []
    for layer in layers:
        queue = queues.get(_KERAS_KINDS.get(re.sub(r"[123]D", "", type(layer).__name__), ""), [])
        found.append(queue.pop() if queue else None)
    return found


def _numpy(variable):
    import keras

    return keras.ops.convert_to_numpy(variable)


def _copy(target, array) -> None:
    import torch

    value = torch.as_tensor(array, dtype=target.dtype).reshape(target.shape)
    if value.shape != target.shape:  # pragma: no cover - reshape raises first
        raise ValueError(f"shape {tuple(value.shape)} does not fit {tuple(target.shape)}")
    target.copy_(value)


def _spatial_last(array, leading: tuple[int, int]):
    """(k..., a, b) -> (a, b, k...) for the given order of the last two axes."""
    rank = array.ndim - 2
    return array.transpose(*(rank + i for i in leading), *range(rank))


def _conv(layer, module) -> None:
    _copy(module.weight, _spatial_last(_numpy(layer.kernel), (1, 0)))  # (k..., in, out) -> (out, in, k...)
    if layer.use_bias:
        _copy(module.bias, _numpy(layer.bias))


def _depthwise_kernel(kernel):
    """(k..., C, M) -> (C*M, 1, k...): output channel c*M + m, as Keras orders them."""
    rank = kernel.ndim - 2
    flat = kernel.reshape(*kernel.shape[:rank], -1)  # (k..., C*M)
    return flat.transpose(rank, *range(rank))[:, None]


def _depthwise(layer, module) -> None:
    _copy(module.weight, _depthwise_kernel(_numpy(layer.kernel)))
    if layer.use_bias:
        _copy(module.bias, _numpy(layer.bias))


def _separable(layer, module) -> None:
    depthwise, pointwise = module[0], module[1]
    _copy(depthwise.weight, _depthwise_kernel(_numpy(layer.depthwise_kernel)))
    _copy(pointwise.weight, _spatial_last(_numpy(layer.pointwise_kernel), (1, 0)))
    if layer.use_bias:
        _copy(pointwise.bias, _numpy(layer.bias))


def _transpose(layer, module) -> None:
    _copy(module.weight, _spatial_last(_numpy(layer.kernel), (1, 0)))  # (k..., out, in) -> (in, out, k...)
    if layer.use_bias:
        _copy(module.bias, _numpy(layer.bias))


def _dense(layer, module) -> None:
    _copy(module.weight, _numpy(layer.kernel).T)
    if layer.use_bias:
        _copy(module.bias, _numpy(layer.bias))


def _norm(layer, module) -> None:
    if layer.gamma is not None:
        _copy(module.weight, _numpy(layer.gamma))
    if layer.beta is not None:
        _copy(module.bias, _numpy(layer.beta))
    if hasattr(layer, "moving_mean"):
        _copy(module.running_mean, _numpy(layer.moving_mean))
        _copy(module.running_var, _numpy(layer.moving_variance))


def _normalization(layer, module) -> None:
    for weight in layer.weights:  # Keras names them mean, variance and count
        _copy(getattr(module, weight.name), _numpy(weight))


def _layer_scale(layer, module) -> None:
    """Into a LayerScale module's (C,) gamma, or a bare (C, 1, 1) parameter as torchvision's ConvNeXt has it."""
    _copy(getattr(module, "gamma", module), _numpy(layer.gamma))


def _embedding(layer, module) -> None:
    _copy(module.weight, _numpy(layer.embeddings))  # (vocab, dim) in both


_PORTS = {
    "Conv": _conv,
    "DepthwiseConv": _depthwise,
    "SeparableConv": _separable,
    "ConvTranspose": _transpose,
    "Dense": _dense,
    "BatchNormalization": _norm,
    "LayerNormalization": _norm,
    "Normalization": _normalization,
    "LayerScale": _layer_scale,
    "Embedding": _embedding,
}


def torch_to_torch(source, target) -> None:
    """Copy `source`'s parameters and buffers into `target` in order, in place.

    For a torchvision model (or any PyTorch model with the same layers in the
    same order) and the module cnndsl emitted for its .cnn file: names may
    differ, every shape must agree. Raises ValueError naming the first
    mismatch, before anything is copied.
    """
    import torch

    theirs, ours = list(source.state_dict().items()), list(target.state_dict().items())
    if len(theirs) != len(ours):
        raise ValueError(f"the source has {len(theirs)} parameters and buffers, the target {len(ours)}")
    for (their_name, value), (our_name, slot) in zip(theirs, ours):
        if value.shape != slot.shape:
            raise ValueError(f"`{their_name}` {tuple(value.shape)} does not fit `{our_name}` {tuple(slot.shape)}")
    with torch.no_grad():
        for (_, value), (_, slot) in zip(theirs, ours):
            slot.copy_(value)


def torch_to_onnx(torch_model, onnx_model) -> None:
    """Copy the emitted PyTorch module's weights into the ONNX model `cnndsl emit --onnx` wrote
    from the same file, in place: each initializer is named as the module's state_dict names
    that tensor (`conv2d.weight`, `batch_normalization.running_var`). Then onnxruntime's output
    on an NCHW input equals `torch_model.eval()`'s. The weights of layers that run only while
    training (an `output train` head), which the inference graph lacks, are left where they are."""
    from onnx import numpy_helper

    initializers = {init.name: init for init in onnx_model.graph.initializer}
    props = {p.key: p.value for p in onnx_model.metadata_props}
    training_only = tuple(f"{prefix}." for prefix in props.get("cnndsl.training_only", "").split())
    for name, tensor in torch_model.state_dict().items():
        if name.endswith("num_batches_tracked") or name.startswith(training_only):
            continue
        init = initializers.get(name)
        if init is None:
            raise KeyError(f"the ONNX model has no initializer `{name}` for the PyTorch model's weight")
        if tuple(init.dims) != tuple(tensor.shape):
            raise ValueError(f"`{name}`: shape {tuple(tensor.shape)} does not fit the ONNX model's {tuple(init.dims)}")
        init.CopyFrom(numpy_helper.from_array(tensor.detach().cpu().float().numpy(), name))
