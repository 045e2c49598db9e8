"""docs/importing.md's lists of what `cnndsl import` reads, generated from the importers' rules.

`python -m cnndsl.importers.docs --update` rewrites them; the tests fail until it is run.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "importing.md"
BEGIN, END = "<!-- keras-layers:begin -->", "<!-- keras-layers:end -->"
ONNX_BEGIN, ONNX_END = "<!-- onnx-operators:begin -->", "<!-- onnx-operators:end -->"


def generated() -> str:
    from .keras import keras_layers_markdown

    return keras_layers_markdown()


def generated_onnx() -> str:
    # the table only: no onnx package is needed to list the rules
    from .onnx import onnx_operators_markdown

    return onnx_operators_markdown()


def current(text: str, begin: str = BEGIN, end: str = END) -> str:
    return text.split(begin, 1)[1].split(end, 1)[0].strip()


def _replace(text: str, begin: str, end: str, body: str) -> str:
    before, rest = text.split(begin, 1)
    after = rest.split(end, 1)[1]
    return f"{before}{begin}\n{body}\n{end}{after}"


def update() -> None:
    text = DOC.read_text(encoding="utf-8")
    text = _replace(text, BEGIN, END, generated())
    text = _replace(text, ONNX_BEGIN, ONNX_END, generated_onnx())
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        update()
    else:
        print(generated())
