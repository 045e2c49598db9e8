"""Keras 3 model `lenet`, written by cnndsl.

Runs on any Keras 3 backend (TensorFlow, JAX or PyTorch). The layer names
are cnndsl's, so `model.summary()` matches `cnndsl summary` row for row.
"""

import importlib.util
import os
import sys

if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
    for backend in ("torch", "jax"):
        if importlib.util.find_spec(backend) is not None:
            os.environ["KERAS_BACKEND"] = backend
            break
    else:
        sys.exit("Keras needs a backend: pip install torch (or jax, or tensorflow)")

import keras  # noqa: E402 (after the backend is chosen)
from keras import layers  # noqa: E402


def build_model():
    return keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            layers.Conv2D(8, 5, activation="relu", name="conv2d"),
            layers.MaxPooling2D(2, strides=2, name="max_pooling2d"),
            layers.Conv2D(16, 5, activation="relu", name="conv2d_1"),
            layers.MaxPooling2D(2, strides=2, name="max_pooling2d_1"),
            layers.Flatten(name="flatten"),
            layers.Dense(120, activation="relu", name="dense"),
            layers.Dense(84, activation="relu", name="dense_1"),
            layers.Dense(10, activation="softmax", name="dense_2"),
        ],
        name="lenet",
    )


if __name__ == "__main__":
    model = build_model()
    model.summary()
    output = model(keras.ops.zeros((1, 32, 32, 3)))
    print(tuple(output.shape))
