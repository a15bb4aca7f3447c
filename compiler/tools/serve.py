"""`doctrine serve`: the library as a local web app (interviews, memos) and a JSON API (Starlette).

Every answer comes from the compiled doctrines: `evaluate`, the result's `missing` through
`interview.next_step`, and the memo templates of `doctrine explain`. The pages are plain HTML
forms that work without JavaScript; the interview's state is the answers so far, carried in the
page's address (a JSON object), so the browser's back button, bookmarks and several tabs all
work and the server keeps no sessions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import __version__
from ..runtime import FactsError, Result
from . import interview
from .interview import AnswerError, Question
from .library import Entry, Library

__all__ = ["MAX_BODY", "create_app"]

# Requests with bodies larger than this get 413: a case's facts are a few kilobytes.
MAX_BODY = 1 << 20
_FORMATS = {"html": "text/html", "markdown": "text/markdown", "text": "text/plain"}
_SUFFIX = {"html": "html", "markdown": "md", "text": "txt"}
_STAGES = ("dismissal", "summary-judgment", "trial")


class _Problem(Exception):
    """A request that cannot be answered: its status, a message, and problem lines."""

    def __init__(self, status: int, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.problems:
            body["problems"] = self.problems
        return JSONResponse(body, status_code=self.status)


# ---------------------------------------------------------------- the JSON API


async def _body(request: Request, limit: int) -> Any:
    """The request's JSON body, refusing more than `limit` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Problem(413, f"the request body is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Problem(413, f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}  # no body: no facts known
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _Problem(400, f"the request body is not JSON: {exc}") from None


def _entry(request: Request) -> Entry:
    library: Library = request.app.state.library
    name = request.path_params["name"]
    entry = library.get(name)
    if entry is None:
        raise _Problem(404, library.unknown(name))
    return entry


def _stage(request: Request) -> str | None:
    stage = request.query_params.get("stage")
    if stage is not None and stage not in _STAGES:
        raise _Problem(422, f"stage {stage!r}: expected one of {', '.join(_STAGES)}")
    return stage


def _facts_problem(exc: FactsError) -> _Problem:
    return _Problem(422, "the facts do not fit the doctrine", exc.problems)


async def api_doctrines(request: Request) -> Response:
    library: Library = request.app.state.library
    return JSONResponse([e.summary() for e in library.entries.values()])


async def api_doctrine(request: Request) -> Response:
    return JSONResponse(_entry(request).describe())


async def api_schema(request: Request) -> Response:
    from .factschema import doctrine_schema

    return JSONResponse(
        doctrine_schema(_entry(request).evaluator), media_type="application/schema+json"
    )


async def _evaluated(request: Request) -> tuple[Entry, Any, Result]:
    entry = _entry(request)
    stage = _stage(request)
    facts = await _body(request, request.app.state.max_body)
    try:
        return entry, facts, entry.evaluate(facts, stage)
    except FactsError as exc:
        raise _facts_problem(exc) from None


async def api_evaluate(request: Request) -> Response:
    _, _, result = await _evaluated(request)
    return JSONResponse(result.as_dict())


async def api_next(request: Request) -> Response:
    entry = _entry(request)
    stage = _stage(request)
    facts = await _body(request, request.app.state.max_body)
    if not isinstance(facts, Mapping):
        raise _Problem(422, "the facts do not fit the doctrine", ["facts: expected an object"])
    try:
        step = interview.next_step(entry.evaluator, facts, stage=stage)
    except FactsError as exc:
        raise _facts_problem(exc) from None
    return JSONResponse(step.as_dict())


async def api_explain(request: Request) -> Response:
    from ..explain.explanation import render_explanation

    form = request.query_params.get("format", "markdown")
    if form not in _FORMATS:
        raise _Problem(422, f"format {form!r}: expected one of {', '.join(_FORMATS)}")
    _, _, result = await _evaluated(request)
    text = render_explanation(result, form)
    return Response(text, media_type=f"{_FORMATS[form]}; charset=utf-8")


def openapi(library: Library) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the JSON API (its schemas are JSON Schema 2020-12)."""
    names = list(library.entries)
    name_param = {
        "name": "name",
        "in": "path",
        "required": True,
        "description": "the doctrine's name, as `GET /api/doctrines` lists them",
        "schema": {"type": "string", "enum": names},
    }
    stage_param = {
        "name": "stage",
        "in": "query",
        "required": False,
        "description": "the stage of the proceedings, for facts marked alleged or disputed",
        "schema": {"type": "string", "enum": list(_STAGES)},
    }
    facts_body = {
        "required": False,
        "description": "the facts of a case: an object of fact names to values (null or left "
        "out: unknown). Each doctrine's exact schema: GET /api/doctrines/{name}/schema.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }

    def error(text: str) -> dict[str, Any]:
        return {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }

    errors = {
        "404": error("no such doctrine"),
        "413": error("the body is over the size limit"),
        "422": error("the facts do not fit the doctrine: one problem line per fact, as the CLI"),
    }
    result_ref = {"$ref": "#/components/schemas/Result"}

    def post(summary: str, ok: dict[str, Any], extra: list[Any] | None = None) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "parameters": [name_param, stage_param, *(extra or [])],
                "requestBody": facts_body,
                "responses": {"200": ok, "400": error("the body is not JSON"), **errors},
            }
        }

    truth = {"type": ["boolean", "null"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "doctrine",
            "version": __version__,
            "description": "Legal tests compiled from .doctrine files: evaluate the facts of a "
            "case, ask for the next fact that matters, and explain the result.",
        },
        "paths": {
            "/api/doctrines": {
                "get": {
                    "summary": "The doctrines of the library, with titles, courts and periods",
                    "responses": {"200": {"description": "a list of doctrines"}},
                }
            },
            "/api/doctrines/{name}": {
                "get": {
                    "summary": "A doctrine: its elements, their tests, and its facts' schema",
                    "parameters": [name_param],
                    "responses": {"200": {"description": "the doctrine"}, "404": errors["404"]},
                }
            },
            "/api/doctrines/{name}/schema": {
                "get": {
                    "summary": "The JSON Schema (draft 2020-12) of the doctrine's facts",
                    "parameters": [name_param],
                    "responses": {
                        "200": {
                            "description": "the schema",
                            "content": {"application/schema+json": {}},
                        },
                        "404": errors["404"],
                    },
                }
            },
            "/api/doctrines/{name}/evaluate": post(
                "Evaluate the facts: the object of `doctrine eval --format json`",
                {
                    "description": "the result",
                    "content": {"application/json": {"schema": result_ref}},
                },
            ),
            "/api/doctrines/{name}/next": post(
                "The next fact worth asking, or the result when nothing left can change it",
                {
                    "description": "`{done: false, question, result}` or `{done: true, result}`",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Next"}}
                    },
                },
            ),
            "/api/doctrines/{name}/explain": post(
                "The memo explaining the result, by the templates of `doctrine explain`",
                {
                    "description": "the memo",
                    "content": {m: {"schema": {"type": "string"}} for m in _FORMATS.values()},
                },
                [
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(_FORMATS)},
                    }
                ],
            ),
        },
        "components": {
            "schemas": {
                "Result": {
                    "type": "object",
                    "required": ["doctrine", "holds", "elements", "missing"],
                    "properties": {
                        "doctrine": {"type": "string"},
                        "holds": truth,
                        "elements": {"type": "object", "additionalProperties": truth},
                        "missing": {"type": "array", "items": {"type": "string"}},
                        "open": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Question": {
                    "type": "object",
                    "required": ["fact", "kind", "type", "values", "meaning", "reasons"],
                    "properties": {
                        "fact": {"type": "string"},
                        "kind": {
                            "enum": ["bool", "enum", "scale", "date", "text", "number", "list"]
                        },
                        "type": {"type": "string"},
                        "values": {"type": "array", "items": {"type": "string"}},
                        "meaning": {"type": "string"},
                        "reasons": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "element": {"type": "string"},
                                    "title": {"type": "string"},
                                },
                            },
                        },
                        "fields": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "Next": {
                    "type": "object",
                    "required": ["done", "result"],
                    "properties": {
                        "done": {"type": "boolean"},
                        "question": {"$ref": "#/components/schemas/Question"},
                        "result": result_ref,
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "problems": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    }


async def api_openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


# ---------------------------------------------------------------- the pages


def _templates() -> jinja2.Environment:
    from ..syntax.resources import data_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates") / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["words"] = lambda name: str(name).replace("_", " ")
    env.filters["shown"] = interview.show_value
    env.filters["cap"] = lambda text: str(text)[:1].upper() + str(text)[1:]
    return env


def _page(request: Request, template: str, status: int = 200, **data: Any) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.templates
    text = env.get_template(template).render(version=__version__, **data)
    return HTMLResponse(text, status_code=status)


def _answers(request: Request, entry: Entry) -> dict[str, Any]:
    """The answers so far, from the page's address: a JSON object, in the order asked."""
    raw = request.query_params.get("answers", "")
    if not raw:
        return {}
    try:
        answers = json.loads(raw)
    except (ValueError, RecursionError):
        raise _PageProblem(["the answers in the address are not JSON"]) from None
    if not isinstance(answers, dict):
        raise _PageProblem(["the answers in the address are not an object"])
    try:
        entry.evaluator.schema.validate(answers)
    except FactsError as exc:
        raise _PageProblem(exc.problems) from None
    return answers


class _PageProblem(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _link(entry: Entry, answers: Mapping[str, Any], **extra: str) -> str:
    query = {"answers": json.dumps(answers, separators=(",", ":"))} if answers else {}
    query.update(extra)
    return f"/doctrines/{entry.name}" + (f"?{urlencode(query)}" if query else "")


def _download(entry: Entry, answers: Mapping[str, Any], file: str) -> str:
    query = urlencode({"answers": json.dumps(answers, separators=(",", ":"))})
    return f"/doctrines/{entry.name}/{file}?{query}"


def _memo_parts(html: str) -> tuple[str, str]:
    """The memo's stylesheet and its article, from the document `doctrine explain` renders."""
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    article = re.search(r"<article\b.*</article>", html, re.S)
    return (style.group(1) if style else ""), (article.group(0) if article else html)


def _answered(entry: Entry, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "fact": fact,
            "value": interview.show_value(value),
            "change": _link(entry, answers, ask=fact),
        }
        for fact, value in answers.items()
    ]


async def page_index(request: Request) -> Response:
    library: Library = request.app.state.library
    return _page(
        request, "index.html.j2", doctrines=[e.summary() for e in library.entries.values()]
    )


def _question_page(
    request: Request,
    entry: Entry,
    answers: dict[str, Any],
    question: Question,
    *,
    error: str = "",
    typed: Mapping[str, str] | None = None,
    items: int = 1,
) -> HTMLResponse:
    current = answers.get(question.fact)
    earlier = {k: v for k, v in answers.items() if k != question.fact}
    back = dict(list(answers.items())[:-1]) if answers else None
    return _page(
        request,
        "question.html.j2",
        status=422 if error else 200,
        doctrine=entry.summary(),
        q=question.as_dict(),
        number=len(earlier) + 1,
        answers_json=json.dumps(earlier, separators=(",", ":")),
        answered=_answered(entry, answers),
        current=current,
        error=error,
        typed=typed or {},
        items=max(items, len(current) if isinstance(current, list) else 0, 1),
        back=_link(entry, back) if back is not None else None,
        start=f"/doctrines/{entry.name}",
    )


async def page_doctrine(request: Request) -> Response:
    entry = _entry_page(request)
    if isinstance(entry, Response):
        return entry
    try:
        answers = _answers(request, entry)
        redo = request.query_params.get("ask")
        if redo is not None and redo in entry.evaluator.schema.facts:
            result = entry.evaluator.evaluate(answers)
            q = interview.question_for(entry.evaluator, redo, result, answers)
            return _question_page(request, entry, answers, q)
        step = interview.next_step(entry.evaluator, answers)
    except (FactsError, _PageProblem) as exc:
        return _problem_page(request, entry, getattr(exc, "problems", []))
    if step.question is not None:
        return _question_page(request, entry, answers, step.question)
    return _result_page(request, entry, answers, step.result)


def _entry_page(request: Request) -> Entry | Response:
    try:
        return _entry(request)
    except _Problem as exc:
        return _page(request, "error.html.j2", status=404, title="No such doctrine",
                     problems=[exc.message])  # fmt: skip


def _problem_page(request: Request, entry: Entry, problems: list[str]) -> Response:
    return _page(
        request,
        "error.html.j2",
        status=422,
        title="These answers do not fit the doctrine",
        problems=problems,
        start=f"/doctrines/{entry.name}",
    )


def _result_page(
    request: Request, entry: Entry, answers: dict[str, Any], result: Result
) -> HTMLResponse:
    from ..explain.explanation import render_explanation

    style, article = _memo_parts(render_explanation(result, "html"))
    downloads = [
        ("Memo (HTML)", _download(entry, answers, "memo.html")),
        ("Memo (Markdown)", _download(entry, answers, "memo.md")),
        ("Facts (YAML)", _download(entry, answers, "facts.yaml")),
        ("Facts (JSON)", _download(entry, answers, "facts.json")),
    ]
    back = dict(list(answers.items())[:-1]) if answers else None
    return _page(
        request,
        "result.html.j2",
        doctrine=entry.summary(),
        result=result.as_dict(),
        asked=len(answers),
        answered=_answered(entry, answers),
        memo_style=Markup(style),
        memo=Markup(article),
        downloads=downloads,
        back=_link(entry, back) if back is not None else None,
        start=f"/doctrines/{entry.name}",
    )


def _form_answer(question: Question, form: Mapping[str, str]) -> tuple[Any, int]:
    """The value a question's form gives, and how many record rows to show; AnswerError if
    the form does not give one (with `more`: one more row, no answer yet)."""
    if "dk" in form:
        return None, 0
    if question.kind != "list":
        text = form.get("value", "")
        if interview.is_dont_know(text):
            return None, 0
        if not text.strip():
            raise AnswerError("choose or type an answer, or press Don't know")
        return interview.parse_value(question.kind, question.values, text), 0
    if "none" in form:
        return [], 0
    rows = sorted({int(m.group(1)) for k in form if (m := re.fullmatch(r"r(\d{1,3})\.\w+", k))})
    if "more" in form:  # one more row; what was typed is shown again, checked on Next
        raise _MoreRows(len(rows) + 1)
    records = []
    for i in rows:
        typed = {f.name: form.get(f"r{i}.{f.name}", "").strip() for f in question.fields}
        if not any(typed.values()):
            continue  # a blank row: nothing given
        record: dict[str, Any] = {}
        for f in question.fields:
            text = typed[f.name]
            if not text:
                if f.optional:
                    continue
                raise AnswerError(f"item {i + 1}: give its {f.name.replace('_', ' ')}")
            try:
                record[f.name] = interview.parse_value(f.kind, f.values, text)
            except AnswerError as exc:
                raise AnswerError(f"item {i + 1}, {f.name.replace('_', ' ')}: {exc}") from None
        records.append(record)
    if not records:
        raise AnswerError("fill in an item, or press None or Don't know")
    return records, 0


class _MoreRows(Exception):
    def __init__(self, rows: int):
        super().__init__(rows)
        self.rows = rows


async def page_answer(request: Request) -> Response:
    entry = _entry_page(request)
    if isinstance(entry, Response):
        return entry
    form = dict(request.query_params)
    fact = form.get("fact", "")
    try:
        answers = _answers(request, entry)
    except _PageProblem as exc:
        return _problem_page(request, entry, exc.problems)
    if fact not in entry.evaluator.schema.facts:
        return _problem_page(request, entry, [f"no question about {fact!r} in this doctrine"])
    result = entry.evaluator.evaluate(answers)
    question = interview.question_for(entry.evaluator, fact, result, answers)
    try:
        value, _ = _form_answer(question, form)
        entry.evaluator.schema.validate({fact: value})
    except _MoreRows as more:
        return _question_page(
            request, entry, answers, question, typed=form, items=min(more.rows, 50)
        )
    except (AnswerError, FactsError) as exc:
        message = "; ".join(exc.problems) if isinstance(exc, FactsError) else str(exc)
        return _question_page(request, entry, answers, question, error=message, typed=form)
    answers[fact] = value
    return RedirectResponse(_link(entry, answers), status_code=303)


async def page_download(request: Request) -> Response:
    entry = _entry_page(request)
    if isinstance(entry, Response):
        return entry
    try:
        answers = _answers(request, entry)
    except _PageProblem as exc:
        return _problem_page(request, entry, exc.problems)
    file = request.path_params["file"]
    if not downloads_known(file):
        return _page(request, "error.html.j2", status=404, title="Not found", problems=[])
    stem = f"{entry.name}-answers"
    if file.startswith("facts."):
        if file == "facts.json":
            text, media = json.dumps(answers, indent=2, ensure_ascii=False) + "\n", "json"
        else:
            import yaml

            text = yaml.safe_dump(answers, sort_keys=False, allow_unicode=True)
            media = "yaml"
        return Response(
            text,
            media_type=f"application/{media}; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{stem}.{file[6:]}"'},
        )
    from ..explain.explanation import render_explanation

    form = {"memo.html": "html", "memo.md": "markdown", "memo.txt": "text"}[file]
    text = render_explanation(entry.evaluator.evaluate(answers), form)
    return Response(
        text,
        media_type=f"{_FORMATS[form]}; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{entry.name}-memo.{_SUFFIX[form]}"'
        },
    )


async def page_style(request: Request) -> Response:
    from ..syntax.resources import data_dir

    css = (data_dir("templates") / "web" / "web.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css; charset=utf-8")


async def page_script(request: Request) -> Response:
    from ..syntax.resources import data_dir

    js = (data_dir("templates") / "web" / "web.js").read_text(encoding="utf-8")
    return Response(js, media_type="text/javascript; charset=utf-8")


# ---------------------------------------------------------------- the app


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Problem)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return _page(
        request, "error.html.j2", status=exc.status_code, title=str(exc.detail), problems=[]
    )


def create_app(library: Library, *, max_body: int = MAX_BODY) -> Starlette:
    """The web app and JSON API over a compiled library."""
    routes = [
        Route("/", page_index),
        Route("/style.css", page_style),
        Route("/web.js", page_script),
        Route("/doctrines/{name}", page_doctrine),
        Route("/doctrines/{name}/answer", page_answer),
        Route(
            "/doctrines/{name}/{file:str}",
            page_download,
        ),
        Route("/openapi.json", api_openapi),
        Route("/api/doctrines", api_doctrines),
        Route("/api/doctrines/{name}", api_doctrine),
        Route("/api/doctrines/{name}/schema", api_schema),
        Route("/api/doctrines/{name}/evaluate", api_evaluate, methods=["POST"]),
        Route("/api/doctrines/{name}/next", api_next, methods=["POST"]),
        Route("/api/doctrines/{name}/explain", api_explain, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={_Problem: _problem, HTTPException: _http_error},
    )
    app.state.library = library
    app.state.max_body = max_body
    app.state.openapi = openapi(library)
    app.state.templates = _templates()
    return app


def downloads_known(file: str) -> bool:
    return file in ("memo.html", "memo.md", "memo.txt", "facts.yaml", "facts.json")


def serve(folder: Path, host: str, port: int) -> None:
    """Compile the library and serve it with uvicorn until interrupted."""
    import uvicorn

    app = create_app(Library.load(folder))
    uvicorn.run(app, host=host, port=port, log_level="info")
