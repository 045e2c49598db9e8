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
        for name in ("squeezenet1_1", "shufflenet_v2_x1_0", "convnext_tiny")
    ),
]


def torchinfo_text(model, torch, batch: int = 1) -> str:
    """torchinfo's own table for the emitted module. On Python 3.11 and later torchinfo 1.8.0 prints
    its units enum as `Units.MEGABYTES`; the letter it stands for is what cnndsl prints."""
    import torchinfo

    built = load(generate(model, "pytorch"), "generated_torch").build_model().eval()
    sizes = [(batch, s[-1], *s[:-1]) for s in (model.nodes[i].shape for i in model.inputs)]
    text = str(torchinfo.summary(built, input_size=sizes, verbose=0))
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
