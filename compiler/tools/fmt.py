"""The canonical formatter behind `doctrine fmt`.

Layout is decided on Lark's concrete tree (every token kept) with a small Wadler-style
document printer: text, line breaks that are spaces when a group fits in `WIDTH` columns,
nesting, and groups. Comments are not in the grammar's tree (`#` is ignored), so they are
collected from the lexer and attached to tokens: a comment on the same line as the token
before it trails that token; any other comment leads the token after it. A trailing comment
is printed after the largest unit its token ends, so it stays on that unit's line and always
ends the line.

The canonical layout: two spaces per level, one item per line inside `{ ... }`, a blank line
between top-level declarations, blank lines inside blocks kept (at most one), `given` and
`expect` mappings one pair per line, an expression on one line when it fits and otherwise
broken before each `and`/`or`. Strings are never changed, except that the continuation lines
of a triple-quoted string are re-indented under the line it starts on (its text collapses
white space, so its meaning does not change). After formatting, the result is parsed again
and compared with the input, node for node and comment for comment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Union

import lark
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from ..errors import DoctrineError, DoctrineException
from ..syntax.parser import _syntax_diagnostic, build_lark, parse, strip_bom

WIDTH = 100
INDENT = 2

# ---------------------------------------------------------------- the document algebra


class _Space:
    """A single space between two tokens on a line; dropped at the start of a line."""


class _Line:
    """A space (or nothing, when soft) if the enclosing group fits, else a line break."""

    __slots__ = ("soft",)

    def __init__(self, soft: bool) -> None:
        self.soft = soft


class _Hard:
    """A line break, always."""


class _Blank:
    """A line break with one empty line before the next line."""


class _PendingBlank:
    """An empty line before the next line break's line (after a leading comment)."""


class Nest:
    __slots__ = ("by", "content", "doc", "forced", "open")

    def __init__(self, by: int, doc: Doc) -> None:
        self.by, self.doc = by, doc
        self.forced, self.open, self.content = _scan(doc)


class Group:
    """Its lines are all spaces or all breaks: spaces when it fits on the line."""

    __slots__ = ("content", "doc", "forced", "open")

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.forced, self.open, self.content = _scan(doc)


class IfBreak:
    """One text when the enclosing group is broken, another when it is flat."""

    __slots__ = ("broken", "flat")

    def __init__(self, broken: str, flat: str = "") -> None:
        self.broken, self.flat = broken, flat


class Trailing:
    """A comment at the end of a line; whatever follows goes on the next line."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Leading:
    """A comment on a line of its own, before the token it is attached to."""

    __slots__ = ("blank", "text")

    def __init__(self, text: str, blank: bool) -> None:
        self.text, self.blank = text, blank


class Prose:
    """A string token written over several lines (a triple-quoted string)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


SPACE, LINE, SOFT, HARD, BLANK = _Space(), _Line(False), _Line(True), _Hard(), _Blank()
PENDING_BLANK = _PendingBlank()

Doc = Union[
    str,
    list["Doc"],
    _Space,
    _Line,
    _Hard,
    _Blank,
    _PendingBlank,
    Nest,
    Group,
    IfBreak,
    Trailing,
    Leading,
    Prose,
]


def _scan(doc: Doc) -> tuple[bool, bool, bool]:
    """(forced, open, content): whether the document holds a line break no group can
    flatten, whether it ends with prose (after which nothing may follow on the line), and
    whether it prints anything."""
    if isinstance(doc, str):
        return False, False, bool(doc)
    if isinstance(doc, list):
        forced = opened = content = False
        for d in doc:
            f, o, c = _scan(d)
            forced = forced or f or (opened and c)
            opened = o or (opened and not c)
            content = content or c
        return forced, opened, content
    if isinstance(doc, (Nest, Group)):
        return doc.forced, doc.open, doc.content
    if isinstance(doc, Prose):
        return False, True, True
    if isinstance(doc, (_Hard, _Blank, Trailing, Leading)):
        return True, False, True
    if isinstance(doc, _PendingBlank):
        return False, False, False
    return False, False, True


def _forced(doc: Doc) -> bool:
    """Whether a document contains a line break that no group can flatten."""
    return _scan(doc)[0]


# ---------------------------------------------------------------- the printer


class _Printer:
    """Lays a document out, Wadler style, with comments that must end their lines.

    After a trailing comment the line is closed (`pending`); comments that cannot be printed
    where they stand wait in `queue` until the next line starts, and are printed on lines of
    their own at that line's indentation.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []
        self.buf = ""
        self.pending = False
        self.queue: list[str | None] = []  # comments, or None for an empty line

    def at_line_start(self) -> bool:
        return not self.buf.strip()

    def blank_before(self) -> None:
        """An empty line before the current one (which holds only indentation)."""
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def newline(self, indent: int, blank: bool = False) -> None:
        self.lines.append(self.buf.rstrip())
        if blank:
            self.blank_before()
        self.buf = " " * indent
        self.pending = False
        queue, self.queue = self.queue, []
        for comment in queue:
            if comment is None:
                self.blank_before()
            else:
                self.buf += comment
                self.lines.append(self.buf.rstrip())
                self.buf = " " * indent

    def text(self, s: str, indent: int) -> None:
        if self.pending or self.queue:
            self.newline(indent + INDENT)  # a comment closed the line: continue on the next
        self.buf += s

    def prose(self, s: str, indent: int) -> None:
        first, *rest = s.split("\n")
        body = [line for line in rest if line.strip()]
        margin = min((len(line) - len(line.lstrip()) for line in body), default=0)
        self.text(first.rstrip(), indent)
        under = len(self.buf) - len(self.buf.lstrip()) + INDENT  # below the line it starts on
        for line in rest:
            self.lines.append(self.buf.rstrip())
            self.buf = " " * under + line[margin:].rstrip() if line.strip() else ""

    def comment(self, c: Trailing | Leading, indent: int) -> None:
        if isinstance(c, Trailing) and not (self.pending or self.queue):
            self.buf += " " + c.text
            self.pending = True
        elif self.pending or self.queue or not self.at_line_start():
            if isinstance(c, Leading) and c.blank:
                self.queue.append(None)
            self.queue.append(c.text)
        else:  # a comment on a line of its own, where the next token will start
            self.buf = " " * indent
            if isinstance(c, Leading) and c.blank:
                self.blank_before()
            self.buf += c.text
            self.newline(indent)

    def fits(self, doc: Doc, rest: list[tuple[int, bool, Doc]]) -> bool:
        """Whether `doc`, flat, and what follows it up to the next line break fit."""
        left = self.width - len(self.buf)
        todo: list[tuple[bool, Doc]] = [(True, doc)]
        rest_at = len(rest)
        while True:
            if not todo:
                if rest_at == 0:
                    return True
                rest_at -= 1
                _, flat, d = rest[rest_at]
                todo.append((flat, d))
                continue
            flat, d = todo.pop()
            if isinstance(d, str):
                left -= len(d)
            elif isinstance(d, list):
                todo.extend((flat, x) for x in reversed(d))
            elif isinstance(d, _Space):
                left -= 1
            elif isinstance(d, _Line):
                if not flat:
                    return left >= 0
                left -= 0 if d.soft else 1
            elif isinstance(d, (_Hard, _Blank, Trailing, Leading)):
                return left >= 0
            elif isinstance(d, Prose):
                return left - len(d.text.split("\n", 1)[0]) >= 0
            elif isinstance(d, Nest):
                todo.append((flat, d.doc))
            elif isinstance(d, Group):
                todo.append((flat and not d.forced, d.doc))
            elif isinstance(d, IfBreak):
                left -= len(d.flat if flat else d.broken)
            if left < 0:
                return False

    def run(self, doc: Doc) -> str:
        stack: list[tuple[int, bool, Doc]] = [(0, False, doc)]
        while stack:
            indent, flat, d = stack.pop()
            if isinstance(d, str):
                if d:
                    self.text(d, indent)
            elif isinstance(d, list):
                stack.extend((indent, flat, x) for x in reversed(d))
            elif isinstance(d, _Space):
                if not (self.pending or self.queue or self.at_line_start()):
                    self.buf += " "
            elif isinstance(d, _Line):
                if not flat:
                    self.newline(indent)
                elif self.pending or self.queue:
                    self.newline(indent + INDENT)
                elif not d.soft:
                    self.buf += " "
            elif isinstance(d, _Hard):
                self.newline(indent)
            elif isinstance(d, _Blank):
                self.newline(indent, blank=True)
            elif isinstance(d, _PendingBlank):
                if self.pending or self.queue:
                    self.queue.append(None)
                else:
                    self.blank_before()
            elif isinstance(d, Nest):
                stack.append((indent + d.by, flat, d.doc))
            elif isinstance(d, Group):
                if flat or d.forced:
                    stack.append((indent, flat, d.doc))
                else:
                    stack.append((indent, self.fits(d.doc, stack), d.doc))
            elif isinstance(d, IfBreak):
                text = d.flat if flat else d.broken
                if text:
                    self.text(text, indent)
            elif isinstance(d, (Trailing, Leading)):
                self.comment(d, indent)
            elif isinstance(d, Prose):
                self.prose(d.text, indent)
        if self.queue:
            self.newline(0)
        self.lines.append(self.buf.rstrip())
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        while self.lines and not self.lines[0]:
            self.lines.pop(0)
        return "\n".join(self.lines) + "\n" if self.lines else ""


def render(doc: Doc, width: int = WIDTH) -> str:
    """Lay a document out in `width` columns."""
    return _Printer(width).run(doc)


# ---------------------------------------------------------------- the concrete tree

_lock = threading.Lock()
_comments: list[Token] = []


@lru_cache(maxsize=1)
def _cst_parser() -> lark.Lark:
    return build_lark(
        propagate_positions=True,
        maybe_placeholders=False,
        keep_all_tokens=True,
        lexer_callbacks={"COMMENT": _comments.append},
    )


def parse_with_comments(text: str, path: str = "<string>") -> tuple[Tree[Token], list[Token]]:
    """Lark's tree of `text` with every token kept, and its comments in order."""
    with _lock:
        _comments.clear()
        try:
            tree = _cst_parser().parse(text)
        except UnexpectedInput as err:
            raise DoctrineError([_syntax_diagnostic(err, text, path)], {path: text}) from None
        comments = list(_comments)
        _comments.clear()
    return tree, comments


Node = Union[Tree[Token], Token]

_EXPRESSIONS = {
    "quantified",
    "or_",
    "and_",
    "not_",
    "compare",
    "is_",
    "is_not",
    "presence",
    "name",
    "field",
    "operand",
    "all_of",
    "any_of",
    "at_least",
}
_BRACKETED = {"operand", "all_of", "any_of", "at_least"}  # they indent their own lines
_NO_SPACE_BEFORE = {",", ")", "]", ":", "."}
_NO_SPACE_AFTER = {"(", "[", "."}


def _tokens(node: Node) -> Iterator[Token]:
    if isinstance(node, Token):
        yield node
        return
    for child in node.children:
        yield from _tokens(child)


def _first(node: Node) -> Token:
    while isinstance(node, Tree):
        node = node.children[0]
    return node


def _last(node: Node) -> Token:
    while isinstance(node, Tree):
        node = node.children[-1]
    return node


def _is(node: Node, text: str) -> bool:
    return isinstance(node, Token) and node.type not in ("STRING", "NAME") and str(node) == text


class _Layout:
    """Turns the concrete tree into a document, placing every comment once."""

    def __init__(self, text: str, tree: Tree[Token], comments: list[Token]) -> None:
        self.tree = tree
        self.blank_lines = {i for i, line in enumerate(text.split("\n"), 1) if not line.strip()}
        self.leading: dict[int, list[Token]] = {}
        self.trailing: dict[int, Token] = {}
        self.final: list[Token] = []
        self.placed = 0
        self.led: set[int] = set()  # tokens whose leading comments are printed
        tokens = list(_tokens(tree))
        i = 0
        previous: Token | None = None
        for comment in comments:
            while i < len(tokens) and (tokens[i].start_pos or 0) < (comment.start_pos or 0):
                previous = tokens[i]
                i += 1
            if previous is not None and previous.end_line == comment.line:
                self.trailing[previous.start_pos or 0] = comment
                continue
            # A comment before a comma leads what follows the comma: the layout moves commas.
            j = i
            while j < len(tokens) and _is(tokens[j], ","):
                j += 1
            if j < len(tokens):
                self.leading.setdefault(tokens[j].start_pos or 0, []).append(comment)
            else:
                self.final.append(comment)
        self.total = len(comments)

    # tokens and comments ---------------------------------------------
    def blank(self, after: int | None, before: int | None) -> bool:
        """Whether an empty line stands between two lines of the source."""
        return any(n in self.blank_lines for n in range((after or 0) + 1, before or 0))

    def _comment(self, c: Token) -> str:
        self.placed += 1
        return str(c).rstrip()

    def lead(self, t: Token) -> list[Doc]:
        """The comments on lines of their own before a token, printed once."""
        if (t.start_pos or 0) in self.led:
            return []
        self.led.add(t.start_pos or 0)
        out: list[Doc] = []
        lead = self.leading.get(t.start_pos or 0, [])
        for i, c in enumerate(lead):
            blank = i > 0 and self.blank(lead[i - 1].line, c.line)
            out.append(Leading(self._comment(c), blank))
        if lead and self.blank(lead[-1].line, t.line):
            out.append(PENDING_BLANK)
        return out

    def tok(self, t: Token, leading: bool = True) -> Doc:
        out: list[Doc] = self.lead(t) if leading else []
        text = str(t)
        out.append(Prose(text) if t.type == "STRING" and "\n" in text else text)
        return out

    def trailing_comment(self, node: Node) -> Trailing | None:
        c = self.trailing.get(_last(node).start_pos or 0)
        return Trailing(self._comment(c)) if c is not None else None

    def trail(self, node: Node) -> Doc:
        """The comment after a node's last token, on the same line."""
        comment = self.trailing_comment(node)
        return [comment] if comment is not None else []

    def after(self, value: Node, commas: Sequence[Token], last: bool) -> Doc:
        """The comments after a value and after the commas that follow it (which the layout
        replaces). One ends the value's line; after the last value the others go on lines of
        their own inside the brackets, where they lead the closing bracket the next time."""
        found = [
            c
            for c in (self.trailing_comment(value), *(self.trailing_comment(c) for c in commas))
            if c is not None
        ]
        out: list[Doc] = []
        for i, comment in enumerate(found):
            out += [comment] if i == 0 or not last else [HARD, comment.text]
        return out

    def first_line(self, node: Node) -> int:
        t = _first(node)
        lead = self.leading.get(t.start_pos or 0)
        return (lead[0].line if lead else t.line) or 0

    def inner_comments(self, closing: Token, after: Node | None) -> Doc:
        """Comments before a closing brace, printed inside its block."""
        out: list[Doc] = []
        previous_line = _last(after).end_line if after is not None else None
        for c in self.leading.get(closing.start_pos or 0, []):
            gap = previous_line is not None and self.blank(previous_line, c.line)
            out += [BLANK if gap else HARD, self._comment(c)]
            previous_line = c.line
        return out

    # the walk --------------------------------------------------------
    def unit(self, node: Node) -> Doc:
        """A node on lines of its own: the comments above it stay outside its groups."""
        return [self.lead(_first(node)), self.doc(node)]

    def doc(self, node: Node, nest_exprs: bool = False) -> Doc:
        if isinstance(node, Token):
            return self.tok(node)
        if nest_exprs and node.data in _EXPRESSIONS and node.data not in _BRACKETED:
            return Nest(INDENT, self.doc(node))
        method = getattr(self, "r_" + str(node.data), None)
        if method is not None:
            return method(node)  # type: ignore[no-any-return]
        if any(isinstance(c, Token) and c.type == "LBRACE" for c in node.children):
            return self.block(node.children)
        return self.spaced(node.children, nest_exprs=node.data not in _EXPRESSIONS)

    def spaced(self, children: Sequence[Node], nest_exprs: bool = True) -> Doc:
        """Children on one line, separated as punctuation wants; comments after their units."""
        out: list[Doc] = []
        waiting: list[Doc] = []
        for i, child in enumerate(children):
            if i > 0:
                before, now = str(_last(children[i - 1])), str(_first(child))
                if now not in _NO_SPACE_BEFORE and before not in _NO_SPACE_AFTER:
                    out.append(SPACE)
            out.append(self.doc(child, nest_exprs))
            if i == len(children) - 1:
                out.extend(waiting)
            elif _is(children[i + 1], ","):
                waiting.append(self.trail(child))
            else:
                out.extend(waiting)
                waiting = []
                out.append(self.trail(child))
        return out

    def items(self, items: Sequence[Node], blanks: bool = True, last: bool = True) -> Doc:
        """Block items, one a line, with the blank lines written between them (at most one).

        The comment after the last item is left to the caller unless `last` is set.
        """
        out: list[Doc] = []
        for i, item in enumerate(items):
            gap = (
                i > 0 and blanks and self.blank(_last(items[i - 1]).end_line, self.first_line(item))
            )
            out += [BLANK if gap else HARD, self.unit(item)]
            if last or i < len(items) - 1:
                out.append(self.trail(item))
        return out

    def block(self, children: Sequence[Node], head_doc: Doc | None = None) -> Doc:
        """`HEAD { items }`: the head on one line (or as `head_doc` lays it out), items below."""
        at = next(i for i, c in enumerate(children) if isinstance(c, Token) and c.type == "LBRACE")
        head, lbrace = list(children[:at]), children[at]
        items, rbrace = list(children[at + 1 : -1]), children[-1]
        assert isinstance(lbrace, Token) and isinstance(rbrace, Token)
        if head_doc is None:
            opening = self.spaced([*head, lbrace])
        else:
            opening = [head_doc, self.trail(head[-1]), SPACE, self.tok(lbrace)]
        inner = [self.items(items), self.inner_comments(rbrace, items[-1] if items else None)]
        after_brace = self.trail(lbrace)
        if not items and not _forced(inner) and not after_brace:
            return [opening, self.tok(rbrace, leading=False)]
        return [opening, after_brace, Nest(INDENT, inner), HARD, self.tok(rbrace, leading=False)]

    # the file --------------------------------------------------------
    def r_start(self, tree: Tree[Token]) -> Doc:
        out: list[Doc] = []
        items = tree.children
        for i, item in enumerate(items):
            if i > 0:
                prev = items[i - 1]
                both_imports = all(
                    isinstance(x, Tree) and x.data == "import_stmt" for x in (prev, item)
                )
                gap = self.blank(_last(prev).end_line, self.first_line(item))
                out.append(HARD if both_imports and not gap else BLANK)
            out += [self.unit(item), self.trail(item)]
        previous_line = _last(items[-1]).end_line if items else None
        for c in self.final:
            gap = previous_line is not None and self.blank(previous_line, c.line)
            out += [BLANK if gap else HARD, self._comment(c)]
            previous_line = c.line
        return out

    # declarations whose parts go on lines of their own ---------------
    def r_fact_decl(self, tree: Tree[Token]) -> Doc:
        head, tags = tree.children[:4], tree.children[4:]
        if not tags:
            return self.spaced(head)
        # The meaning and the tags (`favours`, `known as`) on one line below the fact.
        return [self.spaced(head), self.trail(head[-1]), Nest(INDENT, [HARD, self.spaced(tags)])]

    def parts(self, parts: Sequence[Sequence[Node]]) -> Doc:
        """Parts on one line if they fit, else each after the first on a continuation line."""
        rest: list[Doc] = []
        for i, part in enumerate(parts[1:], 1):
            rest += [self.trail(parts[i - 1][-1]), LINE, self.spaced(part)]
        return Group([self.spaced(parts[0]), Nest(INDENT, rest)])

    def r_branch_item(self, tree: Tree[Token]) -> Doc:
        c = tree.children  # when EXPR then OUTCOME reasons...
        return self.parts([c[:2], c[2:4], *([r] for r in c[4:])])

    def r_otherwise_item(self, tree: Tree[Token]) -> Doc:
        c = tree.children  # otherwise OUTCOME reasons...
        return self.parts([c[:2], *([r] for r in c[2:])])

    def r_burden_item(self, tree: Tree[Token]) -> Doc:
        c = tree.children  # absent FACT counts as VALUE (when EXPR)? { because "..." cites }
        at = next(i for i, x in enumerate(c) if isinstance(x, Token) and x.type == "LBRACE")
        head = self.parts([c[:5], *([r] for r in c[5:at])])
        return self.block(c, head)

    def r_exception_item(self, tree: Tree[Token]) -> Doc:
        c = tree.children  # exception NAME when EXPR then OUTCOME ({ ... })?
        head = self.parts([c[:4], c[4:6]])
        if len(c) == 6:
            return head
        return self.block(c, head)

    def r_given_item(self, tree: Tree[Token]) -> Doc:
        keyword, mapping = tree.children
        assert isinstance(keyword, Token) and isinstance(mapping, Tree)
        return [self.tok(keyword), self.trail(keyword), SPACE, self.r_mapping(mapping, True)]

    r_expect_item = r_given_item
    r_facts_item = r_given_item  # a decided case's facts, as a case gives them

    # values ------------------------------------------------------------
    def _separated(self, children: Sequence[Node]) -> list[tuple[Node, list[Token]]]:
        """The values between brackets, each with the commas that followed it."""
        out: list[tuple[Node, list[Token]]] = []
        for child in children:
            if _is(child, ","):
                assert isinstance(child, Token)
                out[-1][1].append(child)
            else:
                out.append((child, []))
        return out

    def r_mapping(self, tree: Tree[Token], broken: bool = False) -> Doc:
        lbrace, rbrace = tree.children[0], tree.children[-1]
        assert isinstance(lbrace, Token) and isinstance(rbrace, Token)
        pairs = self._separated(tree.children[1:-1])
        inner: list[Doc] = []
        for i, (pair, commas) in enumerate(pairs):
            if i == 0:
                inner.append(HARD if broken else SOFT)
            elif broken:
                gap = self.blank(_last(pairs[i - 1][0]).end_line, self.first_line(pair))
                inner.append(BLANK if gap else HARD)
            else:
                inner.append(LINE)
            inner += [self.unit(pair)]
            if not broken and i < len(pairs) - 1:
                inner.append(IfBreak("", ","))
            inner.append(self.after(pair, commas, i == len(pairs) - 1))
        inner.append(self.inner_comments(rbrace, pairs[-1][0] if pairs else None))
        opening = [self.tok(lbrace), self.trail(lbrace)]
        closing = self.tok(rbrace, leading=False)
        if not pairs and not _forced(inner) and not _forced(opening):
            return [opening, closing]
        if broken:
            return [opening, Nest(INDENT, inner), HARD, closing]
        return Group([opening, Nest(INDENT, inner), SOFT, closing])

    def _bracketed(self, opening: Token, values: Sequence[Node], closing: Token) -> Doc:
        items = self._separated(values)
        inner: list[Doc] = []
        for i, (value, commas) in enumerate(items):
            inner += [SOFT if i == 0 else LINE, self.unit(value)]
            inner.append(IfBreak(",") if i == len(items) - 1 else ",")
            inner.append(self.after(value, commas, i == len(items) - 1))
        inner.append(self.inner_comments(closing, items[-1][0] if items else None))
        head = [self.tok(opening), self.trail(opening)]
        if not items and not _forced(inner) and not _forced(head):
            return [head, self.tok(closing, leading=False)]
        return Group([head, Nest(INDENT, inner), SOFT, self.tok(closing, leading=False)])

    def r_sequence(self, tree: Tree[Token]) -> Doc:
        first, last = tree.children[0], tree.children[-1]
        assert isinstance(first, Token) and isinstance(last, Token)
        return self._bracketed(first, tree.children[1:-1], last)

    # expressions -------------------------------------------------------
    def _chain(self, tree: Tree[Token]) -> Doc:
        kind = tree.data
        operands: list[Node] = []
        operators: list[Token] = []

        def collect(node: Node) -> None:
            if isinstance(node, Tree) and node.data == kind:
                left, op, right = node.children
                collect(left)
                assert isinstance(op, Token)
                operators.append(op)
                collect(right)
            else:
                operands.append(node)

        collect(tree)

        def operand(node: Node) -> Doc:
            if isinstance(node, Tree) and node.data in ("or_", "and_"):
                return Nest(INDENT, self.doc(node))
            return self.doc(node)

        out: list[Doc] = [operand(operands[0])]
        for i, (op, node) in enumerate(zip(operators, operands[1:])):
            out += [self.trail(operands[i]), LINE, self.tok(op), self.trail(op), SPACE]
            out.append(operand(node))
        return Group(out)

    r_or_ = _chain
    r_and_ = _chain

    def r_operand(self, tree: Tree[Token]) -> Doc:
        lpar, expr, rpar = tree.children
        assert isinstance(lpar, Token) and isinstance(rpar, Token)
        return Group(
            [
                self.tok(lpar),
                self.trail(lpar),
                Nest(INDENT, [SOFT, self.doc(expr), self.trail(expr)]),
                SOFT,
                self.tok(rpar),
            ]
        )

    def r_quantified(self, tree: Tree[Token]) -> Doc:
        head, body = tree.children[:-1], tree.children[-1]
        return Group([self.spaced(head, False), self.trail(head[-1]), LINE, self.doc(body)])

    def _listed(self, tree: Tree[Token]) -> Doc:
        at = next(i for i, c in enumerate(tree.children) if _is(c, "("))
        head, lpar, rpar = tree.children[:at], tree.children[at], tree.children[-1]
        assert isinstance(lpar, Token) and isinstance(rpar, Token)
        return [
            self.spaced(head, False),
            self.trail(head[-1]),
            SPACE,
            self._bracketed(lpar, tree.children[at + 1 : -1], rpar),
        ]

    r_all_of = _listed
    r_any_of = _listed
    r_at_least = _listed


# ---------------------------------------------------------------- the entry points


class FormatError(DoctrineException):
    """The formatter would have changed what a file means: a bug in the formatter."""


def format_source(text: str, path: str = "<string>", width: int = WIDTH) -> str:
    """The canonical layout of doctrine source; raises DoctrineError on a syntax error."""
    # A byte order mark is dropped: the formatted file is plain UTF-8.
    text = strip_bom(text).replace("\r\n", "\n").replace("\r", "\n")
    tree, comments = parse_with_comments(text, path)
    layout = _Layout(text, tree, comments)
    out = render(layout.doc(tree), width)
    if layout.placed != layout.total:
        raise FormatError(f"{path}: placed {layout.placed} of {layout.total} comments")
    new_tree, again = parse_with_comments(out, path)
    if sorted(str(c).rstrip() for c in again) != sorted(str(c).rstrip() for c in comments):
        raise FormatError(f"{path}: the comments changed")
    try:
        same = parse(out, path) == parse(text, path)
    except DoctrineError:  # a bad date or escape: compare the tokens instead
        same = _signature(new_tree) == _signature(tree)
    if not same:
        raise FormatError(f"{path}: the formatted source means something else")
    return out


def _signature(tree: Tree[Token]) -> list[tuple[str, object]]:
    """The tokens that carry meaning: commas left out, prose lines stripped."""
    return [
        (t.type, [line.strip() for line in t.split("\n")] if t.type == "STRING" else str(t))
        for t in _tokens(tree)
        if not _is(t, ",")
    ]


__all__ = ["WIDTH", "FormatError", "format_source", "parse_with_comments", "render"]
