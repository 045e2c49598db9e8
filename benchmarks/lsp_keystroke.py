"""Re-analysis after a keystroke in `cnndsl lsp`, on the zoo's ResNet50 and NASNetMobile (figures, not assertions).

    python benchmarks/lsp_keystroke.py [--root DIR] [EDITS] [example ...]

`--root DIR` runs the server of another checkout (the "before" of a comparison;
run both, taking turns, on a busy machine). The server's CPU time per edit is
read from Linux's /proc/PID/task/*/schedstat, so it counts only the server.

A real client (tests/helpers/lsp_client.py) opens the model, then types: for each
edit it sends one didChange and times until the server publishes that
version's diagnostics. Four kinds of edit: a digit of the head's width
changed (`dense 1000` -> `dense 1001` and back: the model changes), a space at
the end of the last line (the model does not change), a new line halfway down
the model (the statements below it move) and a new line at the top (every statement
moves). Then a burst: 13 edits 30 ms apart, timed from the last edit to its
diagnostics. Also prints the in-process cost of one analysis from nothing and
with the editor's cache (statements parsed, and the expansion, inference and
warnings of the statements above the first changed one, kept from the last).
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
sys.path.insert(0, str(ROOT))

from lsp_client import Client  # noqa: E402

from cnndsl import analyze  # noqa: E402
from cnndsl.core.errors import CnnError  # noqa: E402
from cnndsl.tools.editor import Document, ParseCache  # noqa: E402

EXAMPLES = ("resnet50", "nasnet_mobile")


def best_and_median(samples):
    return f"median {statistics.median(samples):5.1f} ms, best {min(samples):5.1f} ms"


def server_cpu_ms(pid: int) -> float:
    """CPU time the server's threads have run, in ms (Linux's schedstat, in ns; 0 elsewhere)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e6


def main() -> None:
    args = sys.argv[1:]
    root = None
    if args[:1] == ["--root"]:
        root = str(Path(args[1]).resolve())
        args = args[2:]
    edits = int(args.pop(0)) if args and args[0].isdigit() else 40
    for name in args or EXAMPLES:
        print(f"== examples/{name}.cnn")
        measure((ROOT / "examples" / f"{name}.cnn").read_text(), edits, root)


def _digit_edit(lines: list[str], rows, text: str) -> tuple[int, int, str] | None:
    """(line, column, digit): the first digit on one of `rows` whose change leaves the file without an error."""
    for row in rows:
        for match in re.finditer(r"(?<![\w.])\d", lines[row].split("#")[0]):  # a number's first digit, not a label's
            column, char = match.start(), match.group()
            digit = str((int(char) + 1) % 10)
            edited = lines[:row] + [lines[row][:column] + digit + lines[row][column + 1 :]] + lines[row + 1 :]
            try:
                analyze("\n".join(edited))
            except CnnError:
                continue
            return row, column, digit
    return None


def real_edits(text: str) -> dict[str, tuple[int, int, str]]:
    """Where each kind of real edit is made: (line, column, the digit typed over the one there)."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("input"))
    top = [i for i in range(start, len(lines)) if lines[i] and not lines[i][0].isspace()]
    calls = [i for i in top if re.search(r"^(\w+:\s*)?(@\w+\s*\|\s*)?(\w+:\s*)?[A-Za-z_]\w*\([^)]*\d", lines[i])]
    inside = [i for i in range(start) if lines[i].startswith((" ", "\t")) and not lines[i].lstrip().startswith("#")]
    head = max(i for i, line in enumerate(lines) if "dense 1000" in line)
    found = {
        "head": (head, lines[head].index("1000") + 3, "1"),
        "top": _digit_edit(lines, [i for i in top if i > start], text),
        "call": _digit_edit(lines, calls, text),
        "def": _digit_edit(lines, inside, text),
    }
    return {kind: place for kind, place in found.items() if place is not None}


REAL = {
    "head": "a digit of the head's width",
    "top": "a digit near the top",
    "call": "a block call's argument",
    "def": "a digit inside a def",
}


def measure(text: str, edits: int, root: str | None = None) -> None:
    model = analyze(text)
    print(f"model: {len(model.nodes)} layers, {text.count(chr(10))} lines")
    lines = text.split("\n")
    places = real_edits(text)
    for kind, (row, column, digit) in places.items():
        print(f"  {REAL[kind]}: line {row + 1}, `{lines[row].strip()[:60]}`, column {column + 1} -> {digit}")

    def typed(kind: str, i: int) -> str:
        row, column, digit = places[kind]
        if i % 2:
            return text
        edited = list(lines)
        edited[row] = lines[row][:column] + digit + lines[row][column + 1 :]
        return "\n".join(edited)

    uncached = []
    for i in range(10):
        start = time.perf_counter()
        Document(typed("head", i))
        uncached.append((time.perf_counter() - start) * 1000)
    print(f"in process, from nothing:                        {best_and_median(uncached)}")
    for kind in places:
        cache = ParseCache()
        Document(text, cache=cache)
        cached, cpu_cached = [], []
        for i in range(20):
            edited = typed(kind, i)
            start, start_cpu = time.perf_counter(), time.process_time()
            Document(edited, cache=cache).diagnostics()
            cached.append((time.perf_counter() - start) * 1000)
            cpu_cached.append((time.process_time() - start_cpu) * 1000)
        print(f"in process, cached, {REAL[kind] + ':':28s}{best_and_median(cached)}; CPU {best_and_median(cpu_cached)}")

    # the other checkout's package first on the path, as `python -m cnndsl lsp` from it would have it
    start = f"import sys; sys.path.insert(0, {root!r}); sys.argv[0] = 'cnndsl'; from cnndsl.cli import main; sys.exit(main())"
    client = Client(sys.executable, "-c", start, "lsp") if root else Client()
    client.initialize()
    uri = "file:///bench/model.cnn"
    client.open(uri, text)
    client.notification("textDocument/publishDiagnostics")
    state = {"version": 1}
    cpu: dict[str, list[float]] = {}  # the server's CPU time per edit, by kind of edit
    wall: dict[str, list[float]] = {}
    pid = client.process.pid

    def timed(change, kind: str) -> None:
        state["version"] += 1
        start, start_cpu = time.perf_counter(), server_cpu_ms(pid)
        client.change(uri, state["version"], [change])
        while client.notification("textDocument/publishDiagnostics")["version"] != state["version"]:
            pass
        cpu.setdefault(kind, []).append(server_cpu_ms(pid) - start_cpu)
        wall.setdefault(kind, []).append((time.perf_counter() - start) * 1000)

    for kind, (row, column, digit) in places.items():
        for i in range(edits):
            timed({"range": _range(row, column, row, column + 1), "text": lines[row][column] if i % 2 else digit}, kind)
    head = places["head"][0]
    end = len(lines[head])
    for i in range(edits):
        timed({"range": _range(head, end, head, end + (i % 2)), "text": " " if i % 2 == 0 else ""}, "space")

    def newlines(line: int, kind: str) -> None:
        for i in range(10):
            timed(
                {"range": _range(line, 0, line, 0), "text": "\n"}
                if i % 2 == 0
                else {"range": _range(line, 0, line + 1, 0), "text": ""},
                kind,
            )

    # halfway between the input and the last line (the blocks' defs come before the input), before a
    # top-level statement there: a line a new one could start on
    start = next(i for i, line in enumerate(lines) if line.startswith("input"))
    middle = next(
        i for i in range((start + len(lines)) // 2, len(lines)) if lines[i] and not lines[i][0].isspace()
    )
    newlines(middle, "halfway")
    newlines(1, "above")
    bursts = []
    head, width, _ = places["head"]
    for _ in range(5):
        for i in range(13):
            if i:
                time.sleep(0.030)
            state["version"] += 1
            # a different digit each time, so no text is the one analysed before
            change = {"range": _range(head, width, head, width + 1), "text": str(1 + (state["version"] % 9))}
            client.change(uri, state["version"], [change])
            last = time.perf_counter()
        while client.notification("textDocument/publishDiagnostics")["version"] != state["version"]:
            pass
        bursts.append((time.perf_counter() - last) * 1000)
    client.close()
    labels = {
        **REAL,
        "space": "a space at the end of a line",
        "halfway": "a new line halfway down",
        "above": "a new line above the model",
    }
    for kind in wall:
        print(f"server, {labels[kind] + ':':32s}{best_and_median(wall[kind])} ({len(wall[kind])} edits)")
    print(f"server, {'13 edits 30 ms apart, last one:':32s}{best_and_median(bursts)} ({len(bursts)} bursts)")
    for kind in cpu:
        print(f"server CPU per edit, {labels[kind] + ':':32s}{best_and_median(cpu[kind])}")


def _range(a, b, c, d) -> dict:
    return {"start": {"line": a, "character": b}, "end": {"line": c, "character": d}}


if __name__ == "__main__":
    main()
