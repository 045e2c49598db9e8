"""Keras 3 model `padding`, written by cnndsl.

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


class AveragePooling2D(layers.AveragePooling2D):
    """Keras's own with `same` padding as TensorFlow and JAX compute it, on any backend:
    zeros padded (the odd one after), each window's sum divided by its count of input
    values. On the torch backend Keras's averages copies of the edge in instead."""

    def call(self, x):
        pads = [(0, 0)]
        for n, k, s in zip(x.shape[1:-1], self.pool_size, self.strides, strict=True):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        pads.append((0, 0))
        ones = keras.ops.pad(keras.ops.ones_like(x[..., :1]), pads)
        window = (self.pool_size, self.strides)
        total = keras.ops.average_pool(keras.ops.pad(x, pads), *window, padding="valid")
        return total / keras.ops.average_pool(ones, *window, padding="valid")


def build_model():
    return keras.Sequential(
        [
            keras.Input(shape=(15, 15, 3)),
            layers.Rescaling(0.00392156862745098, name="rescaling"),
            layers.Normalization(name="normalization"),
            layers.Conv2D(
                8,
                4,
                strides=2,
                padding="same",
                activation="relu6",
                name="conv2d",
            ),
            layers.MaxPooling2D(2, strides=1, padding="same", name="max_pooling2d"),
            AveragePooling2D(3, strides=2, padding="same", name="average_pooling2d"),
            layers.SeparableConv2D(
                16,
                3,
                padding="same",
                depth_multiplier=2,
                name="separable_conv2d",
            ),
            layers.DepthwiseConv2D(
                3,
                strides=2,
                padding="same",
                use_bias=False,
                name="depthwise_conv2d",
            ),
            layers.BatchNormalization(
                momentum=0.9,
                epsilon=1.001e-05,
                scale=False,
                name="batch_normalization",
            ),
            layers.Conv2DTranspose(
                8,
                3,
                strides=2,
                padding="same",
                name="conv2d_transpose",
            ),
            layers.LeakyReLU(negative_slope=0.1, name="leaky_re_lu"),
            layers.Dropout(0.25, name="dropout"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, name="dense"),
        ],
        name="padding",
    )


if __name__ == "__main__":
    model = build_model()
    model.summary()
    output = model(keras.ops.zeros((1, 15, 15, 3)))
    print(tuple(output.shape))
