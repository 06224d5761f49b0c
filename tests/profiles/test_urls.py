"""URL patterns of profiles: placeholders, captures, prefix matching, and linear cost."""

from __future__ import annotations

import time

import pytest

from hgobs.errors import ProfileError
from hgobs.profiles import UrlPattern, profile_from_mapping


def _match(pattern: str, url: str, prefix: bool = False):
    from hgobs.profiles.urls import split_url

    host, port, path = split_url(url)
    p = UrlPattern.parse(pattern)
    return p.match(host, port, path, prefix=prefix, any_host=p.host == ("{*}",))


@pytest.mark.parametrize(("pattern", "url", "captures"), [
    ("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
     "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token", {"tenant": "contoso.example"}),
    ("https://{org}.okta.com/oauth2/v1/token", "https://ACME.okta.com/oauth2/v1/token/", {"org": "acme"}),
    ("https://{*}/realms/{realm}/protocol/openid-connect/token",
     "http://kc.example.test:8443/realms/acme/protocol/openid-connect/token", {"realm": "acme"}),
    ("https://{*}.epichosted.com/{*}/oauth2/token",
     "https://a.b.epichosted.com/Interconnect/PRD/oauth2/token", {}),
    ("https://{*}/{*}/token", "https://idp.example.test/token", {}),
], ids=["entra-tenant", "okta-org", "keycloak-realm", "epic-hosted", "generic-token"])
def test_a_pattern_matches_and_captures(pattern: str, url: str, captures: dict) -> None:
    assert _match(pattern, url) == captures


@pytest.mark.parametrize(("pattern", "url"), [
    ("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
     "https://login.microsoftonline.com/oauth2/v2.0/token"),          # a segment short
    ("https://{org}.okta.com/oauth2/v1/token", "https://a.b.okta.com/oauth2/v1/token"),  # two labels
    ("https://{*}.epichosted.com/{*}/oauth2/token", "https://epichosted.com/x/oauth2/token"),
    ("https://{*}/{*}/token", "https://idp.example.test/tokens"),
    ("https://api.example.test:8443/token", "https://api.example.test/token"),  # port differs
])
def test_a_pattern_refuses_what_does_not_fit(pattern: str, url: str) -> None:
    assert _match(pattern, url) is None


def test_an_api_base_pattern_matches_urls_under_it() -> None:
    base = "https://{*}.epichosted.com/{*}/api/FHIR/R4"
    assert _match(base, "https://x.epichosted.com/Proxy/PRD/api/FHIR/R4/Patient/123", prefix=True) == {}
    assert _match(base, "https://x.epichosted.com/Proxy/api/FHIR/DSTU2/Patient", prefix=True) is None


@pytest.mark.parametrize("bad", ["ftp://x/token", "https://a.{*}.com/token", "https://x/{*}/a/{*}/token"])
def test_a_bad_pattern_is_a_profile_error(bad: str) -> None:
    with pytest.raises(ProfileError):
        UrlPattern.parse(bad)


def test_matching_is_linear_in_the_url() -> None:
    """A path of many segments costs in proportion (no backtracking over the segments)."""
    p = UrlPattern.parse("https://{*}.epichosted.com/{*}/api/FHIR/R4")

    def cost(n: int) -> float:
        path = "/" + "/".join(["api"] * n) + "/x"
        start = time.perf_counter()
        for _ in range(20):
            p.match("a.epichosted.com", None, path, prefix=True)
        return time.perf_counter() - start

    small, large = cost(2_000), cost(16_000)
    assert large < small * 8 * 3  # 8x the input, well under 8x squared


def test_custom_domains_match_by_the_patterns_path() -> None:
    prof = profile_from_mapping({
        "name": "epicish", "custom_domains": ["FHIR.Hospital.example"],
        "environments": {"production": {
            "token_urls": ["https://{*}.epichosted.com/{*}/oauth2/token"],
            "api_bases": ["https://{*}.epichosted.com/{*}/api/FHIR/R4"]}}})
    assert prof.match("https://fhir.hospital.example/FHIRProxy/oauth2/token") == (
        "token_exchange", "production")
    assert prof.match("https://fhir.hospital.example/FHIRProxy/api/FHIR/R4/Patient") == (
        "api_call", "production")
    assert prof.match("https://other.example/FHIRProxy/oauth2/token") == (None, None)
