"""Configuration: ``hgobs.config`` is the one module that reads ``HGOBS_*`` variables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from hgobs.config import ENV_VARS, fingerprint_key_setting

PACKAGE = Path(__file__).resolve().parents[1] / "hgobs"
VARIABLE = re.compile(r"HGOBS_[A-Z0-9_]+")


def _names_in_code(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every string constant in ``path`` that is an ``HGOBS_*`` variable
    name (a message that mentions one is not), docstrings left out (they may name the variables they document)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and VARIABLE.fullmatch(node.value.strip())]


def test_no_module_but_config_names_an_hgobs_variable_in_code():
    """No module of the package other than hgobs/config.py holds an ``HGOBS_*`` name as a
    string to look up (messages and docstrings may mention them); config holds each one."""
    found = {str(p.relative_to(PACKAGE)): hits for p in sorted(PACKAGE.rglob("*.py"))
             if (hits := _names_in_code(p))}
    assert set(found) == {"config.py"}, found
    assert {name for _, name in found["config.py"]} == set(ENV_VARS.values())


def test_no_module_but_config_reads_the_environment_for_hgobs():
    """Outside config, no line reads ``os.environ``/``getenv`` with an ``HGOBS_`` name."""
    reads = re.compile(r"(environ|getenv)[^\n]*HGOBS_")
    offending = [f"{p.relative_to(PACKAGE)}:{n}" for p in sorted(PACKAGE.rglob("*.py"))
                 if p.name != "config.py" or p.parent != PACKAGE
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if reads.search(line)]
    assert offending == []


def test_fingerprint_key_setting_prefers_the_keyword_then_the_variable():
    """The analysis key: the keyword (str encoded as UTF-8), else HGOBS_FINGERPRINT_KEY
    stripped, else None; any length is taken (it must match the records', whatever it was)."""
    env = {"HGOBS_FINGERPRINT_KEY": "  from-the-environment \n"}
    assert fingerprint_key_setting(None, env) == b"from-the-environment"
    assert fingerprint_key_setting("short", env) == b"short"
    assert fingerprint_key_setting(b"\x00bytes", env) == b"\x00bytes"
    assert fingerprint_key_setting(None, {}) is None
    assert fingerprint_key_setting(None, {"HGOBS_FINGERPRINT_KEY": "   "}) is None
