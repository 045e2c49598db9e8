"""A short share of benchmarks/bombs.py: its quickest bombs through the cheap commands and a language
server session, each in a process of its own: no bug and within 500 MB (issue 25). Their times are
printed, not asserted (a loaded machine would fail them); benchmarks/bombs.py holds the 2 s bound."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bombs():
    spec = importlib.util.spec_from_file_location("bombs", ROOT / "benchmarks" / "bombs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_quick_bombs_end_without_a_bug_within_500_mb(capsys):
    bombs = _bombs()
    assert all(len(bombs.BOMBS[name].encode()) < 1024 for name in bombs.QUICK_BOMBS)
    status = bombs.main(quick=True, timed=False)
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "lsp session" in printed and "diagram mermaid" in printed and "worst case per command" in printed


def test_hostile_model_files_under_1_kb_are_refused_without_a_bug(tmp_path):
    bombs = _bombs()
    files = bombs.hostile_keras(str(tmp_path)) + bombs.hostile_onnx(str(tmp_path))
    assert len(files) == 5
    for label, path in files:
        assert Path(path).stat().st_size < 1024, label
        code, seconds, megabytes, _ = bombs.measure(bombs.cnndsl("import", path))
        # a 2^40 input axis was exit 3 (a LimitExceeded of the written model, reported as a bug)
        assert code in (1, 2), label
