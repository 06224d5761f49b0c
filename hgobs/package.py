"""The library hgobs instruments and the versions it supports (OpenTelemetry's ``package.py``).

``_instruments`` is what ``HGAuthInstrumentor.instrumentation_dependencies()`` returns and what
the ``instruments`` extra of ``pyproject.toml`` lists (a test keeps them equal); the
``opentelemetry-instrument`` loader compares it with the installed httpx before instrumenting
(opentelemetry-python-contrib, "instrumentation dependencies").
"""

from __future__ import annotations

_instruments = ("httpx >= 0.27",)
