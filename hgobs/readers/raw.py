"""The ``Item`` of one exchange a raw input (HAR, ``curl -v``, text log, span) shows.

The exchange is a plain ``hgobs.facts.exchange.Exchange``; ``hgobs.facts.attempt`` turns it into
the redacted record (the same code as capture) or the reason it is skipped.
"""

from __future__ import annotations

from hgobs.facts.exchange import Exchange
from hgobs.readers.base import Item, ReadContext


def build(exchange: Exchange, ctx: ReadContext, source: str) -> Item:
    """The ``Item`` for one exchange: a record, or a skip with the reason (see ``attempt``).
    Never raises for an exchange's content."""
    # Imported here: the record builder needs PyJWT, and ``hgobs analyze`` on hgobs's own logs
    # (JSON Lines, spans) should not pay for importing it.
    from hgobs.facts.attempt import attempt

    result = attempt(exchange, ctx.profiles, ctx.client_id, ctx.fingerprint)
    return Item(source, reason=result) if isinstance(result, str) else Item(source, record=result)
