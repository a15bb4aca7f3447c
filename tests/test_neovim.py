"""The language server under a real editor's client: Neovim, headless, with its built-in LSP
client, checking what a user sees (diagnostics, hover, go to definition, rename, formatting)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

import pytest
from support import ROOT, clean_env

pytestmark = pytest.mark.heavy

BASE = """\
module base "Facts"

fact custody: enum (none, jail, hospital)
  means "how the state held the plaintiff"

element in_custody {
  title "The state held the plaintiff"
  holds when custody is not none
}
"""

MAIN = """\
module main

import base

doctrine duty {
  title "A duty to protect"
  element custody = in_custdy
}
"""

MESSY = "fact   a :bool\n"

# Runs inside Neovim; writes what the user would see to RESULT as JSON, then quits.
SCRIPT = r"""
local out = {}
local function finish()
  local f = io.open(RESULT, "w")
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd("qa!")
end
local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(MAIN))
  vim.bo.filetype = "doctrine"
  local client = vim.lsp.start_client({
    name = "doctrine",
    cmd = { PYTHON, "-m", "compiler", "lsp" },
    root_dir = ROOT,
    init_options = { debounce = 50 },
  })
  vim.lsp.buf_attach_client(0, client)
  local main = vim.api.nvim_get_current_buf()

  -- diagnostics, as the signs and the virtual text show them
  vim.wait(30000, function() return #vim.diagnostic.get(main) > 0 end, 50)
  out.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(main)) do
    table.insert(out.diagnostics,
      { lnum = d.lnum, col = d.col, message = d.message, severity = d.severity })
  end

  -- fix the typo by hand, as the user would, and wait for the diagnostics to clear
  vim.api.nvim_buf_set_lines(main, 6, 7, false, { "  element custody = in_custody" })
  vim.wait(30000, function() return #vim.diagnostic.get(main) == 0 end, 50)
  out.after_fix = #vim.diagnostic.get(main)

  -- hover on `in_custody`
  local params = { textDocument = { uri = vim.uri_from_bufnr(main) },
                   position = { line = 6, character = 22 } }
  local hover = vim.lsp.buf_request_sync(main, "textDocument/hover", params, 30000)
  for _, r in pairs(hover or {}) do
    if r.result then out.hover = r.result.contents.value end
  end

  -- go to definition: the cursor lands in base.doctrine
  vim.api.nvim_win_set_cursor(0, { 7, 22 })
  vim.lsp.buf.definition()
  vim.wait(30000, function() return vim.fn.expand("%:t") == "base.doctrine" end, 50)
  out.definition = { file = vim.fn.expand("%:t"), cursor = vim.api.nvim_win_get_cursor(0) }

  -- rename `in_custody` (from its declaration) to `held`: both files change
  vim.lsp.buf_attach_client(0, client)
  local base = vim.api.nvim_get_current_buf()
  vim.lsp.buf.rename("held")
  vim.wait(30000, function()
    return table.concat(vim.api.nvim_buf_get_lines(main, 0, -1, false), "\n"):find("= held") ~= nil
  end, 50)
  out.renamed_main = vim.api.nvim_buf_get_lines(main, 0, -1, false)
  out.renamed_base = vim.api.nvim_buf_get_lines(base, 0, -1, false)

  -- formatting
  vim.cmd("edit " .. vim.fn.fnameescape(MESSY))
  vim.bo.filetype = "doctrine"
  vim.lsp.buf_attach_client(0, client)
  vim.wait(30000, function() return vim.lsp.buf_is_attached(0, client) end, 50)
  vim.lsp.buf.formatting_sync(nil, 30000)
  out.formatted = vim.api.nvim_buf_get_lines(0, 0, -1, false)
end)
if not ok then out.error = tostring(err) end
finish()
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string for these paths


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.fail("Neovim is not installed (the heavy step of .ci/run installs Debian's neovim)")
    root = tmp_path_factory.mktemp("nvim")
    (root / "base.doctrine").write_text(BASE, encoding="utf-8")
    (root / "main.doctrine").write_text(MAIN, encoding="utf-8")
    (root / "messy.doctrine").write_text(MESSY, encoding="utf-8")
    result = root / "result.json"
    header = "".join(
        f"{name} = {lua_string(str(value))}\n"
        for name, value in {
            "ROOT": root,
            "MAIN": root / "main.doctrine",
            "MESSY": root / "messy.doctrine",
            "RESULT": result,
            "PYTHON": sys.executable,
        }.items()
    )
    script = root / "drive.lua"
    script.write_text(header + SCRIPT, encoding="utf-8")
    env = clean_env(PYTHONPATH=str(ROOT), HOME=str(root), XDG_CONFIG_HOME=str(root / "config"))
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-n", "-c", f"luafile {script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.exists(), proc.stdout + proc.stderr
    found: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    assert "error" not in found, found["error"]
    return found


def test_neovim_shows_the_diagnostics(seen: dict[str, Any]) -> None:
    [d] = seen["diagnostics"]
    assert (d["lnum"], d["col"]) == (6, 20)
    assert d["severity"] == 1  # an error
    assert "unknown element `in_custdy`" in d["message"]
    assert "did you mean `in_custody`?" in d["message"]
    assert seen["after_fix"] == 0


def test_neovim_shows_the_hover(seen: dict[str, Any]) -> None:
    assert "**element** `in_custody`: The state held the plaintiff" in seen["hover"]
    assert "holds when custody is not none" in seen["hover"]


def test_neovim_goes_to_the_definition(seen: dict[str, Any]) -> None:
    assert seen["definition"] == {"file": "base.doctrine", "cursor": [6, 8]}


def test_neovim_renames_across_files(seen: dict[str, Any]) -> None:
    assert "  element custody = held" in seen["renamed_main"], seen
    assert "element held {" in seen["renamed_base"]


def test_neovim_formats(seen: dict[str, Any]) -> None:
    assert seen["formatted"] == ["fact a: bool"]
