"""`doctrine compile --standalone`: modules that run on the standard library alone, beside a
private copy of the runtime that shadows nothing, whose `explain()` uses the compiler when it
is installed and says what to install when it is not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.codegen.compile import standalone_runtime_name
from tests.support import ROOT, clean_env, doctrine_file, jsonable, load_precedents, run_cli

PRECEDENTS = {p["id"]: p for p in load_precedents()}

ALONE = """
import importlib, json, sys

for dependency in ("compiler", "lark", "attrs", "jinja2", "yaml"):
    try:
        importlib.import_module(dependency)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{dependency} is importable: the test does not isolate the module")
results, explained = {}, None
for precedent in json.load(open("precedents.json", encoding="utf-8")):
    module = importlib.import_module(precedent["doctrine"])
    result = module.evaluate(precedent["facts"])
    results[precedent["id"]] = result.as_dict()
    try:
        result.explain()
    except ImportError as exc:
        explained = str(exc)
loaded = sorted(m for m in sys.modules if "compiler" in m.split(".")[0] or "doctrine" in m)
print(json.dumps({"results": results, "explained": explained, "loaded": loaded}))
"""

WITH_THE_COMPILER = """
import importlib, json, sys
precedent = json.load(open("precedent.json", encoding="utf-8"))
module = importlib.import_module(precedent["doctrine"])
import compiler
print(json.dumps({
    "text": module.evaluate(precedent["facts"]).explain("text"),
    "runtime": module._rt.__name__,
    "compiler": compiler.__file__,
}))
"""


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("standalone")
    doctrines = sorted({p["doctrine"] for p in PRECEDENTS.values()})
    proc = run_cli("compile", "--standalone", *(doctrine_file(d) for d in doctrines), "-o", out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_the_runtime_is_written_beside_the_modules_under_a_private_name(standalone: Path) -> None:
    name = standalone_runtime_name()
    assert name.startswith("_doctrine_runtime_")
    assert (standalone / name / "__init__.py").is_file()
    assert not (standalone / "compiler").exists()  # nothing that could shadow the package
    source = next(standalone.glob("*.py")).read_text(encoding="utf-8")
    assert f"\nimport {name} as _rt\n" in source
    assert "from compiler" not in source


def test_standalone_modules_run_on_the_standard_library_alone(standalone: Path) -> None:
    (standalone / "precedents.json").write_text(
        json.dumps([jsonable(p) for p in PRECEDENTS.values()]), encoding="utf-8"
    )
    # -S: no site-packages (no compiler, lark, jinja2 or yaml); -E: no PYTHON* variables.
    proc = subprocess.run(
        [sys.executable, "-S", "-E", "-c", ALONE],
        cwd=standalone,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    name = standalone_runtime_name()
    copied = sorted(p.stem for p in (standalone / name).glob("*.py") if p.stem != "__init__")
    assert copied == ["exact", "logic", "program", "tree"]
    assert report["loaded"] == [name, *(f"{name}.{m}" for m in copied)]
    for precedent_id, result in report["results"].items():
        precedent = PRECEDENTS[precedent_id]
        assert result["holds"] is precedent["expect"]["holds"], precedent_id
    assert "pip install doctrine" in report["explained"]


@pytest.mark.parametrize("precedent_id", ["pinder", "pinder-immunity"])
def test_explain_uses_the_installed_compiler(
    standalone: Path, precedent_id: str, tmp_path: Path
) -> None:
    precedent = PRECEDENTS[precedent_id]
    (standalone / "precedent.json").write_text(json.dumps(jsonable(precedent)), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", WITH_THE_COMPILER],
        cwd=standalone,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["runtime"] == standalone_runtime_name()
    assert Path(report["compiler"]).resolve().parent == (ROOT / "compiler").resolve()
    # The same memo as the command line's for the same facts (less the Facts line, which
    # names the file).
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(jsonable(precedent["facts"])), encoding="utf-8")
    cli = run_cli(
        "explain", doctrine_file(precedent["doctrine"]), "--facts", facts, "--format", "text"
    )
    assert cli.returncode == 0, cli.stderr
    drop = lambda text: [ln for ln in text.splitlines() if not ln.startswith("Facts: ")]  # noqa: E731
    assert drop(report["text"]) == drop(cli.stdout)
