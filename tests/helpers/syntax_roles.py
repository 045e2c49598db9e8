"""What the parser says each word is, for checking highlighters against it.

`roles(text)` maps (line, column) of every layer keyword, block name, merge and
label, as the parser found them, to one of "layer", "block", "merge", "label".
"""

from __future__ import annotations

from pathlib import Path

from docs_pages import cnn_snippets

from cnndsl.core.source import Source
from cnndsl.language import ast
from cnndsl.language.parse import parse
from cnndsl.language.syntax import layer_words

ROOT = Path(__file__).resolve().parent.parent.parent


def sample_texts() -> dict[str, str]:
    """Every example, and every ```cnn snippet of the README and the manual."""
    examples = ROOT / "examples"
    texts = {
        path.relative_to(examples).as_posix().replace("/", "-"): path.read_text(encoding="utf-8")
        for path in sorted(examples.rglob("*.cnn"))
    }
    for name, snippet in cnn_snippets():
        texts[f"docs-{name}"] = snippet
    return texts


def roles(text: str) -> dict[tuple[int, int], tuple[str, str]]:
    """(line, column) -> (role, word), 1-based like spans."""
    program = parse(Source.of(text))
    blocks = {definition.name for definition in program.definitions}
    found: dict[tuple[int, int], tuple[str, str]] = {}

    def mark(span, role: str, word: str) -> None:
        found[(span.line, span.column)] = (role, word)

    def stage(node) -> None:
        if isinstance(node, ast.Layer):
            # a word no layer has is a block, or a block parameter standing for one (`tail` in a body)
            block = node.kind in blocks or node.kind not in layer_words()
            mark(node.kind_span, "block" if block else "layer", node.kind)
        elif isinstance(node, ast.Call):
            mark(node.name_span, "block", node.name)
        elif isinstance(node, ast.Merge):
            mark(node.op_span, "merge", node.op)
            for branch in node.branches:
                pipeline(branch)
        elif isinstance(node, ast.Group):
            pipeline(node.body)
        elif isinstance(node, ast.Repeat):
            stage(node.body)
        elif isinstance(node, ast.Reference):
            mark(node.name_span, "label", node.name)
        elif isinstance(node, ast.Labelled):
            mark(node.label_span, "label", node.label)
            stage(node.body)

    def pipeline(node: ast.Pipeline) -> None:
        for item in node.stages:
            stage(item)

    def statements(items) -> None:
        for item in items:
            if isinstance(item, ast.Pipeline):
                pipeline(item)
            elif isinstance(item, ast.If):
                for _, body in item.branches:
                    statements(body)
            elif isinstance(item, ast.For):
                statements(item.body)

    for definition in program.definitions:
        mark(definition.name_span, "block", definition.name)
        statements(definition.body)
    statements(program.statements or program.pipelines)
    return found
