"""The web playground in headless Chromium (figures, not assertions): cold load and keystrokes.

    python benchmarks/web_playground.py [RUNS]

Cold load: a fresh browser profile each run (nothing cached), from navigation to
body[data-status=ready] with LeNet's table shown. Keystroke: ResNet50 open, one character
typed into `dense 1000` (then deleted), timed in the page from the edit to the new table
painted (the page debounces typing by 40 ms; analysis runs in the Web Worker).
Builds web/dist first when it is missing or older than its sources, as the tests do.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "web"))

import conftest  # noqa: E402
from browser import Browser  # noqa: E402


def serve():
    fixture = conftest.base_url.__wrapped__(conftest.site.__wrapped__())
    return fixture, next(fixture)


def cold_load(url: str) -> tuple[float, float]:
    browser = Browser()
    try:
        page = browser.new_page()
        started = time.perf_counter()
        page.goto(url)
        page.wait_for("document.body && document.body.dataset.status === 'ready'", timeout=60, interval=0.005)
        seconds = time.perf_counter() - started
        assert page.evaluate("document.querySelector('#total-params').textContent") == "62,958"
        return seconds, page.evaluate("window.cnndslBootSeconds")
    finally:
        browser.close()


def keystrokes(url: str, edits: int) -> list[float]:
    browser = Browser()
    try:
        page = browser.new_page()
        page.goto(url)
        page.wait_for("document.body && document.body.dataset.status === 'ready'", timeout=60)
        page.evaluate(
            "(() => { const m = document.querySelector('#examples');"
            " m.value = [...m.options].find(o => o.text === 'ResNet50').value;"
            " m.dispatchEvent(new Event('change')); })()"
        )
        page.wait_for("document.querySelector('#total-params').textContent === '25,636,712'", timeout=30)
        page.evaluate(
            "(() => { const v = window.cnndslPlayground.view; const at = v.state.doc.toString().indexOf('dense 1000');"
            " v.focus(); v.dispatch({selection: {anchor: at + 'dense 1000'.length}}); })()"
        )
        time.sleep(0.5)
        times = []
        for i in range(edits):
            before = page.evaluate("window.cnndslPlayground.timings.length")
            if i % 2 == 0:
                page.type_text("0")
                total = "44,077,712"  # 2048·10000 + 10000 in the last dense layer instead of 2048·1000 + 1000
            else:
                page.key("Backspace", "Backspace", 8)
                total = "25,636,712"
            page.wait_for(
                f"window.cnndslPlayground.timings.length > {before}"
                f" && document.querySelector('#total-params').textContent === '{total}'",
                timeout=30,
                interval=0.005,
            )
            times.append(page.evaluate("window.cnndslPlayground.timings.at(-1)"))
            time.sleep(0.3)  # a person's pause between keystrokes
        return times
    finally:
        browser.close()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    server, url = serve()
    loads = [cold_load(url) for _ in range(runs)]
    print(
        f"cold load to ready (LeNet), {runs} runs: median {statistics.median(s for s, _ in loads):.2f} s, "
        f"max {max(s for s, _ in loads):.2f} s; of which Pyodide + cnndsl start in the worker: "
        f"median {statistics.median(b for _, b in loads):.2f} s"
    )
    times = keystrokes(url, 20)
    print(
        f"keystroke to table painted (ResNet50), 20 edits: median {statistics.median(times):.0f} ms, "
        f"max {max(times):.0f} ms"
    )
    next(server, None)


if __name__ == "__main__":
    main()
