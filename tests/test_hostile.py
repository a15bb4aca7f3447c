"""Hostile doctrine files, and how compiled modules are written.

Names that are Python keywords, builtins, dunders or the runtime's own names; strings holding
quotes, triple quotes, backslashes, newlines, NUL and bidi controls; imports that leave the
project or loop through links; nesting 10,000 deep; a 20 MB file. Each compiles and behaves
(the compiled module agrees with tests/reference.py), and the module holds no trace of what
was injected: its identifiers are the compiler's own, and user text appears only in string
constants. Then the writes: atomic, and the same bytes under two hash seeds and two folders.
"""

from __future__ import annotations

import ast
import datetime
import os
import re
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from reference import Reference, disagreements
from support import LIBRARY, clean_env, run_cli, run_process

import compiler
import compiler.tools.cli
from compiler import runtime
from compiler.codegen.compile import compile_files, module_from_source, write_module
from compiler.errors import DoctrineError
from compiler.syntax.parser import MAX_NESTING

# ---------------------------------------------------------------- what a module may contain

_OWN_NAMES = {
    "ABSENT",
    "CASES",
    "DOCTRINE",
    "DOCTRINES",
    "FACTS",
    "INFO",
    "SOURCES",
    "_SCHEMA",
    "__all__",
    "__name__",  # the module names itself when it checks the runtime's program format
    "_a",
    "_p",
    "_dt",
    "_rt",
    "_pt",
    "acc",
    "f",
    "m",  # the element values of one evaluation (each computed once per case)
    "v",
    "_k",  # a switch's fact
    "facts",
    "stage",
    "evaluate",
    "holds",
    "datetime",
    "compiler",
    "runtime",
    # The builtins the generated `holds` and `evaluate` check the facts with (a fact's own
    # name is only ever a string constant, so no doctrine can shadow them).
    "dict",
    "frozenset",
    "len",
    "str",
    "int",
    "float",
    "KeyError",  # a fact the test reads is left out: the runtime's path
}
_NUMBERED = re.compile(r"_[A-Za-z]{1,2}\d+")


def assert_only_our_code(source: str, payloads: tuple[str, ...] = ()) -> None:
    """The module's identifiers are the compiler's own; it imports only datetime and the
    runtime; each payload appears only inside string constants."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert [a.name for a in node.names] == ["datetime"], ast.unparse(node)
        elif isinstance(node, ast.ImportFrom):
            imported = (node.module, [a.name for a in node.names])
            assert imported in (("compiler", ["runtime"]), ("compiler.runtime", ["program"]))
        elif isinstance(node, ast.Name):
            assert node.id in _OWN_NAMES or _NUMBERED.fullmatch(node.id), node.id
        elif isinstance(node, (ast.FunctionDef, ast.arg)):
            name = node.name if isinstance(node, ast.FunctionDef) else node.arg
            assert name in _OWN_NAMES or _NUMBERED.fullmatch(name), name
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            if re.fullmatch(r"_x\d+", owner):  # a fact the generated `holds` has read
                owner = "_x"
            elif re.fullmatch(r"_E\d+", owner):  # a doctrine's Evaluator
                owner = "_E"
            allowed = {
                "_rt": set(dir(runtime)),
                "_pt": set(dir(runtime.program)),
                "_dt": {"date"},
                "acc": {"add", "update"},
                "m": {"get"},
                "f": {"get"},  # facts are read with f.get(name)
                "facts": {"get", "keys", "copy", "__class__"},
                "_x": {"__class__"},
                "_SCHEMA": {"plain", "_blank"},
                "_E": {"checked_holds", "checked_evaluate", "_evaluate_plain", "_settled"},
                "INFO": {"doctrines"},
            }.get(owner, {"evaluate", "holds"})
            assert node.attr in allowed, ast.unparse(node)
        elif isinstance(node, (ast.Lambda, ast.Call)):
            pass
    stripped = _without_strings(tree)
    for payload in payloads:
        assert payload not in stripped, f"{payload!r} outside a string constant"


def _without_strings(tree: ast.Module) -> str:
    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.Constant:
            return ast.Constant("") if isinstance(node.value, str) else node

    return ast.unparse(Blank().visit(ast.parse(ast.unparse(tree))))


def compile_one(folder: Path, text: str, name: str = "hostile") -> tuple[Any, Any]:
    path = folder / f"{name}.doctrine"
    path.write_text(text, encoding="utf-8")
    compiled = compile_files([path])[0]
    return compiled, module_from_source(compiled.source, compiled.program.name, str(path))


# ---------------------------------------------------------------- hostile names

KEYWORDS = ["class", "def", "lambda", "None", "True", "False", "import", "return", "yield"]
BUILTINS = ["print", "exec", "eval", "open", "__import__", "compile", "getattr", "object"]
DUNDERS = ["__class__", "__init__", "__builtins__", "__name__", "__dict__", "__all__"]
RUNTIME = ["_rt", "_dt", "f", "acc", "_e0", "_m0", "_h0", "_v0", "_s0", "_t1", "_l1"]
RUNTIME += ["_c0", "_mc0", "_md0", "_p", "_a", "_D0", "_R0", "INFO", "FACTS", "CASES"]
RUNTIME += [
    "DOCTRINES",
    "DOCTRINE",
    "SOURCES",
    "_SCHEMA",
    "evaluate",
    "holds",
    "ABSENT",
    "_pt",
    "_T0",
]
HOSTILE_NAMES = KEYWORDS + BUILTINS + DUNDERS + RUNTIME


# Facts, elements and doctrines share one namespace: half the names for each of the first two.
FACT_NAMES = HOSTILE_NAMES[::2]
ELEMENT_NAMES = HOSTILE_NAMES[1::2]


def _hostile_names_source() -> str:
    lines = [f"fact {n}: bool" for n in FACT_NAMES]
    lines.append("fact __ne__: enum (__eq__, __hash__, __mro__, self)")
    lines.append("fact __lt__: enum (__subclasses__ < __globals__ < __code__)")
    lines.append("record __dict__r { __class__: bool\n  _v1: optional date\n  acc: text }")
    lines.append("fact _l2: list of __dict__r")
    for i, name in enumerate(ELEMENT_NAMES):
        one, other = FACT_NAMES[i % len(FACT_NAMES)], FACT_NAMES[(i + 1) % len(FACT_NAMES)]
        lines.append(f"element {name} {{ holds when {one} or not {other} }}")
    e0, e1, e2 = ELEMENT_NAMES[:3]
    f0, f1 = FACT_NAMES[:2]
    lines.append(
        "doctrine _d0 {\n"
        f"  element class = {e0}\n"
        "  element _rt { holds when __ne__ is __mro__ or __lt__ >= __globals__ }\n"
        "  element f { holds when (some _v0 in _l2 where _v0.__class__ and _v0._v1 is absent)"
        ' or (every acc in _l2 where acc.acc == "_rt") }\n'
        "  element DOCTRINES {\n    general rule false\n"
        f"    exception __init__ when {f0} then true {{ over _c0 }}\n"
        f"    exception _c0 when {e1} then false\n  }}\n"
        f"  element evaluate {{ first match {{ when {e2} then true otherwise false }} }}\n"
        "  holds when all of (class, _rt, at least 2 of (f, DOCTRINES, evaluate))\n"
        "}\n"
        f"doctrine __main__ {{ element print {{ holds when _d0 and not {f1} }} }}\n"
    )
    return "\n".join(lines) + "\n"


def test_names_that_are_python_keywords_builtins_dunders_or_ours(tmp_path: Path) -> None:
    compiled, module = compile_one(tmp_path, _hostile_names_source())
    assert_only_our_code(compiled.source, payloads=("__import__(", "exec(", "print("))
    assert set(module.DOCTRINES) == {"_d0", "__main__"}
    assert module.DOCTRINES["_d0"].labels == ("class", "_rt", "f", "DOCTRINES", "evaluate")
    reference = Reference(compiled.program)
    patterns: list[dict[str, Any]] = [
        {},
        dict.fromkeys(FACT_NAMES, True),
        dict.fromkeys(FACT_NAMES, False),
        {"__ne__": "__mro__", "__lt__": "__code__", FACT_NAMES[0]: True, FACT_NAMES[3]: None},
        {"_l2": [{"__class__": True, "acc": "_rt"}], FACT_NAMES[1]: True},
        {"_l2": [{"__class__": False, "_v1": datetime.date(2000, 1, 1), "acc": "x"}]},
    ]
    for facts in patterns:
        for name, evaluator in module.DOCTRINES.items():
            assert disagreements(evaluator, reference, name, facts) == [], (name, facts)
    assert callable(module.evaluate) and module.DOCTRINE == "__main__"


# ---------------------------------------------------------------- hostile strings

PAYLOADS = {
    "quote": ('say \\"hi\\"', 'say "hi"'),
    "triple": ('\\"\\"\\" end \\"\\"\\"', '""" end """'),
    "backslash": ("C:\\\\path\\\\", "C:\\path\\"),
    "newline": ("one\\ntwo\\tthree", "one\ntwo\tthree"),
    "nul": ("nul\\u0000here", "nul\x00here"),
    "raw nul": ("raw\x00nul", "raw\x00nul"),
    "bidi": ("access\\u202e\\u2066 level", "access\u202e\u2066 level"),
    "raw bidi": ("raw\u202eevil\u2069", "raw\u202eevil\u2069"),
    # A pair of escapes is one character; half of a pair is refused (see
    # test_a_lone_surrogate_is_reported).
    "surrogate pair": ("pair \\ud83d\\ude00 whole", "pair \U0001f600 whole"),
    "code": (
        '\\"); __import__(\\"os\\").system(\\"touch PWNED\\"); (\\"',
        '"); __import__("os").system("touch PWNED"); ("',
    ),
    "template": ("{{ ''.__class__.__mro__ }} {% raw %}", "{{ ''.__class__.__mro__ }} {% raw %}"),
    "unicode": ("Ünïcødé ✓ 日本", "Ünïcødé ✓ 日本"),
}


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_strings_holding_hostile_text(tmp_path: Path, kind: str) -> None:
    written, meant = PAYLOADS[kind]
    text = f'''module hostile "{written}"
fact t: text means "{written}" known as "{written}"
fact a: bool means "{written}"
authority auth {{
  name "{written}" reporter "{written}" court "{written}" year 1999 note "{written}"
}}
element e {{
  title "{written}"
  holds when t == "{written}" or a
  cite auth at "{written}" for "{written}"
  met "{written}"
  unmet "{written}"
  note "{written}"
}}
doctrine d {{
  title "{written}"
  element e
  rejects r {{ title "{written}" on a because "{written}" }}
}}
case c under d {{ title "{written}" given {{ t: "{written}" }} expect {{ holds: true }} }}
'''
    compiled, module = compile_one(tmp_path, text)
    assert_only_our_code(compiled.source, payloads=("system(", "touch PWNED", "__mro__"))
    info = module.INFO
    assert info.title == meant
    assert info.facts["t"].meaning == meant
    assert info.facts["t"].known_as == (meant,)
    element = info.elements["hostile.e"]
    assert (element.title, element.met, element.unmet, element.notes) == (
        meant,
        meant,
        meant,
        (meant,),
    )
    assert meant in element.cites[0].citation
    assert module.CASES[0]["given"] == {"t": meant}
    # It behaves: the text compares equal to itself, and to nothing else.
    assert module.evaluate({"t": meant, "a": False}).holds is True
    assert module.evaluate({"t": meant + "x", "a": False}).holds is False
    # The file written is the same module, UTF-8, with no raw control or bidi character.
    path = write_module(compiled, tmp_path / "out")
    data = path.read_bytes()
    assert data.decode("utf-8") == compiled.source
    assert not re.search("[\x00\u202a-\u202e\u2066-\u2069\ud800-\udfff]", compiled.source)
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


# ---------------------------------------------------------------- imports that leave the project


def test_an_import_through_a_link_out_of_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.doctrine").write_text("fact secret: bool\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "vocab.doctrine").symlink_to(tmp_path / "outside" / "secret.doctrine")
    (project / "etc.doctrine").symlink_to("/etc/passwd")
    main = project / "main.doctrine"
    main.write_text(
        "import vocab, etc\ndoctrine d { element e { holds when secret } }\n", encoding="utf-8"
    )
    with pytest.raises(DoctrineError) as info:
        compile_files([main])
    messages = [d.message for d in info.value.diagnostics]
    assert any("`vocab`" in m and "outside" in m for m in messages), messages
    assert any("`etc`" in m and "outside" in m for m in messages), messages
    assert "root:" not in info.value.render()  # nothing of /etc/passwd is shown


def test_links_within_the_project_still_import(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "vocab.doctrine").write_text("fact a: bool\n", encoding="utf-8")
    (tmp_path / "vocab.doctrine").symlink_to(tmp_path / "lib" / "vocab.doctrine")
    main = tmp_path / "main.doctrine"
    main.write_text("import vocab\ndoctrine d { element e { holds when a } }\n", encoding="utf-8")
    assert compiler.load(main).evaluate({"a": True}).holds is True


def test_a_loop_of_links_is_refused(tmp_path: Path) -> None:
    (tmp_path / "one.doctrine").symlink_to(tmp_path / "two.doctrine")
    (tmp_path / "two.doctrine").symlink_to(tmp_path / "one.doctrine")
    (tmp_path / "sub").symlink_to(tmp_path)  # a folder that contains itself
    main = tmp_path / "main.doctrine"
    main.write_text("import one\nfact a: bool\ndoctrine d { element e { holds when a } }\n")
    with pytest.raises(DoctrineError) as info:
        compile_files([main])
    assert "loop of symbolic links" in info.value.diagnostics[0].message
    with pytest.raises(DoctrineError) as info:
        compile_files([tmp_path / "one.doctrine"])
    assert "loop of symbolic links" in info.value.diagnostics[0].message
    proc = run_cli("check", tmp_path)
    assert proc.returncode == 2 and "internal error" not in proc.stderr, proc.stderr


def test_files_that_are_not_regular_files_are_never_read(tmp_path: Path) -> None:
    (tmp_path / "zero.doctrine").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.doctrine")
    (tmp_path / "folder.doctrine").mkdir()
    main = tmp_path / "main.doctrine"
    main.write_text("import zero, fifo, folder\nfact a: bool\n", encoding="utf-8")
    # Reading /dev/zero or a FIFO with no writer would never end (the test's timeout would
    # say so); each is refused for what it is, before any read.
    for path in (main, tmp_path / "zero.doctrine", tmp_path / "fifo.doctrine"):
        with pytest.raises(DoctrineError) as info:
            compile_files([path])
        assert info.value.diagnostics
        for diagnostic in info.value.diagnostics:
            assert diagnostic.code == "D0401"
            refused = ("not a regular file", "links to a file outside the folder")
            assert any(r in diagnostic.message for r in refused), diagnostic.message


# ---------------------------------------------------------------- nesting 10,000 deep

_DEEP = {
    "not": lambda n: "not " * n + "a",
    "parentheses": lambda n: "(" * n + "a" + ")" * n,
    "and": lambda n: "(a and " * n + "a" + ")" * n,
    "all of": lambda n: "all of (" * n + "a" + ")" * n,
    "at least": lambda n: "at least 1 of (a, " * n + "a" + ")" * n,
}


@pytest.mark.parametrize("form", sorted(_DEEP))
def test_nesting_ten_thousand_deep(tmp_path: Path, form: str) -> None:
    text = "fact a: bool\ndoctrine d { element e { holds when " + _DEEP[form](10_000) + " } }\n"
    path = tmp_path / "deep.doctrine"
    path.write_text(text, encoding="utf-8")
    try:
        module = compiler.load(path)  # parentheses and `and` flatten: those compile
    except DoctrineError as err:
        (diagnostic,) = err.diagnostics
        assert diagnostic.code == "D0106"
        assert diagnostic.message == f"nested more than {MAX_NESTING} deep"
        assert diagnostic.pos is not None and diagnostic.pos.line == 2
        assert len(err.render()) < 2000  # the long line is shown around the place only
    else:
        assert form in ("parentheses", "and")
        assert module.evaluate({"a": True}).holds is True
        assert module.evaluate({"a": None}).missing == ("a",)
    if form == "not":  # and the command line says the same, in one line of source shown
        proc = run_cli("compile", path, "-o", tmp_path / "out")
        assert proc.returncode == 2 and "nested more than" in proc.stderr, proc.stderr
        assert "internal error" not in proc.stderr and len(proc.stderr) < 2000


@pytest.mark.parametrize("form", sorted(_DEEP))
def test_nesting_up_to_the_limit_compiles(tmp_path: Path, form: str) -> None:
    # As deep as the parser allows, the module compiles and behaves.
    depth = MAX_NESTING - 6
    text = "fact a: bool\ndoctrine d { element e { holds when " + _DEEP[form](depth) + " } }\n"
    path = tmp_path / "deep.doctrine"
    path.write_text(text, encoding="utf-8")
    module = compiler.load(path)
    expected = (depth % 2 == 0) if form == "not" else True
    assert module.evaluate({"a": True}).holds is expected


def test_other_things_nested_deep(tmp_path: Path) -> None:
    cases = {
        "exceptions": "fact a: bool\ndoctrine d { element e { general rule false "
        + "exception x when a then true {" * 10_000
        + "}" * 10_000
        + " } }\n",
        "lists": "fact a: bool\ndoctrine d { element e { holds when a } }\n"
        "case c under d { given { a: " + "[" * 10_000 + "]" * 10_000 + " } }\n",
        "mappings": "fact a: bool\ndoctrine d { element e { holds when a } }\n"
        "case c under d { given { a: " + "{a: " * 10_000 + "1" + "}" * 10_000 + " } }\n",
        "quantifiers": "record r { x: bool }\nfact l: list of r\ndoctrine d { element e { "
        "holds when " + "(some v in l where " * 30 + "v.x" + ")" * 30 + " } }\n",
        "braces": "{" * 10_000,
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.doctrine"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(DoctrineError) as info:
            compile_files([path])
        codes = {d.code for d in info.value.diagnostics}
        assert codes & {"D0106", "D0101", "D0102"}, (name, codes)
        if name == "quantifiers":  # refused when Python itself would refuse the module
            assert "nested too deeply to compile to Python" in info.value.render()


def test_long_lists_of_conditions_are_not_deep(tmp_path: Path) -> None:
    names = [f"f{i}" for i in range(3000)]
    text = "".join(f"fact {n}: bool\n" for n in names)
    text += "doctrine d { element e { holds when " + " and ".join(names) + " }\n"
    text += "  element g { holds when any of (" + ", ".join(names) + ") } }\n"
    _, module = compile_one(tmp_path, text)
    assert module.evaluate(dict.fromkeys(names, True)).holds is True
    result = module.evaluate({"f1": False, "f2": True})
    assert (result.holds, result.elements) == (False, {"e": False, "g": True})
    assert module.evaluate({"f7": True}).elements == {"e": None, "g": True}


def test_a_long_line_of_conditions_compiles_to_a_module_of_its_size(tmp_path: Path) -> None:
    # Issue 17.9: one 650 KB line of `(a and b) or ...` compiled to a module 36 times its
    # size (every repetition written out in the evaluator, its `missing` walk and INFO). Now
    # a repeated condition is tested once and built once in INFO; distinct conditions cost
    # a bounded amount each, so four times the conditions make about four times the module.
    def sizes(text: str, name: str) -> tuple[int, int]:
        path = tmp_path / f"{name}.doctrine"
        path.write_text(text, encoding="utf-8")
        out = tmp_path / f"out_{name}"
        assert compiler.tools.cli.main(["compile", str(path), "-o", str(out)]) == 0
        return len(text.encode()), (out / f"{name}.py").stat().st_size

    def repeated(n: int) -> str:
        return "fact a: bool\nfact b: bool\ndoctrine d { element e { holds when " + (
            " or ".join(["(a and b)"] * n) + " } }\n"
        )

    def distinct(n: int) -> str:
        facts = "".join(f"fact a{i}: bool\nfact b{i}: bool\n" for i in range(n))
        body = " or ".join(f"(a{i} and b{i})" for i in range(n))
        return facts + "doctrine d { element e { holds when " + body + " } }\n"

    source, module = sizes(repeated(1000), "repeated")
    assert module < 2 * source
    small = sizes(distinct(200), "few")
    large = sizes(distinct(800), "many")
    assert large[1] < 16 * large[0]
    assert large[1] < 4.5 * small[1]  # linear: the fixed part of a module is small


# ---------------------------------------------------------------- a 20 MB file


@pytest.mark.slow
def test_a_twenty_megabyte_file(tmp_path: Path) -> None:
    prose = ("The state need not protect anyone from private violence; " * 170)[:10_000]
    parts = []
    for i in range(700):
        parts.append(f"# {i} " + "x" * 5_000 + "\n")
        parts.append(f'fact f{i}: bool means "{prose} {i}"\n')
        title = f'"""{prose}\n\n  {prose}"""'
        parts.append(f"element e{i} {{ title {title} holds when f{i} or f{(i + 1) % 700} }}\n")
    parts.append("doctrine d { " + " ".join(f"element e{i}" for i in range(0, 700, 7)) + " }\n")
    path = tmp_path / "big.doctrine"
    path.write_text("".join(parts), encoding="utf-8")
    assert path.stat().st_size > 20_000_000
    # A child process, so that its peak memory is its own (the largest child's so far).
    proc = run_process("compile", path, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak < 2_000_000  # kilobytes: under 2 GB
    sys.path.insert(0, str(tmp_path / "out"))
    try:
        module = __import__("big")
    finally:
        sys.path.remove(str(tmp_path / "out"))
        sys.modules.pop("big", None)
    assert module.evaluate({"f0": True, "f7": False, "f8": False}).elements["e0"] is True
    assert module.evaluate({"f7": False, "f8": False}).holds is False
    assert module.INFO.facts["f3"].meaning == f"{prose} 3"


# ---------------------------------------------------------------- writes


def test_an_interrupted_write_leaves_the_old_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (compiled,) = compile_files([LIBRARY / "special_relationship.doctrine"])
    target = write_module(compiled, tmp_path)
    before = target.read_bytes()
    real_fdopen = os.fdopen

    class HalfWritten:
        """A file that takes half of what it is given, then the user presses Ctrl-C."""

        def __init__(self, handle: Any):
            self.handle = handle

        def __enter__(self) -> HalfWritten:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, text: str) -> int:
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: HalfWritten(real_fdopen(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        write_module(compiled, tmp_path)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary left


def test_an_interrupted_first_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (compiled,) = compile_files([LIBRARY / "special_relationship.doctrine"])

    def fail(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_module(compiled, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_compile_leaves_no_half_module(tmp_path: Path) -> None:
    # The real command, killed while it writes: whatever is there is a whole module.
    import signal
    import subprocess

    out = tmp_path / "out"

    def modules() -> int:
        return sum(1 for _ in out.rglob("*.py")) if out.exists() else 0

    # Killed as soon as the first module is there, then (over what that left) as soon as three
    # more are: each time while the next module is being written, whatever the machine's speed.
    for more in (1, 3):
        wanted = modules() + more
        proc = subprocess.Popen(
            [sys.executable, "-m", "compiler", "compile", "doctrine/", "-o", str(out)],
            cwd=LIBRARY.parent,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while proc.poll() is None and modules() < wanted:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for module in out.rglob("*.py") if out.exists() else ():
            compile(module.read_text(encoding="utf-8"), str(module), "exec")
            assert module.read_text(encoding="utf-8").endswith("\n")


def _compile_library(copy: Path, seed: str) -> dict[str, bytes]:
    proc = run_cli("compile", "doctrine", "-o", "out", cwd=copy, env=clean_env(PYTHONHASHSEED=seed))
    assert proc.returncode == 0, proc.stderr
    out = copy / "out"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.py"))}


@pytest.mark.slow
def test_the_same_bytes_under_two_hash_seeds_and_in_two_folders(tmp_path: Path) -> None:
    # Two machines, as far as one can tell: two checkouts at different paths, two seeds.
    outputs = []
    for where, seed in (("first/checkout", "0"), ("second", "4242")):
        copy = tmp_path / where
        shutil.copytree(LIBRARY, copy / "doctrine")
        outputs.append(_compile_library(copy, seed))
    assert len(outputs[0]) == len(list(LIBRARY.rglob("*.doctrine")))
    assert outputs[0].keys() == outputs[1].keys()
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], f"{name} differs"


# ---------------------------------------------------------------- templates

_MARKUP = '<script>alert(\\"x\\")</script>'  # as written in a doctrine string
_TEMPLATE_DOCTRINE = f'''module hostile "{_MARKUP}"
fact t: text means "{_MARKUP}" known as "<b>F1</b>"
fact a: bool means "\\"><img src=x onerror=alert(1)>"
record r {{ name: text means "<i>n</i>" }}
fact l: list of r
authority auth {{ name "{_MARKUP}" reporter "1 <u>R</u>" court "9th" year 1999 note "<s>n</s>" }}
element e {{
  title "{_MARKUP}"
  holds when t == "<script>" or a or (some x in l where x.name == "<img>")
  cite auth at "<p>1</p>" for "<q>why</q>"
  met "{_MARKUP}"
  unmet "{_MARKUP}"
  note "{_MARKUP}"
}}
doctrine hostile {{
  title "{_MARKUP}"
  element e
  rejects r2 {{ title "{_MARKUP}" on a because "{_MARKUP}" cite auth }}
  note "{_MARKUP}"
}}
'''
_TEMPLATE_FACTS = (
    't: "<script>alert(\\"fact\\")</script>"\na: false\n'
    'l: [{name: "<img src=x onerror=alert(2)>"}, {name: "&amp; <b>bold</b>"}]\n'
)


@pytest.fixture
def markup_case(tmp_path: Path) -> tuple[Path, Path]:
    doctrine = tmp_path / "hostile.doctrine"
    doctrine.write_text(_TEMPLATE_DOCTRINE, encoding="utf-8")
    facts = tmp_path / "case.yaml"
    facts.write_text(_TEMPLATE_FACTS, encoding="utf-8")
    return doctrine, facts


def _no_markup_of_ours(html: str) -> None:
    for raw in ("<script", "<img", "<b>", "<i>", "<u>", "<s>", "<q>", "<p>1"):
        assert raw not in html, raw
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("command", ["explain", "doc", "diff"])
def test_html_escapes_every_fact_and_every_authored_string(
    markup_case: tuple[Path, Path], tmp_path: Path, command: str
) -> None:
    doctrine, facts = markup_case
    args: list[Any] = {
        "explain": ["explain", doctrine, "--facts", facts],
        "doc": ["doc", doctrine],
        "diff": ["diff", doctrine, doctrine, "--facts", facts],
    }[command]
    out = tmp_path / f"{command}.html"
    proc = run_cli(*args, "--format", "html", "-o", out)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    _no_markup_of_ours(html)
    if command != "doc":
        assert "&lt;img src=x onerror=alert(2)&gt;" in html or "alert(2)" not in html


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ lipsum.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{% for x in range(10**9) %}{% endfor %}",
        "{% include '/etc/passwd' %}",
        "{% include '../../../../../etc/passwd' %}",
    ],
)
def test_user_templates_run_sandboxed(
    markup_case: tuple[Path, Path], tmp_path: Path, template: str
) -> None:
    doctrine, facts = markup_case
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "explain.html.j2").write_text(template, encoding="utf-8")
    proc = run_cli("explain", doctrine, "--facts", facts, "--format", "html", "--templates", folder)
    assert proc.returncode == 2, proc.stdout[:500]
    assert proc.stderr.startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "root:" not in proc.stdout + proc.stderr  # nothing of /etc/passwd
    if "__" in template:
        assert "not allowed in the sandbox" in proc.stderr and "unsafe" in proc.stderr


def test_a_user_template_sees_only_what_it_is_given(
    markup_case: tuple[Path, Path], tmp_path: Path
) -> None:
    doctrine, facts = markup_case
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "explain.md.j2").write_text("{{ result.evaluator._values }}", encoding="utf-8")
    proc = run_cli("explain", doctrine, "--facts", facts, "--templates", folder)
    assert proc.returncode == 2 and proc.stderr.startswith("error: "), proc.stderr


def test_a_user_template_cannot_exhaust_memory(
    markup_case: tuple[Path, Path], tmp_path: Path
) -> None:
    doctrine, facts = markup_case
    folder = tmp_path / "templates"
    folder.mkdir()
    # 10**8 characters: big enough to show that nothing bounds it, small enough to be safe.
    (folder / "explain.txt.j2").write_text("{{ ('a' * 10**8)|length }}", encoding="utf-8")
    proc = run_cli("explain", doctrine, "--facts", facts, "--format", "text", "--templates", folder)
    assert proc.returncode == 2 and "error:" in proc.stderr, proc.stdout[:200]


# Issue 17, item 5: each of these would exhaust CPU or memory in a render unless it is refused
# before it runs (a C-level operation cannot be interrupted once started).
_TEMPLATE_BOMBS = [
    "{{ ((9**64)**64)**64 }}",
    "{{ 9**999999 }}",
    "{{ ''.ljust(1500000000) }}",
    "{{ 'a'.zfill(1500000000) }}",
    "{{ 'a'.center(1500000000) }}",
    "{{ 'a'.rjust(1500000000) }}",
    "{{ ('\\t' * 1000).expandtabs(1000000) }}",
    "{{ ('a\\n' * 500000)|indent(1000) }}",
    "{{ 'a'|center(1500000000) }}",
    "{{ '%01500000000d' % 1 }}",
    "{{ '%01500000000d'|format(1) }}",
    "{{ '{:1500000000}'.format(1) }}",
    "{{ ('a' * 1000000).replace('a', 'aaaa') }}",
    "{{ ',' .join(['a' * 1000000] * 1000) }}",
    "{{ ['a' * 1000000] * 1000 }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s=[1]) %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{{ lipsum(1000000) }}",
    "{{ lipsum(n=10, max=1000000) }}",
    "{% set l = [] %}{% for i in range(1500000) %}{{ l.append('a' * 1000000) or '' }}"
    "{% endfor %}{{ l }}",
]


@pytest.mark.parametrize("template", _TEMPLATE_BOMBS)
def test_a_user_template_cannot_exhaust_cpu_or_memory(
    markup_case: tuple[Path, Path],
    tmp_path: Path,
    template: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from compiler.tools.cli import main

    doctrine, facts = markup_case
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "explain.txt.j2").write_text(template, encoding="utf-8")
    args = ["explain", str(doctrine), "--facts", str(facts), "--format", "text"]
    status = main([*args, "--templates", str(folder)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith("error: template explain.txt.j2: not allowed in the sandbox:"), err
    assert "too large for a template" in err or "steps" in err, err


def test_a_bounded_user_template_still_renders(
    markup_case: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler.tools.cli import main

    doctrine, facts = markup_case
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "explain.txt.j2").write_text(
        "{{ doctrine.name|center(20) }}|{{ ('ab' * 3)|indent(2) }}|{{ 2 ** 10 }}|"
        "{% for e in elements %}{{ e.label ~ ':' ~ e.status }}{% endfor %}|{{ '%05d' % 42 }}",
        encoding="utf-8",
    )
    assert (
        main(
            [
                "explain",
                str(doctrine),
                "--facts",
                str(facts),
                "--templates",
                str(folder),
                "--format",
                "text",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "      hostile       |ababab|1024|e:not met|00042\n"


# Issue 17, item 8: escape sequences from a case reach no terminal, and half of a surrogate
# pair (in a doctrine's string or a fact's value) is reported, never an internal error.
_ESC_DOCTRINE = (
    'fact t: text means "the note"\n'
    'fact b: bool means "b \\u001b[2J"\n'
    'element e { title "E \\u001b]0;owned\\u0007" holds when b or t == "x" }\n'
    "doctrine d { element e }\n"
)


@pytest.mark.parametrize("command", ["eval", "explain-md", "explain-txt", "explain-html", "doc"])
def test_no_terminal_escape_reaches_the_output(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler.tools.cli import main

    doctrine = tmp_path / "d.doctrine"
    doctrine.write_text(_ESC_DOCTRINE, encoding="utf-8")
    facts = tmp_path / "case.yaml"
    facts.write_text('t: "\\e[31mred\\e[0m \\r\\x9b1m \\u202eevil"\nb: false\n', encoding="utf-8")
    kind, _, fmt = command.partition("-")
    args = {
        "eval": ["eval", str(doctrine), "--facts", str(facts)],
        "explain": ["explain", str(doctrine), "--facts", str(facts)],
        "doc": ["doc", str(doctrine)],
    }[kind]
    assert (
        main(
            [*args, *(["--format", {"md": "markdown", "txt": "text"}.get(fmt, fmt)] if fmt else [])]
        )
        == 0
    )
    out = capsys.readouterr().out
    for raw in ("\x1b", "\x9b", "\r", "\u202e", "\x07"):
        assert raw not in out, (raw, out)
    if kind != "eval":
        assert "\\x1b" in out  # shown, not obeyed


_SURROGATE_CASES = {
    "doctrine string": (
        'fact t: text means "a\\ud800b"\nelement e { holds when t == "x" }\n'
        "doctrine d { element e }\n",
        None,
    ),
    "JSON fact": (
        'fact t: text means "t"\nelement e { holds when t == "x" }\ndoctrine d { element e }\n',
        ("case.json", '{"t": "a\\ud800b"}'),
    ),
    "YAML fact": (
        'fact t: text means "t"\nelement e { holds when t == "x" }\ndoctrine d { element e }\n',
        ("case.yaml", 't: "a\\udc00b"\n'),
    ),
    "YAML key": (
        'fact t: text means "t"\nelement e { holds when t == "x" }\ndoctrine d { element e }\n',
        ("case.yaml", '"\\ud800": true\n'),
    ),
}


@pytest.mark.parametrize(
    ("case", "command"),
    [
        (case, command)
        for case in sorted(_SURROGATE_CASES)
        for command in ("eval", "explain", "doc", "graph")
        if command in ("eval", "explain") or _SURROGATE_CASES[case][1] is None  # doc reads no facts
    ],
)
def test_a_lone_surrogate_is_reported(
    tmp_path: Path, case: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler.tools.cli import main

    source, facts_file = _SURROGATE_CASES[case]
    doctrine = tmp_path / "d.doctrine"
    doctrine.write_text(source, encoding="utf-8")
    facts = tmp_path / (facts_file[0] if facts_file else "case.yaml")
    facts.write_text(facts_file[1] if facts_file else "t: x\n", encoding="utf-8")
    args = {
        "eval": ["eval", str(doctrine), "--facts", str(facts)],
        "explain": ["explain", str(doctrine), "--facts", str(facts)],
        "doc": ["doc", str(doctrine)],
        "graph": ["graph", str(doctrine)],
    }[command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "surrogate" in err, err
    assert "internal error" not in err


def test_a_lone_surrogate_in_a_case_file_is_shown_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler.tools.cli import main

    doctrine = tmp_path / "d.doctrine"
    doctrine.write_text(
        'fact t: text means "t"\nelement e { holds when t == "x" }\ndoctrine d { element e }\n',
        encoding="utf-8",
    )
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        '- id: "half \\ud800"\n  doctrine: d.doctrine\n  facts: {t: "y"}\n'
        "  expect: {holds: true}\n",
        encoding="utf-8",
    )
    assert main(["test", str(cases)]) == 1
    out = capsys.readouterr().out
    assert "FAIL half \\ud800 (" in out
