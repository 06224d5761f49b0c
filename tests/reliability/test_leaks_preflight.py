"""Property: the pre-flight check never repeats the assertion, its claims or the client secret.

Hypothesis draws assertions whose claims and header carry secrets of every type (strings,
numbers, nested objects, arrays, claim names, emails), often malformed, signed with the client
secret as it is, with a trailing newline, base64-decoded, or with another key; then
``check_assertion`` and ``hgobs check-assertion`` (text and JSON output, the secret passed by
environment variable) must show no 8-character piece of any of them, nor any email address.
"""

from __future__ import annotations

import base64
import json
import time

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hgobs.cli import cli
from hgobs.preflight import check_assertion
from tests.reliability import leaks, shapes, tally
from tests.reliability.capture_cases import EMAIL_RE

PROMISE = tally.SECRETS
TOKEN_URL = "https://sandbox.healthgorilla.com/oauth/token"
CLIENT_ID = "3f9c2a7e1b5d4c08a6e2"


@st.composite
def assertions(draw):
    """An assertion full of secrets, the client secret, and everything planted."""
    s = shapes.Secrets(draw(shapes.seeds))
    secret = s.of(draw(shapes.ascii_shapes))
    key = draw(st.sampled_from(["secret", "secret+newline", "base64-decoded", "other"]))
    signing = {"secret": secret.encode(), "secret+newline": (secret + "\n").encode(),
               "other": s.token("b64url", 40).encode()}.get(key)
    if signing is None:
        signing = base64.b64decode(s.token("b64", 32))
        secret = base64.b64encode(signing).decode()
        s.planted.add(secret)
    aud = draw(st.sampled_from([TOKEN_URL, "https://api.healthgorilla.com/oauth/token",
                                s.token("alnum", 24)]))
    token = s.jwt(aud, draw(shapes.claim_types), time.time() + draw(st.integers(-4000, 4000)),
                  client_id=draw(st.sampled_from([CLIENT_ID, None])))
    header, payload, _ = token.split(".")
    token = shapes._sign(json.loads(base64.urlsafe_b64decode(header + "==")),
                         json.loads(base64.urlsafe_b64decode(payload + "==")), signing)
    s.planted.add(token, *token.split("."))
    token = shapes.malformed(token, draw(shapes.malformations), s.planted)
    return token, secret, s.planted


@settings(max_examples=settings.default.max_examples)
@given(case=assertions())
def test_check_assertion_never_repeats_a_secret(case):
    """Findings of check_assertion and the check-assertion command's output and errors (text
    and JSON) hold no 8-character piece of the assertion, its claims or the client secret."""
    token, secret, planted = case
    findings = check_assertion(token, token_url=TOKEN_URL, client_id=CLIENT_ID,
                               client_secret=secret)
    strings = [("finding", json.dumps(f.as_dict(), ensure_ascii=False)) for f in findings]
    runner = CliRunner()
    for fmt in ("text", "json"):
        done = runner.invoke(cli, ["check-assertion", "--env", "sandbox", "--client-id", CLIENT_ID,
                                   "--client-secret-env", "HG_SECRET", "--format", fmt],
                             input=token, env={"HG_SECRET": secret})
        assert done.exit_code in (0, 1, 2), done.exception
        strings += [(f"check-assertion --format {fmt}: stdout", done.stdout),
                    (f"check-assertion --format {fmt}: stderr", done.stderr)]
    tally.tried(PROMISE, "pre-flight assertions")
    found = leaks.find(strings, planted)
    assert found == [], leaks.report(found)
    assert [m.group(0) for _, text in strings for m in EMAIL_RE.finditer(text)] == []
