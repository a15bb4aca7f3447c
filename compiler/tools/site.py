"""`doctrine site`: a library of doctrines as a static website (plain HTML and CSS, from disk).

One page per doctrine, element, authority, fact, worked case and module, an index by court
and by period, a search page whose index is written into it, and the memo of every worked
case. The pages are rendered by the Jinja templates in `templates/site/` from the checked
program and the compiled modules: the doctrine documents and the memos come from the same
code as `doctrine doc` and `doctrine explain`, and each case is run by `doctrine test`'s own
`judge`. Every link is relative, so the folder opens from disk and moves as a whole; the
output is the same, byte for byte, from one run to the next.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import types
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import attrs
import markupsafe

from ..checking import ir
from ..codegen.compile import check_files, module_from_source
from ..errors import DoctrineException
from ..explain.explanation import (
    court_words,
    documentation,
    module_documentation,
    render_explanation,
)
from ..syntax.loader import display_path
from .cases import judge, show

Data = dict[str, Any]

__all__ = [
    "Library",
    "Links",
    "Site",
    "SiteError",
    "broken_links",
    "build_site",
    "doctrine_fragment",
    "gather",
]


class SiteError(DoctrineException):
    """The site cannot be built (no library, an unwritable folder); the message says why."""


# ---------------------------------------------------------------- the library, gathered


@attrs.frozen
class Declared:
    """Where a name is declared: its module and line, for links to the source."""

    module: str
    line: int


@attrs.frozen
class Library:
    """Everything the pages show, taken once from the checked library."""

    root: Path
    programs: tuple[ir.Program, ...]  # one per file, in path order
    modules: Mapping[str, types.ModuleType]  # compiled, by module name
    sources: Mapping[str, str]  # module name -> the file's text
    files: Mapping[str, str]  # module name -> the file as shown (relative to the library)
    doctrines: Mapping[str, ir.Doctrine]
    elements: Mapping[str, ir.Element]
    facts: Mapping[str, tuple[ir.Fact, str]]  # "module.name" -> (fact, declaring module)
    authorities: Mapping[str, tuple[ir.Authority, str]]  # "module.name" -> (..., module)
    cases: tuple[tuple[ir.Case, str], ...]  # (case, declaring module)
    imports: Mapping[str, tuple[str, ...]]  # module -> the modules it imports
    # Modules are named as the checker names them inside the program (unique stems, as in
    # element keys); `declared` gives the name a module declares (`trade_secrets.cases`).
    declared: Mapping[str, str]
    titles: Mapping[str, str]


def _module_of(path: str, by_path: Mapping[Path, str]) -> str:
    return by_path.get(Path(path).resolve(), "")


def gather(root: Path) -> Library:
    """Check and compile every `.doctrine` file under `root` (raises DoctrineError)."""
    from ..codegen.generator import generate

    paths = sorted(root.rglob("*.doctrine")) if root.is_dir() else [root]
    if not paths:
        raise SiteError(f"no .doctrine files in {root}")
    project, _ = check_files(paths)
    by_path = {p: project.module_name(p) for p in project.loaded.order}
    every = {p: project.program(p) for p in project.loaded.order}
    programs = tuple(every[p.resolve()] for p in paths)
    internal = [by_path[p.resolve()] for p in paths]
    modules = {}
    for path, name, program in zip(paths, internal, programs):
        modules[name] = module_from_source(generate(program), program.name, str(path))
    declared = {by_path[p]: every[p].name for p in project.loaded.order}
    titles = {by_path[p]: every[p].title for p in project.loaded.order}
    base = root if root.is_dir() else root.parent
    files = {}
    sources = {}
    for p, name in sorted(by_path.items(), key=lambda item: item[1]):
        try:
            files[name] = p.relative_to(base.resolve()).as_posix()
        except ValueError:
            files[name] = display_path(p)
        sources[name] = p.read_text(encoding="utf-8-sig")
    facts: dict[str, tuple[ir.Fact, str]] = {}
    for name, program in zip(internal, programs):
        for fact in program.facts:
            module = _module_of(fact.pos.path, by_path) or name
            facts.setdefault(f"{module}.{fact.name}", (fact, module))
    authorities = {
        f"{by_path[path]}.{name}": (authority, by_path[path])
        for (path, name), authority in sorted(
            project.authorities.items(), key=lambda item: (by_path[item[0][0]], item[0][1])
        )
    }
    cases = tuple(
        (case, name) for name, program in zip(internal, programs) for case in program.cases
    )
    imports = {
        by_path[p]: tuple(sorted(by_path[d] for d in project.loaded.imports.get(p, ())))
        for p in project.loaded.order
    }
    return Library(
        root=root,
        programs=programs,
        modules=modules,
        sources=sources,
        files=files,
        doctrines=dict(sorted(project.doctrines.items())),
        elements=dict(sorted(project.elements.items())),
        facts=dict(sorted(facts.items())),
        authorities=authorities,
        cases=cases,
        imports=imports,
        declared=dict(sorted(declared.items())),
        titles=dict(sorted(titles.items())),
    )


# ---------------------------------------------------------------- names and links


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)


class Links:
    """The file name of every page, and links to them as HTML.

    A fact or an authority is named by its declaring module only when two modules declare
    the same name, so that most addresses stay short (`fact-custody.html`).
    """

    def __init__(self, lib: Library):
        self.lib = lib
        self._fact_names = self._names(lib.facts)
        self._authority_names = self._names(lib.authorities)
        self._module_of_doctrine = {name: d.module for name, d in lib.doctrines.items()}
        self._element_module = {
            key: el.module or key.rpartition(".")[0] for key, el in lib.elements.items()
        }

    @staticmethod
    def _names(keyed: Mapping[str, Any]) -> dict[str, str]:
        short: dict[str, list[str]] = {}
        for key in keyed:
            short.setdefault(key.rpartition(".")[2], []).append(key)
        return {
            key: name if len(keys) == 1 else key for name, keys in short.items() for key in keys
        }

    # -- file names
    def doctrine_file(self, name: str) -> str:
        return f"doctrine-{_slug(name)}.html"

    def element_file(self, key: str) -> str:
        return f"element-{_slug(key)}.html"

    def fact_file(self, key: str) -> str:
        return f"fact-{_slug(self._fact_names[key])}.html"

    def authority_file(self, key: str) -> str:
        return f"authority-{_slug(self._authority_names[key])}.html"

    def case_file(self, module: str, name: str) -> str:
        return f"case-{_slug(module)}.{_slug(name)}.html"

    def memo_file(self, module: str, name: str) -> str:
        return f"memo-{_slug(module)}.{_slug(name)}.html"

    def module_file(self, name: str) -> str:
        return f"module-{_slug(self.lib.declared.get(name, name))}.html"

    def module_name(self, name: str) -> str:
        """The name a module declares, for display."""
        return self.lib.declared.get(name, name)

    # -- resolving a name as a module sees it
    def visible(self, module: str) -> list[str]:
        """The module and, transitively, every module it imports."""
        seen: list[str] = []
        todo = [module]
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.append(m)
                todo.extend(self.lib.imports.get(m, ()))
        return seen

    def _resolve(self, keyed: Mapping[str, Any], name: str, module: str) -> str | None:
        for m in self.visible(module):
            if f"{m}.{name}" in keyed:
                return f"{m}.{name}"
        found = [k for k in keyed if k.rpartition(".")[2] == name]
        return found[0] if len(found) == 1 else None

    def fact_key(self, name: str, module: str) -> str | None:
        return self._resolve(self.lib.facts, name, module)

    def authority_key(self, name: str, module: str) -> str | None:
        return self._resolve(self.lib.authorities, name, module)

    # -- HTML
    def a(self, href: str, text: str, code: bool = True, title: str = "") -> markupsafe.Markup:
        inner = f"<code>{html.escape(text)}</code>" if code else html.escape(text)
        tip = f' title="{html.escape(title)}"' if title else ""
        return markupsafe.Markup(f'<a href="{html.escape(href)}"{tip}>{inner}</a>')

    def doctrine(self, name: str, text: str | None = None) -> markupsafe.Markup:
        if name not in self.lib.doctrines:
            return markupsafe.Markup(f"<code>{html.escape(text or name)}</code>")
        return self.a(self.doctrine_file(name), text or name, title=self.lib.doctrines[name].title)

    def element(self, key: str, text: str | None = None) -> markupsafe.Markup:
        el = self.lib.elements.get(key)
        if el is None:
            return markupsafe.Markup(f"<code>{html.escape(text or key)}</code>")
        return self.a(self.element_file(key), text or el.name, title=el.title)

    def fact(self, name: str, module: str, text: str | None = None) -> markupsafe.Markup:
        key = self.fact_key(name, module)
        if key is None:
            return markupsafe.Markup(f"<code>{html.escape(text or name)}</code>")
        return self.a(self.fact_file(key), text or name, title=self.lib.facts[key][0].meaning)

    def source(self, module: str, line: int, text: str | None = None) -> markupsafe.Markup:
        where = f"{self.lib.files.get(module, module)}:{line}" if line else module
        href = self.module_file(module) + (f"#L-{line}" if line else "")
        return self.a(href, text or where, code=False)


def _line(pos: Any) -> int:
    return int(getattr(pos, "line", 0) or 0)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _linked_source(text: str, targets: Mapping[str, markupsafe.Markup]) -> markupsafe.Markup:
    """A requirement as its author wrote it, each name it refers to linked to its page."""
    out: list[str] = []
    last = 0
    for match in _NAME.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        word = match.group(0)
        out.append(str(targets[word]) if word in targets else html.escape(word))
        last = match.end()
    out.append(html.escape(text[last:]))
    return markupsafe.Markup(f'<code class="requirement">{"".join(out)}</code>')


# ---------------------------------------------------------------- the pages' data


def _period(d: ir.Doctrine) -> str:
    start, until = d.in_force_from, d.in_force_until
    if start and until:
        return f"from {start.isoformat()} until {until.isoformat()}"
    if start:
        return f"from {start.isoformat()}"
    if until:
        return f"until {until.isoformat()}"
    return ""


def _court_order(court: str) -> tuple[int, int, str]:
    if not court:
        return (3, 0, "")
    if court.upper() == "SCOTUS":
        return (0, 0, court)
    match = re.match(r"(\d+)", court)
    if match:
        return (1, int(match.group(1)), court)
    return (2, 0, court)


class Site:
    """Builds the pages of one library."""

    def __init__(self, lib: Library, title: str, graphviz: bool | None = None):
        self.lib = lib
        self.title = title
        self.links = Links(lib)
        self.dot = shutil.which("dot") if graphviz is not False else None
        if graphviz and self.dot is None:
            raise SiteError("--graphviz: Graphviz's `dot` is not on the PATH")
        # Each worked case, run once: (case, module, outcome, result or None).
        self.outcomes = [self._run(case, module) for case, module in lib.cases]
        self._cited_by = self._citations()
        self._in_words = self._requirements_in_words()

    # -- running the worked cases, with `doctrine test`'s own judge
    def _run(self, case: ir.Case, module: str) -> tuple[ir.Case, str, Any, Any]:
        compiled = self.lib.modules[module]
        entry = next(c for c in compiled.CASES if c["name"] == case.name)
        evaluator = compiled.DOCTRINES[entry["doctrine"]]
        outcome = judge(
            case.name,
            entry["doctrine"],
            evaluator,
            entry["given"],
            entry["expect"],
            self.lib.files.get(module, module),
            entry["line"],
        )
        try:
            result = evaluator.evaluate(entry["given"])
        except Exception:  # facts a case gives wrongly: its page reports the problems
            result = None
        return case, module, outcome, result

    def _requirements_in_words(self) -> dict[str, str]:
        """Each element's requirement in words, as `doctrine doc` writes it for its module."""
        out: dict[str, str] = {}

        def collect(items: Iterable[Data]) -> None:
            for item in items:
                out.setdefault(str(item["key"]), str(item["requirement"]))
                collect(item.get("parts") or ())

        # A compiled module's INFO holds the elements its doctrines use: each element is
        # described from a module whose doctrine reaches it.
        for compiled in self.lib.modules.values():
            schema = {name: (kind, spec) for name, kind, spec in compiled.FACTS}
            collect(module_documentation(compiled.INFO, schema)["elements"])
            for name, evaluator in compiled.DOCTRINES.items():
                collect(documentation(compiled.INFO, name, evaluator.schema.facts)["elements"])
        return out

    # -- who cites what
    def _citations(self) -> dict[str, list[Data]]:
        cited: dict[str, list[Data]] = {}

        def add(c: ir.Citation | None, module: str, place: markupsafe.Markup, kind: str) -> None:
            if c is None:
                return
            key = self.links.authority_key(c.authority, module)
            if key is None:
                return
            cited.setdefault(key, []).append(
                {"place": place, "kind": kind, "pinpoint": c.pinpoint, "purpose": c.purpose}
            )

        for name, d in self.lib.doctrines.items():
            here = self.links.doctrine(name)
            add(d.source, d.module, here, "source of the doctrine")
            for c in d.cites:
                add(c, d.module, here, "the doctrine")
            for r in d.rejects:
                for c in r.cites:
                    add(c, d.module, here, f"rejected theory: {r.title}")
            for label, cs in _rule_cites(d.expr):
                for c in cs:
                    add(c, d.module, here, label)
        for key, el in self.lib.elements.items():
            module = el.module or key.rpartition(".")[0]
            for c in el.cites:
                add(c, module, self.links.element(key), "element")
        for case, module in self.lib.cases:
            add(case.source, module, self._case_link(case, module), "worked case")
        rank = {"source of the doctrine": 0, "the doctrine": 1, "element": 3, "worked case": 4}
        for entries in cited.values():
            entries.sort(
                key=lambda e: (
                    rank.get(e["kind"], 2),
                    re.sub(r"<[^>]+>", "", str(e["place"])),
                    e["kind"],
                    e["pinpoint"],
                )
            )
        return cited

    def _case_link(self, case: ir.Case, module: str) -> markupsafe.Markup:
        return self.links.a(self.links.case_file(module, case.name), case.name, title=case.title)

    def _cite(self, c: ir.Citation | None, module: str) -> Data | None:
        if c is None:
            return None
        key = self.links.authority_key(c.authority, module)
        return {
            "citation": c.citation,
            "href": self.links.authority_file(key) if key else "",
            "purpose": c.purpose,
            "pinpoint": c.pinpoint,
        }

    def _cites(self, cs: Iterable[ir.Citation], module: str) -> list[Data]:
        return [x for x in (self._cite(c, module) for c in cs) if x is not None]

    def _targets(self, expr: ir.Expr, module: str, slots: Sequence[tuple[str, str]] = ()) -> Any:
        targets: dict[str, markupsafe.Markup] = {}
        for label, key in slots:
            targets[label] = self.links.element(key, label)
        for kind, name in ir.references(expr):
            if kind == "element":
                short = name.rpartition(".")[2]
                targets.setdefault(short, self.links.element(name, short))
                targets.setdefault(name, self.links.element(name, name))
            elif kind == "doctrine":
                targets.setdefault(name, self.links.doctrine(name))
            else:
                targets.setdefault(name, self.links.fact(name, module))
        return targets

    def _requirement(self, expr: ir.Expr, text: str, module: str, slots: Any = ()) -> Any:
        return _linked_source(text, self._targets(expr, module, slots))

    # -- pages
    def pages(self) -> dict[str, str]:
        """Every page of the site: file name -> text."""
        from ..explain.render import environment

        env = environment().overlay()
        env.globals.update(
            site_title=self.title,
            link=self.links,
            court_words=court_words,
            show=show,
        )
        out: dict[str, str] = {}

        def page(name: str, template: str, **data: Any) -> None:
            out[name] = _tidy(env.get_template(f"site/{template}.html.j2").render(**data))

        page("index.html", "index", **self._index())
        for name in self.lib.doctrines:
            page(self.links.doctrine_file(name), "doctrine", **self._doctrine(name))
        for key in self.lib.elements:
            page(self.links.element_file(key), "element", **self._element(key))
        for key in self.lib.authorities:
            page(self.links.authority_file(key), "authority", **self._authority(key))
        for key in self.lib.facts:
            page(self.links.fact_file(key), "fact", **self._fact(key))
        for case, module, outcome, result in self.outcomes:
            page(
                self.links.case_file(module, case.name),
                "case",
                **self._case(case, module, outcome, result),
            )
            if result is not None:
                out[self.links.memo_file(module, case.name)] = self._memo(case, module, result)
        for module in self.lib.sources:
            page(self.links.module_file(module), "module", **self._module(module))
        page("search.html", "search", entries=self._search_entries())
        return out

    def _index(self) -> Data:
        courts: dict[str, list[Data]] = {}
        rows: list[Data] = []
        for name, d in self.lib.doctrines.items():
            row = {
                "name": name,
                "title": d.title,
                "court": d.court,
                "period": _period(d),
                "start": d.in_force_from.isoformat() if d.in_force_from else "",
                "until": d.in_force_until.isoformat() if d.in_force_until else "",
                "extends": d.extends,
                "cases": sum(1 for c, _ in self.lib.cases if c.doctrine == name),
            }
            courts.setdefault(d.court, []).append(row)
            rows.append(row)
        by_court: list[Data] = [
            {
                "court": court,
                "words": court_words(court) or "No court named",
                "doctrines": sorted(ds, key=lambda r: (r["start"], r["name"])),
            }
            for court, ds in sorted(courts.items(), key=lambda item: _court_order(item[0]))
        ]
        timed = sorted(
            (r for r in rows if r["start"] or r["until"]),
            key=lambda r: (r["start"] or r["until"], r["name"]),
        )
        modules = [
            {"name": m, "title": self.lib.titles.get(m, ""), "file": self.lib.files.get(m, "")}
            for m in sorted(self.lib.sources, key=self.links.module_name)
        ]
        return {
            "by_court": by_court,
            "timed": timed,
            "untimed": sorted(
                (r for r in rows if not (r["start"] or r["until"])), key=lambda r: r["name"]
            ),
            "modules": modules,
            "counts": {
                "doctrines": len(self.lib.doctrines),
                "elements": len(self.lib.elements),
                "authorities": len(self.lib.authorities),
                "facts": len(self.lib.facts),
                "cases": len(self.lib.cases),
            },
            "authorities": [
                {"key": k, "citation": a.citation()}
                for k, (a, _) in sorted(
                    self.lib.authorities.items(), key=lambda item: item[1][0].citation().lower()
                )
            ],
            "facts": [
                {"key": k, "name": f.name, "module": m, "meaning": f.meaning}
                for k, (f, m) in self.lib.facts.items()
            ],
        }

    def _doctrine(self, name: str) -> Data:
        d = self.lib.doctrines[name]
        compiled = self.lib.modules.get(d.module)
        doc = None
        if compiled is not None and name in compiled.DOCTRINES:
            evaluator = compiled.DOCTRINES[name]
            doc = documentation(compiled.INFO, name, evaluator.schema.facts)
        else:  # declared in a module of the library compiled only as an import
            for m in self.lib.modules.values():
                if name in m.DOCTRINES:
                    doc = documentation(m.INFO, name, m.DOCTRINES[name].schema.facts)
                    break
        slots = []
        for label, key in d.slots:
            el = self.lib.elements[key]
            slots.append(
                {
                    "label": label,
                    "key": key,
                    "element": el,
                    "requirement": self._requirement(
                        el.expr, el.text, el.module or key.rpartition(".")[0]
                    ),
                }
            )
        variants = sorted(n for n, other in self.lib.doctrines.items() if other.extends == name)
        cases = [
            (case, module, outcome, result)
            for case, module, outcome, result in self.outcomes
            if case.doctrine == name
        ]
        weighed = [
            {"name": f, "link": self.links.fact(f, d.module)} for f in sorted(d.facts_weighed)
        ]

        def cite_list(cs: Sequence[Mapping[str, Any]]) -> list[Data]:
            out = []
            for c in cs or ():
                key = self.links.authority_key(str(c.get("authority", "")), d.module)
                out.append(
                    {
                        "citation": c.get("citation", ""),
                        "href": self.links.authority_file(key) if key else "",
                        "purpose": c.get("purpose", ""),
                    }
                )
            return out

        return {
            "d": d,
            "doc": doc,
            "cite_list": cite_list,
            "period": _period(d),
            "source": self._cite(d.source, d.module),
            "cites": self._cites(d.cites, d.module),
            "requirement": self._requirement(d.expr, d.text, d.module, d.slots),
            "slots": slots,
            "rejects": [
                {
                    "r": r,
                    "on": [self.links.fact(f, d.module) for f in r.on],
                    "cites": self._cites(r.cites, d.module),
                }
                for r in d.rejects
            ],
            "variants": variants,
            "cases": cases,
            "weighed": weighed,
            "graph": self._graph(name),
            "tree": self._tree(name),
            "line": _line(d.pos),
        }

    def _element(self, key: str) -> Data:
        el = self.lib.elements[key]
        module = el.module or key.rpartition(".")[0]
        used_by_doctrines = sorted(
            {(n, label) for n, d in self.lib.doctrines.items() for label, k in d.slots if k == key}
        )
        used_by_elements = sorted(
            k
            for k, other in self.lib.elements.items()
            if ("element", key) in ir.references(other.expr)
        )
        facts = sorted(name for kind, name in ir.references(el.expr) if kind == "fact")
        return {
            "el": el,
            "key": key,
            "module": module,
            "requirement": self._requirement(el.expr, el.text, module),
            "in_words": self._in_words.get(key, ""),
            "cites": self._cites(el.cites, module),
            "doctrines": used_by_doctrines,
            "elements": used_by_elements,
            "facts": [self.links.fact(f, module) for f in facts],
            "line": _line(el.pos),
        }

    def _authority(self, key: str) -> Data:
        authority, module = self.lib.authorities[key]
        abrogated_by = (
            self.links.authority_key(authority.abrogated_by, module)
            if authority.abrogated_by
            else None
        )
        return {
            "a": authority,
            "key": key,
            "module": module,
            "citation": authority.citation(),
            "abrogated_by": abrogated_by,
            "facts": [
                {"link": self.links.fact(name, module), "value": show(value)}
                for name, value in authority.facts
            ],
            "cited": self._cited_by.get(key, []),
            "abrogates": sorted(
                k
                for k, (other, m) in self.lib.authorities.items()
                if other.abrogated_by and self.links.authority_key(other.abrogated_by, m) == key
            ),
        }

    def _fact(self, key: str) -> Data:
        fact, module = self.lib.facts[key]
        name = fact.name

        def reads(expr: ir.Expr, where: str) -> bool:
            return ("fact", name) in ir.references(expr) and self.links.fact_key(name, where) == key

        elements = [
            k
            for k, el in self.lib.elements.items()
            if reads(el.expr, el.module or k.rpartition(".")[0])
        ]
        weighed_by = sorted(
            n
            for n, d in self.lib.doctrines.items()
            if name in d.facts_weighed and self.links.fact_key(name, d.module) == key
        )
        rejected = sorted(
            (n, r.title)
            for n, d in self.lib.doctrines.items()
            for r in d.rejects
            if name in r.on and self.links.fact_key(name, d.module) == key
        )
        given = [
            (case, m, dict(case.given)[name])
            for case, m in self.lib.cases
            if name in dict(case.given) and self.links.fact_key(name, m) == key
        ]
        record = fact.type.record
        return {
            "f": fact,
            "key": key,
            "module": module,
            "type": fact.type.describe(),
            "values": list(fact.type.values),
            "fields": list(record.fields) if record else [],
            "elements": elements,
            "doctrines": weighed_by,
            "rejected": rejected,
            "given": [(self._case_link(c, m), show(v)) for c, m, v in given],
            "line": _line(fact.pos),
        }

    def _case(self, case: ir.Case, module: str, outcome: Any, result: Any) -> Data:
        given = [
            {"link": self.links.fact(name, module), "value": show(value)}
            for name, value in case.given
        ]
        return {
            "c": case,
            "module": module,
            "source": self._cite(case.source, module),
            "given": given,
            "outcome": outcome,
            "result": result,
            "memo": self.links.memo_file(module, case.name) if result is not None else "",
            "line": _line(case.pos),
        }

    def _memo(self, case: ir.Case, module: str, result: Any) -> str:
        memo = render_explanation(result, "html", case=case.title or case.name)
        case_page = html.escape(self.links.case_file(module, case.name))
        back = (
            f'<nav class="site-back"><a href="{case_page}">Back to the case</a> · '
            f'<a href="index.html">{html.escape(self.title)}</a></nav>'
        )
        return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + back, memo, count=1)

    def _module(self, module: str) -> Data:
        declared = {
            "doctrines": sorted(n for n, d in self.lib.doctrines.items() if d.module == module),
            "elements": sorted(
                k
                for k, el in self.lib.elements.items()
                if (el.module or k.rpartition(".")[0]) == module
            ),
            "facts": [k for k, (_, m) in self.lib.facts.items() if m == module],
            "authorities": [k for k, (_, m) in self.lib.authorities.items() if m == module],
            "cases": [(c, m) for c, m in self.lib.cases if m == module],
        }
        return {
            "module": module,
            "title": self.lib.titles.get(module, ""),
            "file": self.lib.files.get(module, ""),
            "imports": self.lib.imports.get(module, ()),
            "imported_by": sorted(m for m, deps in self.lib.imports.items() if module in deps),
            "declared": declared,
            "source": _highlight(self.lib.sources.get(module, "")),
        }

    def _search_entries(self) -> list[Data]:
        entries = []
        for name, d in self.lib.doctrines.items():
            entries.append(("doctrine", name, d.title, self.links.doctrine_file(name)))
        for key, el in self.lib.elements.items():
            entries.append(("element", key, el.title, self.links.element_file(key)))
        for key, (a, _) in self.lib.authorities.items():
            entries.append(("authority", a.name, a.citation(), self.links.authority_file(key)))
        for key, (f, _) in self.lib.facts.items():
            entries.append(("fact", f.name, f.meaning, self.links.fact_file(key)))
        for case, module in self.lib.cases:
            entries.append(("case", case.name, case.title, self.links.case_file(module, case.name)))
        for module in self.lib.sources:
            entries.append(
                (
                    "module",
                    self.links.module_name(module),
                    self.lib.titles.get(module, ""),
                    self.links.module_file(module),
                )
            )
        entries.sort(key=lambda e: (e[1].lower(), e[0], e[3]))
        return [
            {
                "kind": kind,
                "name": name,
                "title": title,
                "href": href,
                "text": f"{kind} {name} {name.replace('_', ' ')} {title}".lower(),
            }
            for kind, name, title, href in entries
        ]

    # -- drawings
    def _tree(self, name: str) -> list[Data]:
        """The doctrine's elements as a nested list: the drawing's text fallback."""
        d = self.lib.doctrines[name]

        def element(key: str, label: str, seen: frozenset[str]) -> Data:
            el = self.lib.elements[key]
            children: list[Data] = []
            if key not in seen:
                for kind, ref in ir.references(el.expr):
                    if kind == "element" and ref in self.lib.elements:
                        children.append(element(ref, ref.rpartition(".")[2], seen | {key}))
                    elif kind == "doctrine":
                        children.append(
                            {"kind": "doctrine", "link": self.links.doctrine(ref), "title": ""}
                        )
                    elif kind == "fact":
                        children.append(
                            {
                                "kind": "fact",
                                "link": self.links.fact(ref, el.module or key.rpartition(".")[0]),
                                "title": "",
                            }
                        )
            return {
                "kind": "element",
                "link": self.links.element(key, label),
                "title": el.title,
                "children": children,
            }

        return [element(key, label, frozenset()) for label, key in d.slots]

    def _graph(self, name: str) -> markupsafe.Markup | None:
        if self.dot is None:
            return None
        dot = self._dot(name)
        try:
            proc = subprocess.run(
                [self.dot, "-Tsvg"],
                input=dot,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
        svg = proc.stdout
        # The prolog, the doctype and Graphviz's comments (its version among them) go, so that
        # the page is the same wherever it is built with a Graphviz that draws alike.
        svg = re.sub(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", "", svg, flags=re.DOTALL)
        svg = re.sub(r'\swidth="[^"]*"\sheight="[^"]*"', "", svg, count=1)
        return markupsafe.Markup(svg.strip())

    def _dot(self, name: str) -> str:
        d = self.lib.doctrines[name]
        lines = [
            f"digraph {_q(name)} {{",
            "  rankdir=LR;",
            '  node [fontname="Helvetica", fontsize=11, shape=box];',
            '  edge [fontname="Helvetica", fontsize=9];',
        ]
        seen: set[str] = set()

        def node(node_id: str, label: str, href: str, tip: str, shape: str) -> None:
            if node_id in seen:
                return
            seen.add(node_id)
            lines.append(
                f'  {_q(node_id)} [label={_q(label)}, URL={_q(href)}, target="_top", '
                f"tooltip={_q(tip or label)}, {shape}];"
            )

        def element(key: str) -> str:
            node_id = f"e:{key}"
            if node_id in seen:
                return node_id
            el = self.lib.elements[key]
            node(node_id, el.name, self.links.element_file(key), el.title, "shape=box")
            module = el.module or key.rpartition(".")[0]
            for kind, ref in ir.references(el.expr):
                if kind == "element" and ref in self.lib.elements:
                    lines.append(f"  {_q(node_id)} -> {_q(element(ref))};")
                elif kind == "doctrine" and ref in self.lib.doctrines:
                    target = f"d:{ref}"
                    node(
                        target,
                        ref,
                        self.links.doctrine_file(ref),
                        self.lib.doctrines[ref].title,
                        'shape=box, style="rounded,bold"',
                    )
                    lines.append(f"  {_q(node_id)} -> {_q(target)};")
                elif kind == "fact":
                    fact_key = self.links.fact_key(ref, module)
                    if fact_key is None:
                        continue
                    target = f"f:{fact_key}"
                    node(
                        target,
                        ref,
                        self.links.fact_file(fact_key),
                        self.lib.facts[fact_key][0].meaning,
                        "shape=ellipse",
                    )
                    lines.append(f"  {_q(node_id)} -> {_q(target)};")
            return node_id

        root = f"d:{name}"
        node(root, name, self.links.doctrine_file(name), d.title, 'shape=box, style="rounded,bold"')
        for label, key in d.slots:
            target = element(key)
            edge_label = f" [label={_q(label)}]" if label != key.rpartition(".")[2] else ""
            lines.append(f"  {_q(root)} -> {_q(target)}{edge_label};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _rule_cites(expr: ir.Expr, under: str = "") -> list[tuple[str, tuple[ir.Citation, ...]]]:
    """The citations of a general rule and its exceptions (nested ones too), each labelled."""
    if not isinstance(expr, ir.Chain):
        return []
    head = "first-match list" if expr.kind == "first_match" else "general rule"
    out = [(under or head, expr.cites)]
    for branch in expr.branches:
        label = f"{under} / {branch.label}" if under else f"exception {branch.label}"
        if expr.kind == "first_match":
            label = f"{under} / line {branch.label}" if under else f"line {branch.label}"
        out.append((label, branch.cites))
        out.extend(_rule_cites(branch.result, label))
    return out


def _highlight(source: str) -> markupsafe.Markup:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    from .highlight import DoctrineLexer

    formatter = HtmlFormatter(cssclass="doctrine-source", linenos="inline", lineanchors="L")
    return markupsafe.Markup(highlight(source, DoctrineLexer(), formatter))


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def _stylesheet() -> str:
    from ..syntax.resources import data_dir
    from .highlight import stylesheet

    ours = (data_dir("templates") / "site" / "site.css").read_text(encoding="utf-8")
    return ours + "\n/* Source highlighting (Pygments) */\n" + stylesheet()


def _library_title(root: Path, lib: Library) -> str:
    name = root.resolve().name if root.is_dir() else root.stem
    return f"The {name} library"


def build_site(
    library: Path,
    out: Path,
    *,
    title: str | None = None,
    graphviz: bool | None = None,
) -> list[Path]:
    """Write the site of `library` (a folder or one file) into `out`; return the files written.

    `graphviz`: None draws each doctrine with Graphviz when `dot` is on the PATH and falls
    back to a nested list otherwise; False always uses the list; True requires Graphviz.
    """
    if not library.exists():
        raise SiteError(f"{library}: no such file or folder")
    lib = gather(library)
    site = Site(lib, title or _library_title(library, lib), graphviz)
    pages = site.pages()
    pages["site.css"] = _stylesheet()
    pages["search.js"] = _SEARCH_JS
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in sorted(pages):
            target = out / name
            target.write_text(pages[name], encoding="utf-8", newline="\n")
            written.append(target)
    except OSError as exc:
        raise SiteError(f"cannot write into {out}: {exc.strerror or exc}") from None
    return written


# The search page filters its own list, prebuilt into it: no index to fetch, no service.
_SEARCH_JS = """\
// Filters the list of search.html by the words typed (or given as ?q=...), offline.
(function () {
  var box = document.getElementById("q");
  var items = Array.prototype.slice.call(document.querySelectorAll("#results li"));
  var count = document.getElementById("count");
  function run() {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (li) {
      var text = li.getAttribute("data-text");
      var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
      li.hidden = !hit;
      if (hit) { shown += 1; }
    });
    count.textContent = shown + (shown === 1 ? " match" : " matches");
  }
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) { box.value = q; }
  box.addEventListener("input", run);
  run();
})();
"""


# ---------------------------------------------------------------- checking the links


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            elif name in ("href", "src", "xlink:href", "action"):
                self.links.append(value)


def broken_links(folder: Path) -> list[str]:
    """Every link of the site's pages that leads nowhere: "page: link (why)", sorted.

    A link to another site (a scheme, or `//`) is not followed; a relative link must name a
    file of the folder and, with `#id`, an element of that page with that id.
    """
    pages: dict[str, _Anchors] = {}
    for path in sorted(folder.rglob("*.html")):
        parser = _Anchors()
        parser.feed(path.read_text(encoding="utf-8"))
        pages[path.relative_to(folder).as_posix()] = parser
    problems = []
    for page, parsed in pages.items():
        base = Path(page).parent
        for link in parsed.links:
            if re.match(r"^[a-z][a-z0-9+.-]*:|^//", link, re.IGNORECASE):
                continue
            target, _, fragment = link.partition("#")
            target = target.partition("?")[0]
            name = _normal((base / target).as_posix() if target else page)
            if name is None or not (folder / name).is_file():
                problems.append(f"{page}: {link} (no such file)")
            elif fragment and name.endswith(".html") and fragment not in pages[name].ids:
                problems.append(f"{page}: {link} (no #{fragment} on that page)")
    return sorted(set(problems))


def _normal(name: str) -> str | None:
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


# ---------------------------------------------------------------- one doctrine, embedded


def doctrine_fragment(path: Path, doctrine: str | None = None, site: str = "") -> str:
    """One doctrine's document as an HTML fragment, for a page of another site (Sphinx).

    Names link into a site built by `doctrine site` at the address `site` when one is given;
    otherwise they are plain code.
    """
    lib = gather(path)
    name = _main_doctrine(lib, path, doctrine)
    built = Site(lib, _library_title(path, lib), graphviz=False)
    from ..explain.render import environment

    env = environment().overlay()
    env.globals.update(site_title=built.title, link=built.links, court_words=court_words, show=show)
    fragment = _tidy(env.get_template("site/fragment.html.j2").render(**built._doctrine(name)))
    if not site:
        # No site to link to: the names stay, as code, without their links.
        fragment = re.sub(
            r'<a href="(?![a-z][a-z0-9+.-]*:|#)[^"]*"[^>]*>(.*?)</a>', r"\1", fragment, flags=re.S
        )
    else:
        prefix = site if site.endswith("/") else site + "/"
        # Relative addresses of the site's pages become addresses under `site`.
        fragment = re.sub(
            r'((?:xlink:)?href=")(?![a-z][a-z0-9+.-]*:|#|/)',
            lambda m: m.group(1) + html.escape(prefix),
            fragment,
        )
    return fragment


def doctrine_text(path: Path, doctrine: str | None = None) -> str:
    """One doctrine's document as plain text, as `doctrine doc --format text` writes it."""
    from ..explain.explanation import render_documentation

    lib = gather(path)
    name = _main_doctrine(lib, path, doctrine)
    for module in lib.modules.values():
        if name in module.DOCTRINES:
            return render_documentation(module.DOCTRINES[name], "text")
    raise SiteError(f"cannot find the compiled module of doctrine `{name}`")


def _main_doctrine(lib: Library, path: Path, doctrine: str | None) -> str:
    program = lib.programs[0]
    name = doctrine or program.main
    if name is None or name not in lib.doctrines:
        known = ", ".join(d.name for d in program.doctrines) or "none"
        shown = f"`{name}`" if name else "doctrine of its own"
        raise SiteError(f"{display_path(path)} has no {shown}; its doctrines: {known}")
    return name
