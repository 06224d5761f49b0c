"""What the provider profile says about an assertion's claims: facts added to a record, no httpx.

Shared by the record builder (``hgobs.facts.record``) and pre-flight (``hgobs.preflight``), which must
run where httpx is not installed (``hgobs check-assertion`` on the lean install).
"""

from __future__ import annotations

from hgobs.profiles import Profile
from hgobs.schema import Record


def aud_facts(record: Record, profile: Profile, aud: str) -> None:
    """Add which environment ``aud`` (one string) names, in place: ``assertion.aud_exact`` (it
    is a token URL of the profile) and ``assertion.aud_environment``. Give the raw ``aud``
    where it is known: redaction may turn a tenant id in it into ``{id}``, which no longer
    names the same token URL."""
    env = profile.token_url_environment(aud)
    record["assertion.aud_exact"] = env is not None
    record["assertion.aud_environment"] = env or profile.environment_of_host(aud)


def profile_facts(record: Record, profile: Profile) -> None:
    """Add what the profile says about the record's ``aud`` (unless ``aud_facts`` did, from the
    raw value) and its limits, in place."""
    aud = record.get("assertion.aud")
    if "assertion.aud_exact" in record:
        pass
    elif isinstance(aud, str):
        aud_facts(record, profile, aud)
    elif isinstance(aud, list):
        record["assertion.aud_exact"] = False
    if record.get("assertion.source"):
        record["limits.max_lifetime_s"] = profile.max_assertion_lifetime_s
        record["limits.require_iat"] = profile.require_iat


def aud_differs_in(profile: Profile, token_url: str, auds: list[str]) -> list[str] | None:
    """Names of the URL placeholders (``tenant``, ``realm`` ...) whose value in ``aud`` differs
    from the one in the token URL called, both raw (before redaction turns a tenant id into
    ``{id}``), by ``profile``'s URL patterns; ``[]`` when one ``aud`` value names the same
    ones; None when the called URL captures nothing or no ``aud`` value is comparable. Names
    only: the values stay here. Case-insensitive (host labels and tenant ids are)."""
    called = profile.captures(token_url.split("?", 1)[0])
    if not called:
        return None
    differ: set[str] = set()
    compared = False
    for aud in auds:
        got = profile.captures(aud)
        common = [name for name in called if name in got]
        if not common:
            continue
        compared = True
        names = {name for name in common if got[name].lower() != called[name].lower()}
        if not names:
            return []
        differ |= names
    return sorted(differ) if compared else None
