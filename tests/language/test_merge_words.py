"""The merge keywords: the grammar's MERGE_OP terminal, the parser's copy of it and the layer registry agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnndsl.core.source import Source
from cnndsl.language.parse import grammar_path, merge_words, parse
from cnndsl.layers import REGISTRY


def _grammar_merges() -> set[str]:
    text = Path(grammar_path()).read_text(encoding="utf-8")
    found = re.search(r"^MERGE_OP(?:\.\d+)?: /\(([a-z|]+)\)\(\?!\[A-Za-z_0-9\]\)/$", text, re.M)
    assert found, "grammar/cnndsl.lark no longer writes MERGE_OP as /(add|...)(?![A-Za-z_0-9])/"
    return set(found[1].split("|"))


def _registry_merges() -> set[str]:
    return {keyword for keyword, kind in REGISTRY.items() if kind.MERGE}


def test_the_grammar_lists_exactly_the_registry_merges():
    assert _grammar_merges() == _registry_merges()


def test_the_parser_reads_its_merge_words_from_the_shipped_grammar():
    assert len(merge_words()) == len(set(merge_words()))
    assert set(merge_words()) == _grammar_merges()


@pytest.mark.parametrize("word", sorted(_registry_merges()))
def test_every_merge_word_parses_as_a_merge(word):
    merge = parse(Source.of(f"input 8x8x4\n{word}(conv 4 1; conv 4 1)\n", "net.cnn")).pipelines[-1].stages[0]
    assert (type(merge).__name__, merge.op) == ("Merge", word)


@pytest.mark.parametrize("word", sorted(_registry_merges()))
def test_the_capitalised_merge_hint_knows_every_merge(word):
    from cnndsl import CnnError, analyze, render

    text = f"input 8x8x4\n{word.capitalize()}(identity; identity)\n"
    with pytest.raises(CnnError) as caught:
        analyze(text)
    assert f"`{word}(...; ...)`" in render(caught.value, Source.of(text, "<input>"))
