"""Peek into a JWT without verifying it and keep only redacted facts about it.

The facts are an allowlist (``assertion.*`` fields of ``hgobs.schema``): header ``alg``/``kid``/
``typ``, ``aud`` as sent, numeric times, shapes and keyed fingerprints of ``iss``/``sub``/``jti``,
claim names. The raw token, its signature and claim values other than these never leave here.
Decoding uses PyJWT with signature verification off (RFC 7519 section 7.2 steps 1-8 only); a
plain compact JWS that ``_defect`` has already checked is decoded by the same base64url and JSON
steps directly (``_plain_decode``), and anything out of the ordinary still goes to PyJWT.
"""

from __future__ import annotations

import binascii
import math
import re
from typing import Any

import jwt

from hgobs import jsontext
from hgobs.redaction import REDACTED, Fingerprinter
from hgobs.scrub import scrub_text

MS_THRESHOLD = 1e11
"""A time claim above this is milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973."""
MAX_NUMERIC = 2**53
"""Larger time claims are not numbers we can judge (beyond float precision); they are dropped."""
TIME_CLAIMS = ("iat", "exp", "nbf")
REGISTERED = frozenset({"iss", "sub", "aud", "iat", "exp", "nbf", "jti"})
CHECKED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")
JOSE_HEADER_PARAMS = frozenset({
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "b64",
    "zip", "enc", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c", "ppt", "url", "nonce"})
"""JOSE header parameter names recorded as they are (RFC 7515 section 4.1, RFC 7516 section
4.1, RFC 7518 section 4, RFC 7797, RFC 8225, RFC 8555 section 6.4: the IANA JSON Web
Signature and Encryption Header Parameters registry). Any other name is recorded as
``[redacted]``."""
MAX_HEADER_FIELDS = 20
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_SPACE_RE = re.compile(r"\s")
_URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{3,127}$")
_COMPACT_RE = re.compile(r"^[A-Za-z0-9_\-=+/]+(\.[A-Za-z0-9_\-=+/]*)+$")
_WELL_FORMED_RE = re.compile(r"[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
"""Three base64url segments: what ``_defect`` passes, but for segment lengths."""


def looks_like_jwt(value: str) -> bool:
    """True when ``value`` is shaped like a compact JWS: ``eyJ...`` with 2+ dots."""
    return value.startswith("eyJ") and value.count(".") >= 2


def _is_email(text: str) -> bool:
    """``local@domain.tld`` with no space and one ``@`` (read with ``str`` methods: linear, where
    ``^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$`` rescans the rest after every dot)."""
    local, at, domain = text.partition("@")
    return bool(local and at and "@" not in domain and "." in domain[1:-1]
                and _SPACE_RE.search(text) is None)


def shape(value: Any) -> str:
    """Shape of an ``iss``/``sub`` value: client_id, email, url, empty, other or missing."""
    if value is None:
        return "missing"
    if not isinstance(value, str):
        return "other"
    text = value.strip()
    if not text:
        return "empty"
    if _is_email(text):
        return "email"
    if _URL_RE.match(text):
        return "url"
    if _CLIENT_ID_RE.match(text):
        return "client_id"
    return "other"


def not_shown(raw: str) -> bool:
    """True when ``raw`` is what people write in place of a value they hide before sharing a
    command or a log: ``...``, ``***``, ``xxx``, ``<redacted>``, ``[assertion]``, a shell
    variable (``$JWT``, ``${ASSERTION}``). Such an input shows no assertion to judge."""
    text = raw.strip()
    if not text or len(text) > 40:
        return False
    if all(c in ".…*xX" for c in text):
        return True
    if text[0] + text[-1] in ("<>", "[]", "{}") and all(
            c.isalpha() or c in " _-" for c in text[1:-1]):
        return True
    if text[0] == "$":
        name = text[2:-1] if text[1:2] == "{" and text[-1] == "}" else text[1:]
        return bool(name) and all(c.isalnum() or c == "_" for c in name)
    return text.lower() in ("redacted", "hidden", "removed")


def _defect(raw: str) -> tuple[str, str] | None:
    """``(defect, part)`` when ``raw`` is not a well-formed compact JWS, else None;
    ``("not_shown", "whole")`` for a placeholder (``not_shown``)."""
    if len(raw) <= 42 and not_shown(raw):
        return "not_shown", "whole"
    if _WELL_FORMED_RE.fullmatch(raw) is not None:  # the usual: one search instead of five
        first = raw.index(".")
        second = raw.index(".", first + 1)
        if first % 4 != 1 and (second - first - 1) % 4 != 1 and (len(raw) - second - 1) % 4 != 1:
            return None
    if (space := _SPACE_RE.search(raw)) is not None:
        return "whitespace", _part_at(raw, space.start())
    segments = raw.split(".")
    if len(segments) == 1:
        return "not_jwt", "whole"
    if len(segments) != 3:
        if not _COMPACT_RE.match(raw):
            return "not_jwt", "whole"
        return "segments", "signature" if len(segments) < 3 else "whole"
    for name, seg in zip(("header", "payload", "signature"), segments, strict=True):
        if "=" in seg:
            return "padding", name
        if not _B64URL_RE.match(seg) or len(seg) % 4 == 1:
            return "base64url", name
    return None  # JSON of header and payload: judged by the decoder (see ``peek``)


_PLAIN_HEADER_SKIP = frozenset({"crit", "b64"})
"""Header parameters PyJWT acts on when decoding without verification: such a token is
decoded by PyJWT itself."""


_B64URL_VALUES = {c: i for i, c in enumerate(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")}
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = ("", None, "==", "=")
"""Padding by segment length modulo 4 (None: no length of that remainder is base64)."""
_SPARE_BITS = (0, None, 0x0F, 0x03)
"""Bits of the last character past the last whole byte, by segment length modulo 4."""


def _canonical(seg: str) -> bool:
    """True when the base64url ``seg`` (of base64url characters only, as ``_defect`` checks)
    re-encodes to itself: the bits its last character holds past the last whole byte are 0."""
    spare = _SPARE_BITS[len(seg) % 4]
    if spare is None:
        return False
    return spare == 0 or _B64URL_VALUES.get(seg[-1], -1) & spare == 0


def _segment(seg: str) -> bytes | None:
    """A base64url segment's bytes (of base64url characters only, as ``_defect`` checks), or
    None unless it is canonical (re-encodes to itself). Decoded as ``urlsafe_b64decode``
    decodes, without its checks and conversions of the argument."""
    if not _canonical(seg):
        return None
    try:
        return binascii.a2b_base64(
            (seg + _PADDING[len(seg) % 4]).encode("ascii").translate(_TO_STANDARD))
    except (binascii.Error, ValueError):
        return None


def _plain_decode(raw: str) -> tuple[Any, Any] | None:
    """``(header, claims)`` of a token ``_defect`` passed, decoded as PyJWT decodes it without
    verification; None when PyJWT must judge it (a header with ``crit``, ``b64`` or a kid that
    is no string, a non-canonical segment, JSON that is not an object), so PyJWT's own
    decisions, errors included, stay the reference."""
    head, body, sig = raw.split(".")
    head_data, body_data = _segment(head), _segment(body)
    if head_data is None or body_data is None or not _canonical(sig):
        return None
    try:
        header = jsontext.loads(head_data)
        claims = jsontext.loads(body_data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) \
            or not _PLAIN_HEADER_SKIP.isdisjoint(header) \
            or not isinstance(header.get("kid", ""), str):
        return None
    return header, claims


def _part_at(raw: str, index: int) -> str:
    dots = raw[:index].count(".")
    return ("header", "payload", "signature")[min(dots, 2)]


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) <= MAX_NUMERIC else None
    if isinstance(value, float) and math.isfinite(value) and abs(value) <= MAX_NUMERIC:
        return value
    return None


def _strings(value: Any, depth: int = 0) -> list[str]:
    """Every string inside a decoded claims value (names and values), bounded in depth."""
    if isinstance(value, str):
        return [value]
    if depth > 8:
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v, depth + 1))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, depth + 1)]
    return []


def header_fields(header: dict[str, Any]) -> list[str]:
    """The parameter names of a decoded JOSE header, sorted (values never): the registered
    ones (``JOSE_HEADER_PARAMS``) as they are, and ``[redacted]`` once for any others (a name
    can be a value put in the name position). RFC 7515 section 4.1."""
    names = {k if k in JOSE_HEADER_PARAMS else REDACTED for k in list(header)[:64]}
    return sorted(names)[:MAX_HEADER_FIELDS]


def _seconds(value: float | int | None) -> float | None:
    if value is None:
        return None
    return value / 1000.0 if value > MS_THRESHOLD else float(value)


def peek(
    raw: str,
    *,
    source: str,
    now: float,
    fingerprint: Fingerprinter,
    client_id: str | None = None,
    known: list[str] | None = None,
    auds: list[str] | None = None,
) -> dict[str, Any]:
    """Redacted facts about the JWT ``raw``, as ``assertion.*`` record fields.

    ``source`` is ``assertion``, ``client_assertion`` or ``bearer``; ``now`` is the client
    clock at send (epoch seconds); ``client_id`` the configured client id, if any. The string
    values of the claims are appended to ``known`` (when given), so that a server echoing one
    of them can be scrubbed; the raw ``aud`` strings to ``auds`` (when given: they are compared
    with the URL called before redaction, never kept). Never raises for any input string: a
    token that does not decode yields ``assertion.defect``.
    """
    facts: dict[str, Any] = {
        "assertion.source": source,
        "assertion.fp": fingerprint(raw),
        "assertion.length": len(raw),
        "assertion.segments": raw.count(".") + 1,
    }
    defect = _defect(raw)
    if defect is None:
        try:
            plain = _plain_decode(raw)
            if plain is None:
                decoded = jwt.api_jwt.decode_complete(
                    raw, options={"verify_signature": False}, algorithms=None
                )
                plain = decoded["header"], decoded["payload"]
            header, claims = plain
            if not isinstance(header, dict) or not isinstance(claims, dict) or any(
                    isinstance(v, float) and not math.isfinite(v) for v in claims.values()):
                defect = ("json", "payload")  # NaN/Infinity are not JSON (RFC 8259 section 6)
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError) as exc:
            defect = ("json", "header" if "header" in str(exc).lower() else "payload")
    if defect is not None:
        facts["assertion.defect"], facts["assertion.defect_part"] = defect
        if defect[0] == "not_shown":  # a placeholder: no fingerprint (two are no reuse)
            for name in ("assertion.fp", "assertion.length", "assertion.segments"):
                del facts[name]
        return facts
    if known is not None:
        # aud is recorded as is (it names the token URL), so it is no secret to scrub.
        known.extend(_strings({k: v for k, v in claims.items() if k != "aud"}))
        known.extend(v for v in header.values() if isinstance(v, str))
    for name in ("alg", "kid", "typ"):
        if isinstance(header.get(name), str):
            facts[f"assertion.{name}"] = scrub_text(header[name], limit=64)
    facts["assertion.header_fields"] = header_fields(header)
    aud = claims.get("aud")
    if auds is not None:
        auds.extend(a for a in (aud if isinstance(aud, list) else [aud])[:10] if isinstance(a, str))
    if isinstance(aud, str):
        facts["assertion.aud"] = scrub_text(aud, limit=256)
    elif isinstance(aud, list):
        facts["assertion.aud"] = [scrub_text(str(a), limit=256) for a in aud][:10]
    ms: list[str] = []
    for name in TIME_CLAIMS:
        value = _number(claims.get(name))
        if value is not None:
            facts[f"assertion.{name}"] = value
            if value > MS_THRESHOLD:
                ms.append(name)
    if ms:
        facts["assertion.ms_claims"] = ms
    iat, exp = _seconds(_number(claims.get("iat"))), _seconds(_number(claims.get("exp")))
    if iat is not None and exp is not None:
        facts["assertion.lifetime_s"] = exp - iat
    if exp is not None:
        facts["assertion.seconds_to_expiry"] = round(exp - now, 3)
    iss, sub = claims.get("iss"), claims.get("sub")
    same = type(sub) is str and type(iss) is str and sub == iss  # the usual: the client id
    facts["assertion.iss_shape"] = iss_shape = shape(iss)
    facts["assertion.sub_shape"] = iss_shape if same else shape(sub)
    facts["assertion.iss_fp"] = iss_fp = fingerprint(str(iss)) if iss is not None else None
    facts["assertion.sub_fp"] = iss_fp if same else (
        fingerprint(str(sub)) if sub is not None else None)
    if client_id:
        facts["assertion.iss_is_client"] = iss == client_id
        facts["assertion.sub_is_client"] = sub == client_id
    if iss is not None and sub is not None:
        facts["assertion.iss_eq_sub"] = iss == sub
    if claims.get("jti") is not None:
        facts["assertion.jti_fp"] = fingerprint(str(claims["jti"]))
    other = sorted(
        n for n in (scrub_text(str(k), limit=64) for k in claims if k not in REGISTERED) if n
    )
    if other:
        facts["assertion.other_claims"] = other[:20]
    missing = [n for n in CHECKED_CLAIMS if claims.get(n) in (None, "", [])]
    if missing:
        facts["assertion.missing_claims"] = missing
    return {k: v for k, v in facts.items() if v is not None}
