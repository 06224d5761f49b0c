"""What the provider profile says about an assertion's claims: facts added to a record, no httpx.

Shared by the record builder (``hgobs.facts.record``) and pre-flight (``hgobs.preflight``), which must
run where httpx is not installed (``hgobs check-assertion`` on the lean install).
"""

from __future__ import annotations

from hgobs.profiles import Profile
from hgobs.schema import Record


def profile_facts(record: Record, profile: Profile) -> None:
    """Add what the profile says about the record's ``aud`` and its limits, in place."""
    aud = record.get("assertion.aud")
    if isinstance(aud, str):
        env = profile.token_url_environment(aud)
        record["assertion.aud_exact"] = env is not None
        record["assertion.aud_environment"] = env or profile.environment_of_host(aud)
    elif isinstance(aud, list):
        record["assertion.aud_exact"] = False
    if record.get("assertion.source"):
        record["limits.max_lifetime_s"] = profile.max_assertion_lifetime_s
        record["limits.require_iat"] = profile.require_iat
