"""--profile auto: a record's own profile, then the URL's, then generic; and what that changes."""

from __future__ import annotations

import pytest

from hgobs.config import profile_setting
from hgobs.diagnosis import diagnose
from hgobs.errors import ProfileError
from hgobs.profiles import ProfileSet, load_profile, profile_from_mapping

HG_TOKEN = "https://api.healthgorilla.com/oauth/token"


def test_auto_picks_by_record_then_url_then_generic() -> None:
    auto = ProfileSet.auto()
    assert auto.for_record({"profile": "healthgorilla", "url": "https://x.example/token"}).name == \
        "healthgorilla"
    assert auto.for_record({"url": HG_TOKEN}).name == "healthgorilla"
    assert auto.for_record({"url": "https://idp.example.test/oauth2/token"}).name == "generic"
    # captured under a profile of the user's own: judged under the default, as before
    assert auto.for_record({"profile": "my-idp", "url": "https://idp.example.test/oauth2/token"}
                           ).name == "healthgorilla"
    assert auto.for_url("https://idp.example.test/api/Patient") is None


def test_one_chosen_profile_judges_everything() -> None:
    only = ProfileSet.of("healthgorilla")
    assert only.for_record({"profile": "generic", "url": "https://idp.example.test/token"}).name == \
        "healthgorilla"


def test_auto_is_for_the_analyzer_only() -> None:
    assert isinstance(profile_setting("auto", {}, auto=True), ProfileSet)
    assert isinstance(profile_setting(None, {}, auto=True), ProfileSet)
    assert profile_setting(None, {}).name == "healthgorilla"
    with pytest.raises(ProfileError, match="name one profile"):
        profile_setting("auto", {})


def _exchange(url: str, aud: str, **extra) -> dict:
    return {"endpoint.kind": "token_exchange", "url": url, "http.status": 400,
            "response.error": "invalid_grant", "assertion.source": "client_assertion",
            "assertion.aud": aud, "time": 1_700_000_000.0, **extra}


def test_under_generic_an_aud_guess_is_only_possible() -> None:
    url = "https://idp.example.test/oauth2/token"
    generic = load_profile("generic")
    assert diagnose(_exchange(url, "https://idp.example.test"), generic).category == "unclassified"
    verdict = diagnose(_exchange(url, "https://other.example.test/oauth2/token"), generic)
    assert (verdict.category, verdict.confidence) == ("audience_mismatch", "possible")
    strict = profile_from_mapping({"name": "strict", "token_urls": {"d": url}})
    assert diagnose(_exchange(url, "https://idp.example.test"), strict).confidence == "confirmed"


def test_a_servers_429_outranks_a_claim_derived_guess() -> None:
    record = _exchange(HG_TOKEN, "https://sandbox.healthgorilla.com/oauth/token",
                       environment="production", **{"http.status": 429,
                                                    "response.retry_after_s": 5.0})
    verdict = diagnose(record, load_profile())
    assert verdict.category == "rate_limited"
    assert "environment_mismatch" in verdict.also
    # each other cause carries its own confidence: the record says which is likelier
    assert len(verdict.also_confidence) == len(verdict.also)
    fields = verdict.as_fields()
    assert dict(zip(fields["also"], fields["also_confidence"], strict=True))[
        "environment_mismatch"] == "confirmed"


def test_a_profile_error_text_outranks_and_brings_its_fix() -> None:
    url = "https://idp.example.test/oauth2/token"
    prof = profile_from_mapping({
        "name": "idp", "token_urls": {"d": url},
        "errors": [{"text": "Key Not Found", "category": "invalid_signature"}],
        "fixes": {"invalid_signature": {"fix": "Upload the key.", "link": "https://idp.example.test/k"}}})
    record = _exchange(url, "https://elsewhere.example/token",
                       **{"response.error_description": "key not found for this client"})
    verdict = diagnose(record, prof)
    assert verdict.category == "invalid_signature" and verdict.confidence == "confirmed"
    assert "server said 'key not found' (idp error text)" in verdict.evidence
    assert verdict.also == ("audience_mismatch",)
    assert verdict.fix == "Upload the key. (https://idp.example.test/k)"
    assert "for this client" not in " ".join(verdict.evidence)  # the answer is never quoted


def test_a_server_saying_not_yet_valid_names_a_one_second_skew() -> None:
    now = 1_700_000_000.0
    record = _exchange(HG_TOKEN, HG_TOKEN, **{
        "assertion.iat": now, "assertion.exp": now + 300, "server.date": now - 1,
        "response.error_description": "JWT not yet valid (iat in the future)"})
    verdict = diagnose(record, load_profile())
    assert verdict.category == "clock_skew" and verdict.confidence == "confirmed"
    assert "clock.offset_s=1" in verdict.evidence
    record.pop("response.error_description")  # no word from the server: within leeway, no skew
    assert diagnose(record, load_profile()).category != "clock_skew"


def test_a_record_of_a_users_own_profile_keeps_its_verdict_or_says_so(tmp_path) -> None:
    """Under auto, a record captured under a profile that is not built in keeps the verdict
    stamped by these rules; stamped by other rules, it is judged under the default profile
    and the analyzer says so, naming the profile."""
    import json
    import warnings

    from hgobs import api
    from hgobs.diagnosis.stamp import RULES_DIGEST

    record = {"schema": "hgobs.attempt/1", "time": 1_700_000_000.0, "profile": "my-idp",
              "endpoint.kind": "token_exchange", "url": "https://idp.example.test/oauth2/token",
              "http.status": 400, "response.error": "invalid_grant", "outcome": "failed",
              "category": "invalid_signature", "confidence": "confirmed",
              "diagnosis.rules": RULES_DIGEST, "diagnosis.profile": "my-idp:0123456789abcdef"}
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = [c.category for c in api.classify(path)]
    assert kept == ["invalid_signature"]
    assert not [w for w in caught if "not built in" in str(w.message)]
    path.write_text(json.dumps({**record, "diagnosis.rules": "0000000000000000"}) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = [c.category for c in api.classify(path)]
    assert again == ["unclassified"]  # no rule of healthgorilla decides it from these facts
    said = [str(w.message) for w in caught if "not built in" in str(w.message)]
    assert said and "(my-idp)" in said[0] and "judged under healthgorilla" in said[0]


def test_an_exact_url_wins_over_an_earlier_profiles_pattern() -> None:
    """Exact URLs of every profile are tried before any pattern, as capture's routing does:
    a catch-all pattern listed first does not take another profile's exact token URL."""
    wide = profile_from_mapping({"name": "wide", "environments": {
        "any": {"token_urls": ["https://{*}/{*}/token"]}}})
    exact = profile_from_mapping({"name": "exact", "environments": {
        "prod": {"token_urls": ["https://idp.example.test/oauth2/token"]}}})
    both = ProfileSet([wide, exact], load_profile("generic"))
    assert both.for_url("https://idp.example.test/oauth2/token").name == "exact"
    assert both.for_url("https://other.example.test/oauth2/token").name == "wide"
