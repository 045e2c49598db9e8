"""What every example, golden and error case prints, to check a refactor changed no byte.

    python benchmarks/behaviour_snapshot.py OUT.json          # record
    python benchmarks/behaviour_snapshot.py OUT.json --check  # compare with a recording

It runs the CLI in-process on each example and golden `.cnn`: `summary` (table, `--json`,
`--format markdown|html`, `--depth 1`, `--columns all`), `explain`, `emit --keras` and
`--pytorch`, `diagram` (DOT), and on every hostile seed below the `check` message.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))

COMMANDS = [
    ["summary"],
    ["summary", "--json"],
    ["summary", "--format", "markdown"],
    ["summary", "--format", "html"],
    ["summary", "--depth", "1"],
    ["summary", "--columns", "all"],
    ["summary", "--style", "torchinfo"],
    ["explain"],
    ["emit", "--keras"],
    ["emit", "--pytorch"],
    ["diagram"],
    ["flops"],
]


def run(argv: list[str]) -> str:
    from cnndsl.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    return f"exit {code}\n--stdout\n{out.getvalue()}--stderr\n{err.getvalue()}"


def files() -> list[Path]:
    found = sorted(ROOT.glob("examples/**/*.cnn")) + sorted(ROOT.glob("tests/golden/**/*.cnn"))
    return [path for path in found if "families" not in path.parts]


def record() -> dict[str, str]:
    result = {}
    for path in files():
        rel = path.relative_to(ROOT).as_posix()
        for command in COMMANDS:
            # The path as the user wrote it, relative: two checkouts record the same messages.
            result[f"{' '.join(command)} {rel}"] = run([*command, rel])
    try:
        from hostile_inputs import hostile
    except ImportError:
        return result
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for seed in range(400):
            _, text, _ = hostile(seed, rotate=True)
            target = Path(folder) / "case.cnn"
            target.write_text(text, encoding="utf-8", errors="surrogatepass")
            for command in (["check"], ["summary", "--json"], ["explain"]):
                result[f"{' '.join(command)} seed {seed}"] = run([*command, str(target)]).replace(folder, "DIR")
    random.seed(0)
    return result


def main() -> int:
    import os

    out = Path(sys.argv[1]).resolve()
    os.chdir(ROOT)
    now = record()
    if "--check" not in sys.argv:
        out.write_text(json.dumps(now, indent=1, sort_keys=True), encoding="utf-8")
        print(f"recorded {len(now)} outputs in {out}")
        return 0
    before = json.loads(out.read_text(encoding="utf-8"))
    changed = [key for key in before if before[key] != now.get(key)]
    print(f"{len(before)} outputs compared, {len(changed)} changed")
    for key in changed[:20]:
        print("  changed:", key)
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
