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


KERAS_MODULE = '''
import keras
from keras import layers

BUILT = []


def small():
    BUILT.append(1)
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return keras.Model(inputs, layers.Dense(4)(layers.GlobalAveragePooling2D()(x)))


def sequential():
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"), layers.Flatten(), layers.Dense(10)])


def with_lambda():
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, layers.Lambda(lambda t: t * 2, name="sneaky")(layers.Conv2D(4, 3)(inputs)))


def not_a_model():
    return 42


def fails():
    raise RuntimeError("no GPU here")
'''


@pytest.fixture
def keras_module(tmp_path, monkeypatch):
    """A user's module of Keras builders in the current directory, imported in this process by `cnndsl import --keras`."""
    name = f"user_keras_models_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(KERAS_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the importer puts the current directory on it
    yield name
    sys.modules.pop(name, None)


def in_process(*argv):
    import contextlib
    import io

    from cnndsl.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("function", ["small", "sequential"])
def test_keras_function_imports_with_keras_figures(function, keras, keras_module, tmp_path):
    status, _, err = in_process("import", "--keras", f"{keras_module}:{function}", "-o", "out.cnn")
    assert status == 0, err
    model = getattr(sys.modules[keras_module], function)()  # the same code, built again here: Keras's own figures
    summary = json.loads(in_process("summary", "--json", "out.cnn")[1])
    size = keras.ops.size
    assert (summary["total_params"], summary["non_trainable_params"]) == (
        model.count_params(),
        sum(int(size(w)) for w in model.non_trainable_weights),
    )
    assert summary["output_shape"] == [None, *model.layers[-1].output.shape[1:]]
    ours = [(row["type"], row["output_shape"], row["params"]) for row in summary["layers"] if not row["implicit"]]
    theirs = [(layer.__class__.__name__, [None, *layer.output.shape[1:]], layer.count_params()) for layer in model.layers]
    assert ours == [row for row in theirs if row[0] != "InputLayer"]
    if function == "small":
        assert "stem: conv 8 3" in Path("out.cnn").read_text()  # a name of the user's is kept as a label


def test_keras_function_errors_without_traceback(keras, keras_module):
    module = sys.modules.get(keras_module)
    for argv, code, says in (
        (("--keras", f"{keras_module}:with_lambda"), 1, "`sneaky` (Lambda)"),
        (("--keras", f"{keras_module}:not_a_model"), 2, "returned a int, not a keras.Model"),
        (("--keras", f"{keras_module}:fails"), 2, "RuntimeError: no GPU here"),
        (("--keras", f"{keras_module}:missing"), 2, "has no function `missing`"),
        (("--keras", "no_such_module_here:f"), 2, "cannot import `no_such_module_here`"),
        (("--keras", "not a spec"), 2, "is not module:function"),
        (("--keras", f"{keras_module}:small", "--input", "3x16x16"), 2, "--input goes with --pytorch"),
        (("--keras", f"{keras_module}:small", "--pytorch", f"{keras_module}:small"), 2, "give one of"),
    ):
        status, out, err = in_process("import", *argv, "-o", "never.cnn")
        assert (status, out) == (code, ""), (argv, err)
        assert says in err and "Traceback" not in err, (argv, err)
    assert not Path("never.cnn").exists()
    assert module is None or module.BUILT == []  # `small` was never called by a refused command
