"""The editor's re-analysis: statements parsed one at a time and cached give the parser's own tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.core.source import Source
from cnndsl.language.parse import parse
from cnndsl.tools.editor import Document, ParseCache, statements

EXAMPLES = {
    path.stem: path.read_text() for path in sorted((Path(__file__).parent.parent.parent / "examples").glob("*.cnn"))
}


def test_statements_split_at_top_level_lines_only():
    text = "# head\ninput 8x8x1\ndef b(c):\n    conv c 3\n\nadd(conv 4 1;\nconv 4 1) \\\n| relu\nb(2)\n"
    # line 6 is inside brackets, line 7 follows a `\`
    assert [first for first, _ in statements(text)] == [0, 1, 2, 5, 8]
    assert "".join(chunk for _, chunk in statements(text)) == text + "\n"


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_cache_gives_the_parsers_tree(name):
    text = EXAMPLES[name]
    cache = ParseCache()
    assert cache.parse(Source.of(text)) == parse(Source.of(text))
    # the same text again comes from the cache, and is still the same tree
    assert cache.parse(Source.of(text)) == parse(Source.of(text))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(EXAMPLES)), line=st.integers(0, 200), blank=st.booleans())
def test_after_an_edit_the_cached_tree_is_the_fresh_one(name, line, blank):
    """An inserted line moves every later statement; a changed line re-parses one."""
    lines = EXAMPLES[name].split("\n")
    line = min(line, len(lines) - 1)
    cache = ParseCache()
    cache.parse(Source.of(EXAMPLES[name]))
    if blank:
        edited = lines[:line] + [""] + lines[line:]
    else:
        edited = lines[:line] + [lines[line] + "  # edited"] + lines[line + 1 :]
    text = "\n".join(edited)
    assert cache.parse(Source.of(text)) == parse(Source.of(text))


def test_a_syntax_error_is_reported_as_the_command_line_reports_it():
    from cnndsl import CnnError, analyze

    text = "input 8x8x1\nconv 8 3 |\ndense 10\n"
    with pytest.raises(CnnError) as caught:
        analyze(text)
    [found] = Document(text, cache=ParseCache()).diagnostics()
    assert (found.span, found.message) == (caught.value.span, caught.value.message + f"\nhint: {caught.value.hint}")


def test_the_editor_reports_what_check_reports():
    """Every independent error (the language server publishes these), or the warnings with their severity."""
    from cnndsl.tools.editor import Document

    errors = Document("input 8x8x1\ncovn 4 3\nconv 4 3 strid 2\n").diagnostics()
    assert [(d.span.line, d.code, d.severity) for d in errors] == [(2, "E200", "error"), (3, "E201", "error")]
    (warning,) = Document("input 7x7x8\nmaxpool 2\nflatten\ndense 10\n").diagnostics()
    assert (warning.span.line, warning.code, warning.severity) == (2, "W103", "warning")
