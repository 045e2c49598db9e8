"""Shared by the ONNX tests: the emitted PyTorch module with realistic weights, and onnxruntime runs.

torch and onnxruntime come in through the callers' fixtures; this module imports neither at import time.
"""

from __future__ import annotations

from emit_helpers import load

from cnndsl.emit import generate


def torch_module(model, torch, seed: int = 0):
    """The emitted PyTorch module in eval mode: PyTorch's own initial weights, and batch-norm
    statistics and biases set to random values (so that each one matters)."""
    torch.manual_seed(seed)
    module = load(generate(model, "pytorch"), "generated_torch").build_model().eval()
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) * 0.5 + 0.75)
            elif name.endswith(("running_mean", "bias")):
                tensor.copy_(torch.randn_like(tensor) * 0.1)
    return module


def nchw_inputs(model, torch, batch: int = 2, seed: int = 1, unknown: int = 67):
    """Random NCHW inputs; an axis of unknown size (`input ?x?x3`) gets `unknown` positions, odd so
    that a `same` padding with a stride is uneven."""
    generator = torch.Generator().manual_seed(seed)
    shapes = [[unknown if d is None else d for d in model.nodes[i].shape] for i in model.inputs]
    return [torch.randn(batch, s[-1], *s[:-1], generator=generator) for s in shapes]


def run_onnx(proto, inputs):
    """onnxruntime's outputs for the NCHW `inputs` (torch tensors), in the graph's output order."""
    import onnxruntime

    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {arg.name: x.numpy() for arg, x in zip(session.get_inputs(), inputs)}
    return session.run(None, feeds)
