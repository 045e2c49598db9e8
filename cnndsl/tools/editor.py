"""What an editor asks about a .cnn text: diagnostics, hovers, completions, symbols, fixes.

Positions are the spans' own: 1-based lines and columns counted in characters.
The language server (lsp.py) converts them to the protocol's; nothing here
imports pygls. Every figure is read from the inferred model or the explain API.

Re-analysis after a keystroke is cheap because the text is parsed one
top-level statement at a time and unchanged statements come from a cache.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..core.errors import CnnError, Fix, Hint
from ..core.source import Source, Span, use_chain, visible
from ..language import ast
from ..language.parse import code_start, statements
from ..language.syntax import IDENT, STAGE_START, STATEMENT_WORDS, TEMPLATE
from ..model.infer import Model, TypedNode
from ..views.text import count_text, shape_text


def _shift(value, lines: int):
    """`value` with every span moved down by `lines`."""
    if isinstance(value, Span):
        return value.at(value.line + lines, value.column, value.end_line + lines, value.end_column)
    if isinstance(value, tuple):
        return tuple(_shift(item, lines) for item in value)
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(
            value, **{f.name: _shift(getattr(value, f.name), lines) for f in dataclasses.fields(value)}
        )
    return value


class ParseCache:
    """Parsed statements by place and text; a statement that moved is shifted, not parsed again.
    `last` is the last Document analysed with it: a text whose syntax tree is the same is not analysed again."""

    def __init__(self, limit: int = 20_000):
        from ..model.pipeline import Memo

        self.limit = limit
        self.by_place: dict[tuple[int, str], ast.Program] = {}
        self.last: Document | None = None
        self.memo = Memo()  # the expansion and inference of the last text analysed
        self.parsed: tuple[str, ast.Program] | None = None  # the last text parsed, and its tree

    def parse(self, source: Source) -> ast.Program:
        if self.parsed is not None and self.parsed[0] == source.text:  # asked again: the playground reads params first
            return self.parsed[1]
        from bisect import bisect_right

        from ..language.parse import parse

        definitions: list[ast.Definition] = []
        pipelines: list[ast.Pipeline] = []
        others: list = []
        fresh: dict[tuple[int, str], ast.Program] = {}
        moved = {text: (first, program) for (first, text), program in self.by_place.items()}
        found = statements(source.text)
        programs: list[ast.Program | None] = []
        for first, text in found:
            program = self.by_place.get((first, text))
            if program is None and text in moved:
                was, program = moved[text]
                program = _shift(program, first - was)
            programs.append(program)
        # Each run of statements not met before is parsed as one text, as the command line parses a
        # file (a long file's plain lines are read whole), then dealt out to its statements by line.
        i = 0
        while i < len(found):
            if programs[i] is not None:
                i += 1
                continue
            end = i
            while end < len(found) and programs[end] is None:
                end += 1
            if end - i == 1:
                programs[i] = parse(Source.of(found[i][1], source.filename), found[i][0])
            else:
                run = parse(Source.of("".join(text for _, text in found[i:end]), source.filename), found[i][0])
                starts = [first + 1 for first, _ in found[i:end]]
                pieces = [([], [], []) for _ in starts]
                for kept, items in enumerate((run.definitions, run.pipelines, run.statements)):
                    for item in items:
                        pieces[bisect_right(starts, item.span.line) - 1][kept].append(item)
                programs[i:end] = [ast.Program(tuple(d), tuple(p), tuple(o)) for d, p, o in pieces]
            i = end
        for (first, text), program in zip(found, programs):
            fresh[(first, text)] = program
            definitions += program.definitions
            pipelines += program.pipelines
            others += program.statements
        self.by_place = fresh if len(fresh) < self.limit else {}
        program = ast.Program(tuple(definitions), tuple(pipelines), tuple(others))
        self.parsed = (source.text, program)
        return program


class _Unchanged(Exception):
    """Raised from the parse: the syntax tree is the last Document's, so its analysis stands."""

    def __init__(self, last: Document):
        self.last = last


@dataclass(frozen=True)
class Diagnostic:
    span: Span
    message: str
    code: str | None
    related: tuple[tuple[Span, str], ...]
    fixes: tuple[Fix, ...]
    severity: str = "error"  # or "warning"


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # "block" or "layer"
    span: Span  # the whole definition or layer
    name_span: Span
    detail: str
    children: tuple[Symbol, ...] = ()


_ALL = object()  # `_memo`'s default: the document's own params


class Document:
    """One version of a .cnn text, analysed: its syntax tree, and its model or its error."""

    def __init__(
        self,
        text: str,
        filename: str = "<input>",
        cache: ParseCache | None = None,
        params: dict | None = None,
        files=None,
        settling: bool = False,
    ):
        """`params`: values for the file's `param` lines, as `--set` gives them (names the file declares).
        `files` (language.modules.Files): where its `use` lines read from; by default the disk, from `filename`.
        `settling`: analyse the text itself, never read it off the last analysis (see `_moved`)."""
        from ..model.diagnosis import suppressed
        from ..model.pipeline import analyze

        self.source = Source.of(text, filename)
        self.files = files
        self.params = dict(params) if params else None
        self._unsettled: ParseCache | None = None  # see `_moved`
        self._program: ast.Program | None = None
        self._model: Model | None = None
        self.error: CnnError | None = None
        # the code of each top-level statement, for the next keystroke's `_moved`
        self.layout = _layout(self.source.text) if cache is not None and not self.params else None
        moved = None if settling or cache is None else self._moved(cache.last)
        if moved is not None:
            self._unsettled, self.prefix_model = cache, None
            self.unsuppressed = moved
            self.found = suppressed(moved, self.source)
            return
        try:
            self.model = analyze(
                self.source,
                parse=lambda source: self._parse(source, cache),
                params=self.params,
                memo=self._memo(cache),
                files=files,
            )
        except CnnError as error:
            self.error = error
            self.analyse_further(cache)
        except _Unchanged as unchanged:
            # the same syntax tree as the last analysis (an edit in a comment or in spacing): its results,
            # on this text; only the `# cnndsl: ignore[...]` comments are read again
            last = unchanged.last
            self.model = dataclasses.replace(last.model, source=self.source) if last.model else None
            self.error, self.prefix_model, self.unsuppressed = last.error, last.prefix_model, last.unsuppressed
            if last.prefix_model is not None:
                self.prefix_model = dataclasses.replace(last.prefix_model, source=self.source)
        else:
            self.analyse_further(cache)
        self.found = self.unsuppressed if self.error is not None else suppressed(self.unsuppressed, self.source)
        if cache is not None:
            cache.last = self

    @property
    def model(self) -> Model | None:
        if self._unsettled is not None:
            self.settle()
        return self._model

    @model.setter
    def model(self, model: Model | None) -> None:
        self._model = model

    @property
    def program(self) -> ast.Program | None:
        if self._unsettled is not None and self._program is None:
            try:
                self._program = self._unsettled.parse(self.source)
            except CnnError:  # cannot happen: its code is the last good text's, but never fail a hover for it
                self.settle()
        return self._program

    @program.setter
    def program(self, program: ast.Program | None) -> None:
        self._program = program

    def _moved(self, last: Document | None) -> list[CnnError] | None:
        """The warnings of this text read off the last analysis, when the two differ only in lines the
        parser skips (blank lines and comments: an Enter above the model moves every statement down), and
        the last had no error; None otherwise. The model and the syntax tree are then worked out when
        something asks for them (a hover, the outline): the diagnostics do not wait for them."""
        if (
            last is None
            or last.layout is None
            or self.layout is None
            or last.error is not None
            or last._unsettled is not None
            or last.source.filename != self.source.filename
            or last.layout[0] != self.layout[0]
            or last.files is not self.files
            or any(code.lstrip().startswith("use") for code in self.layout[0])  # a used file may have changed
        ):
            return None
        lines: dict[int, int] = {}  # a line of the last text -> where it is now, for its statements' code lines
        for (was, count), (now, _) in zip(last.layout[1], self.layout[1]):
            for line in range(was + 1, was + count + 1):
                lines[line] = line + now - was
        moved = []
        for warning in last.unsuppressed:
            warning = _moved_error(warning, lines, self.source)
            if warning is None:
                return None
            moved.append(warning)
        return moved

    @property
    def settled(self) -> bool:
        """Whether the model is worked out (see `_moved`)."""
        return self._unsettled is None

    def settle(self) -> None:
        """Work out the model and syntax tree `_moved` left for later: the analysis of the text itself. The
        language server does it when the input falls quiet, so the next keystroke resumes from it."""
        if self._unsettled is None:
            return
        cache, self._unsettled = self._unsettled, None
        settled = Document(self.source.text, self.source.filename, cache=cache, files=self.files, settling=True)
        self._model, self._program = settled.model, settled.program

    def analyse_further(self, cache: ParseCache | None) -> None:
        """What the command line's `check` reports: every independent error, or the warnings."""
        from ..model.diagnosis import every_error

        # With an error, hovers read the model of the statements before the failing one (the lines above an
        # error are usually fine, and the user is looking at them while fixing it).
        self.prefix_model: Model | None = self._prefix_model(cache) if self.error is not None else None
        if self.error is not None:
            try:
                self.unsuppressed = every_error(self.source, self.error, params=self.params, files=self.files)
            except RecursionError:
                self.unsuppressed = [self.error]
        else:
            from ..model.lint import warnings

            self.unsuppressed = warnings(self.model, cache.memo.lint if cache is not None else None)

    def _parse(self, source: Source, cache: ParseCache | None) -> ast.Program:
        try:
            self.program = (cache or ParseCache()).parse(source)
        except CnnError:
            # the whole file again, so the message and hint are exactly the command line's
            from ..language.parse import parse

            self.program = parse(source)
        last = cache.last if cache is not None else None
        if (
            last is not None
            and last.program == self.program
            and source is self.source
            and last.params == self.params
            and last.source.filename == source.filename  # the model's name comes from it
            and not any(isinstance(s, ast.Use) for s in self.program.statements)  # a used file may have changed
        ):
            raise _Unchanged(last)
        return self.program

    def _prefix_model(self, cache: ParseCache | None) -> Model | None:
        """The model of the top-level statements before the failing one, if they make a model."""
        from ..model.pipeline import analyze

        starts = [first + 1 for first, _ in statements(self.source.text)]
        lines = self.source.text.split("\n")
        error = self.error
        for _ in range(MAX_PREFIX_TRIES):
            # an error inside a block fails at its outermost call, the last of called_from
            failing = error.called_from[-1][1] if error.called_from else error.span
            if failing is not None and failing.file is not None:  # in a used file: its `use` line here
                chain = use_chain(failing)
                failing = chain[-1][1] if chain else None
            cut = max((start for start in starts if start <= (failing.line if failing else 1)), default=1)
            if cut <= 1:
                return None
            prefix = Source.of("\n".join(lines[: cut - 1]) + "\n", self.source.filename)
            reuse = ParseCache()  # a copy: the prefix must not evict the whole text's statements
            reuse.by_place = dict(cache.by_place) if cache else {}
            try:
                # its statements are the whole text's, at their places: the memo has their expansion
                prefix_params = self._params_of(prefix, reuse)
                model = analyze(
                    prefix,
                    parse=reuse.parse,
                    params=prefix_params,
                    memo=self._memo(cache, prefix_params),
                    files=self.files,
                )
            except CnnError as found:
                error = found
                continue
            return dataclasses.replace(model, source=self.source)
        return None

    def _memo(self, cache: ParseCache | None, params: dict | None = _ALL):
        """The keystroke memo, for an analysis with the file's own param values only: the memo keeps
        expansions made with the defaults, so values given from outside (the playground's bar) go without it."""
        params = self.params if params is _ALL else params
        return cache.memo if cache is not None and not params else None

    def _params_of(self, prefix: Source, cache: ParseCache) -> dict | None:
        """Of `params`, those the prefix's own `param` lines declare (the others are further down)."""
        if not self.params:
            return None
        declared = {s.name for s in cache.parse(prefix).statements if isinstance(s, ast.FileParam)}
        return {name: value for name, value in self.params.items() if name in declared} or None

    # Diagnostics and fixes

    def diagnostics(self) -> list[Diagnostic]:
        """Every independent error, in file order; or, when there is none, the warnings."""
        found = []
        for error in self.found:
            span = error.span or Span(1, 1, 1, 1)
            message = error.message + (f"\nhint: {error.hint}" if error.hint else "")
            related = tuple((call, f"in block `{block}`, called here") for block, call in error.called_from)
            if span.file is not None:
                # In a used file: told in this one, at the call that led there or else at the `use`,
                # with the place itself (and the `use` lines that read its file) as related locations.
                chain = use_chain(span)
                here = [call for call in related if call[0].file is None]
                where = f"{visible(span.file.filename)}:{span.line}:{span.column}"
                related = (
                    (span, f"{where}: {error.message}"),
                    *related,
                    *((use, f"`{os.path.basename(used.filename)}` is used here") for used, use in chain),
                )
                span = here[0][0] if here else chain[-1][1]
                message = f"{where}: {message}"
            fixes = error.fixes(self.source)
            found.append(Diagnostic(span, message, getattr(error, "code", None), related, fixes, error.severity))
        return found

    def formatting(self) -> list[tuple[Span, str]] | None:
        """Edits that give `cnndsl fmt`'s layout, one per changed line; None when the file does not parse."""
        from .fmt import FormatChangedMeaning, format_source

        try:
            formatted = format_source(self.source.text, self.source.filename)
        except (CnnError, FormatChangedMeaning, RecursionError):
            return None
        old, new = self.source.text.split("\n"), formatted.split("\n")
        if len(new) > len(old):  # fmt never adds lines; if it did, replace the whole text
            return [(Span(1, 1, len(old), len(old[-1]) + 1), formatted)]
        edits = [
            (Span(i + 1, 1, i + 1, len(before) + 1), after)
            for i, (before, after) in enumerate(zip(old, new))
            if before != after
        ]
        if len(old) > len(new):  # trailing blank lines it dropped
            edits.append((Span(len(new), len(new[-1]) + 1, len(old), len(old[-1]) + 1), ""))
        return edits

    # Where things are

    def word_at(self, line: int, column: int) -> tuple[str, Span] | None:
        text = self.source.line(line)
        for match in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text):
            if match.start() + 1 <= column <= match.end() + 1:
                return match.group(), Span(line, match.start() + 1, line, match.end() + 1)
        return None

    def walk(self) -> Iterator[tuple[ast.Definition | None, object]]:
        """Every stage of the program with the definition it is in (None at top level)."""
        if self.program is None:
            return

        def stages(pipeline: ast.Pipeline):
            for stage in pipeline.stages:
                yield from within(stage)

        def within(stage):
            yield stage
            if isinstance(stage, ast.Merge):
                for branch in stage.branches:
                    yield from stages(branch)
            elif isinstance(stage, ast.Group):
                yield from stages(stage.body)
            elif isinstance(stage, (ast.Repeat, ast.Labelled)):
                yield from within(stage.body)

        for definition in self.program.definitions:
            for body in definition.body:
                for stage in stages(body):
                    yield definition, stage
        for body in self.program.pipelines:
            for stage in stages(body):
                yield None, stage

    def definitions(self) -> dict[str, ast.Definition]:
        """The blocks the text can call: its own, and those of the files it uses (their spans say which)."""
        if self.program is None:
            return {}
        used = {d.name: d for module in self.used_modules() for d in module.program.definitions}
        return {**used, **{d.name: d for d in self.program.definitions}}

    def used_modules(self) -> list:
        """The files the text's `use` lines read that can be read (language.modules.Module), each once."""
        if getattr(self, "_used", None) is None:
            from ..language.modules import Files, Library

            library = Library(self.files or Files.of(self.source))
            self._used, self._uses = [], {}
            for statement in self.program.statements if self.program else ():
                if isinstance(statement, ast.Use):
                    try:
                        self._uses[id(statement)] = library.use(statement)
                    except CnnError:
                        continue
            self._used = list(library.modules.values())
        return self._used

    def block_uses(self, name: str) -> list[Span]:
        """The name span of every call of block `name`."""
        uses = []
        for _, stage in self.walk():
            if isinstance(stage, ast.Call) and stage.name == name:
                uses.append(stage.name_span)
            elif isinstance(stage, ast.Layer) and stage.kind == name:
                uses.append(stage.kind_span)
        return uses

    def labels(self) -> dict[str, list[ast.Labelled]]:
        found: dict[str, list[ast.Labelled]] = {}
        for _, stage in self.walk():
            if isinstance(stage, ast.Labelled):
                found.setdefault(stage.label, []).append(stage)
        return found

    def definition_of(self, line: int, column: int) -> list[Span]:
        word = self.word_at(line, column)
        if word is None:
            return []
        name, _ = word
        for statement in self.program.statements if self.program else ():
            if isinstance(statement, ast.Use) and _contains(statement.span, line, column):
                self.used_modules()
                module = self._uses.get(id(statement))
                return [] if module is None else [Span(1, 1, 1, 1, module.source)]
        definition = self.definitions().get(name)
        if definition is not None:
            return [definition.name_span]
        return [labelled.label_span for labelled in self.labels().get(name, [])]

    def references(self, line: int, column: int, include_declaration: bool = True) -> list[Span]:
        word = self.word_at(line, column)
        if word is None:
            return []
        name, _ = word
        definition = self.definitions().get(name)
        if definition is not None:
            return ([definition.name_span] if include_declaration else []) + self.block_uses(name)
        return [labelled.label_span for labelled in self.labels().get(name, [])] if include_declaration else []

    def symbols(self) -> list[Symbol]:
        """Blocks (with the labels inside them) and named layers, in the file's order."""
        symbols: list[Symbol] = []
        inside: dict[str, list[Symbol]] = {}
        for definition, stage in self.walk():
            if isinstance(stage, ast.Labelled):
                symbol = Symbol(stage.label, "layer", stage.span, stage.label_span, _stage_word(stage.body))
                if definition is None:
                    symbols.append(symbol)
                else:
                    inside.setdefault(definition.name, []).append(symbol)
        own = {d.name: d for d in self.program.definitions} if self.program else {}
        for definition in own.values():
            params = ", ".join(p.name for p in definition.params)
            symbols.append(
                Symbol(
                    definition.name,
                    "block",
                    definition.span,
                    definition.name_span,
                    f"({params})",
                    tuple(inside.get(definition.name, ())),
                )
            )
        return sorted(symbols, key=lambda s: (s.span.line, s.span.column))

    # Hover

    @property
    def hover_model(self) -> Model | None:
        return self.model or self.prefix_model

    def hover(self, line: int, column: int) -> tuple[str, Span] | None:
        """Markdown about what is under the cursor: a layer, a block call, a block, or a label."""
        model = self.hover_model
        if model is None:
            return None
        from ..views.explain import block_members, call_figures

        word = self.word_at(line, column)
        named = self._label_hover(line, column)
        if named is not None:
            return named
        calls = [call for call in model.block_calls if _contains(call.span, line, column) and call.span.line == line]
        if calls:
            innermost = min(_size(call.span) for call in calls)
            here = [call for call in calls if _size(call.span) == innermost]
            shown = here[:MAX_INSTANCES]
            lines = [f"**{here[0].name}** block call" + (f", made {len(here)} times here" if len(here) > 1 else "")]
            members = block_members(model)
            lines += [
                f"- {self._call_path(call)}: {call_figures(members.get(call.id, []))}" for call in shown
            ]
            if len(here) > len(shown):
                lines.append(f"- … {len(here) - len(shown)} more")
            return "\n".join(lines), here[0].span
        if word is not None and word[0] in self.definitions():
            definition = self.definitions()[word[0]]
            made = [call for call in model.block_calls if call.name == word[0]]
            members = block_members(model)
            params = sum(n.info.params for call in made for n in members.get(call.id, ()))
            text = f"**{word[0]}**({', '.join(p.name for p in definition.params)}): block, called {len(made)} time{'s' if len(made) != 1 else ''}"
            place = definition.name_span
            if place.file is not None:
                text += f" (defined in `{visible(os.path.basename(place.file.filename))}`, line {place.line})"
            if made:
                text += f", {params:,} params in all"
                text += "\n\n" + "\n".join(f"- {self._call_path(c)}" for c in made[:MAX_INSTANCES])
            return text, word[1]
        nodes = self.nodes_at(line, column)
        if not nodes:
            return None
        return self._node_hover(nodes), nodes[0].span

    def _label_hover(self, line: int, column: int) -> tuple[str, Span] | None:
        """A label (`conv1:`) or a reference (`@conv1`) under the cursor: the tensor it names."""
        for _, stage in self.walk():
            if isinstance(stage, ast.Labelled) and _contains(stage.label_span, line, column):
                name, span, title = stage.label, stage.label_span, "label"
            elif isinstance(stage, ast.Reference) and _contains(stage.span, line, column):
                name, span, title = stage.name, stage.span, "reference to"
            else:
                continue
            nodes = self.labelled_nodes(name)
            if not nodes:
                return None
            head = f"{title} `{name}`: output `{shape_text(nodes[-1].symbolic)}`"
            if len(nodes) > 1:
                head = (
                    f"{title} `{name}`, {len(nodes)} layers: "
                    + ", ".join(f"`{n.name}` {shape_text(n.symbolic)}" for n in nodes[:MAX_INSTANCES])
                    + (" …" if len(nodes) > MAX_INSTANCES else "")
                )
            return head + "\n\n" + self._node_hover(nodes[-1:]), span
        return None

    def labelled_nodes(self, label: str) -> list[TypedNode]:
        """The layers a label names: one, or one per filling of a template label (`cell{i}`)."""
        model = self.hover_model
        if model is None:
            return []
        if "{" not in label:
            return [node for node in model.nodes if node.name == label and not node.implicit][:1]
        pattern = re.compile(
            "".join(".+?" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^{}]*\})", label))
        )
        return [node for node in model.nodes if pattern.fullmatch(node.name) and not node.implicit]

    def _call_path(self, call) -> str:
        """`stack(128, 4) › projection(c, s)`: the calls that led to this one, outermost first."""
        from ..views.text import call_label

        model = self.hover_model
        for node in model.nodes:
            ids = [c.id for c in node.blocks]
            if call.id in ids:
                return " › ".join(call_label(c, model.source) for c in node.blocks[: ids.index(call.id) + 1])
        return call_label(call, model.source)

    def nodes_at(self, line: int, column: int) -> list[TypedNode]:
        """The nodes made by the innermost layer whose text is under the cursor (several in a block)."""
        model = self.hover_model
        if model is None:
            return []
        under = [node for node in model.nodes if _contains(node.span, line, column)]
        if not under:
            return []
        smallest = min(under, key=lambda n: _size(n.span))
        return [node for node in under if node.span == smallest.span]

    def _node_hover(self, nodes: list[TypedNode]) -> str:
        from ..views.explain import explain_parts
        from ..views.text import call_label

        model = self.hover_model
        first = nodes[0]
        out: list[str] = []
        if len(nodes) > 1 and len({tuple(c.id for c in n.blocks) for n in nodes}) > 1:
            out.append(f"made {len(nodes)} times (once per block call):")
            for node in nodes[:MAX_INSTANCES]:
                path = " › ".join(call_label(c, model.source) for c in node.blocks) or "top level"
                out.append(
                    f"- `{node.name}` ({node.keras_type}) in {path}: {shape_text(node.symbolic)}, "
                    f"{node.info.params:,} params"
                )
            if len(nodes) > MAX_INSTANCES:
                out.append(f"- … {len(nodes) - MAX_INSTANCES} more")
            out.append("")
            out.append("first of them:")
        explained = nodes if len({tuple(c.id for c in n.blocks) for n in nodes}) == 1 else [first]
        for node in explained[:MAX_INSTANCES]:  # a repeat's rounds, each with its own shapes
            info = node.info
            out.append(f"**{node.name}** ({node.keras_type}{', implicit' if node.implicit else ''})")
            out.append(f"- output: `{shape_text(node.symbolic)}`")
            out.append(
                f"- params: {info.params:,} (trainable {info.trainable:,}, non-trainable {info.non_trainable:,})"
            )
            out.append(f"- MACs: {count_text(info.macs)}")
            parts = explain_parts(model, node)
            out += [f"- value: `{text}`" for text in parts["values"]]
            arithmetic = [*parts["shape"][1:], *parts["params"], *parts["macs"]]
            if any(arithmetic):
                out.append("```")
                out += [f"shape:  {t}" for t in parts["shape"][1:]]
                if info.params:
                    out += [f"params: {t}" for t in parts["params"]]
                if info.macs:
                    out += [f"MACs:   {t}" for t in parts["macs"]]
                out.append("```")
        if len(explained) > MAX_INSTANCES:
            out.append(f"… {len(explained) - MAX_INSTANCES:,} more rounds of this layer")
        return "\n".join(out)

    # Completion

    def completions(self, line: int, column: int) -> list[tuple[str, str, str]]:
        """(label, kind, detail) for the cursor: kinds `layer`, `block`, `merge`, `option`, `parameter`."""
        from ..language.syntax import merge_words
        from ..layers import REGISTRY

        before = self.source.line(line)[: column - 1]
        if "#" in before:
            return []
        reference = re.search(r"@([\w{}]*)$", before)
        blocks = _defined_blocks(self.source.text)
        if reference:
            items = [(label, "label", detail) for label, detail in self._labels_above(line, column)]
            inside = _enclosing_block(self.source.text, line, blocks)
            if inside is not None:  # a parameter may stand for a label: `def normal(c, h, p)` and `@p`
                items += [(p, "parameter", f"parameter of {inside}") for p in blocks[inside]]
            return items
        call = re.search(r"([A-Za-z_]\w*)\(([^()]*)$", before)
        if call and call.group(1) in blocks:
            return [(f"{p}=", "parameter", f"parameter of {call.group(1)}") for p in blocks[call.group(1)]]
        stage = re.split(r"[|;(]|^\s*[A-Za-z_]\w*\s*:(?!=)|\b[A-Za-z_]\w*\s*:\s", before)[-1]
        words = stage.split()
        starting = not words or (len(words) == 1 and not stage.endswith((" ", "\t")))
        if before.lstrip().startswith("def "):
            return []
        if starting:
            items = [(kw, "layer", REGISTRY[kw].SUMMARY or REGISTRY[kw].usage(kw)) for kw in sorted(REGISTRY)]
            items = [item for item in items if item[0] not in merge_words()]
            items.append(("identity", "layer", "passes its input on unchanged"))
            items += [(op, "merge", f"{op}(branch; branch)") for op in merge_words()]
            items += [(name, "block", f"{name}({', '.join(params)})") for name, params in blocks.items()]
            return items
        kind = REGISTRY.get(words[0])
        if kind is None:
            return []
        items = [(word, "option", kind.USAGE) for word in dict.fromkeys(kind.option_words())]
        inside = _enclosing_block(self.source.text, line, blocks)
        if inside is not None:
            items += [(p, "parameter", f"parameter of {inside}") for p in blocks[inside]]
        return items

    def _labels_above(self, line: int, column: int) -> list[tuple[str, str]]:
        """The labels written before the cursor, each once (the nearest first), read from the text: the
        line being typed does not parse yet. The detail is the shape when the model knows it."""
        lines = self.source.text.split("\n")[:line]
        lines[-1] = lines[-1][: column - 1]
        found: dict[str, int] = {}
        for number, text in enumerate(lines, 1):
            for match in _LABEL.finditer(text.split("#", 1)[0]):
                if match.group(1) not in STATEMENT_WORDS:
                    found[match.group(1)] = number
        items = []
        for label, number in sorted(found.items(), key=lambda item: -item[1]):
            nodes = self.labelled_nodes(label)
            items.append((label, f"line {number}" + (f": {shape_text(nodes[-1].symbolic)}" if nodes else "")))
        return items


_NOT_CODE = r"[\t ]*(?:#[^\n]*)?"  # a line the grammar's _NL swallows whole: blank, or a comment
_ENDS_WITH_BACKSLASH = r"\\[\t \f]*$"  # joins the next line to it, blank or not
_NAMES_A_LINE = r"\blines? \d"  # a message that says where something else is ("a label (line 4)")


def _layout(text: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """The code of each top-level statement (without the blank and comment lines after it, which the
    parser skips), and where it is: (first line, 0-based; how many lines)."""
    codes, places = [], []
    for first, chunk in statements(text):
        lines = chunk.split("\n")[:-1]
        count = len(lines)
        while count and re.fullmatch(_NOT_CODE, lines[count - 1]):
            count -= 1
        if count and re.search(_ENDS_WITH_BACKSLASH, lines[count - 1]):
            count = len(lines)  # the lines after it are read as part of it: all are its code
        codes.append("\n".join(lines[:count]))
        places.append((first, count))
    return tuple(codes), tuple(places)


def _moved_span(span: Span | None, lines: dict[int, int]) -> Span | None:
    """`span` in the edited text; None when it is not on a statement's code lines."""
    line, end = lines.get(span.line), lines.get(span.end_line)
    if line is None or end is None:
        return None
    return Span(line, span.column, end, span.end_column)


def _moved_error(error: CnnError, lines: dict[int, int], source: Source) -> CnnError | None:
    """A copy of `error` with its spans (its own, its calls', its hint's edits) in the edited text;
    None when one is not on a code line, or its text names a line, or it holds something else."""
    if re.search(_NAMES_A_LINE, error.message + str(error.hint or "")):
        return None
    fields = dict(vars(error))
    for name, value in fields.items():
        if name == "span":
            fields[name] = value if value is None else _moved_span(value, lines)
            if value is not None and fields[name] is None:
                return None
        elif name == "called_from":
            calls = tuple((block, _moved_span(call, lines)) for block, call in value)
            if any(call is None for _, call in calls):
                return None
            fields[name] = calls
        elif name == "hint" and isinstance(value, Hint):
            edits = []
            for edit in value.edits:
                span = edit.span if edit.span is None else _moved_span(edit.span, lines)
                if edit.span is not None and span is None:
                    return None
                edits.append(dataclasses.replace(edit, span=span))
            fields[name] = Hint(str(value), *edits)
        elif name == "source" and isinstance(value, Source):
            fields[name] = source
        elif not isinstance(value, (str, int, float, type(None))):
            return None  # something this copy does not know how to move
    moved = BaseException.__new__(type(error))
    moved.args = error.args
    vars(moved).update(fields)
    return moved


MAX_INSTANCES = 8
MAX_PREFIX_TRIES = 4  # shorter prefixes tried when a prefix fails too; each is one more parse per keystroke


_LABEL = re.compile(STAGE_START + "(" + TEMPLATE + "|" + IDENT + r")[ \t]*:(?!=)")


def _defined_blocks(text: str) -> dict[str, list[str]]:
    """Block names and parameters, read from `def` lines even when the file does not parse."""
    found = {}
    for match in re.finditer(r"^[ \t]*def[ \t]+([A-Za-z_]\w*)[ \t]*\(([^)]*)\)", text, flags=re.M):
        params = [p.split("=")[0].strip() for p in match.group(2).split(",")]
        found[match.group(1)] = [p for p in params if p]
    return found


def _enclosing_block(text: str, line: int, blocks: dict[str, list[str]]) -> str | None:
    """The block whose `def` the line belongs to, judged by indentation."""
    lines = text.split("\n")
    for i in range(min(line, len(lines)) - 1, -1, -1):
        current = lines[i]
        match = re.match(r"def[ \t]+([A-Za-z_]\w*)", current)
        if match:
            return match.group(1) if match.group(1) in blocks else None
        if i != line - 1 and code_start().match(current):
            return None
    return None


def _stage_word(stage) -> str:
    if isinstance(stage, ast.Layer):
        return stage.kind
    if isinstance(stage, ast.Call):
        return f"{stage.name}(…)"
    if isinstance(stage, ast.Merge):
        return f"{stage.op}(…)"
    return ""


def _contains(span: Span, line: int, column: int) -> bool:
    """Whether (line, column) of the text is in `span`: never a span of a used file."""
    return span.file is None and (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def _size(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column)
