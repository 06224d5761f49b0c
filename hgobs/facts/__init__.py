"""Facts: the pure readers of an HTTP exchange's parts, shared by capture and the raw readers.

``oauth`` (token request and response bodies, credentials presented), ``jwtpeek`` (assertion
claims, unverified), ``challenges`` (``WWW-Authenticate``), ``claims`` (what the profile says
about them) and ``text`` (the record's text made encodable). Nothing here imports httpx or
``hgobs.capture``.
"""
