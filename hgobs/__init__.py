"""hgobs: auth observability for services that call Health Gorilla and other OAuth 2.0 / RFC 7523 providers.

Capture (``HGAuthInstrumentor``, ``instrument_client``) records every OAuth 2.0 auth attempt
made with httpx as a redacted OpenTelemetry span, metrics and a JSON Lines record; the analyzer
(``hgobs analyze``, or ``analyze`` and ``classify`` from Python: ``hgobs.api``) classifies
failures with the catalog (``CATALOG``) and ``diagnose``.

``pip install hgobs`` brings capture and pre-flight (``check_assertion``) only; the service
brings httpx. ``analyze``, ``classify``, ``hgobs.analysis``, ``hgobs.reports`` and
``hgobs.emulator`` need the extras ``analyze`` and ``emulator`` (``hgobs.extras``) and raise
``MissingExtraError`` without them; they are imported when first used, so ``import hgobs``
stays lean.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
import typing

from hgobs.config import Options, Provider, resolve_options
from hgobs.diagnosis import Diagnosis, History, diagnose
from hgobs.diagnosis.catalog import CATALOG, Category
from hgobs.errors import ConfigError, HgobsError, InputError, MissingExtraError, ProfileError
from hgobs.profiles import Environment, Profile, ProfileSet, load_profile
from hgobs.schema import FIELDS, SCHEMA_ID, Record

if typing.TYPE_CHECKING:
    from hgobs.api import (
        AnalysisWarning,
        ClassifiedRecord,
        Report,
        Skipped,
        analyze,
        classify,
    )
    from hgobs.capture.instrumentor import (
        HGAuthInstrumentor,
        instrument_client,
        uninstrument_client,
    )
    from hgobs.capture.logfilter import HttpxLogRedactor
    from hgobs.capture.spanredactor import ForeignSpanRedactor
    from hgobs.preflight import Finding, check_assertion

_LAZY = {"HGAuthInstrumentor": "hgobs.capture.instrumentor",
         "instrument_client": "hgobs.capture.instrumentor",
         "uninstrument_client": "hgobs.capture.instrumentor",
         "ForeignSpanRedactor": "hgobs.capture.spanredactor",
         "HttpxLogRedactor": "hgobs.capture.logfilter",
         "Finding": "hgobs.preflight", "check_assertion": "hgobs.preflight",
         "AnalysisWarning": "hgobs.api", "Report": "hgobs.api", "Skipped": "hgobs.api",
         "ClassifiedRecord": "hgobs.api", "analyze": "hgobs.api", "classify": "hgobs.api"}


def __getattr__(name: str) -> typing.Any:
    """The capture, pre-flight and analysis API, imported when first used (capture loads
    httpx, which the service brings, and OpenTelemetry; pre-flight loads PyJWT alone; the
    analysis needs the ``analyze`` extra: ``MissingExtraError`` naming it when absent)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hgobs' has no attribute {name!r}")
    if module == "hgobs.api":
        from hgobs.extras import require

        require(("analyze",), f"hgobs.{name}")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name != "httpx":
            raise
        # The service brings httpx; without it the capture API says what to install.
        raise MissingExtraError(("instruments",), "httpx", f"hgobs.{name}") from None

__all__ = [
    "AnalysisWarning",
    "CATALOG",
    "Category",
    "ClassifiedRecord",
    "ConfigError",
    "Diagnosis",
    "Environment",
    "FIELDS",
    "Finding",
    "ForeignSpanRedactor",
    "HGAuthInstrumentor",
    "HgobsError",
    "History",
    "HttpxLogRedactor",
    "InputError",
    "MissingExtraError",
    "Options",
    "Profile",
    "ProfileError",
    "ProfileSet",
    "Provider",
    "Record",
    "Report",
    "SCHEMA_ID",
    "Skipped",
    "__version__",
    "analyze",
    "check_assertion",
    "classify",
    "diagnose",
    "instrument_client",
    "load_profile",
    "resolve_options",
    "uninstrument_client",
]
