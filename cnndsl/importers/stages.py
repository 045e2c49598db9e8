"""The written form of an imported model: stages, blocks, and each stage as text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .graph import Value

# The written form: a pipeline is a list of stages.


@dataclass
class LayerStage:
    index: int  # the graph layer it writes
    label: str | None
    keyword: str
    words: tuple


@dataclass
class MergeStage:
    index: int
    label: str | None
    keyword: str
    branches: list[list]  # each a pipeline; [] is `identity`
    words: tuple = ()  # the merge's own arguments, after its branches: `scaleadd(a; b) 0.17`


@dataclass
class RefStage:
    name: str


@dataclass
class CallStage:
    """`name(args)`, or `name(args) * count as var` when count is set."""

    block: str
    args: list[str]
    count: int | None = None
    var: str | None = None


@dataclass
class Block:
    name: str
    params: list[str]
    body: list  # a pipeline, its values replaced by parameter expressions (str words)


@dataclass
class Written:
    pipeline: list  # the top-level stages, or lines (lists of stages) in the line-by-line form
    blocks: list[Block] = field(default_factory=list)
    by_lines: bool = False


# Text


def value_text(value) -> str:
    if isinstance(value, Value):
        value = value.value
    if isinstance(value, float):
        return repr(value)
    return str(value)


def stage_text(stage) -> str:
    """One stage on one line (a merge's branches included)."""
    if isinstance(stage, RefStage):
        return "output" if stage.name == "output" else f"@{stage.name}"
    if isinstance(stage, CallStage):
        call = f"{stage.block}({', '.join(stage.args)})"
        if stage.count is None:
            return call
        return f"{call} * {stage.count}" + (f" as {stage.var}" if stage.var else "")
    label = f"{stage.label}: " if stage.label else ""
    if isinstance(stage, MergeStage):
        branches = "; ".join(pipeline_text(b) for b in stage.branches)
        return f"{label}{stage.keyword}({branches}){merge_words(stage)}"
    words = " ".join(value_text(w) for w in stage.words)
    return f"{label}{stage.keyword}{' ' + words if words else ''}"


def merge_words(stage: MergeStage) -> str:
    """What follows a merge's `)`: its own arguments, each one atom (`(c*2)` in brackets)."""
    texts = [value_text(w) for w in stage.words]
    return "".join(" " + (t if re.fullmatch(r"[\w.+-]+", t) and "+" not in t[1:] else f"({t})") for t in texts)


def pipeline_text(stages: list) -> str:
    return " | ".join(stage_text(s) for s in stages) if stages else "identity"
