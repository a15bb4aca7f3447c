"""`doctrine mcp`: the library's doctrines as tools for AI assistants (Model Context Protocol).

An assistant that reasons about a legal test from memory gets it wrong in the ways the
compiled doctrines exist to prevent, so every answer here comes from them: `evaluate`, the
result's `missing` (through `interview.next_step`), the memo templates, and `doctrine which`.
The assistant gathers facts and relays results; it never decides the test.
"""

# No `from __future__ import annotations`: the SDK reads the tools' parameter types, some of
# them built at run time (the library's names), from the evaluated annotations.
import datetime
import json
from pathlib import Path
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources.types import FunctionResource
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from .. import __version__
from ..runtime import FactsError
from . import interview
from .library import Entry, Library

__all__ = ["build_server"]

_INSTRUCTIONS = """\
These tools apply legal tests (doctrines) compiled from a reviewed library, with their
citations. Use them instead of stating a test from memory. Gather the facts of the user's case,
call `next_question` to learn which fact to ask about next (and why it matters), and `evaluate`
or `explain` for the answer. A fact the user does not know is left out: the result then reports
it under `missing` rather than guessing. Judgments such as whether a precedent is materially
similar to the case stay with the lawyer: ask the user, never infer them. Relay results and memos
faithfully, with their citations; they are not legal advice."""

_FACTS_HELP = (
    "The facts of the case: an object of fact names (as `describe_doctrine` lists them) to "
    "values. Leave out, or give as null, any fact that is not known: it is reported as "
    "missing, not guessed. Dates as YYYY-MM-DD."
)
_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def _reply(data: Any, *extra: str) -> CallToolResult:
    """A tool's result: structured content, and the same JSON as text beside it."""
    text = json.dumps(data, ensure_ascii=False)
    content: list[Any] = [TextContent(type="text", text=text)]
    content.extend(TextContent(type="text", text=e) for e in extra)
    return CallToolResult(content=content, structured_content=data)


def build_server(library: Library) -> MCPServer:
    """The MCP server over a compiled library: six tools and two resources per doctrine."""
    server: MCPServer = MCPServer(
        name="doctrine",
        title="Doctrine: legal tests as tools",
        version=__version__,
        instructions=_INSTRUCTIONS,
    )
    names = list(library.entries)
    doctrine_arg = Annotated[
        str,
        Field(
            description="the doctrine's name, as `list_doctrines` gives it",
            json_schema_extra={"enum": names},
        ),
    ]
    facts_arg = Annotated[dict[str, Any] | None, Field(description=_FACTS_HELP)]

    def entry(name: str) -> Entry:
        found = library.get(name)
        if found is None:
            raise ToolError(library.unknown(name) + f"; the doctrines are {', '.join(names)}")
        return found

    def evaluated(name: str, facts: dict[str, Any] | None) -> Any:
        try:
            return entry(name).evaluate(facts or {})
        except FactsError as exc:
            raise ToolError(
                "the facts do not fit the doctrine:\n" + "\n".join(exc.problems)
            ) from None

    @server.tool(
        annotations=_READ_ONLY,
        description="List the legal tests (doctrines) this server can apply: each one's name, "
        "title, court, the period it was in force, its elements and the facts it weighs. "
        "Start here to pick the doctrine for the user's question; `which` picks among variants "
        "by court and date.",
    )
    def list_doctrines() -> CallToolResult:
        return _reply({"doctrines": [e.summary() for e in library.entries.values()]})

    @server.tool(
        annotations=_READ_ONLY,
        description="Describe one doctrine: its elements and the test each applies, its "
        "source, and the JSON Schema of the facts it accepts (every fact's type, allowed "
        "values and meaning). Read the meanings before asking the user about a fact: they say "
        "exactly what each fact means in law.",
    )
    def describe_doctrine(doctrine: doctrine_arg) -> CallToolResult:
        return _reply(entry(doctrine).describe())

    @server.tool(
        annotations=_READ_ONLY,
        description="Apply a doctrine to the facts of a case. Returns exactly the JSON of "
        "`doctrine eval --format json`: `holds` (true, false, or null when the facts given do "
        "not settle it), each element's value, and `missing`, the unknown facts that could "
        "still change the answer. It decides only what the compiled test decides; unknown "
        "facts are reported in `missing`, never guessed. A bad fact name or value is an error "
        "naming the fact.",
    )
    def evaluate(doctrine: doctrine_arg, facts: facts_arg = None) -> CallToolResult:
        return _reply(evaluated(doctrine, facts).as_dict())

    @server.tool(
        annotations=_READ_ONLY,
        description="Given the facts known so far, name the one fact worth asking the user "
        "about next: its meaning, type, allowed values, and the elements of the test it can "
        "still decide. Returns {done: false, question, result} or, when no unasked fact can "
        "change the answer, {done: true, result}. Give a fact the user does not know as null: "
        "it counts as asked and is not asked again. Ask the user; do not answer it yourself.",
    )
    def next_question(doctrine: doctrine_arg, facts: facts_arg = None) -> CallToolResult:
        found = entry(doctrine)
        try:
            step = interview.next_step(found.evaluator, facts or {})
        except FactsError as exc:
            raise ToolError(
                "the facts do not fit the doctrine:\n" + "\n".join(exc.problems)
            ) from None
        return _reply(step.as_dict())

    @server.tool(
        annotations=_READ_ONLY,
        description="Explain the result of a doctrine on the facts as a memo in Markdown, "
        "with the test, each element's outcome and why, the citations, and what facts would "
        "change it. Relay it faithfully; do not restate the law in your own words. Returns "
        "{result, format, memo}, and the memo again as text.",
    )
    def explain(doctrine: doctrine_arg, facts: facts_arg = None) -> CallToolResult:
        from ..explain.explanation import render_explanation

        result = evaluated(doctrine, facts)
        memo = render_explanation(result, "markdown")
        return _reply({"result": result.as_dict(), "format": "markdown", "memo": memo}, memo)

    @server.tool(
        annotations=_READ_ONLY,
        description="Which rule governed a legal question for a court on a day: among the "
        "doctrines of the library that answer `question` (a doctrine's name, or the rule its "
        "variants share), the ones that bound that court and were in force then, and why each "
        "other one did not. Where the library does not rank two rules, it says so rather "
        "than choosing.",
    )
    def which(
        question: Annotated[
            str, Field(description="a doctrine's name, or the rule its variants share")
        ],
        court: Annotated[str, Field(description="the court whose law binds: 4th, 9th, SCOTUS")],
        date: Annotated[str, Field(description="the day the official acted, YYYY-MM-DD")],
    ) -> CallToolResult:
        from ..law.which import library_files, standings

        try:
            day = datetime.date.fromisoformat(date)
        except ValueError:
            raise ToolError(f"date {date!r}: expected a date such as 1989-03-10") from None
        found = standings(question, court, day, library_files(library.folder))
        if not found:
            raise ToolError(f"no doctrine of the library answers `{question}`")
        governed = [s.doctrine for s in found if s.governed]
        return _reply(
            {
                "question": question,
                "court": court,
                "date": day.isoformat(),
                "governing": governed,
                "ranked": len(governed) <= 1,
                "doctrines": [
                    {
                        "doctrine": s.doctrine,
                        "title": s.title,
                        "governed": s.governed,
                        "reason": s.reason,
                    }
                    for s in found
                ],
            }
        )

    for e in library.entries.values():
        _add_resources(server, e)
    return server


def _add_resources(server: MCPServer, entry: Entry) -> None:
    def document() -> str:
        from ..explain.explanation import render_documentation

        return render_documentation(entry.evaluator, "markdown")

    def source() -> str:
        return Path(entry.path).read_text(encoding="utf-8")

    server.add_resource(
        FunctionResource.from_function(
            document,
            uri=f"doctrine://{entry.name}/document",
            name=f"{entry.name}-document",
            title=f"{entry.title} (document)",
            description=f"The doctrine {entry.name} as a readable document (`doctrine doc`).",
            mime_type="text/markdown",
        )
    )
    server.add_resource(
        FunctionResource.from_function(
            source,
            uri=f"doctrine://{entry.name}/source",
            name=f"{entry.name}-source",
            title=f"{entry.title} (source)",
            description=f"The source text of {entry.relative}, the file that declares it.",
            mime_type="text/plain",
        )
    )
