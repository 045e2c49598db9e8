"""Text to syntax tree: the Lark grammar and a Transformer that builds `ast` nodes."""

from __future__ import annotations

import functools
import os
import re
import sys

from ..core.errors import Edit, Hint, SyntaxProblem
from ..core.limits import MAX_BRACKETS, MAX_OPERATORS, check_literal, check_number
from ..core.source import Source, Span
from . import ast

GRAMMAR_NAME = "cnndsl.lark"


def grammar_path() -> str:
    """The grammar inside the installed package, or in the source tree."""
    # os.path, not pathlib: pathlib's import costs ~5 ms on every CLI start.
    here = os.path.dirname(os.path.realpath(__file__))
    for candidate in (os.path.join(here, "grammar", GRAMMAR_NAME), os.path.join(here, "..", "..", "grammar", GRAMMAR_NAME)):
        if os.path.isfile(candidate):
            return os.path.normpath(candidate)
    raise FileNotFoundError(f"{GRAMMAR_NAME} is missing from the cnndsl installation")


def _lark():
    """Lark's standalone module (cnndsl/_generated_parser.py), loaded on first need.

    Valid files never need it: `_parse_fast` reads the tables in `_parse_tables`.
    Lark's own loop reports errors, and `tokens()` uses it.
    """
    from . import _generated_parser

    return _generated_parser


class Token(str):
    """A token as Lark's lexer makes it: the text, its terminal's name and its positions.

    The fast loop makes these without loading Lark; Lark's loop makes Lark's
    own Token, which has the same slots.
    """

    __slots__ = ("type", "start_pos", "value", "line", "column", "end_line", "end_column", "end_pos")

    def __new__(cls, type, value, start_pos=None, line=None, column=None, end_line=None, end_column=None, end_pos=None):  # noqa: A002,E501 - Lark's signature
        token = str.__new__(cls, value)
        token.type, token.value, token.start_pos = type, value, start_pos
        token.line, token.column, token.end_line, token.end_column, token.end_pos = (
            line,
            column,
            end_line,
            end_column,
            end_pos,
        )
        return token

    @classmethod
    def new_borrow_pos(cls, type_: str, value, borrow: Token) -> Token:
        return cls(
            type_,
            value,
            borrow.start_pos,
            borrow.line,
            borrow.column,
            borrow.end_line,
            borrow.end_column,
            borrow.end_pos,
        )

    def __repr__(self):
        return f"Token({self.type!r}, {self.value!r})"


Shift = 0  # the shift action in the LALR tables (Lark's standalone tables number it 0, reduce 1)


class _Indenter:
    """Lark's Indenter post-lexer: a line's indentation becomes _INDENT and _DEDENT tokens.

    Line breaks inside brackets are not tokens. Lark's loop calls `process`;
    the fast loop calls `handle_NL` itself.
    """

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "ARG_LPAR", "LSQB"]
    CLOSE_PAREN_types = ["RPAR", "RSQB"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8
    always_accept = ("_NL",)  # Lark's contextual lexer lets every state read a line break

    def process(self, stream):
        self.paren_level, self.indent_level, self.seen_tab = 0, [0], False
        return self._process(_bounded(stream))

    def _process(self, stream):
        token = None
        for token in stream:
            if token.type == self.NL_type:
                yield from self.handle_NL(token)
            else:
                yield token
            if token.type in self.OPEN_PAREN_types:
                self.paren_level += 1
            elif token.type in self.CLOSE_PAREN_types:
                self.paren_level -= 1
        while len(self.indent_level) > 1:  # only after a line break, so `token` is one
            self.indent_level.pop()
            yield token.new_borrow_pos(self.DEDENT_type, "", token)

    def handle_NL(self, token):  # noqa: N802 - Lark's hook name
        if self.paren_level > 0:
            return
        yield token
        indent_str = token.rsplit("\n", 1)[1]
        self.seen_tab = self.seen_tab or "\t" in indent_str
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        if indent > self.indent_level[-1]:
            self.indent_level.append(indent)
            # the same class as the line break's: Lark's Token in Lark's loop, ours in the fast loop
            yield token.new_borrow_pos(self.INDENT_type, indent_str, token)
            return
        while indent < self.indent_level[-1]:
            self.indent_level.pop()
            yield token.new_borrow_pos(self.DEDENT_type, indent_str, token)
        if indent != self.indent_level[-1]:
            line = token.end_line
            raise SyntaxProblem(
                "this line's indentation matches no enclosing block",
                Span(line, 1, line, max(2, len(indent_str) + 1)),
                "indent every line of a def body by the same amount"
                + ("; a tab counts as 8 spaces, so indent with spaces only" if self.seen_tab else ""),
            )


@functools.cache
def _parser():
    """Lark's LALR parser, for the error path; each reduction builds its `ast` node at once (see `_Built`)."""
    # The tables are built ahead of time (`python -m cnndsl.build`) and
    # ship in the package: no grammar is compiled here and no cache is read.
    parser = _lark().Lark_StandAlone(postlex=_Indenter())
    transformer = _ToAst()
    parser.parser.parser.parser.callbacks = {rule: _reduction(_plan(rule), transformer) for rule in parser.rules}
    return parser


class _Built:
    """A rule the parser has reduced: its value, and the text it covers.

    Building `ast` nodes during the parse, instead of a Lark tree that a
    Transformer walks afterwards, keeps one small object per reduction: the
    tree, its Meta objects and the second pass were most of the time spent on
    long files. The positions follow Lark's propagate_positions exactly (a
    node spans its first to its last token, the dropped ones such as `def`
    included); this object is the `meta` the `_ToAst` methods receive.
    """

    __slots__ = ("value", "line", "column", "end_line", "end_column")

    @property
    def empty(self) -> bool:
        return self.line is None


def _plan(rule) -> tuple:
    """How to reduce a Lark `Rule`, as plain data: `_parse_tables.RULES` holds one per rule.

    (rule name, its number of symbols, the name of the node it builds,
    whether a `?rule` with one child passes it up, which children are kept,
    how many Nones end the children.) Each kept child is (its index,
    whether it is a `_rule` whose children are spliced in, how many Nones
    for absent `[optional]` parts come before it).
    """
    options = rule.options
    expansion = rule.expansion
    # Lark's child filter and maybe_placeholders, worked out once.
    nones = [0] * (len(expansion) + 1)
    if options.empty_indices:
        nones = [len(ones) for ones in "".join(str(int(b)) for b in options.empty_indices).split("0")]
    plan = []
    pending = 0
    for index, symbol in enumerate(expansion):
        pending += nones[index]
        if options.keep_all_tokens or not (symbol.is_term and symbol.filter_out):
            plan.append((index, not symbol.is_term and symbol.name.startswith("_"), pending))
            pending = 0
    trailing = pending + nones[len(expansion)]
    name = rule.alias or options.template_source or rule.origin.name
    expand_single = bool(options.expand1 and not rule.alias)
    return (str(rule.origin.name), len(expansion), str(name), expand_single, tuple(plan), trailing)


def _reduction(rule_plan: tuple, transformer):
    """The callback the parser calls to reduce a rule (see `_plan`): Lark's child filter, positions and `?rule` inlining."""
    origin, size, name, expand_single, plan, trailing = rule_plan
    spliced = name.startswith("_")
    method = None if spliced else getattr(type(transformer), name, None)
    if method is not None:
        method = getattr(method, "base_func", method).__get__(transformer)
    if expand_single and size == 1 and plan == ((0, False, 0),) and not trailing:
        # `?rule: other`: one child, passed up as it is (its span cannot change).
        return _first

    # Most rules keep some children as they are: take those without the general loop.
    simple = None
    if not trailing and all(not splice and not placeholders for _, splice, placeholders in plan):
        simple = tuple(index for index, _, _ in plan)
        if simple == tuple(range(size)):
            simple = ()  # every child

    def reduce(children):
        start = children[0] if children else None
        if start is not None and start.line is None:
            start = next((child for child in children if child.line is not None), None)
        end = None
        if start is not None:
            end = children[-1]
            if end.line is None:
                end = next(child for child in reversed(children) if child.line is not None)
        if simple is not None:
            kept = [children[index] for index in simple] if simple else children
        else:
            kept = []
            for index, splice, placeholders in plan:
                if placeholders:
                    kept += [None] * placeholders
                if splice:
                    if kept:
                        kept += children[index].value
                    else:  # the left-recursive `x*` rules: reuse the list
                        kept = children[index].value
                else:
                    kept.append(children[index])
            if trailing:
                kept += [None] * trailing
        if expand_single and len(kept) == 1:
            built = kept[0]
            if type(built) is _Built and start is not None:
                built.line, built.column = start.line, start.column
                built.end_line, built.end_column = end.end_line, end.end_column
            return built
        built = _Built()
        if start is None:
            built.line = built.column = built.end_line = built.end_column = None
        else:
            built.line, built.column = start.line, start.column
            built.end_line, built.end_column = end.end_line, end.end_column
        if spliced:
            built.value = kept
            return built
        values = [child.value if type(child) is _Built else child for child in kept]
        if method is None:  # a rule _ToAst does not know stays a Lark tree, as Transformer would leave it
            built.value = _lark().Tree(name, values, _lark_meta(built))
        else:
            built.value = method(built, values)
        return built

    if size and origin not in _CAN_BE_EMPTY:
        return _solid_reduction(plan, trailing, expand_single, spliced, method, reduce) or reduce
    return reduce


def _first(children):
    return children[0]


# The rules that can match no text, whose nodes have no position: `start` of an
# empty file only (tests/language/test_parser_build.py checks it against the grammar).
# No rule has it as a child, so every other reduction's children all have positions.
_CAN_BE_EMPTY = frozenset({"start"})


def _solid_reduction(plan, trailing, expand_single, spliced, method, general):
    """`_reduction`'s `reduce` for a rule none of whose children can be empty, in the shapes nearly
    every reduction takes; None for the others. Each returns what `general`, the general `reduce`, returns."""
    if trailing or any(placeholders for _, _, placeholders in plan):
        return None
    if spliced and plan and plan[0] == (0, True, 0):
        rest = [(index, splice) for index, splice, _ in plan[1:]]

        def append(children):
            # `x*` and `x+` as left-recursive rules: the list so far grows in place.
            built = children[0]
            items = built.value
            for index, splice in rest:
                if splice:
                    items += children[index].value
                else:
                    items.append(children[index])
            last = children[-1]
            built.end_line, built.end_column = last.end_line, last.end_column
            return built

        return append
    if expand_single and plan == ((0, True, 0),) and method is None:

        def unwrap(children):
            # `?stage: _unit`: what the spliced rule holds, when it is one thing, takes its place.
            child = children[0]
            items = child.value
            if len(items) != 1:
                return general(children)
            item = items[0]
            if type(item) is _Built:
                item.line, item.column, item.end_line, item.end_column = (
                    child.line,
                    child.column,
                    child.end_line,
                    child.end_column,
                )
            return item

        return unwrap
    if expand_single:
        return None
    kept = tuple(plan)
    if spliced:
        if all(not splice for _, splice, _ in plan):
            simple = [index for index, _, _ in plan]

            def wrap(children):
                first, last = children[0], children[-1]
                built = _Built()
                built.line, built.column, built.end_line, built.end_column = (
                    first.line,
                    first.column,
                    last.end_line,
                    last.end_column,
                )
                built.value = [children[index] for index in simple]
                return built

            return wrap
        return None
    if method is None:
        return None

    def build(children):
        first, last = children[0], children[-1]
        built = _Built()
        built.line, built.column, built.end_line, built.end_column = (
            first.line,
            first.column,
            last.end_line,
            last.end_column,
        )
        values = []
        for index, splice, _ in kept:
            child = children[index]
            if splice:
                values += [item.value if type(item) is _Built else item for item in child.value]
            else:
                values.append(child.value if type(child) is _Built else child)
        built.value = method(built, values)
        return built

    return build


def _lark_meta(built: _Built):
    meta = _lark().Meta()
    if built.line is not None:
        meta.line, meta.column, meta.end_line, meta.end_column = (
            built.line,
            built.column,
            built.end_line,
            built.end_column,
        )
        meta.empty = False
    return meta


def _bounded(stream):
    """The tokens, refusing brackets nested too deep and expressions too long to evaluate."""
    depth = operators = 0
    for token in stream:
        if token.type in _OPENERS:
            depth += 1
            if depth > MAX_BRACKETS:
                raise SyntaxProblem(
                    f"brackets nest more than {MAX_BRACKETS} deep here",
                    _token_span(token),
                    "name an inner part with `def` and call it",
                )
        elif token.type in _CLOSERS:
            depth = max(depth - 1, 0)
        elif token.type in ("_NL", "VBAR", "SEMICOLON", "COMMA"):
            operators = 0
        elif token in _OPERATORS:  # a Token is a str: no copy needed to look it up
            operators += 1
            if operators > MAX_OPERATORS:
                raise SyntaxProblem(
                    f"more than {MAX_OPERATORS} operators in one expression",
                    _token_span(token),
                    "work the value out, or split it across block parameters",
                )
        yield token


def _token_span(token: Token) -> Span:
    # Some tokens carry no end position (Lark leaves it None): those span one character.
    return Span(token.line, token.column, token.end_line or token.line, token.end_column or token.column + 1)


def _span(meta) -> Span:
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


class _ToAst:
    """Builds `ast` nodes bottom-up; every node keeps its span.

    Each method takes the `_Built` being reduced (its span) and the kept
    children; `_tree_transformer` makes it a Lark Transformer for Lark's trees.
    """

    def start(self, meta, children):
        definitions = tuple(c for c in children if isinstance(c, ast.Definition))
        pipelines = tuple(c for c in children if isinstance(c, ast.Pipeline))
        if len(definitions) + len(pipelines) == len(children):  # no other statements: most files
            return ast.Program(definitions, pipelines, pipelines)
        statements = tuple(c for c in children if isinstance(c, _STATEMENTS))
        return ast.Program(definitions, pipelines, statements)

    def param_stmt(self, meta, children):
        name, default = children
        return ast.FileParam(str(name), default, _span(meta), _token_span(name))

    def let_stmt(self, meta, children):
        name, value = children
        return ast.Let(str(name), value, _span(meta), _token_span(name))

    def use_stmt(self, meta, children):
        return ast.Use(str(children[0])[1:-1], _span(meta))

    def if_stmt(self, meta, children):
        condition, *rest = children
        body = tuple(c for c in rest if isinstance(c, _STATEMENTS))
        clauses = [c for c in rest if isinstance(c, _Clause)]
        branches = ((condition, body), *((c.condition, c.body) for c in clauses))
        return ast.If(branches, _span(meta))

    def elif_clause(self, meta, children):
        condition, *body = children
        return _Clause(condition, tuple(body))

    def else_clause(self, meta, children):
        return _Clause(None, tuple(children))

    def for_stmt(self, meta, children):
        names = [c for c in children if isinstance(c, str)]
        rest = [c for c in children if not isinstance(c, str)]
        values, body = rest[0], tuple(rest[1:])
        names_span = Span(names[0].line, names[0].column, names[-1].end_line, names[-1].end_column)
        return ast.For(tuple(str(n) for n in names), values, body, _span(meta), names_span)

    def conditional(self, meta, children):
        then, condition, otherwise = children
        return ast.Conditional(then, condition, otherwise, _span(meta))

    def or_(self, meta, children):
        return ast.BinOp("or", children[0], children[1], _span(meta))

    def and_(self, meta, children):
        return ast.BinOp("and", children[0], children[1], _span(meta))

    def not_(self, meta, children):
        return ast.Not(children[0], _span(meta))

    def compare(self, meta, children):
        left, op, right = children
        return ast.BinOp(str(op), left, right, _span(meta))

    def shape(self, meta, children):
        return ast.Shape(str(children[0])[3:], _span(meta))

    def function(self, meta, children):
        name, _lpar, args, _rpar = children
        return ast.Function(str(name), tuple(args or ()), _span(meta), _token_span(name))

    def list(self, meta, children):
        items = tuple(c for c in children if c is not None and not isinstance(c, str))
        return ast.ListOf(items, _span(meta))

    def tuple(self, meta, children):
        items = tuple(c for c in children if c is not None and not isinstance(c, str))
        return ast.ListOf(items, _span(meta), True)

    def definition(self, meta, children):
        name, _lpar, params, _rpar, *body = children
        return ast.Definition(str(name), tuple(params or ()), tuple(body), _span(meta), _token_span(name))

    def params(self, meta, children):
        return tuple(c for c in children if c is not None)

    def param(self, meta, children):
        name, default = children
        return ast.Param(str(name), default, _span(meta))

    def pipeline(self, meta, children):
        return ast.Pipeline(tuple(children), _span(meta))

    def labelled(self, meta, children):
        label, body = children
        return ast.Labelled(str(label), body, _span(meta), _token_span(label))

    def reference(self, meta, children):
        (name,) = children
        return ast.Reference(str(name), _span(meta), _token_span(name))

    def repeat(self, meta, children):
        body, count, index = children
        if index is None:
            return ast.Repeat(body, count, _span(meta))
        return ast.Repeat(body, count, _span(meta), str(index), _token_span(index))

    def layer(self, meta, children):
        kind, *args = children
        return ast.Layer(str(kind), tuple(args), _span(meta), _token_span(kind))

    def keyword_arg(self, meta, children):
        name, value = children
        return ast.KeywordArg(str(name), value, _span(meta))

    def call(self, meta, children):
        name, _lpar, args, _rpar = children
        return ast.Call(str(name), tuple(args or ()), _span(meta), _token_span(name))

    def call_args(self, meta, children):
        return tuple(c for c in children if c is not None)

    def merge(self, meta, children):
        op, _lpar, *rest = children
        branches = tuple(c for c in rest if isinstance(c, ast.Pipeline))
        args = tuple(c for c in rest if not isinstance(c, (ast.Pipeline, str)) and c is not None)
        return ast.Merge(str(op), branches, _span(meta), _token_span(op), args)

    def group(self, meta, children):
        _lpar, body, _rpar = children
        return ast.Group(body, _span(meta))

    def _binop(op):  # noqa: N805 - a factory used at class creation
        def build(self, meta, children):
            left, right = children
            return ast.BinOp(op, left, right, _span(meta))

        return build

    add = _binop("+")
    sub = _binop("-")
    mul = _binop("*")
    div = _binop("/")
    floordiv = _binop("//")
    mod = _binop("%")
    pow = _binop("**")
    del _binop

    def neg(self, meta, children):
        return ast.Neg(children[0], _span(meta))

    def int(self, meta, children):
        span = _span(meta)
        return ast.Num(_number(str(children[0]), span), span)

    def float(self, meta, children):
        span = _span(meta)
        return ast.Num(_number(str(children[0]), span), span)

    def signed(self, meta, children):
        span = _span(meta)
        return ast.Num(_number(str(children[0]), span), span)

    def dims(self, meta, children):
        span = _span(meta)
        parts = str(children[0]).split("x")
        return ast.Dims(tuple(None if part == "?" else _number(part, span) for part in parts), span)

    def name(self, meta, children):
        return ast.Name(str(children[0]), _span(meta))

    def atom(self, meta, children):
        # `( expr )` in call arguments: the parentheses only group.
        return children[1]


class _Clause:
    """An `elif` or `else` of an `if`, until `if_stmt` takes it in."""

    __slots__ = ("condition", "body")

    def __init__(self, condition, body):
        self.condition, self.body = condition, body


_STATEMENTS = (ast.Pipeline, ast.Let, ast.FileParam, ast.Use, ast.If, ast.For)


def _tree_transformer():
    """`_ToAst` as a Lark Transformer with v_args(meta=True), for trees Lark built (how cnndsl 0.1.0 parsed)."""
    lark = _lark()
    methods = {name: value for name, value in vars(_ToAst).items() if not name.startswith("__")}
    return lark.v_args(meta=True)(type("_ToAstTransformer", (lark.Transformer,), methods))()


def _number(text: str, span: Span):
    """An int or float literal, refused when too long to convert or too large to compute with."""
    if len(text) < 19 and text.isdecimal():  # below 10^18 < MAX_TOTAL, and short: both checks pass
        return int(text)
    if "." in text or "e" in text or "E" in text:
        return check_number(float(text), span)
    check_literal(text, span)
    return check_number(int(text), span)


_TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "SIGNED_NUMBER": "a number",
    "FLOAT": "a number",
    "DIMS": "a size such as 3x3",
    "LPAR": "`(`",
    "ARG_LPAR": "`(`",
    "RPAR": "`)`",
    "_NL": "a new line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of an indented block",
    "MERGE_OP": "a merge such as add(...)",
    "VBAR": "`|`",
    "SEMICOLON": "`;`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "EQUAL": "`=`",
    "STAR": "`*`",
    "AT": "`@`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMPARE": "a comparison",
    "SHAPE": "an axis of the input such as in.c",
    "STRING": 'a file name in quotes, as in "blocks.cnn"',
    "$END": "the end of the file",
}


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "_NL":
        return "end of line"
    if token.type == "_INDENT":
        return "indentation"
    if token.type == "_DEDENT":
        return "end of the indented block"
    return f"`{token}`"


_OPERATORS = {"+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or", "not", "if"}
_OPENERS = ("LPAR", "ARG_LPAR", "LSQB")  # `(` glued to a call's name, every other `(`, and `[`
_CLOSERS = ("RPAR", "RSQB")


def _terminal_text(name: str) -> str:
    if name in _TOKEN_WORDS:
        return _TOKEN_WORDS[name]
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:
        return f"`{name.lower()}`"
    return f"`{pattern.value}`" if pattern.type == "str" else f"`{name.lower()}`"


def _expected_words(expected) -> str:
    words = sorted({_terminal_text(name) for name in expected})
    # Arithmetic is always possible after a value; listing it only adds noise.
    plain = [w for w in words if w.strip("`") not in _OPERATORS]
    words = plain or words
    if not words:
        return "something else"
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


def _syntax_error(err, source: Source) -> SyntaxProblem:
    """The SyntaxProblem for Lark's UnexpectedInput."""
    lark = _lark()
    UnexpectedCharacters, UnexpectedEOF, UnexpectedToken = (  # noqa: N806 - Lark's classes
        lark.UnexpectedCharacters,
        lark.UnexpectedEOF,
        lark.UnexpectedToken,
    )
    line, column = max(err.line, 1), max(err.column, 1)
    foreign = _foreign_problem(source, line)
    if foreign is not None:
        return foreign
    if isinstance(err, UnexpectedCharacters):
        char = source.line(line)[column - 1 : column] or "?"
        span = Span(line, column, line, column + 1)
        return SyntaxProblem(
            f"unexpected character {_show_char(char)}", span, _quoted_word_hint(source, span) or _char_hint(char)
        )
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        ending = _unfinished_ending(source)
        if ending is not None:
            return ending
    if isinstance(err, UnexpectedToken):
        token = err.token
        if token.type == "_INDENT":
            line = token.end_line
            tabbed = tab_problem(source, line)
            if tabbed is not None:
                return tabbed
            span = Span(line, 1, line, len(str(token).expandtabs(1)) + 1)
        elif token.type in ("_NL", "$END", "_DEDENT"):
            # Point just past the last real token rather than at the next line.
            last = source.line(line).split("#")[0].rstrip()
            if token.type == "$END" or not last:
                line = _last_code_line(source, line)
                last = source.line(line).split("#")[0].rstrip()
            column = len(last) + 1
            span = Span(line, column, line, column + 1)
        else:
            span = _token_span(token)
        prev_text = _previous_char(source, span)
        spaced_call = _spaced_call_problem(token, source, span)
        if spaced_call is not None:
            return spaced_call
        return SyntaxProblem(
            f"unexpected {_describe(token)}",
            span,
            _capitalised_merge_hint(token, source, span)
            or _quoted_word_hint(source, span)
            or _unindented_body_hint(source, span)
            or _token_hint(token, prev_text, err.expected),
        )
    if isinstance(err, UnexpectedEOF):
        last_line = source.text.rstrip("\n").count("\n") + 1
        column = len(source.line(last_line)) + 1
        return SyntaxProblem(
            "unexpected end of file", Span(last_line, column, last_line, column + 1), "a `(` may be missing its `)`"
        )
    return SyntaxProblem(str(err), Span(line, column, line, column + 1))


def tab_problem(source: Source, line: int) -> SyntaxProblem | None:
    """A line whose indentation does not fit because tabs and spaces are mixed: where the tab is, and the fix."""
    text = source.line(line)
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    above = line - 1
    while above > 1 and not source.line(above).split("#")[0].strip():
        above -= 1
    before = source.line(above) if above >= 1 and above != line else ""
    before_indent = before[: len(before) - len(before.lstrip(" \t"))]
    if "\t" not in indent and "\t" not in before_indent:
        return None
    wanted = before_indent.expandtabs(_Indenter.tab_len)
    if "\t" in indent:
        start = indent.index("\t") + 1
        if " " in indent:
            message = "this line's indentation mixes a tab and spaces"
        elif "\t" in before_indent:
            message = f"this line's tabs do not line up with the indentation of line {above}"
        else:
            message = f"this line is indented with a tab, line {above} with spaces"
        span = Span(line, start, line, start + 1)
    else:
        message = f"this line is indented with spaces, line {above} with a tab"
        span = Span(line, 1, line, len(indent) + 1)
    return SyntaxProblem(
        message,
        span,
        Hint(
            f"a tab counts as {_Indenter.tab_len} spaces, so the two lines do not line up; indent with spaces only",
            Edit(f"Indent with {len(wanted)} spaces", wanted, span=Span(line, 1, line, len(indent) + 1)),
        ),
    )


def _foreign_problem(source: Source, line: int) -> SyntaxProblem | None:
    """`nn.Conv2d(3, 64, 3, padding=1)`, `layers.Dense(10)`: a line of PyTorch or Keras code, and its cnndsl line."""
    text = source.line(line)
    if "(" not in text:
        return None
    from .foreign import read_call

    call = read_call(text)
    if call is None:
        return None
    code = text.split("#")[0].rstrip() if text.count("#") == 1 and "'" not in text and '"' not in text else text.rstrip()
    span = Span(line, len(text) - len(text.lstrip()) + 1, line, len(code) + 1)
    hint = Hint(call.hint(), Edit(f"Change to `{call.line}`", call.line, span=span)) if call.line else call.hint()
    return SyntaxProblem(f"`{call.written}(...)` is {call.framework} code, not cnndsl", span, hint)


# Options that take a bare word in cnndsl (`same`, `relu`): Keras's quoted `padding='same'` is that word.
_WORD_OPTIONS = ("padding", "activation", "interpolation", "mode")


def _quoted_word_hint(source: Source, span: Span) -> Hint | None:
    """`padding='same'`, `activation="relu"`: an option's word in quotes, as Python writes it."""
    text = source.line(span.line)
    for found in re.finditer(r"""\b(\w+)\s*=\s*(['"])(\w+)\2""", text):
        if found.start(2) + 1 != span.column:
            continue
        name, word = found[1], found[3]
        bare = word if name in _WORD_OPTIONS else f"{name}={word}"
        where = Span(span.line, found.start() + 1, span.line, found.end() + 1)
        return Hint(
            f"cnndsl has no quoted text: Keras's `{found[0]}` is `{bare}` here",
            Edit(f"Change to `{bare}`", bare, span=where),
        )
    return None


_MERGE_TERMINAL = r"\(\?P<MERGE_OP>\(([a-z|]+)\)\(\?!\[A-Za-z_0-9\]\)\)\|"


@functools.cache
def merge_words() -> tuple[str, ...]:
    """The merge keywords, as the shipped scanner's MERGE_OP terminal lists them: the grammar is
    their one place here (tests/language/test_merge_words.py holds it to the layer registry).
    Empty when the terminal is not written as `(add|concat|...)(?![A-Za-z_0-9])`."""
    from . import _parse_tables as shipped

    found = re.search(_MERGE_TERMINAL, shipped.SCANNER[0][0])
    return tuple(found[1].split("|")) if found else ()


def _capitalised_merge_hint(token: Token, source: Source, span: Span) -> Hint | None:
    """`Add(identity; x)`: the Keras class name of a merge, which cnndsl writes lower-case."""
    if token.type != "SEMICOLON":
        return None
    text = source.line(span.line)[: span.column - 1]
    depth = 0
    for at in range(len(text) - 1, -1, -1):  # the `(` this `;` is inside, on the same line
        depth += {")": 1, "(": -1}.get(text[at], 0)
        if depth < 0:
            word = re.search(r"[A-Za-z_][A-Za-z_0-9]*$", text[:at].rstrip())
            if word is None or word[0].lower() not in merge_words() or word[0] == word[0].lower():
                return None
            name, lower = word[0], word[0].lower()
            where = Span(span.line, word.start() + 1, span.line, word.end() + 1)
            return Hint(
                f"merges are written lower-case: `{lower}(...; ...)` (`{name}` is Keras's class)",
                Edit(f"Change to `{lower}`", lower, original=name, span=where),
            )
    return None


def _spaced_call_problem(token: Token, source: Source, span: Span) -> SyntaxProblem | None:
    """`input (8, 8, 3)`, `g (4, 1)`: a `,` or `=` inside a `(` that a space parts from its name.

    With the space, the `(` groups a layer argument (`conv (c + 8)/2 1`), where a
    comma cannot be; say what was meant instead.
    """
    if token.type not in ("COMMA", "EQUAL"):
        return None
    text = source.line(span.line)[: span.column - 1]
    depth = 0
    for at in range(len(text) - 1, -1, -1):  # the `(` this token is inside, on the same line
        depth += {")": 1, "(": -1}.get(text[at], 0)
        if depth < 0:
            before = text[:at]
            word = re.search(r"[A-Za-z_][A-Za-z_0-9]*$", before.rstrip())
            if word is None or before == before.rstrip() or before[: word.start()].strip() not in ("", "|", ";", ":"):
                return None
            from ..layers import REGISTRY  # only on this error path

            name = word[0]
            where = Span(span.line, word.start() + 1, span.line, word.end() + 1)
            if name in REGISTRY:
                usage = REGISTRY[name].usage(name) or name
                return SyntaxProblem(
                    f"`{name}` is a layer, not a block",
                    where,
                    f"a layer's arguments follow it without parentheses or commas: `{usage}`",
                )
            return SyntaxProblem(
                f"unexpected {_describe(token)}",
                span,
                f"a block call's `(` follows its name without a space: `{name}(...)`; "
                "after a space, `(` groups one layer argument",
            )
    return None


def _unindented_body_hint(source: Source, span: Span) -> str | None:
    """`def f(c):` then a body line at the `def`'s own indentation."""
    if span.line < 2 or source.line(span.line)[: span.column - 1].strip():
        return None  # only the first word of a line can be a body that lost its indentation
    before = source.line(_last_code_line(source, span.line - 1)).split("#")[0].rstrip()
    if not (before.lstrip().startswith("def ") and before.endswith(":")):
        return None
    return "the body of a `def` is indented under it (e.g. by 4 spaces), or written on the same line after the `:`"


def _unfinished_ending(source: Source) -> SyntaxProblem | None:
    """A file that ends too soon: point at the `(` never closed, or the final `\\`."""
    opened: list[Span] = []
    # split on \n alone, as Source.line does: splitlines() also splits at form feeds and U+2028
    for number, line in enumerate(source.text.split("\n"), start=1):
        for column, char in enumerate(line.split("#")[0], start=1):
            if char == "(":
                opened.append(Span(number, column, number, column + 1))
            elif char == ")" and opened:
                opened.pop()
    if opened:
        return SyntaxProblem(
            "this `(` is never closed", opened[-1], "add the `)` that ends it; the file ended while it was open"
        )
    line = _last_code_line(source, source.text.count("\n") + 1)
    code = source.line(line).split("#")[0].rstrip()
    if code.endswith("\\"):
        return SyntaxProblem(
            "the file ends after a `\\`",
            Span(line, len(code), line, len(code) + 1),
            "`\\` continues a line onto the next; remove it, or write the rest of the line",
        )
    return None


def _previous_char(source: Source, span: Span) -> str:
    before = source.line(span.line)[: span.column - 1].split("#")[0].rstrip()
    return before[-1:] if before else ""


def _last_code_line(source: Source, line: int) -> int:
    line = min(line, source.text.count("\n") + 1)
    while line > 1 and not source.line(line).split("#")[0].strip():
        line -= 1
    return line


def _show_char(char: str) -> str:
    """`$`, or U+200B (ZERO WIDTH SPACE) for a character that would not show."""
    if char.isprintable() and not char.isspace():
        return f"`{char}`"
    import unicodedata

    return f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')})"


def _char_hint(char: str) -> str | None:
    hint = _char_advice(char)
    replacement = _CHAR_REPLACEMENTS.get(char) if char not in " " else None
    if replacement is None and (char.isspace() or not char.isprintable()) and char != " ":
        replacement = " " if char.isspace() else ""
    if hint is None or replacement is None:
        return hint
    title = f"Replace {_show_char(char)} with `{replacement}`" if replacement else f"Delete {_show_char(char)}"
    return Hint(hint, Edit(title, replacement, original=char))


# Characters pasted from documents, and the plain ones they stand for (the hint's edit).
_CHAR_REPLACEMENTS = {**dict.fromkeys("×✕✖", "x"), **dict.fromkeys("‐‑‒–—―−", "-"), ",": " "}


def _char_advice(char: str) -> str | None:
    if char.isspace():
        return "replace it with a plain space; it was probably pasted along with the text"
    if not char.isprintable():
        return "delete it; it was probably pasted along with the text"
    if char in ",":
        return "arguments of a layer are separated by spaces; `,` is for block arguments"
    if char in "×✕✖":
        return "sizes are written with the letter x, as in 32x32x3"
    if char in "‐‑‒–—―−":
        return "write a plain `-` (this one was probably pasted from a document)"
    if char in "\"'“”‘’«»":
        return "cnndsl has no quoted text: write the word bare, as in `conv 8 3 same`"
    if char in "[]{}":
        return "sizes are written like 3x3, and groups use ( ); `{param}` belongs only in a label, as in `block{b}_conv: conv 8 3`"
    if char == "-":
        return "write negative sizes inside a size, as in 4x-1"
    return None


def _token_hint(token: Token, previous: str, expected) -> str:
    if token.type == "_INDENT":
        return "this line is indented more than the line before it; indent a `def` body evenly"
    if token.type == "$END" and "RPAR" in expected:
        return "a `(` is never closed; is a `)` missing?"
    if previous == "|" and token.type in ("_NL", "$END", "VBAR", "_DEDENT"):
        return "a `|` must be followed by a layer"
    if token.type == "RPAR" and previous in ("(", ";"):
        return "an empty branch is written `identity`"
    if previous == "*" or "INT" in expected and "NAME" not in expected:
        return "expected a number here"
    if token.type == "COMMA":
        return "a layer's arguments are separated by spaces, branches by `;`; `,` only separates a block's arguments"
    if token.type == "STAR":
        return "`* N` repeats a block call or layers in parentheses: `(conv 8 3 same | relu) * 2`"
    if token.type in _OPENERS and previous not in ("|", ""):
        return "`(` groups layers at the start of a stage, or one layer argument after a space: `conv (c + 8)/2 3`"
    return f"expected {_expected_words(expected)}"


class _Unparsed(Exception):
    """The fast loop met text it does not parse; Lark's own loop reports why."""


def _parse_fast(tables: _FastTables, text: str, plain: bool | None = None, first_line: int = 0):
    """What `parser.parse(text)` returns, for text that parses, in one loop.

    Lark's loop runs each token through a generator per layer (contextual
    lexer, our bounds, the indenter) and a method call per step; this one
    lexes with the same regexes and feeds the same LALR tables and callbacks
    directly, in one function. Our bounds and the indenter are checked
    inline; a line that changes the indentation goes through
    `_Indenter.handle_NL`. A line that is one layer and plain arguments, most
    of a long file, is read whole (`plain_lines`). On any lexing or parsing
    failure, and on any bound crossed, it raises `_Unparsed`, and `parse`
    runs Lark's loop to report the error exactly. `plain` turns that path on
    or off; by default it is on for a text long enough to repay compiling
    its regex (~0.4 ms, a start-up's 1%). `first_line`: lines above `text` in its
    file, counted in every span.
    """
    # One scanner for every state, where Lark's contextual lexer compiles one
    # per state (~2 ms of every start). Both list the terminals in the same
    # order, so when the state accepts what this one finds, a state's own
    # lexer would have found the same; when it does not, Lark's loop decides.
    patterns, ignore, newlines, callback = tables.patterns, tables.ignore, tables.newlines, tables.callback
    states, end_state = tables.states, tables.end_state
    state_stack = [tables.start_state]
    value_stack = []
    chains = tables.chains

    new_string = str.__new__
    pos, line, line_start, end = 0, 1 + first_line, 0, len(text)
    depth = operators = paren_level = 0
    indenter = _Indenter()
    indenter.paren_level, indenter.indent_level, indenter.seen_tab = 0, [0], False
    indent_level = indenter.indent_level
    last = None

    def settle(kind: str) -> int:
        """Make the reductions the lookahead `kind` calls for; the state it then shifts to."""
        while True:
            top = state_stack[-1]
            try:
                action, arg = states[top][kind]
            except KeyError:
                raise _Unparsed from None
            if action is Shift:
                return arg
            size, reduce, origin = arg
            if reduce is None:
                # `?rule: other` passes its one child up: the top state changes, the value does not.
                # Chains of these (`?expr -> ?sum -> ?product -> ?atom`) depend only on the state
                # below, the top state and the lookahead: taken once, remembered.
                key = (state_stack[-2], top, kind)
                final = chains.get(key)
                if final is None:
                    final = chains[key] = _unit_chain(states, key)
                state_stack[-1] = final
                continue
            if size:
                children = value_stack[-size:]
                del state_stack[-size:]
                del value_stack[-size:]
                value_stack.append(reduce(children))
            else:
                value_stack.append(reduce([]))
            state_stack.append(states[state_stack[-1]][origin][1])

    if plain is None:
        plain = len(text) >= _PLAIN_LINES_FROM
    plain_line, excluded = _plain_line_pattern(tables) if plain else (None, ())

    def plain_lines(pos: int, line: int) -> tuple[int, int]:
        """Read the lines from `pos` (a line start, outside any block or bracket) that are one layer
        and its plain arguments, `conv 8 3x3 same relu`, building their nodes without the tables.

        The nodes, spans and parser state are those the token loop makes for the same line, and the
        line's statement enters the table through its goto. The first other line ends the run.
        """
        while True:
            found = plain_line(text, pos)
            if found is None:
                return pos, line
            word, rest, breaks = found.group("word", "rest", "breaks")
            if breaks[-1] != "\n" or word in excluded:  # the next line is indented; a keyword or a merge
                return pos, line
            column = len(word) + 1
            kind_span = Span(line, 1, line, column)
            args = []
            if rest:
                for arg in rest[1:].split(" "):
                    start, column = column + 1, column + 1 + len(arg)
                    span = Span(line, start, line, column)
                    if arg[0] in _DIGITS:
                        if "x" in arg:
                            args.append(ast.Dims(tuple(_number(part, span) for part in arg.split("x")), span))
                        else:
                            args.append(ast.Num(_number(arg, span), span))
                    elif arg in excluded:
                        return pos, line
                    else:
                        args.append(ast.Name(arg, span))
            span = Span(line, 1, line, column) if args else kind_span
            built = _Built()
            built.line, built.column, built.end_line, built.end_column = line, 1, line, column
            built.value = ast.Pipeline((ast.Layer(word, tuple(args), span, kind_span),), span)
            settle("NAME")  # what the line's first word makes of the lines before it
            goto = states[state_stack[-1]].get("_statement")
            if goto is None:  # not where a statement starts: the token loop reads the line
                return pos, line
            statement = _Built()
            pos = found.end()
            line += breaks.count("\n")
            statement.line, statement.column, statement.end_line, statement.end_column = built.line, 1, line, 1
            statement.value = [built]
            state_stack.append(goto[1])
            value_stack.append(statement)

    if plain_line is not None:
        pos, line = plain_lines(0, line)
        line_start = pos
    while pos < end:
        for match in patterns:
            found = match(text, pos)
            if found:
                break
        else:
            raise _Unparsed
        value, kind = found.group(), found.lastgroup
        if kind in ignore and kind not in callback:
            if kind in newlines:
                count = value.count("\n")
                if count:
                    line += count
                    line_start = pos + value.rindex("\n") + 1
            pos += len(value)
            continue
        # Token's own constructor sets these same slots through two calls: 3x slower.
        token = new_string(Token, value)
        token.type, token.value, token.start_pos = kind, value, pos
        token.line, token.column = line, pos - line_start + 1
        if kind in newlines:
            count = value.count("\n")
            if count:
                line += count
                line_start = pos + value.rindex("\n") + 1
        pos += len(value)
        token.end_line, token.end_column, token.end_pos = line, pos - line_start + 1, pos
        if text.startswith(" ", pos):  # a space: only the ignored `[\t \f]+` matches there, so skip it now
            pos += 1
        if kind in callback:
            token = callback[kind](token)
            kind = token.type
        if kind in ignore:
            continue
        last = token
        if kind in _PLAIN_KINDS:
            state_stack.append(settle(kind))
            value_stack.append(token)
            continue
        # What `_bounded` and the indenter do with this token; crossing a bound is Lark's loop's to report.
        if kind in _OPENERS:
            depth += 1
            if depth > MAX_BRACKETS:
                raise _Unparsed
            paren_level += 1
        elif kind in _CLOSERS:
            depth = max(depth - 1, 0)
            paren_level -= 1
            if paren_level < 0:
                raise _Unparsed
        elif kind in _RESETS:
            operators = 0
        elif value in _OPERATORS:
            operators += 1
            if operators > MAX_OPERATORS:
                raise _Unparsed
        if kind != "_NL":
            state_stack.append(settle(kind))
            value_stack.append(token)
            continue
        if paren_level > 0:
            continue
        if value[-1] == "\n" and len(indent_level) == 1:  # the indentation stays 0
            state_stack.append(settle(kind))
            value_stack.append(token)
            if plain_line is not None:
                pos, line = plain_lines(pos, line)
                line_start = pos
            continue
        try:
            batch = tuple(indenter.handle_NL(token))
        except SyntaxProblem:
            raise _Unparsed from None
        for token in batch:
            state_stack.append(settle(token.type))
            value_stack.append(token)
    indenter.paren_level = paren_level

    def feed(token, kind):
        while True:
            try:
                action, arg = states[state_stack[-1]][kind]
            except KeyError:
                raise _Unparsed from None
            if action is Shift:
                state_stack.append(arg)
                value_stack.append(token)
                return None
            size, reduce, origin = arg
            if reduce is None:
                state_stack.pop()
            elif size:
                children = value_stack[-size:]
                del state_stack[-size:]
                del value_stack[-size:]
                value_stack.append(reduce(children))
            else:
                value_stack.append(reduce([]))
            state_stack.append(states[state_stack[-1]][origin][1])
            if kind == "$END" and state_stack[-1] == end_state:
                return value_stack[-1]

    while len(indent_level) > 1:
        indent_level.pop()
        dedent = Token.new_borrow_pos("_DEDENT", "", last) if last else Token("_DEDENT", "", 0, 0, 0, 0, 0, 0)
        feed(dedent, "_DEDENT")
    result = feed(None, "$END")
    if result is None:
        raise _Unparsed
    return result


_DIGITS = frozenset("0123456789")
_PLAIN_LINES_FROM = 2048  # characters of text: ~100 lines, where reading plain lines whole saves ~1 ms


@functools.cache
def _plain_line_pattern(tables: _FastTables) -> tuple:
    """The regex of a plain line for `_parse_fast`, and the words that are not a NAME there (keywords, merges).

    One layer word, then numbers, sizes and words each after one space, then
    the grammar's line break: every token of such a line is the one the
    scanner finds (a NAME, INT or DIMS, none followed by a character that
    would extend it). (None, ()) when the tables lack what this relies on.
    """
    from . import _parse_tables as shipped

    scanner = shipped.SCANNER[0][0]
    merges = "|".join(merge_words())
    line_break = "(\r?\n[\t ]*(#[^\n]*)?)+"
    words = r"(?P<NAME>[A-Za-z_][A-Za-z_0-9]*)|"
    # A size of digits and `x` only: a DIMS, as the grammar's `?` (unknown) and `-1` axes also are.
    numbers = r"(?P<DIMS>(-?\d+|\?)(x(-?\d+|\?))+(?![A-Za-z_0-9]))|(?P<FLOAT>\d+\.\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+)|"
    if (
        not merges
        or f"(?P<_NL>{line_break})|" not in scanner
        or words not in scanner
        or numbers not in scanner
        or set(shipped.KEYWORDS) != {"NAME"}
    ):
        return None, ()  # the grammar changed: the token loop reads every line (a test fails until this is reviewed)
    excluded = frozenset(merge_words()) | frozenset(shipped.KEYWORDS["NAME"])
    word, number = r"[A-Za-z_][A-Za-z_0-9]*", r"[0-9]+(?:x[0-9]+)*"
    pattern = re.compile(rf"(?P<word>{word})(?P<rest>(?: (?:{number}|{word}))*)[ \t]*(?P<breaks>{line_break})")
    return pattern.match, excluded


# Kinds the bounds and the indenter let through untouched: most tokens.
_PLAIN_KINDS = frozenset({"NAME", "INT", "DIMS", "FLOAT", "SIGNED_NUMBER", "LABEL_TEMPLATE", "MERGE_OP"})
_RESETS = frozenset({"_NL", "VBAR", "SEMICOLON", "COMMA"})  # the kinds that end an expression for `_bounded`


def _unit_chain(states: dict, key: tuple) -> int:
    """The top state after the `?rule: other` reductions the lookahead causes, from (below, top, lookahead)."""
    below, top, kind = key
    while True:
        action, arg = states[top].get(kind, (Shift, None))  # a lookahead the state refuses: the loop reports it
        if action is Shift or arg[1] is not None:
            return top
        top = states[below][arg[2]][1]


class _FastTables:
    """What `_parse_fast` reads: the root lexer's scanner and the LALR table, each reduction with its callback."""

    __slots__ = ("patterns", "ignore", "newlines", "callback", "states", "start_state", "end_state", "chains")


@functools.cache
def _fast_tables() -> _FastTables:
    """The tables from `_parse_tables`, plain literals that load without Lark (~6 ms less per start)."""
    from . import _parse_tables as shipped

    tables = _FastTables()
    tables.patterns = [pattern.match for pattern in _scanner(shipped)]
    tables.ignore, tables.newlines = frozenset(shipped.IGNORE), frozenset(shipped.NEWLINES)
    tables.callback = {kind: _retype(words) for kind, words in shipped.KEYWORDS.items()}
    transformer = _ToAst()
    reductions = []
    for rule_plan in shipped.RULES:
        callback = _reduction(rule_plan, transformer)
        origin, size = rule_plan[0], rule_plan[1]
        # (children, callback, rule name); a None callback: `?rule: other` passes its one child up unchanged
        reductions.append((size, None if callback is _first and size == 1 else callback, origin))
    tables.states = _States(shipped.STATES, reductions)
    tables.start_state, tables.end_state = shipped.START_STATE, shipped.END_STATE
    tables.chains = {}  # filled by `_parse_fast` as it meets each chain of `?rule: other` reductions
    return tables


class _States(dict):
    """Each state's actions by terminal, a reduction's rule in place of its number; a state is
    converted the first time the parse reaches it (a short file reaches a fifth of them)."""

    __slots__ = ("rows", "reductions")

    def __init__(self, rows, reductions):
        super().__init__()
        self.rows, self.reductions = rows, reductions

    def __missing__(self, state: int) -> dict:
        reductions = self.reductions
        row = self[state] = {
            kind: (action, arg if action is Shift else reductions[arg]) for kind, (action, arg) in self.rows[state].items()
        }
        return row


def _scanner(shipped) -> list:
    """The scanner's compiled regexes.

    `re` compiles a regex in Python code: ~1.3 ms for the scanner's, on every
    start. The build stored the program that this Python's `re` makes of it
    (`COMPILED`), which `_sre` takes as it is; any other Python compiles.
    """
    if shipped.COMPILED and sys.implementation.name == "cpython":
        import _sre

        version, magic, codesize, programs = shipped.COMPILED
        if version == tuple(sys.version_info[:2]) and (magic, codesize) == (_sre.MAGIC, _sre.CODESIZE):
            try:
                return [
                    _sre.compile(pattern, flags, list(code), groups, names, _group_names(names, groups))
                    for (pattern, _), (flags, code, groups, names) in zip(shipped.SCANNER, programs)
                ]
            except (RuntimeError, TypeError, ValueError):  # `_sre` checks a program before it takes it
                pass
    return [re.compile(pattern, flags) for pattern, flags in shipped.SCANNER]


def _group_names(names: dict, groups: int) -> tuple:
    """Each group's name by its number (None for unnamed groups), as `re` hands them to `_sre.compile`."""
    by_number = [None] * (groups + 1)
    for name, number in names.items():
        by_number[number] = name
    return tuple(by_number)


def _retype(words: dict):
    """Lark's UnlessCallback: a NAME that spells a keyword (`def`, `as`) is that keyword's token."""

    def retype(token):
        kind = words.get(token.value)
        if kind is not None:
            token.type = kind
        return token

    return retype


# Statement start: a line at column 0 that is code, not inside brackets or after a `\`.
# `elif` and `else` continue the `if` above them.
@functools.cache  # compiled when first asked for: a valid file's summary never splits statements
def code_start() -> re.Pattern:
    return re.compile(r"(?!(?:elif|else)\b)[^\s#]")


def statements(text: str) -> list[tuple[int, str]]:
    """(first line, 0-based; text) of each top-level statement, comments and blank lines with the one before."""
    lines = text.split("\n")
    starts = [0]
    depth, continued = 0, False
    is_code = code_start().match
    for i, line in enumerate(lines):
        if i and depth == 0 and not continued and is_code(line):
            starts.append(i)
        code = line.split("#", 1)[0]
        depth = max(0, depth + code.count("(") + code.count("[") - code.count(")") - code.count("]"))
        continued = code.rstrip().endswith("\\")
    starts.append(len(lines))
    return [(a, "\n".join(lines[a:b]) + "\n") for a, b in zip(starts, starts[1:]) if a < b]


def parse(source: Source, first_line: int = 0) -> ast.Program:
    """Parse a whole .cnn program; raises SyntaxProblem with a span. `first_line`: the lines above
    `source` in its file (one statement of it, parsed alone), counted in the spans."""
    text = source.text if source.text.endswith("\n") else source.text + "\n"
    try:
        return _parse_fast(_fast_tables(), text, first_line=first_line).value
    except _Unparsed:
        pass
    lexed = text
    if first_line:
        # The lines above as blank lines, so the messages read the statement where it is in its file;
        # Lark's lexer starts below them (it counts their line breaks, it does not lex them).
        source = Source.below(text, first_line, source.filename)
        lexed = _lark().TextSlice(source.text, first_line, len(source.text))
    try:  # Lark's loop: the same tables, and it reports exactly where and why
        return _parser().parse(lexed).value
    except _lark().UnexpectedInput as err:
        raise _syntax_error(err, source) from None
    except SyntaxProblem as problem:  # the indenter's: a line that fits no enclosing block
        tabbed = tab_problem(source, problem.span.line) if problem.span is not None else None
        if tabbed is None:
            raise
        raise tabbed from None


class _Recording(_Indenter):
    """The indenter, keeping every token it hands the parser."""

    def process(self, stream):
        self.tokens = []
        for token in super().process(stream):
            self.tokens.append(token)
            yield token


def tokens(text: str) -> list[Token]:
    """Every token the parser reads from `text`, in order, with the indenter's _NL/_INDENT/_DEDENT.

    Comments, spaces and line breaks inside brackets are not tokens: they are
    the text between them. Raises UnexpectedInput when the text does not parse.
    """
    parser, recording, lock = _token_parser()
    with lock:  # one recording indenter for every call
        parser.parse(text)  # a plain tree: only the tokens are wanted
        return recording.tokens


@functools.cache
def _token_parser():
    """Lark's parser with a recording indenter, for `tokens()`: built once (~2.5 ms each time), used by every call."""
    import threading

    recording = _Recording()
    return _lark().Lark_StandAlone(postlex=recording), recording, threading.Lock()
