"""The VS Code extension's TextMate grammar, run by vscode-textmate and vscode-oniguruma as VS Code runs it.

CI installs them with `npm ci` in editors/vscode (.ci/run). The grammar is
generated from the layer registry: `python -m cnndsl.build`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from syntax_roles import roles, sample_texts

from cnndsl.language.syntax import TEXTMATE_PATH, textmate_json

ROOT = Path(__file__).resolve().parent.parent.parent
VSCODE = ROOT / "editors" / "vscode"
SCOPE_ROLES = {
    "support.class.layer.cnndsl": "layer",
    "entity.name.function.cnndsl": "block",
    "keyword.control.merge.cnndsl": "merge",
    "entity.name.label.cnndsl": "label",
}
TEXTS = sample_texts()


def test_the_grammar_is_generated_from_the_registry():
    assert (ROOT / TEXTMATE_PATH).read_text(encoding="utf-8") == textmate_json(), "run: python -m cnndsl.build"


def test_the_extension_declares_the_language_grammar_and_server():
    manifest = json.loads((VSCODE / "package.json").read_text())
    [language] = manifest["contributes"]["languages"]
    assert language["extensions"] == [".cnn"]
    [grammar] = manifest["contributes"]["grammars"]
    assert (VSCODE / grammar["path"]).resolve() == (ROOT / TEXTMATE_PATH).resolve()
    assert manifest["contributes"]["configuration"]["properties"]["cnndsl.server.command"]["default"] == [
        "cnndsl",
        "lsp",
    ]
    # the language client is bundled into the one file the extension runs (see the next test)
    assert "vscode-languageclient" in manifest["devDependencies"] and "dependencies" not in manifest
    lock = json.loads((VSCODE / "package-lock.json").read_text())
    assert {"node_modules/vscode-textmate", "node_modules/vscode-oniguruma"} <= set(lock["packages"])


@pytest.fixture(scope="module")
def tokenized(tmp_path_factory) -> dict[str, list]:
    node = shutil.which("node")
    if node is None or not (VSCODE / "node_modules" / "vscode-textmate").is_dir():
        if os.environ.get("CNNDSL_REQUIRE_ORACLES") == "1":
            pytest.fail("CI must run `npm ci` in editors/vscode (node and the npm packages are missing)")
        pytest.skip("node or editors/vscode/node_modules is missing (run `npm ci` in editors/vscode)")
    folder = tmp_path_factory.mktemp("cnn")
    paths = {}
    for name, text in TEXTS.items():
        paths[name] = folder / f"{name}.cnn"
        paths[name].write_text(text, encoding="utf-8")
    done = subprocess.run(
        [node, "test/tokenize.js", *map(str, paths.values())], cwd=VSCODE, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    by_file = {Path(entry["file"]).stem: entry["tokens"] for entry in map(json.loads, done.stdout.splitlines())}
    return by_file


@pytest.mark.parametrize("name", TEXTS)
def test_the_grammar_agrees_with_the_parser(name, tokenized):
    text = TEXTS[name]
    lines = text.split("\n")
    found = {}
    for line, start, end, scopes in tokenized[name]:
        role = SCOPE_ROLES.get(scopes[-1])
        if role is not None:
            found[(line + 1, start + 1)] = (role, lines[line][start:end])
    assert found == roles(text)


@pytest.mark.parametrize("name", TEXTS)
def test_no_text_is_left_unscoped_but_spaces_and_punctuation(name, tokenized):
    lines = TEXTS[name].split("\n")
    bare = {
        lines[line][start:end].strip() for line, start, end, scopes in tokenized[name] if scopes == ["source.cnndsl"]
    }
    assert bare <= {"", "(", ")", ":"}, bare


def test_the_extension_scripts_are_valid_javascript(tokenized):
    for script in ("extension.js", "test/tokenize.js"):
        done = subprocess.run([shutil.which("node"), "--check", script], cwd=VSCODE, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


# What each highlighter calls a word, in the classes all three tell apart.
SEMANTIC_CLASSES = {
    ("class", 1): "layer",
    ("function", 0): "block",
    ("keyword", 1): "merge",
    ("label", 0): "label",
    ("enumMember", 0): "option",
    ("number", 0): "number",
    ("comment", 0): "comment",
}


def textmate_class(scope: str) -> str | None:
    if scope.startswith("constant.numeric."):
        return "number"
    if scope.startswith("comment."):
        return "comment"
    if scope == "keyword.other.option.cnndsl":
        return "option"
    return SCOPE_ROLES.get(scope)


def pygments_class(token) -> str | None:
    from pygments.token import Comment, Keyword, Name, Number

    for general, name in (
        (Name.Builtin.Pseudo, None),
        (Name.Builtin, "layer"),
        (Name.Function, "block"),
        (Name.Label, "label"),
        (Keyword.Pseudo, "option"),
        (Keyword.Declaration, None),
        (Keyword.Reserved, None),
        (Keyword.Namespace, None),
        (Keyword, "merge"),
        (Number, "number"),
        (Comment, "comment"),
    ):
        if token in general:
            return name
    return None


@pytest.fixture(scope="module")
def semantic(tmp_path_factory) -> dict[str, dict]:
    """Every sample's semantic tokens from `cnndsl lsp`, decoded: (line, column) -> (class, word), 1-based."""
    pytest.importorskip("pygls")
    from lsp_client import Client

    client = Client()
    legend = client.initialize()["capabilities"]["semanticTokensProvider"]["legend"]
    found = {}
    for name, text in TEXTS.items():
        uri = f"file:///samples/{name}.cnn"
        client.open(uri, text)
        data = client.request("textDocument/semanticTokens/full", {"textDocument": {"uri": uri}})["data"]
        lines, line, start, tokens = text.split("\n"), 0, 0, {}
        for i in range(0, len(data), 5):
            delta, offset, length, kind, modifiers = data[i : i + 5]
            line, start = line + delta, (start if delta == 0 else 0) + offset
            word = lines[line][start : start + length]  # the samples are ASCII: UTF-16 units are characters
            role = SEMANTIC_CLASSES.get((legend["tokenTypes"][kind], modifiers))
            if role is not None:
                tokens[(line + 1, start + 1)] = (role, word)
        found[name] = tokens
    assert client.close() == 0
    return found


@pytest.mark.parametrize("name", TEXTS)
def test_semantic_tokens_agree_with_the_lexer_and_the_grammar(name, semantic, tokenized):
    from cnndsl.tools.highlight import CnnLexer

    text = TEXTS[name]
    lines = text.split("\n")
    grammar = {}
    for line, start, end, scopes in tokenized[name]:
        role = textmate_class(scopes[-1])
        if role is not None and lines[line][start:end].strip():
            grammar[(line + 1, start + 1)] = (role, lines[line][start:end])
    lexer, line, column = {}, 1, 1
    for _, token, value in CnnLexer(stripnl=False, ensurenl=False).get_tokens_unprocessed(text):
        role = pygments_class(token)
        for i, part in enumerate(value.split("\n")):
            if i:
                line, column = line + 1, 1
            if role is not None and part.strip():
                lexer[(line, column)] = (role, part)
            column += len(part)
    assert semantic[name] == lexer
    assert semantic[name] == grammar
    # and the four the parser knows are the parser's
    assert {at: found for at, found in semantic[name].items() if found[0] in SCOPE_ROLES.values()} == roles(text)


def test_the_extension_has_what_vsce_package_reads():
    """`vsce package` warns without a repository field, and when the package holds over 100 .js files
    (vscode-languageclient and what it needs are 166): the extension is bundled into one file."""
    manifest = json.loads((VSCODE / "package.json").read_text())
    assert manifest["license"] == "MIT" and (VSCODE / "LICENSE").read_text().startswith("MIT License")
    assert "pip install" in (VSCODE / "README.md").read_text()
    # the project publishes no URL: the field names the source tree the extension is in, relative to it
    repository = manifest["repository"]
    assert repository["type"] == "git" and (VSCODE / repository["url"]).resolve() == ROOT
    assert (ROOT / repository["directory"]).resolve() == VSCODE
    # vsce runs `vscode:prepublish` first: esbuild bundles extension.js with the client, `vscode` left to VS Code
    assert manifest["main"] == "./dist/extension.js" and manifest["scripts"]["vscode:prepublish"] == "npm run build"
    build = manifest["scripts"]["build"].split()
    assert build[:3] == ["esbuild", "extension.js", "--bundle"] and "--outfile=dist/extension.js" in build
    assert {"--platform=node", "--external:vscode"} <= set(build) and "esbuild" in manifest["devDependencies"]
    ignored = [line for line in (VSCODE / ".vscodeignore").read_text().split("\n") if line and line[0] != "#"]
    # so no npm package, source or test goes into the .vsix; the bundle does
    assert {"node_modules/**", "extension.js", "test/**"} <= set(ignored)
    assert not any(line.startswith(("dist", "syntaxes", "language-configuration")) for line in ignored)


def test_vsce_packages_the_extension_without_a_warning(tmp_path):
    """`vsce package` (its devDependency, @vscode/vsce) builds the .vsix and warns about nothing: no
    missing repository field, LICENSE or README, and the .vscodeignore keeps the npm packages out."""
    vsce = VSCODE / "node_modules" / ".bin" / "vsce"
    if shutil.which("node") is None or not vsce.exists():
        if os.environ.get("CNNDSL_REQUIRE_ORACLES") == "1":
            pytest.fail("CI must run `npm ci` in editors/vscode (node or @vscode/vsce is missing)")
        pytest.skip("node or @vscode/vsce is missing (run `npm ci` in editors/vscode)")
    out = tmp_path / "cnndsl.vsix"
    # no standard input: a question vsce would ask (a missing LICENSE) fails the run instead of waiting
    done = subprocess.run(
        [str(vsce), "package", "--out", str(out)],
        cwd=VSCODE,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "WARNING" not in said.upper(), said
    import zipfile

    names = set(zipfile.ZipFile(out).namelist())
    assert {"extension/LICENSE.txt", "extension/readme.md", "extension/dist/extension.js"} <= names
    assert not any(name.startswith("extension/node_modules/") for name in names)
