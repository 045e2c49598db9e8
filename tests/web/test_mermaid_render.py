"""cnndsl's Mermaid diagrams drawn by Mermaid itself (npm's `mermaid`, tests/web/mermaid/, pinned in its
lock file and not part of the site) in headless Chromium: the examples draw every box, block and link
they write, and Mermaid's default limits are the ones `diagram` collapses blocks for."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cnndsl import Source, analyze
from cnndsl.views.diagram import MERMAID_MAX_EDGES, MERMAID_MAX_TEXT, diagram, to_mermaid

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(__file__).resolve().parent / "mermaid"
BUNDLE = PACKAGE / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
if os.environ.get("CNNDSL_REQUIRE_ORACLES") != "1" and not BUNDLE.exists() and shutil.which("npm") is None:
    pytestmark = pytest.mark.skip("Mermaid is installed with npm, which is missing")


def _install() -> None:
    npm = shutil.which("npm")
    assert npm, "Mermaid is installed with npm (Node.js 20); install nodejs and npm"
    subprocess.run([npm, "--prefix", str(PACKAGE), "ci", "--no-audit", "--no-fund", "--loglevel=error"], check=True)


@pytest.fixture(scope="module")
def mermaid(browser, tmp_path_factory):
    """A page with Mermaid loaded, initialised with its defaults (no maxTextSize or maxEdges given)."""
    if not BUNDLE.exists():
        _install()
    html = tmp_path_factory.mktemp("mermaid") / "mermaid.html"
    html.write_text(f'<!doctype html><meta charset="utf-8"><body><script src="{BUNDLE.as_uri()}"></script>')
    page = browser.new_page()
    page.goto(html.as_uri())
    page.wait_for("window.mermaid !== undefined", timeout=60)
    page.evaluate("mermaid.initialize({startOnLoad: false}); true")
    yield page
    page.send("Page.close")


LIMIT_MESSAGE = "Maximum text size in diagram exceeded"  # what Mermaid draws past maxTextSize
_RENDERS = iter(range(10**6))


def draw(page, text: str) -> dict:
    """What Mermaid drew: its boxes, blocks and links counted in the SVG put in the page, the boxes'
    text; or the error it raised."""
    script = f"""mermaid.render('diagram{next(_RENDERS)}', {json.dumps(text)}).then(result => {{
        const box = document.createElement('div');
        box.innerHTML = result.svg;
        document.body.append(box);
        const drawn = {{
            boxes: [...box.querySelectorAll('g.node')].map(node => node.textContent),
            blocks: box.querySelectorAll('g.cluster').length,
            links: box.querySelectorAll('path.flowchart-link').length,
        }};
        box.remove();
        return drawn;
    }}, error => ({{error: String(error)}}))"""
    return page.evaluate(script, timeout=120)


def written(text: str) -> dict:
    return {
        "boxes": len(re.findall(r'^\s*\w+\[\[?"', text, re.M)),  # a layer's box, or a collapsed call's
        "blocks": len(re.findall(r"^\s*subgraph ", text, re.M)),
        "links": len(re.findall(r"^\s*\w+ --> \w+$", text, re.M)),
    }


def mermaid_of(name: str, depth: int | None = None) -> tuple[str, list[str]]:
    """`cnndsl diagram --format mermaid [--depth N] examples/NAME.cnn`: its text and notes."""
    path = ROOT / "examples" / f"{name}.cnn"
    text = path.read_text()
    notes: list[str] = []
    return diagram(analyze(text, str(path)), "mermaid", depth, Source.of(text, str(path)), notes=notes).decode(), notes


@pytest.mark.parametrize(("name", "depth"), [("lenet", None), ("resnet50", 1), ("unet", None)])
def test_mermaid_draws_every_box_block_and_link(mermaid, name, depth):
    text, notes = mermaid_of(name, depth)
    assert not notes
    drawn = draw(mermaid, text)
    assert "error" not in drawn, drawn.get("error")
    counted = {"boxes": len(drawn["boxes"]), "blocks": drawn["blocks"], "links": drawn["links"]}
    assert counted == written(text)
    if name == "lenet":
        assert drawn["boxes"][1] == "conv2d: Conv2Dconv 8 5x5 relu(None, 28, 28, 8)608 params"
    if name == "unet":
        assert written(text)["blocks"] > 0  # the U-Net's block calls are subgraphs


def test_mermaid_refuses_the_whole_nasnet_and_draws_what_diagram_writes(mermaid):
    path = ROOT / "examples" / "nasnet_mobile.cnn"
    whole = to_mermaid(analyze(path.read_text(), str(path)))
    assert draw(mermaid, whole)["boxes"] == [LIMIT_MESSAGE]
    text, notes = mermaid_of("nasnet_mobile")
    assert len(notes) == 1 and "collapsed" in notes[0]
    drawn = draw(mermaid, text)
    assert "error" not in drawn, drawn.get("error")
    assert len(drawn["boxes"]) == written(text)["boxes"] > 50 and LIMIT_MESSAGE not in drawn["boxes"]


def test_mermaids_default_limits_are_the_ones_diagram_uses(mermaid):
    # Mermaid counts JavaScript's length, UTF-16 code units: a character past U+FFFF counts 2
    head, tail = 'flowchart TD\n  n0["𝑥', '"] --> n1["b"]\n'
    fill = MERMAID_MAX_TEXT - len((head + tail).encode("utf-16-le")) // 2
    at_limit = head + "x" * fill + tail
    assert len(at_limit.encode("utf-16-le")) // 2 == MERMAID_MAX_TEXT
    assert len(draw(mermaid, at_limit)["boxes"]) == 2
    assert draw(mermaid, at_limit.replace(tail, "x" + tail))["boxes"] == [LIMIT_MESSAGE]
    chain = to_mermaid(analyze("input 8\n" + "relu\n" * (MERMAID_MAX_EDGES + 1)), compact=True)
    assert written(chain)["links"] == MERMAID_MAX_EDGES + 1 and len(chain) < MERMAID_MAX_TEXT
    assert f"the limit is {MERMAID_MAX_EDGES}." in draw(mermaid, chain)["error"]
