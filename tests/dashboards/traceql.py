"""Just enough TraceQL to check our panels against exported spans.

``parse`` reads a query of the shape our dashboards use: one spanset filter ``{ a && b ... }``
whose conditions compare a span attribute (``span.x.y``) or an intrinsic (``name``,
``duration``, ``status``, ``kind``) with a string, number, duration or status literal, followed by
optional pipeline stages (``| select(...)``, ``| rate() by (...)``). ``Condition.matches`` evaluates
one condition on a span flattened by the OTLP receiver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_FIELD = r"span\.[A-Za-z_][\w.]*|name|duration|status|kind"
_LITERAL = r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:ns|us|ms|s|m|h)?|error|ok|unset|client|server|internal|producer|consumer'
_CONDITION = re.compile(rf"^\s*({_FIELD})\s*(=~|!~|!=|>=|<=|=|>|<)\s*({_LITERAL})\s*$")
ATTRIBUTE = re.compile(r"\bspan\.([A-Za-z_][\w.]*[A-Za-z0-9_])")
_UNITS_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
             "h": 3_600_000_000_000}
_STATUS = {"unset": 0, "ok": 1, "error": 2}
_KIND = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}


class TraceQLError(ValueError):
    """The query is outside the subset this module reads."""


@dataclass(frozen=True)
class Condition:
    """``field op literal``; ``value`` is the parsed literal (str, float, or nanoseconds)."""

    field: str
    op: str
    literal: str
    value: Any

    @property
    def is_string(self) -> bool:
        return self.literal.startswith('"')

    def actual(self, span: dict[str, Any]) -> Any:
        """The span's value of ``field`` (None when the attribute is absent)."""
        if self.field.startswith("span."):
            return span["attributes"].get(self.field[len("span."):])
        return {"name": span["name"], "duration": span["duration_ns"],
                "status": span["status_code"], "kind": span["kind"]}[self.field]

    def matches(self, span: dict[str, Any]) -> bool:
        v = self.actual(span)
        if v is None:
            return False
        if self.op in ("=~", "!~"):
            hit = isinstance(v, str) and re.fullmatch(self.value, v) is not None
            return hit if self.op == "=~" else not hit
        if self.is_string != isinstance(v, str):
            return False
        return {"=": v == self.value, "!=": v != self.value, ">": v > self.value,
                "<": v < self.value, ">=": v >= self.value, "<=": v <= self.value}[self.op]


@dataclass(frozen=True)
class Query:
    """A parsed query: the filter's conditions (all must hold) and every attribute named."""

    conditions: tuple[Condition, ...]
    attributes: frozenset[str]

    def matches(self, span: dict[str, Any]) -> bool:
        return all(c.matches(span) for c in self.conditions)


def _literal(field: str, text: str) -> Any:
    if text.startswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if field == "status":
        return _STATUS[text]
    if field == "kind":
        return _KIND[text]
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)(ns|us|ms|s|m|h)?", text)
    if m is None:
        raise TraceQLError(f"literal {text!r}")
    number = float(m.group(1))
    return number * _UNITS_NS[m.group(2)] if m.group(2) else number


def parse(query: str) -> Query:
    """Parse ``query`` (see the module docstring); TraceQLError outside the subset."""
    m = re.fullmatch(r"\s*\{(.*?)\}\s*((?:\|.*)?)", query, re.S)
    if m is None:
        raise TraceQLError(f"not a single spanset filter: {query!r}")
    conditions = []
    for part in re.split(r"&&", m.group(1)):
        c = _CONDITION.match(part)
        if c is None:
            raise TraceQLError(f"condition {part.strip()!r}")
        conditions.append(Condition(c.group(1), c.group(2), c.group(3), _literal(c.group(1), c.group(3))))
    return Query(tuple(conditions), frozenset(ATTRIBUTE.findall(query)))
