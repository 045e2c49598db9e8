"""Frozen dataclasses that are quick to build: the syntax tree's nodes and the typed model's."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields


def frozen(cls):
    """`@dataclass(frozen=True, slots=True)`, with an __init__ that sets each slot directly.

    The generated __init__ of a frozen dataclass sets each field by name
    through object.__setattr__; a long file builds tens of thousands of
    these objects, and the slots' own setters take half the time. Equality,
    hashing, repr, `dataclasses.replace` and immutability are the
    dataclass's own.
    """
    cls = dataclass(frozen=True, slots=True, init=False)(cls)
    names = [f.name for f in fields(cls)]
    scope: dict = {f"set_{name}": cls.__dict__[name].__set__ for name in names}
    params = []
    for f in fields(cls):
        if f.default_factory is not MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: frozen() takes plain defaults only")
        if f.default is MISSING:
            params.append(f.name)
        else:
            scope[f"default_{f.name}"] = f.default
            params.append(f"{f.name}=default_{f.name}")
    body = "".join(f"\n    set_{name}(self, {name})" for name in names) or "\n    pass"
    made: dict = {}
    exec(f"def __init__(self, {', '.join(params)}):{body}\n", scope, made)
    made["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = made["__init__"]
    return cls
