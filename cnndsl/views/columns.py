"""The summary's optional columns (`--columns`, `--all`), layouts and block-level rows (`--depth`).

A `View` says what to show; `summary.table_rows` turns the model into the
header, rows and alignment of any of the summary's formats.
"""

from __future__ import annotations

from ..core.choices import SUMMARY_COLUMNS as COLUMNS
from ..core.records import dataclass
from ..model.infer import Model

HEADERS = {
    "shape": ("Output Shape", "<"),
    "params": ("Param #", ">"),
    "trainable": ("Trainable #", ">"),
    "macs": ("MACs", ">"),
    "activations": ("Activations", ">"),
    "memory": ("Output Bytes", ">"),
    "rf": ("Receptive Field", "<"),
    "stride": ("Stride", "<"),
    "padding": ("Eff. Padding", "<"),
    "connected": ("Connected to", "<"),
}


@dataclass(frozen=True)
class View:
    columns: tuple[str, ...] | None = None  # None: Keras's own columns
    layout: str = "channels_last"
    depth: int | None = None  # show this many levels of block calls; deeper calls are one row
    dtype: str = "float32"
    optimizer: str = "adam"
    memory: bool = False  # memory figures under the totals

    def chosen(self, model: Model, macs: bool) -> tuple[str, ...]:
        if self.columns is not None:
            return tuple(c for c in COLUMNS if c in self.columns)
        keras = ("shape", "params") + (("macs",) if macs else ())
        return keras + (("connected",) if not model.sequential else ())


def parse_columns(text: str) -> tuple[str, ...]:
    """`shape,params,rf` to a tuple; ValueError names a column that does not exist."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in COLUMNS]
    if unknown or not names:
        raise ValueError(f"unknown column {unknown[0]!r}" if unknown else "no columns given")
    return names


KERAS_VIEW = View()  # Keras's own table
