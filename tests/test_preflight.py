"""Pre-flight checks: each rule fires on a token that breaks it and stays quiet on a good one."""

from __future__ import annotations

import base64
import json
import time
from types import SimpleNamespace

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from hgobs.cli import cli
from hgobs.jwks import load_jwks
from hgobs.preflight import check_assertion, key_findings
from hgobs.profiles import load_profile

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


# --- signatures against a JWKS (hgobs check-assertion --jwks) --------------------------------

SMART_URL = "https://auth.example-ehr.test/oauth2/token"
PROFILE = {"name": "jwks-test", "limits": {"max_assertion_lifetime_s": 300},
           "environments": {"production": {"token_urls": [SMART_URL]}}}
PROFILE_TOML = (f'name = "jwks-test"\n[limits]\nmax_assertion_lifetime_s = 300\n'
                f'[environments.production]\ntoken_urls = ["{SMART_URL}"]\n')
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
STRANGER = ec.generate_private_key(ec.SECP384R1())
JWKS = {"keys": [{**RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "rs-2025"},
                 {**ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": "es-2025"}]}


def signed(key=EC_KEY, alg="ES384", now=NOW, **headers) -> str:
    body = {"iss": CID, "sub": CID, "aud": SMART_URL, "iat": now, "exp": now + 240,
            "jti": "3c1b7d0e-preflight"}
    return jwt.encode(body, key, algorithm=alg, headers=headers or None)


def jwks_check(tok: str):
    return check_assertion(tok, token_url=SMART_URL, client_id=CID, profile=PROFILE, now=NOW,
                           jwks=load_jwks(JWKS))


@pytest.mark.parametrize(("key", "alg", "kid"), [(EC_KEY, "ES384", "es-2025"),
                                                 (RSA_KEY, "RS384", "rs-2025")])
def test_jwks_good_signature_has_no_findings(key, alg, kid):
    """RS384 and ES384 assertions whose kid names their key in the JWKS: no finding."""
    assert jwks_check(signed(key, alg, kid=kid)) == []


def test_jwks_unknown_kid_names_the_kids_the_set_has():
    """A kid the JWKS lacks: signing_key_not_found (error) on the kid, listing the set's kids."""
    [finding] = jwks_check(signed(kid="es-2024"))
    assert (finding.category, finding.severity, finding.claim) == (
        "signing_key_not_found", "error", "kid")
    assert finding.detail == ("the header's kid 'es-2024' is not in the JWKS (its kids: "
                              "'rs-2025', 'es-2025')")
    assert finding.fix


def test_jwks_no_kid_is_a_warning_unless_the_profile_requires_one():
    """No kid and two keys: a warning when a key verifies (a server picking by kid cannot
    choose); an error when the profile requires kid; invalid_signature when no key verifies."""
    [warn] = jwks_check(signed())
    assert (warn.category, warn.severity) == ("signing_key_not_found", "warning")
    assert warn.detail == ("the header has no kid and the JWKS holds 2 keys; it verifies with "
                           "the key 'es-2025'; a server that picks the key by kid cannot choose one")
    strict = SimpleNamespace(algorithms=("RS384", "ES384"), header_required=("kid",), fixes={})
    [err] = key_findings(signed(), load_jwks(JWKS), strict)
    assert (err.category, err.severity) == ("signing_key_not_found", "error")
    assert err.detail.endswith("; the profile requires a kid")
    [bad] = jwks_check(signed(STRANGER))
    assert (bad.category, bad.severity) == ("invalid_signature", "error")
    assert bad.detail.endswith("it verifies with none of them")


def test_jwks_alg_that_the_key_cannot_verify_and_bad_signature():
    """An ES384 header on the RSA key's kid, and a signature by another key under a known kid,
    are both invalid_signature, said differently."""
    [mismatch] = jwks_check(signed(kid="rs-2025"))
    assert (mismatch.category, mismatch.claim) == ("invalid_signature", "alg")
    assert mismatch.detail == "alg is ES384 but the key with kid 'rs-2025' is RSA: no key for ES384"
    [forged] = jwks_check(signed(STRANGER, kid="es-2025"))
    assert forged.category == "invalid_signature" and forged.claim is None
    assert forged.detail.startswith("the ES384 signature does not verify with the key 'es-2025'")


def test_jwks_algorithm_outside_the_profile_or_not_public_key():
    """An alg the profile does not list, or HS256 checked against a JWKS:
    algorithm_not_accepted on alg; the profile's own fix is used when it has one."""
    fix = SimpleNamespace(fix="Sign with RS384 or ES384.", link="https://example.test/keys")
    strict = SimpleNamespace(algorithms=("RS384", "ES384"), header_required=(),
                             fixes={"algorithm_not_accepted": fix})
    [ps] = key_findings(signed(RSA_KEY, "PS256", kid="rs-2025"), load_jwks(JWKS), strict)
    assert (ps.category, ps.claim, ps.detail) == ("algorithm_not_accepted", "alg",
                                                  "alg is PS256; accepted: RS384, ES384")
    assert ps.fix == "Sign with RS384 or ES384. (https://example.test/keys)"
    [hs] = jwks_check(jwt.encode({"iss": CID, "sub": CID, "aud": SMART_URL, "iat": NOW,
                                  "exp": NOW + 60}, SECRET, algorithm="HS256"))
    assert (hs.category, hs.claim) == ("algorithm_not_accepted", "alg")


def test_jwks_claims_rules_still_apply():
    """With a JWKS the claim rules run as before: an expired ES384 assertion is expired."""
    stale = signed(kid="es-2025", now=NOW - 3600)
    assert ids(jwks_check(stale)) == ["expired_assertion"]


@pytest.fixture
def jwks_files(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(JWKS))
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE_TOML)
    return SimpleNamespace(jwks=str(path), profile=str(profile), dir=tmp_path)


def test_cli_jwks_exit_codes_and_output(jwks_files):
    """--jwks: exit 0 and nothing left unchecked on a good assertion; exit 1 naming the kids
    on an unknown kid; the output never holds the assertion; JSON carries the finding."""
    base = ["--token-url", SMART_URL, "--profile", jwks_files.profile, "--client-id", CID,
            "--jwks", jwks_files.jwks]
    now = int(time.time())
    good = run(base, stdin=signed(kid="es-2025", now=now))
    assert (good.exit_code, good.stdout) == (0, f"OK: no problem found for {SMART_URL} (jwks-test profile)\n")
    tok = signed(kid="es-1999", now=now)
    bad = run(base, stdin=tok)
    assert bad.exit_code == 1
    assert bad.stdout.startswith("ERROR signing_key_not_found (kid): the header's kid 'es-1999' "
                                 "is not in the JWKS (its kids: 'rs-2025', 'es-2025')\n  fix: ")
    for part in tok.split("."):
        assert part[:16] not in bad.stdout
    doc = json.loads(run([*base, "--format", "json"], stdin=tok).stdout)
    assert [(f["category"], f["claim"]) for f in doc["findings"]] == [("signing_key_not_found", "kid")]


def test_cli_jwks_usage_errors_and_private_key_warning(jwks_files):
    """A missing or non-JWKS file is a usage error (exit 2); a JWKS holding a private key still
    verifies, with a warning on stderr that names no key material."""
    base = ["--token-url", SMART_URL, "--profile", jwks_files.profile]
    tok = signed(kid="es-2025", now=int(time.time()))
    missing = run([*base, "--jwks", str(jwks_files.dir / "nope.json")], stdin=tok)
    assert missing.exit_code == 2 and "--jwks: " in missing.stderr and "cannot be read" in missing.stderr
    notjwks = jwks_files.dir / "not.json"
    notjwks.write_text('{"issuer": "x"}')
    assert "is not a JWKS" in run([*base, "--jwks", str(notjwks)], stdin=tok).stderr
    private = jwks_files.dir / "private.json"
    private_jwk = {**ECAlgorithm.to_jwk(EC_KEY, as_dict=True), "kid": "es-2025"}
    private.write_text(json.dumps({"keys": [private_jwk]}))
    warned = run([*base, "--jwks", str(private)], stdin=tok)
    assert warned.exit_code == 0, warned.output
    assert warned.stderr == (f"warning: {private} holds 1 private key(s); only their public parts "
                             "are used. Register and publish public keys only.\n")
    assert private_jwk["d"] not in warned.output


def test_cli_jwks_on_the_lean_install_names_the_crypto_extra(jwks_files):
    """Without cryptography, --jwks exits 2 naming hgobs[crypto]; with the crypto extra the
    lean install verifies the signature (no httpx, no click)."""
    from tests.test_lean_install import HGOBS, lean_run

    cmd = [str(HGOBS), "check-assertion", "--token-url", SMART_URL, "--profile",
           jwks_files.profile, "--jwks", jwks_files.jwks]
    tok = signed(kid="es-2025", now=int(time.time()))
    lean = lean_run(jwks_files.dir, cmd, stdin=tok)
    assert (lean.returncode, lean.stdout) == (2, "")
    assert lean.stderr == ("hgobs: hgobs check-assertion --jwks needs pip install "
                           "'hgobs[crypto]' (cryptography is not installed)\n")
    with_crypto = lean_run(jwks_files.dir, cmd, extras=("crypto",), stdin=tok)
    assert with_crypto.returncode == 0, with_crypto.stderr
    assert with_crypto.stdout.startswith(f"OK: no problem found for {SMART_URL}")
    forged = lean_run(jwks_files.dir, cmd, extras=("crypto",),
                      stdin=signed(STRANGER, kid="es-2025", now=int(time.time())))
    assert forged.returncode == 1 and "ERROR invalid_signature" in forged.stdout


def test_cli_picks_the_profile_by_the_token_url_when_none_is_named():
    """Without --profile (and $HGOBS_PROFILE), the built-in profile whose token URLs match
    --token-url judges, else 'generic'; an aud another provider would accept is then no
    Health Gorilla environment mismatch."""
    now = int(time.time())
    okta = "https://acme.okta.com/oauth2/v1/token"
    tok = token(aud=okta, iat=now, exp=now + 300, jti="j-1")
    picked = run(["--token-url", okta, "--format", "json"], stdin=tok, env={})
    assert json.loads(picked.stdout)["profile"] == "okta"
    unknown = run(["--token-url", "https://idp.example.test/oauth2/token", "--format", "json"],
                  stdin=tok, env={})
    body = json.loads(unknown.stdout)
    assert body["profile"] == "generic"
    assert [f["category"] for f in body["findings"]] == ["audience_mismatch"]
    assert body["findings"][0]["severity"] == "warning"  # under generic, a guess at most


def test_provider_rules_apply_before_sending():
    """Under a provider's profile the header, algorithm and tenant rules run before the
    exchange: Entra wants RS256/PS256, an x5t thumbprint, and aud on the tenant called;
    the fix is Entra's own."""
    entra = "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    other = "https://login.microsoftonline.com/fabrikam.example/oauth2/v2.0/token"
    findings = check(token(aud=other, jti="j-1"), token_url=entra, profile="entra")
    assert ids(findings) == ["algorithm_not_accepted", "assertion_header_rejected", "wrong_tenant"]
    assert [f.claim for f in findings] == ["alg", "header", "aud"]
    assert "fabrikam" not in " ".join(f.detail for f in findings)  # names, never the tenant
    assert findings[0].fix == load_profile("entra").fixes["algorithm_not_accepted"].fix + \
        f" ({load_profile('entra').fixes['algorithm_not_accepted'].link})"
    same = check(token(aud=entra, jti="j-1"), token_url=entra, profile="entra")
    assert "wrong_tenant" not in ids(same)


def test_a_short_client_id_that_iss_and_sub_equal_is_no_finding():
    """A client id of three characters is unusual in shape but, when iss and sub equal the
    configured one, nothing is wrong with them."""
    assert "invalid_client_id" not in ids(check(token(iss="c1", sub="c1"), client_id="c1"))
    assert "invalid_client_id" in ids(check(token(iss="c1", sub="c1"), client_id="c2"))


def test_the_jwks_check_does_not_repeat_a_rule_finding(jwks_files):
    """An HS256 assertion under Epic with --jwks: the algorithm is named once (the rule and
    the key check both see it)."""
    epic = "https://fhir.epic.com/interconnect-fhir-oauth/oauth2/token"
    findings = check_assertion(token(aud=epic, jti="j-1"), token_url=epic, client_id=CID,
                               profile="epic", now=NOW, jwks=load_jwks(jwks_files.jwks))
    assert ids(findings).count("algorithm_not_accepted") == 1
