"""Repeated parts of an imported pipeline, folded into `def` blocks and `* n` repeats.

A stage's *skeleton* is everything but its values (numbers, sizes, option
words, the digits in its label); stretches of stages with one skeleton that
recur become one block, whose parameters are the values that differ
between the stretches (a value that is another's multiple is written
`c*4`). The stretch that saves the most text is folded first, ties going
to the stretch whose labels share the longest prefix (`conv2_block2_`:
one Keras block). Then consecutive calls of a block whose arguments are
constant or count up become `block(i + 2, 64) * 3 as i`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .graph import Value
from .stages import Block, CallStage, LayerStage, MergeStage, RefStage, Written, stage_text

MAX_WINDOW = 40  # stages in one block
MAX_ROUNDS = 16  # blocks made
MAX_STAGES = 5_000  # a longer pipeline is written out as it is


@dataclass(frozen=True)
class Leaf:
    """A value of a skeleton: from a label's digits (`label`), or a layer's words."""

    role: str
    value: object
    label: bool = False


def label_parts(label: str | None) -> tuple[tuple, list[Leaf]]:
    if label is None:
        return (None,), []
    parts = re.split(r"(\d+)", label)
    skeleton, leaves = [], []
    for n, part in enumerate(parts):
        if n % 2 and str(int(part)) == part:  # a digit run, unless it has leading zeros
            skeleton.append(None)
            leaves.append(Leaf("n", int(part), label=True))
        else:
            skeleton.append(part)
    return tuple(skeleton), leaves


def word_skeleton(words, leaves: list[Leaf]) -> tuple:
    """A stage's words with each value as its role and type; the values appended to `leaves`."""
    shaped = []
    for word in words:
        if isinstance(word, Value):
            shaped.append(("v", word.role, type(word.value).__name__))
            leaves.append(Leaf(word.role, word.value))
        else:
            shaped.append(word)
    return tuple(shaped)


def skeleton(stage) -> tuple[tuple, list[Leaf]]:
    """The stage without its values, and its values in order."""
    if isinstance(stage, LayerStage):
        if stage.keyword == "input":
            return ("input", id(stage)), []
        shape, leaves = label_parts(stage.label)
        return ("layer", shape, stage.keyword, word_skeleton(stage.words, leaves)), leaves
    if isinstance(stage, MergeStage):
        shape, leaves = label_parts(stage.label)
        branches = []
        for branch in stage.branches:
            parts = []
            for inner in branch:
                key, inner_leaves = skeleton(inner)
                parts.append(key)
                leaves.extend(inner_leaves)
            branches.append(tuple(parts))
        return ("merge", shape, stage.keyword, tuple(branches), word_skeleton(stage.words, leaves)), leaves
    return ("other", id(stage)), []  # references and calls stay as they are


def labels_of(stage) -> list[str]:
    if isinstance(stage, LayerStage):
        return [stage.label] if stage.label else []
    if isinstance(stage, MergeStage):
        found = [stage.label] if stage.label else []
        for branch in stage.branches:
            for inner in branch:
                found += labels_of(inner)
        return found
    return []


def common_prefix(words: list[str]) -> int:
    if not words:
        return 0
    first, last = min(words), max(words)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return n


def fold(graph, pipeline: list) -> Written:
    if len(pipeline) > MAX_STAGES:
        return Written(pipeline)
    blocks: list[Block] = []
    taken = {"identity", "input", "output", "defaults", "def", "as"}
    for _ in range(MAX_ROUNDS):
        found = best_window(pipeline)
        if found is None:
            break
        length, starts = found
        name = block_name(pipeline[starts[0] : starts[0] + length], taken)
        taken.add(name)
        block, calls = make_block(name, [pipeline[s : s + length] for s in starts])
        blocks.append(block)
        rebuilt, position = [], 0
        for start, call in zip(starts, calls):
            rebuilt += pipeline[position:start]
            rebuilt.append(call)
            position = start + length
        pipeline = rebuilt + pipeline[position:]
    return Written(repeat_runs(pipeline), blocks)


def best_window(pipeline: list):
    """(length, starts) of the stretch worth folding most, or None."""
    keys, texts = [], []
    interned: dict = {}
    for stage in pipeline:
        key = skeleton(stage)[0]
        keys.append(interned.setdefault(key, len(interned)) if key[0] in ("layer", "merge") else -1 - len(keys))
        texts.append(len(stage_text(stage)))
    best, best_score = None, 0
    n = len(pipeline)
    for length in range(1, min(MAX_WINDOW, n // 2) + 1):
        groups: dict[tuple, list[int]] = {}
        for start in range(n - length + 1):
            window = tuple(keys[start : start + length])
            if min(window) < 0:
                continue
            groups.setdefault(window, []).append(start)
        for starts in groups.values():
            chosen, end = [], -1
            for s in starts:
                if s >= end:
                    chosen.append(s)
                    end = s + length
            if len(chosen) < 2:
                continue
            size = sum(texts[chosen[0] : chosen[0] + length])
            saved = (len(chosen) - 1) * size - len(chosen) * 24 - 40
            prefix = sum(common_prefix([w for st in pipeline[s : s + length] for w in labels_of(st)]) for s in chosen)
            score = saved + prefix
            if saved > 0 and score > best_score:
                best, best_score = (length, chosen), score
    return best


def block_name(stages: list, taken: set) -> str:
    """A name from what the block is: `residual_block`, `concat_block`, `block`..."""
    merges = [s for s in stages if isinstance(s, MergeStage)]
    if merges:
        first = merges[0]
        if first.keyword == "add" and any(not b for b in first.branches):
            base = "residual_block"
        elif first.keyword == "add":
            base = "projection_block"
        else:
            base = f"{first.keyword}_block"
    else:
        base = "block"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


def make_block(name: str, occurrences: list[list]) -> tuple[Block, list[CallStage]]:
    """The block the occurrences share and the call that makes each."""
    columns = []  # per leaf position: the leaf of the first occurrence and each occurrence's value
    per_occurrence = []
    for stages in occurrences:
        leaves = []
        for stage in stages:
            leaves.extend(skeleton(stage)[1])
        per_occurrence.append(leaves)
    for position, leaf in enumerate(per_occurrence[0]):
        columns.append((leaf, tuple(leaves[position].value for leaves in per_occurrence)))

    words_in_body = set()
    for stage in occurrences[0]:
        words_in_body.update(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", stage_text(stage)))
    params: list[str] = []
    param_values: list[tuple] = []
    by_values: dict[tuple, str] = {}
    expressions: list[str | None] = []  # per column: None for a literal

    def new_param(role: str, values: tuple) -> str:
        base = {"n": "n", "c": "c", "k": "k", "s": "s", "a": "act", "p": "pad_mode"}.get(role, role)
        base = re.sub(r"[^A-Za-z_0-9]", "_", base) or "v"
        candidate, n = base, 2
        while candidate in params or candidate in words_in_body or candidate_is_word(candidate):
            candidate, n = f"{base}{n}", n + 1
        params.append(candidate)
        param_values.append(values)
        by_values[(role == "n", values)] = candidate
        return candidate

    order = sorted(
        range(len(columns)),
        key=lambda i: (min(columns[i][1]) if all(isinstance(v, int) for v in columns[i][1]) else 0, i),
    )
    expressions = [None] * len(columns)
    for i in order:
        leaf, values = columns[i]
        if len(set(values)) == 1:
            continue  # the same in every occurrence: written as it is
        label = leaf.label
        same = by_values.get((label, values))
        if same is not None:
            expressions[i] = same
            continue
        if not label and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            related = related_expression(values, params, param_values)
            if related:
                expressions[i] = related
                continue
        expressions[i] = new_param(leaf.role, values)
    # Parameters in the order the body first uses them, named again in that order (`n` before `n2`).
    first_use = []
    for expression in expressions:
        for word in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", expression or ""):
            if word in params and word not in first_use:
                first_use.append(word)
    values_of = dict(zip(params, param_values))
    roles = {name: columns[next(i for i, e in enumerate(expressions) if e == name)][0].role for name in params}
    params.clear()
    param_values.clear()
    renamed = {old: new_param(roles[old], values_of[old]) for old in first_use}
    expressions = [
        None if e is None else re.sub(r"[A-Za-z_][A-Za-z_0-9]*", lambda m: renamed.get(m[0], m[0]), e)
        for e in expressions
    ]
    body = substitute(occurrences[0], iter(expressions))
    calls = [CallStage(name, [value_arg(values[n]) for values in param_values]) for n in range(len(occurrences))]
    return Block(name, params, body), calls


def candidate_is_word(name: str) -> bool:
    from ..layers import REGISTRY

    return name in REGISTRY or name in ("same", "valid", "causal", "nobias", "stride", "identity", "residual")


def related_expression(values: tuple, params: list[str], param_values: list[tuple]) -> str | None:
    """`c*4` or `c/2`, where every occurrence's value is that multiple of a parameter's."""
    for name, base in zip(params, param_values):
        if not all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in base):
            continue
        if all(v % b == 0 for v, b in zip(values, base)):
            ratios = {v // b for v, b in zip(values, base)}
            if len(ratios) == 1 and (ratio := ratios.pop()) > 1:
                return f"{name}*{ratio}"
        if all(b % v == 0 for v, b in zip(values, base) if v):
            ratios = {b // v for v, b in zip(values, base) if v}
            if len(ratios) == 1 and all(values) and (ratio := ratios.pop()) > 1:
                return f"{name}/{ratio}"
    return None


def value_arg(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def substitute(stages: list, expressions) -> list:
    """The stages with each leaf, in skeleton order, replaced where it became a parameter."""
    out = []
    for stage in stages:
        if isinstance(stage, LayerStage):
            label = substitute_label(stage.label, expressions)
            out.append(LayerStage(stage.index, label, stage.keyword, substitute_words(stage.words, expressions)))
        elif isinstance(stage, MergeStage):
            label = substitute_label(stage.label, expressions)
            branches = [substitute(branch, expressions) for branch in stage.branches]
            words = substitute_words(stage.words, expressions)
            out.append(MergeStage(stage.index, label, stage.keyword, branches, words))
        else:
            out.append(stage)
    return out


def substitute_words(words: tuple, expressions) -> tuple:
    out = []
    for word in words:
        if isinstance(word, Value):
            expression = next(expressions)
            out.append(word if expression is None else Value(word.role, expression))
        else:
            out.append(word)
    return tuple(out)


def substitute_label(label: str | None, expressions) -> str | None:
    if label is None:
        return None
    skeleton_parts, leaves = label_parts(label)
    values = iter(leaf.value for leaf in leaves)
    text = []
    for part in skeleton_parts:
        if part is None:
            value = next(values)
            expression = next(expressions)
            text.append(str(value) if expression is None else "{" + expression + "}")
        else:
            text.append(part)
    return "".join(text)


def repeat_runs(pipeline: list) -> list:
    """Consecutive calls of one block whose arguments stay or count up: one repeated call."""
    out, i = [], 0
    while i < len(pipeline):
        stage = pipeline[i]
        if not isinstance(stage, CallStage):
            out.append(stage)
            i += 1
            continue
        j = i + 1
        steps = None
        while j < len(pipeline) and isinstance(pipeline[j], CallStage) and pipeline[j].block == stage.block:
            step = arg_steps(pipeline[j - 1], pipeline[j])
            if step is None or (steps is not None and step != steps):
                break
            steps = step
            j += 1
        count = j - i
        if count == 1:
            out.append(stage)
        else:
            var = "i" if steps and any(steps) else None
            args = []
            for arg, step in zip(stage.args, steps or [0] * len(stage.args)):
                if not step:
                    args.append(arg)
                elif step == 1:
                    args.append(f"i + {arg}" if arg != "0" else "i")
                else:
                    args.append(f"i*{step} + {arg}" if arg != "0" else f"i*{step}")
            out.append(CallStage(stage.block, args, count, var))
        i = j
    return out


def arg_steps(a: CallStage, b: CallStage) -> tuple[int, ...] | None:
    """How much each argument grows from call a to call b, when each is a whole number or stays."""
    steps = []
    for x, y in zip(a.args, b.args):
        if x == y:
            steps.append(0)
        elif x.isdigit() and y.isdigit() and int(y) > int(x):
            steps.append(int(y) - int(x))
        else:
            return None
    return tuple(steps)


__all__ = ["fold", "RefStage"]
