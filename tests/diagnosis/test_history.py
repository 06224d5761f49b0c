"""``History`` keeps each fact for its time horizon, whatever other clients write meanwhile."""

from __future__ import annotations

import math

from hgobs.diagnosis import History, diagnose
from hgobs.diagnosis.history import (
    CLIENT_ENV_HORIZON_S,
    DEFAULT_EXPIRES_IN_S,
    ISSUED_GRACE_S,
    TRACE_HORIZON_S,
)
from hgobs.diagnosis.rules import LEEWAY_S
from hgobs.profiles import load_profile

PROFILE = load_profile()
T0 = 1_764_000_000.0


def exchange(t: float, fp: str, exp: float | None, status: int = 200, **more) -> dict:
    """A token exchange at ``t`` sending assertion ``fp`` (expiring at ``exp``)."""
    r = {"time": t, "endpoint.kind": "token_exchange", "assertion.source": "assertion",
         "assertion.fp": fp, "http.status": status, **more}
    if exp is not None:
        r["assertion.exp"] = exp
    return r


def api(t: float, presented: str, status: int = 401, **more) -> dict:
    """An API call at ``t`` presenting access value ``presented``."""
    return {"time": t, "endpoint.kind": "api_call", "presented.fp": presented,
            "http.status": status, **more}


def test_a_reuse_is_caught_after_300_000_records_of_other_clients():
    """Client A's assertion, sent again an hour later, is still known as sent before, with
    300,000 exchanges of other clients in between (under the analyzer's 200,000-entry cap,
    which they never reach: each expires after its own five minutes); nothing overflowed."""
    history = History(max_entries=200_000, profile=PROFILE)
    history.annotate(exchange(T0, "client-a", T0 + 3590))
    step = 3500 / 300_000
    for i in range(300_000):
        t = T0 + 1 + i * step
        history.annotate(exchange(t, f"{i:x}", t + 300))
    again = exchange(T0 + 3550, "client-a", T0 + 3590, status=400, **{"response.error": "invalid_grant"})
    history.annotate(again)
    assert again["assertion.reused_after_s"] == 3550
    assert history.overflowed == 0
    assert diagnose(again, PROFILE).category == "assertion_reuse"
    assert len(history) < 30_000  # only the last five minutes' assertions are held


def test_an_assertion_is_forgotten_once_expired_and_its_reuse_is_an_expired_assertion():
    """After ``exp`` plus the leeway a server refuses the assertion as expired and keeps no
    ``jti`` for it (RFC 7523 section 3, RFC 7519 section 4.1.7): the second sending is
    diagnosed ``expired_assertion``, with no reuse fact; within the leeway it is a reuse."""
    history = History(profile=PROFILE)
    history.annotate(exchange(T0, "a", T0 + 300))
    late = exchange(T0 + 300 + LEEWAY_S + 1, "a", T0 + 300, status=400,
                    **{"response.error": "invalid_grant"})
    history.annotate(late)
    assert "assertion.reused_after_s" not in late
    verdict = diagnose(late, PROFILE)
    assert (verdict.category, verdict.also) == ("expired_assertion", ())
    assert len(history) == 1  # the first one was dropped, the late one is held till its exp
    history = History(profile=PROFILE)
    history.annotate(exchange(T0, "b", T0 + 300))
    within = exchange(T0 + 300 + LEEWAY_S - 1, "b", T0 + 300, status=400)
    history.annotate(within)
    assert within["assertion.reused_after_s"] == 300 + LEEWAY_S - 1
    assert diagnose(within, PROFILE).also == ("assertion_reuse",)


def test_without_exp_an_assertion_lives_the_profiles_longest_lifetime():
    """No usable ``exp``: remembered for ``max_assertion_lifetime_s`` plus the leeway."""
    horizon = PROFILE.max_assertion_lifetime_s + LEEWAY_S
    for after, found in ((horizon - 1, True), (horizon + 1, False)):
        history = History(profile=PROFILE)
        history.annotate(exchange(T0, "a", None))
        again = exchange(T0 + after, "a", None)
        history.annotate(again)
        assert ("assertion.reused_after_s" in again) is found, after


def test_an_issued_value_is_known_until_expires_in_plus_grace():
    """``presented.age_s`` is found up to ``expires_in`` plus ``ISSUED_GRACE_S`` after the
    issue, and not after; without ``expires_in``, ``DEFAULT_EXPIRES_IN_S`` stands in."""
    for expires_in, ttl in ((600.0, 600.0), (None, DEFAULT_EXPIRES_IN_S)):
        history = History(profile=PROFILE)
        issued = {"time": T0, "endpoint.kind": "token_exchange", "http.status": 200,
                  "issued.fp": "tok", "environment": "sandbox"}
        if expires_in is not None:
            issued["issued.expires_in"] = expires_in
        history.annotate(issued)
        seen = api(T0 + ttl + ISSUED_GRACE_S - 1, "tok")
        history.annotate(seen)
        assert seen["presented.age_s"] == ttl + ISSUED_GRACE_S - 1
        assert seen["presented.issued_environment"] == "sandbox"
        gone = api(T0 + ttl + ISSUED_GRACE_S + 1, "tok")
        history.annotate(gone)
        assert "presented.age_s" not in gone


def test_a_trace_points_at_its_failed_exchange_for_minutes():
    """A refused call after a failed exchange of its trace points at it within
    ``TRACE_HORIZON_S``, whatever other traces did meanwhile; later it does not."""
    history = History(profile=PROFILE, trace_entries=10)
    failed = {"time": T0, "endpoint.kind": "token_exchange", "http.status": 400,
              "trace_id": "t1", "span_id": "s1"}
    history.annotate(failed)
    failed.update(diagnose(failed, PROFILE).as_fields())
    for i in range(5):  # other traces, fewer than the cap
        history.annotate({"time": T0 + 1, "endpoint.kind": "token_exchange",
                          "http.status": 200, "trace_id": f"o{i}"})
    soon = api(T0 + TRACE_HORIZON_S - 1, "x", trace_id="t1")
    history.annotate(soon)
    assert (soon["presented.after_failed_exchange"], soon["presented.exchange_span_id"]) == (
        failed["category"], "s1")
    late = api(T0 + TRACE_HORIZON_S + 1, "x", trace_id="t1")
    history.annotate(late)
    assert "presented.after_failed_exchange" not in late


def test_the_environment_a_client_succeeded_in_is_remembered_for_its_horizon():
    """A failure in another environment names where the same ``iss`` last succeeded, up to
    ``CLIENT_ENV_HORIZON_S`` after that success."""
    for after, found in ((CLIENT_ENV_HORIZON_S - 1, True), (CLIENT_ENV_HORIZON_S + 1, False)):
        history = History(profile=PROFILE)
        history.annotate({"time": T0, "endpoint.kind": "token_exchange", "http.status": 200,
                          "assertion.iss_fp": "iss", "environment": "sandbox",
                          "issued.fp": "tok"})
        failure = {"time": T0 + after, "endpoint.kind": "token_exchange", "http.status": 401,
                   "assertion.iss_fp": "iss", "environment": "production"}
        history.annotate(failure)
        assert failure.get("assertion.iss_ok_environment") == ("sandbox" if found else None)


def test_the_cap_counts_what_it_pushes_out_before_its_horizon():
    """Over ``max_entries`` live assertions, the earliest to expire goes and ``overflowed``
    counts it: the reuse it would have shown is missed, and the count says so."""
    history = History(max_entries=10, profile=PROFILE)
    for i in range(15):
        history.annotate(exchange(T0 + i, f"a{i}", T0 + 300 + i))
    assert history.overflowed == 5
    first, last = exchange(T0 + 20, "a0", T0 + 300), exchange(T0 + 20, "a14", T0 + 314)
    history.annotate(first)
    history.annotate(last)
    assert "assertion.reused_after_s" not in first and last["assertion.reused_after_s"] == 6


def test_records_without_a_finite_time_neither_learn_nor_teach():
    """NaN, infinite or missing ``time``: no facts added, nothing remembered."""
    history = History(profile=PROFILE)
    for t in (math.nan, math.inf, -math.inf, None, "1764000000"):
        r = exchange(t, "a", T0 + 300)  # type: ignore[arg-type]
        history.annotate(r)
        assert "assertion.reused_after_s" not in r
    assert len(history) == 0


def test_expired_entries_make_room_before_the_cap_counts_anything():
    """Entries that expired between two purges leave first when a cap is reached: only live
    entries pushed out count as ``overflowed``."""
    history = History(max_entries=5, profile=PROFILE)
    for i in range(20):  # each expires 0.05 s after it is sent, the next comes 0.1 s later
        t = T0 + i / 10
        history.annotate(exchange(t, f"a{i}", t + 0.05 - LEEWAY_S))
    assert history.overflowed == 0 and len(history) <= 5


def test_a_key_whose_expiry_moves_keeps_the_heap_bounded_by_the_entries():
    """An assertion without ``exp`` sent again and again (a client caching one) moves its
    keys' expiry on every exchange, many times a second: the heap of expiries is rebuilt from
    the live entries instead of keeping every earlier expiry until it runs out (an hour here,
    a day at most), and the reuse is still caught."""
    history = History(max_entries=200_000, profile=PROFILE)
    for i in range(50_000):
        r = exchange(T0 + i / 100, "one-assertion", None,
                     **{"assertion.iss_fp": "iss", "assertion.jti_fp": "same-jti"})
        history.annotate(r)
    table = history._assertions
    assert len(table.entries) == 2  # the assertion and its jti
    assert len(table.heap) <= 2 * len(table.entries) + 64
    assert r["assertion.reused_after_s"] == 499.99
