"""Every performance target of cnndsl, measured side by side (figures, not assertions).

    python benchmarks/run.py            # about 2 minutes on 2 cores
    python benchmarks/run.py --quick    # fewer runs, for a smoke test
    python benchmarks/run.py --root DIR # measure another checkout (e.g. an older commit)

Each cold figure is the median wall-clock time of fresh processes, the two
sides of a ratio run alternately so that a busy machine slows both alike.
Bytecode is cached under a private temporary directory (as an installed
package's would be), and a first untimed run warms it.

Targets (issue 14):
  1. Keras 3 (torch backend) building and summarising LeNet, over
     `cnndsl summary examples/lenet.cnn`: at least 40x.
  2. `cnndsl summary` of an 8,000-layer file, over the floor: one Python
     start that imports Lark, builds an LALR parser from a minimal grammar
     for the same lines, and parses the file: at most 1.5x.
  3. The 80,000-layer file over the 8,000-layer one: at most 11x.
  4. `cnndsl emit --keras` and `--pytorch` of ResNet50, over the cold summary
     of LeNet: at most 1.5x.
Then in-process micro-benchmarks of parse, expand, infer, summary and emit.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

KERAS_LENET = """
import os
os.environ.setdefault("KERAS_BACKEND", "torch")
import keras
from keras import layers
model = keras.Sequential([
    keras.Input((32, 32, 3)),
    layers.Conv2D(8, 5, activation="relu"), layers.MaxPooling2D(2, 2),
    layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2, 2),
    layers.Flatten(),
    layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"), layers.Dense(10, activation="softmax"),
])
model.summary()
"""

# The floor for a long file: what any Lark-based reader of these lines pays.
BARE_LARK = r"""
import sys
from lark import Lark
grammar = r'''
start: (line _NL)*
line: NAME arg*
?arg: NAME | INT | DIMS
DIMS.2: /\d+(x\d+)+/
INT: /\d+/
NAME: /[A-Za-z_][A-Za-z_0-9]*/
_NL: /(\r?\n[\t ]*)+/
%ignore " "
'''
with open(sys.argv[1], encoding="utf-8") as file:
    Lark(grammar, parser="lalr").parse(file.read())
"""


def long_file(path: Path, layers: int) -> Path:
    """`conv 8 3x3 same relu` and `bn` alternating, after an input."""
    with open(path, "w", encoding="utf-8") as file:
        file.write("input 32x32x3\n")
        file.write("conv 8 3x3 same relu\nbn\n" * (layers // 2))
    return path


class Bench:
    def __init__(self, root: Path, runs: int, work: Path):
        self.root = root
        self.runs = runs
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        self.env["KERAS_BACKEND"] = "torch"
        self.env["PYTHONPATH"] = str(root)

    def once(self, command: list[str]) -> tuple[float, float]:
        """Wall-clock and CPU (user + system) seconds of one fresh process."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd=self.root, env=self.env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    def side_by_side(self, commands: dict[str, list[str]], runs: int | None = None) -> dict[str, tuple[float, float]]:
        """Median wall-clock and CPU seconds of each command, the commands taking turns."""
        for command in commands.values():  # warm the bytecode cache
            self.once(command)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(runs or self.runs):
            for name, command in commands.items():
                times[name].append(self.once(command))
        return {
            name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in times.items()
        }

    def cnndsl(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "cnndsl", *args]


def show(label: str, seconds: tuple[float, float]) -> None:
    wall, cpu = seconds
    print(f"  {label:52} {wall * 1000:9.1f} ms  (cpu {cpu * 1000:8.1f} ms)")


def verdict(label: str, top: tuple[float, float], bottom: tuple[float, float], target: float, at_least: bool) -> None:
    """The wall-clock ratio decides; the CPU ratio is shown because a shared machine skews wall time."""
    ratio, cpu_ratio = top[0] / bottom[0], top[1] / bottom[1]
    holds = ratio >= target if at_least else ratio <= target
    bound = f"{'>=' if at_least else '<='} {target:g}x"
    print(f"  => {label}: {ratio:.2f}x (cpu {cpu_ratio:.2f}x; target {bound}) {'holds' if holds else 'MISSED'}")


def cold_targets(bench: Bench, work: Path, quick: bool) -> None:
    lenet = str(bench.root / "examples" / "lenet.cnn")
    resnet = str(bench.root / "examples" / "resnet50.cnn")
    keras_script = work / "keras_lenet.py"
    keras_script.write_text(KERAS_LENET, encoding="utf-8")
    bare_script = work / "bare_lark.py"
    bare_script.write_text(BARE_LARK, encoding="utf-8")
    small = str(long_file(work / "layers8000.cnn", 8000))
    large = str(long_file(work / "layers80000.cnn", 80000))

    print("1. Keras 3 cold build + summary of LeNet vs cnndsl cold summary")
    figures = bench.side_by_side(
        {"keras": [sys.executable, str(keras_script)], "cnndsl": bench.cnndsl("summary", lenet)},
        runs=3 if quick else 7,
    )
    show("python keras_lenet.py (Keras 3, torch backend)", figures["keras"])
    show("cnndsl summary examples/lenet.cnn", figures["cnndsl"])
    verdict("Keras / cnndsl", figures["keras"], figures["cnndsl"], 40, at_least=True)
    lenet_summary = figures["cnndsl"]

    print("2. 8,000 layers: cnndsl summary vs a bare Lark LALR parse (one Python start)")
    figures = bench.side_by_side(
        {"bare": [sys.executable, str(bare_script), small], "cnndsl": bench.cnndsl("summary", small)}
    )
    show("bare Lark: import, minimal grammar, parse", figures["bare"])
    show("cnndsl summary layers8000.cnn", figures["cnndsl"])
    verdict("cnndsl / bare Lark", figures["cnndsl"], figures["bare"], 1.5, at_least=False)

    print("3. 80,000 layers vs 8,000 layers (cnndsl summary; layers written out raise the bounds)")
    figures = bench.side_by_side(
        {"8k": bench.cnndsl("summary", small), "80k": bench.cnndsl("summary", large)}, runs=2 if quick else 3
    )
    show("cnndsl summary layers8000.cnn", figures["8k"])
    show("cnndsl summary layers80000.cnn", figures["80k"])
    verdict("80k / 8k", figures["80k"], figures["8k"], 11, at_least=False)

    print("4. cold emit of ResNet50 vs cold summary of LeNet")
    figures = bench.side_by_side(
        {
            "summary": bench.cnndsl("summary", lenet),
            "keras": bench.cnndsl("emit", "--keras", resnet),
            "pytorch": bench.cnndsl("emit", "--pytorch", resnet),
        }
    )
    show("cnndsl summary examples/lenet.cnn", figures["summary"])
    show("cnndsl emit --keras examples/resnet50.cnn", figures["keras"])
    show("cnndsl emit --pytorch examples/resnet50.cnn", figures["pytorch"])
    for target in ("keras", "pytorch"):
        verdict(f"emit --{target} / summary", figures[target], figures["summary"], 1.5, at_least=False)

    print("   start-up, for reference")
    figures = bench.side_by_side(
        {"python": [sys.executable, "-c", "pass"], "lark": [sys.executable, "-c", "import lark"]}
    )
    show("python -c pass", figures["python"])
    show("python -c 'import lark'", figures["lark"])
    show("cnndsl summary examples/lenet.cnn (from 1.)", lenet_summary)


MICRO = r"""
import gc, statistics, sys, time
import cnndsl
from cnndsl.emit import generate
from cnndsl.language.expand import expand
from cnndsl.model.infer import infer
from cnndsl.language.parse import parse
from cnndsl.core.source import Source
from cnndsl.views.summary import format_summary

def median_ms(step, runs):
    # CPU time of this process: on a shared machine, wall-clock time also counts the others' work.
    times = []
    for _ in range(runs):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000

for path, runs in zip(sys.argv[1::2], map(int, sys.argv[2::2])):
    with open(path, encoding="utf-8") as file:
        source = Source.of(file.read(), path)
    program = parse(source)
    graph = expand(program)
    model = infer(graph, "model")
    steps = [
        ("parse", lambda: parse(source)),
        ("expand", lambda: expand(program)),
        ("infer", lambda: infer(graph, "model")),
        ("summary", lambda: format_summary(model, None)),
        ("emit keras", lambda: generate(model, "keras")),
        ("emit pytorch", lambda: generate(model, "pytorch")),
        ("analyze (parse+expand+infer)", lambda: cnndsl.analyze(source.text, path)),
    ]
    name = path.rsplit("/", 1)[-1]
    print(f"  {name} ({len(model.layers)} layers), median CPU time of {runs} in-process runs")
    for label, step in steps:
        print(f"    {label:30} {median_ms(step, runs):9.2f} ms")
"""


def micro(bench: Bench, work: Path, quick: bool) -> None:
    print("5. in-process micro-benchmarks")
    examples = bench.root / "examples"
    cases = [
        (examples / "lenet.cnn", 50),
        (examples / "resnet50.cnn", 10),
        (examples / "densenet121.cnn", 10),
        (work / "layers8000.cnn", 3),
    ]
    args = []
    for path, runs in cases:
        args += [str(path), str(max(2, runs // 3) if quick else runs)]
    subprocess.run([sys.executable, "-c", MICRO, *args], check=True, cwd=bench.root, env=bench.env)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--root", type=Path, default=HERE.parent, help="the cnndsl checkout to measure")
    options.add_argument("--runs", type=int, default=15, help="fresh processes per side for the quick targets")
    options.add_argument("--quick", action="store_true", help="a few runs only")
    args = options.parse_args()
    runs = 3 if args.quick else args.runs
    print(
        f"cnndsl benchmarks: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {args.root.resolve()}"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cnndsl-bench-") as work:
        bench = Bench(args.root.resolve(), runs, Path(work))
        cold_targets(bench, Path(work), args.quick)
        micro(bench, Path(work), args.quick)
    print(f"({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
