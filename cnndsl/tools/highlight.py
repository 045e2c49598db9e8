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
            (r"(let|param)([ \t]+)(" + IDENT + ")", bygroups(Keyword.Declaration, Whitespace, Name.Variable), "statement"),
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
