"""`cnndsl sweep FILE --set alpha=0.35,0.5 --set size=128,224`: one row per combination of the values,
with its parameters, MACs and inference memory, for design-space exploration."""

from __future__ import annotations

import itertools

from ..core.choices import SWEEP_FORMATS
from ..core.limits import MAX_SWEEP_COMBINATIONS
from ..model.memory import memory
from .summary import ASCII_BOX, UNICODE_BOX
from .text import binary_size, count_text, markdown_text

FORMATS = SWEEP_FORMATS
FIGURES = ("params", "macs", "inference_memory_bytes")
HEADINGS = {"params": "Params", "macs": "MACs", "inference_memory_bytes": "Inference memory"}


class TooManyCombinations(ValueError):
    """More combinations than MAX_SWEEP_COMBINATIONS: a usage error."""


def combinations(values: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
    """Every combination of the values, the first name's changing slowest; each name's values as written."""
    count = 1
    for _, texts in values:
        count *= len(texts)
    if count > MAX_SWEEP_COMBINATIONS:
        raise TooManyCombinations(
            f"{count:,} combinations, more than the {MAX_SWEEP_COMBINATIONS:,} a sweep runs; give fewer values"
        )
    names = [name for name, _ in values]
    return [dict(zip(names, chosen)) for chosen in itertools.product(*(texts for _, texts in values))]


def record(params: dict[str, str], model) -> dict:
    """One row: the values, the total parameters, the MACs of one example (None with an axis of unknown
    size) and the inference peak of one float32 example in bytes (`check --max-memory`'s figure)."""
    from ..language.expand import parse_value

    return {
        **{name: parse_value(name, text) for name, text in params.items()},
        "params": model.total,
        "macs": model.macs,
        "inference_memory_bytes": memory(model).inference_peak_bytes,
    }


def _cells(row: dict, names: list[str]) -> list[str]:
    peak = row["inference_memory_bytes"]
    return [
        *(str(row[name]) for name in names),
        count_text(row["params"]),
        count_text(row["macs"]),
        "?" if peak is None else binary_size(peak),
    ]


def format_sweep(rows: list[dict], names: list[str], style: str = "table", ascii_only: bool = False) -> str:
    """The rows in one of FORMATS; numbers are formatted as the summary's are, whole in csv and json."""
    if style == "json":
        import json

        return json.dumps(rows, indent=2)
    header = [*names, *(HEADINGS[figure] for figure in FIGURES)]
    if style == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*names, *FIGURES])
        for row in rows:
            writer.writerow([*(row[name] for name in names), *("" if row[f] is None else row[f] for f in FIGURES)])
        return out.getvalue().rstrip("\n")
    cells = [_cells(row, names) for row in rows]
    if style == "markdown":
        out = ["| " + " | ".join(map(markdown_text, header)) + " |", "|" + "|".join(["--:"] * len(header)) + "|"]
        out += ["| " + " | ".join(map(markdown_text, line)) + " |" for line in cells]
        return "\n".join(out)
    if style != "table":
        raise ValueError(f"unknown format {style!r}; one of {', '.join(FORMATS)}")
    box = ASCII_BOX if ascii_only else UNICODE_BOX
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(header)]

    def rule(kind: str) -> str:
        left, fill, cross, right = box[kind]
        return left + cross.join(fill * (w + 2) for w in widths) + right

    def line(kind: str, texts: list[str]) -> str:
        left, mid, right = box[kind]
        return left + mid.join(f" {text:>{w}} " for text, w in zip(texts, widths)) + right

    out = [rule("top"), line("head", header), rule("head_rule")]
    for i, texts in enumerate(cells):
        if i:
            out.append(rule("rule"))
        out.append(line("row", texts))
    out.append(rule("bottom"))
    return "\n".join(out)
