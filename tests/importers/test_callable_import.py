"""`cnndsl import --pytorch module:function` / `--keras module:function`: only when named, the user's code builds the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parents[2]

MODULE = '''
import torch
from torch import nn


def small():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 8 * 8, 10),
    )


def keras_small():
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, activation="relu")(inputs)
    return keras.Model(inputs, layers.Dense(4)(layers.GlobalAveragePooling2D()(x)))
'''


def run(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), KERAS_BACKEND="torch")
    return subprocess.run([sys.executable, "-m", "cnndsl", *args], capture_output=True, text=True, cwd=tmp_path, env=env)


def test_pytorch_function_imports_with_torch_figures(tmp_path, torch):
    (tmp_path / "my_models.py").write_text(MODULE)
    result = run(tmp_path, "import", "--pytorch", "my_models:small", "--input", "3x16x16", "-o", "small.cnn")
    assert result.returncode == 0, result.stderr
    summary = json.loads(run(tmp_path, "summary", "--json", "small.cnn").stdout)
    # torch's own count: conv 3·8·9 = 216, bn 8+8 weights + 8+8 buffers, linear 512·10 + 10
    assert summary["total_params"] == 216 + 32 + 5130
    assert summary["non_trainable_params"] == 16


def test_errors_are_usage_errors_without_traceback(tmp_path):
    (tmp_path / "my_models.py").write_text(MODULE)
    for args in (
        ("import", "--pytorch", "my_models:small"),  # no --input
        ("import", "--pytorch", "no_such_module:f", "--input", "3x8x8"),
        ("import", "--pytorch", "my_models:missing", "--input", "3x8x8"),
        ("import",),
    ):
        result = run(tmp_path, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
