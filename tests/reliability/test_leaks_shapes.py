"""Property: secrets of more shapes reach nothing capture or the reports emit, wherever planted.

One property per class (issue 12, item 5): internationalised e-mail addresses; a client secret
sent by HTTP Basic or in a ``multipart/form-data`` body; a 6- or 7-character secret of the
request echoed by the server; a secret in a recorded header value (``Content-Type``
parameters); a secret in a parameter-name position; a token after ``://`` in server text. Each
draws the secret, plants it (or its echo) in every position the class allows - request form,
headers, URL, and the reply's JSON, HTML, ``WWW-Authenticate`` and header values - sends the
exchange to a loopback server, and searches every span attribute, metric, log record, JSON
Lines line and every report format made from that JSON Lines file for any 8-character piece
(6 for the short-secret class).
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reliability import leaks, shapes, tally
from tests.reliability.capture_cases import JSON, JWT_BEARER, Case, Harness, Step, make_harness, run
from tests.reliability.test_leaks_readers import report_strings
from tests.support.loopback import Reply

PROMISE = tally.SECRETS
CJK = "用户例子广告测试数据医院病人"
LATIN = "äöüßéèñçøåœłžšđ"
PLACES = ("error_description", "message", "html", "challenge", "challenge_realm",
          "content_type", "location")


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    with make_harness(tmp_path_factory.mktemp("shapes")) as h:
        yield h


def idn_email(rnd: random.Random) -> tuple[str, list[str]]:
    """An internationalised address (RFC 6531) and the pieces that must not leak."""
    def label(alphabet: str, n: int) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(n))
    if rnd.random() < 0.5:
        local = f"{label('bdfgkmnprstvz' + LATIN, 6)}.{label('aeiou' + LATIN, 5)}"
        domain = f"{label('bdfgkmnprstvz' + LATIN, 8)}.{rnd.choice(['co.jp', 'de', 'org'])}"
    else:
        local, domain = label(CJK, 8), f"{label(CJK, 8)}.{label(CJK, 2)}"
    return f"{local}@{domain}", [local, domain.rsplit(".", 1)[0]]


def reply(draw: Any, text: str, place: str | None = None) -> Reply:
    """A refusal carrying ``text`` in ``place`` (drawn from ``PLACES`` when None)."""
    place = place or draw(st.sampled_from(PLACES))
    said = f"request rejected: value {text} is not valid"
    if place == "html":
        return Reply(502, [("content-type", "text/html")],
                     f"<html><body><h1>Error</h1><p>{said}</p></body></html>".encode())
    headers = [JSON]
    body = {"error": "invalid_client"}
    if place in ("error_description", "message"):
        body[place] = said
    elif place == "challenge":
        headers.append(("www-authenticate", f'Basic realm="x", Bearer error_description="{said}"'))
    elif place == "challenge_realm":
        headers += [("www-authenticate", 'Basic realm="token"'),
                    ("www-authenticate", f'Bearer realm="{text}", error="invalid_token"')]
    elif place == "content_type":
        headers = [("content-type", f"application/json; charset=utf-8; note={text}")]
    else:
        return Reply(302, [("location", f"{text}://idp.example.org/x")])
    return Reply(401, headers, json.dumps(body).encode())


SEEN: list[tuple[str, list[str], int]] = []
"""Every case's JSON Lines text and secrets: the reports are made once, from all of them."""


def check_all(harness: Harness, case: Case, secrets: list[str], size: int = 8) -> None:
    """Run ``case``; no ``size``-character piece of ``secrets`` in anything it emitted (the
    JSON Lines text is kept for ``test_reports_of_every_case_hold_no_secret``)."""
    emitted = run(harness, "hgobs" if random.random() < 0.5 else "hgobs+otel-httpx", case)
    assert emitted.jsonl_text, "no record: the case did not exercise hgobs"
    found = leaks.find(emitted.strings(), secrets, size)
    assert found == [], leaks.report(found)
    SEEN.append((emitted.jsonl_text, secrets, size))


def exchange(form: dict[str, str] | None = None, replies: list[Reply] | None = None,
             **kwargs: Any) -> Case:
    if form is not None:
        kwargs["data"] = form
    return Case([Step("POST", "/oauth/token", kwargs, replies or [])])


@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(seed=shapes.seeds, data=st.data())
def test_internationalised_emails_never_leave(harness, seed, data):
    """An internationalised e-mail address (non-ASCII local part and domain), said by the
    server anywhere in its reply (and sent as the username, or not), reaches no output."""
    rnd = random.Random(seed)
    address, pieces = idn_email(rnd)
    tally.tried(PROMISE, "internationalised e-mail cases")
    sent = data.draw(st.booleans())  # sent, it is a known value; else only shape finds it
    form = {"grant_type": "password", "username": address if sent else "app-user",
            "password": "Zq8vN3kR7wT1yP5s"}
    case = exchange(form, [reply(data.draw, address)])
    check_all(harness, case, pieces, size=6)


@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(seed=shapes.seeds, shape=shapes.shapes, data=st.data())
def test_basic_client_secret_never_leaves(harness, seed, shape, data):
    """The client secret of ``Authorization: Basic`` (client_secret_basic, RFC 6749 section
    2.3.1), of any shape, echoed anywhere in the reply, reaches no output."""
    s = shapes.Secrets(seed)
    client_id, secret = s.token("alnum", 20), s.of(shape)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    tally.tried(PROMISE, "HTTP Basic client secret cases")
    case = exchange({"grant_type": "client_credentials"}, [reply(data.draw, secret)],
                    headers={"Authorization": f"Basic {basic}"})
    check_all(harness, case, [secret, basic])


def multipart(fields: dict[str, str], boundary: str) -> bytes:
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    return out + f"--{boundary}--\r\n".encode()


@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(seed=shapes.seeds, shape=shapes.shapes, data=st.data())
def test_multipart_secrets_never_leave(harness, seed, shape, data):
    """A ``multipart/form-data`` token request's ``client_secret`` or ``client_assertion``
    part, echoed anywhere in the reply, reaches no output."""
    s = shapes.Secrets(seed)
    part = data.draw(st.sampled_from(["client_secret", "client_assertion"]))
    secret = s.of(shape) if part == "client_secret" else \
        s.jwt("https://idp.example.org/oauth/token", ("string",), 1.7e9)
    fields = {"grant_type": "client_credentials", "client_id": s.token("alnum", 20), part: secret}
    boundary = s.token("alnum", 24)
    tally.tried(PROMISE, "multipart token request cases")
    case = exchange(None, [reply(data.draw, secret)], content=multipart(fields, boundary),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    check_all(harness, case, list(s.planted))


@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(seed=shapes.seeds, length=st.integers(6, 7), data=st.data())
def test_short_request_secrets_echoed_never_leave(harness, seed, length, data):
    """A 6- or 7-character client secret, password or refresh token of the request, echoed by
    the server, reaches no output (no 6-character piece of it)."""
    rnd = random.Random(seed)
    secret = "".join(rnd.choice(shapes.ALNUM) for _ in range(length - 1)) + rnd.choice("xyz")
    param = data.draw(st.sampled_from(["client_secret", "password", "refresh_token"]))
    grant = {"client_secret": "client_credentials", "password": "password",
             "refresh_token": "refresh_token"}[param]
    tally.tried(PROMISE, "short request secret cases")
    case = exchange({"grant_type": grant, "client_id": "app-1", param: secret},
                    [reply(data.draw, secret)])
    check_all(harness, case, [secret], size=6)


@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(seed=shapes.seeds, shape=shapes.shapes, data=st.data())
def test_secrets_in_header_values_never_leave(harness, seed, shape, data):
    """A secret in a ``Content-Type`` parameter of the request or the reply (a recorded header
    value), also echoed in the reply, reaches no output."""
    s = shapes.Secrets(seed)
    secret = s.of(shape)
    tally.tried(PROMISE, "header value cases")
    form = {"grant_type": "client_credentials", "client_id": "app-1"}
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
    case = exchange(None, [reply(data.draw, secret, data.draw(st.sampled_from(
        ["content_type", "error_description", "challenge"])))], content=body,
        headers={"Content-Type": f"application/x-www-form-urlencoded; secret={secret}"})
    check_all(harness, case, list(s.planted))


@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(seed=shapes.seeds, shape=shapes.ascii_shapes, data=st.data())
def test_secrets_in_parameter_names_never_leave(harness, seed, shape, data):
    """A secret sent as a form or query parameter *name* (a form built from a secret), echoed
    by the server, reaches no output."""
    s = shapes.Secrets(seed)
    secret = s.of(shape)
    where = data.draw(st.sampled_from(["form", "query"]))
    tally.tried(PROMISE, "secret as a parameter name cases")
    form = {"grant_type": "client_credentials", "client_id": "app-1"}
    kwargs: dict[str, Any] = {}
    if where == "form":
        form[secret] = ""
    else:
        kwargs["params"] = {secret: ""}
    case = exchange(form, [reply(data.draw, secret)], **kwargs)
    check_all(harness, case, list(s.planted))


@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(seed=shapes.seeds, kind=st.sampled_from(shapes.TOKEN_KINDS), data=st.data())
def test_tokens_after_scheme_separator_never_leave(harness, seed, kind, data):
    """A token the server says after ``://`` (``scheme://TOKEN``), in its body, challenge or
    ``Location``, reaches no output."""
    s = shapes.Secrets(seed)
    token = s.token(kind, 32) if kind != "uuid" else s.token("alnum", 32)
    scheme = data.draw(st.sampled_from(["https", "app", "x-callback"]))
    tally.tried(PROMISE, "token after :// cases")
    place = data.draw(st.sampled_from(["error_description", "message", "html", "challenge"]))
    replies = [reply(data.draw, f"{scheme}://{token}", place)]
    case = exchange({"grant_type": JWT_BEARER, "assertion": "not-a-jwt"}, replies)
    check_all(harness, case, [token, token.lower()])  # a URL's host is read lower-cased


def test_reports_of_every_case_hold_no_secret(tmp_path):
    """Every report format made from the JSON Lines of all the cases above holds no piece of
    any of their secrets (runs after them: pytest keeps the file's order)."""
    assert len(SEEN) >= 7 * 5, "the cases above did not run"
    jsonl = tmp_path / "all.jsonl"
    jsonl.write_text("".join(text for text, _, _ in SEEN), encoding="utf-8")
    outputs = report_strings([str(jsonl)])  # every format, and the CLI's output
    for size in (6, 8):
        secrets = [x for _, group, n in SEEN if n == size for x in group]
        found = leaks.find(outputs, secrets, size)
        assert found == [], leaks.report(found)
