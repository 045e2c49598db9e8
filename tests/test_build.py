"""Every generated file is current: one test names each stale one and the command that rewrites it."""

from __future__ import annotations

import os

from cnndsl.build import COMMAND, GENERATED, ROOT, Generated, stale


def test_every_generated_file_is_current():
    assert stale() == [], f"run: {COMMAND}"


def test_the_command_knows_every_kind_of_generated_file():
    names = {generated.name for generated in GENERATED}
    assert {"parser", "error catalogue", "manual layer table", "TextMate grammar"} <= names
    assert all(generated.paths() for generated in GENERATED)


def test_update_makes_the_texts_once_and_writes_only_the_stale_files(tmp_path):
    current, stale_file = tmp_path / "current.txt", tmp_path / "stale.txt"
    current.write_text("same\n", encoding="utf-8")
    stale_file.write_text("old\n", encoding="utf-8")
    before = current.stat().st_mtime_ns
    made = []

    def make():
        made.append(1)
        return ["same\n", "new\n"]

    generated = Generated("test files", [str(current), str(stale_file)], make)
    assert generated.update() == [os.path.relpath(stale_file, ROOT)]
    assert len(made) == 1
    assert stale_file.read_text(encoding="utf-8") == "new\n"
    assert current.stat().st_mtime_ns == before
    assert generated.stale() == []


def test_a_file_current_by_its_own_check_is_made_once_when_stale(tmp_path):
    target = tmp_path / "parser.py"
    made = []

    def make():
        made.append(1)
        return ["built\n"]

    generated = Generated("test parser", [str(target)], make, current=target.exists)
    assert generated.update() == [os.path.relpath(target, ROOT)]
    assert (len(made), target.read_text(encoding="utf-8")) == (1, "built\n")
    assert generated.update() == [] and len(made) == 1
