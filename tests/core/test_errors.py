"""Every mistake is a CnnError with a span; random text never crashes cnndsl."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.core.errors import (
    BadArgument,
    BlockProblem,
    BranchMismatch,
    CnnError,
    DuplicateName,
    ShapeProblem,
    StructureProblem,
    SyntaxProblem,
    UnknownLayer,
    render,
)
from cnndsl.core.source import Source
from cnndsl.emit import generate


def error_of(text: str) -> CnnError:
    with pytest.raises(CnnError) as caught:
        cnndsl.analyze(text, "net.cnn")
    return caught.value


def chain_of_blocks(depth: int) -> str:
    """`b0` calls `b1` ... calls `b{depth}`, which is a relu; then the network calls `b0`."""
    defs = "".join(f"def b{i}():\n    b{i + 1}()\n" for i in range(depth))
    return defs + f"def b{depth}():\n    relu\ninput 8x8x3\nb0()\n"


@pytest.mark.parametrize(
    "text, kind, line, column, words",
    [
        ("input 4x4x3\nconv 8 5x5", ShapeProblem, 2, 8, "larger than its 4x4 input"),
        ("input 28x28x1\nconvv 8 3", UnknownLayer, 2, 1, "unknown layer `convv`"),
        ("input 28x28x1\nconv 8 3 strid 2", BadArgument, 2, 10, "no option `strid`"),
        ("input 28x28x1\nconv 8 3 stride", BadArgument, 2, 10, "`stride` needs a value"),
        ("input 28x28x1\ndropout 2", BadArgument, 2, 9, "`rate` must be"),
        ("conv 8 3", StructureProblem, 1, 1, "must start with `input`"),
        ("input 8x8x1\ninput 8x8x1", StructureProblem, 1, 1, "input is never used"),
        ("input 8x8x1\nadd(identity; input 8x8x1)", StructureProblem, 2, 15, "`input` must come first"),
        ("input 28x28x1\nconv 8 3 |", SyntaxProblem, 2, 11, "unexpected end of line"),
        ("input 28x28x1\nconv 8 3 $", SyntaxProblem, 2, 10, "unexpected character `$`"),
        (
            "input 28x28x1\nadd(conv 8 3; conv 8 1)",
            BranchMismatch,
            2,
            15,
            "this branch gives 28x28x8, but the first branch gives 26x26x8",
        ),
        ("input 8x8x4\nconcat(conv 8 3 same; maxpool 2)", BranchMismatch, 2, 23, "4x4x4"),
        ("input 8x8x4\nmultiply(identity; conv 3 1)", BranchMismatch, 2, 20, "8x8x3"),
        ("input 8x8x4\nblock(3)", BlockProblem, 2, 1, "no block named `block`"),
        ("def b(c):\n    conv c 3\ninput 8x8x4\nb(3, 4)", BlockProblem, 4, 6, "takes 1 argument, but 2 were given"),
        ("def b(c):\n    conv c 3\ninput 8x8x4\nb()", BlockProblem, 4, 1, "needs a value for `c`"),
        ("def b(c):\n    conv c 3\ninput 8x8x4\nb(d=3)", BlockProblem, 4, 3, "no parameter `d`"),
        ("def a(c):\n    b(c)\ndef b(c):\n    a(c)\ninput 8x8x4\na(3)", BlockProblem, 4, 5, "calls itself"),
        ("input 8x8x4\nx: conv 4 1\nx: conv 4 1", DuplicateName, 3, 1, "already named `x`"),
        ("input 8x8x4\nconv 4 1 | relu | dense 3 | conv 4 1", ShapeProblem, 2, 29, "flat vector"),
        ("def b(c):\n    conv c 3\ninput 8x8x4\nb(0)", BadArgument, 2, 10, "positive whole number"),
        ("input 8x8x4\n(conv 4 1) * -1", BadArgument, 2, 14, "repeat count"),
        ("input 8x8x4\nconv 4 1 * 2", BadArgument, 2, 8, "multiplies two numbers"),
        # Nesting past the bounds that keep parsing inside Python's recursion limit
        ("input 8x8x3\n" + "add(identity; " * 300 + "relu" + ")" * 300, SyntaxProblem, 2, 14 * 50 + 4, "nest more"),
        ("input 8x8x3\n" + "(" * 2000 + "relu" + ")" * 2000, SyntaxProblem, 2, 51, "nest more than 50"),
        ("input 8\ndense " + "+".join(["1"] * 1000), SyntaxProblem, 2, 2 * 100 + 8, "more than 100 operators"),
        ("input 8\ndef b(c):\n    dense c\nb(" + "-" * 150 + "1)", SyntaxProblem, 4, 103, "more than 100 operators"),
        (chain_of_blocks(1500), BlockProblem, 100, 5, "more than 50 deep"),
    ],
)
def test_errors_point_at_the_cause(text, kind, line, column, words):
    error = error_of(text)
    assert isinstance(error, kind), error
    assert (error.span.line, error.span.column) == (line, column), error
    assert words in error.message


@pytest.mark.parametrize(
    "text, line, column, words, hint",
    [
        ("input 8x8x1\nadd(identity;\n relu\n", 2, 4, "`(` is never closed", "add the `)`"),
        ("input 8x8x1\nconv 8 3 \\", 2, 10, "ends after a `\\`", "continues a line"),
        ("input 8x8x1\nconv 8 3\u200b", 2, 9, "U+200B (ZERO WIDTH SPACE)", "delete it"),
        ("input 8x8x1\nconv\u00a08 3", 2, 5, "U+00A0 (NO-BREAK SPACE)", "plain space"),
        ("def f(c):\n    dense c/3\ninput 8\nf(8)", 2, 11, "not `2.66667`", "`//` rounds down"),
        ("input 10x3\nzeropad 1 2 3", 2, 9, "takes 1 or 2 numbers, not 3", "zeropad 1"),
        ("input 8x8x8x3\ndwconv 3", 2, 1, "volume", "Keras has no 3-D `dwconv`"),
        ("input 8x8x8x3\nsepconv 8 3", 2, 1, "volume", "Keras has no 3-D `sepconv`"),
        # (3 - 1) * 3 + 1 = 7 fits in 8, (3 - 1) * 4 + 1 = 9 does not
        ("input 8x8x3\nconv 8 3 dilation 5", 2, 8, "spans 11x11", "a dilation of at most 3"),
        # Habits from Keras and Python, met with how cnndsl writes the same thing
        ("input (8, 8, 3)", 1, 1, "`input` is a layer, not a block", "without parentheses or commas"),
        ("input 8x8x3\nconv(8, 3)", 2, 1, "`conv` is a layer, not a block", "`conv FILTERS KERNEL"),
        ("input 8x8x3\nconv 8 3 use_bias=0", 2, 10, "no option `use_bias`", "write `nobias`"),
        ("input 8x8x3\nconv 8 3 strides 2", 2, 10, "no option `strides`", "`stride 2`"),
        ("input 8x8x3\nconv 8 3 kernel 3", 2, 10, "no option `kernel`", "given by its place"),
        ("input 8x8x3\nBatchNormalization", 2, 1, "unknown layer", "cnndsl writes this layer `bn`"),
        ("input 8x8x3\nmax_pooling2d 2", 2, 1, "unknown layer", "cnndsl writes this layer `maxpool`"),
        ("input 8x8x3\nActivation relu", 2, 1, "unknown layer", "by its own name"),
        ("input 8x8x3\nConv2DTranspose 8 3", 2, 1, "unknown layer", "cnndsl writes this layer `deconv`"),
        ("input 8x8x3\nconv 8 3 Relu", 2, 10, "no option `Relu`", "`relu`? names are case-sensitive"),
        ("input 8x8x3\nconv 8 3 SAME", 2, 10, "no option `SAME`", "`same`? names are case-sensitive"),
        ("input 8x8x3\nconv 8 3 same * 2", 2, 10, "`same` is not a number", "`(conv 8 3 same) * 2`"),
        ("input 8x8x3\nadd(identity, relu)", 2, 13, "unexpected `,`", "branches by `;`"),
        ("input 8x8x3\nrelu | (conv 8 3) (relu)", 2, 19, "unexpected `(`", "one layer argument after a space"),
        ("def g(a, b):\n    conv a b\ninput 8x8x3\ng (4, 1)", 4, 5, "unexpected `,`", "without a space: `g(...)`"),
        ("input 32\u00d732\u00d73", 1, 9, "`\u00d7`", "the letter x"),
        ("input 8x8x3\nconv 8 3 \u2013stride 2", 2, 10, "`\u2013`", "a plain `-`"),
        ("input 8x8x3\nconv 8 3 \u201csame\u201d", 2, 10, "`\u201c`", "no quoted text"),
        ("def b(c):\n\tconv c 3\n    relu\ninput 8x8x3\nb(4)", 3, 1, "indented with spaces, line 2 with a tab", "a tab counts as 8"),
    ],
)
def test_errors_say_what_to_do(text, line, column, words, hint):
    error = error_of(text)
    assert "signed_number" not in (error.hint or ""), error
    assert (error.span.line, error.span.column) == (line, column), error
    assert words in error.message and hint in error.hint, error


def test_render_shows_location_source_caret_and_hint():
    text = "input 4x4x3\nconv 8 5x5\n"
    error = error_of(text)
    assert render(error, Source.of(text, "net.cnn")).splitlines() == [
        "net.cnn:2:8: kernel 5x5 is larger than its 4x4 input [E300]",
        "  |",
        "2 | conv 8 5x5",
        "  |        ^^^",
        "hint: input is 4x4 here; use `same` or a kernel of at most 4",
    ]


def test_errors_inside_blocks_point_into_the_block_body():
    text = "def b(k):\n    conv 4 k\ninput 4x4x3\nb(3)\nb(3)\n"
    error = error_of(text)
    assert (error.span.line, error.span.column) == (2, 12)
    assert "larger than" in error.message
    assert [(name, span.line, span.column) for name, span in error.called_from] == [("b", 5, 1)]


def test_an_error_in_a_nested_block_shows_each_call_innermost_first():
    text = "def down(c):\n    conv c 5x5 | pool 2\ndef stage(c):\n    down(c) | down(c*2)\ninput 12x12x3\nstage(8)\n"
    error = error_of(text)
    assert render(error, Source.of(text, "net.cnn")).splitlines() == [
        "net.cnn:2:12: kernel 5x5 is larger than its 4x4 input [E300]",
        "  |",
        "2 |     conv c 5x5 | pool 2",
        "  |            ^^^",
        "hint: input is 4x4 here; use `same` or a kernel of at most 4",
        "net.cnn:4:15: note: in block `down`, called here",
        "  |",
        "4 |     down(c) | down(c*2)",
        "  |               ^^^^^^^^^",
        "net.cnn:6:1: note: in block `stage`, called here",
        "  |",
        "6 | stage(8)",
        "  | ^^^^^^^^",
    ]


def test_a_block_called_before_any_input_is_pointed_at_the_call():
    error = error_of("def f(c):\n    conv c 3\nf(8)\ninput 8x8x1\n")
    assert isinstance(error, StructureProblem) and "must start with `input`" in error.message
    assert (error.span.line, error.span.column, error.called_from) == (3, 1, ())


def test_an_argument_error_at_the_call_needs_no_note():
    error = error_of("def b(c):\n    conv c 3\ninput 8x8x4\nb(3, 4)")
    assert error.called_from == ()


TOKENS = [
    "input",
    "conv",
    "dense",
    "pool",
    "maxpool",
    "avgpool",
    "gap",
    "bn",
    "relu",
    "dropout",
    "flatten",
    "sepconv",
    "dwconv",
    "deconv",
    "zeropad",
    "reshape",
    "upsample",
    "add",
    "concat",
    "multiply",
    "residual",
    "identity",
    "def",
    "b",
    "c",
    "stride",
    "same",
    "valid",
    "pad",
    "groups",
    "mult",
    "nobias",
    "noscale",
    "0",
    "1",
    "2",
    "3",
    "8",
    "16",
    "32x32x3",
    "3x3",
    "4x-1",
    "0.5",
    "1e-3",
    "|",
    ";",
    "(",
    ")",
    ",",
    ":",
    "=",
    "*",
    "/",
    "//",
    "+",
    "-",
    "\n",
    "\n    ",
    "\t",
    "#",
    "\r\n",
    "x",
    "1x",
    "@",
    "\\\n",
]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join))
def test_random_token_soup_is_a_model_or_a_located_error(text):
    check_never_crashes(text)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_random_text_is_a_model_or_a_located_error(text):
    check_never_crashes(text)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet="input 32x3|conv8 5pl\n();", max_size=50).map(lambda t: "input 32x32x3\n" + t))
def test_mutated_networks_are_a_model_or_a_located_error(text):
    check_never_crashes(text)


EXAMPLES = sorted((Path(__file__).resolve().parent.parent.parent / "examples").glob("*.cnn"))
# Words, runs of space, and single symbols: cutting an example here keeps edits token-sized.
PIECES = re.compile(r"\w+|\s+|.")
NUMBERS = ["0", "1", "2", "3", "7", "64", "1000", "2x2", "0.5"]


@st.composite
def edited_examples(draw) -> str:
    """A real example with a few token-sized edits: deep paths (blocks, graphs, zoo layers) go wrong."""
    text = draw(st.sampled_from(EXAMPLES)).read_text(encoding="utf-8")
    pieces = PIECES.findall(text)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(pieces) - 1))
        edit = draw(st.sampled_from(["delete", "repeat", "token", "number"]))
        if edit == "delete":
            del pieces[at]
        elif edit == "repeat":
            pieces.insert(at, pieces[at])
        elif edit == "token":
            pieces[at] = draw(st.sampled_from(TOKENS))
        else:
            pieces[at] = draw(st.sampled_from(NUMBERS))
    return "".join(pieces)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(edited_examples())
def test_edited_examples_are_a_model_or_a_located_error_in_every_command(text):
    check_never_crashes(text, emit=True)


def check_never_crashes(text: str, emit: bool = False) -> None:
    try:
        model = cnndsl.analyze(text, "fuzz.cnn")
        if emit:
            for target in ("keras", "pytorch"):
                assert "def build_model()" in generate(model, target)
    except CnnError as error:
        source = Source.of(text, "fuzz.cnn")
        if error.span is not None:
            assert 1 <= error.span.line <= source.text.count("\n") + 2, error
            assert error.span.column >= 1
        rendered = render(error, source)
        assert rendered.startswith("fuzz.cnn:")


def test_nesting_within_the_bounds_is_fine():
    assert cnndsl.analyze("input 8x8x3\n" + "add(identity; " * 50 + "relu" + ")" * 50).total == 0
    assert cnndsl.analyze("input 8\ndense " + "+".join(["1"] * 101)).total == 101 * 8 + 101
    assert cnndsl.analyze(chain_of_blocks(49)).total == 0


def test_a_long_chain_of_calls_shows_its_ends():
    text = chain_of_blocks(60)
    notes = [line for line in render(error_of(text), Source.of(text, "c.cnn")).splitlines() if "note:" in line]
    assert notes == [
        "c.cnn:98:5: note: in block `b49`, called here",
        "c.cnn:96:5: note: in block `b48`, called here",
        "c.cnn:94:5: note: in block `b47`, called here",
        "c.cnn:92:5: note: in block `b46`, called here",
        "c.cnn: note: ... 45 more calls ...",
        "c.cnn:124:1: note: in block `b0`, called here",
    ]
