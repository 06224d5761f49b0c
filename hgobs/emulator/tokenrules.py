"""What the emulated token endpoint demands of an assertion, and how it answers each failure.

``TokenRules`` carries one provider's demands under the names ``hgobs.profiles.Profile`` uses
for them (``max_assertion_lifetime_s``, ``require_iat``, ``require_jti``, ``max_jti_length``,
``leeway_s``, ``algorithms``, ``secret_auth``, ``header_required``, ``header_typ``,
``header_one_of``, ``audience_array_ok``), the ``aud`` values it accepts (``audiences``, as
templates) and ``errors``: per catalog category, the HTTP answer the provider gives
(``ErrorAnswer``). ``TokenRules.healthgorilla()`` is the emulator's default, the behaviour it
has always had; ``TokenRules.from_profile`` builds rules from a loaded profile, its
``[[errors]]`` texts becoming the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from hgobs.errors import ConfigError


@dataclass(frozen=True)
class ErrorAnswer:
    """How the token endpoint refuses: HTTP ``status``, OAuth ``error`` code (None: an empty
    body) and ``description`` (``error_description``). The description may hold ``{claim}``
    (the claim at fault, e.g. ``exp``) and ``{reason}`` (a fixed phrase of the emulator, e.g.
    "no kid in the header"); both are filled with the emulator's own words, never a request
    value. ``uri`` is an ``error_uri`` to send too (empty: none); an empty description is
    left out of the body."""

    status: int
    error: str | None
    description: str = ""
    uri: str = ""

    def text(self, claim: str = "", reason: str = "") -> str:
        """The description with ``{claim}`` and ``{reason}`` filled in (literal replacement)."""
        return self.description.replace("{claim}", claim).replace("{reason}", reason)


_A = ErrorAnswer
GENERIC_ERRORS: Mapping[str, ErrorAnswer] = MappingProxyType({
    "malformed_assertion": _A(400, "invalid_client", "The client assertion is not a valid JWT"),
    "invalid_client_id": _A(400, "invalid_client", "Unknown client, or iss and sub differ from it"),
    "environment_mismatch": _A(400, "invalid_client", "The client is not registered here"),
    "algorithm_not_accepted": _A(400, "invalid_client", "The signing algorithm is not accepted"),
    "signing_key_not_found": _A(400, "invalid_client", "Signing key not found: {reason}"),
    "assertion_header_rejected": _A(400, "invalid_client", "Assertion header rejected: {reason}"),
    "invalid_signature": _A(400, "invalid_client", "The assertion signature is invalid"),
    "audience_mismatch": _A(400, "invalid_client", "The aud claim is not accepted"),
    "missing_claim": _A(400, "invalid_client", "Missing or invalid {claim} claim"),
    "timestamp_in_milliseconds": _A(400, "invalid_client", "Missing or invalid {claim} claim"),
    "expired_assertion": _A(400, "invalid_client", "The assertion has expired"),
    "assertion_not_yet_valid": _A(400, "invalid_client", "The assertion is not yet valid"),
    "assertion_lifetime_too_long": _A(400, "invalid_client", "The exp claim is too far ahead"),
    "assertion_reuse": _A(400, "invalid_client", "The jti was already used"),
    "invalid_scope": _A(400, "invalid_scope", "The requested scope is not allowed"),
    "secret_instead_of_assertion": _A(400, "invalid_client",
                                      "Client authentication requires a signed client assertion"),
    "wrong_tenant": _A(400, "invalid_request", "The tenant or realm in the URL is not known"),
    "client_not_authorized": _A(400, "unauthorized_client",
                                "The client is not authorized for this grant"),
})
"""Answers of a plain RFC 7523 server (RFC 7523 section 3.1 and RFC 6749 section 5.2: a client
assertion that fails is ``invalid_client``, 400), used for any category a rules object does not
answer itself."""

HEALTHGORILLA_ERRORS: Mapping[str, ErrorAnswer] = MappingProxyType({
    "malformed_assertion": _A(400, None),
    "invalid_client_id": _A(400, "invalid_client", "improper client id"),
    "environment_mismatch": _A(400, "invalid_client",
                               "Client is not registered in this environment"),
    "algorithm_not_accepted": _A(400, "invalid_grant", "Invalid JWT signature"),
    "invalid_signature": _A(400, "invalid_grant", "Invalid JWT signature"),
    "audience_mismatch": _A(400, "invalid_grant", "Invalid audience"),
    "missing_claim": _A(400, "invalid_grant", "Invalid {claim}"),
    "timestamp_in_milliseconds": _A(400, "invalid_grant", "Invalid {claim}"),
    "expired_assertion": _A(400, "invalid_grant", "Assertion expired"),
    "assertion_not_yet_valid": _A(400, "invalid_grant", "Assertion not yet valid"),
    "assertion_lifetime_too_long": _A(400, "invalid_grant", "exp too far in the future"),
    "assertion_reuse": _A(400, "invalid_grant", "Assertion already used"),
    "invalid_scope": _A(400, "invalid_scope", "Requested scope is not registered for this client"),
})
"""The Health Gorilla emulator's answers (Health Gorilla API docs and authentication
troubleshooting guide): a malformed assertion gets an empty 400, claim problems
``invalid_grant``."""


@dataclass(frozen=True)
class TokenRules:
    """One provider's token-endpoint demands (field names as on ``hgobs.profiles.Profile``).

    - ``audiences``: accepted ``aud`` values as templates; ``{token_url}`` is the token URL
      called (no query), ``{origin}`` its ``scheme://host[:port]``.
    - ``audience_array_ok``: an ``aud`` array holding an accepted value is accepted.
    - ``max_assertion_lifetime_s``: longest ``exp - iat`` (``exp - now`` without ``iat``),
      seconds; None: no limit. ``leeway_s``: clock skew tolerated on ``exp``/``iat``/``nbf``.
    - ``require_iat`` / ``require_jti``: the claim must be present; ``max_jti_length``: the
      longest ``jti`` in characters (None: any).
    - ``algorithms``: JWS ``alg`` values accepted (empty: any this emulator verifies: HS* with
      the client secret, RS*/PS*/ES*/EdDSA with the client's JWKS).
    - ``secret_auth``: a client secret is also accepted (kept for the profile's shape; the
      emulator's clients authenticate with assertions only).
    - ``header_required``: header parameters that must be present (a missing ``kid`` answers
      ``signing_key_not_found``, any other ``assertion_header_rejected``); ``header_typ``: the
      value ``typ`` must have (case-insensitive); ``header_one_of``: groups of which one member
      must be present. ``typ_optional``: ``header_typ`` applies only when ``typ`` is sent
      (its presence is then ``header_required``'s business, as profiles mean it); False:
      a missing ``typ`` breaks ``header_typ`` too.
    - ``judge_secrets``: a token request that authenticates with a client secret
      (``client_secret`` in the form or HTTP Basic, RFC 6749 section 2.3.1) and carries no
      assertion is judged: granted when ``secret_auth`` and the secret is the client's,
      else ``secret_instead_of_assertion``. False (Health Gorilla): such a request goes on to
      the request-shape rule as before.
    - ``claim_sub``: what ``sub`` of a jwt-bearer grant assertion must be: ``client_id``, or
      ``user``/``email``/``any`` (any non-empty string: a user to act as, Salesforce and
      Google); client assertions always need ``sub`` = the client id (RFC 7523 section 3).
    - ``errors``: per catalog category id, the answer; a category missing there gets
      ``GENERIC_ERRORS``'s.

    Raises ``ConfigError`` for a negative leeway, a non-positive lifetime or jti length, or an
    answer whose status is not 4xx.
    """

    name: str = "healthgorilla"
    audiences: tuple[str, ...] = ("{token_url}",)
    audience_array_ok: bool = False
    max_assertion_lifetime_s: float | None = 3600.0
    leeway_s: float = 30.0
    require_iat: bool = True
    require_jti: bool = False
    max_jti_length: int | None = None
    algorithms: tuple[str, ...] = ("HS256",)
    secret_auth: bool = False
    header_required: tuple[str, ...] = ()
    header_typ: str | None = None
    header_one_of: tuple[tuple[str, ...], ...] = ()
    typ_optional: bool = False
    judge_secrets: bool = False
    claim_sub: str = "client_id"
    errors: Mapping[str, ErrorAnswer] = field(default_factory=lambda: HEALTHGORILLA_ERRORS,
                                              compare=False)

    def __post_init__(self) -> None:
        for name in ("audiences", "algorithms", "header_required"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "header_one_of", tuple(tuple(g) for g in self.header_one_of))
        object.__setattr__(self, "errors", MappingProxyType(dict(self.errors)))
        if not self.leeway_s >= 0:
            raise ConfigError("leeway_s", f"must be zero or positive, got {self.leeway_s!r}")
        for option in ("max_assertion_lifetime_s", "max_jti_length"):
            value = getattr(self, option)
            if value is not None and not value > 0:
                raise ConfigError(option, f"must be positive or None, got {value!r}")
        if not self.audiences:
            raise ConfigError("audiences", "needs at least one accepted value")
        for category, answer in self.errors.items():
            if not 400 <= answer.status <= 499:
                raise ConfigError("errors", f"{category}: status {answer.status} is not 4xx")

    def answer(self, category: str) -> ErrorAnswer:
        """The answer for catalog ``category``: this provider's, else the generic one.

        Raises ``KeyError`` for a category neither knows.
        """
        found = self.errors.get(category)
        return found if found is not None else GENERIC_ERRORS[category]

    def accepted_audiences(self, token_url: str) -> tuple[str, ...]:
        """The ``aud`` values accepted at ``token_url``: ``audiences`` with ``{token_url}`` and
        ``{origin}`` filled in."""
        url = token_url.split("?", 1)[0]
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        return tuple(a.replace("{token_url}", url).replace("{origin}", origin)
                     for a in self.audiences)

    @classmethod
    def healthgorilla(cls, max_assertion_lifetime_s: float = 3600.0,
                      leeway_s: float = 30.0) -> TokenRules:
        """Health Gorilla's rules as the emulator has always applied them: HS256 signed with
        the client secret, ``aud`` exactly the token URL (a string), ``iat`` required, ``jti``
        optional, no header rules, the answers of ``HEALTHGORILLA_ERRORS``."""
        return cls(max_assertion_lifetime_s=max_assertion_lifetime_s, leeway_s=leeway_s)

    @classmethod
    def from_profile(cls, profile: Any, *, audiences: tuple[str, ...] = ("{token_url}",),
                     errors: Mapping[str, ErrorAnswer] | None = None) -> TokenRules:
        """Rules from a loaded profile (anything with the ``Profile`` attributes named in the
        module docstring, and ``errors``: ``ErrorText`` entries with ``text``, ``error``,
        ``status`` and ``category``).

        ``audiences`` are the templates to accept: the emulator answers at its own loopback
        URL, so the profile's host-bound forms do not apply; the default is the token URL
        called. ``errors`` overrides the answers; by default the first ``[[errors]]`` entry of
        each category that names an error code gives its answer (status 400 when it names
        none), so the emulator refuses in the provider's documented words. The rules read
        ``typ`` as the profile means it (``typ_optional``), judge client secrets
        (``judge_secrets``) and take the profile's ``claim_sub``.
        """
        if errors is None:
            answers: dict[str, ErrorAnswer] = {}
            for entry in profile.errors:
                if entry.error and entry.category not in answers:
                    answers[entry.category] = ErrorAnswer(entry.status or 400, entry.error,
                                                          entry.text)
            errors = answers
        lifetime = profile.max_assertion_lifetime_s
        return cls(
            name=profile.name,
            audiences=audiences,
            audience_array_ok=bool(profile.audience_array_ok),
            max_assertion_lifetime_s=float(lifetime) if lifetime else None,
            leeway_s=float(profile.leeway_s),
            require_iat=bool(profile.require_iat),
            require_jti=bool(profile.require_jti),
            max_jti_length=profile.max_jti_length,
            algorithms=tuple(profile.algorithms),
            secret_auth=bool(profile.secret_auth),
            header_required=tuple(profile.header_required),
            header_typ=profile.header_typ,
            header_one_of=tuple(tuple(g) for g in profile.header_one_of),
            typ_optional=True,
            judge_secrets=True,
            claim_sub=str(getattr(profile, "claim_sub", "client_id")),
            errors=errors,
        )
