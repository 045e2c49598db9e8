"""`cnndsl sweep`: one row per combination of `--set` values, each checked against Keras and PyTorch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from emit_helpers import load

import cnndsl
from cnndsl.cli import main
from cnndsl.core.limits import MAX_SWEEP_COMBINATIONS
from cnndsl.emit import generate
from cnndsl.views.summary import summary_dict

ROOT = Path(__file__).resolve().parent.parent.parent
MOBILENET_V2 = ROOT / "examples" / "families" / "mobilenet_v2.cnn"


def sweep(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = main(["sweep", *argv])
    except SystemExit as exit:  # argparse's own usage errors
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.oracle
def test_each_row_is_keras_parameter_count_and_pytorchs_macs(capsys, keras, torch):
    from torch.utils.flop_counter import FlopCounterMode

    status, out, _ = sweep(capsys, str(MOBILENET_V2), "--set", "alpha=0.35,1.0", "--set", "size=96", "--format", "json")
    assert status == 0
    rows = json.loads(out)
    assert [(row["alpha"], row["size"]) for row in rows] == [(0.35, 96), (1.0, 96)]
    text = MOBILENET_V2.read_text()
    for row in rows:
        reference = keras.applications.MobileNetV2(alpha=row["alpha"], weights=None, input_shape=(96, 96, 3))
        assert row["params"] == reference.count_params()
        # MACs: half the FLOPs PyTorch's own counter measures running the emitted module once
        model = cnndsl.analyze(text, str(MOBILENET_V2), params={"alpha": row["alpha"], "size": 96})
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            load(generate(model, "pytorch"), "swept").build_model().eval()(torch.zeros(1, 3, 96, 96))
        assert row["macs"] == counter.get_total_flops() // 2
        # the memory is the summary's inference peak for one float32 example, as `check --max-memory` reads it
        assert row["inference_memory_bytes"] == summary_dict(model)["memory"]["inference_peak_bytes"]


def test_every_combination_in_order_in_each_format(capsys):
    argv = (str(MOBILENET_V2), "--set", "alpha=0.35,0.5", "--set", "size=96,128")
    status, out, _ = sweep(capsys, *argv, "--format", "csv")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "alpha,size,params,macs,inference_memory_bytes"
    assert [line.split(",")[:2] for line in lines[1:]] == [["0.35", "96"], ["0.35", "128"], ["0.5", "96"], ["0.5", "128"]]
    # the same size gives the same parameters; a larger input more MACs
    params = [int(line.split(",")[2]) for line in lines[1:]]
    macs = [int(line.split(",")[3]) for line in lines[1:]]
    assert params[0] == params[1] and params[2] == params[3] and macs[1] > macs[0]
    status, table, _ = sweep(capsys, *argv)
    assert status == 0 and table.splitlines()[1].split() == ["┃", "alpha", "┃", "size", "┃", "Params", "┃", "MACs", "┃", "Inference", "memory", "┃"]
    assert f"{params[0]:,}" in table and f"{macs[3]:,}" in table and "MiB" in table
    status, markdown, _ = sweep(capsys, *argv, "--format", "markdown")
    assert status == 0 and markdown.splitlines()[0] == "| alpha | size | Params | MACs | Inference memory |"
    assert len(markdown.splitlines()) == 2 + 4


def test_usage_errors_exit_2_and_a_model_error_exits_1(capsys, tmp_path):
    many = ",".join(str(i) for i in range(1, 40))
    status, _, err = sweep(capsys, str(MOBILENET_V2), "--set", f"alpha={many}", "--set", f"size={many}")
    assert status == 2 and f"more than the {MAX_SWEEP_COMBINATIONS:,}" in err
    status, _, err = sweep(capsys, str(MOBILENET_V2), "--set", "alph=0.5")
    assert status == 2 and "did you mean `alpha`" in err
    status, _, err = sweep(capsys, str(MOBILENET_V2), "--set", "alpha=0.5,")
    assert status == 2
    status, _, err = sweep(capsys, str(MOBILENET_V2))
    assert status == 2 and "--set NAME=V1,V2" in err
    net = tmp_path / "net.cnn"
    net.write_text("param k = 3\ninput 8x8x3\nconv 4 k\n")
    status, out, err = sweep(capsys, str(net), "--set", "k=3,9")
    assert status == 1 and out == ""
    assert "net.cnn:3:8: kernel 9x9 is larger than its 8x8 input" in err and "stopped at k=9" in err


def test_the_manuals_sweep_is_what_the_command_prints(capsys, monkeypatch):
    from docs_pages import page

    [(command, shown)] = re.findall(r"```\n\$ cnndsl (sweep .*?)\n(.*?)```", page("commands.md"), flags=re.S)
    monkeypatch.chdir(ROOT)
    status, out, _ = sweep(capsys, *command.split()[1:])
    assert status == 0 and out == shown


def test_standard_input_is_read_once_for_every_combination(capsys, monkeypatch):
    """Each combination read `-` again and found it empty: `stopped at c=2`, exit 2 (the 2026-12-08 campaign)."""
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("param c = 4\ninput 8x8x3\nconv c 3 same\n"))
    status, out, err = sweep(capsys, "-", "--set", "c=1,2", "--format", "json")
    assert (status, err) == (0, "")
    # a 3x3 convolution of 3 channels into c: 3*3*3*c weights and c biases
    assert [(row["c"], row["params"]) for row in json.loads(out)] == [(1, 28), (2, 56)]
