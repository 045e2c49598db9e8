"""cnndsl diff: layers matched by place and name, every total before and after, exit 0 only when equal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docs_pages import page

import cnndsl
from cnndsl.cli import main
from cnndsl.views.diff import diff_models

ROOT = Path(__file__).resolve().parent.parent.parent
LENET_TEXT = (ROOT / "examples" / "lenet.cnn").read_text(encoding="utf-8")
RESNET_TEXT = (ROOT / "examples" / "resnet50.cnn").read_text(encoding="utf-8")


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return str(tmp_path / name)


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_a_wider_dense_layer_changes_two_layers_and_the_totals(tmp_path, capsys):
    a = write(tmp_path, "lenet.cnn", LENET_TEXT)
    b = write(tmp_path, "wide.cnn", edited(LENET_TEXT, "dense 120 relu", "dense 200 relu"))
    assert main(["diff", "--json", a, b]) == 1
    report = json.loads(capsys.readouterr().out)
    changes = [
        (c["change"], c["before"]["name"], c["before"]["params"], c["after"]["params"]) for c in report["layers"]
    ]
    # Keras: Dense(200) on 400 inputs has 400*200 + 200 parameters; the next Dense(84) 200*84 + 84.
    assert changes == [("changed", "dense", 48_120, 80_200), ("changed", "dense_1", 10_164, 16_884)]
    assert report["layers"][0]["after"]["output_shape"] == [None, 200]
    assert report["totals"]["total_params"] == {"before": 62_958, "after": 101_758, "change": 38_800}
    assert report["totals"]["non_trainable_params"] == {"before": 0, "after": 0, "change": 0}
    assert report["same"] is False
    assert main(["diff", a, b]) == 1
    text = capsys.readouterr().out
    assert " Total params: 62,958 → 101,758 (+38,800)" in text
    assert "    output shape  (None, 120) → (None, 200)" in text


def test_an_inserted_bn_is_one_insertion(tmp_path, capsys):
    a = write(tmp_path, "a.cnn", LENET_TEXT)
    b = write(tmp_path, "b.cnn", edited(LENET_TEXT, "conv 8 5x5 relu\n", "conv 8 5x5 relu\nbn\n"))
    assert main(["diff", "--json", a, b]) == 1
    report = json.loads(capsys.readouterr().out)
    ((change),) = report["layers"]
    assert (change["change"], change["before"], change["after"]["type"]) == ("added", None, "BatchNormalization")
    # Keras's BatchNormalization on 8 channels: gamma, beta (trainable), moving mean and variance: 4 * 8.
    assert (change["after"]["trainable_params"], change["after"]["non_trainable_params"]) == (16, 16)
    assert report["totals"]["total_params"]["after"] == 62_958 + 32


def test_an_inserted_conv_shifts_keras_names_without_a_cascade(tmp_path):
    a = cnndsl.analyze(LENET_TEXT)
    b = cnndsl.analyze(edited(LENET_TEXT, "conv 8 5x5 relu\n", "conv 8 5x5 relu\nconv 8 3 same\n"))
    (change,) = diff_models(a, b).layers
    assert (change.change, change.after.name, change.after.info.params) == ("added", "conv2d_1", 3 * 3 * 8 * 8 + 8)
    removed = diff_models(b, a).layers
    assert [(c.change, c.before.name) for c in removed] == [("removed", "conv2d_1")]


def test_a_removed_block_in_a_graph_is_only_its_layers(tmp_path):
    a = cnndsl.analyze(RESNET_TEXT)
    b = cnndsl.analyze(edited(RESNET_TEXT, "stack(512, 3)", "stack(512, 2)"))
    changes = diff_models(a, b).layers
    # An identity block: three conv+bn pairs, two relus inside, the add and the relu after it.
    assert sorted(c.before.keras_type for c in changes) == sorted(
        ["Conv2D"] * 3 + ["BatchNormalization"] * 3 + ["Activation"] * 3 + ["Add"]
    )
    assert {c.change for c in changes} == {"removed"}
    # the last identity block of the last stack: called from `stack(512, ...)` on line 30, inside it on line 22
    assert {tuple((call.name, call.span.line) for call in c.before.blocks) for c in changes} == {
        (("stack", 30), ("identity_block", 22))
    }


def test_renaming_a_label_is_a_change_of_name(tmp_path):
    a = cnndsl.analyze(RESNET_TEXT)
    b = cnndsl.analyze(edited(RESNET_TEXT, "predictions: dense", "head: dense"))
    (change,) = diff_models(a, b).layers
    assert (change.change, change.fields, change.before.name, change.after.name) == (
        "changed",
        ("name",),
        "predictions",
        "head",
    )


def test_identical_models_exit_0_even_when_written_differently(tmp_path, capsys):
    a = write(tmp_path, "a.cnn", LENET_TEXT)
    b = write(
        tmp_path,
        "b.cnn",
        "input 32x32x3 | conv 8 5x5 relu | maxpool 2 stride 2 | conv 16 5x5 relu\n"
        "maxpool 2 stride 2 | flatten | dense 120 relu | dense 84 relu | dense 10 softmax  # one line\n",
    )
    assert main(["diff", a, b]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no differences: 8 layers, 62,958 params, 849,320 MACs"
    assert main(["diff", "--json", a, a]) == 0
    assert json.loads(capsys.readouterr().out)["same"] is True


def test_a_model_error_in_either_file_is_reported_as_usual(tmp_path, capsys):
    good = write(tmp_path, "good.cnn", LENET_TEXT)
    bad = write(tmp_path, "bad.cnn", "input 28x28x1\nconvv 8 3\n")
    assert main(["diff", good, bad]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"{bad}:2:1: unknown layer `convv` [E200]")
    assert main(["diff", "--error-format", "json", bad, good]) == 1
    assert [e["code"] for e in json.loads(capsys.readouterr().out)] == ["E200"]


def test_usage_errors_exit_2(tmp_path, capsys):
    good = write(tmp_path, "good.cnn", LENET_TEXT)
    assert main(["diff", good, str(tmp_path / "missing.cnn")]) == 2
    with pytest.raises(SystemExit) as caught:
        main(["diff", good])
    assert caught.value.code == 2


def test_the_readme_diff_is_what_the_command_prints(tmp_path, capsys, monkeypatch):
    command = "$ cnndsl diff examples/lenet.cnn wide.cnn\n"
    shown = page("commands.md").split(command, 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").mkdir()
    write(tmp_path, "examples/lenet.cnn", LENET_TEXT)
    write(tmp_path, "wide.cnn", edited(LENET_TEXT, "dense 120 relu", "dense 200 relu"))
    assert main(["diff", "examples/lenet.cnn", "wide.cnn"]) == 1
    assert capsys.readouterr().out == shown
