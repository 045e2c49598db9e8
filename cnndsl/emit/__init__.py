"""Code generators: one typed graph, one module per target.

`generate(model, "keras" | "pytorch")` returns the source of a runnable
module that defines `build_model()`. Each target is a `Target` subclass,
registered under its names when its module is imported; how a target
writes one layer lives with that layer kind (`LayerKind.keras`,
`LayerKind.torch` in cnndsl/layers), so the targets only lay out the file.
"""

from __future__ import annotations

from .target import Target

__all__ = ["TARGETS", "Target", "generate"]


# The modules that each define the target named after them; importing one registers it.
_MODULES = ("keras", "pytorch")


def _targets() -> dict:
    # Imported on first use: the layer kinds import the code writer from this
    # package, and `summary` must not pay for the targets.
    for module in _MODULES:
        _import(module)
    from .target import TARGETS

    return TARGETS


def _import(module: str) -> None:
    import importlib

    importlib.import_module(f".{module}", __name__)


def __getattr__(name: str):
    if name == "TARGETS":
        return _targets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _target(name: str):
    """The target registered as `name`, importing only its own module when the module bears
    its first name (`emit --pytorch` need not load the Keras writer: ~3 ms of a cold start)."""
    from .target import TARGETS

    if name not in TARGETS and name in _MODULES:
        _import(name)
    if name not in TARGETS:
        _targets()
    return TARGETS[name]


def generate(model, target: str) -> str:
    """The source of a module building `model` with the given target."""
    try:
        cls = _target(target)
    except KeyError:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(sorted(_targets()))}") from None
    return cls(model).generate()
