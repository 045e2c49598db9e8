"""The Pygments lexer: every layer, block, merge and label where the parser finds one."""

from __future__ import annotations

import pytest
from pygments.token import Error, Keyword, Name, Number
from syntax_roles import roles, sample_texts

from cnndsl.tools.highlight import CnnLexer

TEXTS = sample_texts()
ROLE_OF_TOKEN = {Name.Builtin: "layer", Name.Function: "block", Keyword: "merge", Name.Label: "label"}


def tokens(text: str):
    """(line, column, token type, text) for every token, 1-based."""
    line, column = 1, 1
    for _, kind, value in CnnLexer().get_tokens_unprocessed(text):
        yield line, column, kind, value
        newlines = value.count("\n")
        if newlines:
            line += newlines
            column = len(value) - value.rfind("\n")
        else:
            column += len(value)


def lexed_roles(text: str):
    return {
        (line, column): (ROLE_OF_TOKEN[kind], value)
        for line, column, kind, value in tokens(text)
        if kind in ROLE_OF_TOKEN
    }


@pytest.mark.parametrize("name", TEXTS)
def test_the_lexer_agrees_with_the_parser(name):
    text = TEXTS[name]
    assert lexed_roles(text) == roles(text)


@pytest.mark.parametrize("name", TEXTS)
def test_every_character_is_in_a_token_and_none_is_an_error(name):
    text = TEXTS[name]
    found = list(CnnLexer().get_tokens_unprocessed(text))
    assert "".join(value for _, _, value in found) == text
    assert [value for _, kind, value in found if kind is Error] == []


def test_options_numbers_and_parameters():
    text = "def b(c, s=2):\n    conv c*4 3x3 stride s same relu eps=1.001e-5\ninput 28x28x1\nb(8) * 2 | reshape 4 -1\n"
    kinds = {value: kind for _, _, kind, value in tokens(text) if value.strip()}
    assert kinds["same"] is Keyword.Pseudo and kinds["stride"] is Keyword.Pseudo
    assert kinds["relu"] is Keyword.Pseudo  # an option here, not the layer
    assert kinds["3x3"] is Number and kinds["28x28x1"] is Number
    assert kinds["1.001e-5"] is Number.Float and kinds["-1"] is Number.Integer
    assert kinds["eps"] is Name.Attribute
    assert kinds["c"] is Name.Variable
    assert kinds["reshape"] is Name.Builtin


def test_a_new_layer_keyword_is_highlighted_without_editing_the_lexer():
    from cnndsl.language.syntax import layer_words
    from cnndsl.layers import REGISTRY

    expected = {word for word, kind in REGISTRY.items() if not kind.MERGE} | {"identity", "defaults", "output", "reuse"}
    assert set(layer_words()) == expected


def test_pygments_finds_the_lexer_through_its_entry_point():
    """Needs cnndsl installed (CI's `pip install -e ".[test]"` does it)."""
    import os
    from importlib import metadata

    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    try:
        metadata.distribution("cnndsl")
    except metadata.PackageNotFoundError:
        if os.environ.get("CNNDSL_REQUIRE_ORACLES") == "1":
            pytest.fail("cnndsl must be installed in CI")
        pytest.skip("cnndsl is not installed, so its entry points are not registered")
    assert type(get_lexer_by_name("cnndsl")).__name__ == "CnnLexer"
    assert type(get_lexer_for_filename("model.cnn")).__name__ == "CnnLexer"


def test_a_repeat_index_and_a_parenthesised_argument():
    tokens = [
        (kind, value)
        for kind, value in CnnLexer().get_tokens("input 8\ndef b(c):\n    conv (c + 8)/2 1x1\n(dense 2 + i) * 3 as i\n")
    ]
    assert (Keyword.Reserved, "as") in tokens
    assert (Name.Variable, "i") in tokens and (Name.Variable, "c") in tokens
    assert (Name.Builtin, "conv") in tokens and (Name.Function, "c") not in tokens


def test_a_label_template_is_a_label():
    kinds = dict((value, kind) for kind, value in CnnLexer().get_tokens("def mb(b):\n    block{b}a_conv: conv 8 1\n"))
    assert kinds["block{b}a_conv"] is Name.Label and kinds["conv"] is Name.Builtin
