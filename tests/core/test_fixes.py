"""Hints that propose a concrete edit carry it as data; applying it repairs the file."""

import pytest

from cnndsl import CnnError, Source, analyze
from cnndsl.core.errors import Fix


def apply(text: str, fix: Fix) -> str:
    lines = text.split("\n")
    span = fix.span
    assert span.line == span.end_line
    line = lines[span.line - 1]
    lines[span.line - 1] = line[: span.column - 1] + fix.text + line[span.end_column - 1 :]
    return "\n".join(lines)


def fixes_of(text: str):
    with pytest.raises(CnnError) as caught:
        analyze(text)
    return caught.value.fixes(Source.of(text))


@pytest.mark.parametrize(
    "text, titles, repaired_shape",
    [
        ("input 8x8x1\ncovn 4 3\n", ["Change to `conv`"], (6, 6, 4)),
        ("input 8x8x1\nconv 4 3 smae\n", ["Change to `same`"], (8, 8, 4)),
        ("input 8x8x1\nconv 4 3 stide=2\n", ["Change to `stride`"], (3, 3, 4)),
        ("input 8x8x1\nConv 4 3\n", ["Change to `conv`"], (6, 6, 4)),
        # a kernel larger than its input: `same` keeps it, or the largest kernel that fits
        ("input 4x4x1\nconv 8 7x7 relu\n", ["Use `same` padding", "Use a kernel of 4x4"], [(4, 4, 8), (1, 1, 8)]),
        ("input 4x4x1\nconv 8 7 valid\n", ["Use `same` padding", "Use a kernel of 4x4"], [(4, 4, 8), (1, 1, 8)]),
        ("input 5x3x1\nconv 8 4x4\n", ["Use `same` padding", "Use a kernel of 4x3"], [(5, 3, 8), (2, 1, 8)]),
        ("input 8x8x2\nmaxpool 9\n", ["Use `same` padding", "Use a pool size of 8x8"], [(1, 1, 2), (1, 1, 2)]),
        # a 3x3 kernel dilated 3 spans 7; on 5x5 a dilation of 2 (span 5) fits
        (
            "input 5x5x1\nconv 8 3 dilation 3\n",
            ["Use `same` padding", "Use dilation 2"],
            [(5, 5, 8), (1, 1, 8)],
        ),
        ("def b(c, stride=1):\n  conv c 3\ninput 8x8x1\nb(4, strid=2)\n", ["Change to `stride`"], None),
        # Keras's names for layers and arguments
        ("input 8x8x3\nBatchNormalization\n", ["Change to `bn`"], (8, 8, 3)),
        ("input 8x8x3\nMaxPooling2D 2\n", ["Change to `maxpool`"], (4, 4, 3)),
        ("input 8x8x1\nconv 4 3 strides 2\n", ["Change to `stride`"], (3, 3, 4)),
        ("input 8x8x1\nconv 4 3 strides=2\n", ["Change to `stride`"], (3, 3, 4)),
        # characters pasted from documents
        ("input 8x8x1\nconv 4 3×3\n", ["Replace `×` with `x`"], (6, 6, 4)),
        ("input 8x8x1\nreshape 4x\u22121\n", ["Replace `−` with `-`"], (4, 16)),
        ("input 8x8x1\nconv 4 3\u00a0same\n", ["Replace U+00A0 (NO-BREAK SPACE) with ` `"], (8, 8, 4)),
        ("input 8x8x1\nconv 4 3 \u200bsame\n", ["Delete U+200B (ZERO WIDTH SPACE)"], (8, 8, 4)),
    ],
)
def test_applying_a_fix_repairs_the_file(text, titles, repaired_shape):
    fixes = fixes_of(text)
    assert [fix.title for fix in fixes] == titles
    shapes = repaired_shape if isinstance(repaired_shape, list) else [repaired_shape] * len(fixes)
    for fix, shape in zip(fixes, shapes):
        if shape is None:  # the repaired file has other business (here: b's stride is unused)
            analyze(apply(text, fix))
            continue
        assert analyze(apply(text, fix)).output_shape == shape


def test_a_word_that_came_through_a_block_parameter_gets_no_edit():
    # `smae` is written at the call; the error points at `p` inside the block
    text = "def b(p):\n  conv 8 3 p\ninput 8x8x1\nb(smae)\n"
    assert "did you mean `same`" in str(fixes_of_error(text))
    assert fixes_of(text) == ()


def fixes_of_error(text):
    with pytest.raises(CnnError) as caught:
        analyze(text)
    return caught.value


def test_a_hint_is_still_plain_text():
    error = fixes_of_error("input 8x8x1\ncovn 4 3\n")
    assert error.hint == "did you mean `conv`?"
    assert isinstance(error.hint, str)
