"""The user documentation: the README (the front page) and the manual's pages under docs/manual."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
README = ROOT / "README.md"
MANUAL = ROOT / "docs" / "manual"


def pages() -> list[Path]:
    """The README first, then the manual's pages by name."""
    return [README, *sorted(MANUAL.glob("*.md"))]


def page(name: str) -> str:
    """One manual page's text, by file name (`language.md`)."""
    return (MANUAL / name).read_text(encoding="utf-8")


def docs_text() -> str:
    """Every page's text, one after the other (each page starts with its own heading)."""
    return "\n".join(path.read_text(encoding="utf-8") for path in pages())


def snippet_file(snippet: str) -> str:
    """The file name a snippet is analysed as: one with a `use` line is read beside examples/modules/blocks.cnn."""
    return str(ROOT / "examples" / "modules" / "snippet.cnn") if re.search(r'^use "', snippet, flags=re.M) else "net.cnn"


def cnn_snippets() -> list[tuple[str, str]]:
    """(page and number, text) of every ```cnn block of the README and the manual."""
    found = []
    for path in pages():
        for i, snippet in enumerate(re.findall(r"```cnn\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)):
            found.append((f"{path.stem}-{i}", snippet))
    return found
