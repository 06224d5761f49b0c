"""Hypothesis strategies for secrets of every shape, and a ``Planted`` list to search outputs with.

Hypothesis draws the *structure* of a secret (its shape, length, prefix, encoding) and a seed;
the characters come from a PRNG seeded with it. So every secret is high-entropy: an 8-character
piece of it cannot turn up in legitimate output by chance (hypothesis' own favourite strings,
``"00000000"`` or ``"aaaaaaaa"``, would match timestamps and ids and report leaks that are not).

Shapes:

- ``token``: what servers issue and clients hold - letters and digits, base64url (16+
  characters), standard base64 with ``+/=`` (of 16+ bytes: 24+ characters), upper-case hex,
  UUIDs, vendor prefixes (``sk_live_``, ``ghp_``, ``xoxb-``), always mixing letters and digits
  or 40+ characters long: the shapes the README says server text is scrubbed of;
- ``word``: lower-case pronounceable words and hyphens, no digits (a password, a patient name):
  secret only by position, never by shape; each word is made up afresh, so no two secrets of a
  case share a piece;
- ``phrase``: words with spaces, punctuation and non-ASCII letters (a passphrase);
- ``email``: an address whose local part and domain are both planted;
- ``number``: a 9 to 15 digit integer (an MRN, an SSN) as a claim value.

``jwt`` builds a compact JWS whose header and claims carry secrets of every type (strings,
numbers, nested objects, arrays, claim names); ``malformed`` breaks one in the ways clients do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
NON_ASCII = "äöüßéèñçøåœłžšđ"
TOKEN_KINDS = ("alnum", "b64url", "b64", "hex", "uuid", "prefixed")
PREFIXES = ("sk_live_", "ghp_", "xoxb-", "AKIA", "hg_at_", "eyJhbGci-not-a-jwt-")
ALNUM = string.ascii_letters + string.digits


@dataclass
class Planted:
    """Every secret a case planted, so outputs can be searched for any 8-character piece.

    ``unshaped`` are the values that are secret only by where they are (words, phrases,
    numbers): text that shows them only in a server's answer gives no way to tell them from
    ordinary words, so ``visible_in`` keeps them only where the input shows them being sent.
    """

    values: list[str] = field(default_factory=list)
    unshaped: set[str] = field(default_factory=set)

    def add(self, *values: str, shaped: bool = True) -> None:
        self.values.extend(v for v in values if v)
        if not shaped:
            self.unshaped.update(values)

    def __iter__(self) -> Any:
        return iter(self.values)

    def visible_in(self, sent: str) -> list[str]:
        """The secret-shaped values, and the others that occur in ``sent`` (what the input
        shows the client sending)."""
        return [v for v in self.values if v not in self.unshaped or v in sent]


def _mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _token(rnd: random.Random, kind: str, length: int) -> str:
    if kind == "uuid":
        return str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    if kind == "hex":
        return "".join(rnd.choices("0123456789ABCDEF", k=max(length, 32)))
    if kind == "b64":  # standard base64 of 16+ random bytes: 24+ characters
        while True:
            body = base64.b64encode(rnd.randbytes(max(16, length * 3 // 4))).decode()
            if ("+" in body or "/" in body) and _mixed(body):
                return body
    alphabet = {"alnum": ALNUM, "b64url": ALNUM + "-_", "prefixed": ALNUM}[kind]
    while True:
        body = "".join(rnd.choices(alphabet, k=length))
        if kind == "prefixed":
            body = rnd.choice(PREFIXES) + body
        if _mixed(body) or len(body) >= 40:
            return body


class Secrets:
    """Makes secrets from one seed and remembers them (``planted``)."""

    def __init__(self, seed: int, requests_unseen: bool = False) -> None:
        # Seeded from text, so that seed 0 is not the stream of the global ``random`` that
        # hypothesis seeds with 0 (OpenTelemetry draws trace and span ids from it).
        self.rnd = random.Random(f"hgobs-secrets-{seed}")
        self.planted = Planted()
        self.requests_unseen = requests_unseen
        """True when the case is read back from inputs that may not show the requests."""

    def token(self, kind: str = "alnum", length: int = 24) -> str:
        value = _token(self.rnd, kind, length)
        self.planted.add(value)
        return value

    def _word(self) -> str:
        """A made-up pronounceable word of three or four syllables (``bokatuvi``)."""
        return "".join(self.rnd.choice(CONSONANTS) + self.rnd.choice(VOWELS)
                       for _ in range(self.rnd.randint(3, 4)))

    def word(self) -> str:
        value = "-".join(self._word() for _ in range(3))
        self.planted.add(value, shaped=False)
        return value

    def phrase(self) -> str:
        words = [self._word() for _ in range(3)]
        extra = "".join(self.rnd.choices(NON_ASCII, k=4))
        value = f"{words[0].title()} {words[1]}{extra} {words[2]}!?"
        self.planted.add(value, shaped=False)
        return value

    def email(self) -> str:
        local = f"{self._word()}.{self._word()}"
        domain = f"{self._word()}-{self._word()}"
        self.planted.add(local, domain)
        return f"{local}@{domain}.example.org"

    def number(self) -> int:
        value = self.rnd.randrange(10**8, 10**15)
        self.planted.add(str(value), shaped=False)
        return value

    def of(self, shape: str) -> str:
        """A secret of ``shape``: a token kind, ``word``, ``phrase`` or ``email``."""
        if shape in TOKEN_KINDS:
            return self.token(shape, self.rnd.randint(20, 48))
        return {"word": self.word, "phrase": self.phrase, "email": self.email}[shape]()

    def jwt(self, aud: str, claim_types: tuple[str, ...], now: float, client_id: str | None = None,
            alg: str = "HS256") -> str:
        """A signed compact JWS for ``aud`` carrying a secret in each of ``claim_types``."""
        header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
        claims: dict[str, Any] = {"aud": aud, "iat": int(now), "exp": int(now) + 300}
        iss = client_id or self.of("alnum")
        claims.update(iss=iss, sub=iss)
        for kind in claim_types:
            if kind == "jti":
                claims["jti"] = self.token("uuid")
            elif kind == "kid":
                header["kid"] = self.token("b64url", 22)
            elif kind == "header-extra":
                header["x-" + self.word()] = self.token("alnum", 30)
            elif kind == "email-sub":
                claims["sub"] = self.email()
            elif kind == "string":
                claims["patient_name"] = self.word()
            elif kind == "token":
                claims["api_key"] = self.token("b64", 32)
            elif kind == "number":
                claims["mrn"] = self.number()
            elif kind == "nested":
                claims["ext"] = {"ssn": self.number(), "name": self.phrase(),
                                 "deeper": {"k": self.token("hex")}}
            elif kind == "array":
                claims["roles"] = [self.word(), self.token("alnum", 20), self.number()]
            elif kind == "claim-name":
                claims["x_" + self.token("alnum", 20)] = True
            elif kind == "bool-null-float":
                claims.update(flag=True, nothing=None, ratio=0.25, audit=self.phrase())
        secret = self.token("b64url", 32).encode()
        token = _sign(header, claims, secret)
        self.planted.add(token, *token.split("."))
        return token


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    h = _b64url(json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode())
    p = _b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    sig = hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{_b64url(sig)}"


MALFORMATIONS = ("none", "whitespace", "newline", "truncated", "two-segments", "four-segments",
                 "padding", "bad-base64", "payload-not-json", "quoted", "bearer-prefix")


def malformed(token: str, how: str, planted: Planted) -> str:
    """``token`` broken as clients break it (``MALFORMATIONS``); what it becomes is planted."""
    h, p, s = token.split(".")
    out = {
        "none": token,
        "whitespace": f" {token} ",
        "newline": token + "\n",
        "truncated": token[: len(token) * 2 // 3],
        "two-segments": f"{h}.{p}",
        "four-segments": f"{token}.{s}",
        "padding": f"{h}==.{p}=.{s}",
        "bad-base64": f"{h}.{p[:10]}*!{p[10:]}.{s}",
        "payload-not-json": f"{h}.{_b64url(b'not json ' + p.encode()[:40])}.{s}",
        "quoted": f'"{token}"',
        "bearer-prefix": f"Bearer {token}",
    }[how]
    planted.add(out, *out.split("."))
    return out


CLAIM_TYPES = ("jti", "kid", "header-extra", "email-sub", "string", "token", "number", "nested",
               "array", "claim-name", "bool-null-float")
SHAPES = (*TOKEN_KINDS, "word", "phrase", "email")
SERVER_SHAPES = (*TOKEN_KINDS, "email")
"""Shapes a value the server alone invents can have and still be recognised as a secret: free
text from a server is scrubbed by shape (README), so a word-shaped server-only value is not a
secret hgobs can know about."""

seeds = st.integers(min_value=0, max_value=2**63)
shapes = st.sampled_from(SHAPES)
ascii_shapes = st.sampled_from(tuple(x for x in SHAPES if x != "phrase"))
server_shapes = st.sampled_from(SERVER_SHAPES)
claim_types = st.lists(st.sampled_from(CLAIM_TYPES), min_size=1, max_size=len(CLAIM_TYPES),
                       unique=True).map(tuple)
malformations = st.sampled_from(MALFORMATIONS)
