"""The one pipeline, text to model: parse, expand, infer. Every caller goes through `analyze`.

The CLI, the Python API, the editor and language server, the notebook and fmt
all call it, so a text gets the same model or the same error everywhere.
"""

from __future__ import annotations

import gc
import os

from ..core.errors import CnnError, LimitExceeded
from ..core.records import replace
from ..core.source import Source, Span
from .infer import Model


class Memo:
    """What one analysis keeps for the next of the same file (the editor's, between keystrokes):
    the expansion after each top-level statement, the typed nodes and which were quiet under the
    local warning rules, so the statements before the first changed one are neither expanded,
    inferred nor linted again. The results are the same."""

    def __init__(self):
        from ..language.expand import ExpansionMemo
        from .infer import InferenceMemo
        from .lint import LintMemo

        self.expansion = ExpansionMemo()
        self.inference = InferenceMemo()
        self.lint = LintMemo()


def analyze(
    source: Source,
    name: str | None = None,
    parse=None,
    params: dict | None = None,
    memo: Memo | None = None,
    files=None,
) -> Model:
    """The model of a source; raises CnnError (its `source` set) on any mistake.

    `params` replace the defaults of the file's `param` lines (`--set alpha=0.5`).
    `parse` replaces the parser (source -> syntax tree): the editor's reuses the
    statements that did not change since the last keystroke; `memo`, its expansion
    and inference (see Memo). `files` (language.modules.Files) is where `use` reads from: by
    default the disk, from the folder of `source`'s file.
    """
    from ..language.expand import expand
    from ..language.modules import Files, Library
    from ..language.parse import parse as parse_all
    from .infer import InferenceMemo, infer

    # The syntax tree and the graph hold no reference cycles, but the cyclic
    # collector would walk all of them again and again as they grow: most of
    # the time of a long file, and superlinear. Pause it while they are built.
    with collector_paused():
        try:
            program = (parse or parse_all)(source)
            library = Library(files or Files.of(source)) if _uses(program) else None
            if memo is None:
                graph = expand(program, params, library=library)
                model = infer(graph, name or model_name(source.filename))
            else:
                graph = expand(program, params, memo=memo.expansion, library=library)
                if memo.expansion.key is None:
                    # a statement labelled a node an earlier one made (see ExpansionMemo): a node the
                    # last inference typed may have changed since, so none of its typed nodes is kept
                    memo.inference = InferenceMemo()
                model = infer(graph, name or model_name(source.filename), memo=memo.inference)
            if library is not None:
                library.done()
            return replace(model, source=source)
        except CnnError as error:
            error.source = source
            raise
        except RecursionError:
            # limits.py keeps every file within Python's default recursion limit; a caller
            # already deep in its own stack may still run out, and gets a CnnError all the same.
            error = LimitExceeded(
                "the file nests too deeply for the stack left to cnndsl here",
                Span(1, 1, 1, 2),
                "call cnndsl from a shallower place, or nest fewer brackets and blocks inside each other",
            )
            error.source = source
            raise error from None


def _uses(program) -> bool:
    """Whether a program has a `use` line (most have none, and need no files)."""
    from ..language.ast import Use

    return program.statements is not program.pipelines and any(isinstance(s, Use) for s in program.statements)


class collector_paused:
    """`with collector_paused():` the cyclic collector is off inside, and as it was after."""

    __slots__ = ("was_on",)

    def __enter__(self):
        self.was_on = gc.isenabled()
        gc.disable()

    def __exit__(self, *exception):
        if self.was_on:
            gc.enable()


def model_name(filename: str) -> str:
    """The Keras model name a file gives: its stem as an identifier, or `model`."""
    stem = os.path.splitext(os.path.basename(filename))[0]
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in stem)
    if not cleaned or cleaned[0].isdigit() or filename.startswith("<"):
        return "model"
    return cleaned
