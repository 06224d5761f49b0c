"""URL redaction and keyed fingerprints: what hgobs keeps of a URL, and how it matches values.

- ``Fingerprinter``: keyed HMAC-SHA256 fingerprints, so equal values can be matched across
  records without storing them (never a bare hash, which a dictionary attack reverses).
- ``redact_url``: scheme, host, port and path, with FHIR resource ids replaced, and only the
  *names* of query parameters (FHIR search values carry names, ids and birth dates);
  ``PrefixRedactor`` gives the same for URLs under an API base by their path alone.

Free text (a server's error description, a challenge) is scrubbed by ``hgobs.scrub``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from hgobs.fhir import FHIR_RESOURCE_TYPES

FINGERPRINT_HEX_CHARS = 16
REDACTED = "[redacted]"
ID_PLACEHOLDER = "{id}"
VERSION_PLACEHOLDER = "{vid}"

# Each pattern is linear: a run of one class with nothing after it to fail; a JWT tried only
# where a token run starts; URLs and e-mails found from their "://" and "@", the part before
# read backwards (``_local_start``). JWT: three base64url segments, the first two starting
# like JSON objects ("eyJ" = '{"').
JWT_RE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_\-=+/]*)?")
# Path segments kept as they are: lower-case words (no dot: `jane.doe` may be a name),
# `.well-known` (RFC 8615), operations (`$everything`, `_history`),
# and short version tags (`R4`, `v1`, `oauth2`, `STU3`, `smart-v1`). Capitalised words are kept only when
# they are FHIR R4 resource types (``hgobs.fhir``); anything else may be an id.
_KEEP_SEGMENT_RE = re.compile(
    r"^(?:\.well-known|[a-z_$][a-z_$\-]{0,39}|[A-Za-z]{1,6}\d{1,2}(?:\.\d{1,2})?|[_$][A-Za-z\-]{1,39}"
    r"|[a-z][a-z\-]{0,30}-v\d{1,2})$"
)

# A well-known URI's name (RFC 8615 section 3): a lower-case word, or a file name such as
# ``jwks.json`` (where many providers serve their signing keys), kept after ``/.well-known/``.
KEEP_UPPER = frozenset({"FHIR", "API", "OAUTH", "SMART"})
"""Upper-case path words of providers' own URLs kept as they are (Epic's ``/api/FHIR/R4``):
words of a product, never an id (an id after a resource type is replaced whatever it is)."""
_WELL_KNOWN_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,39}\.json$")


def is_fingerprint(value: object) -> bool:
    """True when ``value`` has a fingerprint's shape: ``FINGERPRINT_HEX_CHARS`` lower-case hex
    digits (what ``Fingerprinter`` gives)."""
    return (isinstance(value, str) and len(value) == FINGERPRINT_HEX_CHARS
            and all(c in "0123456789abcdef" for c in value))


class Fingerprinter:
    """Keyed fingerprints: ``HMAC-SHA256(key, value)`` as the first 16 hex characters (64 bits).

    ``key`` is bytes; None draws a random per-process key, so fingerprints then match only
    within one process (set ``HGOBS_FINGERPRINT_KEY`` to match across processes and files).
    """

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes | None = None) -> None:
        # The key is absorbed once; each value continues a copy of that state.
        self._keyed = hmac.new(key if key else secrets.token_bytes(32), digestmod=hashlib.sha256)

    def __call__(self, value: str | bytes | None) -> str | None:
        """The fingerprint of ``value`` (None for None or empty)."""
        if not value:
            return None
        mac = self._keyed.copy()
        mac.update(value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value)
        return mac.hexdigest()[:FINGERPRINT_HEX_CHARS]

    def __repr__(self) -> str:  # never show the key
        return "Fingerprinter(<key hidden>)"



def redact_path(path: str) -> str:
    """A URL path with ids replaced (see ``redact_url``)."""
    return _walk(path, START)[0]


START = 0
"""The state of ``_walk`` at a path's start (or after an empty segment)."""
_AFTER_TYPE, _AFTER_HISTORY, _AFTER_WELL_KNOWN = 1, 2, 4


def _walk(path: str, state: int) -> tuple[str, int]:
    """``path``'s segments redacted from ``state`` (what the segments before it leave: after
    a resource type, ``_history`` or ``.well-known``, as bits), and the state after its last
    segment. The path rule itself, one segment at a time (``_step``): ``redact_path`` is
    ``_walk(path, START)``; continuing with the returned state gives what one walk over the
    joined path gives."""
    decode = "%" in path  # without an escape, each segment reads as it is written
    out: list[str] = []
    for raw in path.split("/"):
        kept, state = _step(raw, unquote(raw) if decode else raw, state)
        out.append(kept)
    return "/".join(out), state


_OPERATION_MARKS = "_$"
"""First characters of a segment that is an operation or a parameter (``_history``,
``$everything``), never an id, even where an id is due."""
_FORCED = {_AFTER_TYPE: ID_PLACEHOLDER, _AFTER_HISTORY: VERSION_PLACEHOLDER,
           _AFTER_TYPE | _AFTER_HISTORY: VERSION_PLACEHOLDER}
"""The placeholder a non-empty segment becomes after a state, whatever it reads, unless it
starts with one of ``_OPERATION_MARKS`` (after ``_history``: a version id; after a resource
type: a resource id). Read by ``_step`` and by ``PrefixRedactor``'s heads."""


_ID_STATES = _AFTER_TYPE | _AFTER_HISTORY
"""The bits of a state ``_FORCED`` is keyed on."""


def _step(raw: str, seg: str, state: int) -> tuple[str, int]:
    """One segment of the path rule: ``raw`` as written, ``seg`` as it reads (decoded), after
    ``state``; its redacted form (``raw`` when kept) and the state after it. A segment right
    after a resource type or ``_history`` is an id (``_FORCED``) unless it starts with ``_`` or
    ``$``; a resource type, a plain lower-case word, an upper-case provider word, a version
    tag or a ``.well-known`` document name is kept; any other segment is an id."""
    if seg == "":
        return "", START
    is_type = seg in FHIR_RESOURCE_TYPES
    forced = _FORCED.get(state & _ID_STATES)
    if forced is not None and seg[0] not in _OPERATION_MARKS:
        kept = forced
    elif is_type or (seg.isalpha() and seg.isascii() and seg.islower() and len(seg) <= 40) \
            or seg in KEEP_UPPER or _KEEP_SEGMENT_RE.match(seg) \
            or (state & _AFTER_WELL_KNOWN and _WELL_KNOWN_RE.match(seg)):
        kept = raw  # a lower-case word: the pattern's first form
    else:
        kept = ID_PLACEHOLDER
    return kept, (_AFTER_TYPE if is_type and not state & _AFTER_TYPE else START) \
        | (_AFTER_HISTORY if seg == "_history" else START) \
        | (_AFTER_WELL_KNOWN if seg == ".well-known" else START)


def query_names(query: str) -> list[str]:
    """The distinct parameter names of a query string, scrubbed, in first-seen order; the name
    of a parameter with a blank value (``?VALUE`` or ``?VALUE=``: a value in the name position)
    as ``[redacted]``."""
    from hgobs.scrub import scrub_text  # the text rule, which itself reduces URLs by this one

    names: list[str] = []
    for name, value in parse_qsl(query[:8192], keep_blank_values=True):
        clean = scrub_text(name, limit=64) or "" if value else REDACTED
        if clean not in names:
            names.append(clean)
    return names


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path[?name1&name2]`` with ids and every query value removed.

    A path segment right after a FHIR resource type (``Patient/123``) or ``_history`` becomes
    ``{id}``/``{vid}``; any other segment that is not a plain word or short version tag
    (``R4``, ``v1``, ``oauth2``), or a ``name.json`` right after ``.well-known``
    (``/.well-known/jwks.json``), becomes ``{id}`` too. User info and fragments are dropped; an
    IPv6 host keeps its brackets; a URL ``urlsplit`` rejects is ``[redacted]``. The common
    shape (``_PLAIN_URL_RE``) is split by one match, any other by ``urlsplit``, alike
    (tests/test_url_redaction_shortcut.py).
    """
    plain = _PLAIN_URL_RE.fullmatch(url)
    if plain is None or (plain[3] and int(plain[3]) > 65535):  # a port out of range too
        return _redact_url(url)
    scheme, host, port, path = plain.groups()
    return _assemble(scheme.lower(), host.lower(), int(port or 0), path or "", "")


# A URL ``urlsplit`` splits the same way: scheme (RFC 3986), host of letters, digits, dots and
# hyphens, port, and a path without ``%?#@[]``, spaces or controls (each part ends on a
# character the next starts with: linear).
_PLAIN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!$&'()*+,;=:-"
"""The characters of a plain path segment (no ``/``): ``s.strip(_PLAIN_CHARS) == ""`` tests a
segment without a regular expression."""
_PLAIN_PATH = "[" + re.escape(_PLAIN_CHARS) + "/]*"
_PLAIN_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([A-Za-z0-9.\-]*)(?::([0-9]{1,5}))?"
                           r"(/" + _PLAIN_PATH + r")?")


def _redact_url(url: str) -> str:
    """``redact_url`` of any URL, split by ``urlsplit``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or 0
    except ValueError:
        return REDACTED
    return _assemble(parts.scheme, host, port, parts.path, parts.query)


def _assemble(scheme: str, host: str, port: int, path: str, query: str) -> str:
    if "@" in host or ("eyJ" in host and JWT_RE.search(host)):  # a JWT starts "eyJ"
        host = REDACTED
    elif ":" in host:  # an IPv6 address keeps its brackets (RFC 3986 section 3.2.2)
        host = f"[{host}]"
    text = f"{scheme}://{host}{f':{port}' if port else ''}{redact_path(path)}"
    names = query_names(query) if query else None
    return text + "?" + "&".join(names) if names else text


class PrefixRedactor:
    """``redact_url`` of URLs under fixed prefixes (an API base's ``scheme://host[:port]/path/``)
    by their path alone: ``prefix + redact_path(rest)``, without splitting the URL again.

    A prefix is used only when ``redact_url`` leaves it as it is and reads the segment after it
    afresh (``redact_url(prefix + "x") == prefix + "x"``: a plain scheme, lower-case host,
    canonical port, every base segment kept, the base not ending in a resource type or
    ``_history``), and a URL only when the rest after it is a plain path (no ``%?#@[]``, spaces
    or controls). Then ``redact_url`` would split the URL by ``_PLAIN_URL_RE`` into that prefix's
    scheme, host and port and a path whose base segments it keeps, so the result is the same
    (tests/test_url_redaction_shortcut.py compares the two on generated URLs). One regular
    expression match per URL: the prefixes as literals, then one character class (linear).

    Heads: a URL whose part before its last ``/`` (``.../fhir/R4/Patient``) was seen before,
    whole and kept whole by the path rule (no id in it), is redacted by its last segment alone,
    from the state the head left: after a resource type, any plain segment not starting with
    ``_`` or ``$`` is the head's own remembered ``head/{id}`` (``_FORCED``), any other goes
    through ``_step``. At most ``MAX_HEADS`` heads are kept (the first seen; they hold no id),
    so a read of a resource costs a split at the last ``/``, a dict lookup and a test of its
    characters.

    ``undecided(url)``, when given, is what ``redact`` gives for a URL the prefixes do not
    decide (else None).
    """

    __slots__ = ("_heads", "_re", "_undecided")

    MAX_HEADS = 256
    """Most heads remembered (the API's shapes: base, version, resource type, operation)."""

    def __init__(self, prefixes: Iterable[str],
                 undecided: Callable[[str], str | None] | None = None) -> None:
        self._undecided = undecided
        usable = sorted({p for p in prefixes if _keeps_prefix(p)}, key=len, reverse=True)
        self._re = re.compile("(?:" + "|".join(re.escape(p) for p in usable) + ")(" + _PLAIN_PATH
                              + ")") if usable else None
        self._heads: dict[str, tuple[int, str | None]] = {}
        """head -> (the path rule's state after it, ``head/`` + its ``_FORCED`` placeholder)."""

    def redact(self, url: str) -> str | None:
        """``redact_url(url)`` for a plain URL under a usable prefix, else ``undecided(url)``
        (None without one: the caller takes ``redact_url``)."""
        head, _, last = url.rpartition("/")
        known = self._heads.get(head)
        if known is not None and last and not last.strip(_PLAIN_CHARS):
            if known[1] is not None and last[0] not in _OPERATION_MARKS:
                return known[1]
            return head + "/" + _step(last, last, known[0])[0]
        match = self._re.fullmatch(url) if self._re is not None else None
        if match is None:
            return None if self._undecided is None else self._undecided(url)
        rest = match[1]
        if "/" not in rest:
            return url[:match.start(1)] + redact_path(rest)
        rest_head = rest[:len(rest) - len(last) - 1]
        kept, state = _walk(rest_head, START)
        if kept == rest_head and len(self._heads) < self.MAX_HEADS:
            forced = _FORCED.get(state & _ID_STATES)  # the head has no id: remembered
            self._heads[head] = (state, None if forced is None else f"{head}/{forced}")
        return url[:match.start(1)] + kept + "/" + _walk(last, state)[0]


def _keeps_prefix(prefix: str) -> bool:
    """True when ``PrefixRedactor`` may use ``prefix`` (see its docstring)."""
    return prefix.endswith("/") and _PLAIN_URL_RE.fullmatch(prefix) is not None \
        and redact_url(prefix + "x") == prefix + "x"
