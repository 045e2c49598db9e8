"""`| output train`: an output that exists only while training (Inception's auxiliary head). Its
parameters count in every total, its MACs are reported on their own line and left out of the model's;
the emitted PyTorch module returns it in training mode only, as torchvision's Inception3 does, and
PyTorch's FlopCounterMode on the module in eval mode counts the model's MACs without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from emit_helpers import check_keras, check_torch, load
from located import assert_located

import cnndsl
from cnndsl.emit import generate

ROOT = Path(__file__).resolve().parents[2]

AUX = """input 32x32x3
conv 8 3 relu
x: conv 8 3 relu
gap | dense 4 | output train
@x | conv 16 3 | gap | dense 10
"""
# the layers of the auxiliary head: gap (no MACs) and dense 8·4
AUX_MACS = 8 * 4
MAIN_MACS = 30 * 30 * 3 * 9 * 8 + 28 * 28 * 8 * 9 * 8 + 26 * 26 * 8 * 9 * 16 + 16 * 10


def test_parameters_count_and_macs_are_split():
    model = cnndsl.analyze(AUX)
    assert model.total == (3 * 9 * 8 + 8) + (8 * 9 * 8 + 8) + (8 * 4 + 4) + (8 * 9 * 16 + 16) + (16 * 10 + 10)
    assert (model.macs, model.training_macs) == (MAIN_MACS, AUX_MACS)
    # the main output first, the training-only one after it, as torchvision returns (logits, aux_logits)
    assert [model.nodes[i].shape for i in model.outputs] == [(10,), (4,)]
    assert [model.nodes[i].shape for i in model.training_outputs] == [(4,)]
    text = model.summary(columns=["name", "shape", "params", "macs"])
    assert f"Total MACs: {MAIN_MACS:,}" in text and f"Training-only MACs: {AUX_MACS:,}" in text
    assert f"training-only: {AUX_MACS:,} more" in model.explain()


def test_json_marks_the_training_only_output(capsys):
    from cnndsl.cli import main

    path = ROOT / "examples" / "torchvision" / "inception_v3.cnn"
    assert main(["summary", "--format", "json", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [o.get("training_only", False) for o in data["outputs"]] == [False, True]
    assert data["total_macs"] == 5_713_216_096 and data["training_macs"] == 5_683_200


@pytest.mark.oracle
def test_pytorch_returns_it_only_in_training_mode(torch):
    model = cnndsl.analyze(AUX, name="aux")
    built = check_torch(model, torch)  # eval: the main output alone; FlopCounterMode counts MAIN_MACS
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        main = built.eval()(x)
        logits, aux = built.train()(x)
    assert tuple(main.shape) == (2, 10) and torch.equal(main, logits)
    assert tuple(aux.shape) == (2, 4)
    assert "if self.training:" in generate(model, "pytorch")


@pytest.mark.oracle
def test_keras_has_both_outputs_in_every_mode(keras):
    built = check_keras(cnndsl.analyze(AUX, name="aux"), keras)
    assert [tuple(t.shape) for t in built.outputs] == [(None, 10), (None, 4)]


@pytest.mark.oracle
def test_inception_v3_is_torchvisions(torch):
    """torchvision's Inception3(aux_logits=True): 27,161,264 parameters (Inception_V3_Weights' num_params,
    the auxiliary head's among them) and, in eval mode, 2 · 5.713 G FLOPs by PyTorch's own counter."""
    from torch.utils.flop_counter import FlopCounterMode

    model = cnndsl.analyze_file(ROOT / "examples" / "torchvision" / "inception_v3.cnn")
    built = load(generate(model, "pytorch"), "inception_v3").build_model()
    assert sum(p.numel() for p in built.parameters()) == 27_161_264 == model.trainable
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        logits = built.eval()(torch.zeros(1, 3, 299, 299))
    assert tuple(logits.shape) == (1, 1000)
    assert round(counter.get_total_flops() / 2e9, 3) == 5.713
    assert counter.get_total_flops() == 2 * model.macs
    with torch.no_grad():
        logits, aux = built.train()(torch.randn(2, 3, 299, 299))
    assert tuple(logits.shape) == tuple(aux.shape) == (2, 1000)


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("input 8x8x3\nconv 4 3 | output test\n", 2, 19, "`output` takes only `train`"),
        ("input 8x8x3\nconv 4 3 | output train 1\n", 2, 25, "`output` takes only `train`"),
        ("input 8x8x3\nconv 4 3 | identity train\n", 2, 21, "`identity` takes no arguments"),
        ("input 8x8x3\nconv 4 3 | gap | output train\n", 2, 12, "every output of the network is training-only"),
        ("input 8x8x3\nconv 4 3 | output | output train\ngap\n", 2, 21, "already an output in every mode"),
        ("input 8x8x3\nconv 4 3 | output train | output\ngap\n", 2, 27, "already an output only while training"),
    ],
)
def test_mistakes_are_located(text, line, column, words):
    assert_located(text, line, column, words)


def test_fmt_keeps_it():
    from cnndsl.tools.fmt import format_source

    assert format_source(AUX) == AUX
