"""Every generated file is current: one test names each stale one and the command that rewrites it."""

from __future__ import annotations

from cnndsl.build import COMMAND, GENERATED, stale


def test_every_generated_file_is_current():
    assert stale() == [], f"run: {COMMAND}"


def test_the_command_knows_every_kind_of_generated_file():
    names = {generated.name for generated in GENERATED}
    assert {"parser", "error catalogue", "manual layer table", "TextMate grammar"} <= names
    assert all(generated.paths() for generated in GENERATED)
