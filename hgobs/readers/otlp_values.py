"""OTLP JSON values: ``AnyValue`` and ``KeyValue`` lists as Python values, protobuf JSON names.

The OTLP/JSON encoding (camelCase field names, int64 as strings) and the protobuf JSON mapping
(``MessageToJson``: snake_case names accepted too) of
``opentelemetry/proto/common/v1/common.proto``, as ``hgobs.readers.otlp`` reads them. A
malformed value reads as None, never an error.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from typing import Any

__all__ = ["any_value", "any_value_by_kind", "attributes", "get_field", "list_field", "snake"]


@functools.lru_cache(maxsize=64)
def snake(camel: str) -> str:
    """``camel`` (a camelCase protobuf JSON field name) in snake_case: ``intValue`` -> ``int_value``."""
    return re.sub(r"([A-Z])", r"_\1", camel).lower()


def get_field(obj: dict[str, Any], camel: str) -> Any:
    """Field ``camel`` of a protobuf JSON object, or its snake_case twin."""
    return obj[camel] if camel in obj else obj.get(snake(camel))


def list_field(obj: Any, *names: str) -> list[Any]:
    """The first of the array fields ``names`` present in ``obj`` ([] when none is an array)."""
    if not isinstance(obj, dict):
        return []
    for name in names:
        value = get_field(obj, name)
        if value is not None:
            return value if isinstance(value, list) else []
    return []


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a Python value (None when empty or malformed)."""
    if not isinstance(value, dict):
        return None
    if len(value) == 1:  # the usual shape: one kind, e.g. {"stringValue": "..."}
        [(name, item)] = value.items()
        convert = _CONVERTERS.get(name)
        if convert is None or item is None:
            return None
        try:
            return convert(item)
        except (TypeError, ValueError, binascii.Error, RecursionError):
            return None
    return any_value_by_kind(value)


def any_value_by_kind(value: dict[str, Any]) -> Any:
    """An ``AnyValue`` object read field by field in ``_VALUE_KINDS`` order: the first kind
    present decides (``any_value`` without its one-field shortcut; a test compares the two)."""
    for name, convert in _VALUE_KINDS:
        item = get_field(value, name)
        if item is not None:
            try:
                return convert(item)
            except (TypeError, ValueError, binascii.Error, RecursionError):
                return None
    return None


def attributes(kvs: Any) -> dict[str, Any]:
    """OTLP ``[{"key", "value": AnyValue}]`` as a mapping."""
    out: dict[str, Any] = {}
    converters = _CONVERTERS
    for kv in kvs if isinstance(kvs, list) else ():
        if not isinstance(kv, dict):
            continue
        key, value = kv.get("key"), kv.get("value")
        if not isinstance(key, str):
            continue
        if value.__class__ is dict and len(value) == 1:  # ``any_value``'s usual case, inline
            [(name, item)] = value.items()
            convert = converters.get(name)
            if item.__class__ is str and name == "stringValue":
                out[key] = item
                continue
            if convert is not None and item is not None:
                try:
                    out[key] = convert(item)
                    continue
                except (TypeError, ValueError, binascii.Error, RecursionError):
                    pass
            out[key] = None
        else:
            out[key] = any_value(value)
    return out


def _string(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(type(v).__name__)
    return v


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if v in ("true", "false"):
        return bool(v == "true")
    raise TypeError(type(v).__name__)


def _int64(v: Any) -> int:
    """An int64 (a string in protobuf JSON, a number in some writers)."""
    if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
        raise TypeError(type(v).__name__)
    return int(v)


def _double(v: Any) -> float:
    """A double: a number, or ``"NaN"``/``"Infinity"``/``"-Infinity"`` in protobuf JSON."""
    if isinstance(v, bool):
        raise TypeError("bool")
    return float(v)


_VALUE_KINDS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("stringValue", _string),
    ("boolValue", _bool),
    ("intValue", _int64),
    ("doubleValue", _double),
    ("arrayValue", lambda v: [any_value(x) for x in list_field(v, "values")]),
    ("kvlistValue", lambda v: attributes(list_field(v, "values"))),
    ("bytesValue", lambda v: base64.b64decode(_string(v))),
)
_CONVERTERS = {**{snake(name): convert for name, convert in _VALUE_KINDS}, **dict(_VALUE_KINDS)}
"""The converter of each ``AnyValue`` field, by its camelCase and snake_case names."""
