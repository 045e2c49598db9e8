"""Start-up time of the CLI, against a bare interpreter (figures, not assertions).

    python benchmarks/startup.py [RUNS]

Prints the best of RUNS wall-clock times for `python -c pass`, `import lark`,
`cnndsl check` and `cnndsl summary` on examples/lenet.cnn. Bytecode is cached
under a private temporary directory (as an installed package's would be,
whatever PYTHONDONTWRITEBYTECODE says), and a first untimed run warms it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LENET = str(ROOT / "examples" / "lenet.cnn")


def best_ms(command: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd=ROOT, env=env)  # warms the bytecode cache
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd=ROOT, env=env)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    python = sys.executable
    rows = [
        ("python -c pass", [python, "-c", "pass"]),
        ("python -c 'import lark'", [python, "-c", "import lark"]),
        ("cnndsl check lenet.cnn", [python, "-m", "cnndsl", "check", LENET]),
        ("cnndsl summary lenet.cnn", [python, "-m", "cnndsl", "summary", LENET]),
    ]
    bare = None
    with tempfile.TemporaryDirectory() as work:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = os.path.join(work, "pycache")
        for label, command in rows:
            ms = best_ms(command, runs, env)
            bare = bare or ms
            print(f"{label:28} {ms:7.1f} ms   ({ms / bare:4.2f}x bare python)")


if __name__ == "__main__":
    main()
