"""What each FLOP counter reports for the PyTorch model cnndsl emits, and why they differ.

Every counter has its own rules, none of them printed: torchinfo, fvcore, ptflops
and thop each count different layers, count biases or not, and call the result
MACs or FLOPs. cnndsl knows every layer, so it works each tool's number out from
that tool's rules (each layer kind's `counts()`), without running any of them.
The tests run the real tools on the emitted models and require the same numbers.
"""

from __future__ import annotations

# Each counter, with its call at its default settings, and what it counts.
COUNTERS = {
    "cnndsl": (
        "cnndsl summary --macs (PyTorch's FlopCounterMode / 2)",
        "multiply-accumulates of convolutions and dense layers; no bias, normalisation, activation, pooling or add",
    ),
    "torchinfo": (
        "torchinfo.summary(model, input_size).total_mult_adds",
        "each parameter of a leaf module once per output position for convolutions (so biases count) "
        "and once for other layers (dense, batch and layer norm's γ and β); no activation, pooling or add",
    ),
    "fvcore": (
        "fvcore.nn.FlopCountAnalysis(model, x).total()",
        "one per multiply-accumulate of convolutions and dense layers (no bias); batch norm 1 per value "
        "(2 with γ), layer norm 4 (5 with γ), 2-D adaptive average pooling 1 per input, 2-D upsampling "
        "1 (nearest) or 4 (bilinear) per output; activations, pooling and adds are skipped",
    ),
    "ptflops": (
        "ptflops.get_model_complexity_info(model, input_res), pytorch backend",
        "MACs of convolutions and dense layers plus one per bias; one per value for batch norm (two "
        "when affine), layer norm, and the activations it patches (relu, relu6, elu, gelu, silu, "
        "softmax); pooling and upsampling twice, once by the module's hook and once by the F. call "
        "inside it; adds written as operators are not seen",
    ),
    "thop": (
        "thop.profile(model, inputs=(x,))[0] (ultralytics-thop)",
        "MACs of convolutions and dense layers (no bias); batch and layer norm 2 per value (4 when "
        "affine); average pooling one add per value in each window and one divide per output; "
        "bilinear upsampling 11 per output; max pooling, activations and adds are free",
    ),
}


def calls(model) -> dict[str, str]:
    """Each counter's call on this model. With several inputs each tool takes all of them its own way:
    ptflops calls forward with one argument unless an input_constructor returns keyword arguments."""
    ids = [bool(model.nodes[i].resolved.get("integers")) for i in model.inputs]
    if len(model.inputs) == 1 and not any(ids):
        return {name: call for name, (call, _) in COUNTERS.items()}
    from ..emit.pytorch import TorchTarget

    args = TorchTarget(model).arguments()
    tensors = f"({', '.join(args)}{',' if len(args) == 1 else ''})"
    sizes = ", ".join(
        f"(1, {s[-1]}, {', '.join(map(str, s[:-1]))})".replace(", )", ")")
        for s in (model.nodes[i].shape for i in model.inputs)
    )
    keywords = ", ".join(f'"{a}": {a}' for a in args)
    # token ids (`input L int`) are long tensors: torchinfo is told their dtypes, ptflops given the tensors
    dtypes = f", dtypes=[{', '.join('torch.long' if i else 'torch.float' for i in ids)}]" if any(ids) else ""
    return {
        "cnndsl": COUNTERS["cnndsl"][0],
        "torchinfo": f"torchinfo.summary(model, input_size=[{sizes}]{dtypes}).total_mult_adds",
        "fvcore": f"fvcore.nn.FlopCountAnalysis(model, {tensors}).total()",
        "ptflops": "ptflops.get_model_complexity_info(model, (1,), "
        f"input_constructor=lambda _: {{{keywords}}}), pytorch backend",
        "thop": f"thop.profile(model, inputs={tensors})[0] (ultralytics-thop)",
    }


def layer_counts(node, channels_last: frozenset[int] = frozenset()) -> dict[str, int]:
    """One layer's count under each counter; `channels_last`: the layers the PyTorch code runs on a
    tensor moved channels last (`channels_last_runs`), whose modules may be other ones."""
    counts = node.layer.counts(node, channels_last=True) if node.id in channels_last else node.layer.counts(node)
    return {name: int(counts.get(name, 0)) for name in COUNTERS}


def channels_last(model) -> frozenset[int]:
    from ..emit.pytorch import channels_last_runs

    return frozenset(i for run in channels_last_runs(model) for i in run)


def totals(model) -> dict[str, int]:
    """The whole model's count under each counter, for one example."""
    model.require_sizes("counting FLOPs")
    result = dict.fromkeys(COUNTERS, 0)
    moved = channels_last(model)
    for node in model.layers:
        if node.id in model.training_only:  # not run by the module in eval mode, as the tools run it
            continue
        for name, n in layer_counts(node, moved).items():
            result[name] += n
    return result


def flops_dict(model) -> dict:
    """`cnndsl flops --json`: each counter's number and what it counts."""
    model.require_sizes("counting FLOPs")
    call = calls(model)
    return {
        "conventions": {
            name: {"macs": n, "counts": COUNTERS[name][1], "call": call[name]} for name, n in totals(model).items()
        }
    }


def format_flops(model) -> str:
    """One row per counter: its number, and what it counts."""
    model.require_sizes("counting FLOPs")
    numbers, call = totals(model), calls(model)
    width = max(len(f"{n:,}") for n in numbers.values())
    lines = [f"FLOP counters on the PyTorch model of `{model.name}`, batch 1:", ""]
    for name, n in numbers.items():
        lines.append(f"  {name:<10} {n:>{width},}  {call[name]}")
    lines.append("")
    for name in numbers:
        lines.append(f"{name}: {COUNTERS[name][1]}.")
    return "\n".join(lines)


def counter_lines(model, nodes=None) -> list[str]:
    """`cnndsl explain --flops`: the named layers' count under each counter, or the model's."""
    model.require_sizes("counting FLOPs")
    lines = []
    moved = channels_last(model)
    for node in nodes if nodes is not None else []:
        counts = layer_counts(node, moved)
        lines.append(f"{node.name}: " + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
    if nodes is None:
        lines.append("whole model: " + ", ".join(f"{name} {n:,}" for name, n in totals(model).items()))
    return ["FLOP counters on the emitted PyTorch model, batch 1 (cnndsl flops explains each):", *lines]
