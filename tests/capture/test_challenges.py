"""``WWW-Authenticate`` is read per RFC 9110 section 11.6.1: each challenge apart, Bearer first."""

from __future__ import annotations

import httpx
import pytest

from hgobs.capture.record import response_headers
from hgobs.facts.challenges import MAX_CHALLENGE_CHARS, challenge_facts, challenges


@pytest.mark.parametrize("value, expected", [
    ('Bearer realm="fhir", error="invalid_token"',
     [("Bearer", {"realm": "fhir", "error": "invalid_token"})]),
    ('Basic realm="a, b", charset="UTF-8", Bearer error=insufficient_scope, scope="p q"',
     [("Basic", {"realm": "a, b", "charset": "UTF-8"}),
      ("Bearer", {"error": "insufficient_scope", "scope": "p q"})]),
    ("Negotiate YII+/a==, Bearer", [("Negotiate", "YII+/a=="), ("Bearer", {})]),
    ('Bearer error = "a\\"b\\\\c", ERROR="second"', [("Bearer", {"error": 'a"b\\c'})]),
    ("Basic, Bearer realm=x", [("Basic", {}), ("Bearer", {"realm": "x"})]),
    ('error="invalid_token"', [("", {"error": "invalid_token"})]),
    ('Bearer realm="cut', [("Bearer", {"realm": "cut"})]),
], ids=["bearer", "basic-then-bearer", "token68", "quoted-pair-and-repeat", "bare-scheme",
        "no-scheme", "unterminated"])
def test_challenges_are_split_per_rfc_9110(value, expected):
    """Schemes, token68 and auth-params (quoted-string aware, names case-insensitive) per
    challenge, in order."""
    assert challenges(value) == expected


def test_bearer_challenge_is_reported_first_whatever_its_place():
    """With Basic before Bearer (one header or two that httpx joins), the fields are Bearer's."""
    joined = response_headers(httpx.Headers([
        ("www-authenticate", 'Basic realm="api", error="basic_error"'),
        ("www-authenticate", 'Bearer realm="fhir", error="invalid_token", '
                             'error_description="The access token expired"')]))["www-authenticate"]
    assert challenge_facts(joined) == {
        "challenge.scheme": "Bearer", "challenge.realm": "fhir", "challenge.error": "invalid_token",
        "challenge.error_description": "The access token expired"}
    assert challenge_facts('Basic realm="api"') == {"challenge.scheme": "Basic",
                                                    "challenge.realm": "api"}


def test_a_challenge_past_the_cut_is_not_read():
    """Only the first ``MAX_CHALLENGE_CHARS`` characters are parsed."""
    value = "Basic realm=" + "x" * MAX_CHALLENGE_CHARS + ", Bearer error=invalid_token"
    assert challenge_facts(value)["challenge.scheme"] == "Basic"
