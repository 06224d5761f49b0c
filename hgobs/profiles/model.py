"""A provider profile as data: environments, URL patterns, assertion limits, error texts, fixes.

A ``Profile`` is what hgobs knows about one OAuth 2.0 / RFC 7523 provider (format and meaning of
every field: ``docs/profiles.md``). It is built by ``hgobs.profiles.load`` from TOML
(``hgobs/data/*.toml``) or a mapping, and consulted by capture (is this request an auth attempt,
which environment), the rules (what ``aud`` may be, lifetime, algorithms, header fields, the
provider's own error texts) and the emulator.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from hgobs.errors import ProfileError
from hgobs.profiles.toml_text import to_toml
from hgobs.profiles.urls import Captures, UrlPattern, host_tail, is_pattern, split_url, url_parts

SAID_MEMO = 256
"""Distinct server answers whose mapped error texts a profile keeps (``Profile.said``)."""
TOKEN_EXCHANGE = "token_exchange"
API_CALL = "api_call"


@dataclass(frozen=True)
class Environment:
    """One deployment of a provider (e.g. ``sandbox``): its token URLs and API bases (exact URLs
    or patterns, ``hgobs.profiles.urls``) and, optionally, its own ``aud`` templates."""

    name: str
    token_urls: tuple[str, ...]
    api_bases: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()

    @property
    def hosts(self) -> frozenset[str]:
        """Lower-case host names of this environment's exact token URLs and API bases."""
        return frozenset(split_url(u)[0] for u in (*self.token_urls, *self.api_bases)
                         if not is_pattern(u))


@dataclass(frozen=True)
class ErrorText:
    """One error the provider answers, mapped to a catalog category.

    Holds when every given part holds: ``text`` is found (case-insensitively, as a literal)
    in the server's words, ``error`` equals the OAuth ``error`` code, ``status`` equals the
    HTTP status. ``source`` cites where the provider documents it or users report it.
    ``text`` is lower-cased for matching; ``original`` is the same text in the provider's
    own case (what an emulated provider answers), empty when built without one.
    """

    category: str
    text: str = ""
    error: str = ""
    status: int | None = None
    source: str = ""
    original: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """How evidence names it: the text, else the code, else the status (profile data only,
        never the server's own words)."""
        return self.text or self.error or f"status {self.status}"


@dataclass(frozen=True)
class Fix:
    """A fix for one category in the provider's own terms, with a link to its documentation."""

    fix: str
    link: str = ""


@dataclass(frozen=True)
class Profile:
    """A provider: its environments and what it demands of an RFC 7523 assertion.

    ``max_assertion_lifetime_s`` is the longest ``exp - iat`` in seconds accepted (None: none
    stated); ``leeway_s`` the clock leeway the server allows (RFC 7519 section 4.1.4);
    ``algorithms`` the JWS ``alg`` values accepted (empty: any); ``header_required`` the JOSE
    header parameters that must be present, ``header_typ`` the value ``typ`` must have,
    ``header_one_of`` groups of which one must be present; ``audience`` the templates ``aud``
    may equal (``audiences``); ``errors`` the provider's error texts; ``fixes`` its fixes per
    category; ``generic`` marks the RFC-only fallback, under which provider-specific rules
    give ``possible`` at most; ``claim_iss``/``claim_sub`` what ``iss``/``sub`` of an assertion
    grant must be (``client_id``, ``email``, ``user`` or ``any``; client authentication
    always wants the client id, RFC 7523 section 3); ``pick_by_url`` False keeps ``--profile
    auto`` from picking it by URL (a specification's profile whose URLs match any server's:
    it judges only records that name it, or when chosen). Raises ``ProfileError`` for a profile
    without environments or with a bad URL pattern.
    """

    name: str
    environments: tuple[Environment, ...]
    title: str = ""
    max_assertion_lifetime_s: float | None = 3600.0
    require_iat: bool = False
    docs: tuple[str, ...] = ()
    grants: tuple[str, ...] = ()
    custom_domains: tuple[str, ...] = ()
    require_jti: bool = False
    max_jti_length: int | None = None
    leeway_s: float = 30.0
    algorithms: tuple[str, ...] = ()
    secret_auth: bool = False
    header_required: tuple[str, ...] = ()
    header_typ: str | None = None
    header_one_of: tuple[tuple[str, ...], ...] = ()
    audience: tuple[str, ...] = ("{token_url}",)
    audience_array_ok: bool = False
    errors: tuple[ErrorText, ...] = ()
    fixes: dict[str, Fix] = field(default_factory=dict, compare=False)
    generic: bool = False
    claim_iss: str = "client_id"
    claim_sub: str = "client_id"
    pick_by_url: bool = True
    _token_index: dict[tuple[str, int | None, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _api_index: dict[tuple[str, int | None], list[tuple[str, str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _by_suffix: dict[str, list[tuple[UrlPattern, str, str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _any_host: list[tuple[UrlPattern, str, str]] = field(
        default_factory=list, init=False, repr=False, compare=False)
    _said: dict[tuple[str, Any, Any], tuple[ErrorText, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.environments:
            raise ProfileError(self.name, "has no environments")
        for env in self.environments:
            if not env.token_urls:
                raise ProfileError(self.name, f"environment {env.name!r} has no token_urls")
            for kind, urls in ((TOKEN_EXCHANGE, env.token_urls), (API_CALL, env.api_bases)):
                for url in urls:
                    if is_pattern(url):
                        self._add_pattern(UrlPattern.parse(url, self.name), env.name, kind)
                    elif kind == TOKEN_EXCHANGE:
                        self._token_index[split_url(url)] = env.name
                    else:
                        host, port, path = split_url(url)
                        self._api_index.setdefault((host, port), []).append((path, env.name))

    def _add_pattern(self, pattern: UrlPattern, env: str, kind: str) -> None:
        entry = (pattern, env, kind)
        suffix = pattern.host_suffix
        if suffix:
            self._by_suffix.setdefault(suffix, []).append(entry)
        else:
            self._any_host.append(entry)

    @property
    def has_patterns(self) -> bool:
        """True when some token URL or API base is a pattern, or custom domains are declared."""
        return bool(self._by_suffix or self._any_host)

    @property
    def token_urls(self) -> dict[str, str]:
        """Every token URL (exact or pattern) of the profile mapped to its environment name."""
        return {u: e.name for e in self.environments for u in e.token_urls}

    def environment(self, name: str) -> Environment | None:
        """The environment called ``name``, or None."""
        return next((e for e in self.environments if e.name == name), None)

    def match(self, url: Any) -> tuple[str | None, str | None]:
        """Classify a request URL as ``(endpoint kind, environment)``.

        ``url`` is a string or an already parsed ``httpx.URL`` (anything with ``raw_host``,
        ``port`` and ``raw_path``), whose parts are used as they are. The kind is
        ``"token_exchange"`` for a token URL of the profile, ``"api_call"`` for a URL under one
        of its API bases, else None. Cost: one dict lookup for an unrelated host of a profile
        without patterns; a few more (one per host label) with patterns.
        """
        found = self.resolve(url)
        return (found[0], found[1]) if found is not None else (None, None)

    def resolve(self, url: Any, *, patterns: bool = True) -> tuple[str, str, Captures] | None:
        """``(kind, environment, captures)`` for a URL of the profile (see ``match``), or None;
        with ``patterns`` False, by its exact token URLs and API bases alone."""
        host, port, path = url_parts(url)
        env = self._token_index.get((host, port, path))
        if env is not None:
            return TOKEN_EXCHANGE, env, {}
        bases = self._api_index.get((host, port))
        if bases:
            for base_path, env_name in bases:
                if path == base_path or path.startswith(base_path + "/"):
                    return API_CALL, env_name, {}
        if patterns and (self._by_suffix or self._any_host):
            return self._resolve_pattern(host, port, path)
        return None

    def _resolve_pattern(self, host: str, port: int | None,
                         path: str) -> tuple[str, str, Captures] | None:
        candidates: list[tuple[UrlPattern, str, str]] = []
        labels = host_tail(host).split(".")  # bounded: suffixes of a DNS name's length
        for i in range(len(labels)):
            candidates += self._by_suffix.get(".".join(labels[i:]), ())
        candidates += self._any_host
        custom = host in self.custom_domains
        for kinds in ((TOKEN_EXCHANGE,), (API_CALL,)):
            for pattern, env, kind in candidates:
                if kind in kinds:
                    caps = pattern.match(host, port, path, prefix=kind == API_CALL,
                                         any_host=pattern.host == ("{*}",))
                    if caps is not None:
                        return kind, env, caps
            if custom:
                for pattern, env, kind in self._all_patterns():
                    if kind in kinds:
                        caps = pattern.match(host, port, path, prefix=kind == API_CALL,
                                             any_host=True)
                        if caps is not None:
                            return kind, env, caps
        return None

    def _all_patterns(self) -> list[tuple[UrlPattern, str, str]]:
        return [e for entries in self._by_suffix.values() for e in entries] + self._any_host

    def captures(self, url: str) -> Captures:
        """What the matched pattern captured from ``url`` (``{"tenant": ...}``), else ``{}``."""
        found = self.resolve(url)
        return found[2] if found is not None else {}

    def audiences(self, token_url: str) -> tuple[str, ...]:
        """The values ``aud`` may have for an assertion sent to ``token_url`` (no query): the
        environment's (else the profile's) templates with ``{token_url}``, ``{origin}`` and the
        pattern's captures filled in; a template naming a placeholder not captured is left out.
        Source: RFC 7523 section 3 (aud identifies the authorization server), the profile's
        documentation."""
        return _audiences(self, token_url)

    def said(self, record: dict[str, Any]) -> tuple[ErrorText, ...]:
        """The ``errors`` entries the record's answer holds, linear, no regular expression;
        kept for ``SAID_MEMO`` answers (the verdict and several rules ask it of a record)."""
        if not self.errors:
            return ()
        key = (words_of(record), record.get("response.error") or record.get("challenge.error")
               or "", record.get("http.status"))
        memo = self._said
        try:
            found = memo.get(key)
        except TypeError:  # a status that is no number (a record not written by hgobs)
            return self._match_errors(*key)
        if found is None:
            if len(memo) >= SAID_MEMO:
                memo.clear()
            found = memo[key] = self._match_errors(*key)
        return found

    def _match_errors(self, words: str, code: Any, status: Any) -> tuple[ErrorText, ...]:
        """The ``errors`` entries that hold for these words, error code and status."""
        return tuple(e for e in self.errors
                     if (not e.text or e.text in words) and (not e.error or e.error == code)
                     and (e.status is None or e.status == status))

    def environment_of_host(self, url: str) -> str | None:
        """The environment whose URLs share ``url``'s host and port (a pattern's host by its
        labels), the one sharing the longest leading path with ``url`` when several do (a
        placeholder segment shares any, and an exact URL wins a tie with a pattern); a tie gives
        None."""
        host, port, path = split_url(url)
        segments = path.split("/")
        scores: dict[str, int] = {}

        def score(env: str, shared: int) -> None:
            scores[env] = max(scores.get(env, -1), shared)

        candidates = [(p, e) for (h, pt, p), e in self._token_index.items() if (h, pt) == (host, port)]
        candidates += self._api_index.get((host, port), [])
        for cand_path, env in candidates:
            score(env, 2 * _shared(cand_path.split("/"), segments, ()) + 1)  # exact wins a tie
        for pattern, env, _kind in self._all_patterns():
            if pattern.host != ("{*}",) and pattern.match_host(host, port, {}):
                score(env, 2 * _shared(("", *pattern.path), segments, ("{",)))
        if not scores:
            return None
        best = max(scores.values())
        winners = [e for e, v in scores.items() if v == best]
        return winners[0] if len(winners) == 1 else None

    def token_url_environment(self, url: str) -> str | None:
        """The environment one of whose token URLs ``url`` is exactly (scheme included; for a
        pattern: the same scheme and every part fitting), or None."""
        for env in self.environments:
            if url in env.token_urls:
                return env.name
        if self._by_suffix or self._any_host:
            scheme = url.partition("://")[0].lower()
            found = self.resolve(url)
            if found is not None and found[0] == TOKEN_EXCHANGE:
                env = self.environment(found[1])
                if env is not None and any(is_pattern(u) and u.partition("://")[0].lower() == scheme
                                           for u in env.token_urls):
                    return found[1]
        return None

    def content(self) -> dict[str, Any]:
        """Everything the profile says, as plain JSON-ready data (the stamp digests it)."""
        return {
            "name": self.name, "title": self.title, "docs": list(self.docs),
            "grants": list(self.grants), "custom_domains": list(self.custom_domains),
            "generic": self.generic, "pick_by_url": self.pick_by_url,
            "limits": {
                "max_assertion_lifetime_s": self.max_assertion_lifetime_s or 0,
                "require_iat": self.require_iat, "require_jti": self.require_jti,
                **({"max_jti_length": self.max_jti_length} if self.max_jti_length else {}),
                "leeway_s": self.leeway_s, "algorithms": list(self.algorithms),
                "secret_auth": self.secret_auth,
            },
            "claims": {"iss": self.claim_iss, "sub": self.claim_sub},
            "header": {"required": list(self.header_required),
                       **({"typ": self.header_typ} if self.header_typ else {}),
                       "one_of": [list(g) for g in self.header_one_of]},
            "audience": {"accept": list(self.audience), "array_ok": self.audience_array_ok},
            "environments": {e.name: {"token_urls": list(e.token_urls),
                                      "api_bases": list(e.api_bases),
                                      **({"audience": list(e.audience)} if e.audience else {})}
                             for e in self.environments},
            "errors": [{k: v for k, v in (("text", e.text), ("error", e.error),
                                          ("status", e.status), ("category", e.category),
                                          ("source", e.source)) if v not in ("", None)}
                       for e in self.errors],
            "fixes": {k: {"fix": f.fix, **({"link": f.link} if f.link else {})}
                      for k, f in sorted(self.fixes.items())},
        }

    def to_toml(self) -> str:
        """This profile as the TOML text ``load_profile`` reads back (every field)."""
        return to_toml(self.content())


def _shared(want: tuple[str, ...] | list[str], got: list[str], wild: tuple[str, ...]) -> int:
    """How many leading path segments ``want`` and ``got`` share (a segment of ``want``
    starting with one of ``wild``, a placeholder, shares any)."""
    shared = 0
    for a, b in zip(want, got, strict=False):
        if a != b and not (wild and a.startswith(wild)):
            break
        shared += 1
    return shared


WORD_FIELDS = ("response.error_description", "response.message", "challenge.error_description",
               "response.error_urn")
"""The record fields that hold the server's own words: the descriptions of the body and of the
``WWW-Authenticate`` challenge, a ``message``, and the URN an ``error_uri`` names."""


def words_of(record: dict[str, Any]) -> str:
    """The server's words in ``record`` (``WORD_FIELDS``), lower-cased and joined."""
    get = record.get
    return server_words(*(get(name) for name in WORD_FIELDS))


@functools.lru_cache(maxsize=1024)
def server_words(*texts: Any) -> str:
    """The server's words (texts that are strings), lower-cased and joined by spaces."""
    return " ".join(t for t in texts if isinstance(t, str)).lower()


def _audiences(profile: Profile, token_url: str) -> tuple[str, ...]:
    found = profile.resolve(token_url)
    env = profile.environment(found[1]) if found is not None else None
    templates = (env.audience if env is not None and env.audience else profile.audience)
    return fill_audiences(templates, token_url, found[2] if found is not None else None)


def fill_audiences(templates: tuple[str, ...], token_url: str,
                   captures: Captures | None = None) -> tuple[str, ...]:
    """The ``aud`` values ``templates`` give for ``token_url`` (no query): ``{token_url}``,
    ``{origin}`` (``scheme://host[:port]``) and each captured ``{name}`` filled in, without
    duplicates; a template naming a placeholder not given is left out."""
    scheme, _, rest = token_url.partition("://")
    values = {"token_url": token_url, "origin": f"{scheme}://{rest.split('/', 1)[0]}",
              **(captures or {})}
    out: list[str] = []
    for template in templates:
        filled = _fill(template, values)
        if filled is not None and filled not in out:
            out.append(filled)
    return tuple(out)


def _fill(template: str, values: dict[str, str]) -> str | None:
    """``template`` with each ``{name}`` replaced from ``values``; None when one is missing."""
    out: list[str] = []
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, close, rest = after.partition("}")
        if not close or name not in values:
            return None
        out += [before, values[name]]
    out.append(rest)
    return "".join(out)
