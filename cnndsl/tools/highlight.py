"""A Pygments lexer for .cnn files, registered as the `pygments.lexers` entry point `cnndsl`.

`pygmentize -l cnndsl model.cnn`, Sphinx (```` ```cnndsl ````) and MkDocs find it once
cnndsl is installed. Only this module imports Pygments.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, default, include
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from ..language.syntax import (
    DIMS,
    EXPRESSION_WORDS,
    FLOAT,
    IDENT,
    INT,
    OPERATORS,
    SHAPE,
    TEMPLATE,
    alternation,
    layer_words,
    merge_words,
    option_words,
)

__all__ = ["CnnLexer"]


class CnnLexer(RegexLexer):
    """cnndsl: layers as `Name.Builtin`, their options as `Keyword.Pseudo`, blocks as `Name.Function`."""

    name = "cnndsl"
    aliases = ["cnndsl", "cnn"]
    filenames = ["*.cnn"]
    mimetypes = ["text/x-cnndsl"]
    url = "https://pypi.org/project/cnndsl/"

    tokens = {
        "common": [
            (r"[ \t\f]+", Whitespace),
            (r"\\[ \t\f]*\n", Whitespace),  # a line continues
            (r"#[^\n]*", Comment.Single),
        ],
        "numbers": [
            (r"(?<=[\s=])-" + FLOAT + r"(?![A-Za-z_0-9.x])", Number.Float),
            (r"(?<=[\s=])-" + INT + r"(?![A-Za-z_0-9.x])", Number.Integer),
            (DIMS, Number),
            (FLOAT, Number.Float),
            (INT, Number.Integer),
        ],
        # the start of a stage: a layer, a block call, a merge, a label or a group
        # inside an expression: `in.c`, a function called, the words of `A if C else B`
        "expression-words": [
            (SHAPE, Name.Builtin.Pseudo),
            (alternation(EXPRESSION_WORDS), Keyword.Reserved),
            (r"(" + IDENT + r")(\()", bygroups(Name.Builtin.Pseudo, Punctuation), "call"),
            (r"[\[\]]", Punctuation),
        ],
        # `[(16, 1), (24, 2)]`, over lines as brackets may be
        "list": [
            include("common"),
            (r"\n", Whitespace),
            (r"\]", Punctuation, "#pop"),
            (r"\[", Punctuation, "#push"),
            (r"\(", Punctuation, "call"),
            include("expression-words"),
            (IDENT, Name.Variable),
            include("numbers"),
            (OPERATORS, Operator),
            (r",", Punctuation),
            (r".", Text),
        ],
        # the rest of a `let`, `param`, `if`, `elif` or `for` line
        "statement": [
            include("common"),
            (r"(?=\n)", Text, "#pop"),
            (r":", Punctuation, "#pop"),
            (r"\[", Punctuation, "list"),
            include("expression-words"),
            (r"\(", Punctuation, "call"),
            (IDENT, Name.Variable),
            include("numbers"),
            (OPERATORS, Operator),
            (r"=", Operator),
            (r",", Punctuation),
            (r".", Text),
        ],
        "root": [
            include("common"),
            (r"\n", Whitespace),
            (
                r"(let|param)([ \t]+)(" + IDENT + ")",
                bygroups(Keyword.Declaration, Whitespace, Name.Variable),
                "statement",
            ),
            (r"(?:if|elif|for)(?![A-Za-z0-9_])", Keyword.Reserved, "statement"),
            (r"else(?=[ \t]*:)", Keyword.Reserved),
            (r'(use)([ \t]+)("[^"\n]*")', bygroups(Keyword.Namespace, Whitespace, String)),
            (r"(def)([ \t]+)(" + IDENT + ")", bygroups(Keyword.Declaration, Whitespace, Name.Function), "params"),
            (r"(" + alternation(merge_words()) + r")([ \t]*)(\()", bygroups(Keyword, Whitespace, Punctuation)),
            # `block{b}a_expand_conv:`, a label with parts filled from block parameters
            (r"(" + TEMPLATE + r")([ \t]*)(:)", bygroups(Name.Label, Whitespace, Punctuation)),
            (r"(@)(" + TEMPLATE + ")", bygroups(Operator, Name.Label)),
            (r"(" + IDENT + r")([ \t]*)(:)", bygroups(Name.Label, Whitespace, Punctuation)),
            (r"(@)(" + IDENT + ")", bygroups(Operator, Name.Label)),  # a reference to a labelled output
            # `conv (c + 8)/2 1`: a space before the `(` makes it a layer's argument, not a call
            (alternation(layer_words()) + r"(?=[ \t]+\()", Name.Builtin, "layer"),
            (r"(" + IDENT + r")([ \t]*)(\()", bygroups(Name.Function, Whitespace, Punctuation), "call"),
            (alternation(layer_words()), Name.Builtin, "layer"),
            (r"(as)([ \t]+)(" + IDENT + ")", bygroups(Keyword.Reserved, Whitespace, Name.Variable)),  # `* n as i`
            (IDENT, Name.Function, "layer"),  # a block used like a layer, or a word the checker will flag
            (r"(\*)([ \t]*)(\()", bygroups(Operator, Whitespace, Punctuation), "call"),  # `* (n - 1)`
            (r"(\*)([ \t]*)(" + IDENT + ")", bygroups(Operator, Whitespace, Name.Variable)),
            (r"[|;*]", Operator),
            (r"[()]", Punctuation),
            include("numbers"),  # a repeat count
            (r"//|[+\-/]", Operator),
            (r"[=,]", Punctuation),
            (r".", Text),
        ],
        # after a layer keyword, up to the end of the stage
        "layer": [
            include("common"),
            (r"(?=[\n|;)])", Text, "#pop"),
            (r"(" + IDENT + r")([ \t]*)(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),
            (SHAPE, Name.Builtin.Pseudo),
            (r"(" + IDENT + r")(\()", bygroups(Name.Builtin.Pseudo, Punctuation), "call"),  # `round(c * alpha)`
            (alternation(option_words()), Keyword.Pseudo),
            (IDENT, Name.Variable),  # a block parameter
            include("numbers"),
            (OPERATORS, Operator),
            (r",", Punctuation),
            (r"(?<=[\s*+\-/=%])\(", Punctuation, "call"),  # `conv (c + 8)/2 1`: an argument in parentheses
            (r"\(", Punctuation, "#pop"),
            (r".", Text),
        ],
        "call": [
            include("common"),
            (r"\n", Whitespace),
            (r"\)", Punctuation, "#pop"),
            (r"\(", Punctuation, "#push"),
            (r"(" + IDENT + r")([ \t]*)(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),
            (r"\[", Punctuation, "list"),
            include("expression-words"),
            (IDENT, Name.Variable),
            include("numbers"),
            (OPERATORS, Operator),
            (r",", Punctuation),
            (r".", Text),
        ],
        "params": [
            include("common"),
            (r"\(", Punctuation),
            (r"\)", Punctuation),
            (r"(" + IDENT + r")([ \t]*)(=)", bygroups(Name.Variable, Whitespace, Operator)),
            (IDENT, Name.Variable),
            include("numbers"),
            (r"//|[*+\-/]", Operator),
            (r",", Punctuation),
            (r":", Punctuation, "#pop"),
            default("#pop"),
        ],
    }


# The language server's semantic tokens (textDocument/semanticTokens/full) are this lexer's tokens, so an
# editor without TextMate (Neovim) colours a file as Pygments and the VS Code grammar do. Each class a
# highlighter tells apart gets its own (type, modifiers) of the protocol's standard ones.
SEMANTIC_TYPES = (
    "class",
    "function",
    "keyword",
    "label",
    "enumMember",
    "parameter",
    "variable",
    "number",
    "comment",
    "string",
    "operator",
    "macro",
)
SEMANTIC_MODIFIERS = ("defaultLibrary",)
_SEMANTIC = (  # most specific first: a Pygments token type -> (semantic type, modifiers bit set)
    (Name.Builtin.Pseudo, ("macro", 0)),  # `in.c`, `round(`: the expressions' own words
    (Name.Builtin, ("class", 1)),  # a layer keyword: a class of the library
    (Name.Function, ("function", 0)),  # a block
    (Name.Label, ("label", 0)),
    (Name.Attribute, ("parameter", 0)),  # `s=` in a call
    (Name.Variable, ("variable", 0)),
    (Keyword.Pseudo, ("enumMember", 0)),  # a layer's option: `same`, `stride`, `relu`
    (Keyword.Declaration, ("keyword", 0)),
    (Keyword.Reserved, ("keyword", 0)),
    (Keyword.Namespace, ("keyword", 0)),
    (Keyword, ("keyword", 1)),  # a merge: `add(`, `concat(`
    (Number, ("number", 0)),
    (Comment, ("comment", 0)),
    (String, ("string", 0)),
    (Operator, ("operator", 0)),
)


def semantic_tokens(text: str) -> list[tuple[int, int, int, str, int]]:
    """(line, column, length, type, modifier bits) of each highlighted word, 1-based, in characters."""
    found = []
    line, column = 1, 1
    for _, token, value in CnnLexer(stripnl=False, ensurenl=False).get_tokens_unprocessed(text):
        kind = next((wanted for general, wanted in _SEMANTIC if token in general), None) if value.strip() else None
        for i, part in enumerate(value.split("\n")):
            if i:
                line, column = line + 1, 1
            if kind is not None and part:
                found.append((line, column, len(part), *kind))
            column += len(part)
    return found
