"""The long fuzzing campaign, outside CI: hostile inputs through the API, every command, the emitted code and the LSP.

    nice -n 19 python tests/fuzz/campaign.py [SEEDS] [FIRST_SEED] [--until HH:MM] [--state FILE] [--workers N]

Each seed is one input from tests/helpers/hostile_inputs.py (the strategies by their SHARES), through
`check`: analyze, the summary, JSON, every view and both emitters, the generated code compiled. Some
seeds also feed the campaign's other strategies, each counted on its own:

- every command: every 100th text through every command of the CLI (hostile_inputs.cli_commands; every
  1,000th with the ONNX round trip), in process, as a user runs them;
- three sizes: every 100th model, and every 10th with `?` axes, emitted and run in PyTorch at three sizes
  (the demo size and two others the model accepts; fixed-size models at three batch sizes), one in four
  in Keras too: each output's shape must be the sized model's;
- LSP frames: every 40th seed a language-server session (tests/helpers/hostile_lsp.py).

The seeds run in chunks, each in a child process of its own (the memory of one chunk is given back when it
ends), WORKERS at a time; after every chunk the running totals go to the state file, so a campaign that is
stopped (SIGTERM, ^C, --until) keeps what it did and, run again with the same state file, goes on.
A finding (an escape, a hang, a bad exit code) is printed with its seed: `hostile(seed)` gives the text back.
The result and date of the last full run are in docs/hostile.md.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(TESTS, "helpers"), os.path.dirname(TESTS)]  # hostile_inputs, and this checkout's cnndsl

CHUNK = 2_000
EXAMPLES_PER_FINDING = 3
SLOW = 2.0  # CPU seconds: an input under 1 KB past this through the API is listed (the per-command bound is bombs.py's)


class Hang(BaseException):
    pass


class Stop(BaseException):
    """SIGTERM or ^C: stop after this input and report what was done."""


def _alarm(signum, frame):
    raise Hang()


def _stop(signum, frame):
    raise Stop()


def signature(message: str) -> str:
    """A finding's kind: its message without numbers, seeds or quoted sizes, so repeats group together."""
    return re.sub(r"\d+", "N", message.splitlines()[0] if message else "")[:160]


# ---- one chunk, in a child process


def worker(first: int, count: int, until: float, out_path: str) -> None:
    from hostile_inputs import check, hostile, run_at_sizes, run_cli
    from hostile_lsp import check_session, session

    import cnndsl
    from cnndsl.core.errors import CnnError

    signal.signal(signal.SIGPROF, _alarm)  # CPU time, not wall time: the machine is shared
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    totals: dict = {}
    findings: list = []
    slow: list = []

    def tally(strategy: str, outcome: str) -> None:
        counts = totals.setdefault(strategy, {})
        counts[outcome] = counts.get(outcome, 0) + 1

    def attempt(strategy: str, seed: int, size: int, work, *args, limit: float = 30) -> str | None:
        began = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, limit)
        try:
            outcome = work(*args)
        except Hang:
            outcome = "finding"
            findings.append((strategy, seed, f"hang: over {limit:.0f} s of CPU"))
        except Stop:
            raise
        except BaseException as error:  # noqa: BLE001 - every escape is a finding
            outcome = "finding"
            findings.append((strategy, seed, f"{type(error).__name__}: {str(error)[:400]}"))
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        spent = time.process_time() - began
        if outcome is None:
            return None
        if spent > SLOW and size < 1024 and strategy in STRATEGY_NAMES:
            slow.append((strategy, seed, round(spent, 2), size))
        tally(strategy, outcome)
        return outcome

    def sized(text: str, filename: str, keras: bool) -> str | None:
        try:
            model = cnndsl.analyze(text, filename)
        except CnnError:
            return None
        try:
            runs = run_at_sizes(model, keras=keras)
        except CnnError as error:  # a target that cannot express a layer: located, and nothing to run
            assert error.span is not None, error
            return None
        return "runs" if runs else None

    def every_command(text: str, onnx: bool) -> str:
        run_cli(text, onnx=onnx)
        return "ran"

    def lsp_session(data: bytes) -> str:
        return f"exit {check_session(data)}"

    done = 0
    try:
        for seed in range(first, first + count):
            if time.time() > until:
                break
            strategy, text, filename = hostile(seed)
            size = len(text.encode("utf-8", "surrogatepass"))
            attempt(strategy, seed, size, check, text, filename, False, seed % 20 == 0)
            if seed % 100 == 0:
                attempt("every command", seed, size, every_command, text, seed % 1000 == 0, limit=120)
            if seed % 100 == 1 or (strategy in ("unknown axes", "unknown graphs") and seed % 10 == 1):
                attempt("three sizes", seed, size, sized, text, filename, (seed // 10) % 4 == 0, limit=120)
            if seed % 40 == 3:
                data = session(random.Random(seed))
                attempt("LSP frames", seed, len(data), lsp_session, data, limit=120)
            done += 1
    except Stop:
        pass
    result = {
        "first": first,
        "done": done,
        "totals": totals,
        "findings": findings,
        "slow": slow,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    with open(out_path + ".tmp", "w") as file:
        json.dump(result, file)
    os.replace(out_path + ".tmp", out_path)


# ---- the campaign, in the parent


def new_state(first: int, seeds: int) -> dict:
    return {
        "first": first,
        "seeds": seeds,
        "chunk": CHUNK,
        "done_chunks": {},
        "totals": {},
        "findings": {},
        "slow": [],
        "peak_mb": 0.0,
        "wall_s": 0.0,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def merge(state: dict, result: dict, chunk: int) -> list[str]:
    """Add one chunk's result to the state; the lines to print for its new findings."""
    state["done_chunks"][str(chunk)] = result["done"]
    for strategy, counts in result["totals"].items():
        into = state["totals"].setdefault(strategy, {})
        for outcome, n in counts.items():
            into[outcome] = into.get(outcome, 0) + n
    printed = []
    for strategy, seed, message in result["findings"]:
        kind = state["findings"].setdefault(f"{strategy}: {signature(message)}", {"count": 0, "examples": []})
        kind["count"] += 1
        if len(kind["examples"]) < EXAMPLES_PER_FINDING:
            kind["examples"].append([seed, message])
            printed.append(f"FINDING {strategy} seed={seed}: {message[:300]}")
    state["slow"] = sorted(state["slow"] + result["slow"], key=lambda s: -s[2])[:50]
    state["peak_mb"] = max(state["peak_mb"], result["peak_mb"])
    return printed


def save(state: dict, path: str) -> None:
    with open(path + ".tmp", "w") as file:
        json.dump(state, file, indent=1)
    os.replace(path + ".tmp", path)


def report(state: dict) -> str:
    lines = []
    total = 0
    for strategy, counts in sorted(state["totals"].items()):
        inputs = sum(counts.values())
        total += inputs
        findings = counts.get("finding", 0)
        shown = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
        lines.append(f"  {strategy:16} {inputs:8,} inputs, {findings} findings ({shown})")
    seeds = sum(state["done_chunks"].values())
    lines.append(
        f"{total:,} inputs ({seeds:,} seeds from {state['first']:,}) in {state['wall_s']:,.0f} s; "
        f"peak {state['peak_mb']:.0f} MB in one process; {sum(k['count'] for k in state['findings'].values())} "
        f"findings of {len(state['findings'])} kinds; {len(state['slow'])} slow; "
        f"started {state['started']}, now {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    for kind, found in state["findings"].items():
        lines.append(f"  {found['count']:6,} x {kind}  e.g. seed {found['examples'][0][0]}")
    return "\n".join(lines)


def until_epoch(hhmm: str | None) -> float:
    if hhmm is None:
        return float("inf")
    hours, minutes = map(int, hhmm.split(":"))
    now = time.time()
    today = now - now % 86400 + hours * 3600 + minutes * 60  # UTC
    return today if today > now else today + 86400


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("seeds", nargs="?", type=int, default=200_000)
    parser.add_argument("first", nargs="?", type=int, default=0)
    parser.add_argument("--until", metavar="HH:MM", help="stop by this time (UTC) and write the totals")
    parser.add_argument("--state", default=os.path.join(tempfile.gettempdir(), "cnndsl-campaign.json"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        first, count, until, out = args.worker
        worker(int(first), int(count), float(until), out)
        return 0
    until = until_epoch(args.until)
    if os.path.exists(args.state):
        with open(args.state) as file:
            state = json.load(file)
        print(f"resuming {args.state}: {sum(state['done_chunks'].values()):,} seeds done", flush=True)
    else:
        state = new_state(args.first, args.seeds)
    chunks = [c for c in range(-(-state["seeds"] // state["chunk"])) if str(c) not in state["done_chunks"]]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    running: dict = {}  # chunk -> (process, result path)
    began = time.time()
    wall = state["wall_s"]
    folder = tempfile.mkdtemp(prefix="cnndsl-campaign-")
    while chunks or running:
        while chunks and len(running) < args.workers and not stopping and time.time() < until - 30:
            chunk = chunks.pop(0)
            first = state["first"] + chunk * state["chunk"]
            count = min(state["chunk"], state["first"] + state["seeds"] - first)
            out = os.path.join(folder, f"chunk{chunk}.json")
            command = [sys.executable, os.path.abspath(__file__), "--worker", str(first), str(count), str(until), out]
            running[chunk] = (subprocess.Popen(command), out)
        if not running:
            break
        time.sleep(1)
        if stopping:
            for process, _ in running.values():
                if process.poll() is None:
                    process.terminate()  # the child stops after its input and writes what it did
        for chunk, (process, out) in list(running.items()):
            if process.poll() is None:
                continue
            del running[chunk]
            if os.path.exists(out):
                with open(out) as file:
                    result = json.load(file)
                for line in merge(state, result, chunk):
                    print(line, flush=True)
            else:
                print(f"chunk {chunk}: the worker ended with {process.returncode} and no result", flush=True)
            state["wall_s"] = wall + time.time() - began
            save(state, args.state)
            seeds = sum(state["done_chunks"].values())
            print(f"{seeds:,} seeds, {state['wall_s']:,.0f} s, peak {state['peak_mb']:.0f} MB", flush=True)
    state["wall_s"] = wall + time.time() - began
    save(state, args.state)
    print(report(state), flush=True)
    return 1 if state["findings"] else 0


STRATEGY_NAMES: set = set()

if __name__ == "__main__":
    from hostile_inputs import STRATEGIES

    STRATEGY_NAMES.update(STRATEGIES)
    sys.exit(main(sys.argv[1:]))
