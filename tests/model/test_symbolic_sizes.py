"""Each `?` axis is a symbol and every size an expression of the symbols (issue 25): merges compare
them, refusing branches that differ at every size and stating the condition of those that agree at some;
each accepted model builds and runs in both emitted targets at the three sizes it states."""

from __future__ import annotations

import json

import pytest
from emit_helpers import run_at_stated_sizes
from located import error_of, where

import cnndsl
from cnndsl.core.errors import BranchMismatch
from cnndsl.core.sizes import Size, compare
from cnndsl.model.lint import warnings


def test_branches_whose_sizes_differ_at_every_size_are_refused_at_the_branch():
    error = error_of("input ?x4\nadd(identity; adaptive_avg_pool 3)\n")
    assert isinstance(error, BranchMismatch) and where(error) == (2, 15)
    assert "length is 3, but the first branch's is n" in error.message
    assert "for every size of n but n = 3" in error.message  # the size the model was perhaps drawn at

    error = error_of("input ?x4\nconcat(crop 1x0; identity) * 3\n")
    assert where(error) == (2, 18) and "length is n, but the first branch's is n - 1" in error.message

    error = error_of("input ?x?x4\nadd(identity; conv 4 3 stride 3 same)\n")
    assert where(error) == (2, 15) and "height is ceil(h/3), but the first branch's is h" in error.message
    assert "for every size of h but h = 1" in error.message  # ceil(1/3) = 1, and at no other size


def test_a_known_size_against_an_unknown_one_names_the_size_where_they_agree():
    error = error_of("a: input ?x8\nb: input 6x8\nmaximum(@a; @b)\n")
    assert where(error) == (3, 13) and "length is 6, but the first branch's is n" in error.message
    assert "for every size of n but n = 6" in error.message


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("input ?x4\nconcat(identity; avgpool 2 | upsample 2)\n", "n ≡ 0 mod 2"),
        ("input ?x?x4\nconcat(identity; avgpool stride 3 same | upsample 3)\n", "h ≡ 0 mod 3 and w ≡ 0 mod 3"),
        ("input ?x6\nreshape -1x4\n", "n ≡ 0 mod 2"),  # 6n values in rows of 4: 6n ≡ 0 mod 4
    ],
)
def test_branches_that_agree_at_some_sizes_are_a_warning_stating_the_condition(text, condition):
    model = cnndsl.analyze(text)
    (warning,) = [w for w in warnings(model) if w.code == "W108"]
    assert f"only when {condition}, and the model fails" in warning.message and warning.span.line == 2
    assert "the length of `input_layer`, line 1" in warning.message or "the height of `input_layer`" in warning.message


def test_sizes_that_agree_at_every_size_are_accepted_without_a_warning():
    # 2·floor(floor(h/2)/2)·2 against floor(h/4)·4 is the same expression; ceil(ceil(h/2)/2) is ceil(h/4)
    text = (
        "i: input ?x?x4\nmaxpool 2 | x: maxpool 2\nc: concat(@x; @i | maxpool 4) | output\n"
        "@i | conv 4 3 same stride 2 | y: conv 4 3 same stride 2\nz: add(@y; @i | conv 4 3 same stride 4) | output\n"
    )
    model = cnndsl.analyze(text)
    assert not [w for w in warnings(model) if w.code == "W108"] and model.conditions == ()
    assert [str(n) for n in model.nodes[model.outputs[0]].sizes[:2]] == ["floor(h/4)", "floor(w/4)"]
    assert [str(n) for n in model.nodes[model.outputs[1]].sizes[:2]] == ["ceil(h/4)", "ceil(w/4)"]


def test_two_inputs_of_unknown_length_merge_as_keras_merges_them():
    """`n` against `n2` agree wherever n = n2: accepted, and run with both at one size."""
    model = cnndsl.analyze("a: input ?x8\nb: input ?x8\nadd(@a; @b)\n")
    assert [v["n"] == v["n2"] for v in model.run_sizes(3)] == [True] * 3


def test_compare_decides_exactly():
    n = Size.symbol("n")
    assert compare(n, (n + 2) // 3 * 3).kind == "condition"
    assert compare(n, (n + 2) // 3 * 3).condition.text() == "n ≡ 0 mod 3"
    assert compare(n // 2 // 2, n // 4).kind == "equal"
    assert compare(-(-n // 2), (n + 1) // 2).kind == "equal"
    assert compare(n - 1, n).kind == "different" and compare(n - 1, n).points == ()
    h2 = Size.symbol("n2")
    assert compare(n, h2).kind == "tied" and compare(n, h2).tie.text() == "n = n2"
    assert compare(n, h2 + 2).kind == "relation" and compare(h2 - 1, h2 + 0 * n).kind == "different"
    assert compare(n, (h2 + 1) // 2 * 2).condition.text() == "n ≡ 0 mod 2"  # tied, and even


# Hand arithmetic for each: the output (channels last) at the sizes `values`
RUNS = [
    ("input ?x4\nconcat(identity; avgpool 2 | upsample 2)\n", lambda v: [(v["n"], 8)]),
    ("input ?x?x4\nconcat(identity; avgpool stride 3 same | upsample 3)\n", lambda v: [(v["h"], v["w"], 8)]),
    ("input ?x6\nreshape -1x4\n", lambda v: [(6 * v["n"] // 4, 4)]),
    ("input ?x?x4\nreshape -1x4\n", lambda v: [(v["h"] * v["w"], 4)]),
    ("input 8x?x3\nreshape 4x-1\n", lambda v: [(4, 8 * v["w"] * 3 // 4)]),
    ("def blk0(c): layer_scale | rescaling 2 | crop 1\ninput 8x?x3\nblk0(3)\nblk0(1x1)\n", lambda v: [(4, v["w"] - 4, 3)]),
    ("a: input ?x8\nb: input ?x8\nadd(@a; @b)\n", lambda v: [(v["n"], 8)]),
    # n ≡ 0 mod 512, a modulus past every start: 512, 1024 and 1536
    ("input ?x2\nconcat(identity; (maxpool 2) * 9 | upsample 512)\n", lambda v: [(v["n"], 4)]),
    (  # a U-Net's skip: h and w multiples of 4 for both levels
        "input ?x?x3\nc1: conv 8 3 same relu\nmaxpool 2 | c2: conv 8 3 same relu\nmaxpool 2 | conv 8 3 same | x: upsample 2\n"
        "concat(@c2; @x) | conv 8 3 same | y: upsample 2\nconcat(@c1; @y) | conv 2 1\n",
        lambda v: [(v["h"], v["w"], 2)],
    ),
]


@pytest.mark.parametrize(("text", "expected"), RUNS, ids=range(len(RUNS)))
def test_every_accepted_model_runs_in_both_targets_at_its_three_sizes(keras, torch, text, expected):
    model = cnndsl.analyze(text)
    runs = run_at_stated_sizes(model, keras, torch)
    assert len({tuple(sorted(v.items())) for v, _, _ in runs}) == 3  # three different sizes
    for values, ours_keras, ours_torch in runs:
        assert all(c.holds(values) for c in model.conditions)
        assert ours_keras == ours_torch == expected(values), (values, text)


def test_a_condition_of_a_large_modulus_is_met_at_three_sizes():
    model = cnndsl.analyze("input ?x2\nconcat(identity; (maxpool 2) * 9 | upsample 512)\n")
    assert [c.text() for c in model.conditions] == ["n ≡ 0 mod 512"]  # 2^9: nine pools of 2
    assert model.run_sizes(3) == [{"n": 512}, {"n": 1024}, {"n": 1536}]


def test_the_condition_is_real(keras):
    """Keras builds `concat(identity; avgpool 2 | upsample 2)` on an odd length and fails when run."""
    x = keras.Input((None, 4), batch_size=1)
    L = keras.layers
    built = keras.Model(x, L.Concatenate()([x, L.UpSampling1D(2)(L.AveragePooling1D(2)(x))]))
    built(keras.ops.zeros((1, 6, 4)))
    with pytest.raises(Exception):  # noqa: B017 - whatever Keras (or torch below it) raises
        built(keras.ops.zeros((1, 7, 4)))


def test_pytorchs_ceil_mode_pool_has_an_expression_that_is_pytorchs_size(torch):
    """PyTorch drops a last window that would start in the right padding: a test on n mod s, written as floors."""
    for k, s, p in [(3, 2, 0), (3, 2, 1), (2, 2, 1), (5, 3, 2), (4, 3, 1), (3, 3, 1)]:
        model = cnndsl.analyze(f"defaults pytorch\ninput ?x2\nmaxpool {k} stride {s} pad {p} ceil\n")
        (length, _) = model.nodes[-1].sizes
        for n in range(max(1, k - 2 * p), 40):
            pooled = torch.nn.MaxPool1d(k, s, p, ceil_mode=True)(torch.zeros(1, 2, n))
            assert length.value({"n": n}) == pooled.shape[-1], (k, s, p, n, str(length))


def test_conditions_no_size_meets_together_are_an_error_at_the_later_merge():
    # n even for the first merge (n against 2·floor(n/2)), n odd for the second (against 2·floor(n/2) + 1)
    text = "input ?x4\nx: concat(identity; avgpool 2 | upsample 2)\nconcat(@x; avgpool 2 | upsample 2 | zeropad 1x0)\n"
    error = error_of(text)
    assert where(error) == (3, 12)
    assert "needs n ≡ 1 mod 2, but the merge at line 2 needs n ≡ 0 mod 2: no size meets both" in error.message


UNET = (
    "input ?x?x3\nc1: conv 8 3 same relu\nmaxpool 2 | c2: conv 16 3 same relu\nmaxpool 2 | conv 16 3 same | x: upsample 2\n"
    "concat(@c2; @x) | conv 8 3 same | y: upsample 2\nconcat(@c1; @y) | conv 2 1\n"
)


def test_the_summary_json_and_explain_show_the_expressions():
    model = cnndsl.analyze(UNET)
    table = model.summary()
    # Keras's MaxPooling2D of 2: floor(n/2); UpSampling2D of 2: 2n; the skip's concat: 16 + 16 channels
    assert "(None, floor(h/2), floor(w/2), 16)" in table and "(None, 2·floor(h/4), 2·floor(w/4), 16)" in table
    assert "(None, floor(h/2), floor(w/2), 32)" in table and "(None, h, w, 2)" in table
    assert " Sizes: h is the height of `input_layer`, line 1, w its width; runs when h ≡ 0 mod 4 and w ≡ 0 mod 4" in table
    report = json.loads(model.summary(format="json"))
    pool = report["layers"][1]
    assert pool["output_shape"] == [None, None, None, 8] and pool["sizes"] == [None, "floor(h/2)", "floor(w/2)", 8]
    assert report["size_conditions"] == ["h ≡ 0 mod 4", "w ≡ 0 mod 4"]
    explained = model.explain()
    assert "Sizes: h is the height of `input_layer`, line 1, w its width; runs when h ≡ 0 mod 4" in explained
    assert "joins 2 branches: c2 (None, floor(h/2), floor(w/2), 16), x (None, 2·floor(h/4), 2·floor(w/4), 16)" in explained
    assert "agrees when h mod 4 ∈ {0, 1} and w mod 4 ∈ {0, 1}" in explained  # floor(h/2) even
    assert "that is 16·floor(h/2)·floor(w/2) values" in explained  # c2: 16 channels after a 2x2 pool
    layout = model.summary(layout="channels_first")
    assert "(None, 16, floor(h/2), floor(w/2))" in layout


def test_the_diagram_and_the_editors_hover_show_the_expressions():
    from cnndsl.tools.editor import Document
    from cnndsl.views.diagram import to_mermaid

    drawn = to_mermaid(cnndsl.analyze(UNET))
    assert "(None, floor(h/4), floor(w/4), 16)" in drawn and "(None, h, w, 2)" in drawn
    document = Document(UNET)
    document.diagnostics()
    hovered, _ = document.hover(4, 30)  # the label `x`, on upsample 2 of floor(h/4)
    assert "(None, 2·floor(h/4), 2·floor(w/4), 16)" in hovered, hovered


def test_the_sizes_run_are_the_demos_square_one_then_two_that_are_not():
    # h ≡ 0 mod 4 and w ≡ 0 mod 4: 224 for both, then the first multiples of 4 from 67 (h) and 67 + 4 (w), and from 131
    assert cnndsl.analyze(UNET).run_sizes(3) == [{"h": 224, "w": 224}, {"h": 68, "w": 72}, {"h": 132, "w": 136}]
    # tied inputs stay one size: n = n2
    model = cnndsl.analyze("a: input ?x?x8\nb: input ?x?x8\nadd(@a; @b)\n")
    assert [(v["h"] == v["h2"], v["w"] == v["w2"], v["h"] == v["w"]) for v in model.run_sizes(3)] == [
        (True, True, True),
        (True, True, False),
        (True, True, False),
    ]
