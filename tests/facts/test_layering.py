"""The analyze half and ``facts/`` never import capture or httpx (issue 13's one-way data flow)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hgobs

PACKAGE = Path(hgobs.__file__).resolve().parent
LEAN_PACKAGES = ("readers", "analysis", "facts", "diagnosis", "reports")
"""Subpackages that must work where neither httpx nor ``hgobs.capture`` can be imported."""
FORBIDDEN = ("httpx", "hgobs.capture")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``path``, relative ones resolved; ``from a
    import b`` counts as ``a.b`` too (``b`` may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _lean_files() -> list[Path]:
    return sorted(p for sub in LEAN_PACKAGES if (PACKAGE / sub).is_dir()
                  for p in (PACKAGE / sub).rglob("*.py"))


def test_the_static_check_sees_imports_of_every_form(tmp_path):
    """The check finds ``import httpx``, ``from hgobs.capture import x``, ``from hgobs import
    capture`` and a relative ``from ..capture import x`` (the check itself can fail)."""
    sub = tmp_path / "hgobs" / "readers"
    sub.mkdir(parents=True)
    path = sub / "probe.py"
    path.write_text("import httpx\nfrom hgobs.capture import record\nfrom hgobs import capture\n"
                    "from ..capture.record import Plan\nimport json\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "hgobs"
    try:
        bad = [line for line, name in _imported(path)
               if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    finally:
        PACKAGE = saved
    assert sorted(set(bad)) == [1, 2, 3, 4]


@pytest.mark.parametrize("path", _lean_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_lean_module_imports_capture_or_httpx(path):
    """No module under readers/analysis/facts/diagnosis/reports imports ``hgobs.capture`` or
    httpx, at its top or inside a function."""
    bad = [f"line {line}: {name}" for line, name in _imported(path)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []


BLOCKER = textwrap.dedent('''
    import importlib, pkgutil, sys

    class Blocker:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.split(".")[0] == "httpx" or name == "hgobs.capture" \\
                    or name.startswith("hgobs.capture."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
            return None

    sys.meta_path.insert(0, Blocker)
    failed, imported = [], []
    for package in sys.argv[1:]:
        module = importlib.import_module(package)
        imported.append(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            try:
                importlib.import_module(info.name)
                imported.append(info.name)
            except Exception as exc:
                failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
    assert not [m for m in sys.modules if m == "httpx" or m.startswith("hgobs.capture")]
    print("\\n".join(failed) if failed else f"ok {len(imported)}")
''')


def test_readers_and_analysis_import_without_capture_or_httpx():
    """In a child process where ``httpx`` and ``hgobs.capture`` cannot be imported, every
    module under ``hgobs.readers``, ``hgobs.analysis`` and ``hgobs.facts`` imports."""
    packages = [f"hgobs.{p}" for p in ("readers", "analysis", "facts")]
    result = subprocess.run([sys.executable, "-c", BLOCKER, *packages], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    count = len([p for p in packages for _ in (PACKAGE / p.split(".")[1]).rglob("*.py")])
    assert result.stdout.strip() == f"ok {count}"
