"""The example files: the models, and the files they `use` (those hold blocks, not a network)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples"


def used_files() -> set[Path]:
    """Every example file another example's `use` line names."""
    used = set()
    for path in EXAMPLES.rglob("*.cnn"):
        for name in re.findall(r'^use "([^"]+)"', path.read_text(encoding="utf-8"), flags=re.M):
            used.add((path.parent / name).resolve())
    return used


def model_files() -> list[Path]:
    """Every example that is a network, in every folder, by path."""
    used = used_files()
    return sorted(path for path in EXAMPLES.rglob("*.cnn") if path.resolve() not in used)
