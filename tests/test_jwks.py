"""hgobs.jwks: loading key sets and checking RS/PS/ES/EdDSA signatures against them."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from hgobs import jwks as jwkslib
from hgobs.errors import ConfigError
from hgobs.jwks import Jwks, check_compact, load_jwks, parse_jwks

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
P256 = ec.generate_private_key(ec.SECP256R1())
P384 = ec.generate_private_key(ec.SECP384R1())
P521 = ec.generate_private_key(ec.SECP521R1())
ED = ed25519.Ed25519PrivateKey.generate()


def public_jwk(key, kid: str | None, **extra) -> dict:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    if kid is not None:
        jwk["kid"] = kid
    jwk.update(extra)
    return jwk


SET = {"keys": [public_jwk(RSA_KEY, "rsa-1"), public_jwk(P256, "p256"), public_jwk(P384, "p384"),
                public_jwk(P521, "p521"), public_jwk(ED, "ed")]}


def sign(key, alg: str, **headers) -> str:
    return jwt.encode({"iss": "client-1", "sub": "client-1"}, key, algorithm=alg,
                      headers=headers or None)


def test_load_from_mapping_file_and_text_keeps_kids_in_order(tmp_path):
    """A JWKS loads from a mapping, a file and JSON text alike; kids in file order, key types
    and curves named."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(SET))
    for source in (SET, path, str(path), json.dumps(SET), json.dumps(SET).encode()):
        loaded = load_jwks(source)
        assert loaded.kids == ("rsa-1", "p256", "p384", "p521", "ed")
        assert [k.describe() for k in loaded.keys] == ["RSA", "EC P-256", "EC P-384", "EC P-521",
                                                       "OKP Ed25519"]
        assert loaded.private_keys == 0
    assert load_jwks(loaded) is loaded


def test_a_single_jwk_is_a_set_of_one_and_private_parts_are_dropped():
    """A lone JWK loads as a set of one; a private JWK is counted and kept as its public key."""
    private = RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)
    loaded = parse_jwks(private)
    assert loaded.private_keys == 1 and len(loaded.keys) == 1
    assert isinstance(loaded.keys[0].public_key, rsa.RSAPublicKey)
    assert set(loaded.as_dict()["keys"][0]) == {"kty", "key_ops", "n", "e"}
    check = check_compact(sign(RSA_KEY, "RS256"), loaded)
    assert (check.outcome, check.verified) == (jwkslib.VERIFIED, True)


@pytest.mark.parametrize(("data", "says"), [
    ({"keys": []}, 'needs a non-empty "keys" array'),
    ([1, 2], 'needs a non-empty "keys" array'),
    ({"keys": ["x"]}, "key 0 is not a JSON object"),
    ({"keys": [{"kty": "oct", "k": "AAAA"}]}, "key 0 has a kty other than RSA, EC and OKP"),
    ({"keys": [{"kty": "s3cr3t-pasted"}]}, "key 0 has a kty other than RSA, EC and OKP"),
    ({"keys": [{"kty": "RSA", "n": "AQAB"}]}, "key 0 (RSA) cannot be read"),
    ({"keys": [{**public_jwk(P384, None), "kid": 7}]}, "key 0: kid is not a string"),
    ({"keys": [public_jwk(P384, str(i)) for i in range(101)]}, "holds 101 keys; at most 100"),
], ids=["empty", "not-object", "key-not-object", "oct", "kty-text", "rsa-no-e", "kid-int",
        "too-many"])
def test_unusable_sets_are_refused_with_a_reason(data, says):
    """Shapes that are no JWKS raise ConfigError saying what is wrong (never the key text)."""
    with pytest.raises(ConfigError) as caught:
        parse_jwks(data, "keys.json")
    assert says in str(caught.value) and "s3cr3t" not in str(caught.value)
    assert str(caught.value).startswith("keys.json")


def test_a_set_nested_too_deep_is_refused_not_a_crash(tmp_path):
    """JSON nested deeper than the decoder's stack raises RecursionError in json.loads: it is
    a ConfigError naming the file like any other text that is no JWKS."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"keys":' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(ConfigError, match="nested too deep"):
        load_jwks(deep)


def test_unreadable_or_non_json_files_are_refused(tmp_path):
    """A missing file, a file that is not JSON and one over the size cap raise ConfigError."""
    with pytest.raises(ConfigError, match="cannot be read"):
        load_jwks(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("keys: [not json")
    with pytest.raises(ConfigError, match="is not JSON"):
        load_jwks(bad)
    big = tmp_path / "big.json"
    big.write_text(" " * (jwkslib.MAX_JWKS_BYTES + 1))
    with pytest.raises(ConfigError, match="larger than"):
        load_jwks(big)


@pytest.mark.parametrize(("key", "alg", "kid"), [
    (RSA_KEY, "RS256", "rsa-1"), (RSA_KEY, "RS384", "rsa-1"), (RSA_KEY, "RS512", "rsa-1"),
    (RSA_KEY, "PS256", "rsa-1"), (RSA_KEY, "PS384", "rsa-1"), (RSA_KEY, "PS512", "rsa-1"),
    (P256, "ES256", "p256"), (P384, "ES384", "p384"), (P521, "ES512", "p521"), (ED, "EdDSA", "ed"),
])
def test_each_public_key_algorithm_verifies_with_its_key(key, alg, kid):
    """Every RS/PS/ES/EdDSA algorithm verifies with the key its kid names, and a one-byte change
    of the signature does not."""
    token = sign(key, alg, kid=kid)
    check = check_compact(token, load_jwks(SET))
    assert (check.outcome, check.verified, check.kid, check.alg) == (jwkslib.VERIFIED, True, kid, alg)
    assert check.detail == f"the {alg} signature verifies with the key {kid!r}"
    head, payload, sig = token.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    bad = check_compact(f"{head}.{payload}.{flipped}", load_jwks(SET))
    assert (bad.outcome, bad.verified) == (jwkslib.BAD_SIGNATURE, False)


def test_unknown_kid_lists_the_kids_of_the_set():
    """A kid the set lacks is named, with the kids it has; the key is not tried."""
    check = check_compact(sign(P384, "ES384", kid="p384-rotated"), load_jwks(SET))
    assert check.outcome == jwkslib.UNKNOWN_KID and check.key is None
    assert check.detail == ("the header's kid 'p384-rotated' is not in the JWKS (its kids: "
                            "'rsa-1', 'p256', 'p384', 'p521', 'ed')")


def test_no_kid_with_several_keys_is_named_and_says_which_key_verifies():
    """Without a kid and several keys: NO_KID; each fitting key is tried, so a good signature
    still shows (verified True, the key named) and a bad one does not."""
    good = check_compact(sign(P384, "ES384"), load_jwks(SET))
    assert (good.outcome, good.verified, good.key.kid) == (jwkslib.NO_KID, True, "p384")
    assert good.detail == ("the header has no kid and the JWKS holds 5 keys; it verifies "
                           "with the key 'p384'")
    bad = check_compact(sign(OTHER_RSA, "RS384"), load_jwks(SET))
    assert (bad.outcome, bad.verified) == (jwkslib.NO_KID, False)
    assert bad.detail.endswith("it verifies with none of them")


def test_no_kid_with_one_key_just_verifies():
    """A set of one key needs no kid: the signature is checked with that key."""
    one = load_jwks({"keys": [public_jwk(RSA_KEY, None)]})
    assert check_compact(sign(RSA_KEY, "RS384"), one).outcome == jwkslib.VERIFIED
    bad = check_compact(sign(OTHER_RSA, "RS384"), one)
    assert bad.outcome == jwkslib.BAD_SIGNATURE
    assert bad.detail.startswith("the RS384 signature does not verify with the key (RSA)")


@pytest.mark.parametrize(("key", "alg", "kid", "detail"), [
    (P384, "ES384", "rsa-1", "alg is ES384 but the key with kid 'rsa-1' is RSA: no key for ES384"),
    (P256, "ES256", "p384", "alg is ES256 but the key with kid 'p384' is EC P-384: no key for ES256"),
    (RSA_KEY, "RS384", "p384", "alg is RS384 but the key with kid 'p384' is EC P-384: no key for RS384"),
], ids=["ec-alg-rsa-key", "wrong-curve", "rsa-alg-ec-key"])
def test_an_algorithm_the_named_key_cannot_verify_is_named(key, alg, kid, detail):
    """An alg whose key type or curve differs from the named key's: ALG_KEY_MISMATCH."""
    check = check_compact(sign(key, alg, kid=kid), load_jwks(SET))
    assert (check.outcome, check.detail) == (jwkslib.ALG_KEY_MISMATCH, detail)


def test_the_keys_own_alg_must_match():
    """A JWK stating alg RS256 does not verify an RS384 signature (RFC 7517 section 4.4)."""
    pinned = load_jwks({"keys": [public_jwk(RSA_KEY, "k", alg="RS256")]})
    assert check_compact(sign(RSA_KEY, "RS256", kid="k"), pinned).outcome == jwkslib.VERIFIED
    check = check_compact(sign(RSA_KEY, "RS384", kid="k"), pinned)
    assert check.outcome == jwkslib.ALG_KEY_MISMATCH and "RSA for RS256" in check.detail


def test_hmac_none_and_unlisted_algorithms():
    """HS256 and 'none' cannot be checked against a JWKS; an alg outside the accepted list is
    ALG_NOT_ACCEPTED before any key is looked up."""
    hs = check_compact(jwt.encode({"a": 1}, "s" * 32, algorithm="HS256"), load_jwks(SET))
    assert hs.outcome == jwkslib.ALG_NOT_ASYMMETRIC and hs.alg == "HS256"
    none = check_compact(jwt.encode({"a": 1}, None, algorithm="none"), load_jwks(SET))
    assert none.outcome == jwkslib.ALG_NOT_ASYMMETRIC
    ps = check_compact(sign(RSA_KEY, "PS256", kid="unknown"), load_jwks(SET), ("RS384", "ES384"))
    assert (ps.outcome, ps.detail) == (jwkslib.ALG_NOT_ACCEPTED, "alg is PS256; accepted: RS384, ES384")


@pytest.mark.parametrize("text", ["", "a.b", "!!!.e30.", "e30.e30.@@", "WzFd.e30.", "bm90anNvbg.e30."])
def test_malformed_input_gives_none(text):
    """Text that is not a compact JWS with a JSON-object header gives None (no exception)."""
    assert check_compact(text, load_jwks(SET)) is None


def test_as_dict_round_trips_the_public_keys():
    """as_dict gives a public JWKS that loads back to the same kids and verifies alike."""
    loaded = load_jwks(SET)
    again = load_jwks(loaded.as_dict())
    assert isinstance(again, Jwks) and again.kids == loaded.kids
    assert check_compact(sign(P521, "ES512", kid="p521"), again).verified
