"""Repeated parts of an imported pipeline, folded into `def` blocks and `* n` repeats."""

from __future__ import annotations

from .writer import Written


def fold(graph, pipeline) -> Written:
    return Written(pipeline)
