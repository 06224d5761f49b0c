"""Token-endpoint rule 5: the assertion's header and signature against the client's keys.

``check_header_and_signature`` applies a ``TokenRules``' header demands, then verifies the
signature: ``HS256``/``HS384``/``HS512`` with the client's secret (PyJWT's HMAC, constant-time
comparison), ``RS*``/``PS*``/``ES*``/``EdDSA`` with the public JWKS the client registered
(``hgobs.jwks``). It returns the catalog category of the first failure and a fixed phrase
saying why (never a request value), or None when the assertion may go on. Sources: RFC 7515
sections 4.1.1, 4.1.4 and 4.1.9, RFC 7517 section 4.5, RFC 7518 section 3, RFC 7523 section 3
item 9, and the SMART Backend Services specification (a client registers a JWK Set;
https://hl7.org/fhir/smart-app-launch/backend-services.html).
"""

from __future__ import annotations

from typing import Any

from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import PyJWTError

from hgobs import jwks as jwkslib
from hgobs.emulator.tokenrules import TokenRules

_HMAC = {"HS256": HMACAlgorithm(HMACAlgorithm.SHA256),
         "HS384": HMACAlgorithm(HMACAlgorithm.SHA384),
         "HS512": HMACAlgorithm(HMACAlgorithm.SHA512)}

Failure = tuple[str, str]
"""A refusal decided here: ``(catalog category id, reason phrase)``."""


def header_failure(header: dict[str, Any], rules: TokenRules) -> Failure | None:
    """The first header demand of ``rules`` that ``header`` breaks: an ``alg`` outside
    ``rules.algorithms`` (``algorithm_not_accepted``), a missing required parameter (``kid``:
    ``signing_key_not_found``; any other: ``assertion_header_rejected``), a ``typ`` other than
    ``rules.header_typ`` (a missing ``typ`` only when not ``rules.typ_optional``), or no
    member of a ``header_one_of`` group present (``assertion_header_rejected``)."""
    alg = header.get("alg")
    if not isinstance(alg, str) or (rules.algorithms and alg not in rules.algorithms):
        return "algorithm_not_accepted", "alg is not accepted"
    for name in rules.header_required:
        if name not in header:
            if name == "kid":
                return "signing_key_not_found", "no kid in the header"
            return "assertion_header_rejected", f"the header has no {name}"
    typ = header.get("typ")
    if rules.header_typ is not None and not (rules.typ_optional and "typ" not in header) and (
            not isinstance(typ, str) or typ.lower() != rules.header_typ.lower()):
        return "assertion_header_rejected", f"typ must be {rules.header_typ}"
    for group in rules.header_one_of:
        if not any(name in header for name in group):
            return "assertion_header_rejected", f"the header needs one of {', '.join(group)}"
    return None


def hmac_valid(alg: str, signing_input: bytes, signature: bytes, secret: str) -> bool:
    """True when ``signature`` is the HMAC of ``signing_input`` under ``secret`` for ``alg``
    (``HS256``/``HS384``/``HS512``; any other ``alg`` gives False)."""
    algorithm = _HMAC.get(alg)
    if algorithm is None or not secret:
        return False
    try:
        key = algorithm.prepare_key(secret)
    except PyJWTError:
        return False
    return bool(algorithm.verify(signing_input, key, signature))


_KEY_OUTCOME: dict[str, Failure] = {
    jwkslib.UNKNOWN_KID: ("signing_key_not_found", "no key of the client's JWK Set has this kid"),
    jwkslib.ALG_NOT_ACCEPTED: ("algorithm_not_accepted", "alg is not accepted"),
    jwkslib.ALG_NOT_ASYMMETRIC: ("algorithm_not_accepted", "alg is not accepted"),
    jwkslib.ALG_KEY_MISMATCH: ("invalid_signature", "the key with this kid is not for this alg"),
    jwkslib.BAD_SIGNATURE: ("invalid_signature", "the signature does not verify"),
    jwkslib.NO_KID: ("invalid_signature", "the signature verifies with no key of the JWK Set"),
}


def check_header_and_signature(header: dict[str, Any], signing_input: bytes, signature: bytes,
                               client: Any, rules: TokenRules) -> Failure | None:
    """Rule 5 for one assertion of ``client`` (a ``ClientRegistration``): ``header_failure``,
    then the signature. HS* needs the client's secret; the public-key algorithms need its
    JWKS (none registered: ``signing_key_not_found``). Without a ``kid`` the set's keys are
    tried in turn (unless ``rules.header_required`` demanded one). None: header and signature
    are good. Never raises for any header or signature bytes."""
    failure = header_failure(header, rules)
    if failure is not None:
        return failure
    alg = header["alg"]
    if alg in _HMAC:
        if hmac_valid(alg, signing_input, signature, client.client_secret):
            return None
        return "invalid_signature", "the signature does not verify"
    if alg not in jwkslib.ASYMMETRIC:
        return "algorithm_not_accepted", "alg is not accepted"
    if client.jwk_set is None:
        return "signing_key_not_found", "the client registered no JWK Set"
    check = jwkslib.check_signature(header, signing_input, signature, client.jwk_set,
                                    rules.algorithms)
    if check.verified:
        return None
    return _KEY_OUTCOME[check.outcome]
