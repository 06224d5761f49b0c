"""An exchange read from a raw input (HAR, ``curl -v``, text log, span) -> a record or a skip reason.

Raw inputs hold assertions and tokens in clear. They are turned into the same redacted record
as capture makes, by the same code (``hgobs.facts.record.RecordBuilder``), at the exchange's own
time, so no raw secret survives the reading. What the input did not show is left out of the
record rather than recorded as absent.
"""

from __future__ import annotations

from dataclasses import replace

from hgobs.facts.exchange import Exchange, request_url, text_problem, url_problem
from hgobs.facts.record import RecordBuilder, plan
from hgobs.profiles import TOKEN_EXCHANGE, Profile, ProfileSet
from hgobs.redaction import Fingerprinter
from hgobs.schema import Record

_REQUEST_BODY_FACTS = ("request.body_kind", "request.is_form", "request.body_bytes")


def _drop_unknown(exchange: Exchange, record: Record) -> None:
    """Remove the facts about parts of the exchange the input did not show."""
    if exchange.request_body is None and record.get("request.body_kind") != "multipart":
        for name in _REQUEST_BODY_FACTS:
            record.pop(name, None)
    if not exchange.credentials_known and record.get("endpoint.kind") != TOKEN_EXCHANGE:
        for name in [k for k in record if k.startswith("presented.")]:
            del record[name]
    if not exchange.credentials_known:
        record.pop("presented.on_final_request", None)
        if record.get("request.client_proof") == "none":
            del record["request.client_proof"]  # a hidden Basic header may have carried one
    if not exchange.client_clock:
        record.pop("clock.offset_s", None)


def attempt(exchange: Exchange, profile: Profile | ProfileSet, client_id: str | None,
            fingerprint: Fingerprinter) -> Record | str:
    """The record of one exchange read from a raw input, or why it is skipped (a reason that
    never quotes the input). Never raises for an exchange's content.

    Skipped: a request URL or header a client could not send (``request cannot be parsed
    (InvalidURL)``, ``(UnicodeEncodeError)``; ``hgobs.facts.exchange.url_problem``), a request
    that is no auth attempt of ``profile`` (one profile, or a ``ProfileSet`` whose profile for
    the URL then builds the record), an API call without a response, and a response
    header that is not ASCII. A request body the input did not show (None) is read as empty and
    its ``request.body_*`` facts are then dropped.
    """
    problem = url_problem(exchange.url) or text_problem(exchange.request_headers)
    if problem is not None:
        return f"request cannot be parsed ({problem})"
    exchange = replace(exchange, method=exchange.method.upper(), url=request_url(exchange.url))
    shown = replace(exchange, request_body=exchange.request_body or b"")
    if isinstance(profile, ProfileSet):
        found = profile.for_url(shown.url)
        if found is None:
            return "not an auth attempt (no token URL or API base of the profile)"
        profile = found
    planned = plan(profile, shown.method, shown.url, shown.request_headers, shown.request_body)
    if planned is None:
        return "not an auth attempt (no token URL or API base of the profile)"
    builder = RecordBuilder(profile, client_id, fingerprint)
    record: Record
    if exchange.status is None:
        if planned.kind != TOKEN_EXCHANGE:
            return "API call without a response"
        record, _ = builder.exchange(shown, planned)
    else:
        problem = text_problem(exchange.response_headers)
        if problem is not None:
            return f"response cannot be parsed ({problem})"
        if planned.kind == TOKEN_EXCHANGE:
            record, _ = builder.exchange(shown, planned)
        else:
            record = builder.api_call(shown, planned)
    _drop_unknown(exchange, record)
    if exchange.duration_s is not None:
        record["duration_s"] = exchange.duration_s
    return record
