"""The package's import graph has no cycle, and the analysis imports neither capture nor httpx
(issue 13's house: data flows one way)."""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "hgobs"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, modules: Collection[str],
             deferred: bool = True) -> set[str]:
    """Every module ``module`` imports when it runs: at module level, and with ``deferred``
    in a function too; never in an ``if TYPE_CHECKING:`` block, which does not run. ``from p
    import n`` imports ``p.n`` when that is one of ``modules``, else ``p`` (``n`` is a name
    defined there)."""
    found: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if not deferred and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[:len(here) - node.level + 1]
                base = ".".join([*here, base] if base else here)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _files() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def graph(deferred: bool = True) -> dict[str, set[str]]:
    """Module -> the package modules it imports (with ``deferred``, in functions too), for
    every module under ``hgobs/``."""
    files = _files()
    out = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imports(tree, name, path.name == "__init__.py", files, deferred)
        out[name] = {m for m in imported if m in files and m != name}
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_cycles_finds_a_cycle_and_only_a_cycle():
    """a -> b -> c -> a is one cycle; d -> a is not part of it."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_function_level_imports_are_edges_type_checking_ones_are_not():
    """``from . import x`` in a package, an import inside a function: edges; an import under
    ``if TYPE_CHECKING:``: none."""
    tree = ast.parse("from typing import TYPE_CHECKING\nfrom . import state\n"
                     "if TYPE_CHECKING:\n    from hgobs.analysis import report\n"
                     "def f():\n    import hgobs.cli\n")
    found = _imports(tree, "hgobs.analysis", True, {"hgobs.analysis.state"})
    assert {"hgobs.analysis.state", "hgobs.cli"} <= found
    assert "hgobs.analysis.report" not in found


def test_the_package_has_no_import_cycle_at_import_time():
    """No module of ``hgobs/`` imports itself through others when it is imported."""
    edges = graph(deferred=False)
    assert "hgobs.analysis.tables" in edges["hgobs.analysis.state"]
    assert cycles(edges) == []


@pytest.mark.parametrize("layer", ["hgobs.analysis", "hgobs.reports"])
def test_analysis_and_reports_are_in_no_cycle_even_through_functions(layer):
    """Not even an import inside a function closes a cycle through the analysis or the
    renderers (state and report once imported each other that way)."""
    assert [c for c in cycles(graph()) if any(m.startswith(layer) for m in c)] == []


def _reached(edges: dict[str, set[str]], layer: str) -> set[str]:
    """Every package module the modules under ``layer`` import, directly or not."""
    seen = {m for m in edges if m == layer or m.startswith(layer + ".")}
    todo = list(seen)
    while todo:
        for w in edges[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_the_renderers_reach_the_report_data_not_the_judge_or_the_reducer():
    """``hgobs.reports`` imports ``Report`` as data: not the reducer or the judge."""
    reached = _reached(graph(), "hgobs.reports")
    assert "hgobs.analysis.tables" in reached
    assert not reached & {"hgobs.analysis.state", "hgobs.analysis.classify"}


def test_the_analysis_imports_neither_capture_nor_httpx():
    """Nothing under ``hgobs.analysis`` imports ``hgobs.capture`` or ``httpx``, directly or
    through another package module."""
    seen = _reached(graph(), "hgobs.analysis")
    files = _files()
    third_party = set()
    for m in seen:
        tree = ast.parse(files[m].read_text(encoding="utf-8"))
        third_party |= {i.split(".")[0]
                        for i in _imports(tree, m, files[m].name == "__init__.py", files)}
    assert not [m for m in seen if m.startswith("hgobs.capture")]
    assert "httpx" not in third_party


def test_the_only_cycle_through_functions_is_the_url_and_text_rules():
    """Through imports inside functions too, the package's one cycle is the mutual recursion
    of the URL rule and the text rule (``redact_url`` scrubs query names as text; the text
    scrubber reduces URLs it finds by ``redact_url``, path references in its text by
    ``hgobs.textpaths``, which uses the URL rule's path reduction, and its removal of known
    secrets, ``hgobs.knownsecrets``, reduces a known URL by that path rule too); capture's span
    redaction and log filter import the URL scope, not the module that attaches them."""
    assert cycles(graph()) == [["hgobs.knownsecrets", "hgobs.redaction", "hgobs.scrub",
                                "hgobs.textpaths"]]
