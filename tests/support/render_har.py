"""Render a shared case (``tests/data/cases``) as raw HTTP, keeping its real URLs, and as HAR 1.2.

``plain_exchanges(case)`` renders every exchange's placeholders (JWTs, opaque tokens, bearer
values) as ``tests.support.cases.render`` does, but maps no origin to loopback: URLs stay the
Health Gorilla (or generic provider) ones, so readers can be tested with the case's own profile.
``case_secrets(case)`` lists the raw secrets a rendering holds (for canary checks), and
``case_to_har(case)`` is a HAR document with one entry per exchange.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.support.cases import IDENTITY, make_jwt, render


@dataclass
class PlainExchange:
    """One rendered exchange: the client's ``time`` (epoch s), request and response as sent.

    ``body`` is the request body (None for none); ``response_body`` is b"" when the case's
    body is null (the server sent an empty body).
    """

    time: float
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes

    def header(self, name: str, response: bool = False) -> str | None:
        """The first value of header ``name`` (case-insensitive) of the request or response."""
        pairs = self.response_headers if response else self.headers
        return next((v for n, v in pairs if n.lower() == name.lower()), None)


def _request_body(request: dict[str, Any]) -> bytes | None:
    if "form" in request:
        return urlencode(render(request["form"], IDENTITY)).encode()
    if "json" in request:
        return json.dumps(render(request["json"], IDENTITY)).encode()
    if "body" in request:
        return render(request["body"], IDENTITY).encode()
    return None


def plain_exchanges(case: dict[str, Any]) -> list[PlainExchange]:
    """Every exchange of ``case``, placeholders rendered, URLs as the case wrote them."""
    out = []
    for e in case["exchanges"]:
        req, resp = e["request"], e["response"]
        body = resp.get("body")
        data = b"" if body is None else body.encode() if isinstance(body, str) else \
            json.dumps(render(body, IDENTITY)).encode()
        out.append(PlainExchange(
            time=float(e["time"]), method=req["method"], url=req["url"],
            headers=[(k, render(v, IDENTITY)) for k, v in (req.get("headers") or {}).items()],
            body=_request_body(req), status=int(resp["status"]),
            response_headers=[(k, render(v, IDENTITY)) for k, v in (resp.get("headers") or {}).items()],
            response_body=data))
    return out


def _collect_secrets(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        if "jwt" in value:
            out.append(render(value, IDENTITY))
            spec = value["jwt"]
            out.append(make_jwt(spec["header"], render(spec["claims"], IDENTITY)))
            return
        if len(value) == 1 and ("opaque" in value or "raw" in value):
            out.append(render(value, IDENTITY))
            return
        for k, v in value.items():
            if k in ("client_secret", "password") and isinstance(v, str):
                out.append(v)
            else:
                _collect_secrets(v, out)
    elif isinstance(value, list):
        for v in value:
            _collect_secrets(v, out)


def case_secrets(case: dict[str, Any]) -> list[str]:
    """The raw secrets of ``case`` as rendered: JWTs (with and without defects), opaque
    tokens and raw values, and ``client_secret``/``password`` form values."""
    out: list[str] = []
    _collect_secrets(case["exchanges"], out)
    return sorted(set(out))


def leaks(secrets: list[str], text: str, window: int = 8) -> list[str]:
    """The secrets of which some ``window``-character substring occurs in ``text`` (a secret
    shorter than ``window`` counts when it occurs whole)."""
    found = []
    for secret in secrets:
        probes = [secret[i:i + window] for i in range(max(1, len(secret) - window + 1))]
        if any(p.strip() and p in text for p in probes):
            found.append(secret)
    return found


def iso_time(epoch: float) -> str:
    """``epoch`` as an ISO 8601 UTC timestamp with milliseconds (``2023-11-14T22:13:20.000Z``)."""
    when = datetime.fromtimestamp(epoch, timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _nv(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in pairs]


def har_entry(ex: PlainExchange, params_only: bool = False, base64_content: bool = False
              ) -> dict[str, Any]:
    """One HAR 1.2 entry for ``ex``. ``params_only``: a form body as ``postData.params`` with
    no ``text``; ``base64_content``: the response text base64-encoded."""
    request: dict[str, Any] = {
        "method": ex.method, "url": ex.url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": _nv(ex.headers),
        "queryString": _nv(parse_qsl(urlsplit(ex.url).query, keep_blank_values=True)),
        "headersSize": -1, "bodySize": len(ex.body or b""),
    }
    if ex.body is not None:
        mime = ex.header("content-type") or ""
        post: dict[str, Any] = {"mimeType": mime, "text": ex.body.decode()}
        if mime.startswith("application/x-www-form-urlencoded"):
            post["params"] = _nv(parse_qsl(ex.body.decode(), keep_blank_values=True))
            if params_only:
                del post["text"]
        request["postData"] = post
    content: dict[str, Any] = {"size": len(ex.response_body),
                               "mimeType": ex.header("content-type", response=True) or ""}
    if ex.response_body:
        content["text"] = (base64.b64encode(ex.response_body).decode() if base64_content
                           else ex.response_body.decode())
        if base64_content:
            content["encoding"] = "base64"
    location = ex.header("location", response=True) or ""
    return {
        "startedDateTime": iso_time(ex.time), "time": 120.0,
        "request": request,
        "response": {"status": ex.status, "statusText": "", "httpVersion": "HTTP/1.1",
                     "cookies": [], "headers": _nv(ex.response_headers), "content": content,
                     "redirectURL": location, "headersSize": -1,
                     "bodySize": len(ex.response_body)},
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 1.0,
                    "wait": 99.0, "receive": 20.0},
    }


def case_to_har_dict(case: dict[str, Any], params_only: bool = False,
                     base64_content: bool = False) -> dict[str, Any]:
    """The HAR document of ``case`` as a dict (one entry per exchange, in order)."""
    return {"log": {
        "version": "1.2", "creator": {"name": "hgobs-tests", "version": "1"}, "pages": [],
        "entries": [har_entry(ex, params_only, base64_content) for ex in plain_exchanges(case)],
    }}


def case_to_har(case: dict[str, Any], params_only: bool = False,
                base64_content: bool = False) -> bytes:
    """The HAR document of ``case`` as UTF-8 JSON bytes (see ``har_entry`` for the options)."""
    return json.dumps(case_to_har_dict(case, params_only, base64_content), indent=2).encode()
