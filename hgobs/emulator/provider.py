"""The emulator's view of one provider profile: loopback token routes, tenant values, answers.

``hgobs emulate --profile NAME`` serves each environment ``E`` of the profile under ``/E`` on
the loopback address, at the paths of the profile's token URLs (the host part is dropped: on
loopback every provider host is the emulator's). A ``{name}`` path segment (Entra ID's
``{tenant}``, Keycloak's ``{realm}``, Oracle Health's ``{tenant}``/``{host}``) is served with
the value the emulator registered for it, ``{*}`` with any segments; a token URL whose
``{tenant}`` or ``{realm}`` differs from the registered one is refused ``wrong_tenant`` the
way the provider answers it. ``loopback_profile`` is the provider profile with those loopback
URLs (placeholders kept), so capture, the analyzer and the emulator compute the same ``aud``
accept list (``Profile.audiences``); a profile's literal ``aud`` values (Salesforce's
``https://login.salesforce.com``, Google's ``https://oauth2.googleapis.com/token``) stay
accepted on loopback as they are. ``provider_answers`` turns the profile's ``[[errors]]`` into
the emulator's refusals, in the provider's own case and status.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hgobs.emulator.tokenrules import GENERIC_ERRORS, ErrorAnswer, TokenRules
from hgobs.errors import HgobsError
from hgobs.profiles import BUILTIN, Profile, UrlPattern, profile_from_mapping
from hgobs.profiles import load as profile_load

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TENANT_PLACEHOLDERS: tuple[str, ...] = ("tenant", "realm")
"""Path placeholders naming a tenant or realm: a value other than the registered one is
refused ``wrong_tenant``. Other placeholders (``{host}``, ``{authserver}``) take any value."""

FILLER = "emulator"
"""The value printed for a ``{*}`` segment and for placeholders without a registered value."""

INVALID_CLIENT_STATUS: Mapping[str, int] = {
    "smart": 401, "oracle": 401, "okta": 401, "entra": 401, "auth0": 401,
}
"""The HTTP status of an ``invalid_client`` answer per provider (RFC 6749 section 5.2 allows
400 or 401): 401 where the provider's reported answers show it (``tests/data/cases``: SMART
reference server, Oracle Health, Okta, Entra ID, Auth0), else 400."""

_ORACLE_TENANT_URI = ("https://authorization.cerner.com/errors/urn%3Acerner%3Aerror%3A"
                      "authorization-server%3Aoauth2%3Atoken%3Ainvalid-tenant/instances/"
                      "00000000-0000-4000-8000-000000000000")

PROVIDER_ANSWERS: Mapping[str, Mapping[str, ErrorAnswer]] = {
    # Oracle Health names an unknown tenant in error_uri only (developer forum thread:
    # https://forums.oracle.com/ords/apexds/post/invalid-grant-for-r4-authorization-cerner-com-tenants-4126).
    "oracle": {"wrong_tenant": ErrorAnswer(400, "invalid_grant", uri=_ORACLE_TENANT_URI)},
    # Entra ID: AADSTS90002 for a tenant that does not exist, invalid_request
    # (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes).
    "entra": {"wrong_tenant": ErrorAnswer(
        400, "invalid_request",
        "AADSTS90002: Tenant not found. Check the tenant ID and the cloud you sign in to.")},
    # Epic and the SMART reference server answer a client secret with a bare invalid_client
    # (https://fhir.epic.com/Documentation?docId=oauth2&section=BackendOAuth2Guide,
    # https://hl7.org/fhir/smart-app-launch/backend-services.html).
    "epic": {"secret_instead_of_assertion": ErrorAnswer(400, "invalid_client")},
    "smart": {"secret_instead_of_assertion": ErrorAnswer(401, "invalid_client")},
    # Google answers a key it does not know (deleted, disabled, another account's) as a bad
    # signature (https://developers.google.com/identity/protocols/oauth2/service-account;
    # https://github.com/google-github-actions/setup-gcloud/issues/76).
    "google": {"signing_key_not_found": ErrorAnswer(400, "invalid_grant",
                                                    "Invalid JWT Signature.")},
}
"""Answers a profile's ``[[errors]]`` cannot express (an ``error_uri``, a code the profile
lists without its error member), by provider name, with their sources."""

BARE_INVALID_CLIENT: frozenset[str] = frozenset({"smart", "epic", "oracle", "auth0"})
"""Providers whose ``invalid_client`` refusals carry no description, whatever the cause (the
reason goes to the provider's logs): the SMART specification asks for ``invalid_client``
alone (https://hl7.org/fhir/smart-app-launch/backend-services.html), and Epic, Oracle Health
and Auth0 answers reported in their documentation and forums have none (``tests/data/cases``).
A profile entry naming an error code is a response text and is still sent."""

_ALIASES = {"assertion_not_yet_valid": "clock_skew"}
"""A category the emulator decides, and the profile category whose text answers it when the
profile has none of its own (Keycloak's "Token was issued in the future")."""


@dataclass(frozen=True)
class TokenRoute:
    """One token path the emulator serves: the profile environment and the path segments of
    one of its token URLs (placeholders kept)."""

    environment: str
    segments: tuple[str, ...]

    def path(self, values: Mapping[str, str]) -> str:
        """The path with each ``{name}`` replaced from ``values`` (else ``FILLER``) and
        ``{*}`` by ``FILLER``: ``/tenant-id/oauth2/v2.0/token``."""
        out = []
        for segment in self.segments:
            name = segment[1:-1] if segment.startswith("{") and segment.endswith("}") else None
            out.append(segment if name is None else values.get(name, FILLER))
        return "/" + "/".join(out)

    def captures(self, path: str) -> dict[str, str] | None:
        """What ``path`` (no trailing slash) captures, or None when it does not fit."""
        pattern = UrlPattern("", ("emulator",), None, self.segments)
        out: dict[str, str] = {}
        return out if pattern.match_path(path, out) else None


def token_routes(profile: Profile) -> tuple[TokenRoute, ...]:
    """Every token path of ``profile``, per environment, without duplicates (profile order)."""
    routes: list[TokenRoute] = []
    for env in profile.environments:
        for url in env.token_urls:
            route = TokenRoute(env.name, UrlPattern.parse(url, profile.name).path)
            if route not in routes:
                routes.append(route)
    return tuple(routes)


def placeholder_values(profile: Profile, given: Mapping[str, str] | None = None
                       ) -> dict[str, str]:
    """The value registered for each path placeholder of ``profile``: ``given`` first, else a
    fresh UUID for ``{tenant}`` (Entra ID and Oracle Health tenant ids are UUIDs) and
    ``FILLER`` for any other name."""
    values = dict(given or {})
    for route in token_routes(profile):
        for segment in route.segments:
            if segment.startswith("{") and segment.endswith("}") and segment != "{*}":
                name = segment[1:-1]
                if name not in values:
                    values[name] = str(uuid.uuid4()) if name == "tenant" else FILLER
    return values


def match_route(routes: tuple[TokenRoute, ...], environment: str, path: str
                ) -> tuple[TokenRoute, dict[str, str]] | None:
    """The first route of ``environment`` that ``path`` fits, with its captures, or None."""
    for route in routes:
        if route.environment == environment:
            found = route.captures(path)
            if found is not None:
                return route, found
    return None


def wrong_tenant(captures: Mapping[str, str], values: Mapping[str, str]) -> bool:
    """True when a captured ``{tenant}`` (case-insensitively, tenant ids are GUIDs or domain
    names) or ``{realm}`` (exactly: Keycloak realm names are case-sensitive) is not the
    registered value."""
    tenant, realm = captures.get("tenant"), captures.get("realm")
    if tenant is not None and tenant.lower() != values.get("tenant", "").lower():
        return True
    return realm is not None and realm != values.get("realm")


def loopback_profile(profile: Profile, base_url: str) -> Profile:
    """``profile`` with its environments moved to the emulator at ``base_url`` (no trailing
    slash): token URLs ``{base}/{env}{path}`` with the placeholders kept (patterns), API base
    ``{base}/{env}/fhir``, each environment's own ``aud`` templates kept. Every other field
    (limits, header, audience, errors, fixes) is the profile's. Raises ``ProfileError`` when
    the result is not a valid profile."""
    data = profile.content()
    envs: dict[str, Any] = {}
    for env in profile.environments:
        paths = [r.segments for r in token_routes(profile) if r.environment == env.name]
        envs[env.name] = {
            "token_urls": [f"{base_url}/{env.name}/{'/'.join(p)}" for p in paths],
            "api_bases": [f"{base_url}/{env.name}/fhir"],
            **({"audience": list(env.audience)} if env.audience else {}),
        }
    data["environments"] = envs
    data["custom_domains"] = []
    return profile_from_mapping(data, f"{profile.name} (emulator at {base_url})")


def original_texts(spec: str | Path | None) -> dict[str, str]:
    """The ``[[errors]]`` texts of the profile ``spec`` (a built-in name or a TOML path) in
    the provider's own case, keyed by their lower-case form (profiles store them lowered for
    matching); empty when ``spec`` cannot be read."""
    try:
        if spec is None:
            return {}
        text_spec = str(spec)
        if text_spec in BUILTIN:
            raw = profile_load._builtin_data(text_spec)
        else:
            raw = tomllib.loads(Path(text_spec).read_text("utf-8"))
        data = profile_load._resolve_extends(raw, text_spec)
    except (OSError, ValueError, HgobsError):
        return {}
    return {str(e["text"]).lower(): str(e["text"]) for e in data.get("errors", ()) or ()
            if isinstance(e, Mapping) and e.get("text")}


def provider_answers(profile: Profile, texts: Mapping[str, str] | None = None
                     ) -> dict[str, ErrorAnswer]:
    """The refusal for each category, as ``profile``'s provider gives it.

    Per category: ``PROVIDER_ANSWERS`` first; else the profile's first ``[[errors]]`` entry of
    that category (entries naming an error code before those that do not; for
    ``assertion_not_yet_valid`` also ``clock_skew``'s), its text (in the case of ``texts``)
    as ``error_description``, its code (else ``GENERIC_ERRORS``' code for the category) and
    status; else ``GENERIC_ERRORS``' answer. An ``invalid_client`` answer without a stated
    status gets ``INVALID_CLIENT_STATUS`` of the provider (400 when not listed), and no
    description for a provider of ``BARE_INVALID_CLIENT`` unless an entry with that code
    documents one.
    """
    texts = texts or {}
    invalid_client_status = INVALID_CLIENT_STATUS.get(profile.name, 400)
    by_category: dict[str, list[Any]] = {}
    for entry in profile.errors:
        by_category.setdefault(entry.category, []).append(entry)
    answers: dict[str, ErrorAnswer] = {}
    for category, fallback in GENERIC_ERRORS.items():
        entries = by_category.get(category) or by_category.get(_ALIASES.get(category, ""), [])
        entries = sorted(entries, key=lambda e: not e.error)
        if entries:
            entry = entries[0]
            code = entry.error or fallback.error
            status = entry.status or (invalid_client_status if code == "invalid_client"
                                      else fallback.status)
            answers[category] = ErrorAnswer(status, code, texts.get(entry.text, entry.text))
        elif fallback.error == "invalid_client":
            answers[category] = ErrorAnswer(invalid_client_status, fallback.error,
                                            fallback.description)
        else:
            answers[category] = fallback
    if profile.name in BARE_INVALID_CLIENT:
        for category, answer in answers.items():
            documented = any(e.error == "invalid_client" for e in by_category.get(category, ()))
            if answer.error == "invalid_client" and not documented:
                answers[category] = ErrorAnswer(answer.status, "invalid_client")
    answers.update(PROVIDER_ANSWERS.get(profile.name, {}))
    return answers


def provider_rules(profile: Profile, texts: Mapping[str, str] | None = None) -> TokenRules:
    """``TokenRules.from_profile`` with ``provider_answers`` and the profile's ``aud``
    templates (the emulator fills them per request from ``loopback_profile``)."""
    return TokenRules.from_profile(profile, audiences=profile.audience,
                                   errors=provider_answers(profile, texts))


def generated_client_id(profile: Profile) -> str:
    """A client id shaped as the provider's: a service-account e-mail for a profile whose
    ``iss`` is an e-mail (Google), else 20 random hex characters."""
    token = uuid.uuid4().hex[:20]
    if profile.claim_iss == "email":
        return f"emulator-{token[:8]}@emulator-project.iam.gserviceaccount.com"
    return token
