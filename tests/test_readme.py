"""The README and the manual (docs/manual) stay true: the layer table is current and the examples run."""

from __future__ import annotations

import re

from docs_pages import README, cnn_snippets, docs_text, page, pages, snippet_file

import cnndsl
from cnndsl.layers import REGISTRY
from cnndsl.views.reference import BEGIN, END, markdown


def test_layer_table_is_current():
    text = page("language.md")
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown(), "run: python -m cnndsl.build"


def test_every_layer_keyword_is_in_the_reference():
    text = page("language.md")
    for keyword in REGISTRY:
        assert f"`{keyword}`" in text, keyword


def test_language_snippets_in_the_readme_and_the_manual_are_valid():
    """Each ```cnn block is a valid network (given an input when it has none)."""
    snippets = cnn_snippets()
    assert sum(name.startswith("README-") for name, _ in snippets) >= 1
    assert sum(name.startswith("language-") for name, _ in snippets) >= 8
    for name, snippet in snippets:
        body = snippet if re.search(r"^(\w+: *)?input ", snippet, flags=re.M) else "input 56x56x64\n" + snippet
        assert cnndsl.analyze(body, snippet_file(snippet)).total >= 0, name


def test_the_readme_is_a_front_page_that_links_every_manual_page():
    text = README.read_text(encoding="utf-8")
    assert len(text) < 16_000
    for path in pages()[1:]:
        assert f"](docs/manual/{path.name})" in text, path.name


def test_every_relative_link_of_the_docs_reaches_a_file():
    for path in pages():
        text = path.read_text(encoding="utf-8")
        targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text) + re.findall(r'src="([^"]+)"', text)
        for target in targets:
            assert (path.parent / target).exists(), (path.name, target)


def test_the_sample_summary_is_what_the_command_prints(capsys):
    from cnndsl.cli import main

    text = README.read_text(encoding="utf-8")
    command = "$ cnndsl summary examples/lenet.cnn\n"
    shown = text.split(command, 1)[1].split("```", 1)[0]
    assert main(["summary", str(README.parent / "examples" / "lenet.cnn")]) == 0
    assert capsys.readouterr().out == shown


def test_the_error_sessions_are_what_the_command_prints(tmp_path, monkeypatch, capsys):
    from cnndsl.cli import main

    text = docs_text()
    sessions = re.findall(r"```\n\$ cat (\S+)\n(.*?)\$ cnndsl check \1\n(.*?)```", text, flags=re.S)
    assert len(sessions) >= 3
    monkeypatch.chdir(tmp_path)
    for name, body, shown in sessions:
        (tmp_path / name).write_text(body, encoding="utf-8")
        assert main(["check", name]) == 1
        assert capsys.readouterr().err == shown, name


def test_the_warning_sessions_are_what_the_command_prints(tmp_path, monkeypatch, capsys):
    from cnndsl.cli import main

    text = docs_text()
    sessions = re.findall(r"```\n\$ cat (\S+)\n(.*?)\$ cnndsl check --warnings error \1\n(.*?)```", text, flags=re.S)
    assert len(sessions) >= 1
    monkeypatch.chdir(tmp_path)
    for name, body, shown in sessions:
        (tmp_path / name).write_text(body, encoding="utf-8")
        assert main(["check", "--warnings", "error", name]) == 1
        assert capsys.readouterr().err == shown, name
        assert main(["check", name]) == 0
        capsys.readouterr()


def test_the_tutorials_sessions_are_what_the_commands_print(capsys):
    """Each ```-block of the tutorial that starts with `$ cnndsl ...` holds that command's whole output."""
    import shlex

    from cnndsl.cli import main

    sessions = re.findall(r"```\n\$ cnndsl (.*?)\n(.*?)```", page("tutorial.md"), flags=re.S)
    assert len(sessions) >= 6
    root = README.parent
    for command, shown in sessions:
        args = [str(root / a) if a.startswith("examples/") else a for a in shlex.split(command)]
        assert main(args) == 0, command
        assert capsys.readouterr().out == shown, command
    # the seed tutorial's numbers, each with its arithmetic
    for worked in ("(5·5·3 + 1)·8 = 608", "(5·5·8 + 1)·16 = 3,216", "400·120 + 120 = 48,120", "84·10 + 10 = 850"):
        assert worked in page("tutorial.md"), worked
