"""Render the shared auth-failure cases (``tests/data/cases``) and replay them over loopback.

Rendering follows the cases' README: ``{"jwt": ...}`` placeholders become HS256-signed compact
JWTs (with the ``truncated``/``whitespace`` defects), ``{"opaque": ...}``/``{"raw": ...}`` stay as
text, ``{"bearer": X}`` becomes ``Bearer X``. Every origin a case names (request URLs, redirect
locations, ``aud`` claims, profile URLs) maps to one loopback server of the same scheme, and a
bare host name maps to that server's ``127.0.0.1:port``, consistently within a case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hgobs.profiles import Profile, load_profile, profile_from_mapping

from .loopback import Reply
from .servers import LoopPool

CASES_DIR = Path(__file__).resolve().parent.parent / "data" / "cases"
TEST_SECRET = b"case-signing-secret-not-real"


def load_cases() -> list[dict[str, Any]]:
    """Every case file, sorted by id."""
    return [json.loads(p.read_text()) for p in sorted(CASES_DIR.glob("*.json"))]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(header: dict[str, Any], claims: dict[str, Any], secret: bytes = TEST_SECRET) -> str:
    """A compact JWS signed with HMAC-SHA256 whatever ``header.alg`` says (cases README)."""
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(sig)}"


class OriginMap:
    """Maps a case's origins to loopback servers of the same scheme."""

    def __init__(self, pool: LoopPool) -> None:
        self.pool = pool
        self.map: dict[tuple[str, str], str] = {}
        self._free = {"https": list(pool.https), "http": list(pool.http)}

    def add(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            key = (parts.scheme, parts.netloc)
            if key not in self.map:
                self.map[key] = self._free[parts.scheme].pop(0).origin

    def host(self, host: str) -> str | None:
        origin = self.map.get(("https", host)) or self.map.get(("http", host))
        return origin.split("://", 1)[1] if origin else None

    def __call__(self, text: str) -> str:
        for (scheme, netloc), origin in sorted(self.map.items(), key=lambda kv: -len(kv[0][1])):
            prefix = f"{scheme}://{netloc}"
            if text == prefix or text.startswith((prefix + "/", prefix + "?")):
                return origin + text[len(prefix):]
        mapped = self.host(text)
        return mapped if mapped is not None else text


def _walk_strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _walk_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _walk_strings(v, out)


def case_profile(case: dict[str, Any]) -> Profile:
    """The case's profile before mapping."""
    spec = case["profile"]
    return load_profile(spec) if isinstance(spec, str) else profile_from_mapping(spec)


def build_origin_map(case: dict[str, Any], pool: LoopPool) -> OriginMap:
    """Assign loopback servers to every origin the case or its profile names."""
    omap = OriginMap(pool)
    for env in case_profile(case).environments:
        for url in (*env.token_urls, *env.api_bases):
            if "{" not in url:  # a URL pattern names no origin of its own
                omap.add(url)
    strings: list[str] = []
    _walk_strings(case["exchanges"], strings)
    for s in strings:
        if s.startswith(("http://", "https://")):
            omap.add(s)
    return omap


def mapped_profile(case: dict[str, Any], omap: OriginMap) -> Profile:
    """The case's profile with every URL mapped to loopback."""
    profile = case_profile(case)
    data = {
        "name": profile.name,
        "limits": {"max_assertion_lifetime_s": profile.max_assertion_lifetime_s or 0,
                   "require_iat": profile.require_iat},
        "environments": {
            env.name: {"token_urls": [omap(u) for u in env.token_urls],
                       "api_bases": [omap(u) for u in env.api_bases]}
            for env in profile.environments
        },
    }
    return profile_from_mapping(data)


def render(value: Any, omap: OriginMap) -> Any:
    """Render placeholders and map origins inside one value of a case."""
    if isinstance(value, dict):
        if "jwt" in value:
            spec = value["jwt"]
            token = make_jwt(spec["header"], render(spec["claims"], omap))
            defect = value.get("defect")
            if defect == "truncated":
                h, p, _ = token.split(".")
                token = f"{h}.{p[: len(p) // 2]}"
            elif defect == "whitespace":
                h, p, s = token.split(".")
                token = f"{h}.{p}.{s[: len(s) // 2]}%20{s[len(s) // 2:]}\n"
            return token
        if "raw" in value and len(value) == 1:
            return value["raw"]
        if "opaque" in value and len(value) == 1:
            return value["opaque"]
        if "bearer" in value and len(value) == 1:
            return "Bearer " + render(value["bearer"], omap)
        if "json_text" in value and len(value) == 1:
            return json.dumps(render(value["json_text"], omap))
        return {k: render(v, omap) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, omap) for v in value]
    if isinstance(value, str):
        return omap(value)
    return value


def reply_for(response: dict[str, Any], omap: OriginMap) -> Reply:
    """The scripted server reply for one exchange's response."""
    headers = [(k, render(v, omap)) for k, v in (response.get("headers") or {}).items()]
    body = response.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(render(body, omap)).encode()
    return Reply(int(response["status"]), headers, data)


def request_kwargs(request: dict[str, Any], omap: OriginMap) -> dict[str, Any]:
    """``httpx.Client.request`` keyword arguments for one exchange's request."""
    kwargs: dict[str, Any] = {
        "method": request["method"],
        "url": omap(request["url"]),
        "headers": {k: render(v, omap) for k, v in (request.get("headers") or {}).items()},
    }
    if "form" in request:
        kwargs["data"] = render(request["form"], omap)
    elif "json" in request:
        kwargs["content"] = json.dumps(render(request["json"], omap)).encode()
    elif "body" in request:
        kwargs["content"] = render(request["body"], omap).encode()
    return kwargs
