"""The package's layers (cnndsl/__init__.py's docstring): every import, function-level ones too, points down."""

from __future__ import annotations

import ast
from pathlib import Path

import cnndsl

PACKAGE = Path(cnndsl.__file__).resolve().parent
# lowest first; a module may import from its own layer and the ones before it
LAYERS = ["core", "layers", "language", "model", "emit", "views", "tools", "importers", "api", "cli", "build"]
TOP = {"cli": "cli", "_plain_commands": "cli", "__main__": "cli", "__init__": "api", "port": "api"}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "api"
    return TOP.get(parts[0], parts[0])


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every cnndsl module the file imports, at any depth of the code."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                exists = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / candidate.replace(".", "/") / "__init__.py"
                ).exists()
                found.add(candidate if exists else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == "cnndsl" or m.startswith("cnndsl.")}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    assert {layer_of(module_name(p)) for p in modules()} <= set(LAYERS)


def test_every_import_points_down():
    upward = []
    for path in modules():
        name = module_name(path)
        for target in imports(path):
            if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(name)):
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_cycle_anywhere():
    graph = {module_name(p): imports(p) - {module_name(p)} for p in modules()}
    # a package's __init__ importing its own modules is how it is made, not a cycle
    graph = {m: {t for t in ts if not (m.startswith(t + ".") and t != "cnndsl")} for m, ts in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(stack[stack.index(target) :] + [target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_few_files_at_the_top():
    assert len(list(PACKAGE.glob("*.py"))) <= 6


def test_the_layout_the_docs_describe_is_the_tree():
    root = PACKAGE.parent
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    files = {p.name for p in PACKAGE.glob("*.py")}
    page = (root / "docs" / "manual" / "internals.md").read_text(encoding="utf-8")
    section = page.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    named = {name.strip("`/ ") for row in rows for name in row.split(",")}
    assert named == folders | files
    readme = (root / "README.md").read_text(encoding="utf-8").split("## How the code is laid out", 1)[1]
    listed = readme.split("\n## ", 1)[0]
    assert all(f"`{folder}/`" in listed for folder in folders)
    assert LAYERS == [*(name for name in LAYERS if name in folders or name in ("api", "cli"))]
    order = [listed.index(f"`{folder}/`") for folder in LAYERS if folder in folders]
    assert order == sorted(order), "the README lists the folders in the import order"
