"""Receptive field and effective stride of every node, with respect to the input.

Per spatial axis, output position `o` of a node reads the input positions
`o·stride + lo .. o·stride + hi`; the field is `hi − lo + 1`. Each layer kind
says what one of its outputs reads (`LayerKind.window`); this module chains
those windows from the input (Distill, "Computing Receptive Fields of
Convolutional Neural Networks", 2019, eq. 1-2, with the start offset kept).

Where branches meet: with equal strides the field is the union of the
branches' fields (the largest field, when their centres agree); with
different strides it is the largest branch's field. Either way a branch
whose centre or stride differs is noted, as google-research's
receptive_field tool warns. A branch pooled to one value (squeeze-excite)
makes the field the whole input. After up-sampling layers (upsample,
deconv) strides are fractions and the field is an approximation: positions
are treated as continuous, where those layers round them (the gradient test
leaves them out for that reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Field:
    lo: tuple  # per axis: the first input position output 0 reads (negative: in the padding)
    hi: tuple
    stride: tuple | None  # input steps between neighbouring outputs; None when the field is the whole input
    whole: bool = False  # reads the whole input (a global pool upstream, a reshape)
    note: str = ""  # why the branches that meet at this node are not aligned
    mixed_strides: bool = False  # somewhere upstream, branches with different strides met

    @property
    def size(self) -> tuple:
        return tuple(h - lo + 1 for lo, h in zip(self.lo, self.hi))

    @property
    def centre(self) -> tuple:
        return tuple(Fraction(lo + h, 2) for lo, h in zip(self.lo, self.hi))


def plain(value):
    """A Fraction as an int when whole, else a float, for JSON and text."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else round(float(value), 4)
    return value


def receptive_fields(model) -> dict[int, Field | None]:
    """Every node's field, by id; None where the node has no spatial axes."""
    spatial = model.input.shape[:-1] if len(model.input.shape) > 1 else ()
    fields: dict[int, Field | None] = {}

    def whole(node) -> Field | None:
        if not spatial or len(node.shape) < 2:
            return None
        return Field(tuple(0 for _ in spatial), tuple(n - 1 for n in spatial), None, whole=True)

    for node in model.nodes:
        if not node.inputs:
            fields[node.id] = Field((0,) * len(spatial), (0,) * len(spatial), (1,) * len(spatial)) if spatial else None
            continue
        windows = node.layer.window(node)
        ins = [fields[i] for i in node.inputs]
        if windows is None or len(windows) != len(spatial):
            fields[node.id] = whole(node) if windows is not None or len(node.shape) > 1 else None
            continue
        if any(f is None or f.whole for f in ins):
            fields[node.id] = whole(node)
            continue
        joined = ins[0] if len(ins) == 1 else join(model, node, ins)
        lo, hi, stride = [], [], []
        for w, a, b, j in zip(windows, joined.lo, joined.hi, joined.stride):
            lo.append(a - w.before * j)
            hi.append(b + (w.size - 1 - w.before) * j)
            stride.append(j * w.stride)
        note = joined.note if len(ins) > 1 else ""
        fields[node.id] = Field(tuple(lo), tuple(hi), tuple(stride), note=note, mixed_strides=joined.mixed_strides)
    return fields


def join(model, node, fields: list[Field]) -> Field:
    names = [model.nodes[i].name for i in node.inputs]
    strides = {f.stride for f in fields}
    centres = {f.centre for f in fields}
    if len(strides) == 1:
        lo = tuple(min(f.lo[a] for f in fields) for a in range(len(fields[0].lo)))
        hi = tuple(max(f.hi[a] for f in fields) for a in range(len(fields[0].hi)))
        note = ""
        if len(centres) > 1:
            note = (
                "branches are not aligned: their fields have different centres ("
                + ", ".join(f"{name} at {'x'.join(str(plain(c)) for c in f.centre)}" for name, f in zip(names, fields))
                + "); the field is their union"
            )
        return Field(lo, hi, fields[0].stride, note=note, mixed_strides=any(f.mixed_strides for f in fields))
    largest = max(fields, key=lambda f: tuple(f.size))
    note = (
        "branches are not aligned: different effective strides ("
        + ", ".join(f"{name} {'x'.join(str(plain(s)) for s in f.stride)}" for name, f in zip(names, fields))
        + "); the field is the largest branch's"
    )
    return Field(largest.lo, largest.hi, largest.stride, note=note, mixed_strides=True)
