"""`use "blocks.cnn"`: the files a .cnn file uses, found, read and parsed within the bounds of limits.py.

A path is taken relative to the folder of the file that uses it. Only a regular file whose name ends
in `.cnn`, and whose real path (after symbolic links) ends in `.cnn` too, is ever opened: never a
FIFO, a device or a directory, so no error can quote a file that is no .cnn file. Every span of a
used file's syntax tree carries its Source (`Span.file`), whose `used_at` is the `use` that read it:
an error inside it is told at its own file:line:col, with a note at the `use`.
"""

from __future__ import annotations

import os
import stat

from ..core.errors import CnnError, UseProblem, did_you_mean
from ..core.limits import MAX_FILE_BYTES, MAX_USE_DEPTH, MAX_USED_BYTES, MAX_USED_FILES
from ..core.source import Source, Span
from . import ast

NO_PATH = "this text has no file name to look from (standard input, or `cnndsl.analyze` without `filename=`)"
NO_PATH_HINT = "run cnndsl on the file itself, or give its path as `filename=`"


class Module:
    """A used file: its source and syntax tree (every span in it carries the source), and the
    modules its own `use` lines read, in order."""

    __slots__ = ("source", "program", "path", "uses")

    def __init__(self, source: Source, program: ast.Program, path: str):
        self.source, self.program, self.path = source, program, path
        self.uses: list[tuple[ast.Use, Module]] = []


class Files:
    """Where `use` reads from, for one file and each analysis of it (the editor keeps one between keystrokes).

    `base` is the path of the file being analysed; None when it has none: then a `use` is a located
    error that says `why` (and `hint`). `opened(path)` gives the text of a file the editor has open
    (its unsaved text wins over the disk's), or None. Parsed modules are kept by path, text and place
    of use, so an unchanged used file is not parsed again."""

    def __init__(self, base: str | None, why: str = NO_PATH, hint: str = NO_PATH_HINT, opened=None):
        self.base, self.why, self.hint, self.opened = base, why, hint, opened
        self.parsed: dict[tuple, Module] = {}
        self.paths: set[str] = set()  # the real paths `use` lines asked for, read or not (the editor watches them)

    @classmethod
    def of(cls, source: Source) -> Files:
        """The disk, from the folder of `source`'s file; no files when its name is no path (`<stdin>`)."""
        return cls(None if source.filename.startswith("<") else source.filename)


class Library:
    """The modules one analysis uses: each file read once, however often it is used."""

    def __init__(self, files: Files):
        self.files = files
        self.modules: dict[str, Module] = {}  # by real path
        self.read_bytes = 0
        self.kept: dict[tuple, Module] = {}

    def use(self, statement: ast.Use, chain: tuple[str, ...] = ()) -> Module:
        """The module a `use` reads (and, in it, the modules it uses); `chain`, the real paths of
        the used files that led here, for cycles."""
        span = statement.span
        files = self.files
        using = span.file.filename if span.file is not None else files.base
        if using is None:
            raise UseProblem(f"`use` cannot read files here: {files.why}", span, files.hint)
        written = statement.path
        if not written.endswith(".cnn"):
            raise UseProblem(
                f"`use` reads only .cnn files, and `{written}` is not one", span, 'name a .cnn file: `use "blocks.cnn"`'
            )
        path = os.path.normpath(os.path.join(os.path.dirname(using), written))
        real = os.path.realpath(path)
        if not real.endswith(".cnn"):
            raise UseProblem(f"`{written}` leads to a file whose name does not end in .cnn", span, "use the .cnn file itself")
        main = () if files.base is None else (os.path.realpath(files.base),)
        if real in (*main, *chain):
            names = [os.path.basename(p) for p in (*main, *chain, real)]
            raise UseProblem(
                f"a cycle of `use`: {' -> '.join(names)}", span, "move what both files need into a third one"
            )
        if len(chain) >= MAX_USE_DEPTH:
            raise UseProblem(
                f"files use files more than {MAX_USE_DEPTH} deep here", span, "use the files this chain needs directly"
            )
        found = self.modules.get(real)
        if found is not None:
            return found
        if len(self.modules) >= MAX_USED_FILES:
            raise UseProblem(
                f"this analysis uses more than {MAX_USED_FILES} files", span, "no real network needs this many; merge some"
            )
        text = self.read(path, real, written, span)
        module = self.parse(text, path, real, statement)
        self.modules[real] = module
        for inner in module.program.statements:
            if isinstance(inner, ast.Use):
                module.uses.append((inner, self.use(inner, (*chain, real))))
        return module

    def read(self, path: str, real: str, written: str, span: Span) -> str:
        self.files.paths.add(real)
        text = self.files.opened(real) if self.files.opened is not None else None
        if text is None:
            text = _read_cnn(path, written, span)
        self.read_bytes += len(text)
        if self.read_bytes > MAX_USED_BYTES:
            raise UseProblem(
                f"the used files hold more than {MAX_USED_BYTES // 2**20} MB together", span, "no real network needs this much"
            )
        return text

    def parse(self, text: str, path: str, real: str, statement: ast.Use) -> Module:
        key = (real, text, statement.span)
        module = self.files.parsed.get(key)
        if module is not None:
            self.kept[key] = module
            return module
        from .parse import parse

        source = Source.of(text, path, statement.span)
        try:
            program = parse(source)
        except CnnError as error:
            error.span = _in_file(error.span, source)
            raise
        program = _in_file(program, source)
        _only_definitions(program.statements)
        module = Module(source, program, real)
        self.kept[key] = module
        return module

    def done(self) -> None:
        """Keep this analysis's parsed modules for the next (and no others: the cache stays small)."""
        self.files.parsed = self.kept


def _read_cnn(path: str, written: str, span: Span) -> str:
    """The UTF-8 text of a regular .cnn file, read up to MAX_FILE_BYTES; a located error otherwise."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        folder = os.path.dirname(path) or "."
        try:
            near = [name for name in os.listdir(folder) if name.endswith(".cnn")]
        except OSError:
            near = []
        hint = did_you_mean(os.path.basename(path), near) or f"no such file: {path}"
        raise UseProblem(f"`{written}` does not exist", span, hint) from None
    except OSError as error:
        raise UseProblem(f"cannot read `{written}`: {error.strerror or error}", span) from None
    if not stat.S_ISREG(status.st_mode):
        what = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file"
        raise UseProblem(f"`{written}` is {what}", span, "`use` reads .cnn files only")
    if status.st_size > MAX_FILE_BYTES:
        raise UseProblem(f"`{written}` is larger than {MAX_FILE_BYTES // 2**20} MB, more than any .cnn file needs", span)
    try:
        # O_NONBLOCK: had a FIFO taken the file's place since the stat, opening it must not wait for a writer
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise UseProblem(f"cannot read `{written}`: {error.strerror or error}", span) from None
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise UseProblem(f"`{written}` is not a regular file", span, "`use` reads .cnn files only")
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UseProblem(f"`{written}` is larger than {MAX_FILE_BYTES // 2**20} MB, more than any .cnn file needs", span)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UseProblem(
            f"`{written}` is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})", span
        ) from None


def _only_definitions(statements) -> None:
    """A used file gives names, not layers: `def`, `param`, `let`, `use`, and `if`/`for` around `let`s."""
    for statement in statements:
        if isinstance(statement, ast.Pipeline):
            raise UseProblem(
                "a used file holds `def`, `param`, `let` and `use` lines; this line adds layers",
                statement.span,
                "move the layers into the file that uses this one",
            )
        if isinstance(statement, ast.If):
            for _, body in statement.branches:
                _only_definitions(body)
        elif isinstance(statement, ast.For):
            _only_definitions(statement.body)


def _in_file(value, source: Source):
    """`value` (a syntax tree, a span) with every span in it marked as `source`'s."""
    if isinstance(value, Span):
        return Span(value.line, value.column, value.end_line, value.end_column, source)
    if isinstance(value, tuple):
        return tuple(_in_file(item, source) for item in value)
    names = getattr(type(value), "__match_args__", None)  # a syntax tree node's fields
    if names is None or isinstance(value, (str, int, float)):
        return value
    return type(value)(**{name: _in_file(getattr(value, name), source) for name in names})

