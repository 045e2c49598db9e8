"""The HTML summary (`--format html`, `_repr_html_`, `%%cnn`) rendered by headless Chromium: as a file of
its own, and inside the table rules of a JupyterLab and a VS Code notebook, light and dark.

What is measured is what a reader sees: the boxes of the cells and of their text, the colours
Chromium computes. Figures checked against Keras's LeNet summary (the tutorial's, seed 003) and
Keras's ResNet50 (25,636,712 parameters, 177 layers with its input).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import CHROMIUM, Browser
from test_summary_formats import KERAS_LENET

from cnndsl import analyze, analyze_file
from cnndsl.views.columns import View
from cnndsl.views.summary import DARK_COLOURS, LIGHT_COLOURS, format_html

ROOT = Path(__file__).resolve().parents[2]

# The table rules JupyterLab 4 gives every HTML output (packages/rendermime/style/base.css): a fixed
# table layout centred in the cell, padding .5em, cells right-aligned and allowed to wrap, no borders,
# zebra rows. A table that relied on the defaults would wrap its shapes and centre itself under these.
JUPYTER_RULES = """
.jp-RenderedHTMLCommon { font-family: system-ui, sans-serif; font-size: 14px; padding-right: 20px; }
.jp-RenderedHTMLCommon table { border-collapse: collapse; border-spacing: 0; border: none; font-size: 13px;
  table-layout: fixed; margin-left: auto; margin-right: auto; margin-bottom: 1em; color: var(--fg); }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr { vertical-align: middle;
  padding: .5em; line-height: normal; white-space: normal; max-width: none; border: none; }
:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td, :not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon th,
:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon tr { text-align: right; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: var(--bg); }
.jp-RenderedHTMLCommon tbody tr:nth-child(even) { background: var(--zebra); }
"""
# A stand-in for VS Code's notebook output styles: its own cell borders and padding, left-aligned headers.
VSCODE_RULES = """
table { border-collapse: collapse; border-spacing: 0; }
table th, table td { border: 1px solid; padding: 5px 10px; white-space: normal; }
table > thead > tr > th { text-align: left; }
"""
# name: (body attributes, background, text colour, zebra, rules, width of the output area in px)
HOSTS = {
    "file": ("", "#ffffff", "#000000", "", "", 1400),
    "jupyter-light": ('data-jp-theme-light="true"', "#ffffff", "rgba(0,0,0,.87)", "#f5f5f5", JUPYTER_RULES, 800),
    "jupyter-dark": ('data-jp-theme-light="false"', "#111111", "rgba(255,255,255,.87)", "#212121", JUPYTER_RULES, 800),
    "vscode-light": ('class="vscode-light"', "#ffffff", "#3b3b3b", "", VSCODE_RULES, 800),
    "vscode-dark": ('class="vscode-dark"', "#1f1f1f", "#cccccc", "", VSCODE_RULES, 800),
}


def host_page(fragment: str, host: str) -> str:
    if host == "file":
        return fragment  # the output of `--format html` as it is saved, opened on its own
    body, background, text, zebra, rules, width = HOSTS[host]
    style = f"body {{ --bg: {background}; --fg: {text}; --zebra: {zebra or background}; background: {background};"
    style += f" color: {text}; margin: 8px; }}\n.output {{ width: {width}px; }}\n{rules}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{style}</style></head><body {body}>"
        f"<div class='output jp-RenderedHTMLCommon'>{fragment}</div></body></html>"
    )


# Runs in the page: every fact the tests check, measured from the layout Chromium made.
MEASURE = r"""
(() => {
  const box = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height});
  const textBoxes = (cell) => {
    const range = document.createRange();
    const out = [];
    for (const node of (function* walk(n) { for (const c of n.childNodes) { if (c.nodeType === 3) yield c; else yield* walk(c); } })(cell)) {
      if (!node.textContent.trim()) continue;
      range.selectNodeContents(node);
      out.push([...range.getClientRects()].map(box));
    }
    return out;
  };
  const table = document.querySelector('.cnndsl-summary table');
  const rows = [...table.querySelectorAll('thead tr, tbody tr')].map((tr) => [...tr.cells].map((cell) => {
    const style = getComputedStyle(cell);
    const range = document.createRange();
    range.selectNodeContents(cell);
    const first = document.createRange();  // the first visible character: where an indented title starts
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let ink = null;
    for (let node = walker.nextNode(); node && !ink; node = walker.nextNode()) {
      const at = node.textContent.search(/\S/);
      if (at >= 0) { first.setStart(node, at); first.setEnd(node, at + 1); ink = box(first.getBoundingClientRect()); }
    }
    return {
      ink,
      text: cell.innerText, cell: box(cell.getBoundingClientRect()), content: box(range.getBoundingClientRect()),
      pieces: textBoxes(cell), lines: cell.querySelectorAll('br').length + 1,
      paddingLeft: parseFloat(style.paddingLeft), paddingRight: parseFloat(style.paddingRight),
      border: parseFloat(style.borderTopWidth), align: style.textAlign,
    };
  }));
  const foot = [...table.querySelectorAll('tfoot td')].map((td) => ({text: td.innerText, pieces: textBoxes(td)}));
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const colours = {};
  for (const kind of ['type', 'number', 'none']) {
    const el = table.querySelector('.cnndsl-' + kind);
    if (el) colours[kind] = [getComputedStyle(el).color, background(el)];
  }
  const caption = table.querySelector('caption');
  const wrapper = document.querySelector('.cnndsl-summary');
  return JSON.stringify({
    rows, foot, colours, caption: caption.innerText, captionBox: box(caption.getBoundingClientRect()),
    table: box(table.getBoundingClientRect()), wrapper: box(wrapper.getBoundingClientRect()),
    scrollWidth: wrapper.scrollWidth, clientWidth: wrapper.clientWidth,
    text: [getComputedStyle(table).color, background(table)],
    scripts: document.querySelectorAll('script').length, images: document.querySelectorAll('img').length,
  });
})()
"""


@pytest.fixture(scope="module")
def chromium():
    assert Path(CHROMIUM).exists(), "the browser tests drive Debian's chromium: apt-get install chromium"
    browser = Browser()
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def render(chromium, tmp_path_factory):
    """Renders a fragment in a host and returns what MEASURE measured; screenshots go beside the pages."""
    folder = tmp_path_factory.mktemp("html-summary")
    page = chromium.new_page(width=1400, height=900)
    count = iter(range(1000))

    def run(fragment: str, host: str = "file", shot: str | None = None) -> dict:
        path = folder / f"{next(count)}-{host}.html"
        path.write_text(host_page(fragment, host), encoding="utf-8")
        page.goto(path.as_uri())
        page.wait_for(f"document.readyState === 'complete' && location.href === {json.dumps(path.as_uri())}")
        facts = json.loads(page.evaluate(MEASURE))
        if shot:
            page.screenshot(folder / f"{shot}.png")
        return facts

    yield run
    page.send("Page.close")


def _rgb(css: str) -> tuple[float, float, float, float]:
    inside = css[css.index("(") + 1 : -1].split(",")
    r, g, b = (float(v) for v in inside[:3])
    return r, g, b, float(inside[3]) if len(inside) == 4 else 1.0


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two computed CSS colours (a translucent foreground blended over the background)."""
    fr, fg, fb, fa = _rgb(foreground)
    br, bg, bb, _ = _rgb(background)
    blended = [fa * f + (1 - fa) * b for f, b in ((fr, br), (fg, bg), (fb, bb))]

    def luminance(rgb):
        linear = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(blended), luminance((br, bg, bb))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def check_layout(facts: dict) -> None:
    """No two cells' boxes overlap, no text leaves its cell or runs into the next one, nothing wraps,
    and numbers are right-aligned to one edge."""
    rows = facts["rows"]
    for row in rows:
        for left, right in zip(row, row[1:]):
            # collapsed borders are shared: boxes may touch along one border, never overlap past it
            assert left["cell"]["right"] <= right["cell"]["left"] + max(left["border"], right["border"]) + 0.5, row
            assert right["content"]["left"] - left["content"]["right"] >= 12, (left["text"], right["text"])
        for cell in row:
            assert cell["paddingLeft"] >= 5 and cell["paddingRight"] >= 5, cell
            content, outer = cell["content"], cell["cell"]
            assert outer["left"] + 5 <= content["left"] and content["right"] <= outer["right"] - 5, cell["text"]
            # each text piece is one box (a wrapped piece has several), and the cell has one line per <br>
            assert all(len(piece) == 1 for piece in cell["pieces"]), cell["text"]
            tops = {round(piece[0]["top"]) for piece in cell["pieces"]}
            assert len(tops) == cell["lines"], cell["text"]
    for line in facts["foot"]:
        assert all(len(piece) == 1 for piece in line["pieces"]), line["text"]
    for column in range(len(rows[0])):
        if rows[0][column]["align"] == "right":
            edges = [row[column]["content"]["right"] for row in rows]  # the header's heavier border: 1 px
            assert max(edges) - min(edges) <= 1.5, (rows[0][column]["text"], edges)
    assert facts["scripts"] == 0


@pytest.fixture(scope="module")
def resnet50():
    return analyze_file(ROOT / "examples" / "resnet50.cnn")


@pytest.mark.parametrize("host", list(HOSTS))
def test_lenet_in_every_host_is_keras_table_laid_out(render, host):
    facts = render(analyze_file(ROOT / "examples" / "lenet.cnn")._repr_html_(), host, shot=f"lenet-{host}")
    check_layout(facts)
    rows = facts["rows"]
    assert [cell["text"] for cell in rows[0]] == ["Layer (type)", "Output Shape", "Param #"]
    assert [tuple(c["text"] for c in row) for row in rows[1:]] == [
        (f"{n} ({t})", shape, f"{p:,}") for n, t, shape, p in KERAS_LENET
    ]
    assert [c["align"] for c in rows[1]] == ["left", "left", "right"]
    assert [line["text"] for line in facts["foot"]] == [
        "Total params: 62,958 (245.93 KB)",
        "Trainable params: 62,958 (245.93 KB)",
        "Non-trainable params: 0 (0.00 B)",
    ]
    assert facts["caption"] == 'Model: "lenet"'
    # on the left, as Keras's own output is, not centred as a host centres a table
    assert facts["table"]["left"] - facts["wrapper"]["left"] < 1
    # the header's rule is heavier than the body's, as Keras's box has it
    assert rows[0][0]["border"] > rows[1][0]["border"] >= 1


@pytest.mark.parametrize("host", list(HOSTS))
def test_type_numbers_and_text_are_readable_in_light_and_dark(render, host):
    facts = render(analyze_file(ROOT / "examples" / "lenet.cnn")._repr_html_(), host)
    assert contrast(*facts["text"]) >= 7
    dark = host.endswith("dark")
    for kind, (colour, background) in facts["colours"].items():
        # the colour Keras uses where the background is dark; a darker shade of its hue where it is light
        expected = (DARK_COLOURS if dark else LIGHT_COLOURS)[kind]
        assert _rgb(colour)[:3] == tuple(int(expected[i : i + 2], 16) for i in (1, 3, 5)), (kind, colour)
        assert contrast(colour, background) >= 4.5, (host, kind, colour, background)
    assert set(facts["colours"]) == {"type", "number", "none"}


@pytest.mark.parametrize("host", ["file", "jupyter-light"])
def test_resnet50_keeps_every_shape_and_number_on_one_line(render, resnet50, host):
    facts = render(resnet50._repr_html_(), host, shot=f"resnet50-{host}")
    check_layout(facts)
    rows = facts["rows"]
    assert len(rows) == 1 + 177  # Keras's ResNet50 lists 177 layers with its input
    assert facts["foot"][0]["text"] == "Total params: 25,636,712 (97.80 MB)"
    add = next(row for row in rows if row[0]["text"] == "add (Add)")
    assert add[3]["lines"] == 2  # a residual add's two inputs, one a line
    if host != "file":  # wider than the 800 px output area: it scrolls, it is not squeezed
        assert facts["scrollWidth"] > facts["clientWidth"]


def test_depth_rows_are_indented(render, resnet50):
    html = format_html(resnet50, view=View(depth=2))
    facts = render(html, "jupyter-light", shot="resnet50-depth-2")
    check_layout(facts)
    titles = {row[0]["text"].strip(): row[0]["ink"] for row in facts["rows"][1:]}
    stack, block = titles["stack(64, 3, s=1) (stack, 32 layers)"], titles["projection(64, 1) (projection, 12 layers)"]
    layer = titles["conv1 (Conv2D)"]
    assert stack["left"] == pytest.approx(layer["left"], abs=0.5)
    # two spaces a level, as the terminal table has them (a monospace font: each is one character's width)
    assert block["left"] - stack["left"] == pytest.approx(2 * stack["width"], abs=0.5)


def test_everything_from_the_file_is_text_never_markup(render):
    name = "<img src=x onerror=alert(1)>&amp;<script>x</script>"
    model = analyze("input 8x8x3 | conv 4 3 | flatten | dense 2", name=name)
    facts = render(model._repr_html_(), "jupyter-light")
    assert facts["caption"] == f'Model: "{name}"'
    assert facts["images"] == 0 and facts["scripts"] == 0
    # 8x8x3 through a 3x3 valid conv of 4 filters: (3*3*3 + 1)*4 = 112 weights, 6*6*4 = 144 values, 145*2 dense
    assert [[c["text"] for c in row] for row in facts["rows"][1:]] == [
        ["conv2d (Conv2D)", "(None, 6, 6, 4)", "112"],
        ["flatten (Flatten)", "(None, 144)", "0"],
        ["dense (Dense)", "(None, 2)", "290"],
    ]
