"""`doctrine serve`: the JSON API and the interview pages, through Starlette's test client."""

from __future__ import annotations

import asyncio
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from support import LIBRARY, examples, jsonable, load_precedents

from compiler.tools import cli
from compiler.tools.factschema import doctrine_schema
from compiler.tools.library import Library
from compiler.tools.serve import create_app


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(LIBRARY)


@pytest.fixture(scope="module")
def client(library: Library) -> TestClient:
    return TestClient(create_app(library, max_body=64 * 1024))


# ---------------------------------------------------------------- the JSON API


def test_doctrines_are_listed_with_titles_and_courts(client: TestClient) -> None:
    listed = {d["name"]: d for d in client.get("/api/doctrines").json()}
    names = {p.stem for p in LIBRARY.glob("*.doctrine")} - {
        "vocabulary", "sources", "causation", "conduct", "culpability", "custody", "knowledge",
        "promise", "clearly_established", "breach",
    }  # fmt: skip
    assert names <= set(listed)
    jensen = listed["special_relationship_jensen"]
    assert jensen["court"] == "4th" and jensen["in_force_until"] == "1989-02-22"
    assert listed["state_created_danger"]["elements"][0] == "specific_plaintiff"


def test_describe_and_schema(client: TestClient, library: Library) -> None:
    described = client.get("/api/doctrines/state_created_danger").json()
    assert [e["name"] for e in described["elements"]][:2] == [
        "specific_plaintiff", "affirmative_conduct"
    ]  # fmt: skip
    assert described["elements"][1]["requirement"] == "affirmative_act"
    schema = client.get("/api/doctrines/state_created_danger/schema")
    assert schema.headers["content-type"].startswith("application/schema+json")
    assert schema.json() == doctrine_schema(library.entries["state_created_danger"].evaluator)


def test_evaluate_is_the_eval_object_on_every_precedent(
    client: TestClient, library: Library
) -> None:
    for p in load_precedents():
        response = client.post(
            f"/api/doctrines/{p['doctrine']}/evaluate", json=jsonable(p["facts"])
        )
        assert response.status_code == 200, p["id"]
        expected = library.entries[p["doctrine"]].evaluator.evaluate(p["facts"]).as_dict()
        assert response.json() == expected, p["id"]


def test_evaluate_matches_the_cli(
    client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (p,) = [p for p in load_precedents() if p["id"] == "pinder-immunity"]
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(jsonable(p["facts"])))
    doctrine = LIBRARY / f"{p['doctrine']}.doctrine"
    assert cli.main(["eval", str(doctrine), "--facts", str(facts), "--format", "json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    got = client.post(f"/api/doctrines/{p['doctrine']}/evaluate", json=jsonable(p["facts"]))
    assert got.json() == expected


def test_bad_facts_get_422_with_the_clis_problem_lines(
    client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = {"custdy": "none", "culpability": "careless", "event_date": "1998-02-30"}
    facts = tmp_path / "bad.json"
    facts.write_text(json.dumps(bad))
    doctrine = LIBRARY / "state_created_danger.doctrine"
    assert cli.main(["eval", str(doctrine), "--facts", str(facts)]) == 2
    cli_lines = [
        line.removeprefix(f"error: {facts}: ") for line in capsys.readouterr().err.splitlines()
    ]
    for endpoint in ("evaluate", "next", "explain"):
        response = client.post(f"/api/doctrines/state_created_danger/{endpoint}", json=bad)
        assert response.status_code == 422
        assert response.json()["problems"] == cli_lines


def test_errors_are_statuses_never_500(client: TestClient) -> None:
    base = "/api/doctrines/state_created_danger"
    assert client.post("/api/doctrines/nope/evaluate", json={}).status_code == 404
    assert (
        "did you mean `state_created_danger`"
        in client.get("/api/doctrines/state_created_dangr").json()["error"]
    )
    assert client.post(f"{base}/evaluate", content=b"{not json").status_code == 400
    assert client.post(f"{base}/evaluate", json=[1, 2]).status_code == 422
    assert client.post(f"{base}/evaluate?stage=appeal", json={}).status_code == 422
    assert client.post(f"{base}/explain?format=pdf", json={}).status_code == 422
    big = b'{"circuit": "' + b"9" * (65 * 1024) + b'"}'
    assert client.post(f"{base}/evaluate", content=big).status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit still holds
        for _ in range(70):
            yield b" " * 1024

    assert client.post(f"{base}/evaluate", content=chunks()).status_code == 413
    assert client.get(f"{base}/evaluate").status_code == 405
    assert client.get("/api/nothing").status_code == 404
    deep = b"[" * 100_000 + b"]" * 100_000
    assert client.post(f"{base}/evaluate", content=deep).status_code in (400, 413)
    # No body at all: nothing known.
    assert client.post(f"{base}/evaluate").json()["holds"] is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FACT_NAMES = st.sampled_from(["custody", "culpability", "event_date", "authorities", "circuit",
                              "affirmative_act", "x"])  # fmt: skip


@settings(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.dictionaries(FACT_NAMES, JSON, max_size=4) | JSON,
    endpoint=st.sampled_from(["evaluate", "next", "explain"]),
)
def test_any_json_body_gets_an_answer_not_a_500(
    client: TestClient, body: Any, endpoint: str
) -> None:
    response = client.post(
        f"/api/doctrines/qualified_immunity_state_created_danger/{endpoint}",
        content=json.dumps(body),
    )
    assert response.status_code in (200, 422), response.text


def test_next_asks_until_settled(client: TestClient, library: Library) -> None:
    for p in load_precedents()[:12]:
        facts: dict[str, Any] = {}
        for _ in range(30):
            step = client.post(f"/api/doctrines/{p['doctrine']}/next", json=facts).json()
            if step["done"]:
                break
            question = step["question"]
            assert {"fact", "kind", "type", "values", "meaning", "reasons"} <= set(question)
            facts[question["fact"]] = jsonable(p["facts"]).get(question["fact"])
        assert step["done"]
        whole = library.entries[p["doctrine"]].evaluator.evaluate(p["facts"])
        assert step["result"]["holds"] == whole.holds, p["id"]


def test_explain_formats(client: TestClient) -> None:
    facts = {"custody": "incarceration"}
    base = "/api/doctrines/special_relationship/explain"
    md = client.post(f"{base}?format=markdown", json=facts)
    assert md.headers["content-type"].startswith("text/markdown") and md.text.startswith("#")
    html = client.post(f"{base}?format=html", json=facts)
    assert html.headers["content-type"].startswith("text/html") and "<article" in html.text
    assert client.post(f"{base}?format=text", json=facts).status_code == 200


def test_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) == {
        "/api/doctrines", "/api/doctrines/{name}", "/api/doctrines/{name}/schema",
        "/api/doctrines/{name}/evaluate", "/api/doctrines/{name}/next",
        "/api/doctrines/{name}/explain",
    }  # fmt: skip
    name = spec["paths"]["/api/doctrines/{name}/evaluate"]["post"]["parameters"][0]
    assert "state_created_danger" in name["schema"]["enum"]


def test_concurrent_requests_get_their_own_answers(library: Library) -> None:
    app = create_app(library)
    cases = [p for p in load_precedents()]

    async def run() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            calls = [
                c.post(f"/api/doctrines/{p['doctrine']}/evaluate", json=jsonable(p["facts"]))
                for p in cases * 3
            ]
            return [r.json() for r in await asyncio.gather(*calls)]

    got = asyncio.run(run())
    for p, answer in zip(cases * 3, got):
        assert answer == library.entries[p["doctrine"]].evaluator.evaluate(p["facts"]).as_dict()


# ---------------------------------------------------------------- the pages


class _Form(HTMLParser):
    """The controls of a page, and the labels that name them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.labels: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label":
            self.labels.add(a.get("for", ""))
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append({"tag": tag, **a})


def controls(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    return form


def answer(client: TestClient, name: str, answers: dict[str, Any], fact: str, **form: str) -> Any:
    params = {"answers": json.dumps(answers), "fact": fact, **form}
    return client.get(f"/doctrines/{name}/answer", params=params, follow_redirects=False)


def test_index_lists_the_doctrines(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<a href="/doctrines/state_created_danger">' in page.text
    assert '<html lang="en">' in page.text


def test_a_whole_interview_by_plain_forms(client: TestClient) -> None:
    name = "state_created_danger"
    page = client.get(f"/doctrines/{name}")
    assert "Question 1: culpability" in page.text and "Why this is asked" in page.text
    form = controls(page.text)
    assert all(c.get("id") in form.labels for c in form.controls)  # every control labelled
    answers: dict[str, Any] = {}
    case = {"culpability": "deliberate_indifference", "directed_at_plaintiff": True,
            "affirmative_act": True, "but_for_cause": True, "harm_foreseeable": True,
            "danger_known_or_obvious": True}  # fmt: skip
    for _ in range(10):
        fact = re.search(r'name="fact" value="(\w+)"', page.text).group(1)  # type: ignore[union-attr]
        value = case[fact]
        typed = "yes" if value is True else "no" if value is False else value
        moved = answer(client, name, answers, fact, value=typed)
        assert moved.status_code == 303
        answers[fact] = value
        page = client.get(moved.headers["location"])
        if "Question" not in page.text.split("<main", 1)[1][:400]:
            break
    assert "The test is met" in page.text
    assert '<article class="memo' in page.text  # the memo, by the explain templates
    assert re.search(r'href="/doctrines/state_created_danger/facts.yaml\?answers=', page.text)
    download = client.get(f"/doctrines/{name}/facts.yaml", params={"answers": json.dumps(answers)})
    assert "attachment" in download.headers["content-disposition"]
    assert yaml.safe_load(download.text) == answers
    memo = client.get(f"/doctrines/{name}/memo.md", params={"answers": json.dumps(answers)})
    assert memo.text.startswith("#")


def test_dont_know_back_and_change(client: TestClient) -> None:
    name = "state_created_danger"
    moved = answer(client, name, {}, "culpability", value="?")
    assert moved.status_code == 303
    page = client.get(moved.headers["location"])
    assert "culpability</dt><dd>don&#39;t know" in page.text
    assert "Question 2:" in page.text and "Question 2: culpability" not in page.text
    assert "Back: undo the last answer" in page.text
    change = re.search(r'<a href="([^"]*ask=culpability[^"]*)"', page.text).group(1)  # type: ignore[union-attr]
    page = client.get(change.replace("&amp;", "&"))
    assert "Question 1: culpability" in page.text
    moved = answer(client, name, {"culpability": None}, "culpability", value="negligence")
    assert json.loads(httpx.URL(moved.headers["location"]).params["answers"]) == {
        "culpability": "negligence"
    }
    # The dk button answers don't know too, for a date.
    moved = answer(client, "qualified_immunity_state_created_danger", {}, "event_date", dk="1")
    assert moved.status_code == 303


def test_wrong_answers_are_shown_with_the_question(client: TestClient) -> None:
    page = answer(client, "state_created_danger", {}, "culpability", value="careless")
    assert page.status_code == 422 and 'role="alert"' in page.text and "Question 1" in page.text
    page = answer(client, "state_created_danger", {}, "culpability")
    assert page.status_code == 422 and "choose or type an answer" in page.text
    page = client.get("/doctrines/state_created_danger", params={"answers": "{bad"})
    assert page.status_code == 422
    page = client.get("/doctrines/state_created_danger", params={"answers": '{"custdy": 1}'})
    assert page.status_code == 422 and "did you mean" in page.text
    assert client.get("/doctrines/nope").status_code == 404
    assert client.get("/doctrines/state_created_danger/other.txt").status_code == 404


def test_a_list_of_records_by_form(client: TestClient) -> None:
    name = "qualified_immunity_state_created_danger"
    page = client.get(f"/doctrines/{name}", params={"ask": "authorities"})
    form = controls(page.text)
    assert {"r0.name", "r0.court", "r0.decided", "r0.recognizes_right"} <= {
        c.get("name") for c in form.controls
    }
    assert all(c.get("id") in form.labels for c in form.controls)
    more = answer(client, name, {}, "authorities", more="1", **{"r0.name": "Grubbs"})
    assert (
        more.status_code == 200 and 'name="r1.name"' in more.text and 'value="Grubbs"' in more.text
    )
    row = {"r0.name": "L.W. v. Grubbs", "r0.court": "9th", "r0.decided": "1992-08-01",
           "r0.recognizes_right": "yes", "r0.materially_similar": "no"}  # fmt: skip
    moved = answer(client, name, {}, "authorities", **row)
    assert moved.status_code == 303
    given = json.loads(httpx.URL(moved.headers["location"]).params["answers"])
    assert given["authorities"] == [{"name": "L.W. v. Grubbs", "court": "9th",
                                     "decided": "1992-08-01", "recognizes_right": True,
                                     "materially_similar": False}]  # fmt: skip
    assert answer(client, name, {}, "authorities", none="1").status_code == 303
    bad = answer(client, name, {}, "authorities", **{**row, "r0.decided": "soon"})
    assert bad.status_code == 422 and "item 1, decided" in bad.text


def test_a_result_shows_itself_as_html_in_jupyter(library: Library) -> None:
    result = library.entries["special_relationship"].evaluator.evaluate({"custody": "none"})
    html = result._repr_html_()
    assert html.startswith("<article") and html.endswith("</article>")
    assert "<style" not in html and "special_relationship" in html


def test_the_stylesheet_and_the_optional_script(client: TestClient) -> None:
    css = client.get("/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media print" in css.text and "@media (max-width: 600px)" in css.text
    js = client.get("/web.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert '<script src="/web.js" defer></script>' in client.get("/").text
