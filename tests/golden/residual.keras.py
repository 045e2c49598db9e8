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


def build_model():
    inputs = keras.Input(shape=(32, 32, 3), name="input_layer")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(name="batch_normalization")(x)
    activation = layers.Activation("relu", name="activation")(x)
    x = layers.Conv2D(16, 1, name="conv2d")(activation)
    batch_normalization_1 = layers.BatchNormalization(name="batch_normalization_1")(x)
    x = layers.Conv2D(16, 3, padding="same", name="conv2d_1")(activation)
    x = layers.BatchNormalization(name="batch_normalization_2")(x)
    x = layers.Activation("relu", name="activation_1")(x)
    x = layers.Conv2D(16, 3, padding="same", name="conv2d_2")(x)
    x = layers.BatchNormalization(name="batch_normalization_3")(x)
    x = layers.Add(name="add")([batch_normalization_1, x])
    activation_2 = layers.Activation("relu", name="activation_2")(x)
    x = layers.Conv2D(16, 1, name="conv2d_3")(activation_2)
    batch_normalization_4 = layers.BatchNormalization(name="batch_normalization_4")(x)
    x = layers.Conv2D(16, 3, padding="same", name="conv2d_4")(activation_2)
    x = layers.BatchNormalization(name="batch_normalization_5")(x)
    x = layers.Activation("relu", name="activation_3")(x)
    x = layers.Conv2D(16, 3, padding="same", name="conv2d_5")(x)
    x = layers.BatchNormalization(name="batch_normalization_6")(x)
    x = layers.Add(name="add_1")([batch_normalization_4, x])
    activation_4 = layers.Activation("relu", name="activation_4")(x)
    x = layers.Conv2D(32, 1, strides=2, name="conv2d_6")(activation_4)
    batch_normalization_7 = layers.BatchNormalization(name="batch_normalization_7")(x)
    x = layers.Conv2D(32, 3, strides=2, padding="same", name="conv2d_7")(activation_4)
    x = layers.BatchNormalization(name="batch_normalization_8")(x)
    x = layers.Activation("relu", name="activation_5")(x)
    x = layers.Conv2D(32, 3, padding="same", name="conv2d_8")(x)
    x = layers.BatchNormalization(name="batch_normalization_9")(x)
    x = layers.Add(name="add_2")([batch_normalization_7, x])
    activation_6 = layers.Activation("relu", name="activation_6")(x)
    conv2d_9 = layers.Conv2D(8, 1, name="conv2d_9")(activation_6)
    x = layers.MaxPooling2D(
        3,
        strides=1,
        padding="same",
        name="max_pooling2d",
    )(activation_6)
    x = layers.Conv2D(8, 1, name="conv2d_10")(x)
    concatenate = layers.Concatenate(name="concatenate")([conv2d_9, x])
    x = layers.GlobalAveragePooling2D(
        keepdims=True,
        name="global_average_pooling2d",
    )(concatenate)
    x = layers.Conv2D(16, 1, activation="sigmoid", name="conv2d_11")(x)
    x = layers.Multiply(name="multiply")([concatenate, x])
    x = layers.GlobalAveragePooling2D(name="global_average_pooling2d_1")(x)
    outputs = layers.Dense(10, activation="softmax", name="dense")(x)
    return keras.Model(inputs, outputs, name="residual")


if __name__ == "__main__":
    model = build_model()
    model.summary()
    output = model(keras.ops.zeros((1, 32, 32, 3)))
    print(tuple(output.shape))
