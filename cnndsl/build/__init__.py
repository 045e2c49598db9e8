"""Every generated file of the project, and the one command that rewrites them: `python -m cnndsl.build`.

    python -m cnndsl.build           # rewrite every stale generated file
    python -m cnndsl.build --check   # list the stale ones; exit 1 if any

Each `Generated` knows its file and how to make its text; tests/build/test_build.py
fails naming every stale file and this command. Files of the source tree only
(docs, the README, the editors, the golden files) are skipped in an installed package.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
COMMAND = "python -m cnndsl.build"
LANGUAGE_PAGE = "docs/manual/language.md"  # holds the layer table between its markers


class Generated:
    def __init__(self, name: str, paths, make, current=None):
        self.name, self._paths, self._make, self._current = name, paths, make, current

    def paths(self) -> list[str]:
        return [os.path.join(ROOT, p) for p in (self._paths() if callable(self._paths) else self._paths)]

    def texts(self) -> dict[str, str]:
        return dict(zip(self.paths(), self._make()))

    def _compare(self) -> tuple[list[str], dict[str, str]]:
        """The stale files' paths, and the texts made to tell ({} when `current` could tell without them)."""
        paths = self.paths()
        if not all(os.path.isdir(os.path.dirname(p)) for p in paths):
            return [], {}  # not a source tree
        if self._current is not None:
            return ([] if self._current() else paths), {}
        texts = self.texts()
        return [path for path, text in texts.items() if _read(path) != text], texts

    def stale(self) -> list[str]:
        return [os.path.relpath(path, ROOT) for path in self._compare()[0]]

    def update(self) -> list[str]:
        """Rewrite the stale files, with the texts made once: the ones compared are the ones written."""
        stale, texts = self._compare()
        if stale and not texts:
            texts = self.texts()
        for path in stale:
            temporary = path + ".tmp"
            with open(temporary, "w", encoding="utf-8") as file:
                file.write(texts[path])
            os.replace(temporary, path)
        return [os.path.relpath(path, ROOT) for path in stale]


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except FileNotFoundError:
        return None


def _parser_texts() -> list[str]:
    from ..language import parser_build
    from ..language.parse import grammar_path

    with open(grammar_path(), encoding="utf-8") as file:
        return list(parser_build._generate_both(file.read()))


def _parser_current() -> bool:
    # State numbers differ from build to build, so the parser is current when built from this grammar.
    from ..language import _generated_parser, _parse_tables, parser_build
    from ..language.parse import grammar_path

    with open(grammar_path(), encoding="utf-8") as file:
        digest = parser_build.grammar_digest(file.read())
    return _generated_parser.GRAMMAR_SHA256 == digest == _parse_tables.GRAMMAR_SHA256


def _errors_page() -> list[str]:
    from .catalogue import page

    return [page()]


def _layer_table() -> list[str]:
    from ..views.reference import BEGIN, END, markdown

    with open(os.path.join(ROOT, *LANGUAGE_PAGE.split("/")), encoding="utf-8") as file:
        text = file.read()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return [f"{head}{BEGIN}\n{markdown()}\n{END}{tail}"]


def _textmate() -> list[str]:
    from ..language.syntax import textmate_json

    return [textmate_json()]


def _golden_cases(folder: str, suffix: str) -> list[str]:
    path = os.path.join(ROOT, folder)
    if not os.path.isdir(path):
        return []
    return sorted(name for name in os.listdir(path) if name.endswith(".cnn") and not name.endswith(suffix))


_TARGETS = {"keras": "keras.py", "pytorch": "torch.py"}


def _emit_golden_paths() -> list[str]:
    return [
        f"tests/golden/{case[:-4]}.{suffix}" for case in _golden_cases("tests/golden", "@") for suffix in _TARGETS.values()
    ]


def _emit_goldens() -> list[str]:
    from .. import analyze_file
    from ..emit import generate

    out = []
    for case in _golden_cases("tests/golden", "@"):
        model = analyze_file(os.path.join(ROOT, "tests", "golden", case))
        out += [generate(model, target) for target in _TARGETS]
    return out


def _fmt_golden_paths() -> list[str]:
    cases = _golden_cases("tests/golden/fmt", ".formatted.cnn")
    return [f"tests/golden/fmt/{case[:-4]}.formatted.cnn" for case in cases]


def _fmt_goldens() -> list[str]:
    from ..tools.fmt import format_source

    out = []
    for case in _golden_cases("tests/golden/fmt", ".formatted.cnn"):
        with open(os.path.join(ROOT, "tests", "golden", "fmt", case), encoding="utf-8") as file:
            out.append(format_source(file.read(), case))
    return out


def _resnet50_examples() -> list[str]:
    """examples/resnet50.cnn emitted to both targets: the generated code the docs show."""
    from .. import analyze_file
    from ..emit import generate

    model = analyze_file(os.path.join(ROOT, "examples", "resnet50.cnn"))
    return [generate(model, "pytorch"), generate(model, "keras")]


def _plain_commands() -> list[str]:
    """The defaults argparse gives each command, for the command line's path that skips argparse."""
    from .. import cli

    lines = [
        "# Generated by `python -m cnndsl.build` from the parser in cnndsl/cli.py: for each command without",
        "# required options taking a value, its positionals (name, nargs), every option's default, its",
        "# value-less flags (option: number, dest, value) and its mutually exclusive groups of flags, as",
        "# argparse gives them. `cnndsl summary lenet.cnn` and `cnndsl emit --pytorch x.cnn` are read",
        "# from this table without argparse.",
        "# Do not edit: change cnndsl/cli.py and run that command again.",
        "",
        "PLAIN_COMMANDS = {",
    ]
    for name, (positionals, defaults, flags, groups) in cli.plain_commands().items():
        lines.append(f"    {name!r}: (")
        lines.append(f"        {positionals!r},")
        lines.append("        {" + ", ".join(f"{key!r}: {value!r}" for key, value in defaults.items()) + "},")
        lines.append("        {" + ", ".join(f"{key!r}: {value!r}" for key, value in flags.items()) + "},")
        lines.append(f"        {groups!r},")
        lines.append("    ),")
    lines.append("}")
    return ["\n".join(lines) + "\n"]


GENERATED = [
    Generated(
        "parser", ["cnndsl/language/_generated_parser.py", "cnndsl/language/_parse_tables.py"], _parser_texts, _parser_current
    ),
    Generated("command-line defaults", ["cnndsl/_plain_commands.py"], _plain_commands),
    Generated("error catalogue", ["docs/errors.md"], _errors_page),
    Generated("manual layer table", [LANGUAGE_PAGE], _layer_table),
    Generated("TextMate grammar", ["editors/vscode/syntaxes/cnndsl.tmLanguage.json"], _textmate),
    Generated("emitted-code golden files", _emit_golden_paths, _emit_goldens),
    Generated("fmt golden files", _fmt_golden_paths, _fmt_goldens),
    Generated("emitted ResNet50 in docs", ["docs/resnet50_pytorch.py", "docs/resnet50_keras.py"], _resnet50_examples),
]


def stale() -> list[str]:
    return [path for generated in GENERATED for path in generated.stale()]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv not in ([], ["--check"]):
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    if argv == ["--check"]:
        found = stale()
        for path in found:
            print(f"stale: {path}")
        print(f"{len(found)} stale; run: {COMMAND}" if found else "every generated file is current")
        return 1 if found else 0
    for generated in GENERATED:
        for path in generated.update():
            print(f"wrote {path} ({generated.name})")
    return 0
