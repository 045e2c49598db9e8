"""cnndsl fmt: idempotent, comments kept, the summary (line numbers included) unchanged.

The properties run over every example in examples/ (new ones included) and
random networks from netgen made messy; golden files pin the layout. After an
intended change to the layout, rewrite the expected files with

    python -m cnndsl.build

and review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_pages import cnn_snippets, snippet_file
from example_files import model_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netgen import networks

import cnndsl
from cnndsl.cli import main
from cnndsl.tools.fmt import comments, format_source, parsed_tokens
from cnndsl.views.summary import summary_dict

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = model_files()
GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "fmt"
CASES = sorted(p.name for p in GOLDEN.glob("*.cnn") if not p.name.endswith(".formatted.cnn"))


def comments_of(text: str) -> list[str]:
    text = text if text.endswith("\n") else text + "\n"
    return comments(text, parsed_tokens(text))


def assert_formats_well(text: str, name: str = "net.cnn") -> str:
    formatted = format_source(text, name)
    assert format_source(formatted, name) == formatted  # fmt(fmt(x)) == fmt(x)
    assert summary_dict(cnndsl.analyze(formatted, name)) == summary_dict(cnndsl.analyze(text, name))
    assert comments_of(formatted) == comments_of(text)
    assert all(line == line.rstrip() for line in formatted.splitlines())
    return formatted


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_every_example(path):
    text = path.read_text(encoding="utf-8")
    # The shipped examples are already in the canonical layout, so the pre-commit hook leaves them be.
    assert assert_formats_well(text, str(path)) == text


DOC_SNIPPETS = dict(cnn_snippets())


@pytest.mark.parametrize("name", sorted(DOC_SNIPPETS))
def test_every_language_snippet_in_the_docs(name):
    # New syntax reaches the manual's language reference first; as test_readme does, give it an input.
    snippet = DOC_SNIPPETS[name]
    has_input = re.search(r"^(\w+: *)?input ", snippet, flags=re.M)
    assert_formats_well(snippet if has_input else "input 56x56x64\n" + snippet, snippet_file(snippet))


@pytest.mark.parametrize("case", CASES)
def test_golden(case):
    text = (GOLDEN / case).read_text(encoding="utf-8")
    formatted = assert_formats_well(text, case)
    expected = GOLDEN / case.replace(".cnn", ".formatted.cnn")
    assert expected.exists(), f"missing {expected.name}; run python -m cnndsl.build"
    assert formatted == expected.read_text(encoding="utf-8")


@st.composite
def messy(draw, text: str) -> str:
    """The same program with random spaces, tabs, comments and blank lines where they cannot change it."""
    out = []
    for line in text.splitlines():
        # Between tokens, any run of spaces or tabs reads the same as one space.
        code = line.lstrip(" \t")
        words = code.split(" ")
        glue = [draw(st.sampled_from([" ", "  ", "\t", " \t  "])) for _ in words[1:]]
        body = line[: len(line) - len(code)] + words[0] + "".join(g + w for g, w in zip(glue, words[1:]))
        if draw(st.booleans()):
            body += draw(st.sampled_from(["  # note", "#x", "\t# a | b ; c", "   #  spaced  "]))
        if draw(st.integers(0, 4)) == 0:
            out.append(draw(st.sampled_from(["", "# a comment line", "   # indented comment", "\t"])))
        out.append(body + draw(st.sampled_from(["", " ", "\t"])))
    return "\n".join(out) + draw(st.sampled_from(["\n", "", "\n\n", "\r\n"]))


def as_block(text: str, indent: str) -> str:
    """The network's layers as the body of a block, called once after its input."""
    first, *rest = text.rstrip("\n").split("\n")
    return "def body():\n" + "".join(f"{indent}{line}\n" for line in rest) + f"{first}\nbody()\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), net=networks())
def test_random_networks_made_messy(data, net):
    assert_formats_well(net.text)
    assert_formats_well(data.draw(messy(net.text)))
    if net.text.count("\n") > 1:
        block = as_block(net.text, data.draw(st.sampled_from(["  ", "\t", "        "])))
        formatted = assert_formats_well(block)
        assert formatted.split("\n")[1].startswith("    ") and not formatted.split("\n")[1].startswith("     ")
        assert_formats_well(data.draw(messy(block)))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_more_spaces_inside_lines_change_nothing(path):
    text = path.read_text(encoding="utf-8")

    def widen(line: str) -> str:
        code, hash_, comment = line.partition("#")
        return re.sub(r"(?<=\S) (?=\S)", "   ", code) + hash_ + comment

    assert format_source("\n".join(map(widen, text.split("\n")))) == format_source(text)


def test_check_names_the_files_that_would_change(tmp_path, capsys):
    tidy = tmp_path / "tidy.cnn"
    tidy.write_text("input 8\ndense 4 | relu\n", encoding="utf-8")
    messy_file = tmp_path / "messy.cnn"
    messy_file.write_text("input 8\ndense   4|relu\n", encoding="utf-8")
    assert main(["fmt", "--check", str(tidy), str(messy_file)]) == 1
    assert capsys.readouterr().out == f"would reformat {messy_file}\n"
    assert messy_file.read_text(encoding="utf-8") == "input 8\ndense   4|relu\n"  # --check changes nothing
    assert main(["fmt", "--check", str(tidy)]) == 0


def test_write_rewrites_in_place_keeping_mode_and_symlinks(tmp_path, capsys):
    real = tmp_path / "real.cnn"
    real.write_text("input 8\r\ndense   4|relu  # out\r\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.cnn"
    link.symlink_to(real)
    assert main(["fmt", "-w", str(link)]) == 0
    assert capsys.readouterr().out == ""
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "input 8\ndense 4 | relu  # out\n"
    assert real.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_standard_input_and_output(capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("input 8\ndense 4|relu\n"))
    assert main(["fmt", "-"]) == 0
    assert capsys.readouterr().out == "input 8\ndense 4 | relu\n"


def test_a_file_that_does_not_parse_is_an_error_and_is_not_touched(tmp_path, capsys):
    bad = tmp_path / "bad.cnn"
    bad.write_text("input 8\ndense 4 |\n", encoding="utf-8")
    assert main(["fmt", "-w", str(bad)]) == 1
    assert capsys.readouterr().err.startswith(f"{bad}:2:10: unexpected end of line [E100]")
    assert bad.read_text(encoding="utf-8") == "input 8\ndense 4 |\n"
    assert main(["fmt", str(tmp_path / "missing.cnn")]) == 2


def test_a_model_error_that_parses_is_still_formatted(capsys):
    # A shape error is not a reason to refuse a layout: the tokens are the same program.
    assert format_source("input 4x4x3\nconv 8   5x5\n") == "input 4x4x3\nconv 8 5x5\n"


def test_negative_literals_and_subtraction_keep_their_meaning():
    text = "def b(n):\n    dense n-1 | dense n - 1 | reshape 2 -1\ninput 8\nb(9)\n"
    assert format_source(text) == text
    assert format_source("input 8\ndense 2 | reshape 2 -1\n") == "input 8\ndense 2 | reshape 2 -1\n"


def test_the_pre_commit_hooks_run_our_commands(tmp_path, capsys):
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    hooks = dict(re.findall(r"^- id: (\S+)\n(?:  .*\n)*?  entry: (.+)$", text, flags=re.M))
    assert hooks == {"cnndsl-check": "cnndsl check", "cnndsl-fmt": "cnndsl fmt -w"}
    assert re.findall(r"^  files: (.+)$", text, flags=re.M) == [r"\.cnn$", r"\.cnn$"]
    assert re.findall(r"^  language: (.+)$", text, flags=re.M) == ["python", "python"]
    model = tmp_path / "net.cnn"
    model.write_text("input 8\ndense   4|relu\n", encoding="utf-8")
    # pre-commit appends the staged file names to the entry
    assert main([*hooks["cnndsl-check"].split()[1:], str(model)]) == 0
    assert main([*hooks["cnndsl-fmt"].split()[1:], str(model)]) == 0
    assert model.read_text(encoding="utf-8") == "input 8\ndense 4 | relu\n"


def test_a_parenthesised_layer_argument_keeps_its_space():
    # without the space `conv(c + 8)` would be a block call: the formatter must not glue them
    text = "def b(c):\n    conv   (c + 8)/2 1x1 | dense 2*(3 + 1)\n"
    assert format_source(text) == "def b(c):\n    conv (c + 8)/2 1x1 | dense 2*(3 + 1)\n"


@st.composite
def odd_layout(draw, text: str) -> str:
    """The program with `\\` continuations (mid-statement, alone on a line, indented), tokens glued
    where the file had a space, tabs, form feeds and a final `\\`: valid or not, fmt must not crash."""
    out = []
    for line in text.splitlines():
        choice = draw(st.integers(0, 7))
        if choice == 0 and " " in line.strip():  # a continuation inside the statement
            at = draw(st.sampled_from([i for i, c in enumerate(line) if c == " " and line[:i].strip()]))
            line = line[:at] + draw(st.sampled_from([" \\\n", "\\\n", " \\\n    ", "\t\\\n\t"])) + line[at + 1 :]
        elif choice == 1:  # a line of `\` alone (joins the blank line it makes with the next)
            out.append(draw(st.sampled_from(["\\", "  \\", "\t\\", "    \\  "])))
        elif choice == 2 and " " in line.strip():  # two tokens glued: `-1_x`, `3|relu`
            at = draw(st.sampled_from([i for i, c in enumerate(line) if c == " " and line[:i].strip()]))
            line = line[:at] + line[at + 1 :]
        elif choice == 3:
            line = line.replace(" ", draw(st.sampled_from(["\t", " \t", "  "])))
        out.append(line)
    return "\n".join(out) + draw(st.sampled_from(["\n", "", "\\\n", "\n\\\n", "\n\\"]))


def assert_reads_the_same(text: str) -> None:
    """fmt of a text that parses gives the same model (every layer, option and line) and is idempotent;
    a text that does not parse gets its CnnError, as from `check`."""
    from cnndsl.views.diff import diff_models

    try:
        model = cnndsl.analyze(text, "net.cnn")
    except cnndsl.CnnError:
        try:
            formatted = format_source(text, "net.cnn")
        except cnndsl.CnnError:
            return  # it does not parse: fmt reports it as check does
        assert format_source(formatted, "net.cnn") == formatted
        return
    formatted = assert_formats_well(text)
    again = cnndsl.analyze(formatted, "net.cnn")
    assert diff_models(model, again).same
    assert [n.span.line for n in again.nodes] == [n.span.line for n in model.nodes]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), net=networks())
def test_continuations_glued_tokens_and_odd_whitespace(data, net):
    assert_reads_the_same(data.draw(odd_layout(net.text)))


def visible_text(text: str) -> str:
    """Everything but whitespace: what fmt may never add, drop or reorder."""
    return re.sub(r"[ \t\n\r\f]", "", text)


# lines put between a file's lines: a `\` alone at any indentation (it starts a logical line of its own,
# so its indentation opens or closes a block), comments, blanks, form feeds (which end a line break)
LOOSE_LINES = ["\\", "  \\", "    \\", "        \\", "\t\\", "# c", "    # c", "  # c", "", "   ", "\f", "\f  # c", "  \f"]
SMALL_BLOCK_EXAMPLES = [p for p in EXAMPLES if "def " in (t := p.read_text(encoding="utf-8")) and len(t) < 2500]


@st.composite
def loosened(draw, text: str) -> str:
    """`text` with LOOSE_LINES anywhere (block bodies included) and `\\` or a comment after code lines."""
    out = []
    for line in text.rstrip("\n").split("\n"):
        out += draw(st.lists(st.sampled_from(LOOSE_LINES), max_size=2))
        out.append(line + draw(st.sampled_from(["", "", "", " \\", "\\", "  # t"])))
    out += draw(st.lists(st.sampled_from(LOOSE_LINES), max_size=2))
    return "\n".join(out) + draw(st.sampled_from(["\n", "", "\\\n", "\n\n"]))


def assert_keeps_meaning_and_text(text: str) -> None:
    """fmt of a file that parses: idempotent, the same visible text in the same order, the same
    model (layer for layer, line for line) or the same errors on the same lines."""
    try:
        formatted = format_source(text, "net.cnn")
    except cnndsl.CnnError:
        with pytest.raises(cnndsl.CnnError):
            cnndsl.analyze(text, "net.cnn")  # it does not parse, and check says so too
        return
    assert format_source(formatted, "net.cnn") == formatted
    assert visible_text(formatted) == visible_text(text)
    assert comments_of(formatted) == comments_of(text)
    assert len(formatted.rstrip("\n").split("\n")) <= len(text.rstrip("\n").split("\n"))
    before, after = cnndsl.diagnose(text, "net.cnn"), cnndsl.diagnose(formatted, "net.cnn")
    assert [(e.code, e.span.line) for e in after.errors] == [(e.code, e.span.line) for e in before.errors]
    if before.model is not None:
        from cnndsl.views.diff import diff_models

        assert diff_models(before.model, after.model).same
        assert [n.span.line for n in after.model.nodes] == [n.span.line for n in before.model.nodes]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), net=networks())
def test_loose_lines_in_block_bodies_keep_meaning_and_text(data, net):
    text = net.text
    if text.count("\n") > 1 and data.draw(st.booleans()):
        text = as_block(text, data.draw(st.sampled_from(["  ", "\t", "    "])))
    assert_keeps_meaning_and_text(data.draw(loosened(text)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), path=st.sampled_from(SMALL_BLOCK_EXAMPLES))
def test_loose_lines_in_the_examples_keep_meaning_and_text(data, path):
    assert_keeps_meaning_and_text(data.draw(loosened(path.read_text(encoding="utf-8"))))


@pytest.mark.parametrize(
    "text, expected",
    [
        # the three files of issue 25 that fmt refused (exit 3, FormatChangedMeaning)
        ("input 8\n\\\nrelu\n", "input 8\n\\\nrelu\n"),
        ("input 8\n  \\\nrelu\n", "input 8\n    \\\n    relu\n"),
        ("input 8x8x3\nparam x = 1\nzeropad 3 -1_x\n", "input 8x8x3\nparam x = 1\nzeropad 3 -1_x\n"),
        ("input 8\n\\\n\nrelu\n", "input 8\n\\\n\nrelu\n"),
        ("input 8   \\\n\\\n  relu\n", "input 8 \\\n    \\\n    relu\n"),
        # a `\\` alone starts a logical line: its indentation is the indenter's, kept (they were exit 3)
        ("# a\n  \\\n# c\ndef \\\ntower():\n    relu\n", "    # a\n    \\\n# c\ndef \\\n    tower():\n    relu\n"),
        ("def b(c):\n    conv c 3\n\\\n   \n    relu\n", "def b(c):\n    conv c 3\n\\\n\n    relu\n"),
        ("input 8\nrelu\n\t\\", "input 8\nrelu\n    \\\n"),
        ("input 8\nrelu\\\n\n", "input 8\nrelu \\\n\n"),
        ("input 8\n\f\nrelu\n", "input 8\n\f\nrelu\n"),
    ],
)
def test_lines_of_a_lone_backslash_and_glued_tokens(text, expected):
    assert format_source(text) == expected  # the third parses but is no model (`_x` is no option)
    assert_reads_the_same(text)


def test_the_self_check_compares_syntax_trees_and_analyses_only_when_lines_moved(monkeypatch):
    """fmt's self-check parses the result again: the same tree, every node on its line, is the same
    model, so it does not analyse the file (twice: 2.6 s for 35 bytes that repeat a conv 9,990
    times); a tree whose lines moved still goes through the old check, the same summary."""
    import cnndsl.model.pipeline as pipeline
    import cnndsl.tools.fmt as fmt
    from cnndsl.core.source import Source
    from cnndsl.language.parse import parse

    def tree(text, lines):
        return fmt._tree(parse(Source.of(text, "t.cnn")), lines)

    assert tree("input 8\nconv  8 3\n", True) == tree("input 8\nconv 8 3\n", True)
    assert tree("input 8\nconv 8 3\n", False) != tree("input 8\nconv 8 4\n", False)
    assert tree("input 8\n\nconv 8 3\n", False) == tree("input 8\nconv 8 3\n", False)
    assert tree("input 8\n\nconv 8 3\n", True) != tree("input 8\nconv 8 3\n", True)

    analysed = []
    real = pipeline.analyze
    monkeypatch.setattr(pipeline, "analyze", lambda *a, **k: analysed.append(1) or real(*a, **k))
    assert format_source("input 8x8x3\n(conv   8 3 same) * 9990\n") == "input 8x8x3\n(conv 8 3 same) * 9990\n"
    assert analysed == []
    # a layout that drops a blank line moves the conv up one line: the summary decides, and its
    # layers' lines differ; an original that is no model (a conv on a vector) passes on its tokens
    monkeypatch.setattr(fmt, "_layout", lambda text, tokens: text.replace("\n\n", "\n", 1))
    with pytest.raises(fmt.FormatChangedMeaning, match="different summary"):
        format_source("input 8x8x3\n\nconv 8 3\n")
    assert len(analysed) == 2
    assert format_source("input 8\n\nconv 8 3\n") == "input 8\nconv 8 3\n"
    assert len(analysed) == 3
    # a layout that changes a number is caught before any analysis, by the tokens
    monkeypatch.setattr(fmt, "_layout", lambda text, tokens: text.replace("3", "4"))
    with pytest.raises(fmt.FormatChangedMeaning):
        format_source("input 8\nconv 8 3\n")
