"""Which configured provider a request belongs to: its URL matched against every provider's.

A service may call several providers, each with its own client id (``Options.providers``).
``Routes`` matches a request URL to one of them: first the exact token URLs and API bases of
every provider (the first provider given wins a URL two name), then the URL patterns of each
provider in the order given (``Profile.resolve``). A token request (a form POST with
``grant_type``) to a URL no provider names goes to the fallback: the one provider when there
is one (as before providers were listed), else the ``generic`` profile (RFC 7523 alone) with
no client id, since no provider's limits or client id can be said to apply to it.

Cost for a request to a host no provider names (the common case in a service): one read of
the URL's parts and one set lookup, plus one dict lookup per host label when some provider has URL
patterns; a provider pattern that matches any host (``generic``'s) adds its ``resolve``. Only
the providers whose pattern hosts fit the request's host are tried. Capture reads
``token_paths`` first: a request that can only be an API call (not a POST, to none of those
paths) is planned only if it is refused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from hgobs.config import Options, Provider
from hgobs.facts import record as facts
from hgobs.facts.exchange import Headers
from hgobs.profiles import API_CALL, TOKEN_EXCHANGE, Profile, UrlPattern, load_profile, split_url
from hgobs.profiles.urls import host_tail, is_pattern, url_parts


@dataclass(frozen=True)
class Routed(facts.Plan):
    """A ``Plan`` (endpoint kind, environment) and ``provider``: the index, in
    ``Routes.providers``, of the provider whose URL the request matched (the fallback's for a
    token request to an unknown URL)."""

    provider: int = 0


@functools.lru_cache(maxsize=1024)
def _routed(kind: str, environment: str, provider: int) -> Routed:
    """The one ``Routed`` per kind, environment and provider (frozen: shared freely)."""
    return Routed(kind, environment, provider)


class _NoUrls:
    """Stands for a profile none of whose URLs matches: ``facts.plan`` given it applies only
    its form-body rule (a POST whose form carries ``grant_type``), the URL rule having been
    applied already by ``Routes``."""

    @staticmethod
    def match(url: Any) -> tuple[None, None]:
        return None, None


_NO_URLS: Any = _NoUrls()


class Routes:
    """The providers of ``Options`` and the index that matches a request URL to one of them.

    ``providers`` are the configured ones in order, then the fallback (``fallback`` is its
    index: 0 for one provider, else the last, ``generic`` with no client id). Build with
    ``Routes.of(options)``; ``plan`` is what capture calls for every request.
    """

    def __init__(self, providers: tuple[Provider, ...]) -> None:
        if len(providers) > 1:
            providers = (*providers, Provider(load_profile("generic"), None))
        self.providers: tuple[Provider, ...] = providers
        self.fallback = len(providers) - 1
        self._tokens: dict[tuple[str, int | None, str], Routed] = {}
        """(host, port, path) of an exact token URL -> its plan (the first provider's)."""
        self._bases: dict[tuple[str, int | None], list[tuple[str, str, Routed]]] = {}
        """(host, port) -> (base path, base path + "/", plan) of each exact API base there."""
        self._hosts: set[str] = set()
        self._owners: dict[str, tuple[int, ...]] = {}
        """Literal host suffix of a pattern (or a custom domain) -> providers having it."""
        self._wide: tuple[int, ...] = ()
        """Providers with a pattern whose host is all placeholder: tried for every host."""
        last = len(providers) if len(providers) == 1 else self.fallback
        for index, provider in enumerate(providers[:last]):
            self._add(index, provider.profile)
        token_patterns = any(is_pattern(url) for provider in providers[:last]
                             for env in provider.profile.environments for url in env.token_urls)
        self.token_paths: frozenset[str] | None = None if token_patterns \
            else frozenset(path for _, _, path in self._tokens)
        """The paths of the exact token URLs (as ``url_parts`` gives them), or None when some
        provider's token URL is a pattern. A request whose method is not POST (``plan``'s form
        rule takes only a POST) and whose path is none of these can only be an API call or
        nothing: capture plans it only if it is refused (a GET to a token URL is planned
        before it is sent: an exchange, whose span is current while the transport runs)."""

    @classmethod
    def of(cls, options: Options) -> Routes:
        """The routes of ``options.providers``."""
        return cls(options.providers)

    def _add(self, index: int, profile: Profile) -> None:
        """Index ``profile``'s exact URLs, and its pattern hosts and custom domains."""
        owned: set[str] = set()
        wide = False
        for env in profile.environments:
            for kind, urls in ((TOKEN_EXCHANGE, env.token_urls), (API_CALL, env.api_bases)):
                for url in urls:
                    if is_pattern(url):
                        suffix = UrlPattern.parse(url, profile.name).host_suffix
                        if suffix:
                            owned.add(suffix)
                        else:
                            wide = True
                        continue
                    host, port, path = split_url(url)
                    self._hosts.add(host)
                    if kind == TOKEN_EXCHANGE:
                        self._tokens.setdefault((host, port, path),
                                                _routed(TOKEN_EXCHANGE, env.name, index))
                    else:
                        self._bases.setdefault((host, port), []).append(
                            (path, path + "/", _routed(API_CALL, env.name, index)))
        if owned or wide:  # custom domains count with patterns only (Profile.resolve)
            owned.update(d.lower().rstrip(".") for d in profile.custom_domains)
        for suffix in owned:
            self._owners[suffix] = (*self._owners.get(suffix, ()), index)
        if wide:
            self._wide = (*self._wide, index)

    def _near(self, host: str) -> tuple[int, ...]:
        """The providers, in order, whose URL patterns may match ``host``: those with a
        pattern host suffix (or custom domain) that ``host`` is or ends in, and those with a
        pattern matching any host. One dict lookup per host label."""
        owners = self._owners
        if not owners:
            return self._wide
        found: tuple[int, ...] = ()
        host = host_tail(host)  # a longer name costs no more (copies of its tails)
        while host:  # the host, then the host without its first label, and so on
            got = owners.get(host)
            if got is not None:
                found += got
            host = host.partition(".")[2]
        if not found:
            return self._wide
        return tuple(sorted({*found, *self._wide}))

    def route(self, url: Any) -> tuple[str, str, int] | None:
        """``(endpoint kind, environment, provider index)`` of the provider whose token URL
        or API base ``url`` (a string or an ``httpx.URL``) is, else None (``routed``)."""
        found = self.routed(url)
        return (found.kind, found.environment, found.provider) if found is not None else None

    def routed(self, url: Any) -> Routed | None:
        """The ``Routed`` plan of the provider whose token URL or API base ``url`` (a string
        or an ``httpx.URL``) is, else None: ``plan`` of ``url`` alone (no method, so no
        form-body rule)."""
        return self.plan("", url, {}, None)

    def plan(self, method: str, url: Any, headers: Headers, body: bytes | None) -> Routed | None:
        """What the request is and whose: the plan of the provider whose token URL or API base
        ``url`` is (exact URLs of all providers first, their plans made once when indexed,
        then each provider's patterns in order), else a token exchange of the fallback
        provider (environment ``unknown``) when it is a POST whose form body carries
        ``grant_type`` (``hgobs.facts.record.plan``), else None (not an auth attempt)."""
        host, port, path = url_parts(url)  # one read of an httpx.URL's parsed parts
        if host in self._hosts:
            found = self._tokens.get((host, port, path))
            if found is not None:
                return found
            for base_path, under, routed in self._bases.get((host, port), ()):
                if path == base_path or path.startswith(under):
                    return routed
        for index in self._near(host):
            resolved = self.providers[index].profile.resolve(url)
            if resolved is not None:
                return _routed(resolved[0], resolved[1], index)
        if method != "POST":
            return None
        plan = facts.plan(_NO_URLS, method, url, headers, body)
        return _routed(plan.kind, plan.environment, self.fallback) if plan is not None else None

    def provider(self, plan: facts.Plan) -> Provider:
        """The provider a plan was routed to (the first for a plain ``Plan``)."""
        return self.providers[plan.provider if type(plan) is Routed else 0]

    @property
    def profiles(self) -> tuple[Profile, ...]:
        """The configured providers' profiles in order (the fallback left out)."""
        last = len(self.providers) if len(self.providers) == 1 else self.fallback
        return tuple(p.profile for p in self.providers[:last])
