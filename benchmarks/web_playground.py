"""The web playground in headless Chromium (figures, not assertions): cold load, keystrokes, bombs.

    python benchmarks/web_playground.py [RUNS]

Each of RUNS rounds (default 5) starts a fresh Chromium with an empty profile (nothing cached) and
measures, in that one browser:

- cold load: from navigation to body[data-status=ready] with LeNet's 62,958 shown, as the page
  itself counts it (performance.now() at the first analysis shown; its origin is the navigation);
- keystroke: ResNet50 open, one character typed into `dense 1000` (then deleted), 20 edits, timed in
  the page from the edit to the new table painted (the page debounces typing by 40 ms; analysis runs
  in the Web Worker);
- bombs: each text from benchmarks/bombs.py put into the editor, timed from the change to its located
  error (or its table) painted, and whether the page's main thread kept answering meanwhile.

Wall time depends on how loaded the machine is (it is shared), so every figure also has its CPU
time: user + system seconds of all of Chromium's processes (browser, renderer, GPU, utility) over the
same interval, read from /proc. The load average is printed with each round. Medians are over the
rounds; a keystroke's or bomb's figure within a round is already a median of its edits.
Builds web/dist first when it is missing or older than its sources, as the tests do.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "web"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import conftest  # noqa: E402
from bombs import BOMBS  # noqa: E402
from browser import Browser  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
READY = "document.body && document.body.dataset.status === 'ready'"
TOTAL = "document.querySelector('#total-params').textContent"


def serve():
    fixture = conftest.base_url.__wrapped__(conftest.site.__wrapped__())
    return fixture, next(fixture)


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of process `root` and all its descendants now alive."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def await_in_page(page, condition: str, timeout: float = 60) -> None:
    """Waits inside the page (one DevTools call, no polling from here to skew the CPU figures)."""
    page.evaluate(
        "new Promise((resolve, reject) => { const t0 = performance.now(); (function poll() {"
        f" if ({condition}) resolve(true); else if (performance.now() - t0 > {timeout * 1000}) reject('timed out');"
        " else setTimeout(poll, 2); })(); })",
        timeout=timeout + 5,
    )


def cold_load(browser: Browser, url: str) -> tuple:
    page = browser.new_page()
    before = tree_cpu(browser.process.pid)
    page.goto(url)
    page.wait_for(READY, timeout=60, interval=0.05)
    cpu = tree_cpu(browser.process.pid) - before
    assert page.evaluate(TOTAL) == "62,958"
    seconds = page.evaluate("window.cnndslPlayground.firstReadyAt") / 1000
    return page, seconds, cpu, page.evaluate("window.cnndslBootSeconds")


def keystrokes(browser: Browser, page, edits: int) -> tuple[list[float], list[float]]:
    page.evaluate(
        "(() => { const m = document.querySelector('#examples');"
        " m.value = [...m.options].find(o => o.text === 'ResNet50').value;"
        " m.dispatchEvent(new Event('change')); })()"
    )
    await_in_page(page, f"{READY} && {TOTAL} === '25,636,712'")
    page.evaluate(
        "(() => { const v = window.cnndslPlayground.view; const at = v.state.doc.toString().indexOf('dense 1000');"
        " v.focus(); v.dispatch({selection: {anchor: at + 'dense 1000'.length}}); })()"
    )
    time.sleep(0.5)
    walls, cpus = [], []
    for i in range(edits):
        before = page.evaluate("window.cnndslPlayground.timings.length")
        cpu_before = tree_cpu(browser.process.pid)
        if i % 2 == 0:
            page.type_text("0")
            total = "44,077,712"  # 2048·10000 + 10000 in the last dense layer instead of 2048·1000 + 1000
        else:
            page.key("Backspace", "Backspace", 8)
            total = "25,636,712"
        await_in_page(page, f"window.cnndslPlayground.timings.length > {before} && {TOTAL} === '{total}'")
        cpus.append(tree_cpu(browser.process.pid) - cpu_before)
        walls.append(page.evaluate("window.cnndslPlayground.timings.at(-1)") / 1000)
        time.sleep(0.3)  # a person's pause between keystrokes
    return walls, cpus


def bomb(browser: Browser, page, text: str) -> tuple[float, float, float, str]:
    """Seconds from the change to its analysis painted, CPU seconds, the main thread's longest
    answer meanwhile (s), and the first diagnostic's code (or the total when it passes)."""
    before = page.evaluate("window.cnndslPlayground.timings.length")
    cpu_before = tree_cpu(browser.process.pid)
    page.evaluate(f"window.cnndslPlayground.setText({json.dumps(text)})")
    slowest = 0.0
    while True:  # the main thread must keep answering while the worker works
        asked = time.perf_counter()
        done = page.evaluate(f"window.cnndslPlayground.timings.length > {before} && {READY}")
        slowest = max(slowest, time.perf_counter() - asked)
        if done:
            break
        time.sleep(0.02)
    cpu = tree_cpu(browser.process.pid) - cpu_before
    wall = page.evaluate("window.cnndslPlayground.timings.at(-1)") / 1000
    code = page.evaluate(f"document.querySelector('.diagnostic')?.dataset.code || ('ok ' + {TOTAL})")
    return wall, cpu, slowest, code


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    server, url = serve()
    loads, walls, cpus, bombs = [], [], [], {name: [] for name in BOMBS}
    for run in range(runs):
        load = os.getloadavg()
        browser = Browser()
        try:
            page, seconds, cpu, boot = cold_load(browser, url)
            loads.append((seconds, cpu, boot))
            wall, cpu_keys = keystrokes(browser, page, 20)
            walls.append(statistics.median(wall))
            cpus.append(statistics.median(cpu_keys))
            for name, text in BOMBS.items():
                bombs[name].append(bomb(browser, page, text))
        finally:
            browser.close()
        print(
            f"round {run + 1}: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cold load {seconds:.2f} s"
            f" ({cpu:.2f} s CPU, boot in the worker {boot:.2f} s); keystroke median {walls[-1] * 1000:.0f} ms"
            f" ({cpus[-1] * 1000:.0f} ms CPU), max {max(wall) * 1000:.0f} ms",
            flush=True,
        )
    median = statistics.median
    print(
        f"\ncold load to ready (LeNet), {runs} fresh browsers: median {median(s for s, _, _ in loads):.2f} s wall,"
        f" {median(c for _, c, _ in loads):.2f} s CPU (all Chromium processes); range"
        f" {min(s for s, _, _ in loads):.2f}-{max(s for s, _, _ in loads):.2f} s;"
        f" of which Pyodide + cnndsl start in the worker: median {median(b for _, _, b in loads):.2f} s"
    )
    print(
        f"keystroke to table painted (ResNet50), {runs} x 20 edits: median {median(walls) * 1000:.0f} ms wall,"
        f" {median(cpus) * 1000:.0f} ms CPU; round medians {min(walls) * 1000:.0f}-{max(walls) * 1000:.0f} ms"
    )
    print("\nbombs (median over rounds: wall to painted, CPU, main thread's slowest answer meanwhile, result):")
    for name, results in bombs.items():
        print(
            f"  {name:24} {median(r[0] for r in results):5.2f} s  {median(r[1] for r in results):5.2f} s CPU"
            f"  {max(r[2] for r in results) * 1000:4.0f} ms  {results[0][3]}"
        )
    worst = max(BOMBS, key=lambda name: median(r[0] for r in bombs[name]))
    stall = max(r[2] for results in bombs.values() for r in results)
    end = os.getloadavg()
    print(
        f"\nfor the README ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load average at the end"
        f" {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}; medians of {runs} fresh browsers):"
        f"\n  cold load to ready with LeNet's table: {median(s for s, _, _ in loads):.2f} s"
        f" ({median(c for _, c, _ in loads):.2f} s CPU; target < 5 s)"
        f"\n  keystroke to new table, ResNet50: {median(walls) * 1000:.0f} ms ({median(cpus) * 1000:.0f} ms CPU;"
        " target < 150 ms)"
        f"\n  slowest bomb to its located error or table: {worst}, {median(r[0] for r in bombs[worst]):.2f} s"
        f" ({median(r[1] for r in bombs[worst]):.2f} s CPU; target < 2 s); the main thread answered within"
        f" {stall * 1000:.0f} ms throughout"
    )
    next(server, None)


if __name__ == "__main__":
    main()
