"""The module paths before cnndsl had subpackages, kept working: `python -m cnndsl.catalogue` and imports.

Each old name is found by a finder on sys.meta_path and is the new module itself
(the same object), so code and commands written for the old layout run unchanged.
"""

from __future__ import annotations

import sys

MOVED = {
    "_dataclass": "core.records",
    "frozen": "core.frozen",
    "source": "core.source",
    "errors": "core.errors",
    "limits": "core.limits",
    "emit.writer": "core.writer",
    "ast": "language.ast",
    "parse": "language.parse",
    "expand": "language.expand",
    "syntax": "language.syntax",
    "_generated_parser": "language._generated_parser",
    "_parse_tables": "language._parse_tables",
    "build_parser": "language.parser_build",
    "infer": "model.infer",
    "memory": "model.memory",
    "receptive": "model.receptive",
    "summary": "views.summary",
    "columns": "views.columns",
    "explain": "views.explain",
    "diagram": "views.diagram",
    "diff": "views.diff",
    "torchinfo_style": "views.torchinfo_style",
    "flops": "views.flops",
    "diagnostics": "views.diagnostics",
    "reference": "views.reference",
    "fmt": "tools.fmt",
    "editor": "tools.editor",
    "lsp": "tools.lsp",
    "notebook": "tools.notebook",
    "highlight": "tools.highlight",
    "budgets": "tools.budgets",
    "catalogue": "build.catalogue",
}


class _Alias:
    """Loads an old name as the new module; under `python -m`, runs the new module as __main__."""

    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        import importlib

        return importlib.import_module(self.new)

    def exec_module(self, module) -> None:
        pass

    def get_code(self, name: str):
        return compile(f"import runpy\nrunpy.run_module({self.new!r}, run_name='__main__', alter_sys=True)\n", name, "exec")


class _MovedFinder:
    @staticmethod
    def find_spec(name: str, path=None, target=None):
        prefix, _, rest = name.partition(".")
        if prefix != "cnndsl" or rest not in MOVED:
            return None
        from importlib.machinery import ModuleSpec

        return ModuleSpec(name, _Alias(f"cnndsl.{MOVED[rest]}"))


def install() -> None:
    if not any(finder is _MovedFinder for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder)
