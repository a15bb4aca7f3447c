"""Which rule governed: doctrines by the question they answer, their court and their period."""

from __future__ import annotations

import datetime
from pathlib import Path

import attrs

from ..checking import ir
from ..codegen.compile import check_files
from ..runtime import program


@attrs.frozen
class Standing:
    """One doctrine's standing on a question, for a court and a day."""

    doctrine: str
    title: str
    governed: bool
    reason: str


def binds(rule_court: str, court: str) -> bool:
    """A rule binds a court when it is the Supreme Court's, that court's own, or says no court."""
    return rule_court in ("", "SCOTUS") or rule_court == court


def period_reason(d: ir.Doctrine | program.DoctrineInfo, day: datetime.date) -> str:
    """Why the rule was not in force on `day`, or the empty string when it was."""
    start, end = d.in_force_from, d.in_force_until
    if start is not None and day < start:
        return f"not yet in force: it governs from {start.isoformat()}"
    if end is not None and day >= end:
        return f"no longer in force: it governed only until {end.isoformat()}"
    return ""


def _court_name(court: str) -> str:
    if court == "SCOTUS":
        return "the Supreme Court"
    return f"the {court} Circuit" if court[:1].isdigit() else court


def standings(question: str, court: str, day: datetime.date, paths: list[Path]) -> list[Standing]:
    """Every doctrine of the library that answers `question`, and whether it governed."""
    project, _ = check_files(paths)
    family = project.family(question)
    out = []
    for name in sorted(project.doctrines):
        d = project.doctrines[name]
        if project.family(name) != family:
            continue
        if d.opinion:
            # A dissent or concurrence states no court's law, whatever court it sat on.
            out.append(
                Standing(
                    name,
                    d.title,
                    governed=False,
                    reason=f"a separate opinion's rule ({d.opinion}): the law of no court",
                )
            )
            continue
        if not binds(d.court, court):
            reason = f"{_court_name(d.court)}'s rule does not bind {_court_name(court)}"
        else:
            reason = period_reason(d, day)
        if not reason:
            where = f"{_court_name(d.court)}'s rule" if d.court else "a rule of no one court"
            period = ", ".join(
                p
                for p in (
                    f"in force from {d.in_force_from.isoformat()}" if d.in_force_from else "",
                    f"until {d.in_force_until.isoformat()}" if d.in_force_until else "",
                )
                if p
            )
            reason = where + (f", {period}" if period else "")
        out.append(
            Standing(
                name,
                d.title,
                governed=not reason.startswith(("not yet", "no longer")) and binds(d.court, court),
                reason=reason,
            )
        )
    # A court's own rule in force states its law; a Supreme Court rule binding it too is the
    # floor that rule must keep (one that did not would have been abrogated, ending its
    # period), so the court's own rule is the one that governed.
    own = [s.doctrine for s in out if s.governed and project.doctrines[s.doctrine].court == court]
    if own:
        out = [
            attrs.evolve(
                s,
                governed=False,
                reason=f"{s.reason}; binding here too, but {_court_name(court)}'s own rule"
                f" in force then ({', '.join(own)}) is the one applied",
            )
            if s.governed and s.doctrine not in own
            else s
            for s in out
        ]
    return out


def library_files(folder: Path) -> list[Path]:
    """The .doctrine files of a library folder, its subfolders included."""
    return sorted(folder.rglob("*.doctrine"))
