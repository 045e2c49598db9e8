"""`input L int` and `embedding VOCAB DIM`: token ids to vectors, Keras's Embedding and PyTorch's
nn.Embedding, then any sequence layer (Kim 2014's sentence CNN). Keras and PyTorch are the oracles:
their own layers' parameter counts, and the emitted modules run on integer inputs."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from emit_helpers import load, ported_models
from located import assert_located

import cnndsl
from cnndsl.core.errors import CnnError
from cnndsl.emit import generate
from cnndsl.views.flops import calls, totals

pytestmark = pytest.mark.oracle

KIM = """# Kim (2014): a sentence CNN over word vectors
input 60 int
embedding 5000 32
concat(conv 16 3 relu | gmp; conv 16 4 relu | gmp; conv 16 5 relu | gmp)
dropout 0.5 | dense 2 softmax
"""


def test_parameters_are_keras_and_pytorchs(keras, torch):
    model = cnndsl.analyze("input 40 int\nembedding 1000 24\n")
    theirs_keras = keras.layers.Embedding(1000, 24)
    theirs_keras.build((None, 40))
    theirs_torch = torch.nn.Embedding(1000, 24)
    assert model.total == theirs_keras.count_params() == sum(p.numel() for p in theirs_torch.parameters())
    assert model.output_shape == (40, 24)
    assert [n.keras_type for n in model.nodes] == ["InputLayer", "Embedding"]


def test_both_targets_build_and_give_the_same_outputs_on_token_ids(keras, torch):
    model = cnndsl.analyze(KIM, name="kim")
    rng = np.random.default_rng(5)
    keras_model, torch_model = ported_models(model, rng, "kim")
    assert keras_model.count_params() == model.total == sum(p.numel() for p in torch_model.parameters())
    assert keras_model.inputs[0].dtype == "int32"
    ids = rng.integers(0, 5000, size=(3, 60)).astype("int32")
    expected = keras.ops.convert_to_numpy(keras_model(ids, training=False))
    with torch.no_grad():
        got = torch_model(torch.from_numpy(ids).long()).numpy()
    assert expected.shape == got.shape == (3, 2)
    assert np.abs(got - expected).max() <= 1e-5
    # the PyTorch module's own demo runs on ids
    code = generate(model, "pytorch")
    assert "torch.zeros(1, 60, dtype=torch.long)" in code
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(code, "<kim>", "exec"), {"__name__": "__main__"})
    assert printed.getvalue().strip() == "(1, 2)"


def test_the_flop_counters_and_their_calls_on_token_ids(torch):
    """Each call `cnndsl flops` shows for an int input, run as written, gives the figure beside it."""
    import fvcore.nn
    import ptflops
    import thop
    import torchinfo

    model = cnndsl.analyze(KIM, name="kim")
    shown, expected = calls(model), totals(model)

    def fresh():
        return load(generate(model, "pytorch"), "kim_counted").build_model().eval()

    for name in ("torchinfo", "fvcore", "ptflops", "thop"):
        names = {"model": fresh(), "x": torch.zeros(1, 60, dtype=torch.long), "torch": torch}
        names |= {"torchinfo": torchinfo, "fvcore": fvcore, "ptflops": ptflops, "thop": thop}
        code = shown[name].removesuffix(", pytorch backend").removesuffix(" (ultralytics-thop)")
        code = code.replace("input_size=", "verbose=0, input_size=")
        code = code.replace("input_constructor=", "as_strings=False, print_per_layer_stat=False, input_constructor=")
        code = code.replace("inputs=", "verbose=False, inputs=")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            result = eval(code, names)
        assert int(result[0] if isinstance(result, tuple) else result) == expected[name], name
    assert expected["torchinfo"] - expected["cnndsl"] > 5000 * 32  # torchinfo counts the table once


@pytest.mark.parametrize("form", ["int", "int=1", "int True", "integers=True"])
def test_the_int_switch_reads_the_same_in_each_form(form):
    model = cnndsl.analyze(f"input 40 {form}\nembedding 10 4\n")
    assert model.input.resolved["integers"] is True
    for off in ("int=0", "int False", "integers=False"):
        with pytest.raises(CnnError, match="reads token ids"):
            cnndsl.analyze(f"input 40 {off}\nembedding 10 4\n")


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("input 400 int\nconv 8 3\n", 2, 1, "`conv` computes with numbers, but its input holds token ids"),
        ("input 400 int\ndense 4\n", 2, 1, "`dense` computes with numbers"),
        ("a: input 10 int\nb: input 10 int\nadd(@a; @b)\n", 3, 1, "`add` computes with numbers"),
        ("input 400\nembedding 100 8\n", 2, 1, "`embedding` reads token ids, but its input holds numbers"),
        ("input 20x30 int\nembedding 10 4\n", 1, 7, "an `int` input is one sequence of token ids, not 20x30"),
        ("input 40 int\nembedding 10 4.5\n", 2, 14, "`dim` must be a positive whole number"),
        ("input 40 int\nembedding 10\n", 2, 1, "dim"),
    ],
)
def test_mistakes_are_located(text, line, column, words):
    assert_located(text, line, column, words)


def test_onnx_gathers_the_rows_as_pytorch_does(torch):
    """The ONNX graph takes int64 ids (Gather on the table); onnxruntime's output is the PyTorch module's."""
    from onnx_helpers import run_onnx

    from cnndsl.emit.onnx import build
    from cnndsl.port import torch_to_onnx

    model = cnndsl.analyze(KIM, name="kim")
    proto = build(model)
    assert proto.graph.input[0].type.tensor_type.elem_type == 7  # onnx.TensorProto.INT64
    module = load(generate(model, "pytorch"), "kim_onnx").build_model().eval()
    torch_to_onnx(module, proto)
    ids = torch.randint(0, 5000, (2, 60), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = module(ids).numpy()
    (got,) = run_onnx(proto, [ids])
    np.testing.assert_allclose(got, expected, atol=1e-5)
