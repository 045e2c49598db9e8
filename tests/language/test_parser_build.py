"""The parser shipped in the package is current, and nothing is read from a temp-dir cache.

cnndsl/language/_generated_parser.py and cnndsl/language/_parse_tables.py are built from
grammar/cnndsl.lark by `python -m cnndsl.build`; these tests fail
whenever they drift apart.
"""

from __future__ import annotations

import functools
import glob
import os
import pickle
import subprocess
import sys
from pathlib import Path

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netgen import networks
from syntax_roles import sample_texts

from cnndsl.core.source import Source
from cnndsl.language import _generated_parser, _parse_tables
from cnndsl.language import parser_build as build_parser
from cnndsl.language.parse import _fast_tables, _Indenter, _parser, _tree_transformer, grammar_path

ROOT = Path(__file__).resolve().parent.parent.parent
REGENERATE = (
    "grammar/cnndsl.lark changed: run `python -m cnndsl.build` and commit"
    " cnndsl/language/_generated_parser.py and cnndsl/language/_parse_tables.py"
)
GRAMMAR = Path(grammar_path()).read_text(encoding="utf-8")
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn"))
# Inputs the parser must reject, each at the same place as a parser built from the grammar.
BROKEN = [
    "input 32x32x3 | | dense 4\n",
    "input 8x8x1\nconv 8 3 (same))\n",
    "def f(c):\n    conv c 3\n      dense 2\ninput 8x8x1 | f(2)\n",
    "input 8x8x1 | add(conv 8 3; \n",
    "input 8x8x1 | conv 8 3 $\n",
    "input 8x8x1 | dense 4 *\n",
]


def test_shipped_parser_was_generated_from_this_grammar():
    assert _generated_parser.GRAMMAR_SHA256 == build_parser.grammar_digest(GRAMMAR), REGENERATE
    assert _parse_tables.GRAMMAR_SHA256 == build_parser.grammar_digest(GRAMMAR), REGENERATE


def test_shipped_tables_are_the_shipped_parsers():
    # State numbers differ from build to build: both files must come from the same one.
    parser = _generated_parser.Lark_StandAlone(postlex=_Indenter())
    expected = build_parser.generate_tables(parser, _generated_parser.GRAMMAR_SHA256, _generated_parser.LARK_VERSION)
    shipped = Path(build_parser.tables_path()).read_text(encoding="utf-8")
    # COMPILED is what the building Python's `re` made of the scanner: checked by the next test.
    assert _without_compiled(shipped) == _without_compiled(expected), REGENERATE


def _without_compiled(text: str) -> str:
    lines = text.split("\n")
    assert sum(line.startswith("COMPILED = ") for line in lines) == 1
    return "\n".join(line for line in lines if not line.startswith("COMPILED = "))


def test_the_scanner_is_what_re_compiles(monkeypatch):
    import re

    from cnndsl.language.parse import _scanner

    compiled = [re.compile(pattern, flags) for pattern, flags in _parse_tables.SCANNER]
    assert _scanner(_parse_tables) == compiled  # a Pattern equals another with the same text, flags and program
    version, magic, codesize, _ = _parse_tables.COMPILED
    import _sre

    if (version, magic, codesize) == (tuple(sys.version_info[:2]), _sre.MAGIC, _sre.CODESIZE):
        # On the Python that built the tables, the stored programs are used: nothing is compiled.
        monkeypatch.setattr(re, "compile", None)
        assert _scanner(_parse_tables) == compiled
    # A program `_sre` refuses is compiled instead.
    broken = type(_parse_tables)("broken")
    broken.SCANNER = _parse_tables.SCANNER
    broken.COMPILED = (tuple(sys.version_info[:2]), _sre.MAGIC, _sre.CODESIZE, ((32, (1, 2, 3), 0, {}),))
    monkeypatch.undo()
    assert _scanner(broken) == compiled


def test_tables_of_a_fresh_build_have_the_same_lexer_and_rules():
    # generate_tables reads a lark.Lark as it reads the standalone parser.
    fresh = build_parser.generate_tables(_fresh_parser(), "digest", lark.__version__)
    namespace = {}
    exec(compile(fresh, "fresh tables", "exec"), namespace)  # noqa: S102 - text this test just generated
    for name in ("SCANNER", "IGNORE", "NEWLINES", "KEYWORDS"):
        assert namespace[name] == getattr(_parse_tables, name), name
    assert sorted(namespace["RULES"]) == sorted(_parse_tables.RULES)
    assert len(namespace["STATES"]) == len(_parse_tables.STATES)


def _terminals(parser):
    return sorted(
        (t.name, t.pattern.type, t.pattern.value, tuple(t.pattern.flags), t.priority) for t in parser.terminals
    )


def _rules(parser):
    return sorted(
        (
            str(rule.origin.name),
            tuple((s.name, s.is_term, getattr(s, "filter_out", False)) for s in rule.expansion),
            rule.alias,
            rule.options.expand1,
            rule.options.keep_all_tokens,
            tuple(rule.options.empty_indices),
        )
        for rule in parser.rules
    )


def test_shipped_parser_has_the_grammars_terminals_and_rules():
    # The LALR tables' state numbering differs from build to build; their terminals and rules do not.
    fresh = _fresh_parser()
    assert _terminals(_shipped_tree_parser()) == _terminals(fresh), REGENERATE
    assert _rules(_shipped_tree_parser()) == _rules(fresh), REGENERATE


def test_shipped_module_never_imports_pickle():
    shipped = Path(build_parser.generated_path()).read_text(encoding="utf-8")
    assert "import pickle" not in shipped
    assert "import tempfile" not in shipped


@functools.cache
def _fresh_parser():
    return lark.Lark(GRAMMAR, postlex=_Indenter(), propagate_positions=True, **build_parser.LARK_OPTIONS)


@functools.cache
def _shipped_tree_parser():
    """The shipped tables building Lark trees, as Lark's own tree builder does."""
    return _generated_parser.Lark_StandAlone(postlex=_Indenter(), propagate_positions=True)


def _plain(node):
    """A parse tree as nested tuples, with every position, comparable across Lark builds."""
    if hasattr(node, "data"):
        meta = node.meta
        where = (meta.line, meta.column, meta.end_line, meta.end_column) if not meta.empty else None
        return (str(node.data), where, tuple(_plain(child) for child in node.children))
    if node is None:
        return None
    return (node.type, str(node), node.line, node.column, node.end_line, node.end_column)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_shipped_parser_builds_the_same_tree_as_the_grammar(path):
    text = path.read_text(encoding="utf-8")
    assert _plain(_shipped_tree_parser().parse(text)) == _plain(_fresh_parser().parse(text)), REGENERATE


def _failure(parser, text):
    try:
        parser.parse(text)
    except Exception as error:  # noqa: BLE001 - comparing which failure each parser reports
        token = getattr(error, "token", None)
        return (
            type(error).__name__,
            getattr(error, "line", None),
            getattr(error, "column", None),
            sorted(getattr(error, "expected", None) or ()),
            getattr(token, "type", None),
        )
    return None


@pytest.mark.parametrize("text", BROKEN)
def test_shipped_parser_rejects_the_same_input_at_the_same_place(text):
    shipped = _failure(_shipped_tree_parser(), text)
    assert shipped is not None
    assert shipped == _failure(_fresh_parser(), text), REGENERATE
    assert _failure(_parser(), text) == shipped


# Every construct of the grammar, for the tree builder below.
CONSTRUCTS = [
    "input 8x8x3 | conv 8 3 same | bn eps 1e-3 | relu\n",
    "def f(c, k=3, s=c // 2 + 1,):\n    conv c k stride s\n\n    bn\nimput 1\n",
    "def g(c): conv c*2-1 1x1 | dense c/2\ninput 4x4x1 | g(c=4) * 2 | g(2,)\n",
    "input 8x8x3\nx: add(identity; conv 3 1 same | relu;) | concat(a: dense 2; (gap | dense 2) * 3)\n",
    "def h(n): dense n\ninput 8x8x3 | reshape 4 -1 offset=-1 | rescale 0.5 scale=.5 | h(-(2)) | h(n=-2) | dense -2\n",
    "input 8x8x3 | conv 8 \\\n  3 # a comment\n\n  # indented comment\n    dense 4\n",
    "  input 8x8x3\n  dense 4\n",
    "",
]


def _reference_ast(text):
    """Lark's tree with propagate_positions, then the Transformer pass: how cnndsl 0.1.0 parsed."""
    return _tree_transformer().transform(_shipped_tree_parser().parse(text))


@pytest.mark.parametrize(
    "text",
    CONSTRUCTS + [p.read_text(encoding="utf-8") for p in EXAMPLES],
    ids=[f"construct{i}" for i in range(len(CONSTRUCTS))] + [p.name for p in EXAMPLES],
)
def test_ast_built_during_the_parse_equals_the_transformer_pass(text):
    from cnndsl.language.parse import parse

    text = text if text.endswith("\n") else text + "\n"
    assert parse(Source.of(text, "t.cnn")) == _reference_ast(text)


def _old_cache_path(tmp: Path, monkeypatch) -> Path:
    """Where cnndsl up to 0.1.0 cached its grammar: Lark's cache=True file in the temp dir."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    lark.Lark(GRAMMAR, postlex=_Indenter(), propagate_positions=True, cache=True, **build_parser.LARK_OPTIONS)
    (path,) = glob.glob(str(tmp / ".lark_cache_*.tmp"))
    return Path(path)


class _Planted:
    """What another user could leave in a shared temp dir: unpickling it runs code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_a_file_planted_at_the_old_cache_path_is_never_read(tmp_path, monkeypatch):
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    cache = _old_cache_path(shared, monkeypatch)
    marker = tmp_path / "planted-code-ran"
    digest = cache.read_bytes().split(b"\n", 1)[0]
    planted = digest + b"\n" + pickle.dumps(_Planted(marker))
    cache.write_bytes(planted)

    # The plant is real: the way cnndsl 0.1.0 built its parser runs it.
    assert _old_cache_path(shared, monkeypatch) == cache
    assert marker.read_text() == "ran"
    marker.unlink()
    cache.write_bytes(planted)

    probe = (
        "import sys\n"
        "touched = []\n"
        "def watch(event, args):\n"
        f"    if event == 'open' and str(args[0]).startswith({str(shared)!r}): touched.append(str(args[0]))\n"
        "    if event.startswith('pickle.'): touched.append(event)\n"
        "sys.addaudithook(watch)\n"
        "from cnndsl.cli import main\n"
        "status = main(['summary', 'examples/lenet.cnn'])\n"
        "sys.stderr.write(repr((status, touched)))\n"
    )
    env = {**os.environ, "TMPDIR": str(shared), "TEMP": str(shared), "TMP": str(shared)}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert result.stderr == "(0, [])"
    assert "Total params: 62,958" in result.stdout
    assert not marker.exists()


SAMPLES = sample_texts()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_fast_loop_parses_every_example_itself(name):
    # parse() falls back to Lark's loop only to report an error; valid files never need it.
    # Every example and README snippet: the same AST, with the same spans, as Lark's tree made.
    from cnndsl.language.parse import _parse_fast

    text = SAMPLES[name]
    text = text if text.endswith("\n") else text + "\n"
    for plain in (True, False):  # with plain lines read whole, and token by token
        assert _parse_fast(_fast_tables(), text, plain=plain).value == _reference_ast(text), name


@pytest.mark.parametrize("text", BROKEN)
def test_the_fast_loop_hands_errors_to_lark(text):
    from cnndsl.language.parse import _parse_fast, _Unparsed

    with pytest.raises(_Unparsed):
        _parse_fast(_fast_tables(), text, plain=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks(max_layers=8, max_depth=2))
def test_fast_loop_equals_lark_and_transformer_on_random_networks(net):
    from cnndsl.language.parse import _parse_fast

    assert _parse_fast(_fast_tables(), net.text, plain=True).value == _reference_ast(net.text)


def test_where_one_scanner_differs_from_the_contextual_lexer_larks_loop_parses():
    # After `c` in a call, Lark's per-state lexer reads `-1` as minus and 1; the
    # fast loop's single scanner reads a negative number the state does not take.
    from cnndsl.language.parse import _parse_fast, _Unparsed, parse

    text = "def f(c): dense c\ninput 8 | f(c -1)\n"
    with pytest.raises(_Unparsed):
        _parse_fast(_fast_tables(), text, plain=True)
    assert parse(Source.of(text, "t.cnn")) == _reference_ast(text)


def test_the_fast_loop_parses_the_blocks_guide_as_lark_does():
    import re

    from cnndsl.language.parse import _parse_fast

    guide = (ROOT / "docs" / "blocks.md").read_text(encoding="utf-8")
    snippets = re.findall(r"```cnn\n(.*?)```", guide, flags=re.S)
    assert len(snippets) >= 5
    for snippet in snippets:
        assert _parse_fast(_fast_tables(), snippet, plain=True).value == _reference_ast(snippet), snippet


def test_only_start_can_be_empty():
    # The fast reductions take every child but `start`'s to cover some text (parse._CAN_BE_EMPTY).
    from cnndsl.language.parse import _CAN_BE_EMPTY

    rules = _fresh_parser().rules
    empty: set[str] = set()
    while True:
        more = {r.origin.name for r in rules if all(s.name in empty for s in r.expansion)} - empty
        if not more:
            break
        empty |= more
    assert empty == set(_CAN_BE_EMPTY)
    assert not any(s.name in empty for r in rules for s in r.expansion)


# Pieces of text that exercise every token, indentation, brackets, comments and line joins.
SOUP = [
    "input", "8x8x3", "conv", "8", "3x3", "same", "relu", "bn", "dense", "-1", "-", "1.5", ".5", "1e-3",
    "def", "f", "g(", "c", "k=2", "as", "i", "add(", "concat(", "identity", "@f", "a:", "b{c}_x:",
    "|", ";", "(", ")", ",", ":", "=", "*", "/", "//", "+", "\n", "\n    ", "\n  ", "\n\t", "  ", "\t",
    "# note", "\\\n", "\r\n", "x", "1x", "2 *", "reuse",
]  # fmt: skip


@settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SOUP), max_size=40).map(" ".join))
def test_the_fast_loop_builds_what_lark_builds_or_hands_over(text):
    # Valid or not: whatever the fast loop returns is Lark's tree exactly; all else goes to Lark's loop.
    from cnndsl.language.parse import _parse_fast, _Unparsed

    text = text if text.endswith("\n") else text + "\n"
    try:
        fast = _parse_fast(_fast_tables(), text, plain=True).value
    except _Unparsed:
        return
    assert fast == _reference_ast(text)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["conv 8 3x3 same relu", "bn", "dense 4", "(conv 8 3 | relu) * 2", "add(identity; conv 3 1)"]),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["\n", "\n\n", "  # c\n", " \\\n  "]),
)
def test_the_fast_loop_builds_what_lark_builds_on_long_pipelines(lines, joint):
    # These texts need nothing of Lark's contextual lexer: the fast loop parses each one Lark parses.
    from cnndsl.language.parse import _parse_fast, _Unparsed

    text = "input 8x8x3\n" + joint.join(lines) + "\n"
    try:
        reference = _reference_ast(text)
    except _generated_parser.UnexpectedInput:  # `relu \\\n (conv ...)`: a spaced `(` starts an argument
        with pytest.raises(_Unparsed):
            _parse_fast(_fast_tables(), text, plain=True)
        return
    assert _parse_fast(_fast_tables(), text, plain=True).value == reference


# Lines a long file is made of, and their near misses: what `_parse_fast` reads line by line
# without the tables must be exactly what the tables make of it.
LINE_WORDS = 2 * ["conv", "bn", "relu", "same", "8", "3x3", "32x32x3", "b"] + [
    "conv", "bn", "dense", "relu", "same", "input", "x", "x3", "_a1", "def", "as", "add", "adder",
    "residual", "concat", "8", "08", "3x3", "32x32x3", "3x", "1e5", "1.5", "-1", "4x-1", "٣", "a{b}",
    "f(2)", "(c)", "c*2", "|", "#c", "?x?x3", "3x?",
]  # fmt: skip
LINE_GAPS = [" ", " ", " ", "  ", "\t", " \\\n "]
LINE_BREAKS = ["\n", "\n", "\n\n", " \n", "\n# note\n", " # note\n", "\n    ", "\r\n"]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(st.sampled_from(LINE_GAPS), st.sampled_from(LINE_WORDS)), min_size=1, max_size=6),
            st.sampled_from(LINE_BREAKS),
        ),
        max_size=8,
    ),
    st.booleans(),
)
def test_the_fast_loop_reads_plain_lines_as_the_tables_do(lines, with_block):
    from cnndsl.core.errors import CnnError
    from cnndsl.language.parse import _parse_fast, _Unparsed

    text = "def b(c):\n    conv c 3\n    bn\n" if with_block else ""
    for words, line_break in lines:
        text += "".join(gap + word for gap, word in words)[1:] + line_break
    text = text if text.endswith("\n") else text + "\n"

    def outcome(read):
        try:
            return read(text)
        except CnnError as error:  # a literal out of bounds, located the same way
            return (type(error).__name__, str(error))

    try:
        fast = outcome(lambda t: _parse_fast(_fast_tables(), t, plain=True).value)
    except _Unparsed:
        return  # Lark's loop reads it, or reports its error
    assert fast == outcome(_reference_ast)


def test_at_a_space_only_an_ignored_terminal_matches():
    # `_parse_fast` skips one space after a token without asking the scanner: exact only while
    # no terminal but an ignored one can start with a space (lookbehinds see the text before).
    import re

    fresh = _fresh_parser()
    ignored = set(fresh.ignore_tokens)
    for terminal in fresh.terminals:
        pattern = re.compile(terminal.pattern.to_regexp())
        for before in ("conv", "8", "(", "=", " ", "\n", ")"):
            for after in (" ", " 8", " x", " (", " -1", " #", " \\\n", " {b}", " .5", " ;"):
                text = before + after
                if terminal.name in ignored:
                    continue
                assert pattern.match(text, len(before)) is None, (terminal.name, text)
    assert any(re.fullmatch(t.pattern.to_regexp(), " \t") for t in fresh.terminals if t.name in ignored)


def test_plain_lines_are_read_whole():
    # `_plain_line_pattern` checks the terminals it relies on against the shipped scanner, and
    # turns the plain-line path off when they change: review it against the new grammar, then
    # update the terminals it expects (a long file's parse takes ~4x longer without it).
    from cnndsl.language.parse import _plain_line_pattern

    match, excluded = _plain_line_pattern(_fast_tables())
    assert match is not None, "the grammar's NAME, DIMS, FLOAT, MERGE_OP or _NL changed: review _plain_line_pattern"
    assert {"def", "as", "add", "residual"} <= excluded
    assert match("conv 8 3x3 same relu\nbn\n").group("word", "rest") == ("conv", " 8 3x3 same relu")
