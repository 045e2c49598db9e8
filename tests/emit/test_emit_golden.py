"""Golden files: each tests/golden/NAME.cnn with its expected NAME.keras.py and NAME.torch.py.

After an intended change to the generated code, rewrite the expected files with

    python -m cnndsl.build

and review the diff. The expected files must also be stable under `ruff
format` (a second pass changes nothing) and clean under `ruff check`, both
with ruff's defaults and with the project's own configuration.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from emit_helpers import RUFF, check_keras, check_torch, load, ruff_problems

import cnndsl
from cnndsl.emit import generate

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.cnn"))
SUFFIX = {"keras": "keras.py", "pytorch": "torch.py"}


@pytest.mark.parametrize("target", sorted(SUFFIX))
@pytest.mark.parametrize("case", CASES)
def test_golden(case, target):
    model = cnndsl.analyze_file(GOLDEN / f"{case}.cnn")
    code = generate(model, target)
    expected = GOLDEN / f"{case}.{SUFFIX[target]}"
    assert expected.exists(), f"missing {expected.name}; run python -m cnndsl.build"
    assert code == expected.read_text(encoding="utf-8")


def test_golden_files_are_ruff_stable():
    files = sorted(GOLDEN.glob("*.py"))
    assert len(files) == 2 * len(CASES)
    assert ruff_problems(*(f.read_text(encoding="utf-8") for f in files)) == []
    root = GOLDEN.parent.parent  # the project's own ruff configuration, as its CI applies it
    for command in (["format", "--check"], ["check"]):
        run = subprocess.run([*RUFF, *command, *map(str, files)], cwd=root, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES)
def test_golden_models_build(case, keras, torch):
    model = cnndsl.analyze_file(GOLDEN / f"{case}.cnn")
    check_keras(model, keras)
    check_torch(model, torch)


def test_golden_cases_cover_the_hard_parts():
    torch_code = "".join((GOLDEN / f"{case}.torch.py").read_text() for case in CASES)
    keras_code = "".join((GOLDEN / f"{case}.keras.py").read_text() for case in CASES)
    for needle in (
        "F.pad(",
        'value=float("-inf")',
        "class AvgPoolSame",
        "class Normalization",
        "momentum=0.1",
        "movedim(1, -1).flatten(1)",
        "torch.cat(",
        "nn.Sequential(",
        ".bias = nn.Parameter",
    ):
        assert needle in torch_code, needle
    for needle in ("keras.Sequential(", "keras.Model(", "layers.Add(", 'name="stem"'):
        assert needle in keras_code, needle


def test_a_golden_module_runs_as_a_script(tmp_path):
    """`python generated.py` builds the model, runs zeros through it and prints the output shape."""
    for target in SUFFIX:
        path = GOLDEN / f"lenet.{SUFFIX[target]}"
        env = dict(os.environ, KERAS_BACKEND="torch")
        run = subprocess.run([os.sys.executable, str(path)], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip().splitlines()[-1] == "(1, 10)"
    load((GOLDEN / "lenet.keras.py").read_text(), "golden_lenet")  # importing does not build or print


def _run_keras_lenet(tmp_path, absent: tuple[str, ...]) -> subprocess.CompletedProcess:
    """Run the golden Keras script with KERAS_BACKEND unset and the named modules not importable."""
    script = (
        "import runpy, sys\n"
        f"for name in {absent!r}:\n"
        "    sys.modules[name] = None  # find_spec() then answers None, as for a module not installed\n"
        f"runpy.run_path({str(GOLDEN / 'lenet.keras.py')!r}, run_name='__main__')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return subprocess.run([os.sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)


@pytest.mark.oracle
def test_the_keras_script_picks_an_installed_backend_without_tensorflow(tmp_path):
    """A fresh `pip install keras torch`: Keras's default, TensorFlow, is absent; the script still runs."""
    run = _run_keras_lenet(tmp_path, ("tensorflow",))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "(1, 10)"


def test_the_keras_script_says_what_to_install_when_no_backend_is(tmp_path):
    run = _run_keras_lenet(tmp_path, ("tensorflow", "torch", "jax"))
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == "Keras needs a backend: pip install torch (or jax, or tensorflow)\n"
