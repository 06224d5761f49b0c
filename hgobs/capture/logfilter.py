"""A logging filter that redacts the URL in httpx's ``HTTP Request: ...`` INFO log line.

httpx logs every request it sends on logger ``httpx`` at INFO (``HTTP Request: GET
https://host/fhir/R4/Patient?family=... "HTTP/1.1 200 OK"``), with the full URL as one of the
record's ``args``: FHIR search values and resource ids in any handler that prints INFO.
``HttpxLogRedactor`` rewrites that argument with ``hgobs.redaction.redact_url`` (query values
dropped, ids replaced by ``{id}``, user info removed) before any handler formats the record.
"""

from __future__ import annotations

import logging
from typing import Any

from hgobs.capture.guard import guarded
from hgobs.capture.urlscope import UrlScope
from hgobs.profiles import Profile
from hgobs.redaction import redact_url

HTTPX_LOGGER = "httpx"


class HttpxLogRedactor(logging.Filter):
    """``logging.Filter`` for httpx's request log line; never drops a record.

    ``scope``: a ``UrlScope`` (only URLs of its profiles are rewritten, as for spans) or None
    (every URL in the line). Add it to the ``httpx`` logger (filters of a
    logger run before its handlers and its ancestors' handlers)::

        logging.getLogger("httpx").addFilter(HttpxLogRedactor())

    hgobs adds one with the active profile's scope when it is instrumented (unless
    ``HGOBS_REDACT_SPANS=false``). The message template is left as it is; only URL arguments
    (an ``httpx.URL`` or a string with ``://``) change. A failure leaves the record unchanged.
    """

    def __init__(self, scope: UrlScope | None = None) -> None:
        super().__init__()
        self.scope = scope

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite URL arguments of ``record`` in place; always True (the record is kept)."""
        args = record.args
        if type(args) is tuple and args:
            guarded("redact log", self._rewrite, record, args)
        return True

    def _rewrite(self, record: logging.LogRecord, args: tuple[Any, ...]) -> None:
        out = list(args)
        changed = False
        for i, arg in enumerate(args):
            if type(arg) is str:
                text = arg
            elif type(arg).__name__ == "URL" and type(arg).__module__.startswith("httpx"):
                text = str(arg)
            else:
                continue
            if "://" not in text:
                continue
            if self.scope is None:
                clean = redact_url(text)
            else:
                clean = self.scope.clean(text) or text
            if clean != text:
                out[i], changed = clean, True
        if changed:
            record.args = tuple(out)


_default: HttpxLogRedactor | None = None


def attach(profile: Profile) -> HttpxLogRedactor:
    """Add a ``HttpxLogRedactor`` for ``profile``'s URLs to the ``httpx`` logger, or add the
    profile to the scope of the one hgobs added before; returns it. Never raises."""
    global _default
    logger = logging.getLogger(HTTPX_LOGGER)
    if _default is not None and _default in logger.filters and _default.scope is not None:
        _default.scope.add(profile)
        return _default
    _default = HttpxLogRedactor(UrlScope([profile]))
    logger.addFilter(_default)
    return _default
