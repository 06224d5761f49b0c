"""Reader for plain-text application logs: each line that shows an HTTP exchange -> one record.

A line such as ``2024-03-01T12:00:00Z ERROR token exchange failed: 400 {"error":"invalid_grant"}
url=https://sandbox.healthgorilla.com/oauth/token`` or ``... GET https://api.healthgorilla.com/
fhir/R4/Patient?x=1 -> 401 www-authenticate: Bearer error="invalid_token"`` is read with regular
expressions for: a leading timestamp (ISO 8601 or ``YYYY-MM-DD HH:MM:SS[,ms]``; no zone means
UTC; a line without one takes the time of the last line that had one); a URL (the first one the
profile knows, else the first one) and its method (just before it, or ``method=``; else POST
for a token URL, GET otherwise); a status (``-> 401``, ``status=401``, ``HTTP 401``,
``HTTP/1.1 401``, ``401 Unauthorized``, ``400 {...}``); the ``WWW-Authenticate`` and
``Retry-After`` values; an ``Authorization`` value (``Bearer ...``); and an embedded JSON object
shaped like an OAuth response (``error``, ``access_token``, or ``{status, message}``), used as
the response body. A line with a URL and an exception name (``ReadTimeout``) but no status is
an exchange without a response.

Every non-blank line yields exactly one ``Item``: a record via ``hgobs.facts.attempt``, or a
skip whose reason says what was missing (``no HTTP exchange found`` for ordinary log lines).
Facts a log line cannot show are left out rather than guessed: the request body is unknown, and
an API call whose line names no ``Authorization`` value has no ``presented.*`` facts.

This module also holds what the raw-text readers share: ``iter_lines`` (bounded line reading),
``parse_time``/``leading_time`` (timestamps), ``oauth_json`` (an OAuth-shaped JSON object in a
text), ``extract`` and ``safe_error_name``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import IO

from hgobs.facts.exchange import Exchange, header_map
from hgobs.profiles import TOKEN_EXCHANGE
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.raw import build

NAME = "text-log"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""
MAX_LINE_BYTES = 1 << 20
"""Longest line read (bytes); a longer line is skipped with a reason (and never held whole)."""
MAX_JSON_TRIES = 20
"""How many ``{`` positions of one line are tried as the start of a JSON object."""

_TIME = (r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
         r"(?:[.,](?P<frac>\d{1,9}))?(?P<tz>Z|\s?(?:UTC|GMT)|[+-]\d{2}(?::?\d{2})?)?")
_TIME_RE = re.compile(_TIME)
_LEADING_TIME_RE = re.compile(r"^\s*[\[(]?" + _TIME + r"[\])]?\s*")
_METHOD_URL_RE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+[\"']?(https?://[^\s\"'<>\\]+)")
_METHOD_KEY_RE = re.compile(r"\bmethod[\"']?\s*[=:]\s*[\"']?(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b",
                            re.I)
_URL_RE = re.compile(r"https?://[^\s\"'<>\\]+")
_PHRASES = "|".join(sorted((re.escape(s.phrase) for s in HTTPStatus), key=len, reverse=True))
_STATUS_RES = (
    re.compile(r"(?:->|=>|\u2192)\s*(?:HTTP/\d(?:\.\d)?\s+)?([1-5]\d\d)\b"),
    re.compile(r"\b(?:http[._ ]?)?status(?:[._ ]?code)?[\"']?\s*[=:]\s*[\"']?([1-5]\d\d)\b", re.I),
    re.compile(r"\bHTTP(?:/\d(?:\.\d)?)?\s+([1-5]\d\d)\b"),
    re.compile(rf"\b([1-5]\d\d)\s+(?:{_PHRASES})\b", re.I),
    re.compile(r"\b([1-5]\d\d)\s*[:,-]?\s*\{\}"),
)
_PARAM = r"[\w.-]+\s*=\s*(?:\"(?:[^\"\\]|\\.)*\"|[^\s,\"]+)"
_CHALLENGE_RE = re.compile(
    rf"www-authenticate[\"']?\s*[:=]\s*[\"']?([A-Za-z][\w.-]*(?:\s+{_PARAM}(?:\s*,\s*{_PARAM})*)?)",
    re.I)
_RETRY_RE = re.compile(r"retry-after[\"']?\s*[:=]\s*[\"']?(\d{1,9})\b", re.I)
_CREDENTIAL_RE = re.compile(
    r"\b((?:x-)?authori[sz]ation|authorizaton)[\"']?\s*[:=]\s*"
    r"(?:\"\"|''|[\"']?((?:Bearer|Basic|Token|JWT)\b[ \t]*[^\s\"',;]*))", re.I)
_ERROR_RE = re.compile(r"\b([A-Z][A-Za-z]*(?:Timeout|Error))\b")
_SAFE_NAME_RE = re.compile(r"^[A-Za-z0-9_:.\-]{1,64}$")
_BODY_ONLY_KEYS = frozenset({"status", "message", "error", "error_description", "timestamp", "path"})
def parse_time(text: str) -> float | None:
    """An ISO 8601 (or ``YYYY-MM-DD HH:MM:SS[,fff]``) timestamp at the start of ``text`` as
    epoch seconds; no zone means UTC. None when there is none or it is not a real date."""
    match = _TIME_RE.match(text.strip())
    return _to_epoch(match) if match else None


def leading_time(line: str) -> tuple[float | None, str]:
    """``(epoch seconds or None, rest of the line)`` for a line that may start with a
    timestamp (optionally in ``[]`` or ``()``)."""
    match = _LEADING_TIME_RE.match(line)
    if not match:
        return None, line
    when = _to_epoch(match)
    return (when, line[match.end():]) if when is not None else (None, line)


def _to_epoch(m: re.Match[str]) -> float | None:
    tz = (m.group("tz") or "").strip().upper()
    offset = timedelta(0)
    if tz[:1] in ("+", "-"):
        digits = tz[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes) * (1 if tz[0] == "+" else -1)
    frac = m.group("frac") or ""
    try:
        when = datetime(int(m.group("y")), int(m.group("mo")), int(m.group("d")),
                        int(m.group("h")), int(m.group("mi")), int(m.group("s")),
                        tzinfo=timezone(offset))
    except ValueError:
        return None
    return when.timestamp() + (int(frac) / 10 ** len(frac) if frac else 0.0)


def iter_lines(stream: IO[bytes], max_bytes: int = MAX_LINE_BYTES, before: int = 0
               ) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number from 1, line without its end, too_long)`` for each line of ``stream``
    (numbers from ``before + 1``: a byte range of a file that starts after ``before`` lines).

    A line longer than ``max_bytes`` is cut to ``max_bytes`` (``too_long`` True) and the rest
    of it is read in bounded chunks and dropped, so one huge line never sits in memory whole.
    """
    lineno = before
    while True:
        raw = stream.readline(max_bytes + 1)
        if not raw:
            return
        lineno += 1
        too_long = len(raw) > max_bytes and not raw.endswith(b"\n")
        if too_long:
            while True:
                more = stream.readline(1 << 16)
                if not more or more.endswith(b"\n"):
                    break
        yield lineno, raw.rstrip(b"\r\n")[:max_bytes], too_long


def safe_error_name(text: str | None) -> str | None:
    """``text`` when it looks like an error name (``ReadTimeout``, ``net::ERR_FAILED``), else None;
    a record's ``error.type`` must never carry free text from the input."""
    return text if text and _SAFE_NAME_RE.match(text) else None


def oauth_json(line: str) -> tuple[str, int, int] | None:
    """``(JSON text, start, end)`` of the first object in ``line`` shaped like an OAuth
    response, trying at most ``MAX_JSON_TRIES`` opening braces."""
    decoder = json.JSONDecoder()
    start = line.find("{")
    tries = 0
    while start != -1 and tries < MAX_JSON_TRIES:
        tries += 1
        try:
            obj, end = decoder.raw_decode(line, start)
        except (ValueError, RecursionError):
            obj, end = None, start + 1
        if isinstance(obj, dict) and ("error" in obj or "access_token" in obj or (
                "message" in obj and obj.keys() <= _BODY_ONLY_KEYS)):
            return line[start:end], start, end
        start = line.find("{", start + 1)
    return None


def _pick_url(text: str, ctx: ReadContext) -> tuple[str | None, str | None]:
    """``(method or None, url)`` of the exchange a line names; URLs the profile knows first."""
    urls = [m.group(0).rstrip(".,;:)]}'\"") for m in _URL_RE.finditer(text)]
    known = [u for u in urls if ctx.profiles.match(u)[0] is not None]
    if not urls:
        return None, None
    url = (known or urls)[0]
    for m in _METHOD_URL_RE.finditer(text):
        if m.group(2).rstrip(".,;:)]}'\"") == url:
            return m.group(1), url
    keyed = _METHOD_KEY_RE.search(text)
    return (keyed.group(1).upper() if keyed else None), url


def missing_part(url: str | None, status: int | None, failed: bool,
                 time: float | None) -> str | None:
    """Why a log event read as (``url``, ``status``, a transport failure ``failed``,
    ``time``) is no exchange (a reason naming the part missing), or None when it is one."""
    if url is None:
        return "no HTTP exchange found" if status is None else "status without a request URL"
    if status is None and not failed:
        return "request URL without a status"
    if time is None:
        return "no timestamp on this or any earlier line"
    return None


def extract(line: str, ctx: ReadContext, time: float | None) -> tuple[Exchange, bool] | str:
    """The exchange one log line shows, and whether it named a credential; or why it shows none.

    ``line`` has its leading timestamp removed; ``time`` is the line's time (epoch seconds).
    Returns a reason (never quoting the line) when no exchange can be read.
    """
    body = oauth_json(line)
    if body is None and '\\"' in line:
        line = line.replace('\\"', '"')
        body = oauth_json(line)
    rest = line if body is None else f"{line[:body[1]]} {{}} {line[body[2]:]}"
    method, url = _pick_url(rest, ctx)
    bare = _URL_RE.sub(" ", rest)
    status = next((int(m.group(1)) for r in _STATUS_RES if (m := r.search(bare))), None)
    error = _ERROR_RE.search(bare) if status is None else None
    missing = missing_part(url, status, error is not None, time)
    if missing is not None or url is None:
        return missing or "no HTTP exchange found"
    kind = ctx.profiles.match(url)[0]
    response_headers: list[tuple[str, str]] = []
    if (challenge := _CHALLENGE_RE.search(line.replace('\\"', '"'))) is not None:
        response_headers.append(("www-authenticate", challenge.group(1)))
    if (retry := _RETRY_RE.search(bare)) is not None:
        response_headers.append(("retry-after", retry.group(1)))
    request_headers: list[tuple[str, str]] = []
    if (credential := _CREDENTIAL_RE.search(rest)) is not None:
        request_headers.append((credential.group(1), credential.group(2) or ""))
    raw = Exchange(
        time=time, method=method or ("POST" if kind == TOKEN_EXCHANGE else "GET"), url=url,
        request_headers=header_map(request_headers), status=status,
        response_headers=header_map(response_headers),
        response_body=body[0].encode("utf-8", "surrogateescape") if body else None,
        error=safe_error_name(error.group(1)) if error else None,
        credentials_known=credential is not None)
    return raw, credential is not None


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """Items of a text log ``stream`` named ``name``: one per non-blank line (see module doc)."""
    ctx = ctx or ReadContext()
    last_time: float | None = None
    for lineno, raw, too_long in iter_lines(stream):
        source = f"{name}:{lineno}"
        if too_long:
            yield Item(source, reason=f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        text = raw.decode("utf-8", "surrogateescape")
        if not text.strip():
            if raw.strip():  # only Unicode spaces (U+2028 ...): not blank to a byte reader
                yield Item(source, reason="line holds only whitespace")
            continue
        when, rest = leading_time(text)
        last_time = when if when is not None else last_time
        found = extract(rest, ctx, last_time)
        if isinstance(found, str):
            yield Item(source, reason=found)
            continue
        yield build(found[0], ctx, source)


def sniff(head: bytes, name: str = "") -> bool:
    """True when most of the first lines start with a timestamp and at least two (or the only
    one) also hold an http(s) URL or ``status``. Never true for JSON (first character ``{`` or
    ``[``), HAR or ``curl -v`` transcripts (lines starting ``> ``/``< ``)."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text or text[0] in "{[":
        return False
    lines = text.splitlines()
    if len(lines) > 1 and not head.endswith(b"\n"):
        lines = lines[:-1]  # the last line is cut off
    lines = [line for line in lines if line.strip()]
    stamped = [rest for when, rest in map(leading_time, lines) if when is not None]
    if any(rest.startswith(("> ", "< ")) for rest in stamped) or any(
            line.startswith(("> ", "< ")) for line in lines):
        return False
    hits = sum(1 for rest in stamped if "http://" in rest or "https://" in rest
               or "status" in rest.lower())
    return 2 * len(stamped) >= len(lines) and hits >= min(2, len(lines))
