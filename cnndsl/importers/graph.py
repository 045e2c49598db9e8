"""What an importer makes of a model file: its layers as cnndsl words, wired by index."""

from __future__ import annotations

from dataclasses import dataclass, field

MERGES = ("add", "subtract", "multiply", "average", "maximum", "minimum", "concat", "scaleadd")


@dataclass(frozen=True)
class Value:
    """A value in a layer's words that a block may take as a parameter: `64` filters, `3x3`, `relu`.

    `role` names what it is (`c` channels, `k` kernel, `s` stride ...), which names the parameter.
    """

    role: str
    value: int | float | str


@dataclass
class Layer:
    """One layer of the imported graph.

    `words` are what follows the keyword: plain strings (`same`, `stride`) and Values.
    `label` is the source's own name for it, or None where the source used its default name.
    """

    keyword: str
    words: tuple = ()
    inputs: tuple[int, ...] = ()
    label: str | None = None
    source_name: str = ""
    source_kind: str = ""  # the source's class or operator, for messages

    @property
    def merge(self) -> bool:
        return self.keyword in MERGES


@dataclass
class Graph:
    """The layers in an order where every layer comes after its inputs."""

    layers: list[Layer] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    name: str = "model"
    format: str = ""  # "Keras", "ONNX"
    defaults: str = "keras"  # `defaults pytorch` for ONNX graphs
    notes: list[str] = field(default_factory=list)  # header lines about the import

    def add(self, layer: Layer) -> int:
        self.layers.append(layer)
        return len(self.layers) - 1
