"""``--storage-option KEY=VALUE`` pairs as fsspec storage options (``hgobs analyze``).

A dotted key nests (``client_kwargs.endpoint_url=http://127.0.0.1:9000`` gives
``{"client_kwargs": {"endpoint_url": ...}}``); ``true``/``false`` are booleans, a run of
digits an integer, anything else text. Values may be credentials: no message quotes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hgobs.errors import ConfigError

__all__ = ["storage_options"]


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text) if text.isdigit() else text


def storage_options(pairs: Iterable[str]) -> dict[str, Any]:
    """The options ``pairs`` (``KEY=VALUE`` each) give. Raises ``ConfigError`` (option
    ``--storage-option``) for a pair without ``=`` or with an empty key part, naming its
    position only."""
    out: dict[str, Any] = {}
    for number, pair in enumerate(pairs, start=1):
        key, sep, value = pair.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ConfigError("--storage-option", f"the {number}. is not KEY=VALUE (a key, "
                                                  "dots between nested keys, then =)")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = _value(value)
    return out
