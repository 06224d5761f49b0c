"""Scrub free text: secret-shaped runs and the request's own secrets out of what a server said.

``scrub_text`` takes a server's error description, a challenge's fields, a header value or a
service name, cuts it before any pattern runs, and replaces JWT-, e-mail- and token-shaped
runs, every known secret of the request (and any 8-character piece of one), and reduces URLs
and path references by ``hgobs.redaction``'s URL rule. Every pattern is linear in its input.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Iterable
from urllib.parse import quote, quote_plus, unquote

from hgobs.redaction import JWT_RE, REDACTED, query_names, redact_path, redact_url

MAX_TEXT_CHARS = 512
SCAN_MARGIN = 1024
"""Characters past ``limit`` that ``scrub_text`` reads at most: every text is cut to
``limit + SCAN_MARGIN`` characters before any pattern runs (a 60 KB HTML error page costs no
more than its first 1.5 KB), the margin leaving room for long shapes that scrubbing shortens."""
# Runs of token characters long enough to be a credential: 16+ base64url characters, or 24+
# characters of standard base64 (with "/" and "+"), that mix letters and digits; any 40+ run.
_TOKENISH_RE = re.compile(r"[A-Za-z0-9_\-+=~]{16,}")
_B64_RUN_RE = re.compile(r"[A-Za-z0-9_\-+/=~]{24,}")
_SCHEME_CHARS_RE = re.compile(r"[A-Za-z0-9+.\-]*")  # RFC 3986 section 3.1 (reads reversed too)
_URL_REST_RE = re.compile(r"[^\s\"'<>,;]+")
# Internationalised addresses (RFC 6531): local part of word characters (any script) and RFC
# 5322 atext; domain labels of word characters and hyphens, then a top label of 2+ letters.
_LOCAL_CHARS_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~\-]*")
_AT_DOMAIN_RE = re.compile(r"@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}")


def _is_secretish(run: str) -> bool:
    if len(run) >= 40:
        return True
    has_digit = any(c.isdigit() for c in run)
    has_alpha = any(c.isalpha() for c in run)
    return has_digit and has_alpha


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
    if not direct:
        return _redact_windows(text, _windows(secret))
    return _redact_windows(text, secret, secret)  # a window is a piece iff it is a substring


def _redact_windows(text: str, windows: Container[str], chars: str | None = None) -> str:
    """``text`` with every run of ``KNOWN_PIECE``+ characters whose each ``KNOWN_PIECE``-long
    window is in ``windows`` replaced: one pass, one lookup per character. ``chars``: every
    character a window can hold (the secret itself, when ``windows`` is it), so a position
    whose last character is not among them skips ``KNOWN_PIECE`` at once (a space ...)."""
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


def _scrub_plain(text: str) -> str:
    out = _B64_RUN_RE.sub(lambda m: REDACTED if _is_secretish(m.group(0)) else m.group(0), text)
    return _TOKENISH_RE.sub(lambda m: REDACTED if _is_secretish(m.group(0)) else m.group(0), out)


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


_PATH_REF_RE = re.compile(r"(?<![^\s\"'(=<,\[])/[^\s\"'<>,;)\]]*")
"""A path-absolute reference in text (``/fhir/R4/Patient/123?family=Doe``): a ``/`` at the
start or after a delimiter, then characters up to the next one (one run: linear)."""


def _redact_paths(text: str) -> str:
    """``text`` with each path reference of two or more segments, or with a query, reduced
    as ``redact_url`` reduces a URL's path and query: ids become ``{id}``, query values go
    (a server echoing ``realm="/fhir/R4/Patient?family=Doe"`` keeps ``?family``)."""
    if "/" not in text:
        return text

    def reduce(match: re.Match[str]) -> str:
        ref = match.group(0)
        path, mark, query = ref.partition("?")
        if not mark and path.count("/") < 2:
            return ref
        return redact_path(path) + (mark + "&".join(query_names(query)) if query else mark)

    return _PATH_REF_RE.sub(reduce, text)


def _scrub_authority(url: str) -> str:
    """A redacted URL with a token-shaped scheme or host (``scheme://TOKEN``) replaced too; its
    path and query names are already reduced by ``redact_url``."""
    path = url.find("/", url.find("://") + 3)
    return _scrub_plain(url) if path < 0 else _scrub_plain(url[:path]) + url[path:]


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
    ``...`` marks a cut). Undoes percent-encoding first; replaces JWT-shaped substrings and
    e-mail addresses (internationalised too, RFC 6531); removes each string in ``known``
    (``MIN_SECRET``+ characters; also URL-encoded) and any run of ``KNOWN_PIECE`` characters of
    one of them (all of a shorter one); reduces URLs with ``redact_url`` (and a token-shaped
    host or scheme) and path references (``/fhir/R4/Patient/123?family=Doe``) the same way;
    elsewhere replaces token-shaped runs (16+ base64url or 24+ base64
    characters mixing letters and digits, or any 40+ run). Work is linear in the characters read.
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
    if "%" in out:  # judge the text as it reads once percent-encoding is undone
        out = unquote(out)
    # Whole shapes first (a JWT, an email), before known pieces could cut them apart.
    out = shaped = _redact_emails(JWT_RE.sub(REDACTED, out))
    out = _remove_known(out, known)
    kept = out == shaped
    pieces: list[str] = []
    last = 0
    for start, end in _urls(out):
        pieces.append(_scrub_plain(_redact_paths(out[last:start])))
        pieces.append(_scrub_authority(redact_url(out[start:end])))
        last = end
    pieces.append(_scrub_plain(_redact_paths(out[last:])))
    out = "".join(pieces)
    if len(out) > limit or was_cut:
        out = out[:limit] + "..."
    if out == text and shaped == text and kept and len(out) <= _CLEAN_TEXT_CHARS:
        if len(_CLEAN) >= _CLEAN_ENTRIES:  # the oldest goes: the table's size stays steady
            del _CLEAN[next(iter(_CLEAN))]
        _CLEAN[(out, limit)] = out
    return out


def _remove_known(text: str, known: Iterable[str]) -> str:
    """``text`` with each known secret (``MIN_SECRET``+ characters), as it is or URL-encoded,
    and every run of ``KNOWN_PIECE``+ characters of one replaced."""
    usable = [secret for secret in known if secret and len(secret) >= MIN_SECRET]
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
        text = _redact_windows(text, _union_windows(pieced))
    return text


_CLEAN: dict[tuple[str, int], str] = {}
"""Texts that every pass of ``scrub_text`` left as they were (escapes, shapes, known secrets
of that call, URLs, token-shaped runs, the length cut), such as a ``grant_type`` URN, a token
URL or a server's usual error description: without known secrets the same answer again at
once; with them, only the known secrets are looked for. Only texts that are emitted as they
are go in, so the table holds nothing that redaction removes."""
_CLEAN_ENTRIES = 512
_CLEAN_TEXT_CHARS = 256
