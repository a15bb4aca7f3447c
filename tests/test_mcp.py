"""`doctrine mcp`, driven as an assistant drives it: the official SDK's client over stdio."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from support import LIBRARY, ROOT, clean_env, jsonable, load_precedents

from compiler.tools import cli

TOOLS = {"list_doctrines", "describe_doctrine", "evaluate", "next_question", "explain", "which"}


async def _session() -> dict[str, Any]:
    """One server for the module: every call an assistant makes, with what came back."""
    # Imported here: the SDK takes two seconds to import, which every pytest worker would pay
    # while collecting, whichever runs these tests.
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "compiler", "mcp", str(LIBRARY)],
        cwd=str(ROOT),
        env=clean_env(),
    )
    out: dict[str, Any] = {}
    async with Client(params) as client:
        out["tools"] = (await client.list_tools()).tools
        out["list"] = await client.call_tool("list_doctrines", {})
        out["describe"] = await client.call_tool(
            "describe_doctrine", {"doctrine": "state_created_danger"}
        )
        out["precedents"] = [
            await client.call_tool(
                "evaluate", {"doctrine": p["doctrine"], "facts": jsonable(p["facts"])}
            )
            for p in load_precedents()
        ]
        out["bad_fact"] = await client.call_tool(
            "evaluate", {"doctrine": "state_created_danger", "facts": {"culpabilty": "intent"}}
        )
        out["bad_value"] = await client.call_tool(
            "evaluate", {"doctrine": "state_created_danger", "facts": {"custody": "jail"}}
        )
        out["bad_shape"] = await client.call_tool(
            "evaluate", {"doctrine": "state_created_danger", "facts": [1, 2]}
        )
        out["bad_doctrine"] = await client.call_tool("evaluate", {"doctrine": "nope"})
        out["after_errors"] = await client.call_tool(
            "evaluate", {"doctrine": "special_relationship", "facts": {"custody": "none"}}
        )
        facts: dict[str, Any] = {}
        out["interview"] = []
        for _ in range(10):
            step = await client.call_tool(
                "next_question", {"doctrine": "state_created_danger", "facts": facts}
            )
            out["interview"].append(step)
            data = step.structured_content
            if data is None or data["done"]:
                break
            facts[data["question"]["fact"]] = None  # the user does not know
        out["explain"] = await client.call_tool(
            "explain", {"doctrine": "special_relationship", "facts": {"custody": "incarceration"}}
        )
        out["which"] = await client.call_tool(
            "which", {"question": "special_relationship", "court": "4th", "date": "1989-03-10"}
        )
        out["which_bad"] = await client.call_tool(
            "which", {"question": "special_relationship", "court": "4th", "date": "March 1989"}
        )
        out["resources"] = (await client.list_resources()).resources
        out["document"] = await client.read_resource("doctrine://special_relationship/document")
        out["source"] = await client.read_resource("doctrine://special_relationship/source")
    return out


@pytest.fixture(scope="module")
def session() -> dict[str, Any]:
    return asyncio.run(_session())


def _json(result: Any) -> Any:
    """The structured content, checked against the JSON text beside it."""
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def test_the_tools_are_listed_with_descriptions_for_a_model(session: dict[str, Any]) -> None:
    tools = {t.name: t for t in session["tools"]}
    assert set(tools) == TOOLS
    evaluate = tools["evaluate"]
    assert "never guessed" in evaluate.description
    assert "state_created_danger" in evaluate.input_schema["properties"]["doctrine"]["enum"]
    assert "Ask the user; do not answer it yourself" in tools["next_question"].description
    assert all(t.annotations and t.annotations.read_only_hint for t in tools.values())


def test_list_and_describe(session: dict[str, Any]) -> None:
    listed = {d["name"]: d for d in _json(session["list"])["doctrines"]}
    assert listed["special_relationship_jensen"]["in_force_until"] == "1989-02-22"
    described = _json(session["describe"])
    assert described["facts_schema"]["$schema"].endswith("2020-12/schema")
    assert described["facts_schema"]["properties"]["culpability"]["description"]


def test_evaluate_is_doctrine_eval_on_every_precedent(
    session: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    precedents = load_precedents()
    by_doctrine: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(precedents):
        by_doctrine[p["doctrine"]].append(i)
    expected: dict[int, Any] = {}
    for name, indexes in by_doctrine.items():
        lines = "".join(json.dumps(jsonable(precedents[i]["facts"])) + "\n" for i in indexes)
        cases = tmp_path / f"{name}.jsonl"
        cases.write_text(lines)
        doctrine = str(LIBRARY / f"{name}.doctrine")
        assert cli.main(["eval", doctrine, "--batch", str(cases)]) == 0
        for i, line in zip(indexes, capsys.readouterr().out.splitlines()):
            expected[i] = json.loads(line)
    for i, result in enumerate(session["precedents"]):
        assert _json(result) == expected[i], precedents[i]["id"]


def test_bad_input_is_a_tool_error_naming_the_fact(session: dict[str, Any]) -> None:
    for key, words in [
        ("bad_fact", "fact 'culpabilty': not in the vocabulary; did you mean 'culpability'?"),
        ("bad_value", "fact 'custody': expected one of none"),
        ("bad_shape", "facts"),
        ("bad_doctrine", "no doctrine `nope`"),
        ("which_bad", "expected a date such as 1989-03-10"),
    ]:
        result = session[key]
        assert result.is_error, key
        assert words in result.content[0].text, (key, result.content[0].text)
    # ... and the server kept serving.
    assert _json(session["after_errors"])["holds"] is False


def test_next_question_until_done(session: dict[str, Any]) -> None:
    steps = [_json(s) for s in session["interview"]]
    first = steps[0]["question"]
    assert {"fact", "kind", "type", "values", "meaning", "reasons"} <= set(first)
    assert steps[-1]["done"] is True and steps[-1]["result"]["holds"] is None
    asked = [s["question"]["fact"] for s in steps[:-1]]
    assert len(asked) == len(set(asked)) == 6  # every fact it weighs, each once


def test_explain_and_which(session: dict[str, Any]) -> None:
    data = _json(session["explain"])
    assert data["format"] == "markdown" and data["memo"].startswith("#")
    assert session["explain"].content[1].text == data["memo"]
    assert data["result"]["holds"] is True
    which = _json(session["which"])
    assert which["governing"] == ["special_relationship"]
    assert any(not d["governed"] for d in which["doctrines"])


def test_resources_are_each_doctrines_document_and_source(session: dict[str, Any]) -> None:
    uris = {str(r.uri) for r in session["resources"]}
    assert {
        "doctrine://state_created_danger/document",
        "doctrine://state_created_danger/source",
    } <= uris
    assert session["document"].contents[0].text.startswith("#")
    source = (LIBRARY / "special_relationship.doctrine").read_text(encoding="utf-8")
    assert session["source"].contents[0].text == source
