"""Lines written as PyTorch or Keras code get a located error whose hint (and fix) is the cnndsl line;
the line proposed has the framework layer's own parameter count and output shape."""

from __future__ import annotations

import pytest
from test_fixes import apply

from cnndsl import CnnError, Source, analyze, diagnose
from cnndsl.core.errors import render
from cnndsl.language.foreign import read_call


def error_of(text: str) -> CnnError:
    with pytest.raises(CnnError) as caught:
        analyze(text, "net.cnn")
    return caught.value


def rendered(text: str) -> list[str]:
    return render(error_of(text), Source.of(text, "net.cnn")).splitlines()


def fixed(text: str) -> str:
    (fix,) = error_of(text).fixes(Source.of(text))
    return apply(text, fix)


def test_a_pytorch_line_is_located_and_its_cnndsl_line_is_the_fix():
    text = "input 32x32x3\nnn.Conv2d(3, 64, 3, padding=1)\n"
    assert rendered(text) == [
        "net.cnn:2:1: `nn.Conv2d(...)` is PyTorch code, not cnndsl [E100]",
        "  |",
        "2 | nn.Conv2d(3, 64, 3, padding=1)",
        "  | " + "^" * len("nn.Conv2d(3, 64, 3, padding=1)"),
        "hint: this is PyTorch's `nn.Conv2d`; cnndsl writes it `conv 64 3 pad 1` (`in_channels` comes from the input)",
    ]
    assert fixed(text) == "input 32x32x3\nconv 64 3 pad 1\n"


@pytest.mark.parametrize(
    "line, ours",
    [
        ("nn.ReLU()", "relu"),
        ("nn.ReLU(inplace=True),", "relu"),  # copied out of an nn.Sequential, with its comma
        ("nn.Linear(400, 120)", "dense 120"),
        ("torch.nn.MaxPool2d(2, 2)", "maxpool 2 stride 2"),
        ("nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)", "maxpool 3 stride 2 pad 1 ceil"),
        ("nn.Conv2d(16, 32, kernel_size=3, stride=2, bias=False)", "conv 32 3 stride 2 nobias"),
        ("nn.BatchNorm2d(64, eps=1e-3)", "bn eps 0.001"),
        ("nn.AdaptiveAvgPool2d((1, 1))", "adaptivepool 1x1"),
        ("nn.Dropout(p=0.5)", "dropout 0.5"),
        ("nn.Softmax(dim=1)", "softmax"),
        ("layers.Dense(10)", "dense 10"),
        ("layers.Dense(10)  # the head", "dense 10"),
        ("keras.layers.Conv2D(32, (3, 3), activation='relu')", "conv 32 3x3 relu"),
        ("tf.keras.layers.MaxPooling2D(pool_size=(2, 2))", "maxpool 2x2"),
        ('x = layers.Conv2D(64, 3, padding="same", name="stem")(x)', "stem: conv 64 3 same"),
        ("layers.Activation('relu')", "relu"),
        ("layers.GlobalAveragePooling2D()", "gap"),
        ("keras.Input(shape=(32, 32, 3))", "input 32x32x3"),
    ],
)
def test_framework_lines_get_the_line_to_write(line, ours):
    text = f"input 32x32x3\nconv 8 3 same\n{line}\n"
    error = error_of(text)
    assert (error.span.line, error.span.column, error.code) == (3, 1, "E100"), error
    assert f"cnndsl writes it `{ours}`" in error.hint
    assert fixed(text).split("\n")[2] == ours + line[len(line.split("#")[0].rstrip()) :]  # a comment stays


def test_a_class_called_like_a_block_gets_its_line_too():
    # `Conv2d(3, 8, 3)` parses (as a block call); the error is the unknown block, the hint PyTorch's
    text = "input 32x32x3\nConv2d(3, 8, 3)\n"
    assert rendered(text) == [
        "net.cnn:2:1: no block named `Conv2d` [E500]",
        "  |",
        "2 | Conv2d(3, 8, 3)",
        "  | ^^^^^^",
        "hint: this is PyTorch's `Conv2d`; cnndsl writes it `conv 8 3` (`in_channels` comes from the input)",
    ]
    assert fixed(text) == "input 32x32x3\nconv 8 3\n"
    assert fixed("input 32x32x3\nDense(10)\n") == "input 32x32x3\ndense 10\n"
    assert fixed("input 32x32x3\nMaxPooling2D(2)\n") == "input 32x32x3\nmaxpool 2\n"


def test_no_line_is_proposed_where_the_meaning_differs():
    # PyTorch's momentum weighs the new batch, Keras's the old average: only the usage is given
    error = error_of("input 8x8x3\nnn.BatchNorm2d(3, momentum=0.1)\n")
    assert error.hint == (
        "this is PyTorch's `nn.BatchNorm2d`; cnndsl writes it `bn`, its arguments after it without "
        "parentheses or commas: `bn [noscale] [nocenter] [eps E] [momentum M]`"
    )
    assert not error.fixes(Source.of("input 8x8x3\nnn.BatchNorm2d(3, momentum=0.1)\n"))
    assert read_call("nn.Sequential(nn.Conv2d(3, 8, 3))") is None
    assert read_call("foo(3)") is None
    assert read_call("nn.Conv2d(" + "(" * 500) is None  # bounded: a long line is not read


def test_every_framework_line_of_a_file_is_reported():
    text = "input 32x32x3\nnn.Conv2d(3, 8, 3)\nnn.ReLU()\nlayers.Dense(10)\n"
    found = diagnose(text, "net.cnn").errors
    assert [(e.span.line, e.code) for e in found] == [(2, "E100"), (3, "E100"), (4, "E100")]


def test_padding_as_a_number_is_pytorchs_pad():
    text = "input 32x32x3\nconv 8 3 padding=1\n"
    assert rendered(text) == [
        "net.cnn:2:18: `padding` must be one of `valid`, `same`, `causal`, not `1` [E201]",
        "  |",
        "2 | conv 8 3 padding=1",
        "  |                  ^",
        "hint: PyTorch's `padding=1` (zeros on each side) is `pad 1` here",
    ]
    assert fixed(text) == "input 32x32x3\nconv 8 3 pad 1\n"
    assert fixed("input 32x32x3\nmaxpool 3 stride 2 padding=1\n") == "input 32x32x3\nmaxpool 3 stride 2 pad 1\n"
    assert fixed("input 32x32x3\navgpool 3 stride 1 padding=1\n") == "input 32x32x3\navgpool 3 stride 1 pad 1\n"
    assert error_of("input 32x32x3\nsepconv 8 3 padding=1\n").hint == (
        "PyTorch's `padding=1` adds zeros: put `zeropad 1` before it"
    )


def test_a_quoted_option_word_is_written_bare():
    text = "input 32x32x3\nconv 8 3 padding='same'\n"
    error = error_of(text)
    assert (error.span.line, error.span.column) == (2, 18)
    assert error.hint == "cnndsl has no quoted text: Keras's `padding='same'` is `same` here"
    assert fixed(text) == "input 32x32x3\nconv 8 3 same\n"
    assert fixed('input 32x32x3\nconv 8 3 activation="relu"\n') == "input 32x32x3\nconv 8 3 relu\n"


def test_each_activation_has_its_own_usage_and_the_pytorch_words_are_answered():
    assert error_of("input 8x8x3\ngelu 3\n").hint == "usage: gelu"
    assert error_of("input 8x8x3\nsigmoid foo\n").hint == "usage: sigmoid"
    assert error_of("input 8x8x3\nlinear 10\n").hint == (
        "`linear` is the identity activation here; PyTorch's `nn.Linear` is `dense 10`"
    )
    assert error_of("input 8x8x3\nsoftmax dense 10\n").hint == (
        "`dense` is a layer: fuse the activation by writing it after that layer's arguments "
        "(`dense ... softmax`), or part the two with `|` (`softmax | dense ...`)"
    )


@pytest.mark.parametrize(
    "text, line, message, replaced, shape",
    [
        # a tab after space-indented lines; fixed, two valid 3x3 convs take 8x8 to 4x4
        (
            "def f(c):\n    conv c 3\n\tconv c 3\ninput 8x8x3\nf(4)\n",
            3,
            "this line is indented with a tab, line 2 with spaces",
            "    ",
            (4, 4, 4),
        ),
        # spaces after a tab-indented line: 8 spaces are the tab's width
        (
            "def f(c):\n\tconv c 3\n    relu\ninput 8x8x3\nf(4)\n",
            3,
            "this line is indented with spaces, line 2 with a tab",
            " " * 8,
            (6, 6, 4),
        ),
    ],
)
def test_a_tab_error_says_tab_shows_it_and_fixes_it(text, line, message, replaced, shape):
    error = error_of(text)
    assert (error.span.line, error.span.column, error.message) == (line, 1, message)
    assert error.hint == "a tab counts as 8 spaces, so the two lines do not line up; indent with spaces only"
    shown = render(error, Source.of(text, "net.cnn")).splitlines()
    assert shown[2] == f"{line} | " + text.split("\n")[line - 1].replace("\t", "→")
    repaired = fixed(text)
    assert repaired.split("\n")[line - 1] == replaced + text.split("\n")[line - 1].lstrip()
    assert analyze(repaired).output_shape == shape


# The framework layer built by the framework itself, and the cnndsl line the hint proposes: the same
# parameter count and output shape (channels last in cnndsl, first in PyTorch).
TORCH_LINES = [
    ("input 32x32x3", "nn.Conv2d(3, 64, 3, padding=1)"),
    ("input 32x32x3", "nn.Conv2d(3, 16, kernel_size=5, stride=2, bias=False)"),
    ("input 32x32x3", "nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)"),
    ("input 8x8x16", "nn.BatchNorm2d(16, eps=1e-3)"),
    ("input 7x7x16", "nn.AdaptiveAvgPool2d((1, 1))"),
    ("input 400", "nn.Linear(400, 120)"),
    ("input 8x8x4", "nn.Upsample(scale_factor=2, mode='nearest')"),
]


@pytest.mark.oracle
@pytest.mark.parametrize("given, line", TORCH_LINES)
def test_the_proposed_line_has_pytorchs_numbers(torch, given, line):
    shape = tuple(int(n) for n in given.split()[1].split("x"))
    module = eval(line, {"nn": torch.nn})  # the test's own literal, not a user's text
    channels_first = (shape[-1], *shape[:-1]) if len(shape) > 1 else shape
    out = module.eval()(torch.zeros(1, *channels_first))
    ours = read_call(line).line
    model = analyze(f"defaults pytorch\n{given}\n{ours}\n")
    expected = tuple(out.shape[1:])
    if len(expected) > 1:
        expected = (*expected[1:], expected[0])
    assert model.output_shape == expected, ours
    assert model.total == sum(p.numel() for p in module.parameters()) + sum(b.numel() for b in module.buffers() if b.dim()), ours


KERAS_LINES = [
    ("input 32x32x3", "layers.Conv2D(32, (3, 3), strides=2, padding='same', activation='relu')"),
    ("input 32x32x3", "layers.SeparableConv2D(16, 3, depth_multiplier=2, use_bias=False)"),
    ("input 32x32x3", "layers.DepthwiseConv2D(3, padding='same')"),
    ("input 16x16x8", "layers.MaxPooling2D(pool_size=3, strides=2, padding='same')"),
    ("input 120", "layers.Dense(84, activation='relu')"),
    ("input 8x8x8", "layers.BatchNormalization(epsilon=1e-5)"),
]


@pytest.mark.oracle
@pytest.mark.parametrize("given, line", KERAS_LINES)
def test_the_proposed_line_has_keras_numbers(keras, given, line):
    shape = tuple(int(n) for n in given.split()[1].split("x"))
    layer = eval(line, {"layers": keras.layers})  # the test's own literal, not a user's text
    inputs = keras.Input(shape=shape)
    built = keras.Model(inputs, layer(inputs))
    ours = read_call(line).line
    model = analyze(f"{given}\n{ours}\n")
    assert model.output_shape == tuple(built.output.shape[1:]), ours
    assert model.total == built.count_params(), ours
