"""Hostile input: every bound of cnndsl/limits.py is a located error that says why.

Each class of escape, hang and blow-up that fuzzing found has a case here:
huge and non-finite numbers, sizes past 2^31 and totals past 2^63, bombs
made of identity layers, empty blocks, exponential call trees and wide
merges, and nesting across blocks. The timings behind the bounds are in
benchmarks/bombs.py; these tests assert what is deterministic: the error,
its place, and that expansion stopped.
"""

from __future__ import annotations

import sys

import pytest

import cnndsl
from cnndsl.errors import BadArgument, CnnError, LimitExceeded, render
from cnndsl.limits import MAX_AXIS, MAX_LAYERS, MAX_NESTING, MAX_TOTAL, MAX_WORK
from cnndsl.source import Source


def error_of(text: str) -> CnnError:
    with pytest.raises(CnnError) as caught:
        cnndsl.analyze(text, "net.cnn")
    return caught.value


def where(error: CnnError) -> tuple[int, int]:
    return error.span.line, error.span.column


BIG = "1" + "0" * 309  # past the largest float
HUGE = "1" + "0" * 4300  # past Python's int-to-string limit


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        # numbers too long to convert, or too large to compute with
        (f"input 8\ndropout 0.5+{BIG}", 2, 13, "310 digits"),
        (f"input 8\ndense {BIG}/3", 2, 7, "310 digits"),
        (f"input 8\nrescale {BIG}", 2, 9, "310 digits"),
        (f"input 8\nbn eps {BIG}", 2, 8, "310 digits"),
        (f"input 8\ndense {HUGE}", 2, 7, "4,301 digits"),
        (f"input {HUGE}x8", 1, 7, "4,301 digits"),
        (f"def b(c={HUGE}):\n    dense c\ninput 8\nb()", 1, 9, "4,301 digits"),
        ("input 8\ndense 1e300 | dense 1e300", 2, 7, "larger than 2^63"),
        ("input 8\ndense 9223372036854775807+9223372036854775807", 2, 7, "the result is larger than 2^63"),
        ("input 8\ndef b(c):\n    dense c*c*c\nb(4294967296)", 3, 11, "the result is larger than 2^63"),
        # non-finite floats in every numeric slot
        ("input 8\nrescale 1e999-1e999", 2, 9, "infinite"),
        ("input 8\nrescale 1e999", 2, 9, "infinite"),
        ("input 8\nleakyrelu 1e400", 2, 11, "infinite"),
        ("input 8\nbn momentum -1e999", 2, 13, "infinite"),
        ("input 8\ndef b(c):\n    rescale c-c\nb(1e999)", 4, 3, "infinite"),
        # one size past 2^31: arguments, and shapes that grow
        ("input 8\ndense 2147483649", 2, 7, "`units` is 2,147,483,649, larger than 2^31"),
        ("input 3000000000x3", 1, 7, "larger than 2^31"),
        ("input 8x8x3\nconv 8 3 stride 9999999999", 2, 17, "`stride` is 9,999,999,999"),
        ("input 8x8x3\nupsample 100000x100000 | upsample 100000x100000", 2, 26, "axis of this layer's output"),
        ("input 8\nconcat(identity; identity) * 40", 2, 1, "4,294,967,296, larger than 2^31"),
        ("input 8\n(concat(identity; identity)) * 40", 2, 2, "4,294,967,296, larger than 2^31"),
        # totals past 2^63
        ("input 2000000000x2000000000x4", 1, 1, "the values in this layer's output"),
        (
            "input 2000000000\ndense 2000000000 | dense 2000000000 | dense 2000000000",
            2,
            39,
            "parameters of the network",
        ),
    ],
)
def test_sizes_and_numbers_are_bounded_with_located_errors(text, line, column, words):
    error = error_of(text)
    assert isinstance(error, LimitExceeded), error
    assert where(error) == (line, column), error
    assert words in str(error)
    assert error.hint


def test_the_bounds_are_the_documented_powers_of_two():
    assert (MAX_AXIS, MAX_TOTAL) == (2**31, 2**63)
    assert cnndsl.analyze("input 8\ndense 2147483648").nodes[-1].shape == (2**31,)


def test_a_summary_of_the_largest_sizes_prints(capsys):
    from cnndsl.cli import main

    text = "input 2147483648\ndense 2147483648 | dense 1"
    model = cnndsl.analyze(text)
    assert model.total == 2**31 * 2**31 + 2**31 + 2**31 + 1
    assert model.total < MAX_TOTAL
    # `summary --macs` and `--json` print these in full
    from cnndsl.summary import format_summary, summary_dict

    assert "4,611,686,022,722,355,201" in format_summary(model, macs=True)
    assert summary_dict(model)["total_macs"] == 2**62 + 2**31
    del main, capsys


@pytest.mark.parametrize(
    "text, words",
    [
        ("input 8\nreshape target=8", (8,)),
        ("input 8x8x1\nzeropad padding=1", (10, 10, 1)),
        ("input 8x8x1\nzeropad padding=1x2", (10, 12, 1)),
        ("input 8x8x1\ncrop padding=1", (6, 6, 1)),
        ("input 8x8x1\nreshape target=64x1", (64, 1)),
    ],
)
def test_keyword_forms_of_variadic_arguments(text, words):
    assert cnndsl.analyze(text).nodes[-1].shape == words


def test_a_variadic_argument_given_both_ways_is_given_twice():
    error = error_of("input 8x8x1\nreshape 4 -1 target=16")
    assert isinstance(error, BadArgument) and "given twice" in str(error)


# Bombs: tiny files asking for enormous work. Each stops at the outermost repeat or call.


def exponential_calls(levels: int, body: str = "identity") -> str:
    """Each block calls the one before it twice: 2^levels calls of the first."""
    text = f"def b0(): {body}\n"
    text += "".join(f"def b{i}(): b{i - 1}()|b{i - 1}()\n" for i in range(1, levels + 1))
    return text + f"input 8\nb{levels}()\n"


BOMBS = {
    "identity repeat": ("input 8\n(identity) * 1000000000000\n", 2, 1),
    "empty block": ("def e():\n    identity\ninput 8\n(e()) * 99999999\n", 4, 1),
    "empty block called bare": ("def e():\n    identity\ninput 8\ne() * 99999999\n", 4, 1),
    "exponential calls": (exponential_calls(40), 43, 1),
    "exponential calls of layers": (exponential_calls(30, "relu"), 33, 1),
    "wide concat": ("input 8\n(concat(" + "; ".join(["identity"] * 64) + ")) * 99999\n", 2, 1),
    "wide add": ("input 8\n(add(" + ";".join(["identity"] * 100) + ")) * 10000\n", 2, 1),
    "nested repeats": ("input 8\n(((identity) * 1000) * 1000) * 1000\n", 2, 1),
    "repeated conv": ("input 8x8x3\n(conv 8 3 same) * 99999\n", 2, 1),
    "repeat inside a block": ("def r():\n    (relu) * 99999\ninput 8\nr()\n", 4, 1),
}


@pytest.mark.parametrize("name", BOMBS)
def test_bombs_stop_at_the_outermost_repeat_or_call(name):
    text, line, column = BOMBS[name]
    assert len(text.encode()) < 1024
    error = error_of(text)
    assert isinstance(error, LimitExceeded), error
    assert where(error) == (line, column), error
    assert f"{MAX_WORK:,} steps" in error.message or f"{MAX_LAYERS:,} layers" in error.message
    assert error.called_from == ()  # no notes from inner calls: the place is the outer one
    assert "no real network" in error.hint


def test_work_within_the_bound_is_fine():
    assert len(cnndsl.analyze("input 8\n(identity) * 1000 | relu").nodes) == 2
    assert len(cnndsl.analyze(exponential_calls(10, "relu")).nodes) == 1 + 2**10
    assert len(cnndsl.analyze("input 8x8x3\n(conv 8 3 same) * 9000").nodes) == 9001


def nested_blocks(blocks: int, brackets: int) -> str:
    """Each block nests `brackets` groups and calls the next inside them."""
    text = ""
    for i in range(blocks):
        inner = f"b{i + 1}()" if i + 1 < blocks else "relu"
        text += f"def b{i}():\n    " + "(" * brackets + inner + ")" * brackets + "\n"
    return text + "input 8\nb0()\n"


@pytest.mark.parametrize("limit", [None, 700])
def test_nesting_across_blocks_is_a_located_error_even_with_a_low_recursion_limit(limit):
    old = sys.getrecursionlimit()
    if limit:
        sys.setrecursionlimit(limit + len(__import__("inspect").stack()))
    try:
        error = error_of(nested_blocks(10, 49))
    finally:
        sys.setrecursionlimit(old)
    assert isinstance(error, LimitExceeded)
    assert f"more than {MAX_NESTING} deep" in error.message
    assert error.span.line > 1 and error.called_from  # inside a block, with the calls that reached it
    assert "note: in block `b0`, called here" in render(error, Source.of(nested_blocks(10, 49), "n.cnn"))


def test_nesting_within_the_bound_is_fine():
    assert len(cnndsl.analyze(nested_blocks(3, 40)).nodes) == 2
