"""Record readers the rules share: typed field access, the server's words, failure and kind.

Each is a small pure function of one record (a ``dict`` of schema fields, ``hgobs.schema``);
none raises on a missing or mistyped field.
"""

from __future__ import annotations

from typing import Any

from hgobs.diagnosis.catalog import CONFIRMED, LIKELY
from hgobs.profiles import API_CALL, TOKEN_EXCHANGE
from hgobs.profiles.model import words_of

Record = dict[str, Any]
REFUSED_API_STATUSES = frozenset({401, 403, 429})
"""API call statuses that are auth refusals (RFC 6750 section 3.1; RFC 6585 section 4)."""


def text(value: Any) -> str:
    """``value`` when it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


def to_seconds(value: Any) -> float | None:
    """A NumericDate claim as seconds (milliseconds scaled down); None if not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value / 1000.0 if value > 1e11 else float(value)


def server_said(r: Record, words: tuple[str, ...]) -> bool:
    """True when the server's words (error description, message, challenge description),
    lower-cased, hold one of ``words`` (lower-case literals; linear, no regular expression)."""
    said = words_of(r)
    return bool(said) and any(w in said for w in words)


def server_said_word(r: Record, word: str) -> bool:
    """True when the server's words hold ``word`` (lower case) as a whole word: not preceded or
    followed by a letter, digit or underscore."""
    said = words_of(r)
    start = said.find(word)
    while start >= 0:
        end = start + len(word)
        if (start == 0 or not _is_word_char(said[start - 1])) and \
                (end == len(said) or not _is_word_char(said[end])):
            return True
        start = said.find(word, start + 1)
    return False


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def error(r: Record) -> str:
    """The OAuth ``error`` code the server answered (body first, then the challenge), or ``""``."""
    return text(r.get("response.error")) or text(r.get("challenge.error"))


def refused_like(r: Record, *errors: str) -> str:
    """CONFIRMED when the server answered one of ``errors`` (or an empty body), else LIKELY."""
    if error(r) in errors or r.get("response.body_empty"):
        return CONFIRMED
    return LIKELY


def is_exchange(r: Record) -> bool:
    """True for a token exchange (``endpoint.kind``)."""
    return r.get("endpoint.kind") == TOKEN_EXCHANGE


def is_api(r: Record) -> bool:
    """True for an API call (``endpoint.kind``)."""
    return r.get("endpoint.kind") == API_CALL


def is_failure(r: Record) -> bool:
    """True when the attempt failed: a token exchange without a 2xx, or a refused API call."""
    status = r.get("http.status")
    if is_api(r):
        return status is None or status in REFUSED_API_STATUSES or status >= 400
    return status is None or not 200 <= status < 300


def called_token_url(r: Record) -> str:
    """The URL called, without its query."""
    return text(r.get("url")).split("?", 1)[0]
