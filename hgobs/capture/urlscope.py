"""The URL scope of a profile, and the rewrite of other instrumentations' URL attributes in it.

For URLs under one of the profile's API bases or token URLs, ``UrlScope`` and ``rewrites``
give hgobs's own redaction (``hgobs.redaction.redact_url``: query values dropped, ids replaced
by ``{id}``, user info removed) of the URL attributes OpenTelemetry's HTTP instrumentations
set (``url.full``, the older ``http.url``). ``hgobs.capture.foreign`` attaches what applies it:
the span processor (``hgobs.capture.spanredactor``) and the httpx log filter
(``hgobs.capture.logfilter``).

URL patterns (``{tenant}``, ``{*}``: ``docs/profiles.md``) are in scope by their host too: a
pattern whose host is literal names that host, one whose leftmost labels are placeholders
(``https://{*}.epichosted.com/...``) covers every host under its literal suffix
(``epichosted.com``), and one whose host is all placeholder (``https://{*}/{*}/token``) covers
the URLs ``Profile.resolve`` matches, whatever their host. A profile's custom domains are hosts
of it.

Cost: for another host, one prefix test and one search for the profile's host names; a URL
to a profile host is rewritten only when it has a query, user info or an id-like path segment
(``redact_url`` changes it). A profile with a host-wide pattern adds its ``resolve`` per URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from hgobs.profiles import Profile, UrlPattern, split_url
from hgobs.profiles.urls import host_tail, is_pattern
from hgobs.redaction import PrefixRedactor, query_names, redact_url

URL_KEYS = ("url.full", "http.url")
"""Attributes holding a client request's full URL (OpenTelemetry HTTP semantic conventions,
stable and older)."""
TARGET_KEY, PATH_KEY, QUERY_KEY = "http.target", "url.path", "url.query"
"""Attributes holding part of a URL, which ``rewrites`` redacts beside a URL attribute."""


class UrlScope:
    """Which URLs get hgobs's redaction: every URL to a host of ``profiles`` (the hosts of their
    token URLs and API bases, exact or patterns, and their custom domains), whatever its path,
    port or spelling; for a pattern whose host is all placeholder, the URLs it matches.

    Scope is by host, not by ``Profile.match``'s path rule: a URL to the provider's host that
    misses an API base (``//fhir/...``, ``/./fhir``, ``%66hir``, a trailing-dot host, an
    unusual port) still reaches the API and may carry search values, and redacting it too
    costs nothing. ``redacted(url)`` is the redacted form of a URL in scope, ``clean(url)``
    the same only when it differs; the rule itself is ``redact_url``.
    """

    redacted: Callable[[str], str | None]
    """``redacted(url)``: ``redact_url(url)`` when ``url`` is in scope (``url`` itself when
    that removes nothing), else None. The bound ``redact`` of the scope's ``PrefixRedactor``:
    a plain URL under an API base is redacted by its path alone (the same result, about half
    the work, in one call); any other by ``undecided``."""

    def __init__(self, profiles: Iterable[Profile] = ()) -> None:
        self.profiles: tuple[Profile, ...] = ()
        self._hosts: frozenset[str] = frozenset()
        self._prefixes: tuple[str, ...] = ()
        self._host_re: re.Pattern[str] | None = None
        self.redacted = PrefixRedactor((), self.undecided).redact
        self._token_urls: dict[str, str] = {}
        self._suffixes: frozenset[str] = frozenset()
        self._wide: tuple[Profile, ...] = ()
        for profile in profiles:
            self.add(profile)

    def add(self, profile: Profile) -> None:
        """Put ``profile``'s URLs in scope (no-op for a profile already in it)."""
        if profile in self.profiles:
            return
        hosts = set(self._hosts)
        prefixes = set(self._prefixes)
        suffixes = set(self._suffixes)
        wide = False
        for env in profile.environments:
            for url in (*env.token_urls, *env.api_bases):
                if is_pattern(url):
                    pattern = UrlPattern.parse(url, profile.name)
                    suffix = pattern.host_suffix
                    if not suffix:
                        wide = True
                    elif suffix.count(".") + 1 == len(pattern.host):
                        hosts.add(suffix)  # a literal host, placeholders in the path only
                    else:
                        suffixes.add(suffix)
                    continue
                host = _host_of(url)
                if host:
                    hosts.add(host)
            for base in env.api_bases:
                if not is_pattern(base):
                    prefixes.update(_base_prefixes(base))
        hosts.update(d.lower().rstrip(".") for d in profile.custom_domains)
        self.profiles = (*self.profiles, profile)
        self._suffixes = frozenset(suffixes)
        if wide:
            self._wide = (*self._wide, profile)
        self._hosts = frozenset(hosts)
        self._prefixes = tuple(sorted(prefixes))
        self.redacted = PrefixRedactor(prefixes, self.undecided).redact
        names = sorted(hosts | suffixes, key=len, reverse=True)
        self._host_re = re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE) \
            if names else None
        for env in profile.environments:  # as the profile writes them: what clients send
            for url in env.token_urls:
                if not is_pattern(url) and self.covers(url):
                    self._token_urls[url] = redact_url(url)

    def covers(self, url: str) -> bool:
        """True when ``url`` goes to a host of a profile (or under a pattern's host suffix),
        or a host-wide pattern of a profile matches it.

        Two C-level tests first: a URL starting with an API base as the profile spells it is in
        scope; a URL with none of the profile's host names or suffixes in it (any case) is not.
        Anything else is split by ``urllib.parse.urlsplit``; one it cannot split is taken as in
        scope (it names a profile host: redaction fails closed)."""
        if url.startswith(self._prefixes):
            return True
        if self._host_re is not None and self._host_re.search(url) is not None:
            host = _host_of(url)
            if host is None or host in self._hosts or self._under_suffix(host):
                return True
        return bool(self._wide) and any(p.resolve(url) is not None for p in self._wide)

    def _under_suffix(self, host: str) -> bool:
        """True when ``host`` lies under a pattern's literal host suffix (``a.epichosted.com``
        under ``epichosted.com``: at least one label more); one set lookup per label."""
        suffixes = self._suffixes
        host = host_tail(host)  # a longer name costs no more (copies of its tails)
        while suffixes:  # the host without its first label, then without its second ...
            host = host.partition(".")[2]
            if not host:
                return False
            if host in suffixes:
                return True
        return False

    def undecided(self, url: str) -> str | None:
        """``redacted`` of a URL the API base prefixes do not decide: a token URL of a profile
        as the profile writes it has its redacted form made once, when the profile joins the
        scope; any other in scope is given to ``redact_url``."""
        clean = self._token_urls.get(url)
        if clean is not None:
            return clean
        return redact_url(url) if self.covers(url) else None

    def clean(self, url: str) -> str | None:
        """``redact_url(url)`` when ``url`` is in scope and that changes it, else None."""
        clean = self.redacted(url)
        return clean if clean is not None and clean != url else None


def _host_of(url: str) -> str | None:
    """``url``'s host name, lower case, without brackets or a trailing dot; ``""`` without one,
    None when ``urlsplit`` refuses the URL."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return None
    return host.rstrip(".")


def _base_prefixes(base: str) -> set[str]:
    """``http://host[:port]/path/`` and the ``https`` twin for an API base: a URL starting with
    one is under the base by ``Profile.match`` (scheme ignored, host and port equal, path under
    the base path); empty when the base cannot be parsed."""
    host, port, path = split_url(base)
    if not host:
        return set()
    if ":" in host:
        host = f"[{host}]"
    authority = host if port is None else f"{host}:{port}"
    return {f"{scheme}://{authority}{path}/" for scheme in ("http", "https")}


def clean_name(scope: UrlScope, name: str) -> str | None:
    """``name`` with each full URL in scope in it redacted, or None when none changes."""
    words = name.split(" ")
    changed = False
    for i, word in enumerate(words):
        if "://" in word:
            clean = scope.clean(word)
            if clean is not None:
                words[i], changed = clean, True
    return " ".join(words) if changed else None


def clean_target(target: str) -> str:
    """A path with optional query (``http.target``, ``url.path``) by ``redact_url``'s rules."""
    base = "http://h"
    return redact_url(base + (target if target.startswith("/") else "/" + target))[len(base):]


def rewrites(scope: UrlScope, attributes: Mapping[str, Any]) -> dict[str, str]:
    """The attribute values to replace on a span with ``attributes`` (empty: none).

    A URL attribute (``url.full``, ``http.url``) in scope that ``redact_url`` changes is
    replaced by its redacted form; once a URL attribute is in scope, ``http.target`` and
    ``url.path`` get the same path rule and ``url.query`` keeps the parameter names only."""
    out: dict[str, str] = {}
    full, old = attributes.get(URL_KEYS[0]), attributes.get(URL_KEYS[1])
    clean = scope.redacted(full) if type(full) is str else None
    if clean is not None and clean != full:
        out[URL_KEYS[0]] = clean
    if type(old) is str:
        # http/dup sets both keys to the same URL: redacted once
        old_clean = clean if old == full else scope.redacted(old)
        if old_clean is not None and old_clean != old:
            out[URL_KEYS[1]] = old_clean
        clean = clean if clean is not None else old_clean
    if clean is None:  # no URL attribute in scope
        return out
    for key in (TARGET_KEY, PATH_KEY):
        value = attributes.get(key)
        if type(value) is str and value:
            clean = clean_target(value)
            if clean != value:
                out[key] = clean
    query = attributes.get(QUERY_KEY)
    if type(query) is str and query:
        out[QUERY_KEY] = "&".join(query_names(query))
    return out
