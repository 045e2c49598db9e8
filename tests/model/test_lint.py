"""Warnings (W…): each rule, its fix, its suppression, and the reason behind it checked with PyTorch itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_fixes import apply

import cnndsl
from cnndsl.cli import main
from cnndsl.core.errors import CnnWarning
from cnndsl.core.source import Source

ROOT = Path(__file__).resolve().parent.parent.parent


def warned(text: str) -> list[tuple[int, int, str]]:
    diagnosis = cnndsl.diagnose(text, "net.cnn")
    assert diagnosis.errors == [] and diagnosis.model is not None
    return [(w.span.line, w.span.column, w.code) for w in diagnosis.warnings]


def only(text: str) -> CnnWarning:
    (warning,) = cnndsl.diagnose(text, "net.cnn").warnings
    return warning


def test_a_channels_first_input_is_turned_round_by_its_fix():
    text = "input 3x224x224\nconv 64 3 same relu\ngap\ndense 10\n"
    warning = only(text)
    assert (warning.code, warning.span.line, warning.span.column) == ("W101", 1, 7)
    (fix,) = warning.fixes(Source.of(text))
    assert apply(text, fix).startswith("input 224x224x3\n")
    assert warned(apply(text, fix)) == []
    # 1 and 4 channels too; a first axis that is not much smaller than the others is a real height
    assert warned("input 1x28x28\ngap\n") == [(1, 7, "W101")]
    assert warned("input 4x64x64\ngap\n") == [(1, 7, "W101")]
    assert warned("input 3x16x16\ngap\n") == []
    assert warned("input 28x28x3\ngap\n") == []


def test_a_bias_before_batch_norm_is_fixed_by_nobias():
    text = "input 32x32x3\nconv 16 3 same\nbn\nrelu\n"
    warning = only(text)
    assert warning.code == "W102" and "16 parameters" in warning.message
    (fix,) = warning.fixes(Source.of(text))
    repaired = apply(text, fix)
    assert repaired == "input 32x32x3\nconv 16 3 same nobias\nbn\nrelu\n"
    assert warned(repaired) == []
    assert cnndsl.analyze(text).total - cnndsl.analyze(repaired).total == 16
    # a fused activation between them, or a second reader, keeps the bias meaningful
    assert warned("input 32x32x3\nconv 16 3 same relu\nbn\n") == []
    assert warned("input 8\ndense 4\nbn\n") == [(2, 1, "W102")]


def test_batch_norm_cancels_the_bias_in_pytorch():
    import torch

    torch.manual_seed(0)
    conv, bn = torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16)
    x = torch.randn(4, 3, 8, 8)
    before = bn(conv(x))
    with torch.no_grad():
        conv.bias.add_(torch.randn(16) * 10)
    assert torch.allclose(bn(conv(x)), before, atol=1e-4)


def test_a_window_that_does_not_tile_its_input_says_how_much_it_drops():
    warning = only("input 7x7x8\nmaxpool 2\nflatten\ndense 10\n")
    assert warning.code == "W103"
    assert "the last 1 row and 1 column of its 7x7 input" in warning.message
    assert "(7 − 2) mod 2 = 1" in warning.message
    # (10 − 4) mod 3 = 0 rows, (12 − 4) mod 3 = 2 columns
    assert "the last 2 columns of its 10x12 input" in only("input 10x12x1\nconv 4 4 stride 3\ngap\n").message
    assert warned("input 8x8x1\nmaxpool 2\ngap\n") == []  # 8 tiles
    assert warned("input 7x7x1\nmaxpool 2 same\ngap\n") == []  # `same` reads them
    assert warned("input 7x7x1\nmaxpool 2 ceil\ngap\n") == []
    assert warned("input 7x7x1\nconv 4 1 stride 2\ngap\n") == []  # a strided 1x1 skips inputs by design
    # the zeros a zeropad added are no loss: ResNet's stem (zeropad 3, conv 7x7 stride 2 on 230)
    assert warned("input 224x224x3\nzeropad 3 | conv 64 7x7 stride 2 nobias\ngap\n") == []


def test_pytorch_never_reads_the_rows_the_warning_names():
    import torch

    x = torch.randn(1, 8, 7, 7)
    changed = x.clone()
    changed[..., 6, :] += 100
    changed[..., :, 6] += 100
    pool = torch.nn.MaxPool2d(2)
    assert torch.equal(pool(x), pool(changed))


def test_stacked_activations():
    assert (
        only("input 8\ndense 4\nrelu\nrelu\n").message
        == "`relu` right after `relu` changes nothing: relu(relu(x)) is relu(x)"
    )
    assert only("input 8\ndense 10 softmax\nrelu\n").code == "W104"
    assert only("input 8\ndense 10 relu\nsigmoid\n").code == "W104"
    assert warned("input 8\ndense 10 relu\ndense 4\nsigmoid\n") == []


def test_a_layer_holding_most_parameters_is_vgg16s_first_dense():
    text = (ROOT / "examples" / "vgg16.cnn").read_text()
    (warning,) = [w for w in cnndsl.diagnose(text, "vgg16.cnn").warnings if w.code == "W105"]
    # Keras's VGG16: fc1 has 102,764,544 of the model's 138,357,544 parameters
    assert "holds 102,764,544 of the network's 138,357,544 parameters (74%)" in warning.message
    assert "7x7x512 map flattened to 25,088 values" in warning.message
    assert "`gap` before it" in warning.hint and "512 inputs" in warning.hint
    assert warned("input 32x32x3\nconv 8 5x5 relu | pool 2\nflatten\ndense 120\ndense 10\n") == []  # LeNet-sized


def test_dropout_at_the_output():
    assert warned("input 16\ndense 64 relu\ndense 10 softmax\ndropout 0.5\n") == [(4, 1, "W106")]
    assert warned("input 16\ndense 64 relu\ndropout 0.5\ndense 10 softmax\n") == []


def test_zero_epsilon_is_fixed_to_the_default():
    text = "input 8x8x4\nbn eps 0\n"
    warning = only(text)
    assert warning.code == "W107"
    (fix,) = warning.fixes(Source.of(text))
    assert apply(text, fix) == "input 8x8x4\nbn eps 1e-3\n"
    assert only("defaults pytorch\ninput 8x8x4\nlayernorm eps 0\n").code == "W107"


def test_keras_gives_nan_and_pytorch_refuses_eps_0():
    import keras
    import numpy as np
    import torch

    constant = np.ones((2, 3, 3, 4), "float32")
    out = keras.layers.BatchNormalization(epsilon=0.0)(constant, training=True)
    assert np.isnan(keras.ops.convert_to_numpy(out)).all()
    assert torch.isnan(torch.nn.functional.layer_norm(torch.ones(2, 4), (4,), eps=0.0)).all()
    with pytest.raises(ValueError, match="eps must be positive"):
        torch.nn.BatchNorm2d(4, eps=0.0)(torch.ones(2, 4, 3, 3))


def test_a_comment_on_the_line_or_on_a_call_line_ignores_a_warning():
    assert warned("input 8\ndense 4\nrelu\nrelu  # cnndsl: ignore[W104]\n") == []
    assert warned("input 8\ndense 4\nrelu\nrelu  # cnndsl: ignore[W101, W104]\n") == []
    assert warned("input 8\ndense 4\nrelu\nrelu  # cnndsl: ignore[W101]\n") == [(4, 1, "W104")]
    block = "def f(c):\n    conv c 3 same | bn\ninput 8x8x3\nf(4)  # cnndsl: ignore[W102]\nf(4)\n"
    assert warned(block) == []  # the same layer: one warning, and the first call's line ignores it
    assert cnndsl.diagnose(block, ignore=["W102"]).warnings == []


def test_check_prints_warnings_and_exits_0_unless_told(tmp_path, capsys):
    path = tmp_path / "net.cnn"
    path.write_text("input 16\ndense 64 relu\ndense 10 softmax\ndropout 0.5\n")
    assert main(["check", str(path)]) == 0
    assert f"{path}:4:1: warning: the network's output comes straight from this dropout" in capsys.readouterr().err
    assert main(["check", "--warnings", "error", str(path)]) == 1
    capsys.readouterr()
    assert main(["check", "--warnings", "off", str(path)]) == 0
    assert capsys.readouterr().err == ""
    (tmp_path / "pyproject.toml").write_text('[tool.cnndsl]\nwarnings = "error"\n')
    assert main(["check", str(path)]) == 1
    capsys.readouterr()
    (tmp_path / "pyproject.toml").write_text('[tool.cnndsl]\nwarnings = "error"\nignore = ["W106"]\n')
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().err == ""
    (tmp_path / "pyproject.toml").write_text('[tool.cnndsl]\nignore = "W106"\n')
    assert main(["check", str(path)]) == 2
    assert "ignore must be a list of codes" in capsys.readouterr().err


def test_summary_prints_warnings_on_standard_error(tmp_path, capsys):
    path = tmp_path / "net.cnn"
    path.write_text("input 7x7x8\nmaxpool 2\nflatten\ndense 10\n")
    assert main(["summary", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith('Model: "net"') and "[W103]" in err and "W103" not in out


@pytest.mark.parametrize("style", ["json", "sarif", "github"])
def test_warnings_have_severity_warning_in_every_format(tmp_path, capsys, style):
    path = tmp_path / "net.cnn"
    path.write_text("input 8x8x4\nbn eps 0\n")
    assert main(["check", "--error-format", style, str(path)]) == 0
    out = capsys.readouterr().out
    if style == "json":
        (record,) = json.loads(out)
        assert (record["code"], record["severity"], record["fixes"][0]["text"]) == ("W107", "warning", "eps 1e-3")
    elif style == "sarif":
        run = json.loads(out)["runs"][0]
        (result,) = run["results"]
        assert (result["ruleId"], result["level"]) == ("W107", "warning")
        rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
        assert (rule["id"], rule["defaultConfiguration"]["level"]) == ("W107", "warning")
    else:
        assert out.startswith("::warning file=")


def test_the_examples_warn_only_where_they_copy_a_known_design():
    """Each warning on an example is a design the source copied (Keras's cifar10 example pools 13x13 by 2)."""
    found = {}
    for path in sorted((ROOT / "examples").rglob("*.cnn")):
        for warning in cnndsl.diagnose(path.read_text(), path.name).warnings:
            found.setdefault(str(path.relative_to(ROOT / "examples")), []).append(warning.code)
    assert found == {
        "cifar10_cnn.cnn": ["W103", "W105"],
        "mnist_cnn.cnn": ["W105"],
        "nasnet_mobile.cnn": ["W103"],
        "siamese.cnn": ["W105"],
        "torchvision/squeezenet1_1.cnn": ["W103"],
        "torchvision/vgg16_bn.cnn": ["W102", "W105"],
        "vgg16.cnn": ["W105"],
        "vgg19.cnn": ["W105"],
    }
