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
    assert "vscode-languageclient" in manifest["dependencies"]
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
