"""Unknown input sizes: `input ?x?x3` is Keras's Input(shape=(None, None, 3)).

Keras is the oracle: each network here is also built with keras.layers on
an input with None axes, in the test, and every layer's output shape (with
None) and parameter count must be Keras's. Where Keras refuses (weights
that need an unknown axis), cnndsl must refuse with a located E302. The
emitted Keras and PyTorch models must agree numerically on two different
concrete sizes, and every figure that needs the size is shown unknown or
refused, never made up.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from emit_helpers import outputs_of_both, ported_models
from hypothesis import HealthCheck, given, settings
from netgen import unknown_size_networks

import cnndsl
from cnndsl.cli import main
from cnndsl.core.errors import BadArgument, BranchMismatch, ShapeProblem, SizeNeeded, UnknownSize
from cnndsl.emit import generate
from cnndsl.layers import to_snake_case

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def weights(variables) -> int:
    return sum(int(np.prod(v.shape)) for v in variables)


def keras_rows(keras_model):
    return [
        (type(layer).__name__, tuple(layer.output.shape)[1:], layer.count_params())
        for layer in keras_model.layers
        if type(layer).__name__ != "InputLayer"
    ]


def our_rows(model):
    return [(node.keras_type, node.shape, node.info.params) for node in model.layers]


# Each: cnndsl text, and the same network with keras.layers (`L`), input shape first.
SMALL = {
    "conv_family": (
        "input ?x?x3\nconv 8 3\nconv 8 3 stride 2 same\nconv 6 3 dilation 2 same\ndwconv 3 stride 2 same mult 2\n"
        "sepconv 5 3 same\ndeconv 4 3 stride 2\ndeconv 4 3 stride 2 same outpad 1\n",
        lambda L: (
            (None, None, 3),
            [
                L.Conv2D(8, 3),
                L.Conv2D(8, 3, strides=2, padding="same"),
                L.Conv2D(6, 3, dilation_rate=2, padding="same"),
                L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
                L.SeparableConv2D(5, 3, padding="same"),
                L.Conv2DTranspose(4, 3, strides=2),
                L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1),
            ],
        ),
    ),
    "one_axis_unknown": (
        "input 9x?x4\nconv 8 3 stride 2\nmaxpool 2 same\navgpool 3 stride 2 same\nzeropad 1 2 0 1\ncrop 1 0 0 2\n"
        "upsample 2x3\nbn\nlayernorm\n",
        lambda L: (
            (9, None, 4),
            [
                L.Conv2D(8, 3, strides=2),
                L.MaxPooling2D(2, padding="same"),
                L.AveragePooling2D(3, strides=2, padding="same"),
                L.ZeroPadding2D(((1, 2), (0, 1))),
                L.Cropping2D(((1, 0), (0, 2))),
                L.UpSampling2D((2, 3)),
                L.BatchNormalization(),
                L.LayerNormalization(),
            ],
        ),
    ),
    "sequence_of_any_length": (
        "input ?x16\nconv 8 5 causal\nconv 8 3 stride 2 same\nmaxpool 2\nupsample 2\ndense 5 noflatten\ngmp\ndense 3\n",
        lambda L: (
            (None, 16),
            [
                L.Conv1D(8, 5, padding="causal"),
                L.Conv1D(8, 3, strides=2, padding="same"),
                L.MaxPooling1D(2),
                L.UpSampling1D(2),
                L.Dense(5),
                L.GlobalMaxPooling1D(),
                L.Dense(3),
            ],
        ),
    ),
    "volume": (
        "input ?x6x6x2\nconv 4 3 same\nmaxpool 2\ngap keepdims\nflatten\ndense 3\n",
        lambda L: (
            (None, 6, 6, 2),
            [
                L.Conv3D(4, 3, padding="same"),
                L.MaxPooling3D(2),
                L.GlobalAveragePooling3D(keepdims=True),
                L.Flatten(),
                L.Dense(3),
            ],
        ),
    ),
    "reshape_and_flatten": (
        "input ?x4x3\nreshape 4 -1\nreshape 2 -1 3\nflatten\n",
        lambda L: ((None, 4, 3), [L.Reshape((4, -1)), L.Reshape((2, -1, 3)), L.Flatten()]),
    ),
}


def build_small(keras, name):
    shape, layers = SMALL[name][1](keras.layers)
    x = inputs = keras.Input(shape=shape)
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_networks_equal_keras_layer_for_layer(name, keras):
    model = cnndsl.analyze(SMALL[name][0])
    built = build_small(keras, name)
    assert our_rows(model) == keras_rows(built)
    assert (None, *model.input.shape) == tuple(built.inputs[0].shape)
    assert (model.total, model.trainable, model.non_trainable) == (
        built.count_params(),
        weights(built.trainable_weights),
        weights(built.non_trainable_weights),
    )


def test_merges_follow_keras_where_a_branch_has_an_unknown_axis(keras):
    """Keras's merges: an axis unknown on either side is unknown, even against 1."""
    text = (
        "a: input ?x?x8\nc: input ?x4x8\n"
        "z: multiply(@a; gap keepdims)\nv: concat(@a; @a)\nw: subtract(@c; @c)\n"
        "@z | output\n@v | output\n@w | output\n"
    )
    model = cnndsl.analyze(text)
    L = keras.layers
    a, c = keras.Input((None, None, 8)), keras.Input((None, 4, 8))
    theirs = [
        L.Multiply()([a, L.GlobalAveragePooling2D(keepdims=True)(a)]),
        L.Concatenate()([a, a]),
        L.Subtract()([c, c]),
    ]
    ours = [model.nodes[i].shape for i in model.outputs]
    assert [(None, *shape) for shape in ours] == [tuple(t.shape) for t in theirs]
    assert ours[2] == (None, 4, 8)  # the oracle's own answer, as a literal


@pytest.mark.parametrize("merge", ["add(@a; @b)", "maximum(@c; @b)", "concat(@c; @b)"])
def test_a_branch_of_any_size_against_one_of_a_known_size_is_refused(keras, merge):
    """Keras builds these and fails when run at any size but 4; cnndsl refuses them, at the branch."""
    a, b = keras.Input((None, None, 8), batch_size=1), keras.Input((4, 4, 8), batch_size=1)
    built = keras.Model([a, b], keras.layers.Add()([a, b]))
    with pytest.raises(Exception):  # noqa: B017 - the size the merge cannot join: 5 against 4
        built([keras.ops.zeros((1, 5, 5, 8)), keras.ops.zeros((1, 4, 4, 8))])
    first = merge[merge.index("(") + 2]
    text = f"{first}: input {'?x?x8' if first == 'a' else '?x4x8'}\nb: input 4x4x8\nx: {merge}\n@x | output\n"
    with pytest.raises(BranchMismatch) as caught:
        cnndsl.analyze(text)
    error = caught.value
    assert (error.span.line, error.span.column) == (3, len("x: ") + merge.index("; ") + 3)
    assert "is 4" in error.message and "for every size of h but h = 4" in error.message


def test_the_syntax_and_the_shapes_as_literals():
    model = cnndsl.analyze("input ?x?x3\nconv 8 3 stride 2 same\ngap\ndense 10\n")
    assert [node.shape for node in model.nodes] == [(None, None, 3), (None, None, 8), (8,), (10,)]
    assert model.total == 3 * 3 * 3 * 8 + 8 + 8 * 10 + 10  # the weights never depend on the size


def test_a_dense_after_a_flatten_of_unknown_axes_is_refused_as_keras_refuses(keras):
    text = "input ?x?x3\nconv 8 3 relu\nflatten\ndense 10\n"
    with pytest.raises(ValueError, match="fully-defined"):
        x = keras.Input((None, None, 3))
        keras.layers.Dense(10)(keras.layers.Flatten()(keras.layers.Conv2D(8, 3)(x)))
    with pytest.raises(UnknownSize) as caught:
        cnndsl.analyze(text)
    error = caught.value
    assert error.code == "E302"
    assert (error.span.line, error.span.column) == (4, 1)
    assert "`input ?x?x3` (line 1)" in error.hint and "`gap` before `dense`" in error.hint
    assert "flattening ?x?x8 gives ?" in error.message


def test_the_implicit_flatten_before_a_dense_is_refused_at_the_dense():
    with pytest.raises(UnknownSize) as caught:
        cnndsl.analyze("input 8x?x3\nconv 4 3\ndense 10\n")
    assert caught.value.span.line == 3


def test_only_input_takes_a_question_mark_and_the_channels_need_a_size():
    with pytest.raises(BadArgument) as caught:
        cnndsl.analyze("input ?x?x3\nconv 8 ?x3\n")
    assert "only `input` takes `?`" in caught.value.hint
    with pytest.raises(ShapeProblem) as caught:
        cnndsl.analyze("input ?x?x?\n")
    assert "channels" in caught.value.message and (caught.value.span.line, caught.value.span.column) == (1, 7)
    with pytest.raises(BadArgument):
        cnndsl.analyze("input 4x4x3\nreshape ?x12\n")


# MobileNetV3, Keras's own, on its default input (None, None, 3)


def auto_named(name: str, cls: str) -> bool:
    """A name Keras made up from the class (`re_lu_7`); its numbers run on across a session."""
    base = "input_layer" if cls == "InputLayer" else to_snake_case(cls)
    return re.fullmatch(re.escape(base) + r"(_\d+)?", name) is not None


def keras_kind(layer) -> str:
    """The class, but an activation by what it computes: Keras's MobileNetV3 writes ReLU as
    `layers.ReLU()`, which cnndsl writes `relu` (Keras's Activation("relu"), the same function)."""
    name = type(layer).__name__
    if name == "ReLU":
        return "relu6" if layer.max_value == 6 else "relu"
    if name == "Activation":
        name = layer.get_config()["activation"].replace("_", "")
        return {"hardsilu": "hardswish"}.get(name, name)  # Keras's own alias
    return name


def our_kind(node) -> str:
    if node.keras_type in ("Activation", "ReLU"):
        return node.layer.keyword.replace("_", "")
    return node.keras_type


# example -> (constructor, layers Keras lists with its top, the last conv's channels)
MOBILENET_V3 = {
    "mobilenet_v3_small.cnn": ("MobileNetV3Small", 164, 576),
    "mobilenet_v3_large.cnn": ("MobileNetV3Large", 194, 960),
}


def mobilenet_v3(keras, example, **kwargs):
    constructor = getattr(keras.applications, MOBILENET_V3[example][0])
    return constructor(input_shape=(None, None, 3), weights=None, **kwargs)


def compare_with_keras(model, built) -> int:
    """Layer for layer: each layer Keras names (`expanded_conv_3_expand`) by its name, the layers it
    numbers itself (`re_lu_7`, `activation_2`) in order; each by kind, output shape and parameters.
    Ours has besides only the `rescale` rows standing for Keras's tensor operations (the hard
    sigmoid's + 3 and * 1/6): two per squeeze-excite. Returns how many layers were compared."""
    theirs = [
        (layer.name, keras_kind(layer), tuple(layer.output.shape)[1:], layer.count_params(), type(layer).__name__)
        for layer in built.layers
    ]
    ours = [(node.name, our_kind(node), node.shape, node.info.params, node.keras_type) for node in model.nodes]
    named_theirs = {row[0]: row[1:4] for row in theirs if not auto_named(row[0], row[4])}
    named_ours = {row[0]: row[1:4] for row in ours if not auto_named(row[0], row[4])}
    assert named_ours == named_theirs
    auto_theirs = [row[1:4] for row in theirs if auto_named(row[0], row[4])]
    auto_ours = [row[1:4] for row in ours if auto_named(row[0], row[4])]
    # Keras's rescaling preprocesses; ours after it stand for the hard sigmoid's tensor operations
    preprocessing = next(i for i, row in enumerate(auto_ours) if row[0] == "Rescaling")
    operations = [i for i, row in enumerate(auto_ours) if row[0] == "Rescaling" and i != preprocessing]
    squeeze_excites = sum(name.endswith("squeeze_excite_mul") for name in named_theirs)
    assert len(operations) == 2 * squeeze_excites
    assert [row for i, row in enumerate(auto_ours) if i not in operations] == auto_theirs
    return len(theirs)


@pytest.mark.parametrize("example", MOBILENET_V3)
def test_mobilenet_v3_example_equals_keras_layer_for_layer(keras, example):
    model = cnndsl.analyze_file(EXAMPLES / example)
    built = mobilenet_v3(keras, example)
    assert compare_with_keras(model, built) == len(built.layers) == MOBILENET_V3[example][1]  # the input included
    assert (model.total, model.trainable, model.non_trainable) == (
        built.count_params(),
        weights(built.trainable_weights),
        weights(built.non_trainable_weights),
    )
    assert (None, *model.output_shape) == tuple(built.output.shape) == (None, 1000)
    header = (EXAMPLES / example).read_text().split("\ninput ", 1)[0]
    stated = [int(n.replace(",", "")) for n in re.findall(r"params: ([\d,]+)", header)]
    assert stated == [built.count_params(), weights(built.trainable_weights), weights(built.non_trainable_weights)]


@pytest.mark.parametrize("example", MOBILENET_V3)
def test_mobilenet_v3_without_its_top_equals_keras(keras, example):
    text = (EXAMPLES / example).read_text().split("\ngap keepdims\n")[0] + "\n"
    model = cnndsl.analyze(text)
    built = mobilenet_v3(keras, example, include_top=False)
    assert compare_with_keras(model, built) == len(built.layers)
    assert model.total == built.count_params()
    assert (None, *model.output_shape) == tuple(built.output.shape) == (None, None, None, MOBILENET_V3[example][2])


# Emitted code on two different concrete sizes


NUMERIC = """
input ?x?x3
conv 8 3 stride 2 same relu
add(identity; conv 8 1 | multiply(identity; gap keepdims | conv 8 1 sigmoid))
dwconv 3 stride 2 same | bn
maxpool 3 stride 2 same
c: concat(identity; avgpool 3 stride 1 same | crop 1 1 1 1 | zeropad 1)
avgpool 3 stride 2 same | upsample 2
deconv 4 3 stride 2 same
deconv 4 2 stride 2
sepconv 6 3 stride 2 same
gap
dense 5
"""


def run_both(text: str, sizes, keras, torch):
    """The emitted Keras (on None axes) and PyTorch models, weights ported, on each size: outputs."""
    model = cnndsl.analyze(text)
    rng = np.random.default_rng(3)
    keras_model, torch_model = ported_models(model, rng, "unknown")
    assert tuple(keras_model.inputs[0].shape) == (None, *model.input.shape)
    results = []
    for size in sizes:
        x = rng.normal(0.0, 1.0, (2, *size, model.input.shape[-1])).astype("float32")
        [expected], [got] = outputs_of_both(keras_model, torch_model, [x], keras, torch)
        results.append((expected, got))
    return results


@pytest.mark.oracle
def test_emitted_models_agree_on_two_sizes(keras, torch):
    # Odd sizes at the strided average pooling (5x5 and 9x11): there Keras's `same` padding is even
    # on both sides. Where it is not, Keras's torch backend pads by repeating the edge and averages it
    # in, where its TensorFlow and JAX backends (and cnndsl's code, fixed sizes or not) leave it out.
    sizes = [(33, 40), (72, 88)]
    for (expected, got), size in zip(run_both(NUMERIC, sizes, keras, torch), sizes):
        assert expected.shape == got.shape == (2, 5)
        assert np.abs(expected).max() > 1e-3
        assert np.abs(got - expected).max() < 1e-4, size


@pytest.mark.oracle
@pytest.mark.parametrize("example", MOBILENET_V3)
def test_mobilenet_v3_example_emitted_agrees_on_two_sizes(keras, torch, example):
    text = (EXAMPLES / example).read_text().replace("softmax\n", "linear\n")  # logits compare best
    sizes = [(64, 48), (57, 71)]
    for expected, got in run_both(text, sizes, keras, torch):
        assert expected.shape == got.shape == (2, 1000)
        assert np.abs(got - expected).max() / np.abs(expected).max() < 1e-4


def test_the_emitted_keras_input_has_none_axes():
    code = generate(cnndsl.analyze("input ?x?x3\nconv 8 3\n"), "keras")
    assert "keras.Input(shape=(None, None, 3)" in code


# Figures that need the size: unknown with the reason, or refused at the input


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def unknown_file(tmp_path):
    path = tmp_path / "any_size.cnn"
    path.write_text("input ?x?x3\nconv 8 3 stride 2 same relu\ngap\ndense 10\n")
    return str(path)


def test_json_shows_null_where_a_figure_depends_on_the_size(capsys, unknown_file):
    code, out, _ = run(capsys, "summary", "--json", unknown_file)
    report = json.loads(out)
    assert code == 0
    conv, pool, dense = report["layers"]
    assert conv["output_shape"] == [None, None, None, 8] and report["input_shape"] == [None, None, None, 3]
    assert conv["sizes"] == [None, "ceil(h/2)", "ceil(w/2)", 8] and report["input_sizes"] == [[None, "h", "w", 3]]
    assert report["size_conditions"] == [] and report["symbols"].startswith("h is the height of `input_layer`")
    assert (conv["params"], conv["macs"], conv["activations"], conv["activation_bytes"]) == (224, None, None, None)
    assert (dense["macs"], dense["activations"]) == (80, 10)  # after global pooling: known again
    assert (report["total_macs"], report["total_activations"]) == (None, None)
    assert report["memory"]["params_bytes"] == (224 + 90) * 4
    assert report["memory"]["activations_bytes"] is None and report["memory"]["training_bytes"] is None


def test_the_table_and_explain_say_why_a_figure_is_unknown(capsys, unknown_file):
    _, out, _ = run(capsys, "summary", "--all", unknown_file)
    # Keras's None, with the size's expression: a stride 2 `same` conv gives ceil(n/2) (Keras's conv_output_length)
    assert "(None, ceil(h/2), ceil(w/2), 8)" in out
    assert " Sizes: h is the height of `input_layer`, line 1, w its width" in out
    assert "Total MACs: ? (unknown: it depends on the input's axes of unknown size (?x?x3, line 1))" in out
    assert "inference peak: ? (unknown:" in out and " Total params: 314 " in out
    _, out, _ = run(capsys, "explain", unknown_file)
    assert "MACs:        unknown: it depends on the input's axes of unknown size (?x?x3, line 1)" in out
    assert "80 = 8·10" in out or "8·10 = 80" in out


@pytest.mark.parametrize(
    "argv",
    [
        ("flops",),
        ("flops", "--json"),
        ("summary", "--style", "torchinfo"),
        ("explain", "--flops"),
        ("check", "--max-macs", "1M"),
        ("check", "--max-memory", "1GB"),
    ],
)
def test_a_figure_that_needs_every_size_is_refused_at_the_input(capsys, unknown_file, argv):
    code, out, err = run(capsys, *argv, unknown_file)
    assert code == 1
    assert f"{unknown_file}:1:7:" in err and "[E303]" in err and "Traceback" not in err
    assert "hint: give the input a size" in err


def test_a_parameter_budget_is_still_checked(capsys, unknown_file):
    assert run(capsys, "check", "--max-params", "1K", unknown_file)[0] == 0
    code, _, err = run(capsys, "check", "--max-params", "100", unknown_file)
    assert code == 1 and "[E800]" in err


def test_size_needed_is_a_located_error_from_the_api():
    model = cnndsl.analyze("input ?x?x3\nconv 8 3\n")
    with pytest.raises(SizeNeeded) as caught:
        model.require_sizes("this")
    assert caught.value.span.column == 7


# Random networks, some input axes unknown: the Keras twin is the witness


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(net=unknown_size_networks())
def test_random_networks_with_unknown_axes_against_keras(net, keras):
    why = f"\n{net.text}\nKeras:\n{net.keras_source()}"
    layers: list = []
    try:
        built = net.build_keras(keras, record=layers)
    except ValueError as refusal:  # weights that need an unknown axis
        assert "fully-defined" in str(refusal) or "must have a known shape" in str(refusal), why
        with pytest.raises(UnknownSize):
            cnndsl.analyze(net.text)
        return
    try:
        model = cnndsl.analyze(net.text)
    except ShapeProblem as refusal:
        # sizes that agree at a few sizes alone (the one it was made for): Keras builds it, and it
        # runs at that size, but not at another
        assert isinstance(refusal, BranchMismatch) or getattr(refusal, "from_sizes", False), why
        assert "for no size" in refusal.message or "they differ for every size" in refusal.message, why
        known = net.known_shape
        built(keras.ops.zeros((1, *known)))
        other = tuple(n + 3 if a is None else n for a, n in zip(net.input_shape, known))
        with pytest.raises(Exception):  # noqa: B017 - whatever Keras (or torch below it) raises
            built(keras.ops.zeros((1, *other)))
        return
    expected = [(type(layer).__name__, tuple(layer.output.shape)[1:], layer.count_params()) for layer in layers]
    assert our_rows(model) == expected, why
    assert model.total == built.count_params(), why
    known = cnndsl.analyze(net.text.replace(net.text.split("\n", 1)[0], "input " + "x".join(map(str, net.known_shape))))
    assert model.total == known.total, why  # the size never changes a weight


@pytest.mark.oracle
def test_a_reshape_with_an_unknown_axis_runs_in_pytorch_at_three_sizes(keras, torch):
    # issue 25: PyTorch's reshape(-1, None, 8) was a TypeError; the -1 axis is now worked out per batch
    text = "input ?x8x3\nconv 4 1\nreshape -1 8\nconv1d 2 1\nreshape 2 -1\n"
    sizes = [(4, 8), (5, 8), (9, 8)]
    for (expected, got), (n, _) in zip(run_both(text, sizes, keras, torch), sizes):
        # Keras's Reshape((-1, 8)) of n x 8 x 4 values: (n * 4, 8); conv1d 2: (n * 4, 2); then (2, n * 4)
        assert expected.shape == (2, 2, n * 4) and got.shape == expected.shape
        assert np.abs(expected).max() > 1e-3 and np.abs(got - expected).max() < 1e-5
