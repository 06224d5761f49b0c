"""Options: a frozen dataclass, and the one place that reads ``HGOBS_*`` environment variables.

Environment variables are read when ``resolve_options`` is called (at instrument time) or, for
the analyzer (``hgobs.api``, the CLI), by ``profile_setting`` and ``fingerprint_key_setting``,
never at import; keyword arguments win over the environment. No other module reads ``HGOBS_*``
(``tests/test_config.py`` checks it).

| variable | option | default |
|---|---|---|
| ``HGOBS_PROFILE`` | ``profile`` | ``healthgorilla`` (or a path to a profile TOML file) |
| ``HGOBS_CLIENT_ID`` | ``client_id`` | none |
| ``HGOBS_PROVIDERS`` | ``providers`` | none: the one provider of ``profile`` and ``client_id`` |
| ``HGOBS_JSONL_PATH`` | ``jsonl_path`` | none (no file) |
| ``HGOBS_FINGERPRINT_KEY`` | ``fingerprint_key`` | a random key per process |
| ``HGOBS_REDACT_SPANS`` | ``redact_spans`` | ``true`` (``false``/``0``/``no``/``off`` turns it off) |
| ``HGOBS_URL_TEMPLATE`` | ``url_template`` | ``false`` (``true``/``1``/``yes``/``on`` turns it on) |

``HGOBS_PROVIDERS`` lists the providers a service calls, each as ``PROFILE=CLIENT_ID`` (or
``PROFILE`` alone, with no client id), separated by commas: ``epic=client-a,okta=0oa1,
./my.toml=abc``. ``PROFILE`` is a built-in profile name or a path to a profile TOML file; a
request is matched to its provider by URL, in the order given (``hgobs.capture.routes``).
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
    "providers": "HGOBS_PROVIDERS",
    "jsonl_path": "HGOBS_JSONL_PATH",
    "fingerprint_key": "HGOBS_FINGERPRINT_KEY",
    "redact_spans": "HGOBS_REDACT_SPANS",
    "url_template": "HGOBS_URL_TEMPLATE",
}
_FALSE, _TRUE = frozenset({"false", "0", "no", "off"}), frozenset({"true", "1", "yes", "on"})
DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Provider:
    """One provider a service calls: its ``profile`` and the ``client_id`` it holds there.

    ``profile`` may be given as a ``Profile``, a built-in name, a TOML path or a mapping; it is
    loaded here (``load_profile``: raises ``ProfileError`` for a bad one). ``client_id`` None:
    none configured (``iss``/``sub`` are then not compared with a client id).
    """

    profile: Profile
    client_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.profile, Profile):
            object.__setattr__(self, "profile", load_profile(self.profile))
        if self.client_id is not None and not isinstance(self.client_id, str):
            raise ConfigError("providers", "a client id must be a string")


@dataclass(frozen=True)
class Options:
    """Capture options.

    - ``profile``: the provider profile (default: Health Gorilla); with ``providers``, the
      first provider's.
    - ``client_id``: the configured client id; ``iss``/``sub`` are compared with it; with
      ``providers``, the first provider's.
    - ``providers``: every provider the service calls (``Provider``: profile and client id),
      in matching order; empty when given: the one provider of ``profile`` and ``client_id``.
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
    providers: tuple[Provider, ...] = ()

    def __post_init__(self) -> None:
        if self.providers:
            first = self.providers[0]
            object.__setattr__(self, "providers", tuple(self.providers))
            object.__setattr__(self, "profile", first.profile)
            object.__setattr__(self, "client_id", first.client_id)
        else:
            object.__setattr__(self, "providers", (Provider(self.profile, self.client_id),))


def resolve_options(environ: Mapping[str, str] | None = None, **kwargs: Any) -> Options:
    """Build ``Options`` from keyword arguments, falling back to ``HGOBS_*`` variables.

    ``environ`` defaults to ``os.environ``. Unknown keyword arguments are ignored (the
    instrumentor also receives OpenTelemetry's own). Raises ``ConfigError`` for a bad value and
    ``ProfileError`` for a profile that cannot be loaded.
    """
    pick = _picker(kwargs, environ)
    providers = _providers(kwargs, pick)
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
        providers=providers,
        jsonl_path=Path(jsonl) if jsonl else None,
        fingerprint_key=key,
        clock=clock,
        max_body_bytes=max_body,
        history_entries=int(kwargs.get("history_entries") or 10_000),
        redact_spans=redact,
        url_template=template,
    )


def _providers(kwargs: Mapping[str, Any], pick: Callable[[str], Any]) -> tuple[Provider, ...]:
    """The providers of the options: the ``providers`` keyword; else ``profile``/``client_id``
    keywords (each falling back to its variable); else ``HGOBS_PROVIDERS``; else
    ``HGOBS_PROFILE``/``HGOBS_CLIENT_ID`` (default: Health Gorilla, no client id). Raises
    ``ConfigError`` for both ways given at one level, a bad list, or a profile given twice."""
    given = kwargs.get("providers")
    if given is not None:
        if kwargs.get("profile") is not None or kwargs.get("client_id") is not None:
            raise ConfigError("providers=", "give providers= or profile=/client_id=, not both")
        return _checked(tuple(_provider(p, "providers=") for p in _entries(given)), "providers=")
    if kwargs.get("profile") is None and kwargs.get("client_id") is None:
        listed = pick("providers")
        if listed is not None:
            name = ENV_VARS["providers"]
            if pick("profile") is not None or pick("client_id") is not None:
                raise ConfigError(name, f"give {name} or {ENV_VARS['profile']}/"
                                  f"{ENV_VARS['client_id']}, not both")
            return _checked(parse_providers(listed, name), name)
    spec = pick("profile") or DEFAULT
    source = "profile=" if kwargs.get("profile") is not None else ENV_VARS["profile"]
    return (Provider(spec if isinstance(spec, Profile) else _load_named(spec, source),
                     pick("client_id")),)


def _load_named(spec: Any, source: str) -> Profile:
    """``load_profile(spec)``; a string that is no built-in name nor an existing file raises a
    ``ProfileError`` naming ``source`` (the setting), not the value: it may be a client id or
    secret put in the wrong variable, and the message goes to the service's log."""
    try:
        return load_profile(spec)
    except ProfileError:
        if isinstance(spec, str) and spec not in BUILTIN and not Path(spec).is_file():
            raise ProfileError(source, f"names no built-in profile ({', '.join(BUILTIN)}) "
                               "and no profile file") from None
        raise


def _entries(given: Any) -> list[Any]:
    """The entries of a ``providers=`` value: a list (or other iterable) of entries; a string
    in ``HGOBS_PROVIDERS`` syntax is the providers it lists; one ``Provider`` is a list of
    one."""
    if isinstance(given, str):
        return list(parse_providers(given, "providers="))
    if isinstance(given, Provider):
        return [given]
    try:
        return list(given)
    except TypeError:
        raise ConfigError("providers=", "must be a list of (profile, client id) pairs or "
                          "Provider values") from None


def _provider(entry: Any, source: str) -> Provider:
    """One ``providers=`` entry as a ``Provider``: a ``Provider``, a ``(profile, client id)``
    pair, a ``Profile``, or a string in ``HGOBS_PROVIDERS`` syntax naming one provider."""
    if isinstance(entry, Provider):
        return entry
    if isinstance(entry, str):
        found = parse_providers(entry, source)
        if len(found) != 1:
            raise ConfigError(source, "a string entry must name one provider")
        return found[0]
    if isinstance(entry, (tuple, list)) and len(entry) == 2:
        profile, client_id = entry
        if client_id is not None and not isinstance(client_id, str):
            raise ConfigError(source, "a client id must be a string")
        return Provider(profile, client_id or None)
    if isinstance(entry, (Profile, Mapping)):
        return Provider(entry)
    raise ConfigError(source, f"an entry must be a (profile, client id) pair or a Provider, "
                      f"not {type(entry).__name__}")


def parse_providers(text: str, source: str = ENV_VARS["providers"]) -> tuple[Provider, ...]:
    """Parse ``HGOBS_PROVIDERS`` syntax: ``PROFILE[=CLIENT_ID]`` entries separated by commas
    (spaces around each part ignored), ``PROFILE`` a built-in name or a TOML path. Raises
    ``ConfigError`` naming ``source`` for an empty list or entry, an entry without a profile,
    or a profile that cannot be loaded (the message names the profile and never the client
    id)."""
    out: list[Provider] = []
    entries = text.split(",")
    for number, entry in enumerate(entries, 1):
        spec, eq, client_id = (part.strip() for part in entry.partition("="))
        if eq and not client_id:
            raise ConfigError(source, f"entry {number} of {len(entries)} has '=' but no client id "
                              "after it (write PROFILE alone for a profile without one)")
        if not spec:
            what = "is empty" if not entry.strip() else "names no profile before '='"
            raise ConfigError(source, f"entry {number} of {len(entries)} {what} (expected "
                              "PROFILE=CLIENT_ID, entries separated by commas)")
        try:
            out.append(Provider(load_profile(spec), client_id or None))
        except (ProfileError, ValueError, OSError) as exc:  # ValueError: a NUL in a path
            # A value that is no built-in name nor an existing file may be a misplaced client
            # id or secret: the entry's number says which, the value is not repeated.
            said = str(exc) if isinstance(exc, ProfileError) and (
                spec in BUILTIN or Path(spec).is_file()) else \
                f"names no built-in profile ({', '.join(BUILTIN)}) and no profile file"
            raise ConfigError(source, f"entry {number}: {said}") from None
    return tuple(out)


def _checked(providers: tuple[Provider, ...], source: str) -> tuple[Provider, ...]:
    """``providers`` when there is at least one and no profile name is given twice (its second
    entry would never be matched, and records name a provider by profile name)."""
    if not providers:
        raise ConfigError(source, "names no provider")
    seen: set[str] = set()
    for provider in providers:
        name = provider.profile.name
        if name in seen:
            raise ConfigError(source, f"profile {name!r} is given twice; one client id per "
                              "profile (make a profile per organisation, under its own name, "
                              "for several)")
        seen.add(name)
    return providers


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


def provider_setting(kwargs: Mapping[str, Any],
                     environ: Mapping[str, str] | None = None) -> tuple[Provider, ...]:
    """The providers ``resolve_options`` would take from ``kwargs`` and the environment, read
    on their own (after another setting was bad). Raises ``ConfigError``/``ProfileError``."""
    return _providers(kwargs, _picker(kwargs, environ))


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
    return load_profile(name) if spec else _load_named(name, ENV_VARS["profile"])


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
