"""Remove the request's own known secrets, whole or in pieces, from a text a server said.

``remove_known`` replaces each known value (a client secret, an assertion, a token, a query
value of the request: ``secret_parts`` says what of it counts), as it is or URL-encoded, and
every run of ``KNOWN_PIECE``+ characters of one, by ``[redacted]``, keeping a word of the
server's own that a value happens to hold. ``hgobs.scrub.scrub_text`` calls it between the
shape passes. Work is linear in the text plus the secrets.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Iterable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

from hgobs.redaction import REDACTED, redact_path
from hgobs.secretshape import is_vocabulary

KNOWN_PIECE = 8
"""Shortest run of a known secret that is removed where a server echoes part of it."""
MIN_SECRET = 6
"""Shortest known secret removed; one shorter than ``KNOWN_PIECE`` is removed only whole
(a client secret, password or token of the request: callers pass 6- and 7-character values
only from such parameters, never a client id or scope)."""


_URL_SAFE_RE = re.compile(r"[A-Za-z0-9_.~-]*")
"""Characters every URL encoding leaves as they are (RFC 3986 unreserved)."""


@functools.lru_cache(maxsize=256)
def _encoded_forms(secret: str) -> tuple[str, ...]:
    """A secret as it is, and URL-encoded the ways a server may echo it (cached: the same
    known secrets are checked against every string of one record). A secret of unreserved
    characters only (a JWT, a base64url or alphanumeric token) encodes to itself."""
    if _URL_SAFE_RE.fullmatch(secret):
        return (secret,)
    return tuple({secret, quote(secret, safe=""), quote_plus(secret), quote(secret)})


@functools.lru_cache(maxsize=256)
def _windows(secret: str) -> frozenset[str]:
    """Every run of ``KNOWN_PIECE`` characters of ``secret`` (cached per secret)."""
    return frozenset(secret[i:i + KNOWN_PIECE] for i in range(len(secret) - KNOWN_PIECE + 1))


DIRECT_SEARCH_BUDGET = 1 << 17
"""Most characters of secret a piece search may scan directly (windows of the text times the
secret's length) before the secret's window set is built instead."""


def _redact_pieces(text: str, secret: str) -> str:
    """``text`` with every run of ``KNOWN_PIECE``+ characters that also occurs in ``secret``
    replaced (a server echoing the first characters of a secret, or a middle part of it).

    Each window of the text is looked for in the secret: a short text (few windows against a
    long secret, the usual error message against an assertion) searches the secret itself;
    a longer one looks each window up in the secret's set of windows, built once per secret,
    so the work stays linear in ``len(text)`` + ``len(secret)``."""
    if len(text) < KNOWN_PIECE:
        return text
    n = len(text) - KNOWN_PIECE + 1
    direct = n * 8 <= len(secret) + 128 and n * len(secret) <= DIRECT_SEARCH_BUDGET
    words = _words_of(secret)
    if not direct:
        return _redact_windows(text, _windows(secret), words=words)
    return _redact_windows(text, secret, secret, words)  # a window is a piece iff a substring


def _a_word(run: str) -> bool:
    """A run of letters that reads as a word: lower case (a capital first letter at most) and
    vocabulary by ``hgobs.secretshape.is_vocabulary`` (pronounceable), not random letters."""
    return run[1:].islower() and is_vocabulary(run)


def _words_of(value: str) -> frozenset[str]:
    """The words of a known value: its runs of letters alone between other characters
    (``consumer`` of ``3MVG9.example_consumer_key_A1b2``), ``KNOWN_PIECE``+ long. A server
    saying one of them as a word of its own is speaking, not echoing the value."""
    out: list[str] = []
    start = None
    for i, ch in enumerate(value + "\0"):
        if ch.isalpha():
            if start is None:
                start = i
            continue
        if start is not None and i - start >= KNOWN_PIECE and (start == 0 or not value[start - 1].isdigit()) \
                and not ch.isdigit() and _a_word(value[start:i]):
            out.append(value[start:i])
        start = None
    return frozenset(out)


def _redact_windows(text: str, windows: Container[str], chars: str | None = None,
                    words: frozenset[str] = frozenset()) -> str:
    """``text`` with every run of ``KNOWN_PIECE``+ characters whose each ``KNOWN_PIECE``-long
    window is in ``windows`` replaced: one pass, one lookup per character. ``chars``: every
    character a window can hold (the secret itself, when ``windows`` is it), so a position
    whose last character is not among them skips ``KNOWN_PIECE`` at once (a space ...).
    A run that is one of ``words`` (``_words_of`` the secret) standing as a word of the text
    (no letter or digit either side) is kept."""
    n = len(text) - KNOWN_PIECE + 1
    out: list[str] = []
    last = i = 0
    size = len(text)
    while i < n:
        if chars is not None and text[i + KNOWN_PIECE - 1] not in chars:
            i += KNOWN_PIECE  # no window holding that character is a piece
            continue
        if text[i:i + KNOWN_PIECE] not in windows:
            i += 1
            continue
        end = i + KNOWN_PIECE
        while end < size and text[end - KNOWN_PIECE + 1:end + 1] in windows:
            end += 1
        if words and text[i:end] in words and (i == 0 or not text[i - 1].isalnum()) \
                and (end == size or not text[end].isalnum()):
            i = end  # the server's own word, which the value happens to hold
            continue
        out += [text[last:i], REDACTED]
        last = i = end
    return "".join(out) + text[last:] if out else text


MANY_KNOWN = 2
"""Known secrets of ``KNOWN_PIECE``+ characters searched one by one; with more (a request with
many query or header values), all their windows are searched in one pass, so the work stays
linear in the text plus the secrets, not their product."""


@functools.lru_cache(maxsize=8)
def _union_windows(secrets: tuple[str, ...]) -> frozenset[str]:
    """Every ``KNOWN_PIECE``-long window of every form (``_encoded_forms``) of ``secrets``
    (remembered for the few scrubs of one record, which share their known secrets)."""
    return frozenset().union(*(_windows(form) for secret in secrets
                               for form in _encoded_forms(secret) if len(form) >= KNOWN_PIECE))


VOCABULARY_VALUES = frozenset({
    "bearer", "client_credentials", "authorization_code", "refresh_token", "access_token",
    "id_token", "offline_access", "openid", "profile", "uma_authorization",
    "client-authentication+jwt", "private_key_jwt", "client_secret_basic", "client_secret_post",
    "client_secret_jwt", "application/json", "application/x-www-form-urlencoded",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
"""Known values that are protocol words, never secrets (a Keycloak token's ``typ`` claim is
``Bearer``, its roles ``offline_access``): compared lower-cased, they are not looked for."""
_SCHEMES = frozenset({"bearer", "basic", "dpop"})


@functools.lru_cache(maxsize=512)
def secret_parts(value: str) -> tuple[str, ...]:
    """What of a known value ``scrub_text`` removes from text: ``value`` itself, except that
    a credential header value (``Bearer X``, ``Basic X``, ``DPoP X``) gives its credential
    ``X``; an ``http(s)`` URL gives only what the URL rule (``redact_url``) removes from a URL
    (user name and password, query values, fragment, id-like path segments), so the same URL
    said by the server is reduced, not deleted; and a protocol word of ``VOCABULARY_VALUES``
    gives nothing. Cached: one record's scrubs share their known values."""
    if len(value) <= 64 and value.lower() in VOCABULARY_VALUES:
        return ()
    head, blank, rest = value.partition(" ")
    if blank and head.lower() in _SCHEMES and rest.strip():
        return (rest.strip(),)
    if value[:8].lower().startswith(("http://", "https://")) and len(value.split(None, 1)) == 1:
        return _url_parts(value)
    return (value,)


def _url_parts(url: str) -> tuple[str, ...]:
    """The parts of ``url`` that ``redact_url`` removes (``secret_parts``); the whole URL
    when it does not parse."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return (url,)
    out = [unquote(p) for p in (parts.username, parts.password, parts.fragment) if p]
    out += [value or name for name, value in parse_qsl(parts.query, keep_blank_values=True)]
    segments = parts.path.split("/")
    out += [unquote(raw) for raw, kept in zip(segments, redact_path(parts.path).split("/"),
                                               strict=False)
            if raw != kept]
    return tuple(p for p in out if p)


def remove_known(text: str, known: Iterable[str]) -> str:
    """``text`` with each known secret (each of ``secret_parts`` of a known value of
    ``MIN_SECRET``+ characters), as it is or URL-encoded, and every run of ``KNOWN_PIECE``+
    characters of one replaced."""
    usable = [secret for value in known if value and len(value) >= MIN_SECRET
              for secret in secret_parts(value) if len(secret) >= MIN_SECRET]
    pieced = tuple(secret for secret in usable if len(secret) >= KNOWN_PIECE)
    many = len(pieced) > MANY_KNOWN
    for secret in usable:
        if many and len(secret) >= KNOWN_PIECE:
            continue  # its forms are runs of windows the one pass below replaces
        for form in _encoded_forms(secret):
            if form in text:
                text = text.replace(form, REDACTED)
        if len(secret) >= KNOWN_PIECE:
            text = _redact_pieces(text, secret)
    if many and len(text) >= KNOWN_PIECE:
        text = _redact_windows(text, _union_windows(pieced),
                               words=frozenset().union(*map(_words_of, pieced)))
    return text
