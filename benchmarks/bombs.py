"""Time and peak memory of every bomb class through every command.

    python benchmarks/bombs.py

Each bomb is a file under 1 KB built to cost as much as the bounds in
cnndsl/limits.py allow: some stop at a bound (exit 1), the others are the
largest that still pass. Prints one line per bomb and command: exit code,
CPU seconds, peak resident MB (the largest child so far), bytes printed. The figures go in docs/hostile.md;
they are not asserted by the tests (timings are not deterministic).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def exponential_calls(levels: int, body: str = "identity") -> str:
    text = f"def b0(): {body}\n"
    text += "".join(f"def b{i}(): b{i - 1}()|b{i - 1}()\n" for i in range(1, levels + 1))
    return text + f"input 8\nb{levels}()\n"


BOMBS = {
    # stopped by a bound
    "identity repeat": "input 8\n(identity) * 1000000000000\n",
    "empty block": "def e():\n    identity\ninput 8\n(e()) * 99999999\n",
    "exponential calls": exponential_calls(40),
    "wide concat": "input 8\n(concat(" + "; ".join(["identity"] * 64) + ")) * 99999\n",
    "wide add": "input 8\n(add(" + ";".join(["identity"] * 100) + ")) * 10000\n",
    "repeated conv": "input 8x8x3\n(conv 8 3 same) * 99999\n",
    "channels doubling": "input 8\n(concat(identity; identity)) * 15000\n",
    # the largest that pass
    "conv x 9990": "input 8x8x3\n(conv 8 3 same) * 9990\n",
    "dwconv|bn|relu x 3330": "input 8x8x3\n(dwconv 3 same | bn | relu) * 3330\n",
    "add of 99 x 240": "input 8\n(add(" + ";".join(["identity"] * 99) + ")) * 240\n",
    "calls 2^13 of relu": exponential_calls(13, "relu"),
}
COMMANDS = (
    ["check"],
    ["summary"],
    ["summary", "--json"],
    ["summary", "--macs"],
    ["emit", "--pytorch"],
    ["emit", "--keras"],
)


def run(path: str, command: list[str]) -> tuple[int, float, float, int]:
    """Exit code, CPU seconds (user + system: wall time depends on the machine's load), peak MB, bytes out."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "cnndsl", *command, path], capture_output=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return done.returncode, seconds, max(after.ru_maxrss, before.ru_maxrss) / 1024, len(done.stdout)


def main() -> None:
    worst = (0.0, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in BOMBS.items():
            path = os.path.join(tmp, "bomb.cnn")
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
            size = len(text.encode())
            for command in COMMANDS:
                code, seconds, mb, printed = run(path, command)
                worst = (max(worst[0], seconds), max(worst[1], mb))
                print(
                    f"{name:24} {size:4} B  {' '.join(command):15} exit {code}  {seconds:5.2f} s CPU  {mb:6.0f} MB  {printed:>9,} B out"
                )
    print(f"worst: {worst[0]:.2f} s CPU, {worst[1]:.0f} MB (peak RSS is the largest child so far)")


if __name__ == "__main__":
    main()
