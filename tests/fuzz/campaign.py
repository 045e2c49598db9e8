"""The long fuzzing campaign, outside CI: N hostile inputs through every command.

    nice -n 19 python tests/fuzz/campaign.py [N] [FIRST_SEED]   (N defaults to 200,000)

Each seed is one input from tests/helpers/hostile_inputs.py (the strategies by their
SHARES); every input goes through analyze, the summary (all four flag
combinations every 20th input, one otherwise), JSON and both emitters, with
the generated code compiled, every 200th PyTorch module built and run, and
every 100th input through every command of the CLI (hostile_inputs.COMMANDS).
An input that escapes, or under 1 KB takes more than 2 s of CPU, is printed
with its seed (`hostile(seed)` gives it back). One process, by design.
The result and date of the last full run are in docs/hostile.md.
"""

from __future__ import annotations

import collections
import os
import resource
import signal
import sys
import time

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(TESTS, "helpers"), os.path.dirname(TESTS)]  # hostile_inputs, and this checkout's cnndsl

from hostile_inputs import check, hostile  # noqa: E402


class Hang(BaseException):
    pass


class Stop(BaseException):
    """SIGTERM or ^C: stop after this input and print the totals so far."""


def _alarm(signum, frame):
    raise Hang()


def _stop(signum, frame):
    raise Stop()


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    signal.signal(signal.SIGPROF, _alarm)  # CPU time, not wall time: the machine may be shared
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    outcomes: collections.Counter = collections.Counter()
    problems: list = []
    start = time.time()
    done = 0
    try:
        done = run(first, count, outcomes, problems, start)
    except Stop:
        done = sum(outcomes.values())
        print(f"stopped after {done:,} inputs", flush=True)
    for (strategy, outcome), n in sorted(outcomes.items()):
        print(f"  {strategy:16} {outcome:7} {n:,}")
    models = sum(n for (_, outcome), n in outcomes.items() if outcome == "model")
    print(
        f"{done:,} inputs from seed {first}: {models:,} models, {done - models - len(problems):,} located errors, "
        f"{len(problems)} problems; {time.strftime('%Y-%m-%d', time.gmtime())}"
    )
    return 1 if problems else 0


def run(first: int, count: int, outcomes, problems, start: float) -> int:
    slowest = (0.0, None)
    for seed in range(first, first + count):
        strategy, text, filename = hostile(seed)
        began = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, 30)
        try:
            outcome = check(text, filename, run_sample=seed % 200 == 0, every_flag=seed % 20 == 0, cli=seed % 100 == 0)
        except Hang:
            outcome = "hang"
        except Stop:
            raise
        except BaseException as error:  # noqa: BLE001 - every escape is a finding
            outcome = "escape"
            problems.append((seed, strategy, f"{type(error).__name__}: {str(error)[:300]}"))
            print("PROBLEM seed={} {}: {}".format(*problems[-1]), flush=True)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        spent = time.process_time() - began
        if outcome == "hang" or (spent > 2 and len(text.encode()) < 1024):
            problems.append((seed, strategy, f"{outcome}: {spent:.1f} s of CPU for {len(text.encode())} bytes"))
            print("PROBLEM seed={} {}: {}".format(*problems[-1]), flush=True)
        if spent > slowest[0]:
            slowest = (spent, seed)
        outcomes[strategy, outcome] += 1
        done = seed - first + 1
        if done % 5_000 == 0 or done == count:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{done:,} inputs, {time.time() - start:.0f} s, {len(problems)} problems, "
                f"slowest {slowest[0]:.2f} s (seed {slowest[1]}), peak {peak:.0f} MB",
                flush=True,
            )
    return count


if __name__ == "__main__":
    sys.exit(main())
