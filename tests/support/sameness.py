"""What the application sees of one request, to compare a plain client with an instrumented one.

``Outcome.of(call)`` runs ``call`` and keeps the response's status, reason, HTTP version, URL,
headers (without ``Date``), body bytes and text, ``history`` statuses and the next request of a
redirect not followed; or, when it raised, the exception type and message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Outcome:
    """The application-visible result of one request."""

    status: int | None = None
    reason: str | None = None
    http_version: str | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    text: str | None = None
    history: tuple[int, ...] = ()
    next_url: str | None = None
    exc_type: type[BaseException] | None = None
    exc_message: str | None = None

    @classmethod
    def of_response(cls, r: httpx.Response, body: bytes | None = None) -> Outcome:
        content = r.content if body is None else body
        return cls(
            status=r.status_code,
            reason=r.reason_phrase,
            http_version=r.http_version,
            url=str(r.url),
            headers=tuple((k.lower(), v) for k, v in r.headers.multi_items()
                          if k.lower() != "date"),
            body=content,
            text=content.decode(r.encoding or "utf-8", errors="replace"),
            history=tuple(h.status_code for h in r.history),
            next_url=str(r.next_request.url) if r.next_request is not None else None,
        )

    @classmethod
    def of_error(cls, exc: BaseException) -> Outcome:
        return cls(exc_type=type(exc), exc_message=str(exc))

    @classmethod
    def of(cls, call: Callable[[], Any]) -> Outcome:
        try:
            result = call()
        except Exception as exc:
            return cls.of_error(exc)
        return result if isinstance(result, Outcome) else cls.of_response(result)

    @classmethod
    async def of_async(cls, call: Callable[[], Awaitable[Any]]) -> Outcome:
        try:
            result = await call()
        except Exception as exc:
            return cls.of_error(exc)
        return result if isinstance(result, Outcome) else cls.of_response(result)
