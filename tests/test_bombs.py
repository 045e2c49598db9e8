"""A short share of benchmarks/bombs.py: its quickest bombs through the cheap commands and a language
server session, each in a process of its own, within 2 s of CPU and 500 MB (issue 25)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bombs():
    spec = importlib.util.spec_from_file_location("bombs", ROOT / "benchmarks" / "bombs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_quick_bombs_stay_within_2_s_and_500_mb(capsys):
    bombs = _bombs()
    assert all(len(bombs.BOMBS[name].encode()) < 1024 for name in bombs.QUICK_BOMBS)
    status = bombs.main(quick=True)
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "lsp session" in printed and "diagram mermaid" in printed and "worst case per command" in printed
