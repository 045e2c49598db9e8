"""Keras 3 model `residual`, written by cnndsl.

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


class DefaultNames:
    """Keras's default layer names (`conv2d`, `conv2d_1`, ...), counted afresh for each
    model built, so that every build names its layers as `cnndsl summary` does."""

    def __init__(self):
        self.counts = {}

    def __call__(self, base):
        count = self.counts.get(base, 0)
        self.counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"


def basic(x, c, s, names):
    shortcut = x
    x = layers.Conv2D(c, 1, strides=s, name=names("conv2d"))(shortcut)
    batch_normalization = layers.BatchNormalization(
        name=names("batch_normalization"),
    )(x)
    x = layers.Conv2D(c, 3, strides=s, padding="same", name=names("conv2d"))(shortcut)
    x = layers.BatchNormalization(name=names("batch_normalization"))(x)
    x = layers.Activation("relu", name=names("activation"))(x)
    x = layers.Conv2D(c, 3, padding="same", name=names("conv2d"))(x)
    x = layers.BatchNormalization(name=names("batch_normalization"))(x)
    x = layers.Add(name=names("add"))([batch_normalization, x])
    x = layers.Activation("relu", name=names("activation"))(x)
    return x


def build_model():
    names = DefaultNames()
    inputs = keras.Input(shape=(32, 32, 3), name="input_layer")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(name=names("batch_normalization"))(x)
    x = layers.Activation("relu", name=names("activation"))(x)
    for _ in range(2):
        x = basic(x, 16, 1, names)
    basic_1 = basic(x, 32, 2, names)
    conv2d_9 = layers.Conv2D(8, 1, name=names("conv2d"))(basic_1)
    x = layers.MaxPooling2D(
        3,
        strides=1,
        padding="same",
        name=names("max_pooling2d"),
    )(basic_1)
    x = layers.Conv2D(8, 1, name=names("conv2d"))(x)
    concatenate = layers.Concatenate(name=names("concatenate"))([conv2d_9, x])
    x = layers.GlobalAveragePooling2D(
        keepdims=True,
        name=names("global_average_pooling2d"),
    )(concatenate)
    x = layers.Conv2D(16, 1, activation="sigmoid", name=names("conv2d"))(x)
    x = layers.Multiply(name=names("multiply"))([concatenate, x])
    x = layers.GlobalAveragePooling2D(name=names("global_average_pooling2d"))(x)
    outputs = layers.Dense(10, activation="softmax", name=names("dense"))(x)
    return keras.Model(inputs, outputs, name="residual")


if __name__ == "__main__":
    model = build_model()
    model.summary()
    output = model(keras.ops.zeros((1, 32, 32, 3)))
    print(tuple(output.shape))
