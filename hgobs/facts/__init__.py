"""Facts: one plain HTTP exchange (no httpx) turned into the redacted auth attempt record.

``exchange`` describes the exchange; ``record`` builds the record from it (with ``oauth``,
``jwtpeek``, ``challenges``, ``claims`` reading its parts and ``text`` making the record's
text encodable); ``attempt`` is the entry of the raw readers (HAR, ``curl -v``, text logs,
spans). Capture adapts httpx to ``exchange`` in ``hgobs.capture.record``. Nothing here imports
httpx or ``hgobs.capture``.
"""
