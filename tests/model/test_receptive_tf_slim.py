"""Receptive fields, effective strides and effective paddings against google-research/receptive_field's
published table (receptive_field/RECEPTIVE_FIELD_TABLE.md: TF-Slim networks at resolutions None, 224
and 321). The networks are written here as TF-Slim defines them: `slim.conv2d` pads `same` by
default in these nets' arg scopes, `slim.max_pool2d` pads `valid`."""

from __future__ import annotations

import pytest

from cnndsl import analyze
from cnndsl.model.receptive import plain

ALEXNET_V2 = """
conv1: conv 64 11x11 stride 4 valid relu
pool1: maxpool 3 stride 2
conv2: conv 192 5x5 same relu
pool2: maxpool 3 stride 2
conv3: conv 384 3x3 same relu
conv4: conv 384 3x3 same relu
conv5: conv 256 3x3 same relu
pool5: maxpool 3 stride 2
"""


def vgg(repeats) -> str:
    lines = []
    for block, (n, width) in enumerate(zip(repeats, (64, 128, 256, 512, 512)), start=1):
        lines += [f"conv{block}_{i}: conv {width} 3x3 same relu" for i in range(1, n + 1)]
        lines.append(f"pool{block}: maxpool 2 stride 2")
    return "\n".join(lines)


NETWORKS = {"alexnet_v2": ALEXNET_V2, "vgg_a": vgg((1, 1, 2, 2, 2)), "vgg_16": vgg((2, 2, 3, 3, 3))}

# (end-point, RF, effective stride, effective padding), the same at resolutions None, 224 and 321
TABLE = {
    "alexnet_v2": [
        ("conv1", 11, 4, 0),
        ("pool1", 19, 8, 0),
        ("conv2", 51, 8, 16),
        ("conv3", 99, 16, 32),
        ("conv4", 131, 16, 48),
        ("conv5", 163, 16, 64),
        ("pool5", 195, 32, 64),
    ],
    "vgg_a": [
        ("conv1_1", 3, 1, 1),
        ("pool1", 4, 2, 1),
        ("conv2_1", 8, 2, 3),
        ("pool2", 10, 4, 3),
        ("conv3_1", 18, 4, 7),
        ("conv3_2", 26, 4, 11),
        ("pool3", 30, 8, 11),
        ("conv4_1", 46, 8, 19),
        ("conv4_2", 62, 8, 27),
        ("pool4", 70, 16, 27),
        ("conv5_1", 102, 16, 43),
        ("conv5_2", 134, 16, 59),
        ("pool5", 150, 32, 59),
    ],
    "vgg_16": [
        ("conv1_1", 3, 1, 1),
        ("pool1", 6, 2, 2),
        ("conv2_1", 10, 2, 4),
        ("pool2", 16, 4, 6),
        ("conv3_1", 24, 4, 10),
        ("conv3_2", 32, 4, 14),
        ("pool3", 44, 8, 18),
        ("conv4_1", 60, 8, 26),
        ("conv4_2", 76, 8, 34),
        ("pool4", 100, 16, 42),
        ("conv5_1", 132, 16, 58),
        ("conv5_2", 164, 16, 74),
        ("pool5", 212, 32, 90),
    ],
}


@pytest.mark.parametrize("resolution", ["?", "224", "321"])
@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_google_research_table(network, resolution):
    model = analyze(f"input {resolution}x{resolution}x3\n{NETWORKS[network]}\n")
    by_name = {n.name: n for n in model.nodes}
    got = []
    for name, *_ in TABLE[network]:
        field = model.receptive_fields[by_name[name].id]
        got.append((name, *(plain(axes[0]) for axes in (field.size, field.stride, field.padding))))
    assert got == TABLE[network]


INCEPTION_V2_STEM = [
    ("Conv2d_1a_7x7", 7, 2),
    ("MaxPool_2a_3x3", 11, 4),
    ("Conv2d_2b_1x1", 11, 4),
    ("Conv2d_2c_3x3", 19, 4),
]


def test_google_research_unknown_padding_is_unknown():
    """inception_v2's stem at resolution None: RF and stride known, effective padding None (a strided
    7x7 `same` conv pads 2 or 3 before, by the size)."""
    model = analyze(
        "input ?x?x3\nConv2d_1a_7x7: conv 64 7x7 stride 2 same\nMaxPool_2a_3x3: maxpool 3 stride 2 same\n"
        "Conv2d_2b_1x1: conv 64 1x1\nConv2d_2c_3x3: conv 192 3x3 same\n"
    )
    by_name = {n.name: n for n in model.nodes}
    for name, rf, stride in INCEPTION_V2_STEM:
        field = model.receptive_fields[by_name[name].id]
        assert (field.size[0], field.stride[0], field.padding[0]) == (rf, stride, None)


def test_strided_one_by_one_same_pads_nothing_at_any_size():
    """TF-Slim's ResNet shortcut (`subsample`: a 1x1 max-pool, stride 2, `same`) meets the
    explicitly padded 3x3 conv: the field is 3x3 at 8x8, 9x9 and at an unknown size alike."""
    text = "input {0}x{0}x3\nadd(maxpool 1 stride 2 same; zeropad 1 | conv 3 3 stride 2)\n"
    for size in ("8", "9", "?"):
        model = analyze(text.format(size))
        field = model.receptive_fields[model.nodes[-1].id]
        assert [plain(v) for v in field.size] == [3, 3] and field.padding == (1, 1)


def test_equal_shifts_from_one_tensor_join():
    """A strided conv and a strided pool of the same window on the same tensor pad it alike at every
    size; their concat's field is 3x3, as at 8x8 and 9x9."""
    model = analyze("input ?x?x3\nconcat(conv 8 3 stride 2 same; maxpool 3 stride 2 same)\n")
    field = model.receptive_fields[model.nodes[-1].id]
    assert [plain(v) for v in field.size] == [3, 3] and not field.note
