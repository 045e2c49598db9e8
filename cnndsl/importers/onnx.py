"""ONNX `.onnx` files: the graph, read as a protobuf with the onnx package, as a cnndsl graph.

Nothing in the file runs: the model is parsed (external data is never
opened), its shapes inferred by onnx.shape_inference, and each node matched
to a cnndsl layer by ONNX_RULES. An operator without a rule, or with
attributes cnndsl cannot write, is refused at that node: its operator, its
name and its position in the graph. The graph is bounded (cnndsl/core/limits.py)
in bytes and nodes, and a graph with a cycle is refused.

The model comes in under `defaults pytorch` (PyTorch's epsilon, padding and
flatten order), except a graph that flattens channels last (a Transpose to
NHWC before each Flatten, as `cnndsl emit --onnx` writes a Keras-style
model), which comes in under Keras's.
"""

from __future__ import annotations

import functools
import os

from ..core.limits import MAX_IMPORT_FILE_BYTES, MAX_IMPORT_LAYERS
from ..layers.base import same_pads
from .errors import ModelFileError, missing_extra
from .graph import Graph, Layer, Value
from .keras import printable

# The largest constant (pads, shapes, clip bounds) whose values are read, in elements.
MAX_CONSTANT_VALUES = 4096


class Refused(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def read_onnx_file(path) -> Graph:
    """The file's graph, parsed and bounded, as a Graph; raises ModelFileError."""
    try:
        import onnx  # noqa: F401  (the extra's check, before reading anything)
    except ImportError:
        raise missing_extra("onnx", "onnx") from None
    try:
        size = os.path.getsize(path)
        if size > MAX_IMPORT_FILE_BYTES:
            raise ModelFileError(
                f"the file is {size:,} bytes, more than cnndsl reads ({MAX_IMPORT_FILE_BYTES:,})", exit_code=2
            )
        with open(path, "rb") as handle:
            data = handle.read(MAX_IMPORT_FILE_BYTES + 1)
    except OSError as error:
        raise ModelFileError(f"cannot read the file: {error.strerror or error}", exit_code=2) from None
    return read_onnx_bytes(data)


def read_onnx_bytes(data: bytes) -> Graph:
    """A serialised ONNX model, parsed (never run), as a Graph."""
    try:
        import onnx
    except ImportError:
        raise missing_extra("onnx", "onnx") from None

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as error:  # protobuf's DecodeError, or a RuntimeError from its C++ parser
        raise ModelFileError(
            f"the file is not a readable ONNX model ({type(error).__name__})",
            hint="the file may be truncated or corrupted; export the model again",
            exit_code=2,
        ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFileError("the file holds no ONNX graph", hint="export the model again", exit_code=2)
    return read_model(model)


def read_model(model) -> Graph:
    graph = model.graph
    if len(graph.node) > MAX_IMPORT_LAYERS:
        raise ModelFileError(
            f"the graph has {len(graph.node):,} nodes, more than cnndsl imports ({MAX_IMPORT_LAYERS:,})"
        )
    nodes = ordered(graph)
    reader = Reader(model, nodes)
    return reader.read()


def ordered(graph) -> list:
    """The nodes in an order where each comes after the nodes whose outputs it reads: the file's
    own order where it allows (Kahn's algorithm, the lowest position first); a cycle is refused."""
    import heapq

    made_by: dict[str, int] = {}
    for i, node in enumerate(graph.node):
        for out in node.output:
            if out:
                made_by[out] = i
    waiting = [0] * len(graph.node)
    readers: list[list[int]] = [[] for _ in graph.node]
    for i, node in enumerate(graph.node):
        for j in {made_by[name] for name in node.input if name in made_by}:
            waiting[i] += 1
            readers[j].append(i)
    heap = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        i = heapq.heappop(heap)
        order.append(i)
        for r in readers[i]:
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(heap, r)
    if len(order) != len(graph.node):
        stuck = next(i for i, n in enumerate(waiting) if n)
        raise ModelFileError(
            "the graph has a cycle: a node reads, through others, its own output",
            f"node {stuck} `{printable(graph.node[stuck].name)}` ({printable(graph.node[stuck].op_type)})",
            exit_code=2,
        )
    return [graph.node[i] for i in order]


class Reader:
    """Walks the ordered nodes, keeping for each tensor the cnndsl layer that makes it."""

    def __init__(self, model, nodes):
        import numpy
        from onnx import numpy_helper, shape_inference

        self.np = numpy
        self.np_helper = numpy_helper
        self.model = model
        self.nodes = nodes
        self.position = {id(node): n for n, node in enumerate(model.graph.node)}
        self.initializers = {init.name: init for init in model.graph.initializer}
        self.constants: dict[str, object] = {}  # Constant nodes' outputs
        try:
            inferred = shape_inference.infer_shapes(model, strict_mode=False)
            infos = (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output)
        except Exception:  # shapes are a help (`same` padding), not a need
            infos = (*model.graph.input, *model.graph.value_info, *model.graph.output)
        self.shapes = {v.name: _dims(v) for v in infos}
        self.tensor: dict[str, int] = {}  # tensor name -> graph index
        self.alias: dict[str, str] = {}  # Identity/Dropout-free outputs -> their input
        self.readers: dict[str, list] = {}
        self.made_by = {out: node for node in nodes for out in node.output}
        uses: dict[str, int] = {}
        for node in nodes:
            for name in set(node.input[1:]):
                if name in self.initializers:
                    uses[name] = uses.get(name, 0) + 1
        self.shared = {name for name, n in uses.items() if n > 1}
        self.padded: dict[int, list] = {}  # a Conv or MaxPool node -> the pads of the Pad folded into it
        # layers whose ONNX tensor holds the channels last: torch drops a permute back and the next
        # permute forth between a LayerNorm2d and a Linear (ConvNeXt), so neither Transpose is there
        self.channels_last: set[int] = set()
        for node in nodes:
            for name in node.input:
                self.readers.setdefault(name, []).append(node)
        written = {p.key: p.value for p in model.metadata_props}.get("cnndsl.defaults")  # `cnndsl emit --onnx`'s
        self.written_by_cnndsl = written in ("keras", "pytorch")
        if written in ("keras", "pytorch"):
            self.conventions = written
        else:
            self.conventions = "keras" if self._flattens_channels_last() else "pytorch"
        self.graph = Graph(name=printable(model.graph.name or "model", 100), format="ONNX", defaults=self.conventions)

    # reading

    def read(self) -> Graph:
        g = self.model.graph
        for value in g.input:
            if value.name in self.initializers:
                continue
            dims = _dims(value)
            if dims is None or len(dims) < 2:
                raise ModelFileError(f"the input `{printable(value.name)}` has no shape cnndsl can read")
            axes = ["?" if d is None else str(d) for d in (*dims[2:], dims[1])]
            self.tensor[value.name] = self.graph.add(
                Layer("input", (Value("shape", "x".join(axes)),), source_name=value.name, source_kind="input")
            )
        if not self.tensor:
            raise ModelFileError("the graph has no input that is not a weight")
        self.skipped: set[int] = set()
        self.fold_constants()
        for _n, node in enumerate(self.nodes):
            if id(node) in self.skipped:
                continue
            where = (
                f"node {self.position[id(node)]} `{printable(node.name) or '(no name)'}` ({printable(node.op_type)})"
            )
            if node.domain not in ("", "ai.onnx"):
                raise ModelFileError(
                    f"the operator `{printable(node.op_type)}` of domain `{printable(node.domain)}` is not a standard ONNX operator",
                    where,
                    SUPPORTED_HINT,
                )
            rule = ONNX_RULES.get(node.op_type)
            if rule is None:
                raise ModelFileError(
                    f"the ONNX operator `{printable(node.op_type)}` is not one cnndsl imports", where, SUPPORTED_HINT
                )
            try:
                rule(self, node)
            except Refused as refused:
                raise ModelFileError(refused.message, where, refused.hint) from None
            except (KeyError, ValueError, IndexError, TypeError) as error:
                raise ModelFileError(
                    f"the node cannot be read ({type(error).__name__}: {printable(error, 120)})", where, exit_code=2
                ) from None
        for out in g.output:
            name = self.resolve(out.name)
            if name not in self.tensor:
                raise ModelFileError(f"the output `{printable(out.name)}` is made by no node cnndsl read", exit_code=2)
            self.graph.outputs.append(self.tensor[name])
        self.graph.notes.append(
            f"opset {next((o.version for o in self.model.opset_import if o.domain in ('', 'ai.onnx')), '?')}"
        )
        return self.graph

    def fold_constants(self) -> None:
        """Work out the arithmetic on constants that torch.onnx.export writes without constant
        folding (F.pad's pads from Shape, Gather, ConstantOfShape, Concat ...), on small arrays
        only; an Identity of a weight (a deduplicated initializer) names that weight."""
        np = self.np
        for node in self.nodes:
            ins = [name for name in node.input if name]
            if node.op_type == "Identity" and ins and ins[0] in self.initializers:
                self.initializers[node.output[0]] = self.initializers[ins[0]]
                self.skipped.add(id(node))
                continue
            if node.op_type == "Constant":
                constant(self, node)
                self.skipped.add(id(node))
                continue
            fold = FOLDS.get(node.op_type)
            if fold is None or not ins or not all(self.is_small_constant(n) for n in ins):
                continue
            values = [self.array(name) if name else None for name in node.input]
            try:
                result = np.asarray(fold(np, values, _attrs(node)))
            except Exception:  # left to the operator's own rule, which refuses it
                continue
            if result.size <= MAX_CONSTANT_VALUES:
                self.constants[node.output[0]] = result
                self.skipped.add(id(node))
        self._infer_through_folded_constants()

    def _infer_through_folded_constants(self) -> None:
        """ONNX's shape inference stops at a Pad whose pads the graph computes (F.pad's, from Shape and
        Slice): the shapes after it are inferred again from the graph left once those are folded, the
        weights given as typed inputs (their shapes, not their values)."""
        from onnx import helper, numpy_helper, shape_inference

        kept = [node for node in self.nodes if id(node) not in self.skipped]
        read = {name for node in kept for name in node.input if name}
        if not any(name in self.constants for name in read) or all(
            self.shapes.get(out) is not None for node in kept for out in node.output[:1]
        ):
            return
        g = self.model.graph
        inputs = [value for value in g.input if value.name not in self.initializers]
        small = []
        for name in sorted(read):
            if name in self.constants:
                small.append(numpy_helper.from_array(self.np.asarray(self.constants[name]), name))
            elif name in self.initializers and self.is_small_constant(name):
                small.append(self.initializers[name])
            elif name in self.initializers:
                init = self.initializers[name]
                inputs.append(helper.make_tensor_value_info(name, init.data_type, list(init.dims)))
        # torch writes movedim(-1, 1) as a Transpose of perm [0, -1, 1, 2], which shape inference refuses
        kept = [
            helper.make_node("Transpose", node.input, node.output, node.name, perm=_perm(node))
            if node.op_type == "Transpose" and min(_attrs(node).get("perm", [0])) < 0
            else node
            for node in kept
        ]
        graph = helper.make_graph(kept, "shapes", inputs, list(g.output), small)
        try:
            inferred = shape_inference.infer_shapes(helper.make_model(graph, opset_imports=self.model.opset_import), strict_mode=False)
        except Exception:  # shapes are a help, not a need
            return
        for value in (*inferred.graph.value_info, *inferred.graph.output):
            if self.shapes.get(value.name) is None:
                self.shapes[value.name] = _dims(value)

    def is_small_constant(self, name: str) -> bool:
        if name in self.constants:
            return True
        init = self.initializers.get(name)
        if init is None:
            return False
        count = 1
        for d in init.dims:
            count *= d
        return count <= MAX_CONSTANT_VALUES

    def array(self, name: str):
        if name in self.constants:
            return self.constants[name]
        return self.np_helper.to_array(self.initializers[name])

    # helpers for the rules

    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def input_of(self, node, i: int = 0) -> int:
        name = self.resolve(node.input[i])
        if name not in self.tensor:
            if name in self.initializers or name in self.constants:
                raise Refused(
                    "a constant where cnndsl expects a tensor of the model", "cnndsl imports layers of tensors"
                )
            raise Refused(f"the input `{printable(name)}` is made by no node cnndsl read")
        return self.tensor[name]

    def shape(self, name: str):
        return self.shapes.get(self.resolve(name))

    def weight_dims(self, node, i: int) -> tuple[int, ...] | None:
        if len(node.input) <= i or not node.input[i]:
            return None
        init = self.initializers.get(node.input[i])
        if node.input[i] in self.shared:
            raise Refused(
                f"the weight `{printable(node.input[i])}` is read by several nodes (a shared layer), which cnndsl does not import yet"
            )
        if init is None:
            raise Refused(
                "a weight that is not an initializer (computed in the graph)", "export with the weights as initializers"
            )
        return tuple(init.dims)

    def constant(self, name: str):
        """A small constant's values (an initializer or a Constant node's), as a flat list."""
        if name in self.constants:
            return self.constants[name].reshape(-1).tolist()
        init = self.initializers.get(name)
        if init is None:
            raise Refused(
                f"`{printable(name)}` is not a constant", "cnndsl reads pads, shapes and bounds only as constants"
            )
        count = 1
        for d in init.dims:
            count *= d
        if count > MAX_CONSTANT_VALUES:
            raise Refused("a constant too large to be pads or a shape")
        return self.np_helper.to_array(init).reshape(-1).tolist()

    def add(self, node, keyword: str, words=(), inputs=None) -> int:
        inputs = tuple(self.input_of(node) for _ in [0]) if inputs is None else tuple(inputs)
        index = self.graph.add(Layer(keyword, tuple(words), inputs, None, node.name, node.op_type))
        self.tensor[node.output[0]] = index
        return index

    def written_as(self, node) -> str | None:
        """The cnndsl keyword `cnndsl emit --onnx` wrote this node for (its doc string), if it did."""
        doc = node.doc_string or ""
        return doc[len("cnndsl: ") :] if self.written_by_cnndsl and doc.startswith("cnndsl: ") else None

    def scalar(self, name: str):
        """The value of a one-value constant, or None for anything else (a tensor of the model)."""
        if name in self.tensor or not (name in self.constants or name in self.initializers):
            return None
        if not self.is_small_constant(name):
            return None
        values = self.constant(name)
        return float(values[0]) if len(values) == 1 else None

    def producer(self, name: str):
        return self.made_by.get(name)

    def only_reader(self, name: str, op_type: str):
        readers = self.readers.get(name, [])
        if len(readers) == 1 and readers[0].op_type == op_type:
            return readers[0]
        return None

    def _flattens_channels_last(self) -> bool:
        for node in self.nodes:
            if node.op_type == "Transpose" and self.only_reader(node.output[0], "Flatten") is not None:
                perm = _perm(node)
                if len(perm) > 2 and perm == [0, *range(2, len(perm)), 1]:
                    return True
        return False


SUPPORTED_HINT = "docs/importing.md lists the ONNX operators cnndsl imports"


def _dims(value):
    t = value.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim)


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _perm(node) -> list[int]:
    """A Transpose's order, its negative axes counted from the end (torch's movedim(-1, 1))."""
    perm = [int(p) for p in _attrs(node).get("perm", [])]
    return [p % len(perm) for p in perm]


def _size(values, role: str) -> Value:
    values = [int(v) for v in values]
    return Value(role, str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values)))


def _eps(reader, eps: float) -> list:
    eps = float(f"{eps:.6g}")  # the float32 attribute, as it was written
    default = 1e-5 if reader.conventions == "pytorch" else 1e-3
    return [] if eps == default else ["eps", Value("e", eps)]


def _window_words(reader, node, kernel, strides, dilations, kind: str) -> list:
    """`stride`, and the padding: none, `same` (Keras's), or `pad P` (PyTorch's, symmetric)."""
    a = _attrs(node)
    rank = len(kernel)
    words: list = []
    if max(strides) > 1:
        words += ["stride", _size(strides, "s")]
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    pads = list(reader.padded.get(id(node)) or a.get("pads", [0] * (2 * rank)))
    if auto in ("SAME_UPPER",):
        return words + [Value("p", "same")]
    if auto not in ("NOTSET", "VALID"):
        raise Refused(f"auto_pad {auto} pads the odd pixel before, where Keras and PyTorch pad it after")
    if auto == "VALID" or not any(pads):
        return words
    pairs = list(zip(pads[:rank], pads[rank:]))
    shape = reader.shape(node.input[0])
    spatial = shape[2:] if shape is not None and len(shape) == rank + 2 else (None,) * rank
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    same = all(tuple(p) == same_pads(n, k, s) for n, k, s, p in zip(spatial, effective, strides, pairs))
    symmetric = all(a == b for a, b in pairs)
    if same and (reader.conventions == "keras" or not symmetric or kind in ("avgpool", "sepconv")):
        return words + [Value("p", "same")]
    if symmetric and kind not in ("avgpool", "sepconv"):
        return words + ["pad", _size([a for a, _ in pairs], "pad")]
    if same:
        return words + [Value("p", "same")]
    if kind == "conv" and rank == 1 and pairs == [(effective[0] - 1, 0)]:
        return words + [Value("p", "causal")]  # Keras's causal: all the padding before
    raise Refused(
        f"padding {pads} is neither symmetric nor Keras's `same` here",
        "cnndsl writes an uneven padding only as Keras's `same`",
    )


# the rules: one per ONNX operator


def conv(reader, node):
    a = _attrs(node)
    dims = reader.weight_dims(node, 1)
    if dims is None or len(dims) < 3:
        raise Refused("a Conv without a weight cnndsl can read")
    cout, per_group, *kernel = dims
    rank = len(kernel)
    strides = list(a.get("strides", [1] * rank))
    dilations = list(a.get("dilations", [1] * rank))
    groups = int(a.get("group", 1))
    cin = per_group * groups
    bias = reader.weight_dims(node, 2) is not None
    # Keras's DepthwiseConv; PyTorch writes the same as a Conv2d with groups (so do torchvision's .cnn files)
    depthwise = reader.conventions == "keras" and groups == cin and cout % cin == 0 and rank <= 2
    written = reader.written_as(node)
    written = {"depthwise": "dwconv", "separable": "sepconv"}.get(written, written)  # the keywords' other names
    depthwise = written in ("dwconv", "sepconv") if written else depthwise and cin > 1
    words: list = [] if depthwise else [Value("c", cout)]
    words.append(_size(kernel, "k"))
    if depthwise and cout != cin:
        words += ["mult", Value("m", cout // cin)]
    words += _window_words(reader, node, kernel, strides, dilations, "conv")
    if max(dilations) > 1:
        words += ["dilation", _size(dilations, "d")]
    if groups > 1 and not depthwise:
        words += ["groups", Value("g", groups)]
    if not bias:
        words.append("nobias")
    pointwise = reader.only_reader(node.output[0], "Conv")
    base = node.name[: -len(".depthwise")] if node.name.endswith(".depthwise") else None
    if base is None and pointwise is not None and _sequential_pair(node, pointwise):
        base = pointwise.name
    if (
        base
        and groups == cin and (cin > 1 or written == "sepconv")
        and not bias
        and pointwise is not None
        and pointwise.name in (base, base + ".pointwise")
    ):
        filters, *_ = reader.weight_dims(pointwise, 1)
        words = [_size(kernel, "k")] + (["mult", Value("m", cout // cin)] if cout != cin else [])
        words += _window_words(reader, node, kernel, strides, dilations, "sepconv")
        words += ["dilation", _size(dilations, "d")] if max(dilations) > 1 else []
        words = [Value("c", filters)] + words
        words += [] if reader.weight_dims(pointwise, 2) is not None else ["nobias"]
        reader.skipped.add(id(pointwise))
        return fuse_into(reader, node, pointwise, base, "sepconv", words)
    fuse(reader, node, "dwconv" if depthwise else "conv", words, ".conv")


def conv_transpose(reader, node):
    """ConvTranspose: `deconv`, whose `valid`/`same` and `outpad` cut (or extend) the full output
    as its pads and output_padding do; other cuts are refused."""
    a = _attrs(node)
    dims = reader.weight_dims(node, 1)
    if dims is None or len(dims) < 3:
        raise Refused("a ConvTranspose without a weight cnndsl can read")
    if int(a.get("group", 1)) != 1 or "output_shape" in a:
        raise Refused("a grouped ConvTranspose, or one given its output shape")
    _, filters, *kernel = dims
    rank = len(kernel)
    strides = [int(v) for v in a.get("strides", [1] * rank)]
    dilations = [int(v) for v in a.get("dilations", [1] * rank)]
    pads = [int(v) for v in a.get("pads", [0] * (2 * rank))]
    extra = [int(v) for v in a.get("output_padding", [0] * rank)]
    crops = tuple((pads[i], pads[rank + i] - extra[i]) for i in range(rank))
    words: list = [Value("c", filters), _size(kernel, "k")]
    if max(strides) > 1:
        words += ["stride", _size(strides, "s")]
    padding = _transpose_padding(kernel, strides, dilations, crops)
    if padding is None:
        raise Refused(
            f"a ConvTranspose cut by pads {pads} and output padding {extra}",
            "cnndsl's deconv cuts its output as Keras's `valid` or `same`, with `outpad`",
        )
    words += padding
    if max(dilations) > 1:
        words += ["dilation", _size(dilations, "d")]
    if reader.weight_dims(node, 2) is None:
        words.append("nobias")
    fuse(reader, node, "deconv", words, ".conv")


def _transpose_padding(kernel, strides, dilations, crops) -> list | None:
    """The `same`/`outpad` words whose cuts (Keras's rule) are `crops`, or None."""
    from ..layers.conv import transpose_crops

    for padding in ("valid", "same"):
        if transpose_crops(kernel, strides, dilations, padding, None) == crops:
            return [Value("p", "same")] if padding == "same" else []
        outpad = []
        for i, (k, s, d) in enumerate(zip(kernel, strides, dilations)):
            # the cuts' sum grows by one with each unit of output padding, so one p can fit: solved, then
            # checked (trying every p below max(stride, dilation) was 2^31 steps for `dilation 2147483648`)
            full = (k - 1) * d + 1
            base = 2 * full - 2 if padding == "valid" else full + full % 2 - 2
            p = 2 * full - 2 - sum(crops[i]) - base
            if not 0 <= p < max(s, d) or transpose_crops([k], [s], [d], padding, [p])[0] != crops[i]:
                break
            outpad.append(p)
        else:
            return ([Value("p", "same")] if padding == "same" else []) + ["outpad", _size(outpad, "p")]
    return None


def _sequential_pair(first, second) -> bool:
    """Two convs as the emitted PyTorch writes a separable one, nn.Sequential(depthwise, pointwise):
    torch.onnx.export names them `/sep/sep.0/Conv` and `/sep/sep.1/Conv`."""
    one, two = first.name.split("/"), second.name.split("/")
    return (
        len(one) == len(two) >= 3
        and one[:-2] == two[:-2]
        and one[-2].endswith(".0")
        and two[-2] == one[-2][:-2] + ".1"
    )


def fuse_into(reader, first, last, base: str, keyword: str, words: list) -> None:
    """A layer two ONNX nodes make (a separable conv), with its fused activation if any."""
    index = reader.graph.add(Layer(keyword, (), (reader.input_of(first),), None, first.name, first.op_type))
    reader.tensor[last.output[0]] = index
    after = reader.readers.get(last.output[0], [])
    functional = len(after) == 1 and _functional_after(reader, last, after[0]) and last.name.count("/") > 2
    word = FUSED.get(after[0].op_type) if len(after) == 1 and (after[0].name == base or functional) else None
    if word and after[0].op_type in ("Softmax", "Clip"):
        word = None  # read as their own layers: rare after a separable conv
    if word:
        reader.skipped.add(id(after[0]))
        reader.tensor[after[0].output[0]] = index
        words = [*words, Value("a", word)]
    reader.graph.layers[index].words = tuple(words)


FUSED = {
    "HardSigmoid": "hardsigmoid",
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softmax": "softmax",
    "Clip": "relu6",
    "Elu": "elu",
    "Selu": "selu",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "HardSwish": "hardswish",
    "Mish": "mish",
}


def _functional_after(reader, node, act) -> bool:
    """Whether `act` is an activation called on the output of `node`'s module in the forward of the
    module above it, `F.relu(self.conv(x))`: torch.onnx.export names each node by its module's path
    (`/block/conv2d/Conv`, then `/block/Relu`). An activation module of its own (`/block/relu/Relu`)
    stays a layer."""
    if reader.written_by_cnndsl or not node.name.startswith("/") or not act.name.startswith("/"):
        return False
    scope = node.name.rpartition("/")[0]
    return bool(scope) and act.name.rpartition("/")[0] == scope.rpartition("/")[0]


def fuse(reader, node, keyword: str, words: list, suffix: str, inputs=None) -> None:
    """The layer, with the activation `cnndsl emit --onnx` wrote for its fused option (`conv 8 3 relu`:
    nodes `conv2d.conv` then `conv2d`) folded back in, or one the PyTorch module applies to its
    layer's output (see _functional_after); any other activation stays a layer."""
    after = reader.readers.get(node.output[0], [])
    base = node.name[: -len(suffix)] if node.name.endswith(suffix) else None
    if base is None and any(_functional_after(reader, node, a) for a in after):
        base = after[0].name if len(after) == 1 else next(a.name for a in after if a.op_type == "Mul")
        if len(after) == 2 and not all(_functional_after(reader, node, a) for a in after):
            base = None
    if base and len(after) == 2 and {a.op_type for a in after} == {"Sigmoid", "Mul"}:  # a fused swish
        sig = next(a for a in after if a.op_type == "Sigmoid")
        mul = next(a for a in after if a.op_type == "Mul")
        if mul.name == base and set(mul.input) == {node.output[0], sig.output[0]}:
            index = reader.add(node, keyword, [*words, Value("a", "swish")], inputs)
            reader.skipped.update((id(sig), id(mul)))
            reader.tensor[mul.output[0]] = index
            return
    found = gelu_of(reader, node.output[0]) if base or not reader.written_by_cnndsl else None
    if found is not None and (found[1].name == base or _functional_after(reader, node, found[1])):  # a fused gelu: `dense 8 gelu`
        nodes, last = found
        index = reader.add(node, keyword, [*words, Value("a", "gelu")], inputs)
        reader.skipped.update(id(n) for n in nodes)
        reader.tensor[last.output[0]] = index
        return
    if base and len(after) == 1 and after[0].name == base:
        act = after[0]
        word = FUSED.get(act.op_type)
        if (
            act.op_type == "Softmax"
            and int(_attrs(act).get("axis", -1)) != 1
            and len(reader.shape(node.output[0]) or ()) != 2
        ):
            word = None
        if act.op_type == "Clip" and len(act.input) == 3:
            bounds = (reader.constant(act.input[1])[0], reader.constant(act.input[2])[0])
            word = "relu6" if bounds == (0, 6) else None
        if act.op_type == "LeakyRelu" and abs(_attrs(act).get("alpha", 0.01) - 0.2) < 1e-6:
            word = "leakyrelu"
        if act.op_type == "Mul":  # swish: x·sigmoid(x)
            word = None
        if word is not None:
            index = reader.add(node, keyword, [*words, Value("a", word)], inputs)
            reader.skipped.add(id(act))
            reader.tensor[act.output[0]] = index
            return
    reader.add(node, keyword, words, inputs)


def batchnorm(reader, node):
    a = _attrs(node)
    if int(a.get("training_mode", 0)):
        raise Refused("a BatchNormalization in training mode", "export the model in eval mode")
    # `cnndsl emit --onnx` names a scale or bias that a `bn noscale` / `nocenter` does not learn `fixed_...`;
    # torch.onnx.export writes it as a Constant (a BatchNorm2d(affine=False), its bias a parameter of its own)
    fixed = [name.endswith((".fixed_weight", ".fixed_bias")) or name not in reader.initializers for name in node.input[1:3]]
    words = ["noscale"] * fixed[0] + ["nocenter"] * fixed[1]
    reader.add(node, "bn", words + _eps(reader, a.get("epsilon", 1e-5)))


def simple(keyword: str):
    def rule(reader, node):
        reader.add(node, keyword)

    return rule


def relu(reader, node):
    """`relu` (Keras's Activation), or the `ReLU` layer where `cnndsl emit --onnx` wrote one."""
    reader.add(node, "ReLU" if reader.written_as(node) == "ReLU" else "relu")


def clip(reader, node):
    bounds = [
        reader.constant(name)[0] if name else None for name in list(node.input[1:3]) + [""] * (3 - len(node.input))
    ]
    a = _attrs(node)
    low = bounds[0] if bounds[0] is not None else a.get("min")
    high = bounds[1] if bounds[1] is not None else a.get("max")
    if low == 0 and high == 6:
        return reader.add(node, "relu6")
    raise Refused(f"a Clip from {low} to {high}; cnndsl writes Clip only as relu6 (0 to 6)")


def leaky_relu(reader, node):
    alpha = float(f"{_attrs(node).get('alpha', 0.01):.6g}")
    default = 0.01 if reader.conventions == "pytorch" else 0.3
    reader.add(node, "leakyrelu", [] if alpha == default else [Value("alpha", alpha)])


def elu(reader, node):
    if abs(_attrs(node).get("alpha", 1.0) - 1.0) > 1e-6:
        raise Refused("an Elu with alpha other than 1")
    reader.add(node, "elu")


def hard_sigmoid(reader, node):
    a = _attrs(node)
    if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
        raise Refused("a HardSigmoid other than PyTorch's relu6(x + 3) / 6 (alpha 1/6, beta 0.5)")
    reader.add(node, "hardsigmoid")


def softmax(reader, node):
    axis = int(_attrs(node).get("axis", -1))
    shape = reader.shape(node.input[0])
    rank = len(shape) if shape is not None else None
    if axis != 1 and not (rank == 2 and axis == -1):
        raise Refused(f"a Softmax over axis {axis}; cnndsl's softmax is over the channels (axis 1)")
    reader.add(node, "softmax")


def gelu(reader, node):
    if _attrs(node).get("approximate", b"none") not in (b"none", "none"):
        raise Refused("a tanh-approximated Gelu; cnndsl's gelu is the exact one")
    reader.add(node, "gelu")


def gelu_of(reader, x: str):
    """The nodes of the exact GELU x·(1 + erf(x/√2))/2 on tensor `x` (as `cnndsl emit --onnx` writes it,
    x·0.5 times 1 + erf, and as torch.onnx.export writes nn.GELU, x times 1 + erf, then ·0.5), and
    the last of them; or None."""
    div = next((n for n in reader.readers.get(x, []) if n.op_type == "Div" and n.input[0] == x), None)
    if div is None or not _near(reader.scalar(div.input[1]), 2**0.5):
        return None
    erf = reader.only_reader(div.output[0], "Erf")
    plus = erf and reader.only_reader(erf.output[0], "Add")
    if plus is None or not _near(reader.scalar(next((i for i in plus.input if i != erf.output[0]), "")), 1.0):
        return None
    product = reader.only_reader(plus.output[0], "Mul")
    if product is None:
        return None
    other = next((i for i in product.input if i != plus.output[0]), "")
    half = reader.producer(other)
    if (
        half is not None
        and half.op_type == "Mul"
        and x in half.input
        and _near(reader.scalar(next((i for i in half.input if i != x), "")), 0.5)
        and len(reader.readers.get(half.output[0], [])) == 1
    ):
        return [div, erf, half, plus, product], product
    last = reader.only_reader(product.output[0], "Mul")
    if (
        other == x
        and last is not None
        and _near(reader.scalar(next((i for i in last.input if i != product.output[0]), "")), 0.5)
    ):
        return [div, erf, plus, product, last], last
    return None


def _near(value, target: float) -> bool:
    return value is not None and abs(value - target) <= 1e-6 * max(1.0, abs(target))


def divide(reader, node):
    """A Div (or an Erf) is read only in an exact GELU, from the Div that starts it."""
    found = gelu_of(reader, node.input[0])
    if found is None or found[0][0] is not node:
        raise Refused(f"a {node.op_type} that is not part of an exact GELU, x·(1 + erf(x/√2))/2", SUPPORTED_HINT)
    nodes, last = found
    source = reader.input_of(node)
    index = reader.graph.add(Layer("gelu", (), (source,), None, last.name, "Erf GELU"))
    reader.skipped.update(id(n) for n in nodes)
    reader.tensor[last.output[0]] = index
    if source in reader.channels_last:  # torchvision's ConvNeXt: Linear, GELU, Linear, all channels last
        reader.channels_last.add(index)


def layer_norm(reader, node):
    """LayerNormalization over the last axis: of a vector, or of the channels between the Transposes
    to channels last and back that `cnndsl emit --onnx` writes."""
    a = _attrs(node)
    shape = reader.shape(node.input[0])
    if shape is None or int(a.get("axis", -1)) not in (-1, len(shape) - 1):
        raise Refused("a LayerNormalization over other axes than the last one")
    if len(node.output) > 1 and any(node.output[1:]):
        raise Refused("a LayerNormalization that also gives its mean and deviation")
    words = ["noscale"] * node.input[1].endswith(".fixed_weight")
    words += ["nocenter"] * (len(node.input) > 2 and node.input[2].endswith(".fixed_bias"))
    words += _eps(reader, a.get("epsilon", 1e-5))
    if len(shape) == 2:
        return reader.add(node, "layernorm", words)
    rank = len(shape) - 1
    source = _channels_last_source(reader, node.input[0], rank)
    after = reader.only_reader(node.output[0], "Transpose")
    if after is not None and _perm(after) != [0, rank, *range(1, rank)]:
        after = None
    readers = reader.readers.get(node.output[0], [])
    if source is None or (after is None and not (len(readers) == 1 and readers[0].op_type == "MatMul")):
        raise Refused("a LayerNormalization of a tensor that is not moved channels last and back around it")
    index = reader.add(node, "layernorm", words, inputs=[source])
    if after is None:
        reader.channels_last.add(index)
        return
    reader.skipped.add(id(after))
    reader.tensor[after.output[0]] = index


def _channels_last_source(reader, name: str, rank: int) -> int | None:
    """The layer whose output `name` is, moved channels last: by a Transpose before it, or kept so."""
    if reader.tensor.get(reader.resolve(name)) in reader.channels_last:
        return reader.tensor[reader.resolve(name)]
    before = reader.producer(name)
    if before is None or before.op_type != "Transpose" or _perm(before) != [0, *range(2, rank + 1), 1]:
        return None
    return reader.input_of(before)


def resize(reader, node):
    """Resize by whole factors of the spatial axes: `upsample` (nearest, or bilinear with half pixels)."""
    a = _attrs(node)
    text = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in a.items()}
    scales = reader.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if scales is None or len(node.input) > 3 and node.input[3]:
        raise Refused("a Resize to sizes instead of by scales")
    if scales[:2] != [1.0, 1.0] or any(s != int(s) or s < 1 for s in scales[2:]):
        raise Refused(f"a Resize by {scales}; cnndsl upsamples the spatial axes by whole factors")
    mode = text.get("mode", "nearest")
    transform = text.get("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest" and transform == "asymmetric" and text.get("nearest_mode", "round_prefer_floor") == "floor":
        words = [_size(scales[2:], "k")]
    elif mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel") and len(scales) == 4:
        words = [_size(scales[2:], "k"), "bilinear"]
    else:
        raise Refused(f"a Resize in {mode} mode ({transform}); cnndsl upsamples as Keras's nearest or bilinear")
    reader.add(node, "upsample", words)


def slice_(reader, node):
    """A Slice of the spatial axes by step 1: `crop`, the cut from each end."""
    shape = reader.shape(node.input[0])
    starts, ends = reader.constant(node.input[1]), reader.constant(node.input[2])
    axes = reader.constant(node.input[3]) if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
    steps = reader.constant(node.input[4]) if len(node.input) > 4 and node.input[4] else [1] * len(starts)
    if shape is None or set(steps) != {1}:
        raise Refused("a Slice of a tensor of unknown size, or by steps")
    rank = len(shape)
    cuts = {int(axis) % rank: (int(s), int(e)) for axis, s, e in zip(axes, starts, ends)}
    if set(cuts) == {1} and shape[1] is not None:  # one of equal groups of the channels: `chunk`
        n = shape[1]
        start, end = (max(0, min(n, v + n if v < 0 else v)) for v in cuts[1])
        width = end - start
        if width > 0 and not n % width and not start % width:
            return reader.add(node, "chunk", [Value("g", n // width), Value("i", start // width)])
        raise Refused("a Slice of the channels that is not one of equal groups", "cnndsl's chunk takes one of N groups")
    if any(axis < 2 for axis in cuts):
        raise Refused("a Slice of the batch or the channels; cnndsl crops the spatial axes")
    if any(d is None for d in shape[2:]):
        raise Refused("a Slice of a tensor of unknown size, or by steps")
    pairs = []
    for axis in range(2, rank):
        n = shape[axis]
        start, end = cuts.get(axis, (0, n))
        start, end = max(0, start + n if start < 0 else start), min(n, end + n if end < 0 else end)
        pairs.append((start, n - end))
    if all(a == b for a, b in pairs):
        words = [_size([a for a, _ in pairs], "pad")]
    else:
        words = [Value("pad", x) for pair in pairs for x in pair]
    reader.add(node, "crop", words)


def scaled(reader, node):
    """Mul by one number: `rescale` (with the Add of its offset after it), or the scaled branch of a
    `scaleadd` (a + s·b: an Add of another tensor and this one); a product of two tensors is `multiply`."""
    gamma = per_channel_weight(reader, node)
    if gamma is not None:
        return layer_scale(reader, node, gamma)
    factors = [reader.scalar(name) for name in node.input]
    if all(f is None for f in factors):
        return product(reader, node)
    if len(node.input) != 2 or None not in factors:
        raise Refused("a Mul of constants only")
    source = reader.input_of(node, factors.index(None))
    scale = next(f for f in factors if f is not None)
    add = reader.only_reader(node.output[0], "Add")
    other = next((i for i in add.input if i != node.output[0]), None) if add is not None else None
    last, words = node, [Value("scale", scale)]
    if other is not None and reader.scalar(other) is None and list(add.input) == [other, node.output[0]]:
        shortcut = reader.tensor.get(reader.resolve(other))
        if shortcut is not None:
            index = reader.graph.add(
                Layer("scaleadd", (Value("scale", scale),), (shortcut, source), None, add.name, "Mul+Add")
            )
            reader.skipped.add(id(add))
            reader.tensor[add.output[0]] = index
            return
    sub = reader.only_reader(node.output[0], "Sub") if add is None else None
    if sub is not None and list(sub.input)[0] == node.output[0] and reader.scalar(sub.input[1]) is not None:
        add, other = sub, sub.input[1]  # x·s − o, as the emitted PyTorch writes a negative offset
    if other is not None and reader.scalar(other) is not None:
        offset = reader.scalar(other) * (-1 if add.op_type == "Sub" else 1)
        words += ["offset", Value("offset", offset)] if offset else []
        reader.skipped.add(id(add))
        last = add
    index = reader.graph.add(Layer("rescale", tuple(words), (source,), None, last.name, "Mul"))
    reader.tensor[last.output[0]] = index


def product(reader, node) -> None:
    """`multiply` of two tensors, or of more: `cnndsl emit --onnx` writes `multiply(a; b; c)` as the
    binary Muls `multiply.1` = a·b and `multiply` = that·c, read back as the one merge."""
    base, _, number = node.name.rpartition(".")
    names, last = list(node.input), node
    while base and number.isdigit() and last.name != base:
        after = reader.only_reader(last.output[0], "Mul")
        if (
            after is None
            or list(after.input)[0] != last.output[0]
            or after.name not in (base, f"{base}.{int(number) + 1}")
        ):
            break
        names.append(after.input[1])
        reader.skipped.add(id(after))
        last, number = after, after.name.rpartition(".")[2]
    if last is node:
        return merge("multiply", binary=True)(reader, node)
    inputs = []
    for name in names:
        if reader.resolve(name) not in reader.tensor:
            raise Refused(f"the input `{printable(name)}` is made by no node cnndsl read")
        inputs.append(reader.tensor[reader.resolve(name)])
    index = reader.graph.add(Layer("multiply", (), tuple(inputs), None, last.name, "Mul"))
    reader.tensor[last.output[0]] = index


def shifted(reader, node):
    """Add of one number: `rescale 1 offset o`; of two tensors, `add`."""
    offsets = [reader.scalar(name) for name in node.input]
    if all(o is None for o in offsets):
        return merge("add", binary=True)(reader, node)
    if len(node.input) != 2 or None not in offsets:
        raise Refused("an Add of constants only")
    offset = next(o for o in offsets if o is not None)
    reader.add(
        node,
        "rescale",
        [Value("scale", 1.0), "offset", Value("offset", offset)],
        inputs=[reader.input_of(node, offsets.index(None))],
    )


def difference(reader, node):
    """Sub: `subtract`; of a constant per channel with a Div by one after it, `normalize`."""
    by_constant = (
        len(node.input) == 2
        and reader.resolve(node.input[0]) in reader.tensor
        and reader.resolve(node.input[1]) not in reader.tensor
        and reader.only_reader(node.output[0], "Div") is not None
    )
    if by_constant or reader.written_as(node) == "normalize":
        return normalization(reader, node)
    offset = reader.scalar(node.input[1]) if len(node.input) == 2 else None
    if offset is not None and reader.resolve(node.input[0]) in reader.tensor:
        return reader.add(node, "rescale", [Value("scale", 1.0), "offset", Value("offset", -offset)])
    return merge("subtract", binary=True)(reader, node)


def _through_reshapes(reader, name: str) -> str:
    """The tensor a chain of Reshapes (and Casts) of a constant starts from."""
    made = reader.producer(name)
    while made is not None and made.op_type in ("Reshape", "Cast"):
        name = made.input[0]
        made = reader.producer(name)
    return name


def normalization(reader, node):
    """(x − mean) / deviation, each a constant per channel: `normalize`. Learned statistics are
    buffers (initializers, reshaped per channel); fixed ones constants: the variance is read where
    the deviation is max(√variance, 1e-7) (a Max or a Clip of a Sqrt), else as the deviation squared."""
    divide = reader.only_reader(node.output[0], "Div")
    if divide is None or reader.resolve(divide.input[1]) in reader.tensor:
        raise Refused("a normalize without its division by the deviation")
    mean = _through_reshapes(reader, node.input[1])
    if mean in reader.initializers and mean != node.input[1]:
        words: list = []  # learned: Keras's adapt() sets them
    else:
        deviation = reader.producer(_through_reshapes(reader, divide.input[1]))
        root = reader.producer(deviation.input[0]) if deviation is not None and deviation.op_type in ("Max", "Clip") else None
        if root is not None and root.op_type == "Sqrt":
            variance = [float(v) for v in reader.constant(root.input[0])]
        else:
            variance = [float(v) ** 2 for v in reader.constant(divide.input[1])]
        words = []
        for word, values in (("mean", [float(v) for v in reader.constant(node.input[1])]), ("variance", variance)):
            values = [float(f"{v:.6g}") for v in values]
            words += [word, *(Value(word, v) for v in (values[:1] if len(set(values)) == 1 else values))]
    index = reader.add(node, "normalize", words)
    reader.skipped.add(id(divide))
    reader.tensor[divide.output[0]] = index


def shuffle(reader, node):
    """Gather of the channels in F.channel_shuffle's order: `shuffle G`."""
    from ..layers.channels import shuffle_order

    shape = reader.shape(node.input[0])
    order = [int(v) for v in reader.constant(node.input[1])] if node.input[1] not in reader.tensor else None
    axis = int(_attrs(node).get("axis", 0))
    if shape is None or order is None or axis % len(shape) != 1 or shape[1] != len(order):
        raise Refused("a Gather that is not a reordering of the channels", SUPPORTED_HINT)
    channels = len(order)
    groups = next((g for g in range(1, channels + 1) if not channels % g and shuffle_order(channels, g) == order), None)
    if groups is None:
        raise Refused("a reordering of the channels that is not a channel shuffle")
    reader.add(node, "shuffle", [Value("g", groups)])


def layer_scale(reader, node, gamma: str) -> None:
    """x·γ with γ one learned factor per channel (a weight shaped (C,) or (C, 1, …)): `layerscale`."""
    values = reader.array(gamma)
    init = float(f"{float(values.reshape(-1)[0]):.6g}")
    source = reader.input_of(node, 1 - list(node.input).index(gamma))
    reader.add(node, "layerscale", [] if init == 1e-6 else [Value("init", init)], inputs=[source])


def per_channel_weight(reader, node) -> str | None:
    """The input of a Mul that is one factor per channel of the other input, if one is."""
    for i, name in enumerate(node.input):
        other = reader.shape(node.input[1 - i]) if len(node.input) == 2 else None
        if other is None or name in reader.tensor:
            continue
        if name in reader.initializers:
            dims = tuple(reader.initializers[name].dims)
        elif name in reader.constants and (
            reader.written_as(node) == "layerscale" or _through_reshapes(reader, name) in reader.initializers
        ):  # torch.onnx.export: a weight reshaped per channel (gamma.view(1, -1, 1, 1))
            dims = reader.constants[name].shape
        else:
            continue
        channels = other[1] if len(other) > 1 else None
        shapes = [(channels, *(1,) * (len(other) - 2)), (1, channels, *(1,) * (len(other) - 2))]
        shapes += [(channels,)] * (len(other) == 2)
        if channels is not None and channels > 1 and tuple(dims) in shapes:
            return name
    return None


def sigmoid(reader, node):
    """Sigmoid, or x·sigmoid(x) (swish) when its one reader multiplies it by its input."""
    mul = reader.only_reader(node.output[0], "Mul")
    if mul is not None and set(mul.input) == {node.input[0], node.output[0]}:
        reader.skipped.add(id(mul))
        index = reader.graph.add(Layer("swish", (), (reader.input_of(node),), None, node.name, "Sigmoid+Mul"))
        reader.tensor[mul.output[0]] = index
        return
    reader.add(node, "sigmoid")


def pool(keyword: str):
    def rule(reader, node):
        a = _attrs(node)
        out = reader.shape(node.output[0])
        if reader.written_as(node) == "adaptivepool" and out is not None and None not in out[2:]:
            return reader.add(node, "adaptivepool", [_size(out[2:], "k")])  # as `emit --onnx` wrote it
        kernel = list(a["kernel_shape"])
        strides = list(a.get("strides", [1] * len(kernel)))
        if list(a.get("dilations", [1] * len(kernel))) != [1] * len(kernel):
            raise Refused("a dilated pooling")
        pads = list(a.get("pads", []))
        if keyword == "avgpool" and int(a.get("ceil_mode", 0)):
            raise Refused("an average pooling with ceil_mode")
        words: list = [_size(kernel, "k")]
        if strides != kernel:
            words += ["stride", _size(strides, "s")]
        if keyword == "avgpool" and any(pads) and int(a.get("count_include_pad", 0)):
            rank = len(kernel)
            if pads[:rank] != pads[rank:] or "auto_pad" in a:
                raise Refused("an average pooling that counts an uneven padding in", "cnndsl averages count a `pad P` in")
            return reader.add(node, keyword, words + ["pad", _size(pads[:rank], "pad")])  # count_include_pad=True
        window = _window_words(reader, node, kernel, strides, [1] * len(kernel), keyword)
        if window[:2] and window[0] == "stride":
            window = window[2:]
        words += window
        if int(a.get("ceil_mode", 0)):
            if any(isinstance(w, Value) and w.value == "same" for w in words):
                raise Refused("a `same`-padded max pooling with ceil_mode")
            words.append("ceil")
        if keyword == "maxpool" and len(node.output) > 1 and node.output[1]:
            raise Refused("a MaxPool that also gives the indices")
        reader.add(node, keyword, words)

    return rule


def global_pool(reader, node):
    if node.op_type == "GlobalAveragePool":
        return reader.add(node, "adaptivepool", [Value("k", 1)])  # as nn.AdaptiveAvgPool2d(1) exports
    reader.add(node, "gmp", ["keepdims"])


def reduce(keyword: str):
    def rule(reader, node):
        a = _attrs(node)
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = reader.constant(node.input[1])
        shape = reader.shape(node.input[0])
        if shape is None or axes is None:
            raise Refused("a reduction over axes cnndsl cannot read")
        rank = len(shape)
        axes = sorted(int(x) % rank for x in axes)
        if axes != list(range(2, rank)):
            raise Refused(f"a reduction over axes {axes}; cnndsl's global pools reduce the spatial axes")
        reader.add(node, keyword, ["keepdims"] if int(a.get("keepdims", 1)) else [])

    return rule


def gemm(reader, node):
    a = _attrs(node)
    if int(a.get("transA", 0)) or abs(a.get("alpha", 1.0) - 1) > 1e-6 or abs(a.get("beta", 1.0) - 1) > 1e-6:
        raise Refused("a Gemm other than x·Wᵀ + b (a linear layer)")
    dims = reader.weight_dims(node, 1)
    if dims is None or len(dims) != 2:
        raise Refused("a Gemm without a weight matrix")
    units = dims[0] if int(a.get("transB", 0)) else dims[1]
    bias = reader.weight_dims(node, 2) is not None
    fuse(reader, node, "dense", [Value("c", units)] + ([] if bias else ["nobias"]), ".gemm")


def matmul(reader, node):
    """x·W with W a weight, and an Add of a bias right after: a dense layer (on a matrix), or on the
    channels of every position between Transposes to channels last and back (`dense 8 noflatten`)."""
    shape = reader.shape(node.input[0])
    if shape is not None and len(shape) > 2:
        return dense_on_positions(reader, node, shape)
    dims = reader.weight_dims(node, 1)
    if dims is None or len(dims) != 2 or shape is None or len(shape) != 2:
        raise Refused("a MatMul that is not a vector times a weight matrix")
    add = reader.only_reader(node.output[0], "Add")
    bias = add is not None and any(name in reader.initializers for name in add.input)
    index = reader.add(node, "dense", [Value("c", dims[1])] + ([] if bias else ["nobias"]))
    if bias:
        reader.skipped.add(id(add))
        reader.tensor[add.output[0]] = index


def dense_on_positions(reader, node, shape) -> None:
    rank = len(shape) - 1
    source = _channels_last_source(reader, node.input[0], rank)
    if source is None:
        raise Refused("a MatMul of a tensor that is not moved channels last before it")
    weight = node.input[1]
    flipped = reader.producer(weight)
    if weight in reader.initializers or weight in reader.constants:
        units = (
            reader.np_helper.to_array(reader.initializers[weight]).shape[1]
            if weight in reader.initializers
            else reader.constants[weight].shape[1]
        )
    elif flipped is not None and flipped.op_type == "Transpose" and _perm(flipped) == [1, 0]:
        dims = reader.weight_dims(flipped, 0)
        if dims is None or len(dims) != 2:
            raise Refused("a MatMul by a weight that is not a matrix")
        units = dims[0]
    else:
        raise Refused("a MatMul by a tensor that is not a weight")
    last = node
    add = reader.only_reader(node.output[0], "Add")
    bias = add is not None and any(name in reader.initializers for name in add.input)
    if bias:
        reader.skipped.add(id(add))
        last = add
    after = reader.only_reader(last.output[0], "Transpose")
    words = [Value("c", int(units)), "noflatten"] + ([] if bias else ["nobias"])
    if after is None or _perm(after) != [0, rank, *range(1, rank)]:
        if len(reader.readers.get(last.output[0], [])) != 1 and gelu_of(reader, last.output[0]) is None:
            raise Refused("a MatMul of every position not moved channels first again after it")
        fuse(reader, last, "dense", words, ".channels_first", inputs=[source])  # still channels last
        reader.channels_last.add(len(reader.graph.layers) - 1)
        return
    reader.skipped.add(id(after))
    fuse(reader, after, "dense", words, ".channels_first", inputs=[source])


def flatten(reader, node):
    axis = int(_attrs(node).get("axis", 1))
    if axis != 1:
        raise Refused(f"a Flatten from axis {axis}; cnndsl flattens everything but the batch")
    source = reader.model.graph.node
    name = reader.resolve(node.input[0])
    shape = reader.shape(name)
    producer = next((n for n in source if name in n.output), None)
    # a Transpose to channels last, not one whose output a layer already gives (layernorm's way back)
    channels_last = producer is not None and producer.op_type == "Transpose" and name not in reader.tensor
    positions = 1
    for d in (shape or (None, None))[2:]:
        positions = None if d is None or positions is None else positions * d
    if channels_last:
        perm = _perm(producer)
        if perm != [0, *range(2, len(perm)), 1] or reader.conventions != "keras":
            raise Refused(f"a Flatten after a Transpose {perm}")
        reader.add(node, "flatten", inputs=[reader.input_of(producer)])
        return
    if reader.conventions == "keras" and positions != 1:
        raise Refused("a channels-first Flatten in a graph that flattens channels last elsewhere")
    reader.add(node, "flatten")


def transpose(reader, node):
    """Read with the Flatten or Reshape after it (Keras's channels-last order), or before it (back)."""
    if any(reader.only_reader(node.output[0], op) for op in ("Flatten", "Reshape", "LayerNormalization", "MatMul")):
        return
    producer = reader.producer(node.input[0])
    if producer is not None and producer.op_type == "Reshape" and node.input[0] in reader.tensor:
        perm = _perm(node)
        if perm == [0, len(perm) - 1, *range(1, len(perm) - 1)]:
            reader.alias[node.output[0]] = node.input[0]
            return
    raise Refused("a Transpose that is not the channels-last order around a Flatten or Reshape")


def reshape(reader, node):
    """Keras's Reshape as `cnndsl emit --onnx` writes it: channels last, Reshape, channels first again."""
    target = [int(v) for v in reader.constant(node.input[1])]
    producer = reader.producer(node.input[0])
    shape = reader.shape(node.input[0])
    if producer is not None and producer.op_type == "Transpose" and node.input[0] not in reader.tensor:
        source = reader.input_of(producer)
    elif shape is not None and len(shape) == 2:
        source = reader.input_of(node)
    else:
        raise Refused("a Reshape of a channels-first tensor, which cnndsl's reshape (channels last) is not")
    if not target or target[0] != 0 and target[0] != -1:
        raise Refused("a Reshape that changes the batch axis")
    out = target[1:]
    if len(out) > 1:
        after = reader.only_reader(node.output[0], "Transpose")
        if after is None:
            raise Refused("a Reshape to several axes not moved channels first again")
    reader.add(node, "reshape", [Value("t", v) for v in out], inputs=[source])


def identity(reader, node):
    """The tensor itself; in a file `cnndsl emit --onnx` wrote, the `linear` activation it stands for."""
    if reader.written_by_cnndsl and node.input[0] in reader.tensor:
        return reader.add(node, "linear")
    reader.alias[node.output[0]] = node.input[0]


def dropout(reader, node):
    ratio = _attrs(node).get("ratio", 0.5)
    if len(node.input) > 1 and node.input[1]:
        ratio = reader.constant(node.input[1])[0]
    reader.add(node, "dropout", [Value("r", float(f"{ratio:.6g}"))])


def merge(keyword: str, binary: bool = False):
    def rule(reader, node):
        inputs = [reader.input_of(node, i) for i in range(len(node.input))]
        if len(inputs) < 2:
            raise Refused("a merge of fewer than two tensors")
        if binary and len(inputs) != 2:
            raise Refused("a binary operator with other than two inputs")
        shapes = [reader.shape(name) for name in node.input]
        if any(s is not None and shapes[0] is not None and len(s) != len(shapes[0]) for s in shapes):
            raise Refused("a merge of tensors of different ranks")
        reader.add(node, keyword, inputs=inputs)

    return rule


def concat(reader, node):
    shape = reader.shape(node.input[0])
    axis = int(_attrs(node)["axis"])
    if axis != 1 and not (shape is not None and axis == 1 - len(shape)):
        raise Refused(f"a Concat along axis {axis}; cnndsl's concat joins the channels (axis 1)")
    merge("concat")(reader, node)


def pad(reader, node):
    """Pad with zeros: `zeropad`; folded into the Conv (zeros) or MaxPool (−inf) that alone reads it,
    where the two are one `same` or `pad P` layer (F.pad before a layer, as the emitted PyTorch writes
    Keras's uneven `same`)."""
    a = _attrs(node)
    mode = a.get("mode", b"constant")
    if mode not in (b"constant", "constant"):
        raise Refused(f"a Pad in {mode.decode() if isinstance(mode, bytes) else mode} mode; cnndsl pads with zeros")
    pads = [int(v) for v in list(a.get("pads", [])) or reader.constant(node.input[1])]
    value = reader.constant(node.input[2])[0] if len(node.input) > 2 and node.input[2] else 0.0
    if len(node.input) > 3 and node.input[3]:
        raise Refused("a Pad of chosen axes")
    rank = len(pads) // 2
    before, after = pads[:rank], pads[rank:]
    if before[:2] != [0, 0] or after[:2] != [0, 0] or min(pads) < 0:
        raise Refused("a Pad of the batch or channel axes, or a negative one")
    if _folds_into_window(reader, node, before[2:] + after[2:], value):
        return
    if value != 0:
        raise Refused("a Pad with a value other than zero")
    pairs = list(zip(before[2:], after[2:]))
    if all(x == y for x, y in pairs):
        words = [_size([x for x, _ in pairs], "pad")]
    else:
        words = [Value("pad", x) for pair in pairs for x in pair]
    reader.add(node, "zeropad", words)


def _folds_into_window(reader, node, pads: list[int], value: float) -> bool:
    """Whether the Pad is folded into its one reader: a Conv after zeros, a MaxPool after −inf (which
    its own padding is), without pads of its own, where the sum is `same` or a symmetric `pad`."""
    readers = reader.readers.get(node.output[0], [])
    if reader.written_by_cnndsl or len(readers) != 1 or node.output[0] in {o.name for o in reader.model.graph.output}:
        return False
    window = readers[0]
    if (window.op_type, value) not in (("Conv", 0.0), ("MaxPool", float("-inf"))) or window.input[0] != node.output[0]:
        return False
    a = _attrs(window)
    if any(a.get("pads", [])) or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return False
    if window.op_type == "Conv":
        dims = reader.initializers.get(window.input[1]) if len(window.input) > 1 else None
        kernel = list(dims.dims[2:]) if dims is not None else None
    else:
        kernel = list(a.get("kernel_shape", []))
    if not kernel or len(kernel) * 2 != len(pads):
        return False
    rank = len(kernel)
    strides = list(a.get("strides", [1] * rank))
    dilations = list(a.get("dilations", [1] * rank))
    shape = reader.shape(node.input[0])
    spatial = shape[2:] if shape is not None and len(shape) == rank + 2 else (None,) * rank
    pairs = list(zip(pads[:rank], pads[rank:]))
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    same = all(tuple(p) == same_pads(n, k, s) for n, k, s, p in zip(spatial, effective, strides, pairs))
    if not same and any(x != y for x, y in pairs):
        return False
    reader.padded[id(window)] = pads
    reader.alias[node.output[0]] = node.input[0]
    return True


def constant(reader, node):
    a = _attrs(node)
    value = a.get("value")
    if value is None:
        raise Refused("a Constant that is not a tensor")
    count = 1
    for d in value.dims:
        count *= d
    if count > MAX_CONSTANT_VALUES:
        raise Refused("a Constant too large to be pads or a shape")
    reader.constants[node.output[0]] = reader.np_helper.to_array(value)


def _slice(np, v, a):
    data, starts, ends = v[0], v[1], v[2]
    axes = v[3] if len(v) > 3 and v[3] is not None else range(len(starts))
    steps = v[4] if len(v) > 4 and v[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[int(axis)] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def _cast(np, v, a):
    from onnx import helper

    return v[0].astype(helper.tensor_dtype_to_np_dtype(a["to"]))


# Arithmetic on constants, worked out while reading (numpy on arrays of at most MAX_CONSTANT_VALUES).
FOLDS = {
    "Shape": lambda np, v, a: np.array(v[0].shape, dtype=np.int64),
    "Gather": lambda np, v, a: np.take(v[0], v[1].astype(np.int64), axis=a.get("axis", 0)),
    "Mul": lambda np, v, a: v[0] * v[1],
    "Add": lambda np, v, a: v[0] + v[1],
    "Sub": lambda np, v, a: v[0] - v[1],
    "Div": lambda np, v, a: v[0] // v[1] if v[0].dtype.kind == "i" else v[0] / v[1],
    "Cast": _cast,
    "ConstantOfShape": lambda np, v, a: (
        np.zeros(
            [int(x) for x in v[0].reshape(-1)] if int(np.prod(v[0])) <= MAX_CONSTANT_VALUES else [0], dtype=np.int64
        )
        + (a["value"] and __import__("onnx").numpy_helper.to_array(a["value"]).reshape(-1)[0] if "value" in a else 0)
    ),
    "Concat": lambda np, v, a: np.concatenate([x.reshape(x.shape or (1,)) for x in v], axis=a["axis"]),
    "Reshape": lambda np, v, a: v[0].reshape([int(d) for d in v[1]]),
    "Slice": _slice,
    "Transpose": lambda np, v, a: np.transpose(v[0], a.get("perm")),
    "Unsqueeze": lambda np, v, a: np.expand_dims(v[0], tuple(int(x) for x in (v[1] if len(v) > 1 else a["axes"]))),
    "Sqrt": lambda np, v, a: np.sqrt(v[0]),
    "Clip": lambda np, v, a: np.clip(
        v[0], v[1] if len(v) > 1 and v[1] is not None else None, v[2] if len(v) > 2 and v[2] is not None else None
    ),
    "Max": lambda np, v, a: functools.reduce(np.maximum, v),
    "Squeeze": lambda np, v, a: np.squeeze(v[0], tuple(int(x) for x in v[1])) if len(v) > 1 else np.squeeze(v[0]),
}


ONNX_RULES = {
    "Conv": conv,
    "ConvTranspose": conv_transpose,
    "BatchNormalization": batchnorm,
    "Relu": relu,
    "Clip": clip,
    "Sigmoid": sigmoid,
    "Tanh": simple("tanh"),
    "Softmax": softmax,
    "LeakyRelu": leaky_relu,
    "Elu": elu,
    "Selu": simple("selu"),
    "Softplus": simple("softplus"),
    "Softsign": simple("softsign"),
    "HardSigmoid": hard_sigmoid,
    "HardSwish": simple("hardswish"),
    "Mish": simple("mish"),
    "Gelu": gelu,
    "Div": divide,
    "Erf": divide,
    "LayerNormalization": layer_norm,
    "Resize": resize,
    "Slice": slice_,
    "MaxPool": pool("maxpool"),
    "AveragePool": pool("avgpool"),
    "GlobalAveragePool": global_pool,
    "GlobalMaxPool": global_pool,
    "ReduceMean": reduce("gap"),
    "ReduceMax": reduce("gmp"),
    "Gemm": gemm,
    "MatMul": matmul,
    "Flatten": flatten,
    "Transpose": transpose,
    "Reshape": reshape,
    "Identity": identity,
    "Dropout": dropout,
    "Add": shifted,
    "Sum": merge("add"),
    "Sub": difference,
    "Mul": scaled,
    "Mean": merge("average"),
    "Max": merge("maximum"),
    "Min": merge("minimum"),
    "Concat": concat,
    "Gather": shuffle,
    "Pad": pad,
    "Constant": constant,
}

# What each operator becomes, for docs/importing.md.
ONNX_WORDS = {
    "Conv": "`conv` (`dwconv` where each group is one input channel)",
    "ConvTranspose": "`deconv` (cut as Keras's `valid` or `same`, with `outpad`)",
    "BatchNormalization": "`bn` (inference mode)",
    "Relu": "`relu`",
    "Clip": "`relu6` (from 0 to 6 only)",
    "Sigmoid": "`sigmoid`; `swish` when a Mul multiplies it by its input",
    "Tanh": "`tanh`",
    "Softmax": "`softmax` (over the channels)",
    "LeakyRelu": "`leakyrelu`",
    "Elu": "`elu` (alpha 1)",
    "Selu": "`selu`",
    "Softplus": "`softplus`",
    "Softsign": "`softsign`",
    "HardSigmoid": "`hardsigmoid` (alpha 1/6, beta 0.5)",
    "HardSwish": "`hardswish`",
    "Mish": "`mish`",
    "Gelu": "`gelu` (exact)",
    "Div": "with `Erf`, `Add` and `Mul`: `gelu`, x·(1 + erf(x/√2))/2 (before opset 20's Gelu)",
    "Erf": "in a `gelu` (see `Div`)",
    "LayerNormalization": "`layernorm` (the last axis: the channels, between Transposes to channels last and back)",
    "Resize": "`upsample` by whole factors (nearest, floor; or bilinear, half pixels)",
    "Slice": "`crop` (spatial axes, step 1); `chunk` (one of equal groups of the channels)",
    "MaxPool": "`maxpool` (`same`, `pad`, `ceil`)",
    "AveragePool": "`avgpool` (padding left out of the averages; counted in: `avgpool k pad P`)",
    "GlobalAveragePool": "`adaptivepool 1`",
    "GlobalMaxPool": "`gmp keepdims`",
    "ReduceMean": "`gap` (over the spatial axes)",
    "ReduceMax": "`gmp` (over the spatial axes)",
    "Gemm": "`dense`",
    "MatMul": "`dense` (with the Add of its bias)",
    "Flatten": "`flatten`",
    "Transpose": "only to channels last around a Flatten or Reshape (Keras's order)",
    "Reshape": "`reshape`, channels last (between Transposes, as `emit --onnx` writes it)",
    "Identity": "nothing (the tensor itself)",
    "Dropout": "`dropout`",
    "Add": "`add`; `rescale 1 offset o` with a number",
    "Sum": "`add`",
    "Sub": "`subtract`; of a number, `rescale 1 offset −o` (after a Mul by one, its offset); of a constant per channel, with a Div by one after it, `normalize`",
    "Mul": "`multiply`; `layerscale` by a weight per channel; `rescale` by a number (with an Add of its offset); with the Add after it, `scaleadd`",
    "Mean": "`average`",
    "Max": "`maximum`",
    "Min": "`minimum`",
    "Concat": "`concat` (along the channels)",
    "Gather": "`shuffle` (the channels in a channel shuffle's order)",
    "Pad": "`zeropad` (zeros, spatial axes); folded into the Conv (zeros) or MaxPool (−inf) after it where the two are `same` or `pad P`",
    "Constant": "a constant read by another operator (pads, bounds)",
}


def onnx_operators_markdown() -> str:
    rows = ["| ONNX operator | cnndsl |", "|---|---|"]
    rows += [f"| `{op}` | {ONNX_WORDS[op]} |" for op in ONNX_RULES]
    return "\n".join(rows)
