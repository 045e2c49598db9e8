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


def _lexed(monkeypatch) -> list[int]:
    """Characters each parse reads, by the fast loop and by Lark's, appended as they happen."""
    from cnndsl.language import parse as module

    read: list[int] = []
    fast, lark = module._parse_fast, module._parser()

    def counted_fast(tables, text, *args, **kwargs):
        read.append(len(text))
        return fast(tables, text, *args, **kwargs)

    def counted_lark(text, *args, parse=lark.parse, **kwargs):
        read.append(len(text))
        return parse(text, *args, **kwargs)

    monkeypatch.setattr(module, "_parse_fast", counted_fast)
    monkeypatch.setattr(lark, "parse", counted_lark)
    return read


def test_a_long_text_is_read_once_and_an_edit_reads_only_its_statement(monkeypatch):
    """Each statement used to be parsed below as many line breaks as there are lines above it: 10,000
    lines read 50 million characters. A text is read once (its statements not met before, as one text),
    an edit reads only what changed, and the tree is the parser's."""
    text = "input 8x8x3\n" + "conv 8 3 same\n" * 5000 + "dense 10\n" * 5000
    read = _lexed(monkeypatch)
    cache = ParseCache()
    assert cache.parse(Source.of(text)) == parse(Source.of(text))
    assert sum(read) <= 2 * len(text) + 2  # the cache's one reading and parse()'s
    read.clear()
    edited = text.replace("dense 10\n", "dense 12\n", 1)
    tree = cache.parse(Source.of(edited))
    assert sum(read) == len("dense 12\n")
    assert tree == parse(Source.of(edited))


def test_thousands_of_broken_statements_are_each_read_once_where_they_are(monkeypatch):
    """Every error of a text is found by parsing each statement alone: each is read where it is
    (its spans count the lines above), by the fast loop and then by Lark's, not below blank lines."""
    from cnndsl.model.diagnosis import diagnose

    text = "input 8\n" + "dense 8 |\n" * 3000
    read = _lexed(monkeypatch)
    errors = diagnose(Source.of(text)).errors
    assert [(e.span.line, e.span.column, e.code) for e in errors] == [(n, 10, "E100") for n in range(2, 3002)]
    assert all("`|` must be followed by a layer" in e.hint for e in errors)
    assert sum(read) <= 4 * len(text)  # the whole text by each loop, then each statement by each


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


def test_a_repeated_layer_hovers_with_its_first_rounds_only():
    # each round of a strided repeat has its own output: ceil(8/2) = 4, ceil(4/2) = 2, ceil(2/2) = 1
    hovered, _ = Document("input 8x8x3\n(conv 8 3 stride 2 same) * 3\n").hover(2, 3)
    assert [line for line in hovered.split("\n") if line.startswith("- output:")] == [
        "- output: `(None, 4, 4, 8)`", "- output: `(None, 2, 2, 8)`", "- output: `(None, 1, 1, 8)`"
    ]
    assert "more rounds" not in hovered
    # 9,990 rounds were 9,990 explanations in one hover (4.9 s of a language server session)
    hovered, _ = Document("input 8x8x3\n(conv 8 3 same) * 9990\n").hover(2, 3)
    assert hovered.count("- output:") == 8 and hovered.endswith("… 9,982 more rounds of this layer")


def _analysis(document: Document):
    """What a Document gives the editor: every node's figures, the diagnostics, and with an error the model
    of the statements above it that hovers read (layer objects by their contents)."""
    found = [(d.span, d.message, d.code, d.related, d.severity, d.fixes) for d in document.diagnostics()]
    return _nodes(document.model), found, _nodes(getattr(document, "prefix_model", None))


def _nodes(model):
    nodes = None
    if model is not None:
        nodes = [
            (n.id, n.name, type(n.layer), n.layer.span, repr(sorted(n.layer.options.items())), n.inputs, n.in_shapes)
            + (n.info, n.implicit, n.blocks, n.shares, n.call_index)
            for n in model.nodes
        ]
        nodes = (nodes, model.outputs, model.inputs, model.name, model.source.text)
    return nodes


_EDITS = st.lists(
    st.tuples(st.sampled_from(["digit", "blank", "delete", "relu", "comment", "back"]), st.integers(0, 300)),
    min_size=1,
    max_size=6,
)


def _edited(text: str, original: str, kind: str, where: int) -> str:
    lines = text.split("\n")
    line = where % len(lines)
    if kind == "digit":
        digits = [i for i, c in enumerate(lines[line]) if c.isdigit()]
        if digits:
            at = digits[where % len(digits)]
            lines[line] = lines[line][:at] + str(1 + where % 9) + lines[line][at + 1 :]
    elif kind == "blank":
        lines.insert(line, "")
    elif kind == "delete":
        del lines[line]
    elif kind == "relu":
        lines[line] += " | relu"
    elif kind == "comment":
        lines[line] += "  # edited"
    else:
        return original
    return "\n".join(lines)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(EXAMPLES)), edits=_EDITS)
def test_keystroke_by_keystroke_the_editor_gives_a_fresh_analysis(name, edits):
    """The memo (expansion after each top-level statement, typed nodes, quiet nodes) changes no result:
    after each edit, good or broken, the document is the one analysed from nothing."""
    cache = ParseCache()
    text = EXAMPLES[name]
    Document(text, cache=cache)
    for kind, where in edits:
        text = _edited(text, EXAMPLES[name], kind, where)
        assert _analysis(Document(text, cache=cache)) == _analysis(Document(text))


def test_an_edit_below_a_statement_keeps_its_nodes():
    """Statements above the first changed one are neither expanded nor inferred again: their nodes are
    the last analysis's own objects. A change above them makes every node again."""
    cache = ParseCache()
    text = EXAMPLES["nasnet_mobile"]
    first = Document(text, cache=cache)
    head = Document(text.replace("dense 1000", "dense 1001"), cache=cache)
    assert head.model.nodes[-1].info.params == 1056 * 1001 + 1001  # Keras's Dense(1001) on 1056 channels
    kept = sum(new is old for new, old in zip(head.model.nodes, first.model.nodes))
    assert kept == len(first.model.nodes) - 1  # all but the dense
    top = Document(text.replace("input 224x224x3", "input 225x225x3"), cache=cache)
    assert not any(new is old for new, old in zip(top.model.nodes, head.model.nodes))


def test_a_label_on_an_earlier_statements_tensor_is_analysed_as_from_nothing():
    """`x: (... | (@stem))` names the stem's own layer `x`: a later statement changed an earlier one's node."""
    text = "input 8x8x1\nstem: conv 4 3\nx: (conv 4 1 | output | (@stem))\n@x | relu | output\n"
    cache = ParseCache()
    for edited in (text, text.replace("relu |", "relu | conv 2 1 |"), text.replace("conv 4 3", "conv 5 3"), text):
        document = Document(edited, cache=cache)
        assert _analysis(document) == _analysis(Document(edited))
        assert document.model.nodes[1].name == "x"


def test_param_values_from_outside_give_the_analysis_from_nothing():
    # The keystroke memo holds expansions made with the file's defaults; `width = 3` must not reuse them.
    cache = ParseCache()
    text = "param width = 2\ninput 8x8x3\nconv 4 * width 3x3\nconv width 1x1\n"
    Document(text, cache=cache)
    given = Document(text, cache=cache, params={"width": 3})
    assert given.model.nodes[1].shape == (6, 6, 12) and given.model.nodes[2].shape == (6, 6, 3)
    assert Document(text, cache=cache).model.nodes[1].shape == (6, 6, 8)


WARNED = """# warnings, one inside a block called twice
def cb(c):
    conv c 3 same
    bn

input 3x64x64
cb(8)
cb(8) | relu | relu  # two
flatten
dense 10 softmax
dropout 0.5
"""

_LINE_EDITS = st.lists(
    st.tuples(
        st.sampled_from(["", "  \t", "# note", "    # indented note", "\\", "\f", "delete", "digit", "ignore"]),
        st.integers(0, 300),
    ),
    min_size=1,
    max_size=8,
)


def _line_edited(text: str, kind: str, where: int) -> str:
    lines = text.split("\n")
    line = where % len(lines)
    if kind == "delete":
        if lines[line].strip() == "" or lines[line].lstrip().startswith("#"):
            del lines[line]
    elif kind == "digit":
        return _edited(text, text, "digit", where)
    elif kind == "ignore":
        lines[line] += "  # cnndsl: ignore[W104, W102]"
    else:
        lines.insert(line, kind)
    return "\n".join(lines)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["warned", *sorted(EXAMPLES)]), edits=_LINE_EDITS)
def test_blank_and_comment_lines_move_the_last_analysis_as_a_fresh_one_would(name, edits):
    """Lines the parser skips, added or taken away, move the last analysis's diagnostics (never asking for
    the model in between); each step's diagnostics, and at the end the model and hovers, are the fresh ones."""
    cache = ParseCache()
    text = WARNED if name == "warned" else EXAMPLES[name]
    Document(text, cache=cache)
    for kind, where in edits:
        text = _line_edited(text, kind, where)
        document = Document(text, cache=cache)
        fresh = Document(text)
        assert _analysis(document)[1] == _analysis(fresh)[1]
    assert _analysis(document) == _analysis(fresh)
    lines = text.split("\n")
    for line in range(1, len(lines) + 1, max(1, len(lines) // 12)):
        for column in (1, 3, 8):
            assert document.hover(line, column) == fresh.hover(line, column)
    assert document.symbols() == fresh.symbols()


def test_an_enter_above_the_model_moves_its_warnings_without_analysing_it_again():
    cache = ParseCache()
    first = Document(WARNED, cache=cache)
    moved = Document("\n\n" + WARNED, cache=cache)
    assert moved._unsettled is cache and moved._model is None  # nothing worked out yet
    assert [(d.span.line, d.code) for d in moved.diagnostics()] == [(5, "W102"), (8, "W101"), (10, "W104"), (13, "W106")]
    assert moved.diagnostics()[0].related[0][0] == Span(9, 1, 9, 6)  # the call `cb(8)`, moved too
    assert moved.diagnostics()[1].fixes[0].span == Span(8, 7, 8, 14)  # `3x64x64`, to be `64x64x3`
    assert moved.model.nodes[1].span == Span(5, 5, 5, 18)  # the model, when asked for
    assert first.model.nodes[1].span == Span(3, 5, 3, 18)
