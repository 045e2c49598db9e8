"""Keras 3 `.keras` files: the model's config.json, read as JSON, as a cnndsl graph.

Only config.json is read (never the weights, never `keras.saving.load_model`):
no Lambda runs, no custom class is imported. Each Keras layer class maps to
a cnndsl layer through KERAS_RULES; a class without a rule, a Lambda, or an
option cnndsl cannot write is refused at that layer.
"""

from __future__ import annotations

import json
import os
import re
import zipfile

from ..core.limits import MAX_IMPORT_CONFIG_BYTES, MAX_IMPORT_FILE_BYTES, MAX_IMPORT_LAYERS, MAX_IMPORT_MEMBERS
from ..layers.activation import ACTIVATIONS, ALIASES
from ..layers.base import to_snake_case
from .errors import ModelFileError
from .graph import Graph, Layer, Value

# Keras activation names (strings in the config) -> cnndsl keywords.
KERAS_ACTIVATIONS = {keras: ours for ours, keras in ACTIVATIONS.items()}
KERAS_ACTIVATIONS.update({name: ours for name, ours in ALIASES.items() if name not in KERAS_ACTIVATIONS})


class Refused(Exception):
    """A layer this importer cannot write; the reader adds which layer it is."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


# Reading the file


def read_keras_file(path: str | os.PathLike[str]) -> Graph:
    """config.json of a `.keras` zip, bounded and checked, as a Graph."""
    try:
        size = os.path.getsize(path)
    except OSError as error:
        raise ModelFileError(f"cannot read the file: {error.strerror}", exit_code=2) from None
    if size > MAX_IMPORT_FILE_BYTES:
        raise ModelFileError(
            f"the file is {size:,} bytes, more than cnndsl reads ({MAX_IMPORT_FILE_BYTES:,})", exit_code=2
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_IMPORT_MEMBERS:
                raise ModelFileError(
                    f"the archive has {len(members):,} members; a .keras file has a handful", exit_code=2
                )
            info = next((m for m in members if m.filename == "config.json"), None)
            if info is None:
                raise ModelFileError(
                    "this zip has no config.json, so it is not a Keras 3 `.keras` file",
                    hint="save the model with `model.save('model.keras')` (Keras 3)",
                    exit_code=2,
                )
            if info.file_size > MAX_IMPORT_CONFIG_BYTES:
                raise ModelFileError(
                    f"config.json is {info.file_size:,} bytes, more than cnndsl reads ({MAX_IMPORT_CONFIG_BYTES:,})",
                    exit_code=2,
                )
            with archive.open(info) as member:
                data = member.read(MAX_IMPORT_CONFIG_BYTES + 1)  # the header's size is not trusted
            if len(data) > MAX_IMPORT_CONFIG_BYTES:
                raise ModelFileError(
                    f"config.json is larger than cnndsl reads ({MAX_IMPORT_CONFIG_BYTES:,} bytes)", exit_code=2
                )
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise ModelFileError(
            f"the file is not a readable .keras archive ({error.__class__.__name__}: {str(error)[:200]})",
            hint="the file may be truncated or corrupted; save the model again",
            exit_code=2,
        ) from None
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError("config.json is not valid JSON", hint="save the model again", exit_code=2) from None
    return read_config(config)


def read_config(config) -> Graph:
    """A Keras model's serialised config (what `.keras` files hold in config.json) as a Graph."""
    if not isinstance(config, dict):
        raise ModelFileError("config.json does not describe a Keras model", exit_code=2)
    kind = config.get("class_name")
    body = config.get("config")
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise ModelFileError(
            f"the model is a `{kind}`, whose layers are not in its config",
            hint="cnndsl imports Sequential and functional models; a subclassed Model's layers live in its Python code",
        )
    if len(body["layers"]) > MAX_IMPORT_LAYERS:
        raise ModelFileError(
            f"the model has {len(body['layers']):,} layers, more than cnndsl imports ({MAX_IMPORT_LAYERS:,})"
        )
    graph = Graph(name=str(body.get("name", "model"))[:100], format="Keras")
    if kind == "Sequential":
        read_sequential(body, graph)
    elif kind in ("Functional", "Model"):
        read_functional(body, graph)
    else:
        raise ModelFileError(
            f"the model is a `{printable(kind)}`, not a Sequential or functional Keras model",
            hint="cnndsl imports Sequential and functional models; a subclassed Model's layers live in its Python code",
        )
    return graph


def printable(value, limit: int = 80) -> str:
    """A name from the file, safe to print: no control characters, bounded."""
    text = str(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


def layer_entries(body: dict) -> list[dict]:
    entries = []
    for n, entry in enumerate(body["layers"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
            raise ModelFileError(f"layer {n} of config.json is not a layer", exit_code=2)
        entries.append(entry)
    return entries


def where(n: int, entry: dict) -> str:
    name = entry.get("name") or entry.get("config", {}).get("name", "?")
    return f"layer {n} `{printable(name)}` ({printable(entry.get('class_name'))})"


def input_shape_words(batch_shape, where_text: str) -> tuple:
    if not isinstance(batch_shape, (list, tuple)) or len(batch_shape) < 2:
        raise ModelFileError("the input has no shape cnndsl can read", where_text)
    axes = []
    for axis in batch_shape[1:]:
        if axis is None:
            axes.append("?")
        elif isinstance(axis, int) and not isinstance(axis, bool) and axis > 0:
            axes.append(str(axis))
        else:
            raise ModelFileError(f"the input axis `{printable(axis)}` is not a size", where_text)
    return (Value("shape", "x".join(axes)),)


def read_sequential(body: dict, graph: Graph) -> None:
    entries = layer_entries(body)
    shape = body.get("build_input_shape")
    previous = None
    for n, entry in enumerate(entries):
        config = entry.get("config", {})
        if entry.get("class_name") == "InputLayer":
            shape = config.get("batch_shape") or config.get("batch_input_shape")
            continue
        if previous is None:
            shape = shape or config.get("batch_input_shape") or (entry.get("build_config") or {}).get("input_shape")
            if shape is None:
                raise ModelFileError(
                    "the Sequential model has no input shape",
                    where(n, entry),
                    "build the model (give it an `keras.Input`) before saving it",
                )
            previous = graph.add(Layer("input", input_shape_words(shape, where(n, entry)), source_kind="InputLayer"))
        in_shape = (entry.get("build_config") or {}).get("input_shape")
        layer = convert(n, entry, [previous], [in_shape], graph)
        previous = graph.add(layer)
    if previous is None:
        raise ModelFileError("the model has no layers")
    graph.outputs = [previous]


def tensor_ref(value):
    """`(layer name, node index, tensor index)` of a serialised Keras tensor, else None."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        config = value.get("config") or {}
        history = config.get("keras_history")
        if isinstance(history, list) and len(history) == 3:
            return tuple(history), config.get("shape")
    return None


def read_functional(body: dict, graph: Graph) -> None:
    entries = layer_entries(body)
    index: dict[str, int] = {}  # layer name -> graph index of its (only) output
    pending = []
    for n, entry in enumerate(entries):
        name = entry.get("name") or entry.get("config", {}).get("name")
        if not isinstance(name, str):
            raise ModelFileError("a layer has no name", where(n, entry), exit_code=2)
        nodes = entry.get("inbound_nodes") or []
        if entry.get("class_name") == "InputLayer":
            config = entry.get("config", {})
            shape = config.get("batch_shape") or config.get("batch_input_shape")
            label = None if is_default_name(name, "InputLayer") else name
            index[name] = graph.add(
                Layer(
                    "input",
                    input_shape_words(shape, where(n, entry)),
                    label=label,
                    source_name=name,
                    source_kind="InputLayer",
                )
            )
            continue
        if len(nodes) > 1:
            raise ModelFileError(
                f"the layer is called {len(nodes)} times (a shared layer), which cnndsl does not import yet",
                where(n, entry),
            )
        if not nodes:
            continue  # a layer no tensor goes through: not part of the model
        pending.append((n, entry, name, nodes[0]))
    for n, entry, name, node in pending:
        args = node.get("args") if isinstance(node, dict) else None
        if not isinstance(args, list) or not args:
            raise ModelFileError("the layer's inputs cannot be read", where(n, entry), exit_code=2)
        if str(entry.get("module") or "").startswith("keras.src.ops."):
            index[name] = graph.add(operation(n, entry, node, index))
            continue
        tensors = args[0] if isinstance(args[0], list) else [args[0]]
        inputs, shapes = [], []
        for tensor in tensors:
            found = follow(tensor, index, n, entry)
            if found is None:
                raise ModelFileError("an input of the layer is not a tensor cnndsl can follow", where(n, entry))
            inputs.append(found[0])
            shapes.append(found[1])
        built = (entry.get("build_config") or {}).get("input_shape")
        if len(shapes) == 1 and shapes[0] is None and isinstance(built, list):
            shapes = [built]
        if entry.get("class_name") == "Sequential" and entry.get("module") == "keras":
            index[name] = nested_sequential(n, entry, inputs, graph)
            continue
        index[name] = graph.add(convert(n, entry, inputs, shapes, graph))
    outputs = body.get("output_layers")
    if isinstance(outputs, list) and outputs and not isinstance(outputs[0], list):
        outputs = [outputs]  # one output may be written flat
    if not isinstance(outputs, list) or not outputs:
        raise ModelFileError("the model names no outputs", exit_code=2)
    for out in outputs:
        if not (isinstance(out, list) and out and out[0] in index):
            raise ModelFileError(f"the model's output `{printable(out)}` is not one of its layers", exit_code=2)
        graph.outputs.append(index[out[0]])
    keep_reachable(graph)


def follow(value, index: dict, n: int, entry: dict):
    """(graph index, shape) of the tensor `value` refers to; None when `value` is not a tensor."""
    found = tensor_ref(value)
    if found is None:
        return None
    (source, node_index, tensor_index), shape = found
    if source not in index:
        raise ModelFileError(
            f"the layer reads `{printable(source)}`, which comes later or not at all in config.json",
            where(n, entry),
            exit_code=2,
        )
    if node_index != 0 or tensor_index != 0:
        raise ModelFileError("the layer reads a second output of a layer, which cnndsl does not import", where(n, entry))
    return index[source], shape


def nested_sequential(n: int, entry: dict, inputs: list[int], graph: Graph) -> int:
    """A Sequential used as a layer (ConvNeXt's stem): its layers, one after another; the index of the last."""
    layers = (entry.get("config") or {}).get("layers")
    if len(inputs) != 1 or not isinstance(layers, list):
        raise ModelFileError("the nested Sequential's layers cannot be read", where(n, entry), exit_code=2)
    previous = inputs[0]
    for inner in layers:
        if not isinstance(inner, dict) or not isinstance(inner.get("config", {}), dict):
            raise ModelFileError("a layer of the nested Sequential is not a layer", where(n, entry), exit_code=2)
        if inner.get("class_name") == "InputLayer":
            continue
        if inner.get("class_name") == "Sequential":
            raise ModelFileError("a Sequential inside a nested Sequential is not one cnndsl imports", where(n, inner))
        shape = (inner.get("build_config") or {}).get("input_shape")
        previous = graph.add(convert(n, inner, [previous], [shape], graph))
    return previous


# Keras operations on tensors (`x + 3.0`, `inputs + x`: no layer, an operation in the config)
# -> the merge they are between two tensors.
OPERATION_MERGES = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply"}


def operation(n: int, entry: dict, node: dict, index: dict) -> Layer:
    """A tensor operation: of two tensors, their merge; of a tensor and a number, a `rescale`."""
    kind = entry.get("class_name")
    name = str(entry.get("name") or "")
    place = where(n, entry)
    args = node.get("args")
    if node.get("kwargs") or len(args) != 2 or kind not in (*OPERATION_MERGES, "TrueDivide", "Divide"):
        raise ModelFileError(
            f"the operation `{printable(kind)}` on tensors is not one cnndsl imports",
            place,
            "cnndsl reads +, - and * of two tensors, and +, -, * and / of a tensor and a number",
        )
    found = [follow(arg, index, n, entry) for arg in args]
    label = None if is_default_name(name, str(kind)) else name if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name) else None
    if all(found):
        if kind not in OPERATION_MERGES:
            raise ModelFileError(f"the operation `{kind}` of two tensors is not one cnndsl imports", place)
        return Layer(OPERATION_MERGES[kind], (), tuple(i for i, _ in found), label, name, str(kind))
    numbers = [arg for arg in args if isinstance(arg, (int, float)) and not isinstance(arg, bool)]
    if len(numbers) != 1 or not any(found):
        raise ModelFileError(f"the operation `{kind}` reads something else than tensors and a number", place)
    number, tensor_first = float(numbers[0]), found[0] is not None
    if kind == "Add":
        scale, offset = 1.0, number
    elif kind == "Multiply":
        scale, offset = number, 0.0
    elif kind == "Subtract":
        scale, offset = (1.0, -number) if tensor_first else (-1.0, number)
    elif tensor_first and number != 0:  # x / c
        scale, offset = 1.0 / number, 0.0
    else:
        raise ModelFileError("a number divided by a tensor is not one cnndsl writes", place)
    words: list = [Value("scale", scale)] + (["offset", Value("offset", offset)] if offset else [])
    source = next(i for i, _ in filter(None, found))
    return Layer("rescale", tuple(words), (source,), label, name, str(kind))


def keep_reachable(graph: Graph) -> None:
    """Drop layers no output reads (Keras lists them but the model never runs them)."""
    needed = set(graph.outputs)
    for i in range(len(graph.layers) - 1, -1, -1):
        if i in needed:
            needed.update(graph.layers[i].inputs)
    for i, layer in enumerate(graph.layers):
        if not layer.inputs:
            needed.add(i)  # an input stays an input
    if len(needed) == len(graph.layers):
        return
    keep = sorted(needed)
    new = {old: new for new, old in enumerate(keep)}
    layers = []
    for old in keep:
        layer = graph.layers[old]
        layer.inputs = tuple(new[i] for i in layer.inputs)
        layers.append(layer)
    graph.layers = layers
    graph.outputs = [new[i] for i in graph.outputs]


# Layers


def is_default_name(name: str, class_name: str) -> bool:
    """`conv2d`, `conv2d_3`: the name Keras gives a layer of that class when the code gives none."""
    return re.fullmatch(re.escape(to_snake_case(class_name)) + r"(_\d+)?", name) is not None


def convert(n: int, entry: dict, inputs: list[int], shapes: list, graph: Graph) -> Layer:
    class_name = entry.get("class_name")
    config = entry.get("config") or {}
    name = entry.get("name") or config.get("name") or ""
    module = str(entry.get("module") or "")
    place = where(n, entry)
    if class_name == "Lambda":
        raise ModelFileError(
            "a Lambda layer is Python code, which cnndsl never runs",
            place,
            "replace the Lambda with Keras layers, or write that part of the model in cnndsl",
        )
    rule = KERAS_RULES.get(class_name) if isinstance(class_name, str) else None
    if rule is None and entry.get("registered_name") == class_name:
        rule = APPLICATION_RULES.get((module, class_name))
    own = own_class_rule(entry)
    if own is not None:
        rule, module = own, "keras"
    if (
        rule is None
        or (module and not module.startswith("keras"))
        or entry.get("registered_name") not in (None, class_name)
    ):
        custom = not module.startswith("keras") or entry.get("registered_name") not in (None, class_name)
        raise ModelFileError(
            f"`{printable(class_name)}` is {'a custom layer class' if custom else 'a Keras layer cnndsl has no rule for'}",
            place,
            "see `cnndsl layers` for what cnndsl writes; docs/importing.md lists the Keras layers it imports",
        )
    if config.get("data_format", "channels_last") != "channels_last":
        raise ModelFileError("the layer is channels_first; cnndsl writes channels-last models", place)
    try:
        keyword, words = rule(config, shapes)
    except Refused as refused:
        raise ModelFileError(refused.message, place, refused.hint) from None
    except (KeyError, TypeError, ValueError, IndexError):
        raise ModelFileError("the layer's config cannot be read", place, exit_code=2) from None
    label = None if is_default_name(name, class_name) or not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name) else name
    if label is None and not is_default_name(name, class_name):
        graph.notes.append(f"`{printable(name)}` is not a name cnndsl can write; it keeps cnndsl's default name")
    return Layer(keyword, tuple(words), tuple(inputs), label, name, class_name)


def size(value, role: str) -> Value:
    """`3` or `3x5` from a Keras tuple."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(value)
    text = str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))
    return Value(role, text)


def activation_word(value) -> str | None:
    if isinstance(value, dict):  # a serialised function: {"class_name": "function", "config": "relu"}
        value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
    if value in (None, "linear"):
        return None
    word = KERAS_ACTIVATIONS.get(value)
    if word is None:
        raise Refused(f"the activation `{printable(value)}` is not one cnndsl writes", "see `cnndsl layers`")
    return word


def rank_of(shapes) -> int | None:
    shape = shapes[0] if shapes else None
    return len(shape) - 1 if isinstance(shape, list) else None


def conv_words(config, *, filters: bool = True, mult: bool = False, transpose: bool = False) -> list:
    words: list = []
    if filters:
        words.append(Value("c", int(config["filters"])))
    words.append(size(config["kernel_size"], "k"))
    if mult and config.get("depth_multiplier", 1) != 1:
        words += ["mult", Value("m", int(config["depth_multiplier"]))]
    strides = tuple(config.get("strides") or (1,))
    if max(strides) > 1:
        words += ["stride", size(strides, "s")]
    padding = config.get("padding", "valid")
    if padding not in ("valid", "same", "causal"):
        raise Refused(f"padding `{printable(padding)}` is not Keras's valid, same or causal")
    if padding != "valid":
        words.append(Value("p", padding))
    if transpose and config.get("output_padding") is not None:
        words += ["outpad", size(config["output_padding"], "o")]
    dilation = tuple(config.get("dilation_rate") or (1,))
    if max(dilation) > 1:
        words += ["dilation", size(dilation, "d")]
    if config.get("groups", 1) != 1:
        words += ["groups", Value("g", int(config["groups"]))]
    if not config.get("use_bias", True):
        words.append("nobias")
    act = activation_word(config.get("activation"))
    if act:
        words.append(Value("a", act))
    return words


def conv(config, shapes):
    return "conv", conv_words(config)


def dwconv(config, shapes):
    return "dwconv", conv_words(config, filters=False, mult=True)


def sepconv(config, shapes):
    return "sepconv", conv_words(config, mult=True)


def deconv(config, shapes):
    return "deconv", conv_words(config, transpose=True)


def dense(config, shapes):
    words: list = [Value("c", int(config["units"]))]
    rank = rank_of(shapes)
    if rank is None:
        raise Refused("the Dense layer's input shape is not in the file", "save the model after building it")
    if rank > 1:
        words.append("noflatten")  # Keras's Dense works on the last axis; cnndsl's would flatten first
    if not config.get("use_bias", True):
        words.append("nobias")
    act = activation_word(config.get("activation"))
    if act:
        words.append(Value("a", act))
    return "dense", words


def activation(config, shapes):
    word = activation_word(config.get("activation"))
    return word or "linear", []


def relu_layer(config, shapes):
    if config.get("negative_slope", 0.0) or config.get("threshold", 0.0):
        raise Refused("a ReLU with a slope or threshold is not one cnndsl writes", "use `leakyrelu`")
    maximum = config.get("max_value")
    if maximum is None:
        return "ReLU", []  # Keras's ReLU class; `relu` is Activation("relu"), a row of another type
    if float(maximum) == 6.0:
        return "relu6", []
    raise Refused(f"a ReLU capped at {printable(maximum)} is not one cnndsl writes (only 6: `relu6`)")


def leaky_relu(config, shapes):
    slope = config.get("negative_slope", config.get("alpha", 0.3))
    return "leakyrelu", [Value("alpha", float(slope))]


def softmax_layer(config, shapes):
    if config.get("axis", -1) not in (-1, (rank_of(shapes) or 0)):
        raise Refused("a softmax over another axis than the last is not one cnndsl writes")
    return "softmax", []


def batchnorm(config, shapes):
    axis = config.get("axis", -1)
    if not _over_last_axis(axis, shapes):
        raise Refused("batch normalisation over another axis than the channels is not one cnndsl writes")
    words = _scale_center_eps(config)
    if float(config.get("momentum", 0.99)) != 0.99:
        words += ["momentum", Value("mo", float(config["momentum"]))]
    return "bn", words


def layernorm(config, shapes):
    if not _over_last_axis(config.get("axis", -1), shapes):
        raise Refused("layer normalisation over another axis than the last is not one cnndsl writes")
    if config.get("rms_scaling"):
        raise Refused("RMS layer normalisation is not one cnndsl writes")
    return "layernorm", _scale_center_eps(config)


def _over_last_axis(axis, shapes) -> bool:
    """Whether a normalisation's `axis` (-1, the rank, or a one-item list of either) is the last one."""
    if isinstance(axis, list):
        axis = axis[0] if len(axis) == 1 else None
    if axis == -1:
        return True
    rank = rank_of(shapes)
    return rank is not None and axis == rank


def _scale_center_eps(config) -> list:
    """The words of a normalisation's `scale`, `center` and `epsilon` where they are not the defaults."""
    words: list = []
    if not config.get("scale", True):
        words.append("noscale")
    if not config.get("center", True):
        words.append("nocenter")
    if float(config.get("epsilon", 1e-3)) != 1e-3:
        words += ["eps", Value("e", float(config["epsilon"]))]
    return words


def pool(keyword):
    def rule(config, shapes):
        pool_size = tuple(config.get("pool_size") or (2,))
        words: list = [size(pool_size, "k")]
        strides = tuple(config.get("strides") or pool_size)
        if strides != pool_size:
            words += ["stride", size(strides, "s")]
        if config.get("padding", "valid") == "same":
            words.append("same")
        elif config.get("padding", "valid") != "valid":
            raise Refused(f"padding `{printable(config.get('padding'))}` is not valid or same")
        return keyword, words

    return rule


def global_pool(keyword):
    def rule(config, shapes):
        return keyword, ["keepdims"] if config.get("keepdims") else []

    return rule


def sides(value) -> list:
    """ZeroPadding/Cropping's padding: an int, one per axis, or (before, after) per axis."""
    if isinstance(value, int):
        return [Value("pad", value)]
    pairs = [tuple(v) if isinstance(v, (list, tuple)) else (v, v) for v in value]
    if all(a == b for a, b in pairs):
        firsts = [a for a, _ in pairs]
        return [Value("pad", firsts[0] if len(set(firsts)) == 1 else "x".join(map(str, firsts)))]
    return [Value("pad", x) for pair in pairs for x in pair]


def zeropad(config, shapes):
    return "zeropad", sides(config["padding"])


def crop(config, shapes):
    return "crop", sides(config["cropping"])


def upsample(config, shapes):
    words: list = [size(config.get("size", 2), "k")]
    interpolation = config.get("interpolation", "nearest")
    if interpolation == "bilinear":
        words.append("bilinear")
    elif interpolation != "nearest":
        raise Refused(f"`{printable(interpolation)}` upsampling is not one cnndsl writes (nearest or bilinear)")
    return "upsample", words


def adaptive_pool(config, shapes):
    if config.get("data_format", "channels_last") != "channels_last":
        raise Refused("a channels-first adaptive pooling is not one cnndsl writes")
    return "adaptivepool", [size(config["output_size"], "k")]


def dropout(config, shapes):
    noise = config.get("noise_shape")
    rate = Value("r", float(config["rate"]))
    if noise is not None:
        rank, noise = rank_of(shapes), list(noise)
        # one draw per example: stochastic depth, as EfficientNet writes it (a layer without weights has
        # no input shape in its config: the noise shape's own rank stands for it)
        if len(noise) >= 2 and noise[1:] == [1] * (len(noise) - 1) and rank in (None, len(noise) - 1):
            return "droppath", [rate]
        if len(noise) >= 3 and noise[1:-1] == [1] * (len(noise) - 2):
            raise Refused("a channel dropout (one draw per channel, SpatialDropout's noise shape) has no cnndsl layer")
        raise Refused("a Dropout with this noise shape is not one cnndsl writes")
    return "dropout", [rate]


def flatten(config, shapes):
    return "flatten", []


def reshape(config, shapes):
    target = config["target_shape"]
    return "reshape", [Value("t", int(v)) for v in target]


def rescale(config, shapes):
    scale, offset = config.get("scale", 1.0), config.get("offset", 0.0)
    if not isinstance(scale, (int, float)) or not isinstance(offset, (int, float)):
        raise Refused("a Rescaling by a tensor (one factor per channel) is not one cnndsl writes")
    words: list = [Value("scale", float(scale))]
    if offset:
        words += ["offset", Value("offset", float(offset))]
    return "rescale", words


def normalize(config, shapes):
    if config.get("invert"):
        raise Refused("an inverted Normalization is not one cnndsl writes")
    if not _over_last_axis(config.get("axis", -1), shapes):
        raise Refused("a Normalization over another axis than the channels is not one cnndsl writes")
    mean, variance = config.get("mean"), config.get("variance")
    if mean is None:
        return "normalize", []
    values = []
    for word, given in (("mean", mean), ("variance", variance)):
        given = list(given) if isinstance(given, (list, tuple)) else [given]
        values += [word, *[Value(word, float(v)) for v in given]]
    return "normalize", values


def layer_scale(config, shapes):
    channels = shapes[0][-1] if shapes and isinstance(shapes[0], list) else None
    if config.get("projection_dim") != channels:
        raise Refused("a LayerScale whose factors are not one per channel is not one cnndsl writes")
    return "layerscale", [Value("init", float(config["init_values"]))]


def custom_scale(config, shapes):
    scale = config.get("scale")
    if not isinstance(scale, (int, float)) or isinstance(scale, bool):
        raise Refused("a CustomScaleLayer whose scale is not a number is not one cnndsl writes")
    return "scaleadd", [Value("scale", float(scale))]


def max_pool_padded(config, shapes):
    """The emitted Keras code's MaxPoolPadded: PyTorch's `pad` (and `ceil`, the after side longer)."""
    rank = len(config["pads"])
    pool_size = tuple(config["pool_size"]) if isinstance(config["pool_size"], list) else (config["pool_size"],) * rank
    strides = tuple(config["strides"]) if isinstance(config["strides"], list) else (config["strides"],) * rank
    pairs = [tuple(int(v) for v in pair) for pair in config["pads"]]
    spatial = shapes[0][1:-1] if shapes and isinstance(shapes[0], list) else [None] * rank
    if len(spatial) != rank or None in spatial or any(after < before for before, after in pairs):
        raise Refused("a MaxPoolPadded of pads cnndsl does not write")
    words: list = [size(pool_size, "k")] + (["stride", size(strides, "s")] if strides != pool_size else [])
    words += ["pad", size([before for before, _ in pairs], "pad")]
    ceil = False
    for n, k, st, (before, after) in zip(spatial, pool_size, strides, pairs):
        floor_out = (n + 2 * before - k) // st + 1
        ceil_out = -(-(n + 2 * before - k) // st) + 1
        ceil_out -= (ceil_out - 1) * st >= n + before  # PyTorch drops a last window starting in the padding
        if after == before + max((ceil_out - 1) * st + k - (n + 2 * before), 0) and ceil_out != floor_out:
            ceil = True
        elif after != before:
            raise Refused("a MaxPoolPadded of pads cnndsl does not write")
    return "maxpool", words + ["ceil"] * ceil


def merge(keyword):
    def rule(config, shapes):
        if keyword == "concat":
            rank = rank_of(shapes)
            if config.get("axis", -1) not in (-1, rank):
                raise Refused("a Concatenate along another axis than the channels is not one cnndsl writes")
        return keyword, []

    return rule


def writes(rule, words: str):
    """A rule, marked with the cnndsl words it writes (for docs/importing.md)."""
    if getattr(rule, "writes", None) is None:
        rule.writes = words
    return rule


for _rule, _words in (
    (conv, "`conv`"),
    (dwconv, "`dwconv`"),
    (sepconv, "`sepconv`"),
    (deconv, "`deconv`"),
    (dense, "`dense` (`noflatten` on a tensor with more than one axis)"),
    (activation, "the activation's own layer (`relu`, `swish`, ...)"),
    (relu_layer, "`ReLU`, or `relu6` for `max_value=6`"),
    (leaky_relu, "`leakyrelu`"),
    (softmax_layer, "`softmax`"),
    (batchnorm, "`bn`"),
    (layernorm, "`layernorm`"),
    (zeropad, "`zeropad`"),
    (crop, "`crop`"),
    (upsample, "`upsample`"),
    (adaptive_pool, "`adaptivepool`"),
    (dropout, "`dropout`, or `droppath` for a noise shape of (None, 1, 1, 1)"),
    (flatten, "`flatten`"),
    (reshape, "`reshape`"),
    (rescale, "`rescale`"),
    (normalize, "`normalize`"),
    (layer_scale, "`layerscale`"),
    (custom_scale, "`scaleadd` (the first input plus the second times `scale`)"),
):
    writes(_rule, _words)


def _marked(factory):
    def make(keyword):
        return writes(factory(keyword), f"`{keyword}`")

    return make


pool, global_pool, merge = _marked(pool), _marked(global_pool), _marked(merge)

# Keras layer class -> (config, input shapes) -> (cnndsl keyword, words).
KERAS_RULES = {
    **{f"Conv{r}D": conv for r in (1, 2, 3)},
    **{f"DepthwiseConv{r}D": dwconv for r in (1, 2)},
    **{f"SeparableConv{r}D": sepconv for r in (1, 2)},
    **{f"Conv{r}DTranspose": deconv for r in (1, 2, 3)},
    "Dense": dense,
    "Activation": activation,
    "ReLU": relu_layer,
    "LeakyReLU": leaky_relu,
    "Softmax": softmax_layer,
    "BatchNormalization": batchnorm,
    "LayerNormalization": layernorm,
    **{f"MaxPooling{r}D": pool("maxpool") for r in (1, 2, 3)},
    **{f"AveragePooling{r}D": pool("avgpool") for r in (1, 2, 3)},
    **{f"GlobalAveragePooling{r}D": global_pool("gap") for r in (1, 2, 3)},
    **{f"GlobalMaxPooling{r}D": global_pool("gmp") for r in (1, 2, 3)},
    **{f"AdaptiveAveragePooling{r}D": adaptive_pool for r in (1, 2, 3)},
    **{f"ZeroPadding{r}D": zeropad for r in (1, 2, 3)},
    **{f"Cropping{r}D": crop for r in (1, 2, 3)},
    **{f"UpSampling{r}D": upsample for r in (1, 2, 3)},
    "Dropout": dropout,
    "Flatten": flatten,
    "Reshape": reshape,
    "Rescaling": rescale,
    "Normalization": normalize,
    "Add": merge("add"),
    "Subtract": merge("subtract"),
    "Multiply": merge("multiply"),
    "Average": merge("average"),
    "Maximum": merge("maximum"),
    "Minimum": merge("minimum"),
    "Concatenate": merge("concat"),
}


# Layer classes of keras.applications' own modules (not in keras.layers), by (module, class).
APPLICATION_RULES = {
    ("keras.src.applications.convnext", "LayerScale"): layer_scale,
    ("keras.src.applications.inception_resnet_v2", "CustomScaleLayer"): custom_scale,
}


writes(max_pool_padded, "`maxpool pad P` (`ceil` where the after side is longer)")

# The classes the emitted Keras code defines for itself (cnndsl/layers/), each known by its name, its
# config's keys (Keras keeps a layer's __init__ arguments in its config) and the Keras layer it
# subclasses; read from the config alone like every layer, never run. The module is the user's.
OWN_CLASSES = {
    "LayerScale": ({"init_values", "projection_dim"}, layer_scale),
    "CustomScaleLayer": ({"scale"}, custom_scale),
    "MaxPoolPadded": ({"pool_size", "strides", "pads"}, max_pool_padded),
    **{
        f"AveragePooling{r}D": ({"pool_size", "strides", "padding", "data_format"}, writes(pool("avgpool"), "`avgpool` (`same` as Keras means it)"))
        for r in (1, 2, 3)
    },
}
BASE_CONFIG = {"name", "trainable", "dtype"}


def own_class_rule(entry: dict):
    """The rule for a class of cnndsl's emitted Keras code (a custom class in the saved file), or None."""
    class_name, config = entry.get("class_name"), entry.get("config")
    if not isinstance(class_name, str) or class_name not in OWN_CLASSES or not isinstance(config, dict):
        return None
    if str(entry.get("module") or "").startswith("keras") or entry.get("registered_name") != class_name:
        return None
    keys, rule = OWN_CLASSES[class_name]
    return rule if set(config) - BASE_CONFIG == keys else None


def keras_layers_markdown() -> str:
    """The table of Keras layer classes `cnndsl import` reads, from KERAS_RULES and APPLICATION_RULES."""
    rows = ["| Keras layer | cnndsl |", "|---|---|"]
    rows += [f"| `{name}` | {rule.writes} |" for name, rule in KERAS_RULES.items()]
    rows += [f"| `{name}` (`{module}`) | {rule.writes} |" for (module, name), rule in APPLICATION_RULES.items()]
    rows += [f"| `{name}` (`cnndsl emit --keras`'s own class) | {rule.writes} |" for name, (_, rule) in OWN_CLASSES.items()]
    return "\n".join(rows)
