"""``WWW-Authenticate`` challenges (RFC 9110 section 11.6.1) and the record's ``challenge.*`` facts.

A response may carry several challenges, in one header or in repeated headers that httpx joins
with ``", "`` (``Basic realm="api", Bearer error="invalid_token"``). Each is read apart, and the
Bearer one (RFC 6750 section 3) gives the facts. The value is cut before any pattern runs, and
every pattern is linear in what it reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hgobs.facts.oauth import MAX_FIELD
from hgobs.scrub import scrub_text

MAX_CHALLENGE_CHARS = 4096
"""Characters of a ``WWW-Authenticate`` value read (the rest is cut before it is parsed)."""
MAX_CHALLENGE_ITEMS = 64
"""Comma-separated items (schemes and parameters) of a ``WWW-Authenticate`` value read."""
_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_CHALLENGE_ITEM_RE = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^,"]+)+')
"""One comma-separated element of a ``WWW-Authenticate`` value, quoted strings kept whole
(linear: each branch starts on a different character, and nothing after it can fail; a run
of plain characters is one step of the outer repeat, not one step per character, which is
about 15 times cheaper on long runs)."""
_AUTH_PARAM_RE = re.compile(
    r'([!#$%&\'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"?|([^\s,"]*))')
"""``auth-param = token BWS "=" BWS ( token / quoted-string )`` (RFC 9110 section 11.2)."""
_QUOTED_PAIR_RE = re.compile(r"\\(.)")


def challenges(value: str) -> list[tuple[str, dict[str, str] | str]]:
    """The challenges of a ``WWW-Authenticate`` value (RFC 9110 section 11.6.1), in order:
    ``(auth-scheme, params)`` with params a dict of lower-cased names to values (quoted-string
    unescaped; a repeated name keeps its first value), or ``(auth-scheme, token68)``.

    ``value`` is one header or several joined with ``", "`` (httpx); it is cut to
    ``MAX_CHALLENGE_CHARS`` first, and items past ``MAX_CHALLENGE_ITEMS`` are not read.
    Parameters before any scheme go to a challenge with scheme
    ``""``. Linear in the characters read.
    """
    out: list[tuple[str, dict[str, str] | str]] = []
    params: dict[str, str] | None = None
    for count, item in enumerate(_CHALLENGE_ITEM_RE.finditer(value[:MAX_CHALLENGE_CHARS])):
        if count >= MAX_CHALLENGE_ITEMS:
            break
        text = item.group(0).strip()
        if not text:
            continue
        param = _AUTH_PARAM_RE.match(text)
        if param is None:  # "scheme", "scheme token68" or "scheme name=value"
            scheme, _, rest = text.partition(" ")
            rest = rest.strip()
            if "=" in scheme or not scheme:
                continue  # neither a scheme nor a parameter: skipped
            if rest and _TOKEN68_RE.fullmatch(rest):  # "=" only at its end: never a param
                out.append((scheme, rest))
                params = None
                continue
            params = {}
            out.append((scheme, params))
            param = _AUTH_PARAM_RE.match(rest) if rest else None
            if param is None:
                continue
        if params is None:
            params = {}
            out.append(("", params))
        quoted = param.group(2)
        raw = _QUOTED_PAIR_RE.sub(r"\1", quoted) if quoted is not None else param.group(3)
        params.setdefault(param.group(1).lower(), raw)
    return out


def challenge_facts(value: str | None, known: Iterable[str] = ()) -> dict[str, Any]:
    """The ``challenge.*`` fields of a ``WWW-Authenticate`` value: of its Bearer challenge
    (RFC 6750 section 3) when it has one, else of its first (``challenges`` parses it)."""
    if not value:
        return {}
    found = challenges(value)
    if not found:
        return {}
    scheme, params = next((c for c in found if c[0].lower() == "bearer"), found[0])
    facts: dict[str, Any] = {"challenge.scheme": scrub_text(scheme, limit=32) if scheme else None}
    if isinstance(params, dict):
        for name in ("error", "scope", "realm"):
            if name in params:
                facts[f"challenge.{name}"] = scrub_text(params[name], known, limit=MAX_FIELD)
        if "error_description" in params:
            facts["challenge.error_description"] = scrub_text(params["error_description"], known)
    return {k: v for k, v in facts.items() if v is not None}
