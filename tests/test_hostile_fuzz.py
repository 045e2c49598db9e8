"""CI's share of each hostile-input fuzzer: a few hundred seeds per strategy of tests/helpers/hostile_inputs.py,
a share of them through every command, emitted code run at three sizes, and language-server sessions
(tests/helpers/hostile_lsp.py).

The long campaign (tests/fuzz/campaign.py, 200,000 inputs) runs outside CI;
its last result is in docs/hostile.md.
"""

from __future__ import annotations

import random

import pytest
from hostile_inputs import STRATEGIES, check, hostile, run_at_sizes, run_cli, unknown_graph
from hostile_lsp import check_session, session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.core.errors import CnnError

# Seeds per strategy: a bomb costs up to a second, the others milliseconds.
SEEDS = {name: 150 for name in STRATEGIES} | {"bomb": 12, "nesting": 40}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_hostile_input_is_a_model_or_a_located_error_in_every_command(strategy, torch):
    seeds = [seed for seed in range(len(STRATEGIES) * SEEDS[strategy]) if hostile(seed, rotate=True)[0] == strategy]
    outcomes = []
    for seed in seeds:
        _, text, filename = hostile(seed, rotate=True)
        outcomes.append(check(text, filename, run_sample=seed % 25 == 0))
    assert len(outcomes) == SEEDS[strategy]
    # Each strategy reaches both sides: models that go through every command, and errors.
    assert "model" in outcomes and "error" in outcomes, strategy


def test_every_command_on_a_share_of_each_strategy():
    """Each command of the CLI (hostile_inputs.cli_commands), in process: exit 0 or 1, never a traceback."""
    for strategy in STRATEGIES:
        seeds = [seed for seed in range(2 * len(STRATEGIES)) if hostile(seed, rotate=True)[0] == strategy]
        for seed in seeds:
            _, text, _ = hostile(seed, rotate=True)
            run_cli(text, onnx=seed == seeds[0] and strategy == "keyword rewrite")
    # a file with a `param`, swept, and the ONNX model emitted and imported back
    codes = dict(run_cli("param c = 4\ninput 8x8x3\nconv c 3 same | relu | gap | dense 3\n", onnx=True))
    assert codes["sweep --set c=1,2 --format json -"] == 0 and codes["import OUT.onnx"] == 0


def test_emitted_code_runs_at_three_sizes_for_graphs_on_unknown_axes(torch, keras):
    runs = 0
    for seed in range(40):
        try:
            model = cnndsl.analyze(unknown_graph(random.Random(seed)))
        except CnnError:
            continue
        runs += run_at_sizes(model, keras=seed % 8 == 0)
    assert runs >= 30  # about half the graphs are models, and most of those run at two or three sizes


def test_language_server_sessions_end_cleanly_without_internal_errors():
    codes = [check_session(session(random.Random(seed))) for seed in range(40)]
    # a shutdown and exit (0), and an exit without shutdown or a frame that ends the connection (1)
    assert 0 in codes and 1 in codes


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_analyze_raises_only_cnn_errors_on_any_text(text):
    try:
        cnndsl.analyze(text)
    except CnnError:
        pass


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="input8x3|()*;:=+-/.e9 \nidentityaddconcatdef", max_size=120))
def test_analyze_raises_only_cnn_errors_on_text_made_of_its_own_pieces(text):
    try:
        cnndsl.analyze("input 8\n" + text)
    except CnnError:
        pass
