"""Receptive fields and effective strides: hand arithmetic, Distill's VGG16, and a gradient oracle."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnndsl import analyze, analyze_file
from cnndsl.model.receptive import plain


def fields(model, name):
    node = next(n for n in model.nodes if n.name == name)
    field = model.receptive_fields[node.id]
    if field is None:
        return None
    return [plain(v) for v in field.size], None if field.stride is None else [plain(v) for v in field.stride]


def test_lenet_by_hand():
    lenet = analyze_file("examples/lenet.cnn")
    # r = 1 + (5−1)·1 = 5; pool: 5 + (2−1)·1 = 6, stride 2; conv: 6 + 4·2 = 14; pool: 14 + 1·2 = 16, stride 4
    assert fields(lenet, "conv2d") == ([5, 5], [1, 1])
    assert fields(lenet, "max_pooling2d") == ([6, 6], [2, 2])
    assert fields(lenet, "conv2d_1") == ([14, 14], [2, 2])
    assert fields(lenet, "max_pooling2d_1") == ([16, 16], [4, 4])
    assert fields(lenet, "flatten") is None and fields(lenet, "dense") is None


def test_vgg16_last_pool_is_distills_figure():
    # Distill, "Computing Receptive Fields of Convolutional Neural Networks" (2019): VGG16's
    # last pooling layer has a receptive field of 212 and an effective stride of 32.
    vgg = analyze_file("examples/vgg16.cnn")
    assert fields(vgg, "max_pooling2d_4") == ([212, 212], [32, 32])


def test_published_fields_of_resnet50_and_inception_v3():
    # Distill (2019), table of receptive fields: ResNet-50 483 and Inception v3 1311, both stride 32
    resnet = analyze_file("examples/resnet50.cnn")
    last = resnet.receptive_fields[resnet.nodes[-3].id]  # the last block's relu, before gap
    assert ([plain(v) for v in last.size], [plain(v) for v in last.stride]) == ([483, 483], [32, 32])
    inception = analyze_file("examples/inception_v3.cnn")
    last = inception.receptive_fields[inception.nodes[-3].id]  # mixed10's concat, before gap
    assert ([plain(v) for v in last.size], [plain(v) for v in last.stride]) == ([1311, 1311], [32, 32])


def test_unaligned_branches_are_noted():
    # 8 wide, stride 2, same: a 3-wide window is padded 0 before and 1 after, a 1-wide one not at all,
    # so output 0 reads columns 0..2 (centre 1) on one branch and column 0 on the other.
    model = analyze("input 8x8x1\nadd(conv 2 3x3 stride 2 same; conv 2 1x1 stride 2 same)\n")
    field = model.receptive_fields[model.output]
    assert "different centres" in field.note
    assert [plain(v) for v in field.size] == [3, 3]
    strides = analyze("input 9x9x1\nadd(conv 2 7x7; conv 2 3x3 stride 3)\n")
    field = strides.receptive_fields[strides.output]
    assert "different effective strides" in field.note and [plain(v) for v in field.size] == [7, 7]
    aligned = analyze("input 9x9x1\nconcat(conv 2 1x1 same; conv 2 3x3 same; conv 2 5x5 same)\n")
    assert aligned.receptive_fields[aligned.output].note == ""


def test_global_branch_makes_the_field_the_whole_input():
    se = analyze("input 8x8x4\nconv 4 3 same\nmultiply(identity; gap keepdims | conv 4 1x1 sigmoid)\nconv 4 3 same\n")
    assert fields(se, "conv2d_2") == ([8, 8], None)
    assert se.receptive_fields[se.output].whole


# The gradient oracle: random branching networks of layers whose gradient reaches every input
# they read (max pooling would route it to one winner; up-sampling fields are bounds).


@st.composite
def unit(draw, shape, padded):
    """One layer as text, and the shape after it (channels last); None when it does not fit."""
    h, w, c = shape
    kind = draw(st.sampled_from(["conv", "conv", "avgpool", "zeropad", "crop", "bn", "relu", "dwconv"]))
    same = padded and draw(st.booleans())
    if kind in ("conv", "dwconv"):
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, 2))
        d = 1 if s > 1 else draw(st.integers(1, 2))
        span = (k - 1) * d + 1
        if not same and span > min(h, w):
            return None
        out = (-(-h // s), -(-w // s)) if same else ((h - span) // s + 1, (w - span) // s + 1)
        head = f"conv {draw(st.integers(1, 3))} {k}" if kind == "conv" else f"dwconv {k}"
        channels = c if kind == "dwconv" else int(head.split()[1])
        text = f"{head} stride {s} dilation {d}" + (" same" if same else "")
        return text, (*out, channels)
    if kind == "avgpool":
        k, s = draw(st.integers(2, 3)), draw(st.integers(1, 3))
        if not same and k > min(h, w):
            return None
        out = (-(-h // s), -(-w // s)) if same else ((h - k) // s + 1, (w - k) // s + 1)
        return f"avgpool {k} stride {s}" + (" same" if same else ""), (*out, c)
    if kind == "zeropad" and padded:
        a, b = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        return f"zeropad {a} {b} {b} {a}", (h + a + b, w + a + b, c)
    if kind in ("crop", "zeropad"):
        a, b = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        if min(h, w) - a - b < 3:
            return None
        return f"crop {a} {b} {b} {a}", (h - a - b, w - a - b, c)
    return kind, shape


@st.composite
def branches(draw, shape, padded):
    """Two branches ending at one size: `same` convs, or valid convs with the larger output cropped."""
    h, w, _ = shape
    s, filters = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    k1, k2 = sorted((draw(st.integers(1, 4)), draw(st.integers(1, 4))))
    if padded:
        first, second = f"conv {filters} {k1} stride {s} same", f"conv {filters} {k2} stride {s} same"
        out = (-(-h // s), -(-w // s))
    else:
        if k2 > min(h, w):
            return None
        excess = [(n - k1) // s - (n - k2) // s for n in (h, w)]
        before = [draw(st.integers(0, e)) for e in excess]
        crop = f"crop {before[0]} {excess[0] - before[0]} {before[1]} {excess[1] - before[1]}"
        first, second = f"conv {filters} {k1} stride {s} | {crop}", f"conv {filters} {k2} stride {s}"
        out = ((h - k2) // s + 1, (w - k2) // s + 1)
    tail = ["relu", "avgpool 3 stride 1 same" if padded else "bn"]
    first += "".join(" | " + t for t in draw(st.lists(st.sampled_from(tail), max_size=2)))
    op = draw(st.sampled_from(["add", "concat"]))
    return f"{op}({first}; {second})", (*out, filters * (2 if op == "concat" else 1))


@st.composite
def oracle_networks(draw, padded):
    shape = (draw(st.integers(12, 24)), draw(st.integers(12, 24)), draw(st.integers(1, 2)))
    lines = [f"input {shape[0]}x{shape[1]}x{shape[2]}"]
    for _ in range(draw(st.integers(1, 4))):
        step = draw(unit(shape, padded)) if draw(st.booleans()) else draw(branches(shape, padded))
        if step is not None:
            lines.append(step[0])
            shape = step[1]
    return "\n".join(lines) + "\n"


def _positive_weights(built, torch):
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in built.parameters():
            parameter.copy_(torch.rand(parameter.shape, generator=generator, dtype=parameter.dtype) * 0.9 + 0.1)
        for name, buffer in built.named_buffers():
            if name.endswith("running_mean"):
                buffer.zero_()
            elif name.endswith("running_var"):
                buffer.fill_(1.0)


def _touched(text, torch):
    """Per axis, the first and last input row/column the central output unit's gradient reaches."""
    from emit_helpers import load

    from cnndsl.emit import generate

    model = analyze(text)
    built = load(generate(model, "pytorch"), "generated_torch").build_model().double().eval()
    _positive_weights(built, torch)
    h, w, c = model.input.shape
    x = (torch.rand(1, c, h, w, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 0.5).requires_grad_()
    centre = [n // 2 for n in model.output_shape[:-1]]
    built(x)[0, :, centre[0], centre[1]].sum().backward()
    touched = (x.grad[0].abs().sum(0) > 0).nonzero()
    seen = [(int(touched[:, a].min()), int(touched[:, a].max())) if len(touched) else None for a in (0, 1)]
    field = model.receptive_fields[model.output]
    reported = []
    for axis, n in enumerate((h, w)):
        lo = centre[axis] * field.stride[axis] + field.lo[axis]
        hi = centre[axis] * field.stride[axis] + field.hi[axis]
        reported.append((max(lo, 0), min(hi, n - 1)))
    return field, seen, reported


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=oracle_networks(padded=False))
def test_without_padding_the_gradient_touches_exactly_the_field(text, torch):
    field, seen, reported = _touched(text, torch)
    for axis in (0, 1):
        if field.mixed_strides:  # the largest branch's field: the union may reach further
            assert seen[axis][0] <= reported[axis][0] and reported[axis][1] <= seen[axis][1], (text, axis)
        else:
            assert seen[axis] == reported[axis], (text, axis, field)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=oracle_networks(padded=True))
def test_with_padding_the_gradient_stays_inside_the_field(text, torch):
    # padding of a layer inside the network also cuts what a unit near it reads, so only containment holds
    field, seen, reported = _touched(text, torch)
    for axis in (0, 1):
        if seen[axis] is not None and not field.mixed_strides:
            assert reported[axis][0] <= seen[axis][0] and seen[axis][1] <= reported[axis][1], (text, axis, field)
