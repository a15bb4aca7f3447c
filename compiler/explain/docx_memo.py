"""Writes an explanation as a Word document (.docx), with python-docx, from the same data and
sentences as the markdown, HTML and text memos.

python-docx is an optional dependency (`pip install 'doctrine[docx]'`); without it,
`DocxUnavailable` says what to install. Case names are set in italics, the heading block
(To / From / Date / Re) is a table, headings keep with the text that follows them, and the
footer numbers the pages with Word's own PAGE and NUMPAGES fields.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import DoctrineException
from .render import CASE_NAME, case_pattern, environment

__all__ = ["DocxUnavailable", "documentation_docx", "explanation_docx"]

Data = Mapping[str, Any]


class DocxUnavailable(DoctrineException):
    """python-docx is not installed; the message says how to install it."""


# Characters a Word document cannot hold (XML 1.0 forbids most controls and surrogates) or
# that a case should not smuggle in (escape sequences): each is written as a visible escape.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _clean(value: Any) -> Any:
    """The explanation's data with every string made fit for a Word document."""
    if isinstance(value, str):
        return _UNSAFE.sub(
            lambda m: (
                f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
            ),
            value,
        )
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _phrases() -> Any:
    """The sentences every format shares (templates/_phrases.j2), callable from Python."""
    return environment().get_template("_phrases.j2").module


_cases = [CASE_NAME]  # the pattern of the document being written (its cases' short names)


def _runs(paragraph: Any, text: str, *, italic_cases: bool = True) -> None:
    """Add `text` to a paragraph, case names in italics and `code` in a fixed-width face."""
    for n, chunk in enumerate(re.split(r"(`[^`]*`)", str(text))):
        if n % 2:
            run = paragraph.add_run(chunk[1:-1])
            run.font.name = "Consolas"
            continue
        place = 0
        for match in _cases[0].finditer(chunk) if italic_cases else ():
            paragraph.add_run(chunk[place : match.start()])
            paragraph.add_run(match.group()).italic = True
            place = match.end()
        paragraph.add_run(chunk[place:])


def _cite(paragraph: Any, c: Data) -> None:
    """A citation in the form the memo gives it (full, short or Id.), the name in italics."""
    if c.get("name"):
        paragraph.add_run(str(c["name"])).italic = True
        if c.get("rest"):
            paragraph.add_run(str(c.get("sep", ", ")))
    paragraph.add_run(str(c.get("rest", "")))
    if c.get("purpose"):
        paragraph.add_run(f" ({c['purpose']})")


class _Writer:
    def __init__(self, document: Any):
        self.doc = document

    def heading(self, text: str, level: int) -> None:
        paragraph = self.doc.add_heading(level=level)
        _runs(paragraph, text)
        paragraph.paragraph_format.keep_with_next = True

    def para(self, text: str = "", style: str | None = None, *, bold_lead: str = "") -> Any:
        paragraph = self.doc.add_paragraph(style=style)
        if bold_lead:
            paragraph.add_run(bold_lead).bold = True
        _runs(paragraph, text)
        return paragraph

    def label(self, text: str) -> None:
        paragraph = self.doc.add_paragraph()
        run = paragraph.add_run(text)
        run.bold = True
        paragraph.paragraph_format.keep_with_next = True

    def bullets(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.para(line, "List Bullet")

    def cites(self, cites: Iterable[Data], heading: str = "Authorities") -> None:
        cites = list(cites)
        if not cites:
            return
        self.label(heading)
        for c in cites:
            _cite(self.doc.add_paragraph(style="List Bullet"), c)

    def table(self, headers: list[str], rows: list[list[str]], style: str = "Table Grid") -> None:
        table = self.doc.add_table(rows=1, cols=len(headers))
        table.style = style
        for cell, text in zip(table.rows[0].cells, headers, strict=True):
            cell.paragraphs[0].add_run(text).bold = True
        for row in rows:
            cells = table.add_row().cells
            for cell, text in zip(cells, row, strict=True):
                _runs(cell.paragraphs[0], text)


def _page_numbers(document: Any) -> None:
    """'Page N of M' in the footer of every page, as Word fields."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def field(code: str) -> None:
        run = paragraph.add_run()
        for kind, text in (("begin", None), (None, code), ("separate", None), ("end", None)):
            if kind is None:
                instr = OxmlElement("w:instrText")
                instr.set(qn("xml:space"), "preserve")
                instr.text = text
                run._r.append(instr)
            else:
                mark = OxmlElement("w:fldChar")
                mark.set(qn("w:fldCharType"), kind)
                run._r.append(mark)

    paragraph.add_run("Page ")
    field("PAGE")
    paragraph.add_run(" of ")
    field("NUMPAGES")


def _fact(q: Data, p: Any) -> str:
    return f"{p.fact_words(q)} (`{p.fact_ref(q)}`)"


def _library() -> tuple[Any, Any]:
    try:
        import docx
        from docx.shared import Pt
    except ImportError:
        raise DocxUnavailable(
            "--format docx needs python-docx: pip install 'doctrine[docx]'"
            " (or pip install python-docx)"
        ) from None
    return docx, Pt


def _new_document(docx: Any, title: str) -> Any:
    """A document in a memo's type, with no author and python-docx's fixed dates, so that the
    same data gives the same file."""
    _, pt = _library()
    document = docx.Document()
    props = document.core_properties
    props.author = ""
    props.last_modified_by = ""
    props.title = title
    props.comments = "written by doctrine"
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = pt(12)
    return document


def explanation_docx(data: Data) -> bytes:
    """The explanation (`explain.explanation()`'s data) as the bytes of a .docx file."""
    docx, _pt = _library()
    data = _clean(data)
    _cases[0] = case_pattern(tuple(data.get("case_short_names") or ()))
    p = _phrases()
    document = _new_document(docx, str(data["doctrine"]["title"]))
    w = _Writer(document)
    d = data["doctrine"]

    memo = data.get("memo")
    if memo:
        w.para().add_run("MEMORANDUM").bold = True
        rows = [
            [label, str(memo[key])]
            for label, key in (("To:", "to"), ("From:", "from"), ("Date:", "date"), ("Re:", "re"))
            if memo.get(key)
        ]
        table = document.add_table(rows=0, cols=2)
        for label, value in rows:
            cells = table.add_row().cells
            cells[0].paragraphs[0].add_run(label).bold = True
            _runs(cells[1].paragraphs[0], value)

    w.heading(str(d["title"]), 1)
    meta = w.para(bold_lead="Doctrine: ")
    meta.add_run(str(d["name"])).font.name = "Consolas"
    if d.get("module_title"):
        meta.add_run(f" ({d['module_title']})")
    if d.get("source"):
        source = w.para(bold_lead="Source: ")
        _cite(source, d["source"])
        if d.get("court_words"):
            source.add_run(f"; {d['court_words']}")
    if d["period"]["bounded"]:
        w.para(str(d["period"]["text"]), bold_lead="In force: ")
    if d.get("extends"):
        w.para(f"{d['extends']['name']} ({d['extends']['title']})", bold_lead="Variant of: ")
    if data.get("case"):
        w.para(str(data["case"]), bold_lead="Facts: ")

    governing = data.get("governing")  # the law applied: whose, as of when, which rule
    if governing:
        w.heading("The law applied", 2)
        if governing.get("separate"):
            w.para(str(governing["separate"]), bold_lead="A separate opinion, not the law. ")
        for label, key in (
            ("Whose law: ", "whose"),
            ("As of: ", "as_of"),
            ("The rule applied: ", "rule"),
            ("Caution: ", "caution"),
        ):
            if governing.get(key):
                w.para(str(governing[key]), bold_lead=label)

    w.heading("Conclusion", 2)
    w.para(
        str(p.conclusion(data["conclusion"], data["missing"])),
        bold_lead=f"{p.outcome_word(data['outcome'])}. ",
    )
    if d["period"]["bounded"]:
        w.para(str(p.period_note(d["period"])))

    stage = data.get("stage")
    if stage:
        w.heading(f"At {stage['words']}", 2)
        w.para(
            "The facts marked alleged or disputed are read as they count at this stage of "
            "the proceedings:"
        )
        w.bullets(
            f"{n['words'][:1].upper()}{n['words'][1:]} (`{n['fact']}`) counts as {n['used']}: "
            f"{n['why']}."
            for n in stage["record"]
        )

    if data.get("open"):
        w.heading("Open questions", 2)
        w.para("The law encoded leaves the outcome open for this reason, whatever the facts:")
        w.bullets(str(reason) for reason in data["open"])
    if data.get("presumed"):
        w.heading("Burdens of proof", 2)
        w.para(
            "The case does not give these facts; the burden of proof decides what their "
            "absence counts as:"
        )
        for b in data["presumed"]:
            when = f" (as `{b['when']}`)" if b.get("when") else ""
            line = w.para(
                f"{b['words'][:1].upper()}{b['words'][1:]} (`{b['fact']}`) counts as "
                f"{b['value']}{when}: {b['because']}",
                "List Bullet",
            )
            for c in b.get("cites") or ():
                line.add_run(" ")
                _cite(line, c)
    if data.get("not_reached"):
        w.heading("Not reached", 2)
        thresholds = list(data.get("thresholds") or ())
        reached = list(data["not_reached"])
        w.para(
            f"{', '.join(thresholds)[:1].upper()}{', '.join(thresholds)[1:]} "
            f"{'is a threshold' if len(thresholds) == 1 else 'are thresholds'} the court "
            f"answers before the elements, and it failed: {', '.join(reached)} "
            f"{'was' if len(reached) == 1 else 'were'} not reached."
        )

    w.heading("Elements", 2)
    w.table(
        ["Element", "Result", "Turned on"],
        [
            [
                e["words"][:1].upper() + e["words"][1:],
                e["status"],
                ", ".join(q["words"] for q in e["facts"]) or "—",
            ]
            for e in data["elements"]
        ],
    )
    for n, e in enumerate(data["elements"], 1):
        w.heading(str(p.element_heading(e, n)), 3)
        w.para(f"{e['title']}.").runs[0].italic = True
        w.para(f"{e['requirement']}.", bold_lead="Requires: ")
        if e["facts"]:
            w.label(
                "Facts it turned on"
                if e["status"] != "undetermined"
                else "Facts that leave it open"
            )
            w.bullets(_fact(q, p) for q in e["facts"])
        if e["members"]:
            w.label(f"Each of the {e['members'][0]['list'].replace('_', ' ')}")
            w.bullets(f"{it['title']}: {p.item_status(it)}" for it in e["members"])
        if e["parts"]:
            w.label("Through")
            w.bullets(str(p.part_line(part)) for part in e["parts"])
        if e["prose"]:
            w.para(str(e["prose"]))
        for note in e["notes"]:
            w.para(str(note), bold_lead="Note: ")
        w.cites(e["cites"])

    supplied = data.get("supplied")
    if supplied:
        w.heading(f"Decided cases standing in for {supplied['list']}", 2)
        w.para(
            f"The case gives no {supplied['words']}; the library's decided cases stand in "
            "for them, each weighed by precedential constraint:"
        )
        w.bullets(f"{c['name']}: {c['reason']}" for c in supplied["cases"])

    rules = data.get("rules")
    if rules:
        w.heading("The general rule and its exceptions", 2)
        for b in rules["branches"]:
            lead = f"{b['words'][:1].upper()}{b['words'][1:]}"
            decides = ", decides the case" if b["decides"] else ""
            w.para(
                f" ({b['status']}{decides}): the test is {b['outcome']} when "
                f"{b['condition']}. {b['because']}",
                "List Bullet",
                bold_lead=lead,
            )
        default = rules["default"]
        when = "decides the case" if default["decides"] else "applies when no exception does"
        w.para(
            f" ({when}): the test is {default['outcome']}. {default['because']}",
            "List Bullet",
            bold_lead="General rule",
        )

    if data.get("rejects"):
        w.heading("Theories that do not suffice", 2)
        for r in data["rejects"]:
            under = f" (under {r['under']})" if r.get("under") else ""
            w.heading(f"{r['title']}{under}", 3)
            w.label(str(p.raised(r)))
            w.bullets(_fact(q, p) for q in r["on"])
            w.para(str(r["because"]))
            w.cites(r["cites"])

    if data.get("unweighed"):
        w.heading("Given facts this doctrine does not weigh", 2)
        w.bullets(
            _fact(q, p)
            + (f" (answered above: {', '.join(q['answered_by'])})" if q["answered_by"] else "")
            for q in data["unweighed"]
        )

    if data.get("missing"):
        w.heading("Facts still needed", 2)
        w.bullets(f"{p.missing_words(q)} ({q['type']}; `{q['name']}`)" for q in data["missing"])

    counterfactuals = data["counterfactuals"]
    if counterfactuals["searched"]:
        w.heading("What would change the outcome", 2)
        if counterfactuals["all"]:
            w.bullets(str(p.would(cf)) for cf in counterfactuals["all"])
        else:
            w.para(
                "No change to the facts this doctrine weighs would settle the outcome the "
                "other way."
            )

    _page_numbers(document)
    out = io.BytesIO()
    document.save(out)
    return _stable(out.getvalue())


def _stable(content: bytes) -> bytes:
    """The package again with every member dated 1980-01-01, so that the same explanation
    always gives the same bytes (python-docx stamps the time of writing)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(member.filename))
    return out.getvalue()


def documentation_docx(data: Data) -> bytes:
    """A doctrine written out (`explain.documentation()`'s data) as the bytes of a .docx file."""
    docx, _pt = _library()
    data = _clean(data)
    _cases[0] = case_pattern(tuple(data.get("case_short_names") or ()))
    document = _new_document(docx, str(data["doctrine"]["title"]))
    w = _Writer(document)
    d = data["doctrine"]
    w.heading(str(d["title"]), 1)
    meta = w.para(bold_lead="Module: " if d["module_only"] else "Doctrine: ")
    meta.add_run(str(d["name"])).font.name = "Consolas"
    if d.get("module_title"):
        meta.add_run(f" ({d['module_title']})")
    if d.get("source"):
        _cite(w.para(bold_lead="Source: "), d["source"])
    if d.get("court_words"):
        w.para(str(d["court_words"]), bold_lead="Jurisdiction: ")
    if not d["module_only"]:
        period = d["period"]["text"] if d["period"]["bounded"] else "without limit of time"
        w.para(str(period), bold_lead="In force: ")
    if d.get("extends"):
        w.para(f"{d['extends']['name']} ({d['extends']['title']})", bold_lead="Variant of: ")
    for note in d.get("notes") or ():
        w.para(str(note))
    if not d["module_only"]:
        w.heading("The test", 2)
        rules = data.get("rules")
        if rules:
            for b in rules["branches"]:
                w.para(
                    f": the test is {b['outcome']} when {b['condition']}. {b['because']}",
                    "List Bullet",
                    bold_lead=f"{b['words'][:1].upper()}{b['words'][1:]}",
                )
            default = rules["default"]
            w.para(
                f": the test is {default['outcome']}. {default['because']}",
                "List Bullet",
                bold_lead="Otherwise" if rules["first_match"] else "General rule",
            )
        else:
            w.para(f"The test is met when {d['requirement']}.")
        w.cites(d.get("cites") or ())

    def element(e: Data, number: str, level: int) -> None:
        w.heading(f"{number}{e['words'][:1].upper()}{e['words'][1:]}", level)
        w.para(f"{e['title']}.").runs[0].italic = True
        w.para(f"{e['requirement']}.", bold_lead="Requires: ")
        if e.get("met"):
            w.para(str(e["met"]), "List Bullet", bold_lead="Met: ")
        if e.get("unmet"):
            w.para(str(e["unmet"]), "List Bullet", bold_lead="Not met: ")
        for note in e.get("notes") or ():
            w.para(str(note), bold_lead="Note: ")
        w.cites(e.get("cites") or ())
        for sub in e.get("parts") or ():
            element(sub, "", min(level + 1, 9))

    if data.get("elements"):
        w.heading("Elements", 2)
        for n, e in enumerate(data["elements"], 1):
            element(e, f"{n}. ", 3)
    if data.get("rejects"):
        w.heading("Theories it rejects", 2)
        for r in data["rejects"]:
            w.heading(str(r["title"]), 3)
            w.para(", ".join(f"`{q['name']}`" for q in r["on"]), bold_lead="On: ")
            w.para(str(r["because"]))
            w.cites(r.get("cites") or ())
    variant = data.get("variant")
    if variant:
        w.heading(f"How it differs from {variant['parent']['name']}", 2)
        for c in variant["elements"]:
            before = c["before"]["title"] if c.get("before") else ""
            after = c["after"]["title"] if c.get("after") else ""
            change = " becomes ".join(x for x in (before, after) if x)
            w.para(
                f" ({c['change']}): {change}.",
                "List Bullet",
                bold_lead=f"{c['words'][:1].upper()}{c['words'][1:]}",
            )
    w.heading("Facts" if d["module_only"] and not data.get("elements") else "Facts it weighs", 2)
    w.bullets(
        f"`{f['name']}`" + (f" — {f['meaning']}" if f.get("meaning") else "") + f" ({f['type']})"
        for f in data.get("facts") or ()
    )
    _page_numbers(document)
    out = io.BytesIO()
    document.save(out)
    return _stable(out.getvalue())
