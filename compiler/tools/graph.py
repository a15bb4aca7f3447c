"""`doctrine graph`: the element tree of a file's doctrines, with the modules they import.

Nodes are doctrines, elements and the facts they test, each inside a box for the module that
declares it; a doctrine points at its elements (labelled with the slot's name when that
differs from the element's), an element at the elements, doctrines and facts its
requirement names, a variant at the doctrine it extends. Dashed arrows between the module
boxes' own nodes are the imports. Written as Graphviz dot or as a Mermaid flowchart.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from ..checking import ir
from ..errors import Diagnostic, DoctrineError, did_you_mean
from ..syntax.loader import display_path

FORMATS = ("dot", "mermaid")


@attrs.frozen
class Node:
    id: str
    kind: str  # module, doctrine, element, fact
    label: str
    module: str  # the module that declares it ("" for a module node)
    title: str = ""


@attrs.frozen
class Edge:
    source: str
    target: str
    label: str = ""
    style: str = "solid"  # solid, dashed (imports, extends)


@attrs.frozen
class Graph:
    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def build(path: Path, doctrine: str | None = None, facts: bool = True) -> Graph:
    """The graph of one file (and what it imports).

    Raises DoctrineError if the file does not check, or has no doctrine called `doctrine`.
    """
    from ..codegen.compile import check_files

    resolved = path.resolve()
    project, _ = check_files([path])
    program = project.program(resolved)
    module_of = {p: project.module_name(p) for p in project.loaded.order}
    doctrines = {d.name: d for d in project.doctrines.values()}
    if doctrine is not None and doctrine not in doctrines:
        known = sorted(doctrines)
        hint = did_you_mean(doctrine, known) or f"its doctrines are {', '.join(known) or 'none'}"
        message = f"no doctrine `{doctrine}` in {display_path(resolved)} or its imports"
        raise DoctrineError([Diagnostic("D0701", message, None, help=hint)])

    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    fact_module: dict[str, str] = {}
    for p in project.loaded.order:
        for entry in project.own(p).values():
            if entry.kind == "fact":
                fact_module.setdefault(entry.decl.name, module_of[p])

    def add_doctrine(name: str) -> str:
        node_id = f"d:{name}"
        if node_id in nodes:
            return node_id
        d = doctrines[name]
        nodes[node_id] = Node(node_id, "doctrine", name, d.module, d.title)
        if d.extends and d.extends in doctrines:
            edges.append(Edge(node_id, add_doctrine(d.extends), "extends", "dashed"))
        for label, key in d.slots:
            target = add_element(key)
            edges.append(Edge(node_id, target, label if label != key.rpartition(".")[2] else ""))
        add_uses(node_id, d.expr, skip={k for _, k in d.slots})
        return node_id

    def add_element(key: str) -> str:
        node_id = f"e:{key}"
        if node_id in nodes:
            return node_id
        el = project.elements[key]
        module = el.module or key.rpartition(".")[0]
        nodes[node_id] = Node(node_id, "element", el.name, module, el.title)
        add_uses(node_id, el.expr)
        return node_id

    def add_uses(source: str, expr: ir.Expr, skip: frozenset[str] | set[str] = frozenset()) -> None:
        for kind, name in ir.references(expr):
            if kind == "element" and name not in skip and name in project.elements:
                edges.append(Edge(source, add_element(name)))
            elif kind == "doctrine" and name in doctrines:
                edges.append(Edge(source, add_doctrine(name)))
            elif kind == "fact" and facts:
                node_id = f"f:{name}"
                if node_id not in nodes:
                    nodes[node_id] = Node(node_id, "fact", name, fact_module.get(name, ""))
                edges.append(Edge(source, node_id))

    if doctrine is not None:
        add_doctrine(doctrine)
    else:
        for d in program.doctrines:
            add_doctrine(d.name)
        if not program.doctrines:  # a library of elements: draw each one it declares
            own = module_of[resolved]
            for key in project.elements:
                if key.rpartition(".")[0] == own:
                    add_element(key)

    # The modules, and the imports among those the drawing uses or that lead to them.
    for p in project.loaded.closure(resolved):
        name = module_of[p]
        nodes[f"m:{name}"] = Node(f"m:{name}", "module", name, "")
        for dep in project.loaded.imports.get(p, ()):
            edges.append(Edge(f"m:{name}", f"m:{module_of[dep]}", style="dashed"))
    unique = list(dict.fromkeys(edges))
    return Graph(module_of[resolved], tuple(nodes.values()), tuple(unique))


# ---------------------------------------------------------------- writers


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_DOT_SHAPES = {
    "doctrine": 'shape=box, style="rounded,bold"',
    "element": "shape=box",
    "fact": "shape=ellipse",
    "module": "shape=folder",
}


def to_dot(graph: Graph) -> str:
    """Graphviz dot: one cluster per module."""
    lines = [
        f"digraph {_dot_str(graph.name)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica"];',
    ]
    modules = [n for n in graph.nodes if n.kind == "module"]
    for m in modules:
        members = [n for n in graph.nodes if n.module == m.label and n.kind != "module"]
        if not members:
            continue
        lines.append(f"  subgraph {_dot_str('cluster_' + m.label)} {{")
        lines.append(f"    label={_dot_str('module ' + m.label)};")
        for n in members:
            lines.append(f"    {_dot_node(n)}")
        lines.append("  }")
    lines.append("  subgraph cluster_imports {")
    lines.append('    label="imports";')
    for m in modules:
        lines.append(f"    {_dot_node(m)}")
    lines.append("  }")
    for n in graph.nodes:
        if n.kind != "module" and not any(m.label == n.module for m in modules):
            lines.append(f"  {_dot_node(n)}")
    for e in graph.edges:
        attrs_ = []
        if e.label:
            attrs_.append(f"label={_dot_str(e.label)}")
        if e.style != "solid":
            attrs_.append(f"style={e.style}")
        tail = f" [{', '.join(attrs_)}]" if attrs_ else ""
        lines.append(f"  {_dot_str(e.source)} -> {_dot_str(e.target)}{tail};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(n: Node) -> str:
    label = n.label if n.kind in ("fact", "module") else f"{n.kind} {n.label}"
    extra = f", tooltip={_dot_str(n.title)}" if n.title else ""
    return f"{_dot_str(n.id)} [label={_dot_str(label)}, {_DOT_SHAPES[n.kind]}{extra}];"


_MERMAID_ESCAPES = {"_": "__", ":": "_c", ".": "_d"}


def _mermaid_id(node_id: str) -> str:
    """A Mermaid identifier for a node id, one to one: `a.b_c` and `a_b.c` stay apart.

    Letters and digits stand for themselves; every other character becomes `_` and a code
    (`__` for `_` itself), so no two ids can meet.
    """
    return "".join(
        ch if ch.isascii() and ch.isalnum() else _MERMAID_ESCAPES.get(ch) or f"_x{ord(ch):x}_"
        for ch in node_id
    )


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


_MERMAID_SHAPES = {
    "doctrine": ("[[", "]]"),
    "element": ("[", "]"),
    "fact": ("([", "])"),
    "module": ("[/", "/]"),
}


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart: one subgraph per module."""
    lines = ["flowchart LR"]
    modules = [n for n in graph.nodes if n.kind == "module"]

    def node(n: Node) -> str:
        left, right = _MERMAID_SHAPES[n.kind]
        label = n.label if n.kind in ("fact", "module") else f"{n.kind} {n.label}"
        return f"{_mermaid_id(n.id)}{left}{_mermaid_text(label)}{right}"

    for m in modules:
        members = [n for n in graph.nodes if n.module == m.label and n.kind != "module"]
        if not members:
            continue
        lines.append(f"  subgraph {_mermaid_id('module:' + m.label)}[{_mermaid_text(m.label)}]")
        lines += [f"    {node(n)}" for n in members]
        lines.append("  end")
    lines.append(f"  subgraph imports[{_mermaid_text('imports')}]")
    lines += [f"    {node(m)}" for m in modules]
    lines.append("  end")
    for n in graph.nodes:
        if n.kind != "module" and not any(m.label == n.module for m in modules):
            lines.append(f"  {node(n)}")
    for e in graph.edges:
        arrow = "-.->" if e.style == "dashed" else "-->"
        label = f"|{_mermaid_text(e.label)}|" if e.label else ""
        lines.append(f"  {_mermaid_id(e.source)} {arrow}{label} {_mermaid_id(e.target)}")
    return "\n".join(lines) + "\n"


def render(graph: Graph, fmt: str = "dot") -> str:
    """The graph in `fmt` ("dot" or "mermaid")."""
    return to_mermaid(graph) if fmt == "mermaid" else to_dot(graph)


__all__ = ["FORMATS", "Edge", "Graph", "Node", "build", "render", "to_dot", "to_mermaid"]
