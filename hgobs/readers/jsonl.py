"""Reader for hgobs JSON Lines (the capture sink's output): one record per line.

Yields ``Item`` objects in input order: a record with its source ``<file>:<line>``, or a skip
with the reason. Every non-blank line yields exactly one item, so totals reconcile
(lines read = records + skipped). Reasons never quote the line (it may hold secrets).

A line is first decoded by msgspec straight into a typed record (``_Typed``: every field of
``hgobs.schema.FIELDS`` with its documented type, unknown keys ignored), which checks the types
in C: ``parse_line`` takes about 5 us for a 2 KB record against 9 us for a parse followed by a
check of each value in Python (200,000 generated records, measured in one run; a plain
``msgspec.json.Decoder().decode`` takes 3 us). A line that decode refuses (a value of another
type, a missing or odd ``time``, another schema, ``NaN``, an escaped lone surrogate, not JSON)
takes the general path, which gives exactly the reasons and values it always gave: parsed by
``hgobs.jsontext.fast_loads`` and, where that refuses, by ``json``, so what is accepted
(``NaN``, integers over 64 bits) and the reasons given are exactly the standard library's.
An escaped lone surrogate (``"\\ud800"`` without its pair) is no Unicode text: in a string
value, or a string in a list, it is read as U+FFFD, as a UTF-8 decoder reads bytes that are
not text, so no later stage meets a string it cannot encode.

Asked for lean items (``ReadContext.lean``), an ASCII line is decoded only as far as the
analysis reads it (``_Lean``: the ``ANALYSIS_FIELDS``, same types, other keys skipped), and
``Item.full`` decodes the whole record when a judgement needs it (``parse_full``). A line that
is not ASCII, or that the lean decode refuses, is read whole as above: the lean decode skips
other keys without checking that their strings are UTF-8, and every line is read as a record
or skipped exactly as without ``lean`` (``tests/readers/test_lean.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any, Union

import msgspec

from hgobs.jsontext import REFUSED, fast_loads
from hgobs.readers.base import ANALYSIS_FIELDS, Item, ReadContext
from hgobs.readers.textlog import iter_lines
from hgobs.schema import FIELD_NAMES, FIELDS, SCHEMA_ID, Record

MAX_LINE_BYTES = 1 << 20
"""Longest line read as a record (bytes); longer lines are skipped with a reason."""
_KINDS = frozenset({"token_exchange", "api_call"})
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""What ``json.loads`` may read as a lone surrogate (or a pair, or an escaped backslash)."""
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _slow_parse(raw: bytes) -> Any:
    """``raw`` parsed by the standard library, lone surrogates in the strings of an object's
    values replaced (see module doc); a reason string when it is not JSON text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _Reason(f"not UTF-8 (byte {exc.start})")
    try:
        obj = json.loads(text)
        if isinstance(obj, dict) and _SURROGATE_ESCAPE.search(raw):
            for key, value in obj.items():
                if isinstance(value, str):
                    obj[key] = _LONE_SURROGATE.sub("\ufffd", value)
                elif isinstance(value, list):
                    obj[key] = [_LONE_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v
                                for v in value]
        return obj
    except ValueError as exc:
        return _Reason(f"not JSON ({type(exc).__name__} at column {getattr(exc, 'colno', '?')})")
    except RecursionError:
        return _Reason("not JSON (nested too deeply)")


class _Reason(str):
    """A skip reason returned in place of a parsed value."""


def parse_line(raw: bytes, source: str) -> Item:
    """One line of hgobs JSON Lines -> an ``Item`` (never raises).

    The record holds the line's record fields (``schema`` and keys that are no record field
    left out; a value of the wrong type dropped), as the typed decode or the general path (see
    module doc) reads them: the same dict either way.
    """
    if len(raw) > MAX_LINE_BYTES:
        return Item(source, reason=f"line longer than {MAX_LINE_BYTES} bytes")
    record = _struct_record(_decode_typed, raw)
    if record is not None:
        return Item(source, record=record)
    return parse_line_checked(raw, source)


def _struct_record(decode: Any, raw: bytes) -> Record | None:
    """The record ``decode`` (one of the struct decoders) reads from ``raw`` when it takes the
    line and finds an hgobs record (schema, numeric ``time``, known ``endpoint.kind``); else
    None, for the general path to say why."""
    try:
        struct = decode(raw)
    except (msgspec.MsgspecError, RecursionError):
        return None
    when = struct.time
    if struct.schema != SCHEMA_ID or not (when.__class__ is float or when.__class__ is int) \
            or struct.kind not in _KINDS:
        return None
    record: Record = _to_builtins(struct)
    del record["schema"]
    return record


def parse_lean(raw: bytes, source: str) -> Item:
    """One line of hgobs JSON Lines -> a lean ``Item`` (see module doc), or ``parse_line``'s
    item when the line is not ASCII or the lean decode refuses it. Never raises."""
    if raw.isascii() and len(raw) <= MAX_LINE_BYTES:
        record = _struct_record(_decode_lean, raw)
        if record is not None:
            return Item(source, record, None, lambda: parse_full(raw))  # positional: faster
    return parse_line(raw, source)


def parse_full(raw: bytes) -> Record:
    """The whole record of a line ``parse_lean`` read lean: the record ``parse_line`` gives
    (``{}`` in the case, never met, that it gives none)."""
    record = parse_line(raw, "").record
    return {} if record is None else record


def parse_line_checked(raw: bytes, source: str) -> Item:
    """``parse_line``'s general path (see module doc): the line parsed whole, then each value
    checked in Python. Never raises."""
    obj: Any = fast_loads(raw)
    if obj is REFUSED:
        obj = _slow_parse(raw)
        if isinstance(obj, _Reason):
            return Item(source, reason=str(obj))
    if not isinstance(obj, dict):
        return Item(source, reason="not a JSON object")
    schema = obj.pop("schema", None)
    if schema != SCHEMA_ID:
        return Item(source, reason="not an hgobs record (no 'schema' field)" if schema is None
                    else "not an hgobs record (another schema)")  # never quote the input
    if not FIELD_NAMES.issuperset(obj):
        for name in [k for k in obj if k not in FIELD_NAMES]:
            del obj[name]
    when = obj.get("time")
    if when.__class__ is not float and (not isinstance(when, (int, float)) or isinstance(when, bool)):
        return Item(source, reason="record has no numeric 'time'")
    kind = obj.get("endpoint.kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        return Item(source, reason="record has no valid 'endpoint.kind'")
    wrong = [k for k, v in obj.items() if v is not None and (
        not isinstance(v, _TYPES[k]) or (v.__class__ is bool and bool not in _TYPES[k])
        or (v.__class__ is list and not all(i.__class__ is str for i in v)))]
    for name in wrong:  # a hand-edited or damaged value: dropped, never met by later stages
        del obj[name]
    return Item(source, record=obj)


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "float": (int, float), "number": (int, float),
    "bool": (bool,), "list[str]": (list,), "str|list[str]": (str, list)}
_TYPES: dict[str, tuple[type, ...]] = {f.name: _PY_TYPES[f.type] for f in FIELDS}
"""The Python types a record field may hold, from its documented type in ``hgobs.schema`` (a
list's items must be ``str``: ``parse_line_checked`` checks them, the structs' types say so)."""
_STRUCT_TYPES: dict[str, tuple[Any, ...]] = {
    name: tuple(list[str] if t is list else t for t in types) for name, types in _TYPES.items()}
"""``_TYPES`` as the structs declare them (``list[str]``: msgspec checks each item)."""
_ATTRIBUTES = {"time": "time", "endpoint.kind": "kind"}
"""Struct attribute names of the fields ``parse_line`` looks at (the others: ``f<index>``)."""
_Typed: Any = msgspec.defstruct(
    "_Typed",
    [("schema", Union[str, None, msgspec.UnsetType], msgspec.UNSET)]  # noqa: UP007
    + [(_ATTRIBUTES.get(f.name, f"f{i}"), Union[(*_STRUCT_TYPES[f.name], None, msgspec.UnsetType)],
        msgspec.field(default=msgspec.UNSET, name=f.name)) for i, f in enumerate(FIELDS)],
    omit_defaults=True, gc=False)
"""A record as the typed decode reads it: each field of ``_TYPES`` (None allowed, UNSET when
absent, so ``msgspec.to_builtins`` gives back exactly the fields the line holds)."""
_decode_typed = msgspec.json.Decoder(_Typed).decode
_Lean: Any = msgspec.defstruct(
    "_Lean",
    [("schema", Union[str, None, msgspec.UnsetType], msgspec.UNSET)]  # noqa: UP007
    + [(_ATTRIBUTES.get(name, f"f{i}"), Union[(*_STRUCT_TYPES[name], None, msgspec.UnsetType)],
        msgspec.field(default=msgspec.UNSET, name=name)) for i, name in enumerate(ANALYSIS_FIELDS)],
    omit_defaults=True, gc=False)
"""A record as the lean decode reads it: ``_Typed`` cut to the ``ANALYSIS_FIELDS``."""
_decode_lean = msgspec.json.Decoder(_Lean).decode
_to_builtins = msgspec.to_builtins


NAME = "hgobs-jsonl"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None, *,
         before: int = 0) -> Iterator[Item]:
    """Items of an open binary ``stream`` named ``name``; blank lines are not records. Lines
    end at LF bytes only (never at U+2028 or other characters a JSON string may hold); a line
    longer than ``MAX_LINE_BYTES`` is skipped without being held whole. With ``ctx.lean``,
    records are read lean (see module doc). ``before``: lines of the file before ``stream``
    (a byte range of it, ``hgobs.cluster``), so sources keep the file's line numbers."""
    parse = parse_lean if ctx is not None and ctx.lean else parse_line
    for lineno, line, too_long in iter_lines(stream, MAX_LINE_BYTES, before):
        if too_long:
            yield Item(f"{name}:{lineno}", reason=f"line longer than {MAX_LINE_BYTES} bytes")
        elif line and not line.isspace():
            yield parse(line, f"{name}:{lineno}")


def sniff(head: bytes, name: str = "") -> bool:
    """True when the first bytes of a file look like hgobs JSON Lines: its first line that is
    not blank is an object naming the schema."""
    first = head.lstrip()
    return first.startswith(b"{") and SCHEMA_ID.encode() in first.split(b"\n", 1)[0]


def sniff_damaged(head: bytes) -> bool:
    """True when a line of ``head`` other than the first is an object naming the schema: an
    hgobs JSON Lines log whose first line is damaged (cut by rotation or ``tail -c``, or
    garbage). Asked only when no reader knows the file (``hgobs.readers.detect``), so a log
    of another format that merely quotes a record stays that format."""
    schema = SCHEMA_ID.encode()
    return any(line.lstrip().startswith(b"{") and schema in line
               for line in head.split(b"\n"))
