"""Scrub free text: secret-shaped runs and the request's own secrets out of what a server said.

``scrub_text`` takes a server's error description, a challenge's fields, a header value or a
service name, cuts it before any pattern runs, and replaces what is a secret by its shape
(``hgobs.secretshape``: JWTs, e-mail addresses, token-shaped runs that are not vocabulary,
values assigned to secret keys, credentials after ``Bearer``) and every known secret of the
request (and any 8-character piece of one); URLs and path references are reduced by
``hgobs.redaction``'s URL rule. Words of the message stay as they are, so evidence survives.
Every pattern is linear in its input.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Iterable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

from hgobs.redaction import JWT_RE, REDACTED, redact_path, redact_url
from hgobs.secretshape import assignment_spans, credential_spans, is_secret_shaped, is_vocabulary
from hgobs.textpaths import redact_paths

MAX_TEXT_CHARS = 512
SCAN_MARGIN = 1024
"""Characters past ``limit`` that ``scrub_text`` reads at most: every text is cut to
``limit + SCAN_MARGIN`` characters before any pattern runs (a 60 KB HTML error page costs no
more than its first 1.5 KB), the margin leaving room for long shapes that scrubbing shortens."""
# Runs of token characters judged by ``is_secret_shaped``: 16+ base64url characters, or 24+
# characters of standard base64 (with "/" and "+").
_TOKENISH_RE = re.compile(r"[A-Za-z0-9_\-+=~]{16,}")
_B64_RUN_RE = re.compile(r"[A-Za-z0-9_\-+/=~]{24,}")
_SCHEME_CHARS_RE = re.compile(r"[A-Za-z0-9+.\-]*")  # RFC 3986 section 3.1 (reads reversed too)
_URL_REST_RE = re.compile(r"[^\s\"'<>,;]+")
# Internationalised addresses (RFC 6531): local part of word characters (any script) and RFC
# 5322 atext; domain labels of word characters and hyphens, then a top label of 2+ letters.
_LOCAL_CHARS_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~\-]*")
_AT_DOMAIN_RE = re.compile(r"@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}")


MAX_UNQUOTE = 3
"""Rounds of percent-decoding before judging (``%2540`` is ``@`` encoded twice); each round
is linear, their number fixed."""
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


_WORD_RE = re.compile(r"[A-Za-z0-9_-]*")
_SHORT_WORD = 16
"""Shorter than the shortest token-shaped run ``scrub_text`` removes."""


def _scrub_plain(text: str, strict: bool = False) -> str:
    """``text`` with each secret-shaped run (``is_secret_shaped``; ``strict``: vocabulary too,
    for a URL's host) replaced."""
    def judge(match: re.Match[str]) -> str:
        run = match.group(0)
        if not is_secret_shaped(run, strict):
            return run
        name, eq, value = run.partition("=")
        if eq and not strict and is_vocabulary(name):  # ``client_id=0oa1b2c3``: the name stays
            return f"{name}={_scrub_plain(value) if is_vocabulary(value) else REDACTED}"
        return REDACTED

    return _TOKENISH_RE.sub(judge, _B64_RUN_RE.sub(judge, text))


def _redact_spans(text: str) -> str:
    """``text`` with values assigned to secret keys and credentials after an authentication
    scheme replaced (``assignment_spans``, ``credential_spans``)."""
    spans: list[tuple[int, int]] = []
    if "=" in text or (":" in text and ('"' in text or "'" in text)):
        spans += assignment_spans(text)  # an assignment needs "=", or ":" and a quote
    if " " in text or "\t" in text:
        low = text.lower()
        if "bearer" in low or "basic" in low or "dpop" in low:
            spans += credential_spans(text)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    last = 0
    for start, end in spans:
        if start >= last and not text.startswith(REDACTED, start):  # not one already made
            out += [text[last:start], REDACTED]
            last = end
    return "".join(out) + text[last:] if out else text


def _scrub_words(text: str) -> str:
    """A stretch of text without URLs: spans, then path references, then shapes."""
    return _scrub_plain(redact_paths(_redact_spans(text)))


def _local_start(text: str, rev: str, at: int, floor: int, chars: re.Pattern[str]) -> int:
    """Where the run of ``chars`` that ends at ``text[at]`` starts (not before ``floor``),
    read on ``rev`` (``text`` reversed) so the run is scanned once, from its end."""
    n = len(text)
    match = chars.match(rev, n - at, n - floor)
    return at - (match.end() - match.start()) if match else at


def _redact_emails(text: str) -> str:
    """``text`` with every e-mail address (``_LOCAL_CHARS_RE`` ``@`` domain) replaced: each
    ``@`` followed by a domain (``_AT_DOMAIN_RE``, which starts only at an ``@`` and stops at
    the next) is extended back over its local part; linear in ``len(text)``."""
    if "@" not in text:
        return text
    rev, last = "", 0
    out: list[str] = []
    for domain in _AT_DOMAIN_RE.finditer(text):
        at = domain.start()
        if at < last:
            continue
        rev = rev or text[::-1]
        start = _local_start(text, rev, at, last, _LOCAL_CHARS_RE)
        if start < at:
            out += [text[last:start], REDACTED]
            last = domain.end()
    return "".join(out) + text[last:] if out else text


def _urls(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each URL (``scheme://rest``, RFC 3986 scheme) in ``text``, found
    from each ``://``: linear in ``len(text)``."""
    found: list[tuple[int, int]] = []
    sep = text.find("://")
    if sep < 0:
        return found
    rev, last = text[::-1], 0
    while sep >= 0:
        start = _local_start(text, rev, sep, last, _SCHEME_CHARS_RE)
        while start < sep and not text[start].isalpha():
            start += 1  # a scheme starts with a letter (the run is ASCII)
        rest = _URL_REST_RE.match(text, sep + 3)
        if start < sep and rest is not None:
            found.append((start, rest.end()))
            last = rest.end()
        sep = text.find("://", max(sep + 3, last))
    return found


def _scrub_authority(url: str) -> str:
    """A redacted URL with a token-shaped scheme or host (``scheme://TOKEN``) replaced too; its
    path and query names are already reduced by ``redact_url``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _scrub_plain(url, strict=True)
    host, slash, path = rest.partition("/")
    return (_scrub_plain(scheme, strict=True) + sep + _scrub_plain(host, strict=True)
            + slash + path)


def _cap(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit + SCAN_MARGIN`` characters, back to the last separator in the
    last 256 (a token cut in two is not left as a short, unrecognisable piece); and whether it
    was cut."""
    if len(text) <= (cap := limit + SCAN_MARGIN):
        return text, False
    cut = max(text.rfind(c, cap - 256, cap) for c in " \t\n\"'<>,;&")
    return text[:cut if cut > 0 else cap], True


def scrub_text(
    text: str | None, known: Iterable[str] = (), limit: int = MAX_TEXT_CHARS
) -> str | None:
    """Return ``text`` with secrets replaced by ``[redacted]``, cut to ``limit`` characters.

    Reads at most ``limit + SCAN_MARGIN`` characters (the rest is cut before any pattern runs;
    ``...`` marks a cut). Undoes percent-encoding first (up to ``MAX_UNQUOTE`` layers);
    replaces JWT-shaped substrings and e-mail addresses (internationalised too, RFC 6531);
    removes each string in ``known`` (``MIN_SECRET``+ characters; also URL-encoded) and any
    run of ``KNOWN_PIECE`` characters of one of them (all of a shorter one); reduces URLs
    with ``redact_url`` (and a token-shaped host or scheme) and path references
    (``/fhir/R4/Patient/123?family=Doe``, ``Patient/123``: ``hgobs.textpaths``) the same
    way; elsewhere replaces token-shaped runs (16+ base64url or 24+ base64 characters mixing
    letters and digits, or any 40+ run). Work is linear in the characters read.
    """
    if text is None:
        return None
    out, was_cut = _cap(str(text), limit)
    if not known and not was_cut:
        clean = _CLEAN.get((out, limit))
        if clean is not None:
            return clean
    if len(out) < _SHORT_WORD and _WORD_RE.fullmatch(out):
        # A short word (``HS256``, ``Bearer``, ``invalid_grant``) holds no escape, JWT, email,
        # URL or token-shaped run, and removing known pieces cannot make one.
        out = _remove_known(out, known)
        return out[:limit] + "..." if len(out) > limit or was_cut else out
    if known and not was_cut and (out, limit) in _CLEAN:
        # Every pass but the known secrets' leaves it as it is (see ``_CLEAN``): only they can
        # change it, and when they do not, it is the answer.
        if not isinstance(known, (tuple, list)):
            known = tuple(known)
        if _remove_known(out, known) == out:
            return out
    for _ in range(MAX_UNQUOTE):  # judge the text as it reads once percent-encoding is undone
        if "%" not in out or (decoded := unquote(out)) == out:
            break
        out = decoded  # again: a URL echoed inside a URL parameter is encoded twice
    # Whole shapes first (a JWT, an email), before known pieces could cut them apart.
    out = shaped = _redact_emails(JWT_RE.sub(REDACTED, out))
    out = _remove_known(out, known)
    kept = out == shaped
    pieces: list[str] = []
    last = 0
    for start, end in _urls(out):
        pieces.append(_scrub_words(out[last:start]))
        pieces.append(_scrub_authority(redact_url(out[start:end])))
        last = end
    pieces.append(_scrub_words(out[last:]))
    out = "".join(pieces)
    if len(out) > limit or was_cut:
        out = out[:limit] + "..."
    if out == text and shaped == text and kept and len(out) <= _CLEAN_TEXT_CHARS:
        if len(_CLEAN) >= _CLEAN_ENTRIES:  # the oldest goes: the table's size stays steady
            del _CLEAN[next(iter(_CLEAN))]
        _CLEAN[(out, limit)] = out
    return out


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


def _remove_known(text: str, known: Iterable[str]) -> str:
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


_CLEAN: dict[tuple[str, int], str] = {}
"""Texts that every pass of ``scrub_text`` left as they were (escapes, shapes, known secrets
of that call, URLs, token-shaped runs, the length cut), such as a ``grant_type`` URN, a token
URL or a server's usual error description: without known secrets the same answer again at
once; with them, only the known secrets are looked for. Only texts that are emitted as they
are go in, so the table holds nothing that redaction removes."""
_CLEAN_ENTRIES = 512
_CLEAN_TEXT_CHARS = 256
