"""A client of `doctrine mcp`, as an assistant would be: list the tools, ask, evaluate.

    pip install 'doctrine[mcp]'
    python examples/mcp_client.py        # from the checkout, with `doctrine` on PATH
"""

from __future__ import annotations

import asyncio

from mcp import Client
from mcp.client.stdio import StdioServerParameters


async def main() -> None:
    server = StdioServerParameters(command="doctrine", args=["mcp", "doctrine"])
    async with Client(server) as client:
        tools = await client.list_tools()
        for tool in tools.tools:
            print(f"{tool.name}: {(tool.description or '').split('. ')[0]}.")
        facts = {
            "directed_at_plaintiff": True,
            "affirmative_act": True,
            "but_for_cause": True,
            "harm_foreseeable": True,
            "danger_known_or_obvious": True,
        }
        step = await client.call_tool(
            "next_question", {"doctrine": "state_created_danger", "facts": facts}
        )
        question = (step.structured_content or {})["question"]
        print("next_question ->", question["fact"], "|", question["meaning"], "|", question["values"])
        facts["culpability"] = "deliberate_indifference"
        result = await client.call_tool(
            "evaluate", {"doctrine": "state_created_danger", "facts": facts}
        )
        print("evaluate ->", result.content[0].text)  # type: ignore[union-attr]
        bad = await client.call_tool(
            "evaluate", {"doctrine": "state_created_danger", "facts": {"custdy": "none"}}
        )
        print("evaluate (bad fact) -> isError:", bad.is_error, "|", bad.content[0].text)  # type: ignore[union-attr]


if __name__ == "__main__":
    asyncio.run(main())
