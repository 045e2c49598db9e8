"""The seed tutorials' worked numbers, asserted exactly.

Every number here is copied from ../shared/seeds (the tutorials' own
model.summary() output or hand arithmetic), never from cnndsl.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnndsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def rows(name: str) -> list[tuple[str, tuple, int]]:
    model = cnndsl.analyze_file(EXAMPLES / name)
    return [(node.keras_type, node.shape, node.info.params) for node in model.layers]


def test_cifar10_keras_example_every_row():
    # Seed 000: its model.summary(), row by row (old Keras 2 names aside).
    assert rows("cifar10_cnn.cnn") == [
        ("Conv2D", (32, 32, 32), 896),
        ("Activation", (32, 32, 32), 0),
        ("Conv2D", (30, 30, 32), 9248),
        ("Activation", (30, 30, 32), 0),
        ("MaxPooling2D", (15, 15, 32), 0),
        ("Dropout", (15, 15, 32), 0),
        ("Conv2D", (15, 15, 64), 18496),
        ("Activation", (15, 15, 64), 0),
        ("Conv2D", (13, 13, 64), 36928),
        ("Activation", (13, 13, 64), 0),
        ("MaxPooling2D", (6, 6, 64), 0),
        ("Dropout", (6, 6, 64), 0),
        ("Flatten", (2304,), 0),
        ("Dense", (512,), 1180160),
        ("Activation", (512,), 0),
        ("Dropout", (512,), 0),
        ("Dense", (10,), 5130),
        ("Activation", (10,), 0),
    ]
    model = cnndsl.analyze_file(EXAMPLES / "cifar10_cnn.cnn")
    assert (model.total, model.trainable, model.non_trainable) == (1_250_858, 1_250_858, 0)


@pytest.mark.parametrize(
    "name, shape, params",
    [
        # Seed 001: scenarios 1-3, output shape and parameters by hand.
        ("scenario1.cnn", (8, 8, 1), 10),
        ("scenario2.cnn", (8, 8, 5), 50),
        ("scenario3.cnn", (8, 8, 5), 140),
    ],
)
def test_single_conv_scenarios(name, shape, params):
    assert rows(name) == [("Conv2D", shape, params)]


def test_coursera_table_with_implicit_flatten():
    # Seed 002 (corrected table): 608, 3216, 48120, 10164, 850; POOL2 is 5x5x16 = 400.
    assert rows("coursera_cnn.cnn") == [
        ("Conv2D", (28, 28, 8), 608),
        ("MaxPooling2D", (14, 14, 8), 0),
        ("Conv2D", (10, 10, 16), 3216),
        ("MaxPooling2D", (5, 5, 16), 0),
        ("Flatten", (400,), 0),
        ("Dense", (120,), 48120),
        ("Dense", (84,), 10164),
        ("Dense", (10,), 850),
    ]


def test_lenet_summary_names_and_numbers():
    # Seed 003: the tutorial's Keras summary, names included. Total 62,958.
    model = cnndsl.analyze_file(EXAMPLES / "lenet.cnn")
    assert [(n.name, n.keras_type, n.shape, n.info.params) for n in model.layers] == [
        ("conv2d", "Conv2D", (28, 28, 8), 608),
        ("max_pooling2d", "MaxPooling2D", (14, 14, 8), 0),
        ("conv2d_1", "Conv2D", (10, 10, 16), 3216),
        ("max_pooling2d_1", "MaxPooling2D", (5, 5, 16), 0),
        ("flatten", "Flatten", (400,), 0),
        ("dense", "Dense", (120,), 48120),
        ("dense_1", "Dense", (84,), 10164),
        ("dense_2", "Dense", (10,), 850),
    ]
    assert (model.total, model.trainable, model.non_trainable) == (62_958, 62_958, 0)


def test_mnist_question_18207():
    # Seed 004: 18207 = 63 * (32*3*3 + 1); total 1,181,161.
    assert rows("mnist_cnn.cnn") == [
        ("Conv2D", (26, 26, 32), 320),
        ("Conv2D", (24, 24, 63), 18207),
        ("MaxPooling2D", (12, 12, 63), 0),
        ("Dropout", (12, 12, 63), 0),
        ("Flatten", (9072,), 0),
        ("Dense", (128,), 1161344),
        ("Dropout", (128,), 0),
        ("Dense", (10,), 1290),
    ]
    assert cnndsl.analyze_file(EXAMPLES / "mnist_cnn.cnn").total == 1_181_161


def test_design_card_one_liner():
    # The numbers: 608, 0, 0 (implicit flatten) and 188,280; total 188,888.
    model = cnndsl.analyze("input 32x32x3 | conv 8 5x5 | pool 2 | dense 120")
    assert [(n.name, n.info.params) for n in model.layers] == [
        ("conv2d", 608),
        ("max_pooling2d", 0),
        ("flatten", 0),
        ("dense", 188_280),
    ]
    assert model.layers[2].implicit
    assert model.total == 188_888
