"""Options: a frozen dataclass, and the one place that reads ``HGOBS_*`` environment variables.

Environment variables are read when ``resolve_options`` is called (at instrument time) or, for
the analyzer (``hgobs.api``, the CLI), by ``profile_setting`` and ``fingerprint_key_setting``,
never at import; keyword arguments win over the environment. No other module reads ``HGOBS_*``
(``tests/test_config.py`` checks it).

| variable | option | default |
|---|---|---|
| ``HGOBS_PROFILE`` | ``profile`` | ``healthgorilla`` (or a path to a profile TOML file) |
| ``HGOBS_CLIENT_ID`` | ``client_id`` | none |
| ``HGOBS_JSONL_PATH`` | ``jsonl_path`` | none (no file) |
| ``HGOBS_FINGERPRINT_KEY`` | ``fingerprint_key`` | a random key per process |
| ``HGOBS_REDACT_SPANS`` | ``redact_spans`` | ``true`` (``false``/``0``/``no``/``off`` turns it off) |
| ``HGOBS_URL_TEMPLATE`` | ``url_template`` | ``false`` (``true``/``1``/``yes``/``on`` turns it on) |
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, overload

from hgobs.errors import ConfigError, ProfileError
from hgobs.profiles import AUTO, BUILTIN, DEFAULT, Profile, ProfileSet, load_profile

ENV_VARS = {
    "profile": "HGOBS_PROFILE",
    "client_id": "HGOBS_CLIENT_ID",
    "jsonl_path": "HGOBS_JSONL_PATH",
    "fingerprint_key": "HGOBS_FINGERPRINT_KEY",
    "redact_spans": "HGOBS_REDACT_SPANS",
    "url_template": "HGOBS_URL_TEMPLATE",
}
_FALSE, _TRUE = frozenset({"false", "0", "no", "off"}), frozenset({"true", "1", "yes", "on"})
DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Options:
    """Capture options.

    - ``profile``: the provider profile (default: Health Gorilla).
    - ``client_id``: the configured client id; ``iss``/``sub`` are compared with it.
    - ``jsonl_path``: file to append one JSON record per attempt to; None for no file.
    - ``fingerprint_key``: HMAC key (bytes) for fingerprints; None for a random per-process key.
    - ``clock``: returns the client time in epoch seconds; every time-based fact uses it once per
      request, at send (inject a fixed clock to replay a recorded case).
    - ``max_body_bytes``: the most of a token endpoint response hgobs reads (bytes).
    - ``history_entries``: bound of each history table (assertions, issued values).
    - ``redact_spans``: apply hgobs's URL redaction to other instrumentations' spans and to
      httpx's request log line for the profile's URLs (``docs/redaction.md``).
    - ``url_template``: set the opt-in ``url.template`` (the redacted path, ids as ``{id}``) on
      hgobs's HTTP CLIENT spans and name them ``{method} {url.template}`` (HTTP semconv).
    """

    profile: Profile = field(default_factory=load_profile)
    client_id: str | None = None
    jsonl_path: Path | None = None
    fingerprint_key: bytes | None = field(default=None, repr=False)
    clock: Callable[[], float] = time.time
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    history_entries: int = 10_000
    redact_spans: bool = True
    url_template: bool = False


def resolve_options(environ: Mapping[str, str] | None = None, **kwargs: Any) -> Options:
    """Build ``Options`` from keyword arguments, falling back to ``HGOBS_*`` variables.

    ``environ`` defaults to ``os.environ``. Unknown keyword arguments are ignored (the
    instrumentor also receives OpenTelemetry's own). Raises ``ConfigError`` for a bad value and
    ``ProfileError`` for a profile that cannot be loaded.
    """
    pick = _picker(kwargs, environ)
    profile_spec = pick("profile") or "healthgorilla"
    profile = profile_spec if isinstance(profile_spec, Profile) else load_profile(profile_spec)
    key = pick("fingerprint_key")
    if isinstance(key, str):
        key = key.encode("utf-8")
    if key is not None and len(key) < 16:
        raise ConfigError(_named("fingerprint_key", kwargs), "must be at least 16 bytes")
    jsonl = pick("jsonl_path")
    clock = kwargs.get("clock") or time.time
    if not callable(clock):
        raise ConfigError("clock", "must be a callable returning epoch seconds")
    max_body = int(kwargs.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES)
    if max_body <= 0:
        raise ConfigError("max_body_bytes", "must be positive")
    redact, template = _flag(pick, "redact_spans", True), _flag(pick, "url_template", False)
    return Options(
        profile=profile,
        client_id=pick("client_id"),
        jsonl_path=Path(jsonl) if jsonl else None,
        fingerprint_key=key,
        clock=clock,
        max_body_bytes=max_body,
        history_entries=int(kwargs.get("history_entries") or 10_000),
        redact_spans=redact,
        url_template=template,
    )


OTEL_KEYWORDS = frozenset({"tracer_provider", "meter_provider", "logger_provider",
                           "event_logger_provider", "raise_exception_on_conflict", "skip_dep_check"})
"""Keyword arguments OpenTelemetry's ``BaseInstrumentor.instrument`` passes to every
instrumentation (``opentelemetry-instrument`` among them): not hgobs options, not unknown."""


def unknown_keywords(kwargs: Mapping[str, Any]) -> list[str]:
    """The names in ``kwargs`` that are neither ``Options`` fields nor OpenTelemetry's own
    (``OTEL_KEYWORDS``), sorted: a misspelt option (``jsonl=``, ``clientid=``)."""
    known = {f.name for f in fields(Options)} | OTEL_KEYWORDS
    return sorted(name for name in kwargs if name not in known)


def _picker(kwargs: Mapping[str, Any], environ: Mapping[str, str] | None
            ) -> Callable[[str], Any]:
    """``pick(name)``: option ``name``'s keyword value when given, else its ``HGOBS_*``
    variable stripped (``environ``, default ``os.environ``), else None."""
    env = os.environ if environ is None else environ

    def pick(name: str) -> Any:
        if kwargs.get(name) is not None:
            return kwargs[name]
        return env.get(ENV_VARS[name], "").strip() or None

    return pick


def redaction_wanted(kwargs: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bool:
    """Whether other instrumentations' spans are to be redacted (``redact_spans``), read on its
    own after another setting was bad: True unless it says false (a bad value of it reads as
    True: redaction fails closed)."""
    try:
        return _flag(_picker(kwargs, environ), "redact_spans", True)
    except ConfigError:
        return True


def _named(name: str, kwargs: Mapping[str, Any]) -> str:
    """Where option ``name`` came from, for an error message: ``name=`` for a keyword, else its
    environment variable."""
    return f"{name}=" if kwargs.get(name) is not None else ENV_VARS[name]


def _flag(pick: Callable[[str], Any], name: str, default: bool) -> bool:
    """A true/false option: a keyword's truth, or the variable's ``true``/``1``/``yes``/``on``
    or ``false``/``0``/``no``/``off`` (any case); ``default`` when neither is given. Raises
    ``ConfigError`` for another value of the variable."""
    value = pick(name)
    if value is None:
        return default
    if isinstance(value, str):
        if value.lower() not in _FALSE | _TRUE:
            raise ConfigError(ENV_VARS[name], "must be true or false")
        return value.lower() in _TRUE
    return bool(value)


@overload
def profile_setting(spec: str | None = ..., environ: Mapping[str, str] | None = ...) -> Profile:
    ...


@overload
def profile_setting(spec: str | None = ..., environ: Mapping[str, str] | None = ..., *,
                    auto: bool) -> Profile | ProfileSet:
    ...


def profile_setting(spec: str | None = None, environ: Mapping[str, str] | None = None, *,
                    auto: bool = False) -> Profile | ProfileSet:
    """The provider profile a command uses: ``spec`` (a ``--profile`` value: ``auto``, a
    built-in name or a TOML file), else ``HGOBS_PROFILE``, else Health Gorilla; with
    ``auto`` (the analyzer), else ``auto``: every built-in profile as a ``ProfileSet``,
    picked per record (``docs/profiles.md``). ``environ`` defaults to ``os.environ``. Raises
    ``ProfileError`` for a profile that cannot be loaded, and for ``auto`` where one profile
    is needed."""
    env = os.environ if environ is None else environ
    name = spec or env.get(ENV_VARS["profile"], "").strip() or (AUTO if auto else DEFAULT)
    if name == AUTO:
        if not auto:
            raise ProfileError(AUTO, "picks a profile per record in the analyzer; name one "
                               f"profile here ({', '.join(BUILTIN)} or a TOML file)")
        return ProfileSet.auto()
    return load_profile(name)


def fingerprint_key_setting(key: str | bytes | None = None,
                            environ: Mapping[str, str] | None = None) -> bytes | None:
    """The fingerprint key (HMAC key, bytes) the analyzer compares ``client.fp`` values under:
    ``key`` when given (a ``str`` is UTF-8 encoded; empty: no key), else
    ``HGOBS_FINGERPRINT_KEY`` stripped, else None (no key: a client id cannot be compared with
    the records' fingerprints).
    ``environ`` defaults to ``os.environ``. Unlike capture's ``fingerprint_key`` it takes a key
    of any length: it must be the one the records were made with, whatever that was."""
    value = _picker({"fingerprint_key": key}, environ)("fingerprint_key")
    if not value:
        return None
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
