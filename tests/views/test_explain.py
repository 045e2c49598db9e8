"""`explain`: the seeds' arithmetic appears with its numbers, and every worked figure is the model's."""

from __future__ import annotations

import re

import pytest
from docs_pages import page
from example_files import ROOT, model_files
from hypothesis import HealthCheck, given, settings
from netgen import networks

from cnndsl import analyze, analyze_file
from cnndsl.views.explain import explain_node, explain_parts, explain_text


def node(model, name):
    return next(n for n in model.nodes if n.name == name)


def text_of(model, name):
    return "\n".join(explain_node(model, node(model, name)))


def test_lenet_conv2d_1_shows_the_tutorials_sum():
    # "(5*5*8+1)*16 = 3216" (seed 003)
    lenet = analyze_file("examples/lenet.cnn")
    assert "(5·5·8 + 1)·16 = 3,216" in text_of(lenet, "conv2d_1")
    assert "(5·5·3 + 1)·8 = 608" in text_of(lenet, "conv2d")  # "5*5*3 + 1=76 ... 76*8=608"


def test_lenet_dense_and_flatten_show_the_tutorials_sums():
    lenet = analyze_file("examples/lenet.cnn")
    assert "400·120 + 120 = 48,120" in text_of(lenet, "dense")  # seed 003 "400*120+120=48120"
    assert "120·84 + 84 = 10,164" in text_of(lenet, "dense_1")
    assert "84·10 + 10 = 850" in text_of(lenet, "dense_2")
    assert "5·5·16 = 400 features" in text_of(lenet, "flatten")  # "5*5*16=400"


def test_lenet_shapes_show_the_tutorials_steps():
    lenet = analyze_file("examples/lenet.cnn")
    assert "H: 32 − 5 + 1 = 28" in text_of(lenet, "conv2d")  # "(32-5)+1=28"
    assert "H: floor((28 − 2)/2) + 1 = 14" in text_of(lenet, "max_pooling2d")  # "(28-2)/2 +1 = 14"


def test_mnist_question_conv_shows_the_answer():
    # "18207 = 63*(32*3*3+1)" (seed 004)
    mnist = analyze_file("examples/mnist_cnn.cnn")
    assert "63·(32·3·3 + 1) = 18,207" in text_of(mnist, "conv2d_1")


COURSERA = [3072, 6272, 1568, 1600, 400, 120, 84, 10]  # seed 002's Activation Size column


def test_coursera_activation_sizes():
    model = analyze_file("examples/coursera_cnn.cnn")
    sizes = [n.activations for n in model.nodes if n.keras_type not in ("Flatten", "MaxPooling2D")]
    pools = [n.activations for n in model.nodes if n.keras_type == "MaxPooling2D"]
    assert sizes[:3] == [3072, 6272, 1600]
    assert pools == [1568, 400]
    assert [n.activations for n in model.nodes if n.keras_type == "Dense"] == [120, 84, 10]
    text = explain_text(model)
    for size in ("32·32·3 = 3,072", "28·28·8 = 6,272", "14·14·8 = 1,568", "10·10·16 = 1,600", "5·5·16 = 400"):
        assert size in text
    assert "6,272·4 = 25,088 bytes as float32" in text


def _evaluate(expression: str) -> int:
    """The value of a worked line's left side, `(5·5·8 + 1)·16`, as Python reads it (words dropped)."""
    arithmetic = re.sub(r"[A-Za-z]+", "", expression).replace("·", "*").replace("−", "-")
    return eval(arithmetic, {})  # the text is digits and operators only: the regex below admits nothing else


WORKED = re.compile(r"^([0-9·()+ −a-z]+) = ([0-9,]+)")


EXAMPLES = [str(p.relative_to(ROOT)) for p in model_files()]


@pytest.mark.parametrize("path", EXAMPLES)
def test_every_worked_sum_equals_the_figure_it_explains(path):
    model = analyze_file(path)
    checked = 0
    for n in model.nodes:
        parts = explain_parts(model, n)
        for topic, figure in (("params", n.info.params), ("macs", n.info.macs)):
            for line in parts[topic]:
                match = WORKED.match(line)
                if match:
                    assert _evaluate(match.group(1)) == int(match.group(2).replace(",", "")) == figure, (n.name, line)
                    checked += 1
    assert checked >= sum(1 for n in model.nodes if n.info.macs)


def test_pytorch_pooling_rules_are_worked():
    model = analyze_file("examples/torchvision/squeezenet1_1.cnn")
    pool = next(n for n in model.nodes if n.keras_type == "MaxPooling2D")
    text = "\n".join(explain_node(model, pool))
    # torchvision's SqueezeNet 1.1: 224 → conv 3x3 stride 2 → 111 → ceil-mode pool 3 stride 2 → 55
    assert "H: ceil((111 + 2·0 − 3)/2) + 1 = 55" in text
    alexnet = analyze_file("examples/torchvision/alexnet.cnn")
    adaptive = next(n for n in alexnet.nodes if n.keras_type.startswith("AdaptiveAveragePooling"))
    assert "H: 6 → 6, windows of up to 1" in "\n".join(explain_node(alexnet, adaptive))


def test_cli_explain_one_layer_and_a_wrong_name(capsys):
    from cnndsl.cli import main

    assert main(["explain", "examples/lenet.cnn", "--layer", "conv2d_1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("conv2d_1 (Conv2D), line 8: conv 16 5x5 relu")
    assert "(5·5·8 + 1)·16 = 3,216" in out and "dense" not in out
    assert main(["explain", "examples/lenet.cnn", "--layer", "dens"]) == 2
    assert "no layer named `dens`; did you mean `dense`?" in capsys.readouterr().err


def test_block_subtotals_read_the_model_once_not_once_per_call(monkeypatch):
    """Each subtotal took a pass over the whole model: explain of 2^13 calls of 2^13 relus (a 400-byte
    file) took 153 s; the calls' nodes are gathered in one pass now."""
    import cnndsl.views.explain as explain

    passes = []
    gather = explain.block_members
    monkeypatch.setattr(explain, "block_members", lambda model: passes.append(model) or gather(model))
    text = "def b0(): dense 4\n" + "".join(f"def b{i}(): b{i - 1}()|b{i - 1}()\n" for i in range(1, 4)) + "input 8\nb3()\n"
    out = explain_text(analyze(text))
    assert len(passes) == 1, "a pass over the model per call"
    # b3 is 8 dense layers of 4 units: the first (8 + 1)·4 = 36 params, the other seven (4 + 1)·4 = 20
    assert "subtotal of b3() (call 1 of 1, line 6): 8 layers, params 176 = 36 + 20 + 20 + 20 + 20 + 20 + 20 + 20," in out
    assert "subtotal of b0() (call 8 of 8, line 2): 1 layer, params 20," in out


def test_block_subtotals_add_up_to_the_block():
    model = analyze_file("examples/resnet50.cnn")
    text = explain_text(model)
    # stack(64, 3, s=1) is keras.applications.ResNet50's conv2_* layers: Keras counts 32 layers
    # and 220,032 parameters (sum of count_params() over layers named conv2_*)
    assert "subtotal of stack(64, 3, s=1) (call 1 of 4, line 27): 32 layers, params 220,032," in text
    # each call says which of its block's calls it is, not an internal counter: Keras's ResNet50 has
    # 4 stages, each one projection block, and 2 + 3 + 5 + 2 = 12 identity blocks (conv2_block2 ... conv5_block3)
    assert "┌ stack(512, 3) (block `stack`, call 4 of 4, line 30)" in text
    assert "┌ identity_block(512) (block `identity_block`, call 12 of 12, line 22)" in text
    assert "call 13 of" not in text and "call #" not in text
    assert text.rstrip().endswith("(parameters, gradients, optimizer state, input and activations)")


def test_the_readme_explain_session_is_what_the_command_prints(capsys):

    from cnndsl.cli import main

    readme = page("commands.md")
    command = "$ cnndsl explain examples/lenet.cnn --layer conv2d_1 --layer dense\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    assert main(["explain", "examples/lenet.cnn", "--layer", "conv2d_1", "--layer", "dense"]) == 0
    assert capsys.readouterr().out == shown


SHAPE_LINE = re.compile(r"^(?:[A-Z]|axis \d): ([0-9·()+ −a-z/,]+?) = (\d+)(?:;|$)")


def _shape_value(expression: str) -> int:
    import math

    arithmetic = expression.replace("·", "*").replace("−", "-")
    return eval(arithmetic, {"floor": math.floor, "ceil": math.ceil, "max": max})  # digits, operators, 3 names


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(net=networks())
def test_random_networks_explain_every_figure(net):
    """Every kind and option netgen makes: each worked sum and axis evaluates to the model's figure."""
    model = analyze(net.text)
    text = explain_text(model)
    assert text.splitlines()[-1].startswith("    training ")
    for n in model.layers:
        parts = explain_parts(model, n)
        for topic, figure in (("params", n.info.params), ("macs", n.info.macs)):
            for line in parts[topic]:
                match = WORKED.match(line)
                if match:
                    assert _evaluate(match.group(1)) == int(match.group(2).replace(",", "")) == figure, (n.name, line)
        axes = [m for m in map(SHAPE_LINE.match, parts["shape"][1:]) if m]
        if axes and "PyTorch" not in " ".join(parts["shape"]):
            assert [_shape_value(m.group(1)) for m in axes] == [int(m.group(2)) for m in axes] == list(n.shape[:-1])
    assert model.summary(columns="all", depth=2)


SIAMESE = """\
left: input 28x28x1
right: input 28x28x1
def tower():
    conv 16 3 relu | pool 2 | conv 32 3 relu | gap
@left | t: tower
@right | u: reuse t
subtract(@t; @u) | dense 1 sigmoid | output
@t | dense 10 softmax | output
"""


def test_shared_layers_count_once_and_two_inputs_both_count():
    model = analyze(SIAMESE)
    text = explain_text(model)
    # (3·3·1 + 1)·16 = 160 and (3·3·16 + 1)·32 = 4,640 once each, then 32·1 + 1 and 32·10 + 10
    assert "params: 5,163 = 160 + 4,640 + 33 + 330" in text
    assert text.count("(3·3·16 + 1)·32 = 4,640") == 1
    assert "counted there: 0 more" in text
    assert "input 1,568·4·1 = 6,272 bytes" in text  # two 28·28·1 inputs


# What each computed argument evaluated to (issue 19: `conv in.c*6 1x1` -> `in.c = 24, 24·6 = 144 filters`)


def test_explain_shows_what_a_shape_expression_evaluated_to():
    model = analyze("input 8x8x24\nconv in.c*6 1x1\n")
    assert "  values:      in.c = 24, 24·6 = 144 filters" in text_of(model, "conv2d")


def test_explain_shows_divisible_with_keras_own_rounding(keras):
    import importlib

    make_divisible = importlib.import_module("keras.src.applications.mobilenet_v2")._make_divisible
    model = analyze("param alpha = 1.4\ninput 32x32x3\nconv divisible(32 * alpha, 8) 3\n")
    assert f"values:      alpha = 1.4, divisible(32·1.4, 8) = {make_divisible(32 * 1.4, 8)} filters" in text_of(
        model, "conv2d"
    )


def test_explain_shows_each_call_with_its_own_values():
    model = analyze(
        "def blk(c, s):\n    conv c 3 stride s (same if s == 1 else valid)\n"
        "input 16x16x3\nblk(8, 1)\nblk(16, 2)\n"
    )
    first, second = (explain_parts(model, n)["values"] for n in model.layers)
    assert first == ["c = 8 filters", "s = 1 stride", "s = 1, same if 1 == 1 else valid = same padding"]
    assert second == ["c = 16 filters", "s = 2 stride", "s = 2, same if 2 == 1 else valid = valid padding"]


def test_explain_shows_a_joined_input_size_and_leaves_literals_alone():
    model = analyze("param size = 24\ninput size x size // 2 x 3\nconv 8 3 same\ndense 10 activation=relu\n")
    assert explain_parts(model, model.nodes[0])["values"] == ["size = 24, 24x(24 // 2)x3 = 24x12x3 shape"]
    assert [explain_parts(model, n)["values"] for n in model.layers] == [[], [], []]  # conv, flatten, dense


def test_an_unknown_effective_padding_says_why():
    # TF's `same`: a 3x3 window of stride 2 pads (ceil(n/2) − 1)·2 + 3 − n in all, the smaller half
    # before: 0 before on 8 (4 outputs, 1 in all), 1 before on 9 (5 outputs, 2 in all)
    text = "input {0}x{0}x3\nconv 8 3 stride 2 same\n"
    for size, padding in (("8", "0x0"), ("9", "1x1")):
        shown = text_of(analyze(text.format(size)), "conv2d")
        assert f"effective padding {padding}" in shown
        assert "padding unknown" not in shown
    unknown = text_of(analyze(text.format("?")), "conv2d")
    assert "3x3, effective stride 2x2, effective padding ?x?" in unknown
    assert "padding unknown: a strided `same` window here or upstream" in unknown
    assert "(?x?x3, line 1)" in unknown
    # a 1x1 window of stride 2 pads nothing at any size: nothing to explain
    known = text_of(analyze("input ?x?x3\nconv 8 1 stride 2 same\n"), "conv2d")
    assert "effective padding 0x0" in known and "padding unknown" not in known
