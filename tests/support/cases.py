"""Render the shared auth-failure cases (``tests/data/cases``) and replay them over loopback.

Rendering follows the cases' README: ``{"jwt": ...}`` placeholders become HS256-signed compact
JWTs (with the ``truncated``/``whitespace`` defects), ``{"opaque": ...}``/``{"raw": ...}`` stay as
text, ``{"bearer": X}`` becomes ``Bearer X``. Two ways to reach loopback:

- keeping the case's real URLs (``IDENTITY``, ``replay_real``): the client sends to the real
  URLs and a ``RoutedTransport`` under it carries each request to a loopback server of the
  same scheme, so capture (which wraps the client's ``send``) records the real URL and the
  case's own provider profile (``capture_profile``) applies;
- mapping origins (``build_origin_map``, ``mapped_profile``): every origin a case names maps to
  one loopback server of the same scheme, and a bare host name to that server's
  ``127.0.0.1:port``, consistently within a case (for tests about the loopback URLs themselves).

``needs(case)`` says what a case waits for (a catalog category or a built-in profile this
install lacks), from what the catalog and the profiles hold now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

import hgobs
from hgobs.diagnosis import CATEGORIES
from hgobs.profiles import (
    Profile,
    ProfileSet,
    available_builtins,
    load_profile,
    profile_from_mapping,
)

from .loopback import Reply
from .servers import LoopPool

CASES_DIR = Path(__file__).resolve().parent.parent / "data" / "cases"
TEST_SECRET = b"case-signing-secret-not-real"
FINGERPRINT_KEY = "case-fingerprint-key-not-real"
"""The ``HGOBS_FINGERPRINT_KEY`` of case replays and analyses (so ``--client-id`` applies)."""


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


IDENTITY = cast(OriginMap, lambda text: text)
"""An origin map that maps nothing: ``render`` with it keeps the case's real URLs."""


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
    """The case's profile with every URL mapped to loopback (its environments' token URLs, API
    bases and audience values, and its own audience values); all else kept, so the rules that
    read the profile's algorithms, header rules and error texts judge as under the real one."""
    profile = case_profile(case)
    envs = tuple(
        replace(env, token_urls=tuple(omap(u) for u in env.token_urls),
                api_bases=tuple(omap(u) for u in env.api_bases),
                audience=tuple(omap(a) for a in env.audience))
        for env in profile.environments)
    return replace(profile, environments=envs, audience=tuple(omap(a) for a in profile.audience),
                   custom_domains=())


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


def needs(case: dict[str, Any], profile: bool = True, category: bool = True) -> str | None:
    """What ``case`` waits for, as an xfail reason, or None when this install has it all:
    (with ``profile``) its built-in profile, missing from ``available_builtins()``, or (with
    ``category``) its expected category, missing from the catalog
    (``hgobs.diagnosis.CATEGORIES``). Never decided per case by hand."""
    spec = case["profile"]
    if profile and isinstance(spec, str) and spec not in available_builtins():
        return f"needs profile {spec} (issue 14)"
    expected = case["expected"]["category"]
    if category and expected != "ok" and expected not in CATEGORIES:
        return f"needs category {expected} (issue 14)"
    return None


def profile_name(case: dict[str, Any]) -> str:
    """The name of the profile that must judge ``case``'s records (a built-in name, or the
    mapping's ``name``)."""
    spec = case["profile"]
    return spec if isinstance(spec, str) else str(spec["name"])


def case_param(case: dict[str, Any], *values: Any, input_name: str | None = None,
               profile: bool = True, category: bool = True) -> Any:
    """``pytest.param(case, *values)`` with id ``<case id>[-<input_name>]``, marked
    ``xfail(strict=True)`` when the case ``needs`` what this install lacks: ``profile`` and
    ``category`` say what the test depends on (its profile judging or capturing it; its
    ``expected.category``). It turns into a pass once that lands."""
    reason = needs(case, profile, category)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    name = case["id"] if input_name is None else f"{case['id']}-{input_name}"
    return pytest.param(case, *values, id=name, marks=marks)


def _split(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path


def is_token_request(request: dict[str, Any]) -> bool:
    """The case's request carries a ``grant_type`` (form or JSON body): a token request."""
    body = request.get("form") or request.get("json") or {}
    return isinstance(body, dict) and "grant_type" in body


def analysis_mapping(case: dict[str, Any]) -> dict[str, Any] | None:
    """The profile a user must name to judge ``case`` (``--profile FILE``), as data, or None
    when ``--profile auto`` finds it from the URL.

    A mapping profile (the ``generic-*`` cases) is that profile, its short form spelled out. A
    built-in profile whose own URLs do not hold the URL of the case's last exchange (a SMART
    server at a host of its own) is that built-in extended with the case's token URLs and API
    origins. The built-in itself (``--profile NAME``) when its URLs hold the case's but
    ``--profile auto`` does not pick it by URL (``smart``, whose token URLs match any
    server's). None when the built-in is missing (the case ``needs`` it) or ``--profile auto``
    picks it from the URL.
    """
    spec = case["profile"]
    if not isinstance(spec, str):
        if "environments" in spec:
            return dict(spec)
        return {"name": spec["name"], "environments": {
            env: {"token_urls": [url]} for env, url in spec["token_urls"].items()}}
    if spec not in available_builtins():
        return None
    exchanges = case["exchanges"]
    last_url = exchanges[-1]["request"]["url"]
    picked = ProfileSet.auto().for_url(last_url)
    if picked is not None and picked.name == spec:
        return None  # --profile auto finds it
    if load_profile(spec).match(last_url)[0] is not None:
        return {"name": spec, "extends": spec}  # --profile NAME: its URLs hold the case's
    token_urls = sorted({e["request"]["url"].split("?", 1)[0] for e in exchanges
                         if is_token_request(e["request"])})
    api_bases = sorted({_split(e["request"]["url"])[0] for e in exchanges
                        if not is_token_request(e["request"])})
    return {"name": spec, "extends": spec, "environments": {
        "case": {"token_urls": token_urls, "api_bases": api_bases}}}


def analysis_profile(case: dict[str, Any]) -> Profile | None:
    """``analysis_mapping(case)`` loaded, or None for ``--profile auto``."""
    data = analysis_mapping(case)
    return None if data is None else profile_from_mapping(data)


def profile_toml(data: dict[str, Any]) -> str:
    """TOML text of a profile mapping whose values are strings, numbers, booleans, lists of
    those, and tables of tables of them (``analysis_mapping``'s shapes)."""
    def line(key: str, value: Any) -> str:
        return f"{json.dumps(key)} = {json.dumps(value)}"

    lines = [line(k, v) for k, v in data.items() if not isinstance(v, dict)]
    for table, inner in data.items():
        if isinstance(inner, dict):
            flat = [line(k, v) for k, v in inner.items() if not isinstance(v, dict)]
            if flat:
                lines += [f"[{table}]", *flat]
            for sub, values in inner.items():
                if isinstance(values, dict):
                    lines += [f"[{table}.{json.dumps(sub)}]",
                              *(line(k, v) for k, v in values.items())]
    return "\n".join(lines) + "\n"


def capture_profile(case: dict[str, Any]) -> Profile:
    """The profile capture is configured with: ``analysis_profile``, else the built-in by
    name (``ProfileError`` when it is missing)."""
    return analysis_profile(case) or load_profile(case["profile"])


class RoutedTransport(httpx.BaseTransport):
    """Sends each request for a real URL to the pool's first loopback server of the same
    scheme, path, query, headers and body unchanged (the ``Host`` header keeps the real
    host). httpx sets ``response.request`` to the request it gave the transport, so everything
    above (capture's wrapped ``send``, redirects) sees the real URL."""

    def __init__(self, pool: LoopPool) -> None:
        self._origins = {"https": pool.https[0].origin, "http": pool.http[0].origin}
        self._inner = httpx.HTTPTransport(verify=pool.ssl_context())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = httpx.URL(self._origins[request.url.scheme])
        target = request.url.copy_with(scheme=origin.scheme, host=origin.host, port=origin.port)
        routed = httpx.Request(request.method, target, headers=request.headers,
                               stream=request.stream, extensions=request.extensions)
        return self._inner.handle_request(routed)

    def close(self) -> None:
        self._inner.close()


class Clock:
    """The injectable client clock, set to each exchange's recorded time (epoch seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def replay_real(case: dict[str, Any], pool: LoopPool, jsonl: Path, *, tracer_provider: Any = None,
                meter_provider: Any = None, otel_httpx: bool = False
                ) -> tuple[list[dict[str, Any]], list[httpx.Response]]:
    """Send ``case``'s requests to its real URLs through an instrumented ``httpx.Client``
    (capture configured with ``capture_profile(case)``, the case's client id and
    ``FINGERPRINT_KEY``, its clock at each exchange's time), routed to ``pool`` below
    capture; the pool answers with the case's responses. A followed redirect consumes the
    next exchange. ``otel_httpx`` also instruments the client with OpenTelemetry's httpx
    instrumentation. Returns the JSON Lines records written to ``jsonl`` and the responses."""
    exchanges = case["exchanges"]
    pool.script.load([reply_for(e["response"], IDENTITY) for e in exchanges])
    clock = Clock()
    responses = []
    with httpx.Client(transport=RoutedTransport(pool), follow_redirects=True) as client:
        if otel_httpx:
            HTTPXClientInstrumentor().instrument_client(client, tracer_provider=tracer_provider)
        hgobs.instrument_client(
            client, profile=capture_profile(case), client_id=case["client_id"], clock=clock,
            fingerprint_key=FINGERPRINT_KEY, jsonl_path=jsonl, tracer_provider=tracer_provider,
            meter_provider=meter_provider)
        assert getattr(client, "_hgobs_recorder", None) is not None, "capture refused its options"
        i = 0
        while i < len(exchanges):
            clock.now = float(exchanges[i]["time"])
            response = client.request(**request_kwargs(exchanges[i]["request"], IDENTITY))
            responses.append(response)
            i += 1 + len(response.history)
        hgobs.uninstrument_client(client)
    return list(read_jsonl(jsonl)), responses


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file (none when it does not exist)."""
    if path.exists():
        for line in path.read_text().splitlines():
            yield json.loads(line)
