"""Random graphs with `?` axes through every view: an answer or a located CnnError, never another exception;
and, for a sample, both emitted targets built and run at the three sizes the model states (issue 25)."""

from __future__ import annotations

import contextlib
import io
import json

from emit_helpers import run_at_stated_sizes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netgen import graphs, unknown_size_networks

import cnndsl
from cnndsl.cli import main
from cnndsl.core.errors import CnnError
from cnndsl.core.sizes import Size
from cnndsl.emit import generate

VIEWS = [
    ["summary"],
    ["summary", "--all"],
    ["summary", "--json", "--all"],
    ["summary", "--format", "csv", "--macs"],
    ["summary", "--format", "markdown", "--depth", "1"],
    ["summary", "--format", "html"],
    ["summary", "--columns", "shape,rf,stride,padding,connected", "--layout", "channels_first"],
    ["summary", "--batch", "4", "--dtype", "float16", "--optimizer", "sgd"],
    ["summary", "--style", "torchinfo"],
    ["explain"],
    ["explain", "--flops"],
    ["flops"],
    ["diagram", "--format", "dot"],
    ["diagram", "--format", "mermaid", "--compact"],
    ["fmt"],
    ["check", "--error-format", "json"],
]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@st.composite
def unknown_graphs(draw):
    """A graph of `graphs()` (several inputs, merges, shared layers) with some input axes written `?`."""
    graph = draw(graphs())
    lines = graph.text.split("\n")
    for i, line in enumerate(lines):
        head, sep, shape = line.partition(": input ")
        axes = shape.split("x")
        if sep and len(axes) > 1:
            unknown = draw(st.sets(st.integers(0, len(axes) - 2), min_size=0, max_size=len(axes) - 1))
            lines[i] = head + sep + "x".join("?" if j in unknown else a for j, a in enumerate(axes))
    return "\n".join(lines)


texts = st.one_of(unknown_size_networks(max_layers=6).map(lambda net: net.text), unknown_graphs())


def api_views(text: str) -> None:
    """Every view of the API on the model, or a CnnError from analysis."""
    try:
        model = cnndsl.analyze(text)
    except CnnError:
        return
    for call in (
        lambda: model.summary(columns="all", depth=1),
        lambda: model.summary(format="json"),
        lambda: model.explain(layout="channels_first"),
        lambda: generate(model, "keras"),
        lambda: generate(model, "pytorch"),
        lambda: repr(model),
    ):
        try:
            call()
        except CnnError:
            pass


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(text=texts, other=texts)
def test_every_view_of_a_random_graph_with_unknown_axes(tmp_path_factory, text, other):
    folder = tmp_path_factory.mktemp("views")
    a, b = folder / "a.cnn", folder / "b.cnn"
    a.write_text(text, encoding="utf-8")
    b.write_text(other, encoding="utf-8")
    for argv in [*([*view, str(a)] for view in VIEWS), ["diff", str(a), str(b)], ["diff", "--json", str(a), str(a)]]:
        code, out, err = run(argv)
        assert code in (0, 1), (argv, text, err)
        assert "Traceback" not in out + err and "internal error" not in err, (argv, text)
        if "--json" in argv and out.strip():
            json.loads(out)
    api_views(text)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(text=st.one_of(unknown_size_networks(max_layers=5).map(lambda net: net.text), unknown_graphs()))
def test_a_sample_runs_in_both_targets_at_its_three_sizes(keras, torch, text):
    """What Keras and PyTorch give when run is each output's expression at the sizes the model states."""
    try:
        model = cnndsl.analyze(text)
    except CnnError:
        return
    for values, ours_keras, ours_torch in run_at_stated_sizes(model, keras, torch):
        assert all(c.holds(values) for c in model.conditions), text
        expected = [
            tuple(n.value(values) if isinstance(n, Size) else n for n in model.nodes[i].symbolic) for i in model.outputs
        ]
        assert ours_keras == ours_torch, (text, values)
        # an axis with no expression (None: past the bounds, or after a merge Keras leaves unknown) is Keras's to say
        assert all(a == b or a is None for e, k in zip(expected, ours_keras) for a, b in zip(e, k)), (text, values)
