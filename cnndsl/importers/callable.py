"""`cnndsl import --pytorch module:function` and `--keras module:function`: a model built by code
the user names on the command line. This runs that code (importing the module and calling the
function), which is why it is never what a file path does: only these two options do it.

PyTorch models go through torch.onnx.export (the TorchScript exporter, no constant folding) into
an in-memory ONNX graph, read as an `.onnx` file is; Keras models are serialised to the config a
`.keras` file holds and read as one is.
"""

from __future__ import annotations

import importlib
import os
import sys

from .errors import ModelFileError, missing_extra


def _function(spec: str):
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name.isidentifier():
        raise ModelFileError(f"`{spec}` is not module:function", hint="for example --pytorch mymodels:build", exit_code=2)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the user's own module, beside them
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ModelFileError(f"cannot import `{module_name}`: {error}", exit_code=2) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ModelFileError(f"`{module_name}` has no function `{function_name}`", exit_code=2)
    return function


def _input_shape(text: str | None) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in (text or "").lower().split("x"))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise ModelFileError("--pytorch needs --input CxHxW, for example --input 3x224x224", exit_code=2)
    return dims


def import_pytorch(spec: str, input_shape: str | None):
    """The graph of the nn.Module `function()` returns, traced on zeros of `input_shape` (channels first)."""
    try:
        import torch
    except ImportError:
        raise missing_extra("torch", "torch") from None
    shape = _input_shape(input_shape)
    model = _function(spec)()
    if not isinstance(model, torch.nn.Module):
        raise ModelFileError(f"`{spec}` returned a {type(model).__name__}, not an nn.Module", exit_code=2)
    import io

    from .onnx import read_onnx_bytes

    buffer = io.BytesIO()
    try:
        torch.onnx.export(
            model.eval(),
            (torch.zeros(1, *shape),),
            buffer,
            dynamo=False,
            do_constant_folding=False,
            training=torch.onnx.TrainingMode.PRESERVE,
        )
    except Exception as error:  # the user's model does something the exporter cannot trace
        raise ModelFileError(f"torch.onnx.export could not trace the model: {str(error)[:300]}") from None
    return read_onnx_bytes(buffer.getvalue())


def import_keras(spec: str):
    """The graph of the Keras model `function()` returns, from its serialised config."""
    import importlib.util

    if importlib.util.find_spec("keras") is None:
        raise missing_extra("keras", "keras")
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
        # Keras defaults to TensorFlow; take the backend that is installed, as emitted Keras code does
        backend = next((b for b in ("torch", "jax") if importlib.util.find_spec(b) is not None), None)
        if backend is None:
            raise ModelFileError("Keras needs a backend", hint="pip install torch (or jax, or tensorflow)", exit_code=2)
        os.environ["KERAS_BACKEND"] = backend
    try:
        import keras
    except ImportError as error:
        raise ModelFileError(f"Keras cannot be imported: {str(error)[:300]}", exit_code=2) from None
    model = _function(spec)()
    if not isinstance(model, keras.Model):
        raise ModelFileError(f"`{spec}` returned a {type(model).__name__}, not a keras.Model", exit_code=2)
    import json

    from .keras import read_config

    try:  # what a `.keras` file holds: saving_lib writes json.dumps(serialize_keras_object(model))
        config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
    except Exception as error:  # a layer of the user's whose config Keras cannot serialise
        raise ModelFileError(f"Keras could not serialise the model: {str(error)[:300]}") from None
    return read_config(config)
