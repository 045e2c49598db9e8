"""Frozen dataclasses that are quick to build: the syntax tree's nodes and the typed model's."""

from __future__ import annotations

from .records import _SPECS, dataclass


def frozen(cls):
    """`@dataclass(frozen=True, slots=True)` with plain defaults, from cnndsl.core.records.

    A long file builds tens of thousands of these objects; their __init__
    sets each slot through the slot's own setter, where the standard frozen
    dataclass's looks each field up by name through object.__setattr__ and
    takes half as long again. Equality, hashing, repr, `dataclasses.replace`
    and immutability are the standard dataclass's.
    """
    cls = dataclass(frozen=True, slots=True)(cls)
    if _SPECS[cls].factories:
        raise TypeError(f"{cls.__name__}: frozen() takes plain defaults only")
    return cls
