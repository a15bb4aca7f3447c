"""The `doctrine` command line: check, compile, eval, test, explain, doc and diff."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import DoctrineException

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


class UsageError(DoctrineException):
    """A mistake in how the command was called, reported as one line."""


def _paths(names: Sequence[str]) -> list[Path]:
    paths: list[Path] = []
    for name in names:
        p = Path(name)
        if p.is_dir():
            paths.extend(sorted(p.rglob("*.doctrine")))
        else:
            paths.append(p)
    if not paths:
        looked = ", ".join(f"{n}/" for n in names)
        raise UsageError(f"no .doctrine files in {looked}" if names else "no .doctrine files given")
    return paths


def _print_diagnostics(diagnostics: Sequence[Any], sources: dict[str, str] | None = None) -> None:
    for d in diagnostics:
        print(d.render(sources or {}), end="\n\n", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from ..codegen.compile import check_files

    _, warnings = check_files(_paths(args.files))
    _print_diagnostics(warnings)
    print(
        f"ok: {len(_paths(args.files))} file(s) checked"
        + (f", {len(warnings)} warning(s)" if warnings else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from ..codegen.compile import (
        compile_files,
        module_path_problem,
        standalone_runtime_name,
        write_module,
        write_runtime,
    )

    if args.target == "sql":
        from .sqlfront import compile_sql

        return compile_sql(args, _paths(args.files), _print_diagnostics, UsageError)
    if args.dialect or args.table or args.keep or args.doctrine:
        raise UsageError("--dialect, --table, --keep and --doctrine go with --target sql")
    out_dir = Path(args.output or ".")
    runtime = standalone_runtime_name() if args.standalone else None
    everything = compile_files(_paths(args.files), runtime)
    # Refuse before writing anything: a name that would overwrite a file with a meaning of its
    # own, or two files that would write the same module.
    problems = []
    writers: dict[str, Path] = {}
    for compiled in everything:
        problem = module_path_problem(compiled.program.name)
        if problem is not None:
            problems.append(f"{compiled.path}: {problem}; give the module another name")
        first = writers.setdefault(compiled.program.name, compiled.path)
        if first != compiled.path:
            problems.append(
                f"{compiled.path}: module {compiled.program.name} is also the module of {first};"
                " both would be written to the same file"
            )
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    if runtime is not None:
        try:
            written = write_runtime(out_dir)
        except OSError as exc:
            raise UsageError(f"cannot write into {out_dir}: {exc.strerror or exc}") from None
        print(f"wrote {written}{os.sep} (the runtime, for the standalone modules)", file=sys.stderr)
    for compiled in everything:
        _print_diagnostics(compiled.warnings)
        try:
            target = write_module(compiled, out_dir)
        except OSError as exc:
            raise UsageError(f"cannot write into {out_dir}: {exc.strerror or exc}") from None
        print(f"wrote {target}", file=sys.stderr)
    return EXIT_OK


def _load_one(file: str, doctrine: str | None) -> Any:
    from ..codegen.compile import load

    module = load(file)
    name = doctrine or module.DOCTRINE
    if name is None:
        raise UsageError(f"{file} declares no doctrine to evaluate")
    if name not in module.DOCTRINES:
        raise UsageError(f"{file} has no doctrine `{name}`; it has {', '.join(module.DOCTRINES)}")
    return module.DOCTRINES[name]


def _facts(path: str, *evaluators: Any) -> dict[str, Any]:
    """The facts of a case file, less its `title` (see `_case_title`) when no doctrine
    among `evaluators` has a fact of that name."""
    from .facts import FactsFileError, read_facts

    try:
        facts = read_facts(Path(path))
    except FactsFileError as exc:
        raise UsageError(f"{path}: {exc}") from None
    if evaluators and not any("title" in e.schema.facts for e in evaluators):
        facts.pop("title", None)
    return facts


def _case(path: str, *evaluators: Any) -> tuple[dict[str, Any], str]:
    """The facts of a case file, and the name a memo gives the case: the file's `title` when
    it has one (`title: Pinder v. Johnson`) and no doctrine has a fact of that name, else the
    file's name. The file is read once (it may be a pipe)."""
    from .facts import FactsFileError, read_facts

    try:
        facts = read_facts(Path(path))
    except FactsFileError as exc:
        raise UsageError(f"{path}: {exc}") from None
    title = Path(path).name
    if not any("title" in e.schema.facts for e in evaluators):
        given = facts.pop("title", None)
        if isinstance(given, str) and given.strip():
            title = " ".join(given.split())
    return facts, title


def _truth(value: bool | None) -> str:
    return {True: "met", False: "not met", None: "unknown"}[value]


def _shown(value: object) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def render_text(result: Any) -> str:
    """A compact tree of the doctrine's elements with met / not met / unknown."""
    info = result.evaluator.info
    lines = [
        f"{result.doctrine}: {info.title}",
        "  " + {True: "holds", False: "does not hold", None: "undetermined"}[result.holds],
    ]
    width = max((len(label) for label in result.elements), default=0)
    for label, value in result.elements.items():
        lines.append(f"    {label.ljust(width)}  {_truth(value)}")
    if result.missing:
        lines.append(f"  facts that could still change the outcome: {', '.join(result.missing)}")
    if result.stage:
        lines.append(f"  at {result.stage.replace('-', ' ')}:")
        for note in result.record:
            used = "unknown" if note["used"] is None else _shown(note["used"])
            lines.append(f"    {note['fact']} = {used}: {note['why']}")
    for note in result.precedents:
        lines.append(f"  precedent {note['name']}: {note['reason']}")
    return "\n".join(lines)


def cmd_eval_batch(args: argparse.Namespace) -> int:
    """`eval --batch`: every case of a JSON Lines, CSV or Parquet file (compiler/tools/batch.py)."""
    from .batch import BatchError, default_engine, load_program, run_batch

    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs}")
    try:
        evaluator, worker, program = load_program(args.file, args.doctrine)
        # --jobs is the Python engine's: given alone, it chooses that engine.
        engine = args.engine or ("python" if args.jobs != 1 else default_engine())
        if args.jobs != 1 and engine != "python":
            raise UsageError("--jobs goes with --engine python (DuckDB and Spark use every core)")
        if args.master and engine != "spark":
            raise UsageError("--master goes with --engine spark")
        _, bad = run_batch(
            evaluator,
            args.batch,
            args.output,
            args.jobs,
            worker,
            keep=args.keep or (),
            engine=engine,
            input_format=args.input_format,
            program=program,
            master=args.master,
        )
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_ERROR if bad else EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from ..runtime import FactsError

    if args.batch is not None:
        return cmd_eval_batch(args)
    if args.jobs != 1 or args.output is not None:
        raise UsageError("--jobs and -o go with --batch")
    if args.engine or args.keep or args.input_format or args.master:
        raise UsageError("--engine, --keep, --input-format and --master go with --batch")
    evaluator = _load_one(args.file, args.doctrine)
    facts = _facts(args.facts, evaluator)
    try:
        result = evaluator.evaluate(facts, stage=args.stage)
    except FactsError as exc:
        for problem in exc.problems:
            print(f"error: {args.facts}: {problem}", file=sys.stderr)
        return EXIT_ERROR
    for warning in period_warnings(result, Path(args.file)):
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(result.as_dict()))
    else:
        from .sanitize import safe_text

        print(safe_text(render_text(result)))
    return EXIT_OK


def _text_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def period_warnings(result: Any, file: Path) -> list[str]:
    """A warning when the facts' event_date falls outside the period the rule was in force,
    naming the rule of the same library that governed then."""
    import datetime

    from ..law.which import period_reason, standings

    day = result.facts.get("event_date")
    info = result.evaluator.info
    if not isinstance(day, datetime.date):
        return []
    reason = period_reason(info, day)
    if not reason:
        return []
    court = result.facts.get("circuit") or info.court
    governing = ""
    # The rules that may have governed are the doctrine's own family: variants name it
    # (`extends NAME`), so only the files of its folder that mention it are compiled, not every
    # doctrine below the folder (a broken or huge sibling must not cost the warning seconds).
    name = re.compile(rf"\b{re.escape(result.doctrine)}\b")
    related = [
        p
        for p in sorted(file.parent.glob("*.doctrine"))
        if p.resolve() == file.resolve() or name.search(_text_or_empty(p))
    ]
    with contextlib.suppress(Exception):  # the warning stands without the library's answer
        found = standings(result.doctrine, str(court), day, related)
        names = [s.doctrine for s in found if s.governed]
        if names:
            governing = f"; on that day {' or '.join(names)} governed"
    state, _, detail = reason.partition(": ")
    return [f"{result.doctrine} was {state} on {day.isoformat()} ({detail}){governing}"]


def _default_library() -> Path:
    """The library a command uses when none is named: `doctrine/` in the working folder when
    it is there, else the installed library."""
    from ..syntax.loader import library_dir

    here = Path("doctrine")
    if here.is_dir():
        return here
    installed = library_dir()
    if installed is None:
        raise UsageError(
            "no library: there is no doctrine/ folder here, and the installed library is "
            "missing (reinstall doctrine, or name the files or folder to use)"
        )
    return installed


def cmd_test(args: argparse.Namespace) -> int:
    from .cases import CaseFileError, run_tests

    files = _paths(args.paths or [str(_default_library())])
    try:
        outcomes = run_tests(files)
    except CaseFileError as exc:
        raise UsageError(str(exc)) from None
    failed = 0
    for outcome in outcomes:
        if outcome.passed:
            if args.verbose:
                print(f"PASS {outcome.name}")
        else:
            failed += 1
            print(f"FAIL {outcome.name} ({outcome.where})")
            for line in outcome.problems:
                print(f"    {line}")
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


# ---------------------------------------------------------------- fmt, graph and lsp


def cmd_fmt(args: argparse.Namespace) -> int:
    import difflib

    from ..codegen.compile import write_text_atomically
    from ..errors import DoctrineError
    from .fmt import format_source

    if args.files == ["-"]:
        sys.stdout.write(format_source(sys.stdin.read(), "<stdin>"))
        return EXIT_OK
    changed = failed = 0
    paths = _paths(args.files)
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"error: {path}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
            failed += 1
            continue
        try:
            formatted = format_source(text, str(path))
        except DoctrineError as err:
            _print_diagnostics(err.diagnostics, err.sources)
            failed += 1
            continue
        if formatted == text:
            continue
        changed += 1
        if args.diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(True), formatted.splitlines(True), str(path), str(path)
                )
            )
        if args.check:
            print(f"would reformat {path}", file=sys.stderr)
        elif not args.diff:
            try:  # whole or not at all: a failed write must not truncate the source
                write_text_atomically(path, formatted)
            except OSError as exc:
                print(f"error: {path}: {exc.strerror or exc}", file=sys.stderr)
                failed += 1
                changed -= 1
                continue
            print(f"reformatted {path}", file=sys.stderr)
    verb = "would be reformatted" if args.check or args.diff else "reformatted"
    print(
        f"{changed} file(s) {verb}, {len(paths) - changed - failed} unchanged"
        + (f", {failed} not formatted" if failed else ""),
        file=sys.stderr,
    )
    if failed:
        return EXIT_ERROR
    return EXIT_FAILED if changed and (args.check or args.diff) else EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from .graph import build, render

    graph = build(Path(args.file), args.doctrine, facts=not args.no_facts)
    text = render(graph, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_lsp(args: argparse.Namespace) -> int:
    from .lsp import serve

    serve()
    return EXIT_OK


def _add_tool_commands(sub: Any) -> None:
    p = sub.add_parser("fmt", help="format doctrine files in the canonical layout")
    p.add_argument("files", nargs="+", metavar="FILE", help="files or folders; - for stdin")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if any would")
    p.add_argument("--diff", action="store_true", help="print the changes as a diff instead")
    p.set_defaults(run=cmd_fmt)

    p = sub.add_parser("graph", help="draw the element tree of a doctrine, with its imports")
    p.add_argument("file", metavar="FILE", help="the doctrine file")
    p.add_argument(
        "--format",
        choices=("dot", "mermaid"),
        default="dot",
        help="Graphviz dot (the default) or Mermaid",
    )
    p.add_argument("--doctrine", metavar="NAME", help="only this doctrine (default: the file's)")
    p.add_argument("--no-facts", action="store_true", help="leave out the facts tested")
    p.add_argument("-o", "--output", metavar="OUT", help="write to OUT, not standard output")
    p.set_defaults(run=cmd_graph)

    p = sub.add_parser("lsp", help="run the language server (stdio)")
    p.add_argument("--stdio", action="store_true", help="speak over stdin/stdout (the default)")
    p.set_defaults(run=cmd_lsp)


# ---------------------------------------------------------------- explain, doc and diff


def _emit(text: str, output: str | None) -> int:
    """Write a document to OUT, or to standard output (as UTF-8, whatever the locale), with
    any terminal escape or lone surrogate from a case or a doctrine shown, not obeyed."""
    from .sanitize import safe_text

    text = safe_text(text)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise UsageError(f"{output}: {exc.strerror or exc}") from None
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
    return EXIT_OK


def _evaluate(evaluator: Any, facts: dict[str, Any], path: str, stage: str | None = None) -> Any:
    from ..runtime import FactsError

    try:
        return evaluator.evaluate(facts, stage=stage) if stage else evaluator.evaluate(facts)
    except FactsError as exc:
        raise _FactsProblems([f"error: {path}: {problem}" for problem in exc.problems]) from None


class _FactsProblems(Exception):
    """The facts do not fit the doctrine: one line per problem, as `eval` reports them."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def _document(args: argparse.Namespace, make: Any) -> int:
    from ..explain.render import TemplateProblem

    try:
        text = make()
    except _FactsProblems as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_ERROR
    except TemplateProblem as exc:
        raise UsageError(str(exc)) from None
    return _emit(text, args.output)


def cmd_explain(args: argparse.Namespace) -> int:
    from ..explain.explanation import render_explanation

    evaluator = _load_one(args.file, args.doctrine)
    facts, title = _case(args.facts, evaluator)
    if args.format == "docx":
        return _explain_docx(args, evaluator, facts, title)
    return _document(
        args,
        lambda: render_explanation(
            _evaluate(evaluator, facts, args.facts, args.stage),
            args.format,
            args.templates,
            case=title,
            memo=_memo_heading(args),
        ),
    )


def _explain_docx(
    args: argparse.Namespace, evaluator: Any, facts: dict[str, Any], title: str
) -> int:
    """`explain --format docx`: a Word file, to -o or to standard output when it is no terminal."""
    from ..explain.docx_memo import explanation_docx
    from ..explain.explanation import explanation

    if args.templates:
        raise UsageError("--templates does not apply to --format docx")
    if not args.output and sys.stdout.isatty():
        raise UsageError("--format docx writes a binary file: give -o FILE.docx")
    try:
        result = _evaluate(evaluator, facts, args.facts, args.stage)
    except _FactsProblems as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_ERROR
    data = explanation(result, case=title, memo=_memo_heading(args))
    return _write_docx(args, lambda: explanation_docx(data))


def _write_docx(args: argparse.Namespace, make: Any) -> int:
    """Write a Word document made by `make()` to -o, or to standard output (not a terminal)."""
    from ..explain.docx_memo import DocxUnavailable

    if args.templates:
        raise UsageError("--templates does not apply to --format docx")
    if not args.output and sys.stdout.isatty():
        raise UsageError("--format docx writes a binary file: give -o FILE.docx")
    try:
        content = make()
    except DocxUnavailable as exc:
        raise UsageError(str(exc)) from None
    if args.output:
        try:
            Path(args.output).write_bytes(content)
        except OSError as exc:
            raise UsageError(f"{args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    return EXIT_OK


def _memo_heading(args: argparse.Namespace) -> dict[str, str] | None:
    from ..explain.explanation import heading

    date = args.memo_date
    if date == "today":
        import datetime

        date = datetime.date.today().isoformat()
    return heading(args.to, args.memo_from, date, args.re)


def cmd_doc(args: argparse.Namespace) -> int:
    from ..codegen.compile import load
    from ..explain.explanation import render_documentation, render_module_documentation

    module = load(args.file)
    name = args.doctrine or module.DOCTRINE
    if name is not None:
        if name not in module.DOCTRINES:
            raise UsageError(
                f"{args.file} has no doctrine `{name}`; it has {', '.join(module.DOCTRINES)}"
            )
        evaluator = module.DOCTRINES[name]
        if args.format == "docx":
            from ..explain.docx_memo import documentation_docx
            from ..explain.explanation import documentation, module_info

            info = module_info(evaluator)
            return _write_docx(
                args,
                lambda: documentation_docx(
                    documentation(info, evaluator.name, evaluator.schema.facts)
                ),
            )
        return _document(args, lambda: render_documentation(evaluator, args.format, args.templates))
    # A file of elements or facts only: document what it declares.
    schema = {name: (kind, spec) for name, kind, spec in module.FACTS}
    if args.format == "docx":
        from ..explain.docx_memo import documentation_docx
        from ..explain.explanation import module_documentation

        return _write_docx(
            args, lambda: documentation_docx(module_documentation(module.INFO, schema))
        )
    return _document(
        args,
        lambda: render_module_documentation(module.INFO, schema, args.format, args.templates),
    )


def cmd_diff(args: argparse.Namespace) -> int:
    from ..explain.explanation import render_comparison

    first = _load_one(args.first, None)
    second = _load_one(args.second, None)
    facts, title = _case(args.facts, first, second)
    return _document(
        args,
        lambda: render_comparison(
            _evaluate(first, facts, args.facts, args.stage),
            _evaluate(second, facts, args.facts, args.stage),
            args.format,
            args.templates,
            case=title,
        ),
    )


def _add_document_commands(sub: Any) -> None:
    formats = ("markdown", "html", "text")

    def common(p: argparse.ArgumentParser, docx: bool = False) -> None:
        p.add_argument(
            "--format",
            choices=(*formats, "docx") if docx else formats,
            default="markdown",
            help="the document's format (default: markdown)"
            + ("; docx needs python-docx and -o" if docx else ""),
        )
        p.add_argument("-o", "--output", metavar="OUT", help="write the document to OUT")
        p.add_argument(
            "--templates",
            metavar="DIR",
            help="a folder of your own templates (run sandboxed; ours fill the gaps)",
        )

    def stage(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--stage",
            choices=("dismissal", "summary-judgment", "trial"),
            help="the stage of the proceedings, for facts marked alleged or disputed",
        )

    p = sub.add_parser("explain", help="explain a doctrine's result on the facts of a case")
    p.add_argument("file", metavar="FILE", help="the doctrine file")
    p.add_argument("--facts", required=True, metavar="CASE", help="YAML or JSON file of facts")
    p.add_argument("--doctrine", metavar="NAME", help="a doctrine of FILE other than its main one")
    common(p, docx=True)
    stage(p)
    memo = p.add_argument_group(
        "memorandum heading", "a To / From / Date / Re block at the top (each line optional)"
    )
    memo.add_argument("--to", metavar="WHOM", help="whom the memo is for")
    memo.add_argument("--from", dest="memo_from", metavar="WHOM", help="who wrote it")
    memo.add_argument(
        "--date",
        dest="memo_date",
        metavar="DATE",
        help="its date: YYYY-MM-DD (written out), 'today', or any text",
    )
    memo.add_argument("--re", metavar="SUBJECT", help="what it is about")
    p.set_defaults(run=cmd_explain)

    p = sub.add_parser("doc", help="write a doctrine out as a readable document")
    p.add_argument("file", metavar="FILE", help="the doctrine file")
    p.add_argument("--doctrine", metavar="NAME", help="a doctrine of FILE other than its main one")
    common(p, docx=True)
    p.set_defaults(run=cmd_doc)

    p = sub.add_parser("diff", help="compare two doctrines on the same facts")
    p.add_argument("first", metavar="A", help="the first doctrine file")
    p.add_argument("second", metavar="B", help="the second doctrine file")
    p.add_argument("--facts", required=True, metavar="CASE", help="YAML or JSON file of facts")
    common(p)
    stage(p)
    p.set_defaults(run=cmd_diff)


def cmd_which(args: argparse.Namespace) -> int:
    import datetime

    from ..law.which import library_files, standings

    try:
        day = datetime.date.fromisoformat(args.date)
    except ValueError:
        raise UsageError(f"--date {args.date}: expected a date such as 1989-03-10") from None
    library = Path(args.library) if args.library else _default_library()
    if not library.is_dir():
        raise UsageError(f"--library {args.library}: no such folder")
    files = library_files(library)
    if not files:
        raise UsageError(f"no .doctrine files in {library}")
    args.library = str(library)
    found = standings(args.question, args.court, day, files)
    if not found:
        raise UsageError(f"no doctrine in {args.library} answers `{args.question}`")
    governed = [s for s in found if s.governed]
    court = f"the {args.court} Circuit" if args.court[:1].isdigit() else args.court
    if len(governed) == 1:
        print(f"{governed[0].doctrine} governed in {court} on {day.isoformat()}:")
    elif governed:
        print(
            f"{len(governed)} doctrines could govern in {court} on {day.isoformat()}; "
            "the library does not rank them:"
        )
    else:
        print(f"no doctrine of the library governed in {court} on {day.isoformat()}.")
    for s in governed:
        print(f"  {s.doctrine}: {s.title} ({s.reason})")
    others = [s for s in found if not s.governed]
    if others:
        print("The others did not:")
        for s in others:
            print(f"  {s.doctrine}: {s.reason}")
    return EXIT_OK if governed else EXIT_FAILED


def cmd_completion(args: argparse.Namespace) -> int:
    from .completion import script

    sys.stdout.write(script(build_parser(), args.shell))
    return EXIT_OK


def _add_completion_command(sub: Any) -> None:
    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    p.add_argument("shell", choices=("bash", "zsh"), help="the shell to complete for")
    p.set_defaults(run=cmd_completion)


def cmd_site(args: argparse.Namespace) -> int:
    from .site import SiteError, broken_links, build_site

    out = Path(args.output)
    try:
        library = Path(args.library) if args.library else _default_library()
        written = build_site(library, out, title=args.title, graphviz=args.graphviz)
    except SiteError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {len(written)} files into {out}", file=sys.stderr)
    if args.check_links:
        broken = broken_links(out)
        for problem in broken:
            print(f"error: broken link: {problem}", file=sys.stderr)
        if broken:
            return EXIT_ERROR
        print("every link resolves", file=sys.stderr)
    return EXIT_OK


def _add_site_command(sub: Any) -> None:
    p = sub.add_parser(
        "site",
        help="write a library as a static website (HTML and CSS that open from disk)",
        description="Write a page per doctrine, element, authority, fact, worked case and "
        "module of LIBRARY, the memo of each worked case, an index by court and period, and "
        "an offline search page.",
    )
    p.add_argument(
        "library",
        nargs="?",
        metavar="LIBRARY",
        help="a folder of .doctrine files, or one file (default: doctrine/ here if there is "
        "one, else the installed library)",
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder to write")
    p.add_argument("--title", help="the site's title (default: after the library's folder)")
    p.add_argument(
        "--graphviz",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw each doctrine with Graphviz (default: when `dot` is on the PATH, else a list)",
    )
    p.add_argument(
        "--check-links",
        action="store_true",
        help="then check that every link between the pages resolves (exit status 2 if not)",
    )
    p.set_defaults(run=cmd_site)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `doctrine` command."""
    parser = argparse.ArgumentParser(
        prog="doctrine",
        description="Check, compile and apply legal tests written as .doctrine files.",
    )
    parser.add_argument("--version", action="version", version=f"doctrine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="parse and check doctrine files")
    p.add_argument("files", nargs="+", metavar="FILE", help="doctrine files, or folders of them")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser(
        "compile", help="write each doctrine file as a Python module (or a doctrine as SQL)"
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="doctrine files, or folders of them")
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="folder for the modules (default: here); with --target sql, the .sql file"
        " (default: standard output)",
    )
    p.add_argument(
        "--target",
        choices=("python", "sql"),
        default="python",
        help="python modules (default), or one SQL query for a doctrine (needs the sql extra)",
    )
    p.add_argument(
        "--dialect",
        choices=("duckdb", "spark", "postgres", "sqlite", "bigquery", "trino", "snowflake"),
        metavar="DIALECT",
        help="with --target sql: duckdb (default), spark, postgres, sqlite, bigquery, trino"
        " or snowflake",
    )
    p.add_argument(
        "--table", metavar="NAME", help="with --target sql: the relation of cases (default cases)"
    )
    p.add_argument(
        "--keep",
        action="append",
        metavar="COL",
        help="with --target sql: a column to carry through to the results (repeatable)",
    )
    p.add_argument(
        "--doctrine", metavar="NAME", help="with --target sql: a doctrine other than the main one"
    )
    p.add_argument(
        "--standalone",
        action="store_true",
        help="write the runtime beside the modules (as _doctrine_runtime_VERSION), so they run "
        "on the standard library alone",
    )
    p.set_defaults(run=cmd_compile)

    p = sub.add_parser("eval", help="evaluate a doctrine on the facts of a case")
    p.add_argument("file", metavar="FILE", help="the doctrine file")
    cases = p.add_mutually_exclusive_group(required=True)
    cases.add_argument("--facts", metavar="CASE", help="YAML or JSON file of facts")
    cases.add_argument(
        "--batch",
        metavar="CASES",
        help="many cases: JSON Lines, or CSV (.csv) with a header row of fact names"
        " ('-': standard input); one result per case, in order",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (the default), or the contract's JSON",
    )
    p.add_argument("--doctrine", metavar="NAME", help="a doctrine of FILE other than its main one")
    p.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="with --batch: N worker processes"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="with --batch: write the results here (.csv: CSV; .parquet: Parquet; else JSON Lines)",
    )
    p.add_argument(
        "--engine",
        choices=("python", "duckdb", "spark"),
        help="with --batch: who evaluates (default duckdb when the sql extra is installed,"
        " else python); every engine gives the same results",
    )
    p.add_argument(
        "--keep",
        action="append",
        metavar="COL",
        help="with --batch: a column (or key) to carry through to each result, such as a"
        " case id; repeatable",
    )
    p.add_argument(
        "--input-format",
        choices=("jsonl", "csv", "parquet"),
        help="with --batch: the format of the cases (default: by the file's suffix;"
        " JSON Lines on standard input)",
    )
    p.add_argument(
        "--master",
        metavar="URL",
        help="with --engine spark: the Spark master (default local[*]), or sc://HOST for"
        " Spark Connect",
    )
    p.add_argument(
        "--stage",
        choices=("dismissal", "summary-judgment", "trial"),
        help="the stage of the proceedings, for facts marked alleged or disputed",
    )
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser(
        "which", help="name the doctrine that governed a question for a court and day"
    )
    p.add_argument("question", metavar="QUESTION", help="a doctrine or the rule its variants share")
    p.add_argument("--court", required=True, help="the court whose law binds, such as 4th or 9th")
    p.add_argument("--date", required=True, help="the day the official acted (YYYY-MM-DD)")
    p.add_argument(
        "--library",
        metavar="DIR",
        help="the library's folder (default: doctrine/ here if there is one, else the installed "
        "library)",
    )
    p.set_defaults(run=cmd_which)

    p = sub.add_parser("test", help="run the cases of doctrine files and of case files")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="doctrine files, folders of them, or YAML/JSON case files (default: doctrine/ "
        "here if there is one, else the installed library)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    p.set_defaults(run=cmd_test)
    _add_document_commands(sub)
    _add_tool_commands(sub)
    _add_site_command(sub)
    from .commands import register  # schema, ask, serve, mcp: compiler/tools/commands.py

    register(sub)
    _add_completion_command(sub)
    for name, command in sub.choices.items():
        if name not in ("fmt", "completion"):
            command.add_argument(
                "--path",
                action="append",
                metavar="DIR",
                help="a folder to look in for imports, before DOCTRINE_PATH and the installed "
                "library (may be given more than once)",
            )
    from .cli_help import apply_help

    apply_help(parser)
    return parser


# Commands whose standard streams are a protocol (the language server's, MCP's), a server's
# log, or an interactive screen (the interview's menu) that draws with escape sequences of
# its own: they are left as they are, and those commands show the input's text with care.
_OWN_STREAMS = frozenset({"lsp", "mcp", "serve", "ask"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    from .sanitize import SafeStream

    parser = build_parser()
    args = parser.parse_args(argv)
    # Messages (and whatever a command prints to a terminal) show escape sequences from the
    # input as text; output to a file or pipe is left as it is, but for lone surrogates,
    # which no UTF-8 output can hold.
    saved = sys.stdout, sys.stderr
    if args.command not in _OWN_STREAMS:
        sys.stderr = SafeStream(sys.stderr)
        sys.stdout = SafeStream(sys.stdout, everything=sys.stdout.isatty())
    library_path = os.environ.get("DOCTRINE_PATH")
    if getattr(args, "path", None):
        # --path goes before DOCTRINE_PATH, for this run and the worker processes it starts.
        os.environ["DOCTRINE_PATH"] = os.pathsep.join([*args.path, *filter(None, [library_path])])
    try:
        return _run(args)
    finally:
        if library_path is None:
            os.environ.pop("DOCTRINE_PATH", None)
        else:
            os.environ["DOCTRINE_PATH"] = library_path
        if sys.stdout is not saved[0] and isinstance(sys.stdout, SafeStream):
            sys.stdout = saved[0]
        if isinstance(sys.stderr, SafeStream):
            sys.stderr = saved[1]


def _run(args: argparse.Namespace) -> int:
    from ..errors import DoctrineError

    try:
        return int(args.run(args))
    except DoctrineError as err:
        _print_diagnostics(err.diagnostics, err.sources)
        errors = sum(1 for d in err.diagnostics if d.severity == "error")
        print(f"{errors} error(s)", file=sys.stderr)
        return EXIT_ERROR
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except RecursionError:
        print("error: the input is nested too deeply to process", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`doctrine ... | head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return 141
    except Exception as exc:
        if os.environ.get("DOCTRINE_DEBUG"):
            traceback.print_exc()
        print(
            f"internal error in doctrine {__version__}: {type(exc).__name__}: {exc}\n"
            "this is a bug in doctrine, not in your input; set DOCTRINE_DEBUG=1 for details",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
