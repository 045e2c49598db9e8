"""The editor's re-analysis: statements parsed one at a time and cached give the parser's own tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.core.source import Source, Span
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


def test_a_template_label_hovers_with_every_layer_it_names():
    text = "def b(i):\n    cell{i}: conv 4 3 same\ninput 8x8x1\nb(1) | b(2)\n@cell2 | relu\n"
    document = Document(text)
    hovered, span = document.hover(2, 6)
    # two calls, two layers; the second is Keras's Conv2D(4, 3, padding="same") on 4 channels: (3·3·4 + 1)·4 = 148
    assert hovered.startswith("label `cell{i}`, 2 layers: `cell1` (None, 8, 8, 4), `cell2` (None, 8, 8, 4)")
    assert "params: 148" in hovered and span == Span(2, 5, 2, 12)
    assert document.hover(5, 2)[0].startswith("reference to `cell2`: output `(None, 8, 8, 4)`")


def test_an_edit_that_leaves_the_syntax_tree_as_it_was_is_not_analysed_again():
    cache = ParseCache()
    text = "input 8x8x1\nconv 4 3 relu | relu\n"
    first = Document(text, cache=cache)
    assert [found.code for found in first.diagnostics()] == ["W104"]  # relu(relu(x)) is relu(x)
    # a comment that silences the warning: the model is the last one, its warnings are read again
    silenced = Document(text.replace("relu\n", "relu  # cnndsl: ignore[W104]\n"), cache=cache)
    assert silenced.model.nodes is first.model.nodes and silenced.diagnostics() == []
    assert silenced.model.source.text.endswith("ignore[W104]\n")
    # a real change is analysed: 8x8 -> 6x6 -> a 7x7 kernel does not fit
    broken = Document(text.replace("relu | relu", "relu | conv 4 7"), cache=cache)
    assert broken.error is not None and broken.error.message.startswith("kernel 7x7 is larger than its 6x6 input")
    # and an error stands while only spacing changes
    again = Document(text.replace("relu | relu", "relu | conv 4 7 "), cache=cache)
    assert again.error is broken.error and [found.message for found in again.diagnostics()] == [
        found.message for found in broken.diagnostics()
    ]


def test_a_layer_hover_shows_what_its_arguments_evaluated_to():
    document = Document("param width = 2\ninput 8x8x3\nconv in.c * width 1\n")
    hovered, _ = document.hover(3, 2)
    assert "- value: `in.c = 3, width = 2, 3·2 = 6 filters`" in hovered
