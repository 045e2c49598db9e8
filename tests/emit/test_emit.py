"""`cnndsl emit`: the command, the contract of the generated module, names and refusals."""

from __future__ import annotations

import ast

import pytest
from emit_helpers import check_keras, check_torch, load, ruff_problems

import cnndsl
from cnndsl.cli import main
from cnndsl.core.errors import UnsupportedByTarget
from cnndsl.emit import TARGETS, generate
from cnndsl.layers.core import Dropout

LENET = "input 32x32x3 | conv 8 5x5 relu | pool 2 | conv 16 5x5 relu | pool 2\ndense 120 relu | dense 84 relu | dense 10 softmax\n"


def test_targets_are_registered():
    assert {"keras", "pytorch", "torch"} <= set(TARGETS)
    with pytest.raises(ValueError, match="unknown target"):
        generate(cnndsl.analyze(LENET), "jax")


@pytest.mark.parametrize("flag, marker", [("--keras", "keras.Sequential("), ("--pytorch", "nn.Module")])
def test_cli_writes_stdout_or_file(tmp_path, capsys, flag, marker):
    source = tmp_path / "lenet.cnn"
    source.write_text(LENET)
    assert main(["emit", flag, str(source)]) == 0
    printed = capsys.readouterr().out
    assert marker in printed and "def build_model():" in printed
    out = tmp_path / "model.py"
    assert main(["emit", flag, str(source), "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text() == printed


@pytest.mark.parametrize("target", ["keras", "pytorch"])
def test_module_contract(target):
    code = generate(cnndsl.analyze(LENET, "lenet.cnn"), target)
    tree = ast.parse(code)
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "build_model" in functions
    guards = [node for node in tree.body if isinstance(node, ast.If)]
    main_guard = [node for node in guards if "__main__" in ast.unparse(node.test)]
    if target == "keras":  # the other one picks a backend before `import keras`
        assert len(guards) == 2 and "KERAS_BACKEND" in ast.unparse(guards[0].test)
    assert len(main_guard) == 1 and "__main__" in ast.unparse(main_guard[0].test)
    assert "print(tuple(output.shape))" in ast.unparse(main_guard[0])
    assert ruff_problems(code) == []


def test_pytorch_shape_comments_and_flatten_note():
    code = generate(cnndsl.analyze(LENET), "pytorch")
    assert "x = F.relu(self.conv2d(x))  # (N, 8, 28, 28)" in code
    assert "# (N, 16, 5, 5)" in code and "# (N, 400)" in code
    assert "Keras flattens NHWC, PyTorch NCHW" in code
    assert "nn.Linear(400, 120)" in code


def test_batchnorm_momentum_and_eps_follow_keras():
    code = generate(cnndsl.analyze("input 4x4x3 | bn | bn eps 1.001e-5 momentum 0.9"), "pytorch")
    assert "nn.BatchNorm2d(3, eps=0.001, momentum=0.01)" in code
    assert "nn.BatchNorm2d(3, eps=1.001e-05, momentum=0.1)" in code
    keras_code = generate(cnndsl.analyze("input 4x4x3 | bn | bn eps 1.001e-5 momentum 0.9"), "keras")
    assert "layers.BatchNormalization(name=" in keras_code
    assert "momentum=0.9," in keras_code and "epsilon=1.001e-05," in keras_code


@pytest.mark.oracle
def test_keras_relu_layer_is_its_own_class(keras):
    # MobileNetV3 in keras.applications writes `layers.ReLU()`; `relu` is `Activation("relu")`.
    model = cnndsl.analyze("input 4x4x3 | conv 2 1 | ReLU | relu")
    assert [node.keras_type for node in model.nodes] == ["InputLayer", "Conv2D", "ReLU", "Activation"]
    built = check_keras(model, keras)
    assert [type(layer).__name__ for layer in built.layers][-3:] == ["Conv2D", "ReLU", "Activation"]
    assert built.layers[-2].max_value is None  # an uncapped ReLU, as `layers.ReLU()`


@pytest.mark.oracle
def test_awkward_labels_stay_valid_python(keras, torch):
    """Labels that are Python keywords or nn.Module attributes still give valid, portable code."""
    text = "input 8x8x2\ntrain: conv 4 3\nforward: relu\nx: bn\ninputs: flatten\nparameters: dense 3\n"
    model = cnndsl.analyze(text)
    torch_code = generate(model, "pytorch")
    assert "self.train_ = nn.Conv2d" in torch_code and "self.parameters_ = nn.Linear" in torch_code
    assert 'name="train"' in generate(model, "keras")
    built = check_keras(model, keras)
    torch_model = check_torch(model, torch)
    from cnndsl.port import keras_to_torch

    keras_to_torch(built, torch_model)
    assert torch.equal(torch_model.train_.bias, torch.from_numpy(keras.ops.convert_to_numpy(built.layers[0].bias)))


def test_strings_are_escaped():
    from cnndsl.core.writer import Names, literal

    assert literal('a"b\\c\n') == '"a\\"b\\\\c\\n"'
    assert ast.literal_eval(literal("a\"b\\c\n'")) == "a\"b\\c\n'"
    names = Names(["x"])
    assert names.claim("x") == "x_" and names.claim("class") == "class_" and names.claim("a-b") == "a_b"
    assert names.claim("9lives").isidentifier()


def test_a_target_that_cannot_express_a_layer_says_so(monkeypatch, tmp_path, capsys):
    from cnndsl.layers.base import LayerKind

    monkeypatch.setattr(Dropout, "torch", LayerKind.torch)
    text = "input 8\ndense 4\n  dropout 0.5\n"
    with pytest.raises(UnsupportedByTarget) as caught:
        generate(cnndsl.analyze(text), "pytorch")
    assert "PyTorch" in caught.value.message and "dropout" in caught.value.message
    assert (caught.value.span.line, caught.value.span.column) == (3, 3)
    generate(cnndsl.analyze(text), "keras")  # the other target is unaffected
    source = tmp_path / "net.cnn"
    source.write_text(text)
    assert main(["emit", "--pytorch", str(source)]) == 1
    err = capsys.readouterr().err
    assert "net.cnn:3:3:" in err and "PyTorch" in err and "Traceback" not in err


def test_deterministic():
    model = cnndsl.analyze(LENET)
    assert generate(model, "pytorch") == generate(cnndsl.analyze(LENET), "pytorch")
    module = load(generate(model, "keras"), "det")
    assert callable(module.build_model)


@pytest.mark.oracle
def test_a_bare_input_is_a_model_too(keras, torch):
    model = cnndsl.analyze("input 10\n")
    assert ruff_problems(generate(model, "keras"), generate(model, "pytorch")) == []
    check_keras(model, keras)
    check_torch(model, torch)


@pytest.mark.parametrize(
    "text",
    [
        # a method chain whose opening line alone passes 88 columns (found by hypothesis)
        "input 3x3x3x1\nadd(identity; maxpool 1x1x1 | add(layernorm nocenter eps 1e-6; relu | normalize))\n",
        "input 4x4x2\nvery_long_layer_name_for_a_reshape_that_goes_on: reshape 2 2 2 1 -1\n",
        # an assignment whose opening line alone is too long: ruff puts the value in parentheses
        "input 4x4x2\nvery_long_layer_name_for_a_layer_norm_that_goes_on_and_on: layernorm nocenter\n",
    ],
)
def test_long_statements_are_already_ruff_formatted(text):
    model = cnndsl.analyze(text)
    assert ruff_problems(generate(model, "keras"), generate(model, "pytorch")) == []


@pytest.mark.parametrize("label", ["or", "match", "class", "__debug__", "__dict__", "__x"])
def test_a_keyword_label_inside_a_block_is_no_attribute_name(label):
    """`self.or = ...` is a SyntaxError: found by the 2026-12-07 campaign (seed 2061882); so is
    `self.__debug__ = ...` (the 2026-12-08 campaign, seed 3118328). `self.__dict__ = ...` would replace
    the module's own dict, and `self.__x` is renamed `_Blk0__x` in a class body."""
    text = f"def blk0():\n    {label}: adaptiveavgpool size=3\ninput 4x4x4\nblk0()\nbn\nblk0()\n"
    code = generate(cnndsl.analyze(text), "pytorch")
    compile(code, "<pytorch>", "exec")
    assert f"self.{label} =" not in code


@pytest.mark.parametrize("first_input", ["8x?x3", "8x8x3"])
def test_block_calls_whose_argument_is_a_number_in_one_and_a_size_in_the_other(first_input, torch):
    """`blk0(3)` and `blk0(1x1)`: the PyTorch emitter tried `(1, 1) % 2` to find the argument's multiple
    (TypeError, exit 3). Found by the 2026-12-07 campaign; it was not about `?` axes."""
    text = f"def blk0(c):\n    layer_scale | rescaling 2 | crop 1\ninput {first_input}\nblk0(3)\nblk0(1x1)\n"
    built = load(generate(cnndsl.analyze(text), "pytorch"), "blocks_torch").build_model().eval()
    assert sum(p.numel() for p in built.parameters()) == 2 * 3  # each call's layer_scale: one gamma per channel
    width = 10 if "?" in first_input else 8
    with torch.no_grad():
        out = built(torch.ones(2, 3, 8, width))
    # crop 1 twice: 8 -> 6 -> 4 rows, width -> width - 4; rescaling 2 twice, layer_scale's 1e-6 twice
    assert tuple(out.shape) == (2, 3, 4, width - 4)
    assert torch.allclose(out, torch.full_like(out, 4 * 1e-6 * 1e-6))
