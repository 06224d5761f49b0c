"""Write a profile's content (``Profile.content()``) as the TOML text ``load_profile`` reads.

Strings are written as JSON strings (valid TOML basic strings); the tables are those of
``docs/profiles.md``.
"""

from __future__ import annotations

import json
from typing import Any


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return f"{v:g}" if isinstance(v, float) else str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return json.dumps(v)


def _key(name: str) -> str:
    """A TOML key: bare when it is letters, digits, ``_`` and ``-`` only, else quoted."""
    bare = name and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
    return name if bare else json.dumps(name)


def to_toml(data: dict[str, Any]) -> str:
    """TOML text of ``Profile.content()`` (strings written as JSON strings, valid TOML)."""
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict)
             and k != "errors"]
    for table in ("limits", "claims", "header", "audience"):
        lines += ["", f"[{table}]"] + [f"{k} = {_value(v)}" for k, v in data[table].items()]
    for name, env in data["environments"].items():
        lines += ["", f"[environments.{_key(name)}]"]
        lines += [f"{k} = {_value(v)}" for k, v in env.items()]
    for entry in data["errors"]:
        lines += ["", "[[errors]]"] + [f"{k} = {_value(v)}" for k, v in entry.items()]
    for cat, fix in data["fixes"].items():
        lines += ["", f"[fixes.{_key(cat)}]"] + [f"{k} = {_value(v)}" for k, v in fix.items()]
    return "\n".join(lines) + "\n"
