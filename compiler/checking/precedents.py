"""Decided cases as data: the record a `precedents` line fills, and what each case offers it.

The legal notion, kept out of the generic checker: a doctrine may fill a list fact with the
library's authorities that decided its question (`precedents for LIST from DOCTRINE`). The
runtime's precedent screening (`runtime.precedent_records`) reads the candidates built here.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import ir

# The fields the library fills in each decided case: (kind, optional). The record of the list
# a `precedents` line fills must declare each of them so.
FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("text", False),
    "court": ("text", False),
    "decided": ("date", False),
    "recognizes_right": ("bool", False),
    "materially_similar": ("bool", False),
    "abrogated": ("date", True),
}


# The help of D0313, from FIELDS so that the two never disagree.
FILLED = "the library fills " + (
    ", ".join(name for name, (_, optional) in FIELDS.items() if not optional)
    + "".join(f" and an optional {name}" for name, (_, optional) in FIELDS.items() if optional)
)


def missing_field(record: ir.RecordType) -> tuple[str, str] | None:
    """The first field the library fills that `record` lacks or types otherwise, with the type
    it needs (`"optional date"`); None when the library can fill the record."""
    for name, (kind, optional) in FIELDS.items():
        field = record.field(name)
        if field is None or field.type.kind != kind or field.optional != optional:
            return name, f"{'optional ' if optional else ''}{kind}"
    return None


def candidate(
    authority: ir.Authority,
    vocabulary: Mapping[str, ir.Fact],
    applied: ir.Doctrine | None,
    target: ir.Doctrine | None,
) -> ir.Precedent:
    """One decided case as the precedent screening reads it: who decided what, when, on which
    facts; the facts it relied on that favour a side (those its doctrine weighs, `applied`),
    and the facts favouring the defendant that the doctrine asking (`target`) weighs."""
    weighed = set(applied.facts_weighed if applied else dict(authority.facts))
    relied = tuple(
        ir.Weighed(fact, f.type.kind, f.favours, f.type.values)
        for fact, _ in authority.facts
        if fact in weighed and (f := vocabulary.get(fact)) is not None and f.favours
    )
    against = tuple(
        ir.Weighed(f.name, f.type.kind, f.favours, f.type.values)
        for f in vocabulary.values()
        if f.favours == "defendant" and target is not None and f.name in target.facts_weighed
    )
    return ir.Precedent(
        key=authority.name,
        name=authority.citation(),
        court=authority.court,
        decided=authority.decided,
        year=authority.year,
        held=authority.held,
        applied=authority.applied,
        abrogated=authority.abrogated,
        facts=dict(authority.facts),
        relied=relied,
        against=against,
    )
