"""What every code generator shares: the registry, variable names, file layout."""

from __future__ import annotations

from ..core.errors import UnsupportedByTarget
from ..core.sizes import EXAMPLE_SIZE
from ..core.writer import BUILTINS, CodeWriter, Names

TYPE_CHECKING = False  # typing's constant without importing typing: ~2.5 ms of every start, for annotations only
if TYPE_CHECKING:
    from typing import ClassVar

    from ..model.infer import Model, TypedNode

TARGETS: dict[str, type[Target]] = {}



def example_shape(model: Model, node: TypedNode) -> tuple[int, ...]:
    """The input shape the generated demo runs: each `?` axis at EXAMPLE_SIZE, or the next size up that
    the model's conditions allow (`h ≡ 0 mod 3`: 225)."""
    return model.example_shape(node)


def example_comment(model: Model) -> str:
    """The demo's comment on the sizes it gives the `?` axes."""
    conditions = ", ".join(c.text() for c in model.conditions)
    values = model.run_sizes(1)[0]
    if not conditions and set(values.values()) <= {EXAMPLE_SIZE}:
        return f"# an axis written `?` takes any size; {EXAMPLE_SIZE} here"
    at = ", ".join(f"{name} = {value}" for name, value in values.items())
    return f"# an axis written `?` takes any size{' with ' + conditions if conditions else ''}; {at} here"


class Target:
    """A code generator; subclasses register themselves under `NAMES`."""

    NAMES: ClassVar[tuple[str, ...]] = ()
    TITLE: ClassVar[str] = ""
    RESERVED: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.NAMES:
            TARGETS[name] = cls

    def __init__(self, model: Model):
        self.model = model
        self.out = CodeWriter()

    def generate(self) -> str:
        raise NotImplementedError

    def unsupported(self, node: TypedNode, why: str) -> UnsupportedByTarget:
        return UnsupportedByTarget(f"{self.TITLE} code cannot express `{node.layer.keyword}`: {why}", node.span)

    def readers(self) -> dict[int, list[int]]:
        """For each node, the nodes that read its output; worked out once per model (each activation
        asks, so working it out per call was quadratic: 9,999 relus took 16 s)."""
        cached = self.__dict__.get("_readers")
        if cached is not None and cached[0] is self.model:
            return cached[1]
        readers: dict[int, list[int]] = {node.id: [] for node in self.model.nodes}
        for node in self.model.nodes:
            for i in node.inputs:
                readers[i].append(node.id)
        self._readers = (self.model, readers)
        return readers

    def variables(self, input_name: str, output_name: str | None = None) -> dict[int, str]:
        """A variable per node: `x` when only the next node reads it, else its layer name.

        A straight run of layers reads `x = f(x)`; a tensor needed later (a
        branch point, the end of a branch) keeps a name of its own. With
        several inputs or outputs, each keeps its layer's name.
        """
        model = self.model
        readers = self.readers()
        single_in, single_out = len(model.inputs) == 1, len(model.outputs) == 1
        names = Names((*BUILTINS, *self.RESERVED, input_name, output_name or "x"))
        out: dict[int, str] = {}
        for node in model.nodes:
            if node.id in model.inputs:
                out[node.id] = input_name if single_in else names.claim(node.name)
            elif node.id == model.output and single_out and output_name:
                out[node.id] = output_name
            elif readers[node.id] == [node.id + 1] and node.id not in model.outputs:
                out[node.id] = "x"
            else:
                out[node.id] = names.claim(node.name)
        return out
