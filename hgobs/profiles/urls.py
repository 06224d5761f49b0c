"""URL patterns of a provider profile: exact URLs and ``{name}``/``{*}`` patterns, matched linearly.

A pattern is an ``http(s)`` URL whose host labels and path segments may be placeholders:

- ``{name}`` matches exactly one host label or one path segment and captures it as ``name``;
- ``{*}`` matches one or more host labels when it is the host's leftmost label, or any number
  of path segments (at most once in a path).

Matching ignores the scheme and the default port, lower-cases the host, compares the path
segment by segment and never uses a regular expression: its cost is linear in the URL's length
times the (small, fixed) pattern length. Format: ``docs/profiles.md`` (URL patterns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hgobs.errors import ProfileError

ANY = "{*}"
_DEFAULT_PORTS = {"http": 80, "https": 443}

Captures = dict[str, str]


def split_url(url: str) -> tuple[str, int | None, str]:
    """Return ``(host, port or None when default, path without trailing slash)`` of ``url``:
    the parts a profile compares; ``("", None, "")`` when ``urlsplit`` refuses it."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return "", None, ""
    if port is not None and _DEFAULT_PORTS.get(parts.scheme.lower()) == port:
        port = None
    return host, port, parts.path.rstrip("/")


def url_parts(url: Any) -> tuple[str, int | None, str]:
    """``split_url`` of ``url``, a string or an ``httpx.URL`` (anything with ``raw_host``,
    ``port`` and ``raw_path``), whose parsed parts are used as they are: ``(host, port or
    None when default, path without query and trailing slash)``.

    An ``httpx.URL`` holds its parsed parts (``_uri_reference``: host, port and path as
    ``str``): they are read from there in one step when they have those types, the same
    values ``raw_host``, ``port`` and ``raw_path`` give (each of which builds bytes anew);
    anything else is read through those public properties."""
    ref = getattr(url, "_uri_reference", None)
    if ref is not None:
        try:
            host, port, path = ref.host, ref.port, ref.path
        except AttributeError:
            pass
        else:
            if type(host) is str and type(path) is str and (port is None or type(port) is int):
                return host.lower(), port, (path or "/").rstrip("/")
    raw_host = getattr(url, "raw_host", None)
    if type(raw_host) is bytes:
        path = url.raw_path.split(b"?", 1)[0].decode("ascii").rstrip("/")
        return raw_host.decode("ascii").lower(), url.port, path
    return split_url(str(url))


MAX_HOST_LABELS = 127
"""Most labels of a host name (RFC 1035 section 2.3.4: 255 octets in all, so 127 one-letter
labels); a suffix with more is never a profile's."""


def host_tail(host: str) -> str:
    """``host`` without the labels before its last ``MAX_HOST_LABELS`` (a longer name is no
    DNS name): suffix lookups label by label then cost at most ``MAX_HOST_LABELS`` steps
    whatever the host's length. Linear."""
    head = host.rsplit(".", MAX_HOST_LABELS)
    return host[len(head[0]) + 1:] if len(head) > MAX_HOST_LABELS else host


def is_pattern(url: str) -> bool:
    """True when ``url`` holds a placeholder (``{``): a pattern, not an exact URL."""
    return "{" in url


def _placeholder(part: str) -> str | None:
    """The name inside ``{name}`` (``*`` for ``{*}``), or None for a literal part."""
    if len(part) > 2 and part[0] == "{" and part[-1] == "}":
        return part[1:-1]
    return None


def _match_parts(pattern: tuple[str, ...], parts: list[str], out: Captures) -> bool:
    """Match literal parts and single ``{name}`` placeholders one to one, capturing names."""
    if len(pattern) != len(parts):
        return False
    for want, got in zip(pattern, parts, strict=True):
        name = _placeholder(want)
        if name is None:
            if want != got:
                return False
        elif not got:
            return False
        else:
            out[name] = got
    return True


@dataclass(frozen=True)
class UrlPattern:
    """One token URL or API base of a profile, exact or with placeholders.

    ``host`` is the host's labels (leftmost first), ``port`` None for the default, ``path`` the
    path's segments without the leading empty one. Build with ``UrlPattern.parse``; raises
    ``ProfileError`` for a placeholder out of place.
    """

    text: str
    host: tuple[str, ...]
    port: int | None
    path: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, source: str = "<profile>") -> UrlPattern:
        """Parse ``text``; ``{*}`` may be the host's first label or one path segment."""
        scheme, sep, rest = text.partition("://")
        if not sep or scheme.lower() not in _DEFAULT_PORTS:
            raise ProfileError(source, f"URL {text!r} is not an http(s) URL")
        authority, _, path = rest.partition("/")
        host_text, _, port_text = authority.rpartition(":") if authority.count(":") == 1 \
            else (authority, "", "")
        try:
            port = int(port_text) if port_text else None
        except ValueError:
            raise ProfileError(source, f"URL {text!r} has a bad port") from None
        if port is not None and _DEFAULT_PORTS[scheme.lower()] == port:
            port = None
        host = tuple(label.lower() if _placeholder(label) is None else label
                     for label in host_text.split("."))
        segments = tuple(s for s in path.rstrip("/").split("/")) if path.rstrip("/") else ()
        if any(label == ANY for label in host[1:]) or host == ("",):
            raise ProfileError(source, f"URL {text!r}: {{*}} may only be the host's first label")
        if sum(s == ANY for s in segments) > 1:
            raise ProfileError(source, f"URL {text!r}: {{*}} may appear once in a path")
        return cls(text, host, port, segments)

    @property
    def host_suffix(self) -> str:
        """The literal labels after the last host placeholder (``epichosted.com``), or ``""``."""
        labels: list[str] = []
        for label in reversed(self.host):
            if _placeholder(label) is not None:
                break
            labels.append(label)
        return ".".join(reversed(labels))

    @property
    def last_segment(self) -> str | None:
        """The path's last segment when it is literal (``token``), else None."""
        if self.path and _placeholder(self.path[-1]) is None:
            return self.path[-1]
        return None

    def match_host(self, host: str, port: int | None, out: Captures) -> bool:
        """True when ``host`` (lower case) and ``port`` fit; fills captures into ``out``."""
        if port != self.port:
            return False
        labels = host.split(".")
        if self.host and self.host[0] == ANY:
            rest = self.host[1:]
            if len(labels) <= len(rest):
                return False
            cut = len(labels) - len(rest)
            return _match_parts(rest, labels[cut:], out)
        return _match_parts(self.host, labels, out)

    def match_path(self, path: str, out: Captures, *, prefix: bool = False) -> bool:
        """True when ``path`` fits exactly (``prefix``: or lies under it); fills captures."""
        parts = path.split("/")[1:] if path else []
        if ANY not in self.path:
            if prefix and len(parts) > len(self.path):
                parts = parts[:len(self.path)]
            return _match_parts(self.path, parts, out)
        cut = self.path.index(ANY)
        head, tail = self.path[:cut], self.path[cut + 1:]
        if len(parts) < len(head) + len(tail) or not _match_parts(head, parts[:len(head)], out):
            return False
        if not prefix:
            return _match_parts(tail, parts[len(parts) - len(tail):], out)
        for start in range(len(head), len(parts) - len(tail) + 1):
            trial: Captures = {}
            if _match_parts(tail, parts[start:start + len(tail)], trial):
                out.update(trial)
                return True
        return False

    def match(self, host: str, port: int | None, path: str, *, prefix: bool = False,
              any_host: bool = False) -> Captures | None:
        """The captures when the URL's parts fit (``any_host``: whatever the host), else None."""
        out: Captures = {}
        if not any_host and not self.match_host(host, port, out):
            return None
        return out if self.match_path(path, out, prefix=prefix) else None
