"""The project as it is installed: editable, as a wheel, and a compiled module on its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from support import (
    ROOT,
    clean_env,
    doctrine_file,
    eval_json,
    jsonable,
    load_precedents,
    run_cli,
    write_json,
)

import compiler
from compiler.syntax import resources

PRECEDENTS = {p["id"]: p for p in load_precedents()}


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; fail the test with its output unless it exits 0; return its stdout."""
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# ---------------------------------------------------------------- (i) editable install


def test_editable_install_reads_the_checkout() -> None:
    assert Path(compiler.__file__).resolve().parent == ROOT / "compiler"
    assert resources.grammar_path() == ROOT / "grammar" / "doctrine.lark"
    assert resources.grammar_path().is_file()
    assert resources.data_dir("templates") == ROOT / "templates"
    # A stray compiler/_data in the checkout would shadow grammar/ and templates/.
    assert not (ROOT / "compiler" / "_data").exists()


# ---------------------------------------------------------------- (ii) the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "-w",
        out,
        ROOT,
        cwd=out,
    )
    [built] = out.glob("doctrine-*.whl")
    return built


@pytest.mark.heavy  # builds a wheel and a venv: `.ci/run` runs it in its heavy step
def test_wheel_carries_grammar_and_templates(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "compiler/_data/grammar/doctrine.lark" in names
    assert any(n.startswith("compiler/_data/templates/") for n in names), names
    # The library travels in the wheel, so that `import vocabulary` works from anywhere.
    assert "compiler/_data/doctrine/vocabulary.doctrine" in names
    assert "compiler/_data/doctrine/trade_secrets/factors.doctrine" in names
    assert "compiler/runtime/__init__.py" in names
    assert "compiler/runtime/program.py" in names  # the program tree compiled modules build
    assert all(n.startswith(("compiler/", "doctrine-")) for n in names), names
    with zipfile.ZipFile(wheel) as archive:
        grammar = archive.read("compiler/_data/grammar/doctrine.lark")
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert grammar == (ROOT / "grammar" / "doctrine.lark").read_bytes()
    assert b"doctrine = compiler.tools.cli:main" in entry_points


@pytest.mark.heavy  # builds a wheel and a venv: `.ci/run` runs it in its heavy step
def test_wheel_installs_and_evaluates(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(
        python,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--disable-pip-version-check",
        wheel,
        cwd=tmp_path,
    )
    # lark, attrs, jinja2 and pyyaml come from this test run's environment, through a .pth file
    # that lists its site-packages. Lines of a .pth file go after the venv's own site-packages,
    # so the wheel's `compiler` is found first; and the editable install's own .pth file there
    # is not read (only site directories have their .pth files read).
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
        ).strip()
    )
    (site / "zz_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    work = tmp_path / "work"
    work.mkdir()
    where = run(
        python,
        "-c",
        "import sys, compiler, compiler.syntax.resources as r; "
        "print(compiler.__file__); print(r.grammar_path()); print(r.data_dir('templates')); "
        "print(r.data_dir('doctrine'))",
        cwd=work,
    ).splitlines()
    installed = site / "compiler"
    assert Path(where[0]).parent == installed, where
    assert Path(where[1]) == installed / "_data" / "grammar" / "doctrine.lark"
    assert Path(where[2]) == installed / "_data" / "templates"
    assert Path(where[3]) == installed / "_data" / "doctrine"

    precedent = PRECEDENTS["pinder-immunity"]
    facts = write_json(work / "pinder-immunity.json", precedent["facts"])
    doctrine = doctrine_file(precedent["doctrine"])
    out = run(
        venv / "bin" / "doctrine", "eval", doctrine, "--facts", facts, "--format", "json", cwd=work
    )
    result = json.loads(out)
    assert result["holds"] is precedent["expect"]["holds"]
    assert result == eval_json(doctrine, facts)

    # The installed command compiles too (the grammar comes from inside the wheel).
    run(venv / "bin" / "doctrine", "compile", doctrine, "-o", work / "build", cwd=work)
    assert (work / "build" / f"{precedent['doctrine']}.py").is_file()

    # A doctrine of one's own, far from the checkout, imports the library inside the wheel.
    (work / "mine.doctrine").write_text(
        "import vocabulary, doctrine.sources\n"
        'element knew { title "Knew" holds when state_aware_of_danger met "m" unmet "u" }\n'
        'doctrine mine { title "Mine" element knowledge = knew }\n',
        encoding="utf-8",
    )
    (work / "knew.yaml").write_text("state_aware_of_danger: true\n", encoding="utf-8")
    out = run(
        venv / "bin" / "doctrine",
        "eval",
        "mine.doctrine",
        "--facts",
        "knew.yaml",
        "--format",
        "json",
        cwd=work,
    )
    assert json.loads(out)["holds"] is True
    # And `doctrine test` with no doctrine/ folder here runs the installed library's cases.
    assert run(venv / "bin" / "doctrine", "test", cwd=work).strip().endswith(" 0 failed")


# ---------------------------------------------------------------- (iii) a compiled module alone

STANDALONE_SCRIPT = """
import importlib, json, sys

for dependency in ("lark", "attrs", "jinja2", "yaml"):
    try:
        importlib.import_module(dependency)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{dependency} is importable: the test does not isolate the module")

results = {}
for precedent in json.load(open("precedents.json", encoding="utf-8")):
    module = importlib.import_module(precedent["doctrine"])
    results[precedent["id"]] = module.evaluate(precedent["facts"]).as_dict()

import compiler
loaded = sorted(m for m in sys.modules if m == "compiler" or m.startswith("compiler."))
print(json.dumps({"results": results, "compiler": compiler.__file__, "loaded": loaded}))
"""


@pytest.mark.slow
def test_compiled_modules_run_on_the_standard_library_alone(tmp_path: Path) -> None:
    out = tmp_path / "standalone"
    doctrines = sorted({p["doctrine"] for p in PRECEDENTS.values()})
    proc = run_cli("compile", *(doctrine_file(d) for d in doctrines), "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{d}.py" for d in doctrines)
    (out / "compiler" / "runtime").mkdir(parents=True)
    # The package's __init__ and the whole runtime package (its __init__, the program tree,
    # the three-valued logic and the tree evaluator), nothing else.
    runtime = sorted(p.name for p in (ROOT / "compiler" / "runtime").glob("*.py"))
    assert {"__init__.py", "program.py"} <= set(runtime)
    for name in ("__init__.py", *(f"runtime/{file}" for file in runtime)):
        shutil.copy(ROOT / "compiler" / name, out / "compiler" / name)
    (out / "precedents.json").write_text(
        json.dumps([jsonable(p) for p in PRECEDENTS.values()]), encoding="utf-8"
    )
    # -S: no site-packages at all, so no lark, attrs, jinja2 or yaml; -E: ignore PYTHON* variables.
    report = json.loads(run(sys.executable, "-S", "-E", "-c", STANDALONE_SCRIPT, cwd=out))
    assert Path(report["compiler"]).resolve() == (out / "compiler" / "__init__.py").resolve()
    modules = [f"compiler.runtime.{file[:-3]}" for file in runtime if file != "__init__.py"]
    assert report["loaded"] == ["compiler", "compiler.runtime", *modules]

    for precedent_id, result in report["results"].items():
        precedent = PRECEDENTS[precedent_id]
        assert result["holds"] is precedent["expect"]["holds"], precedent_id
        for element, value in precedent["expect"].get("elements", {}).items():
            assert result["elements"][element] is value, (precedent_id, element)

    # Exactly what the CLI prints, for one precedent of each doctrine.
    for doctrine in doctrines:
        precedent = next(p for p in PRECEDENTS.values() if p["doctrine"] == doctrine)
        facts = write_json(tmp_path / f"{precedent['id']}.json", precedent["facts"])
        assert report["results"][precedent["id"]] == eval_json(doctrine_file(doctrine), facts)


def test_the_version_is_written_once() -> None:
    import importlib.metadata
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("doctrine") == compiler.__version__
    assert run_cli("--version").stdout == f"doctrine {compiler.__version__}\n"
