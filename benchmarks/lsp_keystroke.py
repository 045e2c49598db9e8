"""Re-analysis after a keystroke in `cnndsl lsp`, on a 700-layer model (figures, not assertions).

    python benchmarks/lsp_keystroke.py [EDITS]

A real client (tests/helpers/lsp_client.py) opens the model, then types: for each
edit it sends one didChange and times until the server publishes that
version's diagnostics. Also prints the in-process cost of one analysis with
and without the statement cache.
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

from cnndsl import analyze
from cnndsl.tools.editor import Document, ParseCache


def model_text(layers: int = 700, flat: bool = False) -> str:
    """Residual units of conv-bn-relu-conv-bn-add-relu (7 layers each) and a head; `flat`: written out, no blocks."""
    if flat:
        unit = "add(identity; conv 16 3x3 same | bn | relu | conv 16 3x3 same | bn) | relu"
        return "\n".join(["input 64x64x16", *[unit] * ((layers - 3) // 7), "gap", "dense 10 softmax"]) + "\n"
    lines = [
        "input 64x64x16",
        "def unit(c):",
        "    add(identity; conv c 3x3 same | bn | relu | conv c 3x3 same | bn) | relu",
    ]
    count = 1
    while count + 7 <= layers - 2:
        lines.append("unit(16)")
        count += 7
    lines += ["gap", "dense 10 softmax"]
    return "\n".join(lines) + "\n"


def best_and_median(samples):
    return f"median {statistics.median(samples):.1f} ms, best {min(samples):.1f} ms"


def main() -> None:
    edits = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    for flat in (False, True):
        print("== blocks called 99 times" if not flat else "== the same model written out, no blocks")
        measure(model_text(flat=flat), edits)


def measure(text: str, edits: int) -> None:
    model = analyze(text)
    print(f"model: {len(model.nodes)} layers, {text.count(chr(10))} lines")

    uncached, cached = [], []
    cache = ParseCache()
    Document(text, cache=cache)
    for i in range(10):
        edited = text.replace("gap", "gap" + " " * (i % 2), 1)
        start = time.perf_counter()
        Document(edited)
        uncached.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        Document(edited, cache=cache)
        cached.append((time.perf_counter() - start) * 1000)
    print(f"in process, whole file parsed: {best_and_median(uncached)}")
    print(f"in process, statement cache:   {best_and_median(cached)}")

    client = Client()
    client.initialize()
    uri = "file:///bench/model.cnn"
    client.open(uri, text)
    client.notification("textDocument/publishDiagnostics")
    last = text.count("\n") - 1  # the `dense 10 softmax` line
    typed, newline = [], []
    for version in range(2, edits + 2):
        # type one character at the end of the last line, or delete it again
        if version % 2 == 0:
            change = {"range": _range(last, 16, last, 16), "text": " "}
        else:
            change = {"range": _range(last, 16, last, 17), "text": ""}
        start = time.perf_counter()
        client.change(uri, version, [change])
        while client.notification("textDocument/publishDiagnostics")["version"] != version:
            pass
        typed.append((time.perf_counter() - start) * 1000)
    version = edits + 2
    for i in range(10):  # a new line near the top moves every statement below it
        change = (
            {"range": _range(1, 0, 1, 0), "text": "\n"} if i % 2 == 0 else {"range": _range(1, 0, 2, 0), "text": ""}
        )
        start = time.perf_counter()
        client.change(uri, version, [change])
        while client.notification("textDocument/publishDiagnostics")["version"] != version:
            pass
        newline.append((time.perf_counter() - start) * 1000)
        version += 1
    client.close()
    print(f"server, keystroke to diagnostics:       {best_and_median(typed)} ({len(typed)} edits)")
    print(f"server, new line above the whole model: {best_and_median(newline)} ({len(newline)} edits)")


def _range(a, b, c, d) -> dict:
    return {"start": {"line": a, "character": b}, "end": {"line": c, "character": d}}


if __name__ == "__main__":
    main()
