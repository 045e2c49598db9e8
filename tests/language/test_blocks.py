"""Every inferred node knows the chain of block calls that made it."""

from __future__ import annotations

from cnndsl import analyze

STAGES = """\
def unit(c):
    conv c 3x3 same | relu
def stage(c):
    unit(c) | unit(c*2) | pool 2
input 16x16x3
stage(4)
stage(8)
dense 10
"""


def test_nodes_carry_their_block_calls_outermost_first():
    model = analyze(STAGES)
    paths = {node.name: [(call.name, call.span.line, call.span.column) for call in node.blocks] for node in model.nodes}
    assert paths["input_layer"] == []
    assert paths["conv2d"] == [("stage", 6, 1), ("unit", 4, 5)]
    assert paths["conv2d_1"] == [("stage", 6, 1), ("unit", 4, 15)]
    assert paths["max_pooling2d"] == [("stage", 6, 1)]
    assert paths["conv2d_2"] == [("stage", 7, 1), ("unit", 4, 5)]
    assert paths["dense"] == []
    assert paths["flatten"] == []  # the implicit flatten sits where its dense layer does


def test_two_calls_of_one_block_have_different_ids():
    model = analyze(STAGES)
    by_name = {node.name: node for node in model.nodes}
    first, second = by_name["conv2d"].blocks, by_name["conv2d_2"].blocks
    assert first[0].name == second[0].name == "stage"
    assert first[0].id != second[0].id
    # repeats call a block once per repetition, all from one span
    repeated = analyze("def u():\n    conv 4 3 same\ninput 8x8x1\nu() * 3\n")
    ids = [node.blocks[0].id for node in repeated.layers]
    assert len(set(ids)) == 3
    assert len({node.blocks[0].span for node in repeated.layers}) == 1


def test_block_ids_are_stable_and_listed_in_call_order():
    ids = [[call.id for call in node.blocks] for node in analyze(STAGES).nodes]
    assert ids == [[call.id for call in node.blocks] for node in analyze(STAGES).nodes]
    calls = analyze(STAGES).block_calls
    assert [(c.id, c.name) for c in calls] == [
        (0, "stage"),
        (1, "unit"),
        (2, "unit"),
        (3, "stage"),
        (4, "unit"),
        (5, "unit"),
    ]


def test_implicit_flatten_inside_a_block_has_the_dense_layers_path():
    model = analyze("def head(n):\n    dense n\ninput 4x4x2\nhead(3)\n")
    flatten, dense = model.layers
    assert flatten.implicit and flatten.blocks == dense.blocks
    assert [c.name for c in dense.blocks] == ["head"]
