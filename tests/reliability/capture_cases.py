"""Generated capture cases: token exchanges and API calls with secrets in every position.

``cases(origin)`` draws a ``Case``: one to three steps (a token exchange or a refused FHIR API
call), each with secrets of every shape (``tests.reliability.shapes``) in the request - form
fields and JSON bodies, ``Authorization`` (Bearer, Basic, misspelled), other headers, query
strings, URL paths, user info and fragments, claims and header fields of every type, malformed
tokens - and replies that echo them (whole, percent-encoded, inside URLs, in
``WWW-Authenticate`` parameters and redirect ``Location`` headers) next to secrets only the
server knows. Sometimes an hgobs step is made to raise an exception whose message is a secret.
``Harness`` holds a loopback server and two instrumented clients (hgobs alone, and with
OpenTelemetry's httpx instrumentation); ``run`` sends a case and returns what hgobs emitted.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, quote_plus, urlencode

import httpx
from hypothesis import strategies as st
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

import hgobs
from hgobs.capture import guard
from tests.reliability import leaks, shapes
from tests.support.emitted import Emitted, collect_logs, loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JSON = ("content-type", "application/json")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
FAULT_TARGETS = (
    "hgobs.capture.send.plan_request",
    "hgobs.capture.record.RecordBuilder.exchange",
    "hgobs.facts.record.RecordBuilder.add_body",
    "hgobs.capture.record.RecordBuilder.api_call",
    "hgobs.facts.jwtpeek.peek",
    "hgobs.facts.challenges.challenge_facts",
    "hgobs.facts.oauth.response_body_facts",
    "hgobs.capture.recorder.diagnose",
    "hgobs.sinks.otel.finish_span",
    "hgobs.sinks.otel.Metrics.record",
    "hgobs.sinks.jsonl.JsonlSink.write",
    "hgobs.sinks.logging.log_record",
)
ECHO_ENCODINGS = ("plain", "quote", "quote_plus", "in-url-query", "in-url-path", "quoted")


@dataclass
class Step:
    """One request the application makes and the replies the server gives to it."""

    method: str
    path: str
    kwargs: dict[str, Any]
    replies: list[Reply]
    userinfo: str = ""


@dataclass
class Case:
    """A generated case: its steps, every secret it planted, and the hgobs step made to fail."""

    steps: list[Step] = field(default_factory=list)
    fault: str | None = None


def echo(draw: Any, value: str, server_only: bool = False) -> str:
    """``value`` as a server might echo it in free text (``ECHO_ENCODINGS``)."""
    encodings = ECHO_ENCODINGS if server_only else (*ECHO_ENCODINGS, "prefix")
    how = draw(st.sampled_from(encodings))
    if how == "prefix":
        return value[: draw(st.integers(8, max(8, len(value) - 1)))] + "..."
    if how == "quote":
        return quote(value, safe="")
    if how == "quote_plus":
        return quote_plus(value)
    if how == "in-url-query":
        return f"https://idp.example.org/errors?value={quote_plus(value)}&n=1"
    if how == "in-url-path":
        return f"https://idp.example.org/errors/{quote(value, safe='')}/detail"
    if how == "quoted":
        return f"'{value}'"
    return value


def echo_text(draw: Any, candidates: list[str], s: shapes.Secrets) -> str:
    """A sentence echoing some client values and some secrets only the server knows."""
    picks = draw(st.lists(st.sampled_from(candidates), max_size=3)) if candidates else []
    server_only = [s.of(draw(shapes.server_shapes))
                   for _ in range(draw(st.integers(0, 2)))]
    # Read back from a log that does not show the request, a client value is server text too.
    parts = ([echo(draw, v, s.requests_unseen) for v in picks]
             + [echo(draw, v, True) for v in server_only])
    return "request rejected: " + "; ".join(f"value {p} is not valid" for p in parts)


def exchange_step(draw: Any, s: shapes.Secrets, origin: str) -> Step:
    """A token exchange with secrets in the request and a reply that may echo them."""
    token_url = f"{origin}/oauth/token"
    grant = draw(st.sampled_from(["jwt-bearer", "client-assertion", "client-secret-post",
                                  "client-secret-basic", "password", "refresh", "code"]))
    sent: list[str] = []
    form: dict[str, str] = {}
    headers: dict[str, str] = {}
    if grant in ("jwt-bearer", "client-assertion"):
        token = s.jwt(token_url, draw(shapes.claim_types), time.time())
        token = shapes.malformed(token, draw(shapes.malformations), s.planted)
        sent.append(token)
        if grant == "jwt-bearer":
            form = {"grant_type": JWT_BEARER, "assertion": token}
        else:
            form = {"grant_type": "client_credentials", "client_assertion_type":
                    CLIENT_ASSERTION_TYPE, "client_assertion": token}
    elif grant == "client-secret-post":
        form = {"grant_type": "client_credentials", "client_id": s.token("alnum", 20),
                "client_secret": s.of(draw(shapes.shapes))}
    elif grant == "client-secret-basic":
        client_id, secret = s.token("alnum", 20), s.of(draw(shapes.shapes))
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        s.planted.add(basic)
        headers["Authorization"] = f"Basic {basic}"
        form = {"grant_type": "client_credentials"}
    elif grant == "password":
        form = {"grant_type": "password", "username": s.email(),
                "password": s.of(draw(shapes.shapes))}
    elif grant == "refresh":
        form = {"grant_type": "refresh_token", "refresh_token": s.of(draw(shapes.shapes))}
    else:
        form = {"grant_type": "authorization_code", "code": s.token("b64url", 32),
                "code_verifier": s.token("b64url", 43),
                "redirect_uri": f"https://app.example.org/cb?state={s.token('alnum', 20)}"}
    for _ in range(draw(st.integers(0, 2))):
        name = s.token("alnum", 20) if draw(st.booleans()) else f"x_{draw(shapes.shapes)}"
        form[name] = s.of(draw(shapes.shapes))
    if draw(st.booleans()):
        headers["X-Api-Key"] = s.token(draw(st.sampled_from(shapes.TOKEN_KINDS)), 32)
    sent.extend(v for k, v in form.items() if k not in ("grant_type", "client_assertion_type"))
    kwargs: dict[str, Any] = {"headers": headers}
    body = draw(st.sampled_from(["form", "json", "form-as-text", "form-no-type"]))
    if body == "form":
        kwargs["data"] = form
    elif body == "json":
        kwargs["json"] = form
    else:
        kwargs["content"] = urlencode(form).encode()
        if body == "form-as-text":
            headers["Content-Type"] = "text/plain"
    path = "/oauth/token"
    if draw(st.booleans()):
        query_secret = s.of(draw(shapes.shapes))
        kwargs["params"] = {"client_secret": query_secret, "audience": s.token("alnum", 24)}
    userinfo = ""
    if draw(st.booleans()):
        userinfo = f"{quote(s.token('alnum', 20), safe='')}:{quote(s.word(), safe='')}@"
        path += f"#{s.token('alnum', 20)}"
    return Step("POST", path, kwargs, token_reply(draw, s, sent), userinfo)


def token_reply(draw: Any, s: shapes.Secrets, sent: list[str]) -> list[Reply]:
    """What the token endpoint answers: success, OAuth error, other shapes, or a redirect."""
    kind = draw(st.sampled_from(["success", "oauth-error", "status-message", "challenge",
                                 "html", "text", "redirect-followed", "redirect-not-followed"]))
    status = draw(st.sampled_from([400, 401, 403, 429, 500, 502]))
    text = echo_text(draw, sent, s)
    if kind == "success":
        body = {"access_token": s.of(draw(shapes.server_shapes)), "token_type": "Bearer",
                "expires_in": 3600, "refresh_token": s.token("b64url", 40),
                "id_token": s.jwt("https://app.example.org", ("string", "email-sub"), time.time()),
                "scope": draw(st.sampled_from(["patient360", text])),
                "patient": s.token("alnum", 24)}
        return [Reply(200, [JSON], json.dumps(body).encode())]
    if kind == "oauth-error":
        body = {"error": draw(st.sampled_from(["invalid_grant", "invalid_client", text])),
                "error_description": text,
                "error_uri": f"https://idp.example.org/e/{s.token('alnum', 20)}?u={s.email()}",
                "hint": echo_text(draw, sent, s)}
        return [Reply(status, [JSON], json.dumps(body).encode())]
    if kind == "status-message":
        body = {"status": draw(st.sampled_from(["error", text])), "message": text}
        return [Reply(status, [JSON], json.dumps(body).encode())]
    if kind == "challenge":
        return [Reply(401, [JSON, ("www-authenticate", challenge(draw, s, sent))],
                      json.dumps({"error": "invalid_client"}).encode())]
    if kind == "html":
        return [Reply(status, [("content-type", "text/html")],
                      f"<html><body><p>{text}</p></body></html>".encode())]
    if kind == "text":
        return [Reply(200, [("content-type", "application/x-www-form-urlencoded")],
                      urlencode({"access_token": s.token("alnum", 32), "note": text}).encode())]
    location = f"/oauth/token/{s.token('alnum', 20)}?code={s.token('alnum', 20)}&u={s.email()}"
    if kind == "redirect-followed":
        return [Reply(307, [("location", location)]),
                Reply(status, [JSON], json.dumps({"error": "invalid_grant",
                                                  "error_description": text}).encode())]
    return [Reply(302, [("location", f"https://{s.word()}.example.org{location}")])]


def challenge(draw: Any, s: shapes.Secrets, sent: list[str]) -> str:
    """A ``WWW-Authenticate`` value with secrets in its parameters."""
    params = [f'realm="{draw(st.sampled_from(["fhir", s.email(), s.token("alnum", 20)]))}"',
              f'error="{draw(st.sampled_from(["invalid_token", s.token("alnum", 24)]))}"',
              f'error_description="{echo_text(draw, sent, s)}"',
              f'scope="patient360 {s.token("b64url", 24)}"',
              f'error_uri="https://idp.example.org/{s.token("alnum", 20)}"',
              f"x_trace={s.token('hex', 32)}"]
    value = "Bearer " + ", ".join(draw(st.permutations(params)))
    return value.encode("utf-8").decode("latin-1")  # raw UTF-8 bytes, as a server sends them


def api_step(draw: Any, s: shapes.Secrets, origin: str) -> Step:
    """A refused FHIR API call with a credential, ids and search values that are secrets."""
    kind = draw(st.sampled_from(["opaque", "jwt", "malformed-jwt", "misspelled", "basic",
                                 "query-token"]))
    headers: dict[str, str] = {}
    sent: list[str] = []
    if kind == "opaque":
        value = s.of(draw(shapes.ascii_shapes))
        headers["Authorization"] = f"Bearer {value}"
        sent.append(value)
    elif kind in ("jwt", "malformed-jwt"):
        token = s.jwt(f"{origin}/oauth/token", draw(shapes.claim_types), time.time())
        if kind == "malformed-jwt":
            token = shapes.malformed(token, draw(shapes.malformations), s.planted).strip()
        headers["Authorization"] = f"Bearer {token}"
        sent.append(token)
    elif kind == "misspelled":
        value = s.token("alnum", 32)
        headers[draw(st.sampled_from(["Authorisation", "X-Authorization"]))] = f"Bearer {value}"
        sent.append(value)
    elif kind == "basic":
        value = base64.b64encode(f"{s.token('alnum', 20)}:{s.token('alnum', 24)}".encode()).decode()
        s.planted.add(value)
        headers["Authorization"] = f"Basic {value}"
    path = draw(st.sampled_from(["/fhir/R4/Patient/{id}", "/fhir/R4/Patient/{id}/_history/{id2}",
                                 "/fhir/R4/Patient/{id}/$everything", "/fhir/R4/Observation"]))
    path = path.format(id=quote(s.of(draw(shapes.shapes)), safe=""),
                       id2=s.token("alnum", 20))
    params: dict[str, str] = {}
    if draw(st.booleans()):
        params = {"name": s.word(), "identifier": s.token("alnum", 20), "email": s.email()}
    if kind == "query-token":
        params["access_token"] = s.token("alnum", 32)
        sent.append(params["access_token"])
    status = draw(st.sampled_from([401, 403, 429]))
    reply_headers = [("www-authenticate", challenge(draw, s, sent)), JSON]
    if status == 429:
        reply_headers.append(("retry-after", draw(st.sampled_from(["30", s.token("alnum", 20)]))))
    body = json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"diagnostics": echo_text(draw, sent, s)}]}).encode()
    replies = [Reply(status, reply_headers, body)]
    if draw(st.booleans()):
        location = f"/fhir/R4/Patient/{s.token('alnum', 20)}?name={s.word()}"
        replies.insert(0, Reply(draw(st.sampled_from([301, 302, 307])), [("location", location)]))
    return Step("GET", path, {"headers": headers, "params": params}, replies)


@dataclass
class Harness:
    """The loopback server and two clients recorded by hgobs: alone, and under OTel's httpx."""

    server: LoopServer
    telemetry: Any
    clients: dict[str, httpx.Client]
    jsonl: Any
    logs: Any


@contextmanager
def make_harness(folder: Path) -> Iterator[Harness]:
    """Start the server and instrument the clients; undo it all at the end of the block."""
    from tests.conftest import Telemetry

    server = LoopServer()
    telemetry = Telemetry()
    jsonl = folder / "attempts.jsonl"
    alone = httpx.Client(timeout=5)
    with_otel = httpx.Client(timeout=5)
    HTTPXClientInstrumentor().instrument_client(with_otel, tracer_provider=telemetry.tracer_provider)
    options = {"profile": loop_profile(server.origin), "jsonl_path": jsonl,
               "tracer_provider": telemetry.tracer_provider,
               "meter_provider": telemetry.meter_provider}
    for client in (alone, with_otel):
        hgobs.instrument_client(client, **options)
    with collect_logs() as logs:
        yield Harness(server, telemetry, {"hgobs": alone, "hgobs+otel-httpx": with_otel},
                      jsonl, logs)
    for client in (alone, with_otel):
        hgobs.uninstrument_client(client)
        client.close()
    server.stop()
    telemetry.tracer_provider.shutdown()


def run(h: Harness, client_name: str, case: Case) -> Emitted:
    """Send every step, then gather what hgobs emitted for this case only."""
    h.telemetry.exporter.clear()
    h.logs.records.clear()
    if h.jsonl.exists():
        os.truncate(h.jsonl, 0)
    with guard._seen_lock:
        guard._seen.clear()
    client = h.clients[client_name]
    with ExitStack() as stack:
        if case.fault is not None:
            target, message = case.fault.split("|", 1)
            stack.enter_context(mock.patch(target, side_effect=RuntimeError(message)))
        for step in case.steps:
            h.server.script.load(step.replies)
            origin = h.server.origin.replace("://", f"://{step.userinfo}", 1)
            follow = any(300 <= r.status < 400 for r in step.replies[:-1])
            try:
                client.request(step.method, origin + step.path, follow_redirects=follow,
                               **step.kwargs)
            except httpx.HTTPError:
                pass
    return Emitted(h.telemetry, h.logs, h.jsonl)


def check(emitted: Emitted, planted: shapes.Planted, expect_records: bool) -> None:
    strings = list(emitted.strings())
    found = leaks.find(strings, planted)
    assert found == [], leaks.report(found)
    emails = [(where, m.group(0)) for where, text in strings for m in EMAIL_RE.finditer(text)]
    assert emails == []
    if expect_records:
        assert emitted.spans, "nothing was recorded: the case did not exercise hgobs"
        assert emitted.jsonl_text, "no JSON Lines record was written"


@st.composite
def cases(draw: Any, origin: str, faults: bool = True, requests_unseen: bool = False
          ) -> tuple[Case, shapes.Planted]:
    """A ``Case`` for a server at ``origin`` and every secret it planted (see module doc)."""
    s = shapes.Secrets(draw(shapes.seeds), requests_unseen)
    case = Case()
    for _ in range(draw(st.integers(1, 3))):
        maker = exchange_step if draw(st.booleans()) else api_step
        case.steps.append(maker(draw, s, origin))
    if faults and draw(st.integers(0, 4)) == 0:
        case.fault = f"{draw(st.sampled_from(FAULT_TARGETS))}|failed on {s.of('alnum')} {s.word()}"
    return case, s.planted


