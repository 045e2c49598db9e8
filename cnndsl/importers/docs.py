"""docs/importing.md's lists of what `cnndsl import` reads, generated from the importers' rules.

`python -m cnndsl.importers.docs --update` rewrites them; the tests fail until it is run.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "importing.md"
BEGIN, END = "<!-- keras-layers:begin -->", "<!-- keras-layers:end -->"


def generated() -> str:
    from .keras import keras_layers_markdown

    return keras_layers_markdown()


def current(text: str) -> str:
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def update() -> None:
    text = DOC.read_text(encoding="utf-8")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(f"{before}{BEGIN}\n{generated()}\n{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        update()
    else:
        print(generated())
