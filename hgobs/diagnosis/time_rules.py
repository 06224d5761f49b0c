"""Rules of an assertion's times: lifetime, expiry, not yet valid, and the client's clock.

One small predicate per catalog category, with the contract of ``hgobs.diagnosis.rules``
(which re-exports them, so ``Category.rule`` names them there). Times are judged at the
record's own ``time`` (the client's clock at send) against the profile's limits and leeway
(``Profile.max_assertion_lifetime_s``, ``Profile.leeway_s``) and, for the clock, against the
server's ``Date`` (``server.date``). Server words are matched as literal substrings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hgobs.diagnosis.catalog import CONFIRMED, LIKELY
from hgobs.diagnosis.read import (
    error,
    is_exchange,
    refused_like,
    server_said,
    server_said_word,
    to_seconds,
)
from hgobs.profiles.model import words_of

if TYPE_CHECKING:
    from hgobs.diagnosis.rules import Context, Verdict

Record = dict[str, Any]
LIFETIME_WORDS = ("too far", "lifetime")
"""Words a server uses for an ``exp`` too far ahead (with "exp... future", ``_exp_then_future``)."""
NOT_YET_VALID_WORDS = ("not yet valid", "future", "issued in")
"""Words a server uses for an assertion that is not yet valid (with the words iat and nbf)."""


def _exp_then_future(r: Record) -> bool:
    """The server's words say "exp... future": a word beginning ``exp`` (its run of letters,
    digits and ``_`` reaching a space) and the word ``future`` after it. Linear: each
    space-separated chunk before the last ``future`` is looked at once."""
    said = words_of(r)
    last = said.rfind("future")
    if last < 0:
        return False
    for chunk in said[:last].split(" ")[:-1]:
        run = len(chunk)
        while run > 0 and (chunk[run - 1].isalnum() or chunk[run - 1] == "_"):
            run -= 1
        if "exp" in chunk[run:]:
            return True
    return False


def _said_not_yet_valid(r: Record) -> bool:
    """The server says the assertion is not yet valid (``NOT_YET_VALID_WORDS`` or the words
    iat / nbf)."""
    return server_said(r, NOT_YET_VALID_WORDS) or server_said_word(r, "iat") or \
        server_said_word(r, "nbf")


def assertion_lifetime_too_long(r: Record, ctx: Context) -> Verdict | None:
    """exp - iat over the profile's limit, or the server says exp is too far ahead."""
    if r.get("assertion.source") == "bearer" or not is_exchange(r):
        return None
    lifetime = r.get("assertion.lifetime_s")
    limit = r.get("limits.max_lifetime_s", ctx.profile.max_assertion_lifetime_s)
    said = server_said(r, LIFETIME_WORDS) or _exp_then_future(r)
    if lifetime is not None and limit is not None and lifetime > limit:
        return (CONFIRMED if said or error(r) in ("invalid_grant", "invalid_client") else LIKELY), [
            f"assertion.lifetime_s={lifetime:g}", f"limit={limit:g}"]
    exp, now = to_seconds(r.get("assertion.exp")), r.get("time")
    if lifetime is None and limit is not None and exp is not None and isinstance(now, (int, float)) \
            and exp - now > limit + ctx.profile.leeway_s:
        # No iat: the limit counts from the moment it is sent (SMART Backend Services: exp "no
        # more than five minutes in the future").
        return (CONFIRMED if said or error(r) in ("invalid_grant", "invalid_client") else LIKELY), [
            f"exp is {exp - now:g} s after the client clock (no iat)", f"limit={limit:g}"]
    if said:
        return CONFIRMED, ["server says exp is too far ahead"]
    return None


def expired_assertion(r: Record, ctx: Context) -> Verdict | None:
    """exp <= the client clock at send (RFC 7523 section 3; HG guide, expired assertion)."""
    if r.get("assertion.source") == "bearer" or not is_exchange(r):
        return None
    exp, now = to_seconds(r.get("assertion.exp")), r.get("time")
    if exp is None or now is None or exp > now:
        return None
    said = server_said(r, ("expired", "valid time", "time range", "too old"))
    conf = CONFIRMED if said or error(r) in ("invalid_grant", "invalid_client") or \
        r.get("response.body_empty") else LIKELY
    return conf, [f"assertion.seconds_to_expiry={exp - now:g}", *_offset(r, now)]


def assertion_not_yet_valid(r: Record, ctx: Context) -> Verdict | None:
    """iat or nbf after the client clock at send (RFC 7519 4.1.5-4.1.6, with leeway)."""
    if r.get("assertion.source") == "bearer" or not is_exchange(r):
        return None
    now = r.get("time")
    if now is None:
        return None
    ahead = [name for name in ("iat", "nbf")
             if (t := to_seconds(r.get(f"assertion.{name}"))) is not None
             and t > now + ctx.profile.leeway_s]
    if not ahead:
        return None
    said = _said_not_yet_valid(r)
    conf = CONFIRMED if said or error(r) in ("invalid_grant", "invalid_client") or \
        r.get("response.body_empty") else LIKELY
    seconds = {n: to_seconds(r.get(f"assertion.{n}")) for n in ahead}
    return conf, [*(f"assertion.{n} is {t - now:g} s after the client clock"
                    for n, t in seconds.items() if t is not None), *_offset(r, now)]


def _offset(r: Record, now: float) -> list[str]:
    """``clock.offset_s`` (client clock minus the server's ``Date``) as evidence when the
    server sent a Date and the clocks differ, even by less than the leeway: a time verdict
    then shows whether the client's clock took part (RFC 9110 section 6.6.1)."""
    server = r.get("server.date")
    if not isinstance(server, (int, float)) or now == server:
        return []
    return [f"clock.offset_s={now - server:g}"]


def clock_skew(r: Record, ctx: Context) -> Verdict | None:
    """Valid by the client clock, invalid by the server's Date (RFC 7519 4.1.4)."""
    if r.get("assertion.source") == "bearer" or not is_exchange(r):
        return None
    now, server = r.get("time"), r.get("server.date")
    exp = to_seconds(r.get("assertion.exp"))
    iat = to_seconds(r.get("assertion.iat"))
    nbf = to_seconds(r.get("assertion.nbf"))
    if now is None or server is None:
        return None
    leeway = ctx.profile.leeway_s
    valid_by_client = (exp is None or exp > now) and all(
        t is None or t <= now + leeway for t in (iat, nbf))
    if not valid_by_client:
        return None
    ev = [f"clock.offset_s={now - server:g}"]
    if exp is not None and exp <= server:
        ev.append("exp <= server Date")
    elif any(t is not None and t > server + leeway for t in (iat, nbf)):
        ev.append("iat or nbf after server Date")
    elif now > server and any(t is not None and t > server for t in (iat, nbf)) \
            and _said_not_yet_valid(r):
        # Inside the leeway by our count, but the server says the assertion is not yet valid:
        # its own leeway is smaller (RFC 7519 section 4.1.4 leaves it to the server).
        return CONFIRMED, [*ev, "iat or nbf after server Date", "server says not yet valid"]
    else:
        return None
    return refused_like(r, "invalid_grant", "invalid_client"), ev
