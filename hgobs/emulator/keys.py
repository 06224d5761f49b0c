"""The emulator's own key pairs: an RSA and an EC P-384 key, made in memory when it starts.

They stand for the key pairs an integrator makes for a SMART Backend Services (or Epic, Oracle
Health ...) client: the emulator serves their public halves as a JWKS
(``GET /.well-known/jwks.json``, the "JWK Set URL" a client registers) and registers them for
the client it generates, so that assertions signed RS384 or ES384 with ``private_key(kid)`` are
accepted out of the box. The private keys never leave the process unless a caller asks for
their PEM (``private_pem``), e.g. to hand to a demo signer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from hgobs.errors import ConfigError
from hgobs.jwks import Jwks, load_jwks

RSA_KID = "emulator-rs384"
EC_KID = "emulator-es384"


@dataclass(frozen=True)
class EmulatorKeys:
    """Private signing keys by ``kid``, each with the JWS ``alg`` it signs with.

    ``EmulatorKeys.generate()`` makes an RSA 2048-bit key (RS384) and an EC P-384 key (ES384);
    tests may build one from their own keys: ``EmulatorKeys({"k1": ("RS384", rsa_key)})``.
    Raises ``ConfigError`` when a key is not an RSA or EC private key, or the set is empty.
    """

    keys: dict[str, tuple[str, Any]] = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigError("keys", "needs at least one key")
        for kid, (_alg, key) in self.keys.items():
            if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
                raise ConfigError("keys", f"{kid!r} is not an RSA or EC private key")

    @classmethod
    def generate(cls) -> EmulatorKeys:
        """Fresh keys: RSA 2048 (``emulator-rs384``, RS384) and EC P-384 (``emulator-es384``,
        ES384). About 20 ms, mostly the RSA key."""
        return cls({
            RSA_KID: ("RS384", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            EC_KID: ("ES384", ec.generate_private_key(ec.SECP384R1())),
        })

    @classmethod
    def generate_for(cls, algorithms: tuple[str, ...]) -> EmulatorKeys:
        """Fresh keys a provider accepting ``algorithms`` (empty: any) verifies: an RSA 2048
        key signing RS384 when accepted, else the first accepted of RS256, RS512, PS256,
        PS384, PS512; an EC key signing ES384 (P-384) when accepted, else ES256 (P-256) or
        ES512 (P-521), none when no ES algorithm is accepted. ``kid`` is
        ``emulator-{alg in lower case}``; ``generate()`` when RS384 and ES384 are both taken.
        Raises ``ConfigError`` when no RSA or EC algorithm is accepted."""
        def pick(options: tuple[str, ...]) -> str | None:
            return next((a for a in options if not algorithms or a in algorithms), None)

        rs = pick(("RS384", "RS256", "RS512", "PS256", "PS384", "PS512"))
        es = pick(("ES384", "ES256", "ES512"))
        if (rs, es) == ("RS384", "ES384"):
            return cls.generate()
        keys: dict[str, tuple[str, Any]] = {}
        if rs is not None:
            keys[f"emulator-{rs.lower()}"] = (
                rs, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        if es is not None:
            curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
            keys[f"emulator-{es.lower()}"] = (es, ec.generate_private_key(curve[es]))
        return cls(keys)

    def private_key(self, kid: str) -> Any:
        """The private key called ``kid`` (a ``cryptography`` key object); ``KeyError`` if none."""
        return self.keys[kid][1]

    def alg(self, kid: str) -> str:
        """The JWS ``alg`` the key called ``kid`` signs with; ``KeyError`` if none."""
        return self.keys[kid][0]

    def private_pem(self, kid: str) -> bytes:
        """The private key called ``kid`` as unencrypted PKCS#8 PEM (for a demo signer)."""
        return bytes(self.private_key(kid).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))

    def public_jwks(self) -> dict[str, Any]:
        """The public keys as a JWKS mapping (RFC 7517 section 5), each with ``kid``, ``alg``
        and ``use: sig``."""
        out = []
        for kid, (alg, key) in self.keys.items():
            to_jwk = RSAAlgorithm.to_jwk if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm.to_jwk
            jwk = to_jwk(key.public_key(), as_dict=True)
            jwk.pop("key_ops", None)
            jwk.update({"kid": kid, "alg": alg, "use": "sig"})
            out.append(jwk)
        return {"keys": out}

    def jwks(self) -> Jwks:
        """The public keys as a loaded ``hgobs.jwks.Jwks``."""
        return load_jwks(self.public_jwks())
