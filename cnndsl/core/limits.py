"""Every bound cnndsl puts on a file, in one place.

Each bound is far beyond any real network, so it only ever stops a hostile
or mistaken file, early and cheaply, with a located error that says why:
sizes and numbers (so arithmetic and printing stay fast and exact), nesting
(so Python's recursion limit is never reached), expansion work (so a few
bytes cannot ask for billions of steps) and file size.

With these bounds, no file under 1 KB takes more than about a second or a
few hundred MB in `check`, `summary` or `emit` (tests/test_hostile.py).
"""

from __future__ import annotations

import math

from .errors import LimitExceeded
from .source import Span

MAX_AXIS = 2**31
"""Any one size: an axis, a channel count, a kernel, a stride, a padding, units."""

MAX_TOTAL = 2**63
"""Any product or sum: the values in a tensor, the parameters, the MACs, and any
number written in the file or computed from it."""

MAX_LITERAL_DIGITS = 40
"""A number written with more digits than this is refused before it is converted
(Python refuses to convert more than 4,300 digits, and 40 already exceed MAX_TOTAL)."""

MAX_LAYERS = 10_000
"""Layers that repeats and block calls may add to a network, beyond the stages written
out at the top level of the file (the largest keras.applications model has ~1,100).
A file that spells out 80,000 layers line by line is accepted; 36 bytes that repeat
a layer 99,999 times are not."""

MAX_WORK = 50_000
"""Steps of expansion: every stage visited, block call, repeat round and merge branch
counts one. Identity layers and empty blocks add no layers but still cost work, and
an edge into a merge costs work wherever it ends up. Like MAX_LAYERS, the bound grows
by WORK_PER_WRITTEN_STAGE for each stage written out at the top level."""

WORK_PER_WRITTEN_STAGE = 4
"""Expansion steps a stage written at the top level may take on its own (a layer, its
stage, and the edges into it)."""

MAX_LOOP_VALUES = 10_000
"""Values one `for` loop may take (`range(N)` or a list); every round also costs expansion work."""

MAX_BRACKETS = 50
"""Brackets nested in one statement."""

MAX_OPERATORS = 100
"""Arithmetic operators in one expression."""

MAX_CALL_DEPTH = 50
"""Block calls nested inside each other."""

MAX_NESTING = 200
"""Calls, brackets and merges nested in total, across blocks: keeps expansion within
Python's recursion limit even when each block nests just below MAX_BRACKETS."""

MAX_USED_FILES = 100
"""Files one analysis may read through `use`, each counted once however often it is used."""

MAX_USE_DEPTH = 20
"""Files using files using files: how long one chain of `use` may be."""

MAX_USED_BYTES = 8 * 1024 * 1024
"""The bytes of every used file of one analysis together; each one is also within MAX_FILE_BYTES."""

MAX_SWEEP_COMBINATIONS = 1_000
"""Combinations one `cnndsl sweep` analyses (each is a whole analysis of the file)."""

PLAYGROUND_ROWS = 1_000
"""Lines of rows of the summary table (a row is as tall as its tallest cell: an add of 99 branches lists
99 inputs) and layers in its explain menu the web playground shows; the rest are counted in one last
row. A page with 10,000 rows took the browser's main thread over a second to lay out."""

PLAYGROUND_DIAGNOSTICS = 500
"""Diagnostics the web playground lists (and marks in the editor); the rest are counted. 10,000 warnings
took the browser's main thread 1.7 s to show."""

MAX_FILE_BYTES = 8 * 1024 * 1024
"""A .cnn file larger than this is refused before it is read whole."""

MAX_SIZE_WEIGHT = 200
"""Symbols, terms and divisions in the expression of one size of a `?` axis (cnndsl.core.sizes); a size
that would be larger is unknown, as before sizes had expressions. Real networks stay under 30 (a U-Net's
deepest size is floor(h/16), weight 3; a flatten of two symbolic axes 64·floor(h/4)·floor(w/4), weight 5)."""

MAX_SIZE_CHECKS = 20_000
"""Evaluations one comparison of two symbolic sizes may take (each residue class of its symbols,
at a few points); past it the two sizes are compared as unknown ones were."""

MAX_SIZE_MODULUS = 1 << 16
"""The modulus of the conditions a model's merges put on one `?` axis together (`h ≡ 0 mod 16`)."""


def power_of_two(bound: int) -> str:
    return f"2^{bound.bit_length() - 1}"


def check_number(value, span: Span | None, what: str = "this number"):
    """`value`, if it is finite and no larger than MAX_TOTAL; else a located error."""
    if isinstance(value, float) and not math.isfinite(value):
        raise LimitExceeded(
            f"{what} is {'not a number (NaN)' if math.isnan(value) else 'infinite'}",
            span,
            "a value such as 1e999 is infinite, and inf - inf is not a number; write the value itself",
        )
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_TOTAL:
        raise LimitExceeded(
            f"{what} is larger than {power_of_two(MAX_TOTAL)}, more than cnndsl computes with",
            span,
            "no real network needs a number this large; check for a typo",
        )
    return value


def check_size(value: int, span: Span | None, what: str) -> int:
    """One size (an axis, a count of channels or units) no larger than MAX_AXIS."""
    if abs(value) > MAX_AXIS:
        raise LimitExceeded(
            f"{what} is {_short(value)}, larger than {power_of_two(MAX_AXIS)}",
            span,
            f"cnndsl takes sizes up to {power_of_two(MAX_AXIS)} ({MAX_AXIS:,}); no real network reaches it",
        )
    return value


def check_total(value: int, span: Span | None, what: str) -> int:
    """A product or sum (values in a tensor, parameters, MACs) no larger than MAX_TOTAL."""
    if value > MAX_TOTAL:
        raise LimitExceeded(
            f"{what} would be more than {power_of_two(MAX_TOTAL)}",
            span,
            "no real network is this large; check the sizes and repeat counts",
        )
    return value


def check_literal(text: str, span: Span) -> None:
    """Refuse a number written with so many digits that converting it is the attack."""
    digits = sum(c.isdigit() for c in text.split("e")[0].split("E")[0])
    if digits > MAX_LITERAL_DIGITS:
        raise LimitExceeded(
            f"this number has {digits:,} digits; cnndsl reads at most {MAX_LITERAL_DIGITS}",
            span,
            "no real network needs a number this large; check for a typo",
        )


def _short(value: int) -> str:
    """A large int as `12,345` or, past 30 digits, `about 1.2e45` (printing huge ints is slow)."""
    if value.bit_length() < 100:
        return f"{value:,}"
    return f"about {float(value):.1e}" if value.bit_length() < 1000 else "astronomically large"


# Imported model files (cnndsl/importers): a model file is read only within these.

MAX_IMPORT_FILE_BYTES = 16 * 1024**3
"""A model file's size on disk: a `.keras` zip holds its weights too (VGG16's is ~530 MB)."""

MAX_IMPORT_MEMBERS = 10_000
"""Members of a `.keras` zip (Keras writes three)."""

MAX_IMPORT_CONFIG_BYTES = 64 * 1024 * 1024
"""config.json of a `.keras` file, decompressed (ResNet152's is ~1.5 MB); read no further."""

MAX_IMPORT_LAYERS = 20_000
"""Layers (or ONNX nodes) of an imported model (the largest keras.applications model has ~1,100)."""

MAX_LSP_HEADER_BYTES = 8 * 1024
"""The headers of one language server message (a `Content-Length` line is about 25 bytes)."""

MAX_LSP_MESSAGE_BYTES = 64 * 1024 * 1024
"""One language server message: a MAX_FILE_BYTES document with JSON's escapes fits several times over.
A longer one is answered with an error and the connection is closed, before any of it is held."""

MAX_DIAGRAM_BOXES = 1_000
"""Boxes of one diagram (`cnndsl diagram`). Past it the repeats are drawn as their first round and one box
for the rest, then block calls collapse (deepest first); what still has more is refused. `(relu) * 9999`
drawn whole was a 10.6 MB SVG that took Graphviz 6 s; 1,000 boxes take it under a second (about 1 MB)."""
