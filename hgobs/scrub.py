"""Scrub free text: secret-shaped runs and the request's own secrets out of what a server said.

``scrub_text`` takes a server's error description, a challenge's fields, a header value or a
service name, cuts it before any pattern runs, and replaces what is a secret by its shape
(``hgobs.secretshape``: JWTs, e-mail addresses, token-shaped runs that are not vocabulary,
values assigned to secret keys, credentials after ``Bearer``) and every known secret of the
request (and any 8-character piece of one); URLs and path references are reduced by
``hgobs.redaction``'s URL rule. Words of the message stay as they are, so evidence survives.
Every pattern is linear in its input. The known secrets are removed by ``hgobs.knownsecrets``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from hgobs.knownsecrets import remove_known
from hgobs.redaction import JWT_RE, REDACTED, redact_url
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
        out = remove_known(out, known)
        return out[:limit] + "..." if len(out) > limit or was_cut else out
    if known and not was_cut and (out, limit) in _CLEAN:
        # Every pass but the known secrets' leaves it as it is (see ``_CLEAN``): only they can
        # change it, and when they do not, it is the answer.
        if not isinstance(known, (tuple, list)):
            known = tuple(known)
        if remove_known(out, known) == out:
            return out
    for _ in range(MAX_UNQUOTE):  # judge the text as it reads once percent-encoding is undone
        if "%" not in out or (decoded := unquote(out)) == out:
            break
        out = decoded  # again: a URL echoed inside a URL parameter is encoded twice
    # Whole shapes first (a JWT, an email), before known pieces could cut them apart.
    out = shaped = _redact_emails(JWT_RE.sub(REDACTED, out))
    out = remove_known(out, known)
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


_CLEAN: dict[tuple[str, int], str] = {}
"""Texts that every pass of ``scrub_text`` left as they were (escapes, shapes, known secrets
of that call, URLs, token-shaped runs, the length cut), such as a ``grant_type`` URN, a token
URL or a server's usual error description: without known secrets the same answer again at
once; with them, only the known secrets are looked for. Only texts that are emitted as they
are go in, so the table holds nothing that redaction removes."""
_CLEAN_ENTRIES = 512
_CLEAN_TEXT_CHARS = 256
