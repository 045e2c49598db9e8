"""The whole site in headless Chromium: every example of the menu, a family's params, the diagram,
the summary's toggles, the manual's "Open in playground" links, and that it runs with no network.

Totals are compared with the command line's on the same file (the page must say what `cnndsl
summary` says), and with Keras's own figures where one exists: EfficientNetB2's 9,177,569
(keras.applications, weights=None), LeNet's 62,958 (the seed tutorial). The diagram's boxes are
counted against the SVG that Graphviz's own `dot` draws from `cnndsl diagram`.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from browser import Browser
from conftest import DIST, ROOT, open_page
from docs_pages import cnn_snippets
from test_playground_page import DIAGNOSTICS, READY, TOTAL, set_text

LENET = (ROOT / "examples" / "lenet.cnn").read_text(encoding="utf-8")
EXAMPLES = "[...document.querySelectorAll('#examples option')].filter(o => o.value !== '').map(o => o.text)"


def choose_example(page, title: str) -> None:
    page.evaluate(
        "(() => { const m = document.querySelector('#examples');"
        f" m.value = [...m.options].find(o => o.text === {json.dumps(title)}).value;"
        " m.dispatchEvent(new Event('change')); })()"
    )
    page.wait_for(READY)


def cli(*args: str, text: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cnndsl", *args], input=text, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def cli_total(path: str, *args: str, text: str | None = None) -> str:
    return f"{json.loads(cli('summary', '--json', *args, path, text=text))['total_params']:,}"


def menu_files() -> dict[str, str]:
    """title -> file in examples/, as web/build.mjs lists them."""
    build = (ROOT / "web" / "build.mjs").read_text(encoding="utf-8")
    listed = build.split("const EXAMPLES = [", 1)[1].split("];", 1)[0]
    return dict(re.findall(r'\["([^"]+)", "([^"]+\.cnn)"\]', listed))


def test_every_example_of_the_menu_opens_with_the_command_lines_total(playground):
    files = menu_files()
    assert playground.evaluate(EXAMPLES) == list(files)
    seeds = {"lenet.cnn", "coursera_cnn.cnn", "mnist_cnn.cnn", "resnet50.cnn", "unet.cnn"}
    assert seeds <= set(files.values())  # the issue's list: the seeds' networks, ResNet50, a U-Net
    assert any(f.startswith("families/") for f in files.values())
    for title, file in files.items():
        choose_example(playground, title)
        errors = [d for d in playground.evaluate(DIAGNOSTICS) if d["code"].startswith("E")]
        assert errors == [], (title, errors)
        assert playground.evaluate(TOTAL) == cli_total(f"examples/{file}"), title
        assert playground.evaluate("document.querySelector('#model-name').textContent") == Path(file).stem


def test_a_familys_params_are_inputs_and_give_keras_figures(playground, browser):
    choose_example(playground, next(t for t, f in menu_files().items() if f == "families/efficientnet.cnn"))
    assert playground.evaluate(TOTAL) == "5,330,571"  # keras.applications.EfficientNetB0(weights=None)
    # `param`, `let` and `if` are coloured as `def` is (statement words of the grammar)
    classes = playground.evaluate(
        "(() => { const spans = [...document.querySelectorAll('.cm-content span')];"
        " const of = (w) => spans.find((s) => s.textContent === w)?.className;"
        " return ['def', 'param', 'let', 'if'].map(of); })()"
    )
    assert classes[0] and classes == [classes[0]] * 4, classes
    names = playground.evaluate("[...document.querySelectorAll('#params input')].map(i => [i.dataset.param, i.placeholder])")
    assert names == [["width", "1.0"], ["depth", "1.0"], ["size", "224"], ["dropout", "0.2"]]
    # B2's coefficients, typed into the inputs as a person would
    for name, value in {"width": "1.1", "depth": "1.2", "size": "260", "dropout": "0.3"}.items():
        playground.evaluate(f"document.querySelector('#params input[data-param={name}]').focus()")
        playground.type_text(value)
    playground.wait_for(READY + f" && {TOTAL} === '9,177,569'", timeout=30)
    assert playground.evaluate(TOTAL) == cli_total(
        "examples/families/efficientnet.cnn", "--set", "width=1.1", "--set", "depth=1.2", "--set", "size=260",
        "--set", "dropout=0.3",
    )
    # the code tab is B2's too: its input is 260x260
    playground.evaluate("document.querySelector('[data-tab=keras]').click()")
    code = playground.wait_for("document.querySelector('#keras-code').textContent", timeout=20)
    assert "(260, 260, 3)" in code, code[:400]
    playground.evaluate("document.querySelector('[data-tab=summary]').click()")
    # the share link carries the values (`&set=NAME=VALUE`, as --set), and opens B2 again
    playground.evaluate("document.querySelector('#share').click()")
    link = playground.wait_for("document.querySelector('#share-url').value")
    assert link.endswith("&set=width%3D1.1&set=depth%3D1.2&set=size%3D260&set=dropout%3D0.3"), link
    again = open_page(browser, link)
    try:
        assert again.evaluate(TOTAL) == "9,177,569"
        assert again.evaluate("document.querySelector('#params input[data-param=size]').value") == "260"
    finally:
        again.send("Page.close")
    # a value that is no number: the input says so, and the default is used
    playground.evaluate("(() => { const i = document.querySelector('#params input[data-param=width]'); i.value = 'wide';"
                        " i.dispatchEvent(new Event('input')); })()")
    playground.wait_for(READY + " && document.querySelector('#params input[data-param=width]').classList.contains('bad')")
    assert "not a number" in playground.evaluate("document.querySelector('#params input[data-param=width]').title")


def test_the_summary_toggles_and_the_figures(playground):
    playground.evaluate(f"window.cnndslPlayground.setText({json.dumps(LENET)}, 'lenet.cnn')")
    playground.wait_for(READY)
    assert playground.evaluate("document.querySelector('#params').hidden")  # LeNet has no `param`
    assert playground.evaluate("getComputedStyle(document.querySelector('#params')).display") == "none"
    figures = playground.evaluate("document.querySelector('#figures').textContent")
    assert "receptive field of max_pooling2d_1: 16x16, effective stride 4x4" in figures  # worked by hand
    playground.evaluate("(() => { const s = document.querySelector('#opt-style'); s.value = 'torchinfo';"
                        " s.dispatchEvent(new Event('change')); })()")
    playground.wait_for(READY + " && !!document.querySelector('#summary pre')")
    torchinfo = playground.evaluate("document.querySelector('#summary pre').textContent")
    assert "Layer (type:depth-idx)" in torchinfo and "Total params: 62,958" in torchinfo  # torchinfo's own words
    playground.evaluate("(() => { const s = document.querySelector('#opt-style'); s.value = 'keras';"
                        " s.dispatchEvent(new Event('change')); })()")
    playground.evaluate("(() => { const c = document.querySelector('#opt-columns input[value=rf]'); c.checked = true;"
                        " c.dispatchEvent(new Event('change', {bubbles: true})); })()")
    playground.wait_for(READY + " && !!document.querySelector('#summary table')")
    header = playground.evaluate("[...document.querySelectorAll('#summary thead th')].map(t => t.textContent)")
    assert header == ["Layer (type)", "Receptive Field"]
    cells = playground.evaluate("[...document.querySelectorAll('#summary tbody tr')].map(r => r.cells[1].textContent)")
    assert cells[:2] == ["5x5", "6x6"]  # conv 5x5, then a 2x2 pool: 5 + 1 (worked by hand)
    shown = playground.evaluate("document.querySelector('#summary').innerHTML")
    shown = re.sub(r' data-layer="[^"]*" title="[^"]*"', "", shown)  # the page's row links to explain
    assert shown == cli("summary", "--format", "html", "--columns", "rf", "examples/lenet.cnn").strip()
    playground.evaluate("(() => { const c = document.querySelector('#opt-columns input[value=rf]'); c.checked = false;"
                        " c.dispatchEvent(new Event('change', {bubbles: true})); })()")
    playground.wait_for(READY)


def test_the_diagram_is_graphvizs_with_its_depth(playground):
    resnet = (ROOT / "examples" / "resnet50.cnn").read_text(encoding="utf-8")
    set_text(playground, resnet)
    playground.evaluate("document.querySelector('[data-tab=diagram]').click()")
    for depth in ("", "1"):
        playground.evaluate(f"(() => {{ const s = document.querySelector('#diagram-depth'); s.value = '{depth}';"
                            " s.dispatchEvent(new Event('change')); })()")
        boxes = playground.wait_for(
            "document.querySelector('#diagram svg') && document.querySelectorAll('#diagram svg g.node').length", timeout=60
        )
        svg = cli("diagram", "--format", "svg", *(["--depth", depth] if depth else []), "examples/resnet50.cnn")
        assert boxes == svg.count('class="node"'), depth
        playground.evaluate("document.querySelector('#diagram').replaceChildren()")
    playground.evaluate("document.querySelector('[data-tab=summary]').click()")


def test_a_table_of_ten_thousand_layers_shows_its_first_rows_and_counts_the_rest(playground):
    from cnndsl.core.limits import PLAYGROUND_ROWS

    set_text(playground, "input 8x8x3\n(conv 8 3 same) * 9990\n")
    rows = playground.evaluate("document.querySelectorAll('#summary tbody tr').length")
    assert rows == PLAYGROUND_ROWS + 1
    assert f"{9990 - PLAYGROUND_ROWS:,} more rows" in playground.evaluate("document.querySelector('#summary tr.more').textContent")
    assert playground.evaluate(TOTAL) == f"{(3 * 3 * 3 + 1) * 8 + 9989 * (3 * 3 * 8 + 1) * 8:,}"


def manual_links() -> list[tuple[str, str]]:
    """(page, playground link) of every "Open in playground" link of the built manual."""
    found = []
    for page in sorted((DIST / "manual").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        found += [(page.name, href) for href in re.findall(r'<a class="open-in-playground" href="([^"]+)"', html)]
    return found


def test_every_cnn_snippet_of_the_manual_has_a_playground_link_that_carries_it(site):
    snippets = [text for _, text in cnn_snippets()]
    links = manual_links()
    assert len(links) >= len(snippets) > 10
    carried = set()
    for _, href in links:
        assert href.startswith("../#code=")
        data = href.split("#code=", 1)[1]
        carried.add(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8"))
    for snippet in snippets:
        assert any(snippet.strip() in text for text in carried), snippet[:80]


def test_a_manual_pages_playground_link_opens_its_model(browser, base_url):
    page = browser.new_page()
    try:
        page.goto(base_url + "manual/language.html")
        page.wait_for("document.readyState === 'complete' && !!document.querySelector('a.open-in-playground')")
        href = page.evaluate("document.querySelector('a.open-in-playground').getAttribute('href')")
        data = href.split("#code=", 1)[1]
        text = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8")
        page.evaluate("document.querySelector('a.open-in-playground').click()")
        page.wait_for("location.pathname.endsWith('/') && document.body && document.body.dataset.status === 'ready'",
                      timeout=60)
        assert page.evaluate("window.cnndslPlayground.view.state.doc.toString()") == text
        assert page.evaluate(TOTAL) == cli_total("-", text=text)
    finally:
        page.send("Page.close")


def test_the_site_works_with_no_network_and_asks_only_its_own_server(base_url):
    """Every outside host unreachable; Chromium's own log of every request made, by the page and its worker."""
    log = Path(tempfile.mkdtemp(prefix="cnndsl-netlog-")) / "net.json"
    offline = Browser(extra_flags=("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", f"--log-net-log={log}"))
    try:
        page = open_page(offline, base_url)
        assert page.evaluate(TOTAL) == "62,958"
        page.evaluate("document.querySelector('[data-tab=diagram]').click()")  # Graphviz's WebAssembly
        page.wait_for("!!document.querySelector('#diagram svg')", timeout=60)
        page.evaluate("document.querySelector('[data-tab=pytorch]').click()")
        page.wait_for("document.querySelector('#pytorch-code').textContent.includes('nn.Conv2d')", timeout=30)
        assert page.console_errors() == []
    finally:
        offline.close()
    events = json.loads(log.read_text(encoding="utf-8"))["events"]
    site = base_url.rstrip("/")
    # what the page and its worker asked for (Chromium's own update and autofill requests have no initiator)
    asked = {
        e["params"]["url"]
        for e in events
        if isinstance(e.get("params"), dict) and e["params"].get("initiator") == site and "url" in e["params"]
    }
    assert any(u.endswith("pyodide.asm.wasm") for u in asked)  # the log does see the worker's requests
    assert any(u.endswith("files.json") for u in asked)
    assert {u for u in asked if not u.startswith(base_url)} == set()


@pytest.fixture(autouse=True)
def _no_page_errors(playground):
    yield
    assert playground.console_errors() == []
