"""`cnndsl summary --style torchinfo`: torchinfo's table for the emitted PyTorch model.

Rows are the nn.Module calls of the module `cnndsl emit --pytorch` writes (each
layer kind's `torch_modules()`), with torchinfo's `Layer (type:depth-idx)`
names, channels-first output shapes with the batch, and its footer: parameters
only (buffers are not counted), torchinfo's mult-adds (cnndsl.views.flops), and its
memory estimate (float32: the input, every output of a layer with parameters
twice for the backward pass, the parameters of the leaf modules).
"""

from __future__ import annotations

from ..emit.pytorch import class_name
from ..layers.base import TorchModule, channels_first, prod
from .flops import totals

COLUMN = 25  # torchinfo's col_width
FLOAT = 4  # bytes
STORAGE_OVERHEAD = 64  # what sys.getsizeof adds to a tensor's storage: torchinfo counts it in the input size


def _rows(model, batch: int):
    """(depth, title, output shape, module, recursive) in torchinfo's order, and the leaves (recursive or not).

    A shared layer's later uses call the same nn.Module again: torchinfo marks
    those rows `(recursive)` and counts their weights once, but their outputs
    and mult-adds once per call."""
    rows, counters = [], {}
    leaves = []

    def visit(module: TorchModule, depth: int, recursive: bool) -> None:
        counters[depth] = counters.get(depth, 0) + 1
        rows.append((depth, f"{module.cls}: {depth}-{counters[depth]}", [batch, *module.shape], module, recursive))
        if not module.children:
            leaves.append((module, recursive))
        for child in module.children:
            visit(child, depth + 1, recursive)

    from ..emit.pytorch import TorchTarget

    target = TorchTarget(model)
    containers = target.containers  # the block modules each layer runs in

    def modules(node) -> list[TorchModule]:
        """The node's module calls as the emitted code makes them: with the Permutes around a run of layers
        on channels last, and a flatten an nn.Flatten where it is one of an nn.Sequential's modules."""
        if node.id in target.flatten_modules:
            return [TorchModule("Flatten", channels_first(node.shape))]
        if node.id not in target.channels_last:
            return node.layer.torch_modules(node)
        made = node.layer.torch_modules(node, channels_last=True)
        if node.id in target.run_starts:
            made = [TorchModule("Permute", model.nodes[node.inputs[0]].shape), *made]
        if node.id in target.run_ends:
            made = [*made, TorchModule("Permute", channels_first(node.shape))]
        return made

    held: dict[str, int] = {}  # a block module's parameters, its layers'
    own: dict[str, int] = {}  # a block module's own parameters (an nn.Parameter of it, not of a layer's module)
    # An `output train` head's modules are not called in eval mode: torchinfo shows no row for them and
    # counts their parameters as the nearest module that is called holds them, as its own.
    called_paths = {
        path for node in model.layers if node.id not in model.training_only for path, _, _ in containers.get(node.id, ())
    }
    for node in model.layers:
        if node.shares is None:
            chain = containers.get(node.id, ())
            weights = sum(_weights(m) for m in modules(node)) + node.layer.torch_own_parameters(node)
            for path, _, _ in chain:
                held[path] = held.get(path, 0) + weights
            if node.id in model.training_only:
                holder = next((path for path, _, _ in reversed(chain) if path in called_paths), "")
                own[holder] = own.get(holder, 0) + weights
            else:
                innermost = chain[-1][0] if chain else ""
                own[innermost] = own.get(innermost, 0) + node.layer.torch_own_parameters(node)
    called, opened = set(), set()
    for node in model.layers:
        if node.id in model.training_only:
            continue
        chain = containers.get(node.id, ())
        for depth, (path, cls, end) in enumerate(chain, start=1):
            if path not in opened:
                opened.add(path)
                counters[depth] = counters.get(depth, 0) + 1
                shape = [batch, *channels_first(model.nodes[end].shape)]
                inner = held.get(path, 0) - own.get(path, 0)
                block = TorchModule(cls, (), own.get(path, 0), (TorchModule("", (), inner),))
                rows.append((depth, f"{cls}: {depth}-{counters[depth]}", shape, block, False))
        for module in modules(node):
            visit(module, len(chain) + 1, node.name in called)
        called.add(node.name)
    return rows, leaves, own.get("", 0)


DEPTH = 3  # torchinfo's default depth


def format_torchinfo(model, batch: int = 1, depth: int = DEPTH, ascii_only: bool = False) -> str:
    """torchinfo.summary(model, input_size, depth=depth)'s text for the emitted PyTorch model; `ascii_only`
    is its row setting "ascii_only". Rows deeper than `depth` are not shown; a container at `depth`
    shows the parameters of everything inside it (the totals count every row, shown or not)."""
    model.require_sizes("torchinfo's table (it runs the model on an input of one size)")
    rows, leaves, own = _rows(model, batch)
    root = [batch, *channels_first(model.output_shape)]
    titles = [(0, class_name(model.name)), *((depth, title) for depth, title, *_ in rows)]
    longest = max(len(title) + depth * 5 + 1 for depth, title in titles)
    name_width = 40 if longest < 40 else -(-longest // 5) * 5
    width = name_width + 2 * COLUMN  # two columns: Output Shape, Param #
    divider = "=" * width

    def line(name: str, shape: str, params: str) -> str:
        return f"{name:<{name_width}} {shape:<{COLUMN}} {params:<{COLUMN}}".rstrip()

    branch, rail = ("+ ", "|    ") if ascii_only else ("├─", "│    ")

    def start(level: int) -> str:
        return "" if level == 0 else branch if level == 1 else rail * (level - 1) + ("+ " if ascii_only else "└─")

    containers = [module for _, _, _, module, _ in rows if module.children]
    total = own + sum(m.params for m, recursive in leaves if not recursive) + sum(m.params for m in containers)
    lines = [divider, line("Layer (type:depth-idx)", "Output Shape", "Param #"), divider]
    mine = total if depth == 0 else own  # torchinfo's root row: its parameters no row below shows
    lines.append(line(class_name(model.name), str(root), f"{mine:,}" if mine else "--"))
    for level, title, shape, module, recursive in rows:
        if level > depth:
            continue
        if not _weights(module):
            shown = "--"
        elif recursive:
            shown = "(recursive)"
        elif level == depth:  # its children are not shown: it shows all their parameters
            shown = f"{_weights(module):,}"
        else:  # a container shows only its own parameters (torchinfo's leftover_params)
            shown = f"{module.params:,}" if module.params else "--"
        lines.append(line(start(level) + title, str(shape), shown))
    # every input is its own tensor, each with its storage's overhead
    input_bytes = sum(prod(model.nodes[i].shape) * batch * FLOAT + STORAGE_OVERHEAD for i in model.inputs)
    output_bytes = sum(2 * FLOAT * batch * prod(m.shape) for m, _ in leaves if m.params)
    param_bytes = FLOAT * sum(m.params for m, recursive in leaves if not recursive)  # torchinfo: the leaves' alone
    lines += [
        divider,
        f"Total params: {total:,}",
        f"Trainable params: {total:,}",
        "Non-trainable params: 0",
        f"Total mult-adds {_readable(totals(model)['torchinfo'] * batch)}",
        divider,
        f"Input size (MB): {input_bytes / 1e6:0.2f}",
        f"Forward/backward pass size (MB): {output_bytes / 1e6:0.2f}",
        f"Params size (MB): {param_bytes / 1e6:0.2f}",
        f"Estimated Total Size (MB): {(input_bytes + output_bytes + param_bytes) / 1e6:0.2f}",
        divider,
    ]
    return "\n".join(lines)


def _weights(module: TorchModule) -> int:
    """All the parameters a module holds, its children's included (torchinfo's num_params)."""
    return module.params + sum(_weights(child) for child in module.children)


def _readable(n: int) -> str:
    """torchinfo's units: T, G or M, with two decimals unless the number is whole."""
    unit, value = ("T", n / 1e12) if n >= 1e12 else ("G", n / 1e9) if n >= 1e9 else ("M", n / 1e6)
    return f"({unit}): {int(value):,d}" if value.is_integer() else f"({unit}): {value:,.2f}"
