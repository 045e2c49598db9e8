"""Keras 3 model `resnet50`, written by cnndsl.

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


def projection(x, c, s, names):
    shortcut = x
    x = layers.Conv2D(c * 4, 1, strides=s, name=names("conv2d"))(shortcut)
    batch_normalization = layers.BatchNormalization(
        epsilon=1.001e-05,
        name=names("batch_normalization"),
    )(x)
    x = layers.Conv2D(c, 1, strides=s, name=names("conv2d"))(shortcut)
    x = layers.BatchNormalization(
        epsilon=1.001e-05,
        name=names("batch_normalization"),
    )(x)
    x = layers.Activation("relu", name=names("activation"))(x)
    x = layers.Conv2D(c, 3, padding="same", name=names("conv2d"))(x)
    x = layers.BatchNormalization(
        epsilon=1.001e-05,
        name=names("batch_normalization"),
    )(x)
    x = layers.Activation("relu", name=names("activation"))(x)
    x = layers.Conv2D(c * 4, 1, name=names("conv2d"))(x)
    x = layers.BatchNormalization(
        epsilon=1.001e-05,
        name=names("batch_normalization"),
    )(x)
    x = layers.Add(name=names("add"))([batch_normalization, x])
    x = layers.Activation("relu", name=names("activation"))(x)
    return x


def identity_block(x, c, names):
    shortcut = x
    x = layers.Conv2D(c, 1, name=names("conv2d"))(shortcut)
    x = layers.BatchNormalization(
        epsilon=1.001e-05,
        name=names("batch_normalization"),
    )(x)
    x = layers.Activation("relu", name=names("activation"))(x)
    x = layers.Conv2D(c, 3, padding="same", name=names("conv2d"))(x)
    x = layers.BatchNormalization(
        epsilon=1.001e-05,
        name=names("batch_normalization"),
    )(x)
    x = layers.Activation("relu", name=names("activation"))(x)
    x = layers.Conv2D(c * 4, 1, name=names("conv2d"))(x)
    x = layers.BatchNormalization(
        epsilon=1.001e-05,
        name=names("batch_normalization"),
    )(x)
    x = layers.Add(name=names("add"))([shortcut, x])
    x = layers.Activation("relu", name=names("activation"))(x)
    return x


def stack(x, c, blocks, s, names):
    x = projection(x, c, s, names)
    for _ in range(blocks - 1):
        x = identity_block(x, c, names)
    return x


def build_model():
    names = DefaultNames()
    inputs = keras.Input(shape=(224, 224, 3), name="input_layer")
    x = layers.ZeroPadding2D(3, name=names("zero_padding2d"))(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1")(x)
    x = layers.BatchNormalization(
        epsilon=1.001e-05,
        name=names("batch_normalization"),
    )(x)
    x = layers.Activation("relu", name=names("activation"))(x)
    x = layers.ZeroPadding2D(1, name=names("zero_padding2d"))(x)
    x = layers.MaxPooling2D(3, strides=2, name=names("max_pooling2d"))(x)
    x = stack(x, 64, 3, 1, names)
    x = stack(x, 128, 4, 2, names)
    x = stack(x, 256, 6, 2, names)
    x = stack(x, 512, 3, 2, names)
    x = layers.GlobalAveragePooling2D(name=names("global_average_pooling2d"))(x)
    outputs = layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="resnet50")


if __name__ == "__main__":
    model = build_model()
    model.summary()
    output = model(keras.ops.zeros((1, 224, 224, 3)))
    print(tuple(output.shape))
