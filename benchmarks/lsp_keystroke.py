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

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
sys.path.insert(0, str(ROOT))

from lsp_client import Client  # noqa: E402

from cnndsl import analyze  # noqa: E402
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


def measure(text: str, edits: int, root: str | None = None) -> None:
    model = analyze(text)
    print(f"model: {len(model.nodes)} layers, {text.count(chr(10))} lines")
    lines = text.split("\n")
    head = max(i for i, line in enumerate(lines) if "dense 1000" in line)
    width = lines[head].index("1000") + 3  # the last digit of 1000

    uncached, cached = [], []
    cache = ParseCache()
    Document(text, cache=cache)
    for i in range(10):
        edited = text.replace("dense 1000", "dense 1001" if i % 2 == 0 else "dense 1000")
        start = time.perf_counter()
        Document(edited)
        uncached.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        Document(edited, cache=cache)
        cached.append((time.perf_counter() - start) * 1000)
    print(f"in process, whole file parsed:          {best_and_median(uncached)}")
    print(f"in process, the editor's cache:         {best_and_median(cached)}")

    # the other checkout's package first on the path, as `python -m cnndsl lsp` from it would have it
    start = f"import sys; sys.path.insert(0, {root!r}); sys.argv[0] = 'cnndsl'; from cnndsl.cli import main; sys.exit(main())"
    client = Client(sys.executable, "-c", start, "lsp") if root else Client()
    client.initialize()
    uri = "file:///bench/model.cnn"
    client.open(uri, text)
    client.notification("textDocument/publishDiagnostics")
    state = {"version": 1}
    cpu: dict[str, list[float]] = {}  # the server's CPU time per edit, by kind of edit
    pid = client.process.pid

    def timed(change, kind: str) -> float:
        state["version"] += 1
        start, start_cpu = time.perf_counter(), server_cpu_ms(pid)
        client.change(uri, state["version"], [change])
        while client.notification("textDocument/publishDiagnostics")["version"] != state["version"]:
            pass
        cpu.setdefault(kind, []).append(server_cpu_ms(pid) - start_cpu)
        return (time.perf_counter() - start) * 1000

    digit = [
        timed({"range": _range(head, width, head, width + 1), "text": "1" if i % 2 == 0 else "0"}, "digit")
        for i in range(edits)
    ]
    end = len(lines[head])
    space = [
        timed({"range": _range(head, end, head, end + (i % 2)), "text": " " if i % 2 == 0 else ""}, "space")
        for i in range(edits)
    ]
    def newlines(line: int) -> list[float]:
        return [
            timed(
                {"range": _range(line, 0, line, 0), "text": "\n"}
                if i % 2 == 0
                else {"range": _range(line, 0, line + 1, 0), "text": ""},
                f"newline {line}",
            )
            for i in range(10)
        ]

    # halfway between the input and the last line (the blocks' defs come before the input), before a
    # top-level statement there: a line a new one could start on
    start = next(i for i, line in enumerate(lines) if line.startswith("input"))
    middle = next(
        i for i in range((start + len(lines)) // 2, len(lines)) if lines[i] and not lines[i][0].isspace()
    )
    halfway = newlines(middle)
    newline = newlines(1)
    bursts = []
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
    print(f"server, a digit of the head's width:    {best_and_median(digit)} ({len(digit)} edits)")
    print(f"server, a space at the end of a line:   {best_and_median(space)} ({len(space)} edits)")
    print(f"server, a new line halfway down:        {best_and_median(halfway)} ({len(halfway)} edits)")
    print(f"server, a new line above the model:     {best_and_median(newline)} ({len(newline)} edits)")
    print(f"server, 13 edits 30 ms apart, last one: {best_and_median(bursts)} ({len(bursts)} bursts)")
    for kind, label in (("digit", "a digit"), ("space", "a space"), (f"newline {middle}", "a new line halfway"), ("newline 1", "a new line above")):
        print(f"server CPU per edit, {label + ':':22s}{best_and_median(cpu[kind])}")


def _range(a, b, c, d) -> dict:
    return {"start": {"line": a, "character": b}, "end": {"line": c, "character": d}}


if __name__ == "__main__":
    main()
