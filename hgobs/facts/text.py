"""Make a record's text encodable: a lone surrogate in any string becomes U+FFFD.

Text from a server or an application can hold UTF-16 surrogates that pair with nothing: bytes
decoded with ``surrogateescape`` (``\\udcff``), a JSON string escape ``"\\ud800"`` (RFC 8259
section 8.2 allows it; ``json.loads`` keeps it). Such a string cannot be encoded as UTF-8, so
the JSON Lines file, the OTLP exporter and logging handlers would each fail on the record. The
instrumentor runs ``valid_text`` once on every record before any sink sees it.
"""

from __future__ import annotations

from typing import Any

from hgobs.schema import Record

REPLACEMENT = "\ufffd"


def _clean(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (linear; no regex)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join(REPLACEMENT if "\ud800" <= c <= "\udfff" else c for c in text)


def _needs(value: Any) -> bool:
    """True when ``value`` (a string, or a list of them) holds a non-ASCII string to check."""
    if type(value) is str:
        return not value.isascii()
    if type(value) is list:
        return any(_needs(v) for v in value)
    return False


def _value(value: Any) -> Any:
    if type(value) is str:
        return _clean(value)
    if type(value) is list:
        return [_value(v) for v in value]
    return value


def valid_text(record: Record) -> None:
    """Replace, in place, every lone surrogate in ``record``'s string values (and strings in
    list values) with U+FFFD. ASCII strings (nearly all) cost one ``isascii`` call, and a value
    with nothing to replace is kept as the same object."""
    changed = None
    for key, value in record.items():
        kind = type(value)
        if kind is str:
            if value.isascii():
                continue
        elif kind is not list:
            continue
        if _needs(value):
            changed = changed or {}
            changed[key] = _value(value)
    if changed:
        record.update(changed)
