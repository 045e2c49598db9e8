"""The site in a real browser: web/dist built (when missing or older than its sources), served from
127.0.0.1 by the test, and Debian's headless Chromium driven through the DevTools protocol."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from browser import CHROMIUM, Browser

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
# what the built site is made from: a newer one of these means the site must be built again
SOURCES = [WEB / "build.mjs", WEB / "manual.mjs", WEB / "bytecode.mjs", WEB / "package-lock.json", ROOT / "README.md", ROOT / "grammar"]
SOURCE_TREES = [ROOT / "cnndsl", WEB / "src", ROOT / "docs", ROOT / "examples"]


def _newest_source() -> float:
    times = [p.stat().st_mtime for p in SOURCES if p.exists()]
    for tree in SOURCE_TREES:
        times += [p.stat().st_mtime for p in tree.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return max(times)


def _build() -> None:
    npm = shutil.which("npm")
    assert npm, "the site is built with npm (Node.js 20); install nodejs and npm"
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
    if not (WEB / "node_modules").is_dir():
        subprocess.run([npm, "--prefix", str(WEB), "ci", "--no-audit", "--no-fund"], check=True, env=env)
    subprocess.run([npm, "--prefix", str(WEB), "run", "build"], check=True, env=env, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def site() -> Path:
    index = DIST / "index.html"
    if not index.exists() or index.stat().st_mtime < _newest_source():
        _build()
    return DIST


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def base_url(site: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    assert Path(CHROMIUM).exists(), "the browser tests drive Debian's chromium: apt-get install chromium"
    chromium = Browser()
    yield chromium
    chromium.close()


def open_page(browser: Browser, url: str):
    """A new tab at `url`, once its first analysis is shown."""
    page = browser.new_page()
    page.goto(url)
    page.wait_for("document.body && document.body.dataset.status === 'ready'", timeout=60)
    return page


@pytest.fixture(scope="module")
def playground(browser, base_url):
    """The playground as it opens: LeNet in the editor, analysed."""
    page = open_page(browser, base_url)
    yield page
    page.send("Page.close")
