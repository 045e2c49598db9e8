"""Memory a model needs, by a stated convention (the README's "Memory" section).

- Every value takes the dtype's size: float32 4 bytes, float16 and bfloat16 2, int8 1.
- `params_bytes`: every parameter, trainable or not.
- `input_bytes`: the input tensor for the batch.
- `activations_bytes`: the output of every layer (not the input) for the batch;
  each layer's output counts as its own tensor, even where a framework would
  reuse memory (in-place activations, views for flatten and reshape).
- `inference_peak_bytes`: the parameters plus the largest set of tensors alive
  at once when the layers run in the file's order, each tensor freed right
  after the last layer that reads it (the model's output is never freed).
- `training_bytes`: parameters, one gradient per trainable parameter, the
  optimizer's state (sgd none, momentum one value, adam two values per
  trainable parameter), and every tensor kept for the backward pass: the
  input and every layer's output.

With an axis of unknown size (`input ?x?x3`) every figure but the
parameters' depends on it, and is None (unknown).
"""

from __future__ import annotations

from ..core.choices import DTYPE_BYTES, OPTIMIZER_STATES
from ..core.records import asdict, dataclass


def times(*factors) -> int | None:
    """A product that is unknown (None) as soon as a factor is."""
    result = 1
    for factor in factors:
        if factor is None:
            return None
        result *= factor
    return result


def known_sum(values) -> int | None:
    """A sum that is unknown (None) as soon as a term is."""
    values = tuple(values)
    return None if None in values else sum(values)



@dataclass(frozen=True)
class Memory:
    dtype: str
    batch: int
    optimizer: str
    params_bytes: int
    input_bytes: int | None  # None: depends on an axis of unknown size
    activations_bytes: int | None
    inference_peak_bytes: int | None
    training_bytes: int | None

    def as_dict(self) -> dict:
        return asdict(self)


def peak_live_values(model) -> int:
    """The most activation values alive at once, running the nodes in order and freeing after last use."""
    last_use = {node.id: node.id for node in model.nodes}
    for node in model.nodes:
        for i in node.inputs:
            last_use[i] = max(last_use[i], node.id)
    for output in model.outputs:  # every output is kept to the end
        last_use[output] = len(model.nodes)
    alive, live, peak = {}, 0, 0
    for node in model.nodes:
        alive[node.id] = node.activations
        live += node.activations
        peak = max(peak, live)
        for i in [*node.inputs, node.id]:
            if i in alive and last_use[i] <= node.id:
                live -= alive.pop(i)
    return peak


def memory(model, batch: int = 1, dtype: str = "float32", optimizer: str = "adam") -> Memory:
    """The memory figures of `model` for `batch` examples; see the module's docstring."""
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r}; one of {', '.join(DTYPE_BYTES)}")
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"unknown optimizer {optimizer!r}; one of {', '.join(OPTIMIZER_STATES)}")
    size = DTYPE_BYTES[dtype]
    params = model.total * size
    if model.unknown_inputs:
        return Memory(dtype, batch, optimizer, params, None, None, None, None)
    input_bytes = batch * sum(model.nodes[i].activations for i in model.inputs) * size
    activations = batch * sum(node.activations for node in model.layers) * size
    gradients_and_state = model.trainable * (1 + OPTIMIZER_STATES[optimizer]) * size
    return Memory(
        dtype=dtype,
        batch=batch,
        optimizer=optimizer,
        params_bytes=params,
        input_bytes=input_bytes,
        activations_bytes=activations,
        inference_peak_bytes=params + batch * peak_live_values(model) * size,
        training_bytes=params + gradients_and_state + input_bytes + activations,
    )
