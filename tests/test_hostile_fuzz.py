"""CI's share of the hostile-input fuzzers (tests/helpers/hostile_inputs.py): a few hundred seeds per strategy.

The long campaign (tests/fuzz/campaign.py, 200,000 inputs) runs outside CI;
its last result is in docs/hostile.md.
"""

from __future__ import annotations

import pytest
from hostile_inputs import STRATEGIES, check, hostile
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
        outcomes.append(check(text, filename, run_sample=seed % 25 == 0, cli=seed % 15 == 0))
    assert len(outcomes) == SEEDS[strategy]
    # Each strategy reaches both sides: models that go through every command, and errors.
    assert "model" in outcomes and "error" in outcomes, strategy


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
