"""JSON Web Key Sets: load one, pick the key an assertion names, verify its RS/PS/ES signature.

A JWKS (RFC 7517 section 5) is the public half of a client's signing keys: what a client
registers with a provider (Epic, Oracle Health, SMART Backend Services servers, Okta ...) so the
provider can verify its assertions. ``load_jwks`` reads one from a file, JSON text or a parsed
mapping; ``check_signature`` decides, for one compact JWS, which key its header names and
whether the signature verifies with it. Verification is PyJWT's algorithms on ``cryptography``
keys, so this module needs the ``crypto`` extra (``pip install 'hgobs[crypto]'``); importing it
without ``cryptography`` raises ``MissingExtraError``.

Only public key material is kept: a private key found in the set is reduced to its public key
(``Jwks.private_keys`` counts them, since a published set must never hold one). Work is bounded:
at most ``MAX_JWKS_BYTES`` of text and ``MAX_KEYS`` keys are read.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hgobs.errors import ConfigError
from hgobs.extras import require

require(("crypto",), "hgobs.jwks")  # MissingExtraError (an ImportError) without cryptography

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa  # noqa: E402
from jwt.algorithms import get_default_algorithms  # noqa: E402
from jwt.exceptions import PyJWTError  # noqa: E402

MAX_JWKS_BYTES = 1 << 20
"""Largest JWKS text read (1 MiB)."""
MAX_KEYS = 100
"""Most keys read from one set; a larger set is refused."""

VERIFIED = "verified"
BAD_SIGNATURE = "bad_signature"
NO_KID = "no_kid"
UNKNOWN_KID = "unknown_kid"
ALG_KEY_MISMATCH = "alg_key_mismatch"
ALG_NOT_ASYMMETRIC = "alg_not_asymmetric"
ALG_NOT_ACCEPTED = "alg_not_accepted"
OUTCOMES = (VERIFIED, BAD_SIGNATURE, NO_KID, UNKNOWN_KID, ALG_KEY_MISMATCH, ALG_NOT_ASYMMETRIC,
            ALG_NOT_ACCEPTED)
"""The outcomes ``check_signature`` reports (``KeyCheck.outcome``)."""

_ALGORITHMS = get_default_algorithms()
_CURVE_OF = {"ES256": "P-256", "ES256K": "secp256k1", "ES384": "P-384", "ES512": "P-521"}
"""RFC 7518 section 3.4: the curve each ECDSA algorithm signs with (and RFC 8812 for ES256K)."""
_CURVE_NAME = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521",
               "secp256k1": "secp256k1"}
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", *_CURVE_OF, "EdDSA")
"""The JWS ``alg`` values verified here (RFC 7518 sections 3.3-3.5, RFC 8037, RFC 8812)."""


@dataclass(frozen=True)
class JwkKey:
    """One public key of a set: ``kid`` (None when absent), ``kty`` (``RSA``, ``EC``, ``OKP``),
    ``crv`` (JOSE curve name for EC/OKP keys), the key's own ``alg`` and ``use`` when it states
    them, and ``public_key`` (a ``cryptography`` public key object)."""

    kid: str | None
    kty: str
    crv: str | None
    alg: str | None
    use: str | None
    public_key: Any

    def fits(self, alg: str) -> bool:
        """True when this key can verify a signature made with JWS algorithm ``alg``: the key
        type (and the curve, for ECDSA) the algorithm needs (RFC 7518 section 3.1), and the
        key's own ``alg`` when it names one (RFC 7517 section 4.4)."""
        if self.alg is not None and self.alg != alg:
            return False
        if alg.startswith(("RS", "PS")):
            return isinstance(self.public_key, rsa.RSAPublicKey)
        if alg in _CURVE_OF:
            return isinstance(self.public_key, ec.EllipticCurvePublicKey) \
                and self.crv == _CURVE_OF[alg]
        if alg == "EdDSA":
            return isinstance(self.public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey))
        return False

    def describe(self) -> str:
        """``RSA``, ``EC P-384``, ``OKP Ed25519``: the key type, and curve when it has one."""
        return f"{self.kty} {self.crv}" if self.crv else self.kty


@dataclass(frozen=True)
class Jwks:
    """A loaded key set: its ``keys`` in file order and how many held private key material."""

    keys: tuple[JwkKey, ...]
    private_keys: int = 0

    @property
    def kids(self) -> tuple[str, ...]:
        """The ``kid`` of every key that has one, in file order (public ids, safe to print)."""
        return tuple(k.kid for k in self.keys if k.kid is not None)

    def find(self, kid: str) -> tuple[JwkKey, ...]:
        """The keys whose ``kid`` equals ``kid`` exactly (RFC 7517 section 4.5: case-sensitive)."""
        return tuple(k for k in self.keys if k.kid == kid)

    def as_dict(self) -> dict[str, Any]:
        """The set as a public JWKS mapping ``{"keys": [...]}`` (no private parameters)."""
        out = []
        for k in self.keys:
            jwk = _ALGORITHMS["RS256" if k.kty == "RSA" else "ES256" if k.kty == "EC"
                              else "EdDSA"].to_jwk(k.public_key, as_dict=True)
            jwk.update({name: value for name, value in (("kid", k.kid), ("alg", k.alg),
                                                        ("use", k.use)) if value is not None})
            out.append(jwk)
        return {"keys": out}


@dataclass(frozen=True)
class KeyCheck:
    """What ``check_signature`` found.

    ``outcome`` is one of ``OUTCOMES``; ``verified`` says whether some key of the set verified
    the signature (with ``NO_KID`` it may be True: a key verified though the header named none);
    ``alg`` and ``kid`` are the header's (``kid`` None when absent); ``key`` is the key that
    verified or was tried (None when none was); ``kids`` lists the set's kids; ``detail`` says
    it in words holding only public facts (algorithm names, kids, key types, counts).
    """

    outcome: str
    verified: bool
    alg: str | None
    kid: str | None
    key: JwkKey | None
    kids: tuple[str, ...]
    detail: str


def _jwk(raw: Any, index: int, source: str = "jwks") -> tuple[JwkKey, bool]:
    """One JWK mapping as a public ``JwkKey`` and whether it held private material; errors
    name ``source`` and the key's index, never a value of the file."""
    if not isinstance(raw, Mapping):
        raise ConfigError(source, f"key {index} is not a JSON object")
    kty = raw.get("kty")
    family = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}.get(kty) if isinstance(kty, str) \
        else None
    if family is None:
        raise ConfigError(source, f"key {index} has a kty other than RSA, EC and OKP (the ones read)")
    for name in ("kid", "alg", "use", "crv"):
        if name in raw and not isinstance(raw[name], str):
            raise ConfigError(source, f"key {index}: {name} is not a string")
    try:
        key = _ALGORITHMS[family].from_jwk(dict(raw))
    except (PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(source, f"key {index} ({kty}) cannot be read: {exc}") from None
    private = not hasattr(key, "verify")
    public = key.public_key() if private else key
    if isinstance(public, rsa.RSAPublicKey) and not 1024 <= public.key_size <= 16384:
        raise ConfigError(source, f"key {index}: an RSA modulus of {public.key_size} bits")
    crv = None
    if isinstance(public, ec.EllipticCurvePublicKey):
        crv = _CURVE_NAME.get(public.curve.name, public.curve.name)
    elif kty == "OKP":
        crv = "Ed25519" if isinstance(public, ed25519.Ed25519PublicKey) else "Ed448"
    return JwkKey(raw.get("kid"), kty, crv, raw.get("alg"), raw.get("use"), public), private


def parse_jwks(data: Any, source: str = "jwks") -> Jwks:
    """A ``Jwks`` from a parsed mapping ``{"keys": [JWK, ...]}`` (RFC 7517 section 5), or from a
    single JWK mapping (taken as a set of one). Raises ``ConfigError`` naming ``source`` for
    any other shape, an unknown ``kty``, a key that does not load, or more than ``MAX_KEYS``."""
    if isinstance(data, Mapping) and "keys" not in data and "kty" in data:
        data = {"keys": [data]}
    keys = data.get("keys") if isinstance(data, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise ConfigError(source, 'is not a JWKS: it needs a non-empty "keys" array')
    if len(keys) > MAX_KEYS:
        raise ConfigError(source, f"holds {len(keys)} keys; at most {MAX_KEYS} are read")
    loaded = [_jwk(raw, i, source) for i, raw in enumerate(keys)]
    return Jwks(tuple(k for k, _ in loaded), sum(1 for _, p in loaded if p))


def load_jwks(source: str | Path | bytes | Mapping[str, Any] | Jwks) -> Jwks:
    """Load a JWKS from a file path, JSON text (``str`` starting with ``{``, or ``bytes``), a
    parsed mapping, or return a ``Jwks`` unchanged.

    Raises ``ConfigError`` when the file cannot be read, exceeds ``MAX_JWKS_BYTES``, is not
    JSON, or is not a JWKS (see ``parse_jwks``). Messages never quote the file's content.
    """
    if isinstance(source, Jwks):
        return source
    if isinstance(source, Mapping):
        return parse_jwks(source)
    name = "jwks"
    if isinstance(source, bytes):
        text = source[:MAX_JWKS_BYTES + 1].decode("utf-8", errors="replace")
    elif isinstance(source, str) and source.lstrip().startswith("{"):
        text = source
    else:
        name = str(source)
        try:
            with open(source, "rb") as f:
                text = f.read(MAX_JWKS_BYTES + 1).decode("utf-8", errors="replace")
        except OSError as exc:
            raise ConfigError(name, f"cannot be read ({exc.strerror or exc})") from None
    if len(text) > MAX_JWKS_BYTES:
        raise ConfigError(name, f"is larger than {MAX_JWKS_BYTES} bytes")
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(name, "is not JSON") from None
    except RecursionError:  # arrays or objects nested deeper than the decoder's stack
        raise ConfigError(name, "is nested too deep to be a JWKS") from None
    return parse_jwks(data, name)


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64(segment: str) -> bytes | None:
    """One unpadded base64url segment decoded, or None when it holds another character."""
    if not set(segment) <= _B64URL:
        return None
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _verify(key: JwkKey, alg: str, signing_input: bytes, signature: bytes) -> bool:
    try:
        return bool(_ALGORITHMS[alg].verify(signing_input, key.public_key, signature))
    except (PyJWTError, ValueError, TypeError):
        return False


def check_signature(
    header: Mapping[str, Any],
    signing_input: bytes,
    signature: bytes,
    jwks: Jwks,
    algorithms: tuple[str, ...] = (),
) -> KeyCheck:
    """Which key of ``jwks`` the JWS ``header`` names, and whether ``signature`` over
    ``signing_input`` (``b"<header b64>.<payload b64>"``) verifies with it.

    In order: an ``alg`` that is not an asymmetric one of ``ASYMMETRIC`` -> ``ALG_NOT_ASYMMETRIC``
    (HS256 with a secret, ``none``, unknown); not in ``algorithms`` (when given) ->
    ``ALG_NOT_ACCEPTED``; a ``kid`` no key has -> ``UNKNOWN_KID``; no key with that kid (or,
    without a kid, in the whole set) fits the algorithm -> ``ALG_KEY_MISMATCH``; no ``kid``
    while the set holds several keys -> ``NO_KID`` (each fitting key is tried, so ``verified``
    still says whether the signature is good); else ``VERIFIED`` or ``BAD_SIGNATURE``.
    Sources: RFC 7515 sections 4.1.1 and 4.1.4, RFC 7517 section 4.5, RFC 7518 section 3.
    Never raises for any header or signature.
    """
    kids = jwks.kids
    alg = header.get("alg") if isinstance(header.get("alg"), str) else None
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None

    def result(outcome: str, detail: str, verified: bool = False,
               key: JwkKey | None = None) -> KeyCheck:
        return KeyCheck(outcome, verified, alg, kid, key, kids, detail)

    if alg not in ASYMMETRIC:
        return result(ALG_NOT_ASYMMETRIC, f"alg is {alg!r}, not a public-key algorithm "
                      f"({', '.join(ASYMMETRIC)}); a JWKS cannot verify it")
    if algorithms and alg not in algorithms:
        return result(ALG_NOT_ACCEPTED, f"alg is {alg}; accepted: {', '.join(algorithms)}")
    named = jwks.find(kid) if kid is not None else jwks.keys
    if kid is not None and not named:
        listed = ", ".join(repr(k) for k in kids) or "none"
        return result(UNKNOWN_KID, f"the header's kid {kid!r} is not in the JWKS "
                      f"(its kids: {listed})")
    fitting = [k for k in named if k.fits(alg)]
    if not fitting:
        types = ", ".join(sorted({k.describe() + (f" for {k.alg}" if k.alg else "")
                                  for k in named}))
        whose = f"the key with kid {kid!r} is" if kid is not None else "the JWKS holds"
        return result(ALG_KEY_MISMATCH, f"alg is {alg} but {whose} {types}: no key for {alg}",
                      key=named[0] if kid is not None else None)
    good = next((k for k in fitting if _verify(k, alg, signing_input, signature)), None)
    if kid is None and len(jwks.keys) > 1:
        which = f"it verifies with the key {good.kid!r}" if good is not None and good.kid \
            else "it verifies with one of them" if good is not None \
            else "it verifies with none of them"
        return result(NO_KID, f"the header has no kid and the JWKS holds {len(jwks.keys)} keys; "
                      f"{which}", verified=good is not None, key=good)
    if good is not None:
        return result(VERIFIED, f"the {alg} signature verifies with the key "
                      + (repr(good.kid) if good.kid else f"({good.describe()})"), True, good)
    tried = fitting[0]
    return result(BAD_SIGNATURE, f"the {alg} signature does not verify with the key "
                  + (repr(tried.kid) if tried.kid else f"({tried.describe()})")
                  + ": signed with another private key, or the token was altered", key=tried)


def check_compact(assertion: str, jwks: Jwks, algorithms: tuple[str, ...] = ()) -> KeyCheck | None:
    """``check_signature`` on a compact JWS string; None when it is not three base64url
    segments with a JSON object header (the malformed-assertion rules say why)."""
    parts = assertion.strip().split(".")
    if len(parts) != 3:
        return None
    raw_header, signature = _b64(parts[0]), _b64(parts[2])
    if raw_header is None or signature is None:
        return None
    try:
        header = json.loads(raw_header)
    except ValueError:
        return None
    if not isinstance(header, dict):
        return None
    return check_signature(header, f"{parts[0]}.{parts[1]}".encode("ascii", "replace"),
                           signature, jwks, algorithms)
