"""`doctrine graph`: the element tree of a doctrine with its imports, as dot and as Mermaid."""

from __future__ import annotations

import re
import subprocess

import pytest
from support import LIBRARY, ROOT, run_cli

DUTY = LIBRARY / "duty_to_protect.doctrine"


def dot_parts(text: str) -> tuple[set[str], list[tuple[str, str, str]]]:
    """The declared node ids, and the edges as (source, target, attributes)."""
    nodes = set(re.findall(r'^\s*"([^"]+)" \[label=', text, re.MULTILINE))
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)"(.*);$', text, re.MULTILINE)
    return nodes, edges


def test_dot_draws_the_doctrine_its_elements_and_its_facts() -> None:
    proc = run_cli("graph", DUTY, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith('digraph "duty_to_protect" {') and text.rstrip().endswith("}")
    nodes, edges = dot_parts(text)
    assert {a for a, _, _ in edges} | {b for _, b, _ in edges} <= nodes, "an edge to nowhere"
    pairs = {(a, b): attrs for a, b, attrs in edges}
    slot = ("d:duty_to_protect", "e:duty_to_protect.special_relationship_exception")
    assert 'label="special_relationship"' in pairs[slot]
    # the element's requirement names a doctrine, whose elements name facts
    assert ("e:duty_to_protect.special_relationship_exception", "d:special_relationship") in pairs
    assert ("e:custody.custodial_relationship", "f:custody") in pairs
    # imports, dashed, between the modules
    assert "style=dashed" in pairs[("m:duty_to_protect", "m:state_created_danger_ninth_circuit")]
    assert 'subgraph "cluster_duty_to_protect"' in text
    assert '"d:duty_to_protect" [label="doctrine duty_to_protect"' in text


def test_a_variant_points_at_the_doctrine_it_extends() -> None:
    text = run_cli("graph", LIBRARY / "special_relationship_jensen.doctrine", cwd=ROOT).stdout
    _, edges = dot_parts(text)
    assert (
        "d:special_relationship_jensen",
        "d:special_relationship",
        ' [label="extends", style=dashed]',
    ) in edges


def test_mermaid() -> None:
    proc = run_cli("graph", DUTY, "--format", "mermaid", "--no-facts", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    d_cduty__to__protect[["doctrine duty_to_protect"]]' in lines
    assert (
        '  d_cduty__to__protect -->|"special_relationship"| '
        "e_cduty__to__protect_dspecial__relationship__exception"
    ) in lines
    assert "  m_cduty__to__protect -.-> m_cvocabulary" in lines
    assert not any(line.strip().startswith("f_c") for line in lines)
    assert sum(1 for line in lines if line.strip().startswith("subgraph")) == sum(
        1 for line in lines if line.strip() == "end"
    )


def test_one_doctrine_of_the_file(tmp_path: object) -> None:
    proc = run_cli("graph", DUTY, "--doctrine", "special_relationship", cwd=ROOT)
    assert proc.returncode == 0
    nodes, _ = dot_parts(proc.stdout)
    assert "d:special_relationship" in nodes and "d:duty_to_protect" not in nodes

    proc = run_cli("graph", DUTY, "--doctrine", "special_relationshp", cwd=ROOT)
    assert proc.returncode == 2
    assert "no doctrine `special_relationshp`" in proc.stderr
    assert "error[D0701]" in proc.stderr
    assert "did you mean `special_relationship`?" in proc.stderr


def test_a_library_of_elements_draws_its_elements() -> None:
    proc = run_cli("graph", LIBRARY / "conduct.doctrine", cwd=ROOT)
    nodes, _ = dot_parts(proc.stdout)
    assert "e:conduct.specific_plaintiff" in nodes


# Heavy: it needs Graphviz (.ci/run installs it); where dot is missing it fails, never skips.
@pytest.mark.heavy
def test_graphviz_reads_the_output() -> None:
    text = run_cli("graph", DUTY, cwd=ROOT).stdout
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=60, check=False
    )
    assert svg.returncode == 0, svg.stderr
    assert "<svg" in svg.stdout and "doctrine duty_to_protect" in svg.stdout
