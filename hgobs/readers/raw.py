"""Raw HTTP exchanges (from HAR, ``curl -v`` transcripts, text logs) -> auth attempt records.

Raw inputs hold assertions and tokens in clear. They are turned into the same redacted record
as capture makes, by the same code (``hgobs.capture.record.RecordBuilder``) with a clock fixed
at the exchange's own time, so no raw secret survives the reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hgobs.readers.base import Item, ReadContext
from hgobs.schema import Record

Headers = list[tuple[str, str]]


@dataclass
class RawExchange:
    """One HTTP request and what came back, as read from a raw input.

    ``time`` is the client's clock at send (epoch seconds); ``status`` is None when no response
    was seen (``error`` then names why, e.g. ``ConnectTimeout``). Bodies are bytes, or None when
    the input did not show them (unknown, not empty). ``credentials_known`` False: the input does
    not show the request's credentials header, so nothing is said about it. ``client_clock``
    False: ``time`` was taken from the server's ``Date``, so no clock offset can be known.
    """

    time: float
    method: str
    url: str
    request_headers: Headers = field(default_factory=list)
    request_body: bytes | None = None
    status: int | None = None
    response_headers: Headers = field(default_factory=list)
    response_body: bytes | None = None
    duration_s: float | None = None
    error: str | None = None
    credentials_known: bool = True
    client_clock: bool = True


_REQUEST_BODY_FACTS = ("request.body_kind", "request.is_form", "request.body_bytes")


def _drop_unknown(raw: RawExchange, record: Record) -> None:
    """Remove the facts about parts of the exchange the input did not show."""
    if raw.request_body is None and record.get("request.body_kind") != "multipart":
        for name in _REQUEST_BODY_FACTS:
            record.pop(name, None)
    if not raw.credentials_known and record.get("endpoint.kind") != "token_exchange":
        for name in [k for k in record if k.startswith("presented.")]:
            del record[name]
    if not raw.client_clock:
        record.pop("clock.offset_s", None)


def build(raw: RawExchange, ctx: ReadContext, source: str) -> Item:
    """The ``Item`` for one raw exchange: a record, or a skip when it is not an auth attempt.

    Never raises: a URL or header httpx cannot parse yields a skip with the reason.
    """
    # Imported here: the capture machinery (httpx, PyJWT) is needed only by raw inputs, and
    # ``hgobs analyze`` on hgobs's own logs should not pay for importing it.
    import httpx

    from hgobs.capture.record import RecordBuilder, plan_request
    from hgobs.config import Options

    try:
        request = httpx.Request(raw.method.upper(), raw.url, headers=raw.request_headers,
                                content=raw.request_body or b"")
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError) as exc:
        return Item(source, reason=f"request cannot be parsed ({type(exc).__name__})")
    options = Options(profile=ctx.profile, client_id=ctx.client_id, clock=lambda: raw.time)
    plan = plan_request(request, options)
    if plan is None:
        return Item(source, reason="not an auth attempt (no token URL or API base of the profile)")
    builder = RecordBuilder(options, ctx.fingerprint)
    record: Record
    if raw.status is None:
        if plan.kind != "token_exchange":
            return Item(source, reason="API call without a response")
        record = builder.transport_error(request, plan, raw.time, raw.error or "NoResponse")
    else:
        try:
            response = httpx.Response(raw.status, headers=raw.response_headers,
                                      content=raw.response_body or b"", request=request)
        except (ValueError, TypeError, UnicodeError) as exc:
            return Item(source, reason=f"response cannot be parsed ({type(exc).__name__})")
        if plan.kind == "token_exchange":
            body = raw.response_body if raw.response_body is not None else None
            record, _ = builder.exchange(request, plan, raw.time, response, body)
        else:
            record = builder.api_call(request, plan, raw.time, response)
    _drop_unknown(raw, record)
    if raw.duration_s is not None:
        record["duration_s"] = raw.duration_s
    return Item(source, record=record)
