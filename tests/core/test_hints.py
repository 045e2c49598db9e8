"""Hints that a new user's first mistakes met pointing the wrong way: each rendered in full."""

import pytest
from test_fixes import apply

from cnndsl import CnnError, Source, analyze
from cnndsl.core.errors import render


def rendered(text: str) -> list[str]:
    with pytest.raises(CnnError) as caught:
        analyze(text, "net.cnn")
    return render(caught.value, Source.of(text, "net.cnn")).splitlines()


def fixed(text: str) -> str:
    """The text with the error's single proposed edit applied."""
    with pytest.raises(CnnError) as caught:
        analyze(text)
    (fix,) = caught.value.fixes(Source.of(text))
    return apply(text, fix)


def test_branches_that_differ_by_a_valid_border_are_told_to_use_same():
    # 64 -> 31 -> 15 with stride 2; a valid 3x3 conv makes the branch 13: `same` is the fix, not a strided 1x1
    text = "input 64x64x3 | conv 32 3 stride 2 relu | conv 64 3 stride 2 relu | add(identity; conv 64 3 relu)\n"
    assert rendered(text) == [
        "net.cnn:1:83: this branch gives 13x13x64, but the first branch gives 15x15x64 [E301]",
        "  |",
        "1 | " + text.rstrip(),
        "  | " + " " * 82 + "^" * 14,
        "hint: branches of `add` must have equal shapes, or 1 where they differ; the sizes 15x15 and 13x13 "
        "differ by the border a conv or pool without padding drops; write `same` on the branch's convs "
        "(and pools) to keep the size",
    ]
    assert analyze(text.replace("conv 64 3 relu)", "conv 64 3 same relu)")).output_shape == (15, 15, 64)


def test_branches_that_differ_by_a_stride_keep_the_strided_1x1_hint():
    text = "input 28x28x8\nadd(identity; conv 8 1 stride 2)\n"
    assert rendered(text)[-1] == (
        "hint: branches of `add` must have equal shapes, or 1 where they differ; "
        "a 1x1 conv (with a stride) can match them"
    )


@pytest.mark.parametrize(
    "text, column, repaired",
    [
        ("input 8x8x3\nBatchNormalization()\n", 1, "input 8x8x3\nbn\n"),
        ("input 8x8x3\nadd(identity; BatchNormalization())\n", 15, "input 8x8x3\nadd(identity; bn)\n"),
    ],
)
def test_a_keras_class_called_like_a_block_names_our_layer(text, column, repaired):
    lines = rendered(text)
    assert lines[0] == f"net.cnn:2:{column}: no block named `BatchNormalization` [E500]"
    assert lines[3] == "  | " + " " * (column - 1) + "^" * len("BatchNormalization")
    assert lines[4] == "hint: this is Keras's `BatchNormalization`; cnndsl writes it `bn`"
    assert fixed(text) == repaired
    assert analyze(repaired).output_shape == (8, 8, 3)


def test_a_keras_class_with_arguments_names_our_layer_and_its_usage():
    assert rendered("input 8x8x3\nConv2D(32, 3)\n") == [
        "net.cnn:2:1: no block named `Conv2D` [E500]",
        "  |",
        "2 | Conv2D(32, 3)",
        "  | ^^^^^^",
        "hint: this is Keras's `Conv2D`; cnndsl writes it `conv 32 3`",
    ]
    assert fixed("input 8x8x3\nConv2D(32, 3)\n") == "input 8x8x3\nconv 32 3\n"
    # Keras's momentum is not PyTorch's, nor always ours: no line is proposed, only the usage
    assert rendered("input 8x8x3\nBatchNormalization(momentum=0.9)\n")[4] == (
        "hint: this is Keras's `BatchNormalization`; cnndsl writes it `bn`, its arguments after it without "
        "parentheses or commas: `bn [noscale] [nocenter] [eps E] [momentum M]`"
    )


def test_a_block_of_ours_with_a_keras_name_is_still_called():
    text = "def BatchNormalization():\n    bn\ninput 8x8x3\nBatchNormalization()\n"
    assert analyze(text).output_shape == (8, 8, 3)


def test_a_two_axis_kernel_on_an_image_without_channels_asks_for_the_channel_axis():
    # the MNIST habit: 28x28 is read as 28 steps of 28 channels, where 3x3 cannot apply
    assert rendered("input 28x28\nconv 32 3x3\n") == [
        "net.cnn:2:9: `kernel` 3x3 has 2 axes but the input has 1 spatial axis here [E300]",
        "  |",
        "2 | conv 32 3x3",
        "  |         ^^^",
        "hint: channels come last, so 28x28 is 28 steps of 28 channels; for a one-channel image give "
        "`input` a channel axis: `input 28x28x1`",
    ]
    assert rendered("input 28x28\nmaxpool 2x2\n")[-1].endswith("`input 28x28x1`")
    assert analyze("input 28x28x1\nconv 32 3x3\n").output_shape == (26, 26, 32)
    # a 3-axis kernel on a 2-D map is still told the plain rule
    assert rendered("input 28x28x1\nconv 32 3x3x3\n")[-1] == "hint: write it as 3x3 or as one number"


def test_a_channels_first_input_is_named_in_the_error_it_leads_to():
    text = "input 3x224x224\nconv 64 3 same relu | maxpool 2\nconv 128 3 same relu | maxpool 2\n"
    assert rendered(text) == [
        "net.cnn:3:32: pool size 2x2 is larger than its 1x112 input [E300]",
        "  |",
        "3 | conv 128 3 same relu | maxpool 2",
        "  |                                ^",
        "hint: input is 1x112 here; use `same` or a pool size of at most 1; "
        "channels come last here: `input 224x224x3`, not `input 3x224x224`",
    ]
    assert rendered("input 1x28x28\nconv 8 3 | conv 8 3\n")[-1].endswith(
        "channels come last here: `input 28x28x1`, not `input 1x28x28`"
    )
    # a genuinely small first axis of a channels-last input is left alone
    assert "channels come last" not in rendered("input 4x4x3\nconv 8 5x5\n")[-1]


@pytest.mark.parametrize(
    "text, column, word",
    [
        ("input 8x8x3\nAdd(identity; identity)\n", 13, "add"),
        ("input 8x8x3\nConcatenate(identity; conv 3 1)\n", 21, "concatenate"),
    ],
)
def test_a_capitalised_merge_is_told_to_be_lower_case(text, column, word):
    name = text.split("\n")[1].split("(")[0]
    assert rendered(text) == [
        f"net.cnn:2:{column}: unexpected `;` [E100]",
        "  |",
        "2 | " + text.split("\n")[1],
        "  | " + " " * (column - 1) + "^",
        f"hint: merges are written lower-case: `{word}(...; ...)` (`{name}` is Keras's class)",
    ]
    assert analyze(fixed(text)).output_shape[:2] == (8, 8)


def test_a_size_written_with_spaces_is_told_to_be_one_word():
    text = "input 8x8x1\nconv 4 3 x 3\n"
    assert rendered(text) == [
        "net.cnn:2:10: `conv` has no option `x` [E201]",
        "  |",
        "2 | conv 4 3 x 3",
        "  |          ^",
        "hint: a size is one word, without spaces: `3x3`",
    ]
    assert fixed(text) == "input 8x8x1\nconv 4 3x3\n"
    assert analyze(fixed(text)).output_shape == (6, 6, 4)


def test_an_input_size_written_with_spaces_is_proposed_whole():
    text = "input 32 x 32 x 3\nconv 8 3\n"
    assert rendered(text)[-1] == "hint: a size is one word, without spaces: `32x32x3`"
    assert fixed(text) == "input 32x32x3\nconv 8 3\n"
    # 32·32·3 in, a 3x3 convolution with 8 filters: 30x30x8, as Keras's Conv2D gives
    assert analyze(fixed(text)).output_shape == (30, 30, 8)


@pytest.mark.parametrize("gap", ["", "# the body\n\n"])
def test_a_def_body_without_indentation_is_told_to_indent(gap):
    text = f"def f(c):\n{gap}conv c 3\ninput 8x8x3 | f(3)\n"
    line = 2 + gap.count("\n")
    assert rendered(text) == [
        f"net.cnn:{line}:1: unexpected `conv` [E100]",
        "  |",
        f"{line} | conv c 3",
        "  | ^^^^",
        "hint: the body of a `def` is indented under it (e.g. by 4 spaces), or written on the same line after the `:`",
    ]
    assert analyze(text.replace("\nconv", "\n    conv")).output_shape == (6, 6, 3)
