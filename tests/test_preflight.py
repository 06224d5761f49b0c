"""Pre-flight checks: each rule fires on a token that breaks it and stays quiet on a good one."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from click.testing import CliRunner

from hgobs.cli import cli
from hgobs.preflight import check_assertion

CID = "3f9c2a7e1b5d4c08a6e2"
SECRET = "preflight-secret-0123456789abcdef-XYZ"
SANDBOX = "https://sandbox.healthgorilla.com/oauth/token"
PROD = "https://api.healthgorilla.com/oauth/token"
NOW = 1_700_000_000


def claims(**over):
    base = {"iss": CID, "sub": CID, "aud": SANDBOX, "iat": NOW - 5, "exp": NOW + 295}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def token(secret: str | bytes = SECRET, headers=None, **over) -> str:
    return jwt.encode(claims(**over), secret, algorithm="HS256", headers=headers)


def ids(findings):
    return [f.category for f in findings]


def check(tok: str, **kw):
    kw.setdefault("token_url", SANDBOX)
    kw.setdefault("client_id", CID)
    return check_assertion(tok, now=NOW, **kw)


def test_good_assertion_has_no_findings():
    """A fresh, exact, HS256 assertion for the client has no finding, signature included."""
    assert check(token(), client_secret=SECRET) == []


BAD = [
    ("malformed_assertion", lambda: token()[:-20].rsplit(".", 1)[0]),
    ("malformed_assertion", lambda: token() + "\n"),
    ("timestamp_in_milliseconds", lambda: token(iat=(NOW - 5) * 1000, exp=(NOW + 295) * 1000)),
    ("missing_claim", lambda: token(exp=None)),
    ("missing_claim", lambda: token(iat=None)),
    ("environment_mismatch", lambda: token(aud=PROD)),
    ("audience_mismatch", lambda: token(aud=SANDBOX + "/")),
    ("audience_mismatch", lambda: token(aud="https://sandbox.healthgorilla.com")),
    ("audience_mismatch", lambda: token(aud=[SANDBOX])),
    ("invalid_client_id", lambda: token(sub="jordan.lee@clinic.example")),
    ("invalid_client_id", lambda: token(iss="someone-else-0001", sub="someone-else-0001")),
    ("assertion_lifetime_too_long", lambda: token(exp=NOW + 365 * 86400)),
    ("expired_assertion", lambda: token(iat=NOW - 600, exp=NOW - 300)),
    ("assertion_not_yet_valid", lambda: token(iat=NOW + 600, exp=NOW + 900)),
]


@pytest.mark.parametrize("expected,make", BAD, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD)])
def test_rule_fires(expected, make):
    """A token that breaks one rule yields that rule's finding first, with its fix."""
    findings = check(make())
    assert findings, "no finding"
    assert findings[0].category == expected, ids(findings)
    assert findings[0].fix


def test_wrong_environment_on_production_url():
    """A sandbox assertion checked against the production token URL is an environment mismatch."""
    assert ids(check(token(), token_url=PROD)) == ["environment_mismatch"]


def test_signature_with_trailing_newline_secret_is_named():
    """Signed with the secret plus a newline: the finding names that mistake."""
    [finding] = check(token(SECRET + "\n"), client_secret=SECRET)
    assert finding.category == "invalid_signature"
    assert "trailing newline" in finding.detail


def test_signature_with_base64_decoded_secret_is_named():
    """Signed with the base64-decoded secret: the finding names that mistake."""
    secret = base64.b64encode(b"raw-key-bytes-for-hmac-0123456789").decode()
    [finding] = check(token(base64.b64decode(secret)), client_secret=secret)
    assert "base64-decoded" in finding.detail


def test_signature_with_another_secret():
    """Signed with an unrelated secret: plain invalid_signature."""
    [finding] = check(token("another-secret-entirely-0123456789"), client_secret=SECRET)
    assert finding.detail == "the signature does not verify with this client secret"


def test_non_hs256_alg_is_reported_with_the_secret():
    """With a secret, an assertion whose alg is not HS256 is flagged."""
    tok = jwt.encode(claims(), SECRET * 2, algorithm="HS384")
    assert [f.claim for f in check(tok, client_secret=SECRET)] == ["alg"]


def run(args, stdin=None, env=None):
    return CliRunner().invoke(cli, ["check-assertion", *args], input=stdin, env=env)


def test_cli_exit_codes():
    """Exit 0 when clean, 1 when the exchange would fail, 2 on usage errors."""
    stale = jwt.encode(claims(iat=0, exp=300), SECRET, algorithm="HS256")
    now = int(time.time())
    fresh = jwt.encode(claims(iat=now, exp=now + 300), SECRET, algorithm="HS256")
    assert run(["--env", "sandbox", "--client-id", CID], stdin=fresh).exit_code == 0
    assert run(["--env", "sandbox"], stdin=stale).exit_code == 1
    assert run([], stdin=fresh).exit_code == 2
    assert run(["--env", "staging"], stdin=fresh).exit_code == 2
    assert run(["--env", "sandbox", "--client-secret-env", "HGOBS_UNSET_VAR"], stdin=fresh).exit_code == 2


def test_cli_never_repeats_the_token_or_secret():
    """Neither the assertion nor the secret (nor 8+ characters of them) appears in the output."""
    bad = token(SECRET + "\n", sub="jordan.lee@clinic.example", aud=PROD)
    for fmt in ("text", "json"):
        result = run(["--env", "sandbox", "--client-id", CID, "--client-secret-env", "S",
                      "--format", fmt], stdin=bad, env={"S": SECRET})
        assert result.exit_code == 1
        out = result.output
        for secret in (bad, SECRET, "jordan.lee@clinic.example"):
            for i in range(len(secret) - 8):
                assert secret[i:i + 8] not in out, (fmt, secret[i:i + 8])
    doc = json.loads(run(["--env", "sandbox", "--format", "json"], stdin=bad).output)
    assert {f["category"] for f in doc["findings"]} >= {"environment_mismatch", "invalid_client_id"}


def test_cli_says_which_checks_it_could_not_make():
    """A clean result names the checks skipped for want of --client-id or a secret."""
    now = int(time.time())
    fresh = jwt.encode(claims(iat=now, exp=now + 300), SECRET, algorithm="HS256")
    result = run(["--env", "sandbox"], stdin=fresh)
    assert result.exit_code == 0
    assert "not checked: iss/sub against the client id" in result.output
    assert "the signature" in result.output
    full = run(["--env", "sandbox", "--client-id", CID, "--client-secret-env", "S"], stdin=fresh,
               env={"S": SECRET})
    assert full.exit_code == 0 and "not checked" not in full.output


def test_cli_refuses_bearer_prefix_and_conflicting_urls():
    """'Bearer <jwt>' and a --token-url outside --env are usage errors (exit 2)."""
    now = int(time.time())
    fresh = jwt.encode(claims(iat=now, exp=now + 300), SECRET, algorithm="HS256")
    bearer = run(["--env", "sandbox"], stdin="Bearer " + fresh)
    assert bearer.exit_code == 2 and "Bearer" in bearer.output
    assert run(["--env", "production", "--token-url", SANDBOX], stdin=fresh).exit_code == 2


def test_a_pipe_closed_early_ends_check_assertion_quietly():
    """``hgobs check-assertion ... | head -1`` where ``head`` has gone: exit 1, no traceback
    (standard output's reader closed before anything is written)."""
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from hgobs.dispatch import main; main()",
         "check-assertion", "--env", "sandbox"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader is gone before the first line
    _, err = child.communicate(token().encode() + b"\n", timeout=60)
    assert child.returncode == 1
    assert b"Traceback" not in err and b"BrokenPipeError" not in err
