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

With an axis of unknown size (`input ?x?x3`) a field's size and stride stay
exact where they do not depend on it. `same` padding with a stride pads an
amount that can depend on it (a 3x3 window with stride 2 pads 0 or 1 before;
a 1x1 or 2x2 one pads 0 at every size, so its field stays exact). Such a shift
is kept by what decides it: (the parity of window − stride, stride, which
unknown size it pads, the stride upstream), so two branches that pad the same tensor alike (a
strided conv and a strided pool side by side) still join exactly; where
branches shifted differently meet, or a field covers the whole unknown input,
its size is unknown (None). A size is "the same unknown size" as its input's
after a layer that keeps it (stride 1, and a window of 1 or `same` padding).
"""

from __future__ import annotations

from fractions import Fraction

from ..core.records import dataclass


@dataclass(frozen=True)
class Field:
    lo: tuple  # per axis: the first input position output 0 reads (negative: in the padding)
    hi: tuple
    stride: tuple | None  # input steps between neighbouring outputs; None when the field is the whole input
    whole: bool = False  # reads the whole input (a global pool upstream, a reshape)
    note: str = ""  # why the branches that meet at this node are not aligned
    mixed_strides: bool = False  # somewhere upstream, branches with different strides met
    # per axis, the (window, stride, unknown size, step) of each padding that shifts lo and hi by an
    # amount that depends on an axis of unknown size; empty when the position is exact
    shifts: tuple = ()

    @property
    def size(self) -> tuple:
        return tuple(None if lo is None or h is None else h - lo + 1 for lo, h in zip(self.lo, self.hi))

    @property
    def centre(self) -> tuple:
        return tuple(None if lo is None or h is None else Fraction(lo + h, 2) for lo, h in zip(self.lo, self.hi))

    def shift(self, axis: int) -> frozenset:
        return self.shifts[axis] if self.shifts else frozenset()

    @property
    def padding(self) -> tuple | None:
        """Effective padding per axis (google-research/receptive_field's): output 0 reads from input
        position −padding; None on an axis where it depends on an unknown size, or for the whole input."""
        if self.whole:
            return None
        return tuple(None if lo is None or self.shift(a) else -lo for a, lo in enumerate(self.lo))


def plain(value):
    """A Fraction as an int when whole, else a float, for JSON and text."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else round(float(value), 4)
    return value


def receptive_fields(model) -> dict[int, Field | None]:
    """Every node's field, by id; None where the node has no spatial axes."""
    spatial = model.input.shape[:-1] if len(model.input.shape) > 1 else ()
    fields: dict[int, Field | None] = {}
    sizes: dict[int, tuple] = {}  # per node and axis: which unknown size it has (a token)

    def whole(node) -> Field | None:
        if not spatial or len(node.shape) < 2:
            return None
        return Field(tuple(0 for _ in spatial), tuple(None if n is None else n - 1 for n in spatial), None, whole=True)

    for node in model.nodes:
        sizes[node.id] = tuple((node.id, axis) for axis in range(len(spatial)))
        if not node.inputs:
            fields[node.id] = Field((0,) * len(spatial), (0,) * len(spatial), (1,) * len(spatial)) if spatial else None
            continue
        windows = node.layer.window(node)
        if windows is not None and len(windows) == len(spatial):
            sizes[node.id] = tuple(
                sizes[node.inputs[0]][axis] if _keeps_size(node, axis, w) else (node.id, axis)
                for axis, w in enumerate(windows)
            )
        ins = [fields[i] for i in node.inputs]
        if windows is None or len(windows) != len(spatial):
            fields[node.id] = whole(node) if windows is not None or len(node.shape) > 1 else None
            continue
        if any(f is None or f.whole for f in ins):
            fields[node.id] = whole(node)
            continue
        joined = ins[0] if len(ins) == 1 else join(model, node, ins)
        lo, hi, stride, shifts = [], [], [], []
        for axis, (w, a, b, j) in enumerate(zip(windows, joined.lo, joined.hi, joined.stride)):
            shift = joined.shift(axis)
            before = w.before
            if before is None:  # `same` padding with a stride on an axis of unknown size
                before, key = _unknown_before(w, sizes[node.inputs[0]][axis], j)
                shift = shift | {key}
            known = None not in (a, b, j, w.size)
            lo.append(a - before * j if known else None)
            hi.append(b + (w.size - 1 - before) * j if known else None)
            stride.append(None if j is None or w.stride is None else j * w.stride)
            shifts.append(shift)
        note = joined.note if len(ins) > 1 else ""
        fields[node.id] = Field(
            tuple(lo),
            tuple(hi),
            tuple(stride),
            note=note,
            mixed_strides=joined.mixed_strides,
            shifts=tuple(shifts) if any(shifts) else (),
        )
    return fields


def _unknown_before(window, size, step) -> tuple[int, tuple]:
    """The known part of a `same` window's padding before an axis of unknown size, and the key of the
    part that depends on it. TF pads max(k − s + r, 0) in all (0 ≤ r < s decided by the size), half of
    it (rounded down) before: with k ≥ s that is (k − s)//2 plus a part set by the parity of k − s and
    by r alone, so windows of one parity on the same tensor shift alike (a 3x3 and a 5x5 of stride 2
    stay centred together). A window smaller than its stride is keyed by its own size."""
    if window.size >= window.stride:
        excess = window.size - window.stride
        return excess // 2, ("same", excess % 2, window.stride, size, step)
    return 0, (window.size, window.stride, size, step)


def _keeps_size(node, axis: int, window) -> bool:
    """Whether the node's output has its input's size on this axis whatever that size is."""
    if window.stride != 1:
        return False
    if window.size == 1 and window.before == 0:
        return True
    pads = node.resolved.get("pads")
    if not pads or axis >= len(pads) or pads[axis] is None:
        return False
    return sum(pads[axis]) == window.size - 1


def join(model, node, fields: list[Field]) -> Field:
    names = [model.nodes[i].name for i in node.inputs]
    strides = {f.stride for f in fields}
    centres = {f.centre for f in fields}
    axes = range(len(fields[0].lo))
    shifted = [len({f.shift(a) for f in fields}) > 1 for a in axes]
    if any(shifted):
        # branches shifted by different unknown amounts: their union has no known size
        lo = tuple(None if shifted[a] else fields[0].lo[a] for a in axes)
        hi = tuple(None if shifted[a] else fields[0].hi[a] for a in axes)
        note = "branches are shifted by padding that depends on the input's unknown size; the field's size is unknown"
        return Field(lo, hi, fields[0].stride, note=note, mixed_strides=True, shifts=fields[0].shifts)
    if any(None in f.lo or None in f.hi for f in fields):
        lo = tuple(None if any(f.lo[a] is None for f in fields) else min(f.lo[a] for f in fields) for a in axes)
        hi = tuple(None if any(f.hi[a] is None for f in fields) else max(f.hi[a] for f in fields) for a in axes)
        return Field(lo, hi, fields[0].stride, shifts=fields[0].shifts)
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
        return Field(
            lo,
            hi,
            fields[0].stride,
            note=note,
            mixed_strides=any(f.mixed_strides for f in fields),
            shifts=fields[0].shifts,
        )
    largest = max(fields, key=lambda f: tuple(f.size))
    note = (
        "branches are not aligned: different effective strides ("
        + ", ".join(f"{name} {'x'.join(str(plain(s)) for s in f.stride)}" for name, f in zip(names, fields))
        + "); the field is the largest branch's"
    )
    return Field(largest.lo, largest.hi, largest.stride, note=note, mixed_strides=True)
