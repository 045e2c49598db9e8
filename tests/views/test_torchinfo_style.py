"""`cnndsl summary --style torchinfo` must print what torchinfo.summary prints for the
emitted PyTorch model: every row, shape and figure, on the examples and random networks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_pages import page
from emit_helpers import load
from hypothesis import HealthCheck, given, settings
from netgen import networks
from test_flops import PYTORCH_PIECES
from test_graphs import CASES as GRAPH_CASES

import cnndsl
from cnndsl.cli import main
from cnndsl.emit import generate
from cnndsl.views.torchinfo_style import format_torchinfo

pytestmark = pytest.mark.oracle

ROOT = Path(__file__).resolve().parent.parent.parent
SMALL = ["lenet", "coursera_cnn", "cifar10_cnn", "mnist_cnn", "scenario1", "scenario2", "scenario3"]
EXAMPLES = [ROOT / "examples" / f"{name}.cnn" for name in SMALL] + [
    ROOT / "examples" / "resnet50.cnn",
    *(
        ROOT / "examples" / "torchvision" / f"{name}.cnn"
        for name in (
            "squeezenet1_1",
            "shufflenet_v2_x1_0",
            "convnext_tiny",
            "efficientnet_b0",
            "mobilenet_v3_small",
            "regnet_y_400mf",
            "densenet121",
            "inception_v3",  # an `output train` head: no rows in eval mode, its parameters the root's own
        )
    ),
]


def torchinfo_text(model, torch, batch: int = 1, **options) -> str:
    """torchinfo's own table for the emitted module. On Python 3.11 and later torchinfo 1.8.0 prints
    its units enum as `Units.MEGABYTES`; the letter it stands for is what cnndsl prints."""
    import torchinfo

    built = load(generate(model, "pytorch"), "generated_torch").build_model().eval()
    sizes = [(batch, s[-1], *s[:-1]) for s in (model.nodes[i].shape for i in model.inputs)]
    text = str(torchinfo.summary(built, input_size=sizes, verbose=0, **options))
    return re.sub(r"Units\.(MEGA|GIGA|TERA)BYTES", lambda m: m.group(1)[0], text)


# Shared layers (`reuse`), several inputs, several outputs.
GRAPHS = [ROOT / "examples" / f"{name}.cnn" for name in ("siamese", "two_heads", "unet")]

SHARED_CONTAINER = """
left: input 12x12x3
right: input 12x12x3
@left | tower: sepconv 8 3 relu
@right | reuse tower
joined: concat(@tower; identity) | gap
shared: dense 4 | output
@joined | gmp | reuse shared | output
"""


@pytest.mark.parametrize("path", EXAMPLES + GRAPHS, ids=lambda p: p.stem)
def test_examples_equal_torchinfo(path, torch):
    model = cnndsl.analyze_file(path)
    assert format_torchinfo(model) == torchinfo_text(model, torch)


def test_siamese_counts_shared_weights_once(torch):
    """The figures a user compared by hand: torchinfo 1.8.0 on the emitted siamese network."""
    text = format_torchinfo(cnndsl.analyze_file(ROOT / "examples" / "siamese.cnn"))
    assert "├─Linear: 1-16                           [1, 4096]                 (recursive)" in text
    for figure in ("Total params: 38,951,745", "Input size (MB): 0.09", "Params size (MB): 155.81"):
        assert figure in text


@pytest.mark.parametrize("case", sorted(GRAPH_CASES))
def test_graph_cases_equal_torchinfo(case, torch):
    model = cnndsl.analyze(GRAPH_CASES[case][0])
    assert format_torchinfo(model) == torchinfo_text(model, torch)
    assert format_torchinfo(model, 2) == torchinfo_text(model, torch, 2)


def test_a_shared_container_is_recursive_with_its_parts(torch):
    model = cnndsl.analyze(SHARED_CONTAINER)
    assert format_torchinfo(model) == torchinfo_text(model, torch)


def test_batch_and_pytorch_pieces_equal_torchinfo(torch):
    model = cnndsl.analyze(PYTORCH_PIECES)
    assert format_torchinfo(model) == torchinfo_text(model, torch)
    lenet = cnndsl.analyze_file(ROOT / "examples" / "lenet.cnn")
    assert format_torchinfo(lenet, 3) == torchinfo_text(lenet, torch, 3)


@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(network=networks())
def test_random_networks_equal_torchinfo(network, torch):
    model = cnndsl.analyze(network.text)
    assert format_torchinfo(model) == torchinfo_text(model, torch), network.text


def test_the_command(capsys):
    assert main(["summary", "--style", "torchinfo", str(ROOT / "examples" / "lenet.cnn")]) == 0
    out = capsys.readouterr().out
    assert "├─Conv2d: 1-1                            [1, 8, 28, 28]            608" in out
    assert "Total mult-adds (M): 0.86" in out  # torchinfo's 857,406


def test_readme_sample_is_the_real_output(capsys):
    main(["summary", "--style", "torchinfo", str(ROOT / "examples" / "lenet.cnn")])
    assert capsys.readouterr().out in page("commands.md")


def test_style_torchinfo_has_no_other_format(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["summary", "--style", "torchinfo", "--json", str(ROOT / "examples" / "lenet.cnn")])
    assert exit_info.value.code == 2
    assert "no --format" in capsys.readouterr().err


def shared_twice(text: str) -> str:
    """A random network as a block, called on two inputs with one set of weights (`reuse`), two outputs."""
    first, body = text.split("\n", 1)
    shape = first.split()[1]
    tower = "".join(f"    {line}\n" if line.strip() else "\n" for line in body.splitlines())
    return (
        f"def tower():\n{tower}a: input {shape}\nb: input {shape}\n@a | t: tower | output\n@b | u: reuse t | output\n"
    )


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(network=networks())
def test_random_shared_networks_on_two_inputs_equal_torchinfo(network, torch):
    text = shared_twice(network.text)
    model = cnndsl.analyze(text)
    assert format_torchinfo(model) == torchinfo_text(model, torch), text


# Modules with children in the emitted code: a separable conv (depthwise + pointwise), `same` average
# pooling (its pool and the pool of ones), and a container shared by two calls.
NESTED = """input 16x16x3
sepconv 8 3x3 same relu | avgpool 3 stride 1 same | sepconv 16 3x3 stride 2 | gap | dense 10
"""


@pytest.mark.parametrize("source", [NESTED, SHARED_CONTAINER], ids=["nested", "shared"])
@pytest.mark.parametrize("depth", [0, 1, 2, 4])
def test_depth_is_torchinfos_depth(source, depth, torch):
    model = cnndsl.analyze(source)
    assert format_torchinfo(model, depth=depth) == torchinfo_text(model, torch, depth=depth)
    assert (format_torchinfo(model, depth=1) == format_torchinfo(model)) is False  # the depth changes the table


def test_ascii_is_torchinfos_ascii_only_rows(torch, capsys, tmp_path):
    path = tmp_path / "nested.cnn"
    path.write_text(NESTED)
    expected = torchinfo_text(cnndsl.analyze(NESTED, "nested"), torch, depth=2, row_settings=("depth", "ascii_only"))
    assert main(["summary", "--style", "torchinfo", "--depth", "2", "--ascii", str(path)]) == 0
    assert capsys.readouterr().out == expected + "\n"


@pytest.mark.parametrize(
    "flag", [["--columns", "shape"], ["--all"], ["--macs"], ["--width", "80"], ["--dtype", "float16"],
             ["--optimizer", "sgd"], ["--layout", "channels_first"]],
)  # fmt: skip
def test_flags_torchinfo_cannot_honour_are_refused(flag, capsys):
    assert main(["summary", "--style", "torchinfo", *flag, str(ROOT / "examples" / "lenet.cnn")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("cnndsl summary: --style torchinfo prints torchinfo's own")
