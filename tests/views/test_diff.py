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


# Two layers that differ in one option, each as a user would write it, and the row diff must show.
# Every one changes what the layer computes, so "no differences" would pass a changed model.
OPTION_PAIRS = [
    ("input 8x8x3", "conv 8 3", "conv 8 3 stride 2", "stride        1x1 → 2x2"),
    ("input 8x8x3", "conv 8 3", "conv 8 3 same", "padding       valid → same"),
    ("input 8x8x3", "conv 8 3", "conv 8 3 dilation 2", "dilation      1x1 → 2x2"),
    ("input 8x8x4", "conv 8 3", "conv 8 3 groups 2", "groups        1 → 2"),
    ("input 8x8x3", "conv 8 3", "conv 8 3 nobias", "bias          on → off"),
    ("input 8x8x3", "conv 8 3 relu", "conv 8 3 sigmoid", "activation    relu → sigmoid"),
    ("input 8x8x3", "zeropad 1", "zeropad 1 2 1 1", "padding       1 → 1 2 1 1"),
    ("input 8x8x3", "crop 1", "crop 2", "padding       1 → 2"),
    ("input 8x8x3", "dwconv 3", "dwconv 3 mult 2", "mult          1 → 2"),
    ("input 8x8x3", "sepconv 4 3 relu", "sepconv 4 3 gelu", "activation    relu → gelu"),
    ("input 8x8x3", "deconv 4 3 stride 2", "deconv 4 3 stride 2 outpad 1", "outpad        - → 1x1"),
    ("input 8x8x3", "dense 4 relu", "dense 4 tanh", "activation    relu → tanh"),
    ("input 8x8x3", "bn", "bn eps 0.01", "eps           0.001 → 0.01"),
    ("input 8x8x3", "bn", "bn momentum 0.9", "momentum      0.99 → 0.9"),
    ("input 8x8x3", "bn", "bn noscale", "scale         on → off"),
    ("input 8x8x3", "bn", "bn nocenter", "center        on → off"),
    ("input 8x8x3", "layernorm", "layernorm eps 1e-5", "eps           0.001 → 1e-05"),
    ("input 8x8x3", "normalize mean 1 variance 1", "normalize mean 5 variance 1", "mean          1.0 → 5.0"),
    ("input 8x8x3", "normalize mean 1 variance 1", "normalize mean 1 variance 9", "variance      1.0 → 9.0"),
    ("input 8x8x3", "rescale 1/255", "rescale 1/127.5", "scale         0.00392156862745098 → 0.00784313725490196"),
    ("input 8x8x3", "rescale 1/255", "rescale 1/255 offset -1", "offset        0.0 → -1.0"),
    ("input 8x8x3", "dropout 0.25", "dropout 0.5", "rate          0.25 → 0.5"),
    ("input 8x8x3", "droppath 0.1", "droppath 0.2", "rate          0.1 → 0.2"),
    ("input 8x8x3", "relu", "sigmoid", "function      relu → sigmoid"),
    ("input 8x8x3", "leakyrelu 0.3", "leakyrelu 0.2", "alpha         0.3 → 0.2"),
    ("input 8x8x3", "layerscale 1e-6", "layerscale 0.1", "init          1e-06 → 0.1"),
    ("input 8x8x3", "maxpool 2", "maxpool 2 stride 1", "stride        2x2 → 1x1"),
    ("input 7x7x3", "maxpool 2", "maxpool 2 ceil", "ceil          off → on"),
    ("input 8x8x3", "maxpool 3 stride 1", "maxpool 3 stride 1 pad 1", "pad           - → 1"),
    ("input 8x8x3", "avgpool 3 stride 1", "avgpool 3 stride 1 same", "padding       valid → same"),
    ("input 8x8x3", "upsample 2", "upsample 2 bilinear", "interpolation nearest → bilinear"),
    ("input 8x8x4", "shuffle 2", "shuffle 4", "groups        2 → 4"),
    ("input 8x8x4", "chunk 2 0", "chunk 2 1", "index         0 → 1"),
]


@pytest.mark.parametrize("first, before, after, row", OPTION_PAIRS, ids=[p[2] for p in OPTION_PAIRS])
def test_a_changed_option_is_a_difference_listed_by_name(first, before, after, row):
    from cnndsl.views.diff import format_diff

    a, b = cnndsl.analyze(f"{first}\n{before}\n"), cnndsl.analyze(f"{first}\n{after}\n")
    diff = diff_models(a, b)
    assert not diff.same
    assert "changed" in [c.change for c in diff.layers]
    assert "    " + row in format_diff(diff, "a", "b").split("\n")
    assert diff_models(b, b).same and diff_models(a, a).same


@pytest.mark.parametrize(
    "written, rewritten",
    [
        ("conv 8 3 relu", "conv 8 3x3 stride 1x1 activation relu"),
        ("conv 8 3", "conv2d 8 3 valid dilation 1 groups 1"),
        ("maxpool 2", "pool 2x2 stride 2"),
        ("bn", "batchnorm eps 0.001 momentum 0.99"),
        ("normalize mean 1 variance 2", "normalize mean 1 1 1 variance 2 2 2"),
        ("dropout 0.5", "dropout 1/2"),
    ],
)
def test_the_same_layer_written_another_way_is_no_difference(written, rewritten):
    a, b = cnndsl.analyze(f"input 8x8x3\n{written}\n"), cnndsl.analyze(f"input 8x8x3\n{rewritten}\n")
    assert diff_models(a, b).same


def test_the_cli_lists_the_changed_activation_and_exits_1(tmp_path, capsys):
    a = write(tmp_path, "a.cnn", "input 8x8x3\nconv 8 3 relu\nnormalize mean 1 variance 1\n")
    b = write(tmp_path, "b.cnn", "input 8x8x3\nconv 8 3 sigmoid\nnormalize mean 5 variance 9\n")
    assert main(["diff", a, b]) == 1
    out = capsys.readouterr().out
    assert "    activation    relu → sigmoid" in out and "    variance      1.0 → 9.0" in out
    assert main(["diff", "--json", a, b]) == 1
    layers = json.loads(capsys.readouterr().out)["layers"]
    assert layers[0]["options"] == [{"name": "activation", "before": "relu", "after": "sigmoid"}]
    assert layers[1]["options"] == [
        {"name": "mean", "before": [1.0], "after": [5.0]},
        {"name": "variance", "before": [1.0], "after": [9.0]},
    ]


def test_a_long_repeat_against_itself_and_against_one_change():
    # `(relu) * 9999` against itself took 18 s (difflib's matcher is quadratic in repeated layers); now 0.7 s
    same = cnndsl.analyze("input 8\n(relu) * 9999\n")
    changed = cnndsl.analyze("input 8\n(relu) * 9998\nsigmoid\n")
    moved = cnndsl.analyze("input 8\nsigmoid\n(relu) * 9998\n")
    assert diff_models(same, same).same
    one = diff_models(same, changed)
    assert [(c.change, c.options) for c in one.layers] == [("changed", (("function", "relu", "sigmoid"),))]
    assert not diff_models(changed, moved).same
