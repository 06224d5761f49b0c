"""What the application-log reader tests share: the exchanges they log, and reading a log file
back through format detection to the analyzer's categories."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx

from hgobs.profiles import Profile, load_profile, profile_from_mapping
from hgobs.readers import REGISTRY, detect, read_paths, sniffed_head
from hgobs.readers.base import ReadContext
from hgobs.readers.files import open_input
from tests.support.whole import classify

TOKEN_URL = "https://sandbox.healthgorilla.com/oauth/token"
API_URL = "https://api.healthgorilla.com/fhir/R4/Patient?family=Rivera"
EXPIRED_CHALLENGE = 'Bearer error="invalid_token", error_description="The access token expired"'
INVALID_SCOPE = '{"error":"invalid_scope"}'
EXPECTED = ["invalid_scope", "rate_limited", "access_token_expired", "network_failure"]
"""The categories of the four events every application-log test logs, in order: a token
request refused for its scope (400), a FHIR call refused with 429 and ``Retry-After``, one
refused with an expired-token challenge (401), and a token request that got no answer."""
SECRET = "at-3f9c1e7b2d5a4c6e8f0a"
"""An access token some tests log in a request header: it must not come out."""


def format_of(path: Path) -> str:
    """The ``NAME`` of the reader detection picks for ``path``."""
    with open_input(str(path)) as stream:
        reader = detect(sniffed_head(stream), str(path))
    assert reader in REGISTRY
    return reader.NAME


def outcomes(path: Path, profile: Profile | None = None) -> list[tuple[str, str]]:
    """``(source, category)`` for each record of ``path`` and ``(source, "skip: reason")`` for
    each skipped item, read through detection and judged by the analyzer."""
    profile = profile or load_profile("healthgorilla")
    items = list(read_paths([str(path)], ReadContext(profile=profile)))
    result = classify(items, profile)
    out = [(c.source, c.record["category"]) for c in result.classified]
    out += [(i.source, f"skip: {i.reason}") for i in result.skipped]
    return sorted(out, key=lambda pair: int(pair[0].rsplit(":", 1)[1]))


def categories(path: Path, profile: Profile | None = None) -> list[str]:
    """The categories of the records of ``path``, in line order."""
    return [c for _, c in outcomes(path, profile) if not c.startswith("skip: ")]


def records_text(path: Path, profile: Profile | None = None) -> str:
    """Every record and skip reason of ``path``, as one text (for leak checks)."""
    profile = profile or load_profile("healthgorilla")
    items: list[Any] = list(read_paths([str(path)], ReadContext(profile=profile)))
    return " ".join(f"{i.record} {i.reason}" for i in items)


# -- a loopback provider, and the four calls every test logs ------------------------------------

class _Provider(BaseHTTPRequestHandler):
    """Answers like a provider: the token request refused for its scope, a FHIR search rate
    limited, a FHIR read refused with an expired-token challenge."""

    ANSWERS: ClassVar[dict[tuple[str, str], tuple[int, list[tuple[str, str]], str]]] = {
        ("POST", "/oauth/token"): (400, [("Content-Type", "application/json")], INVALID_SCOPE),
        ("GET", "/fhir/R4/Patient?family=Rivera"): (
            429, [("Content-Type", "application/json"), ("Retry-After", "30")],
            '{"error":"rate_limited"}'),
        ("GET", "/fhir/R4/Observation"): (401, [("WWW-Authenticate", EXPIRED_CHALLENGE)], ""),
    }

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        status, headers, body = self.ANSWERS.get((self.command, self.path), (404, [], ""))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Call:
    """One request a test made: method, URL, and the response or the exception instead."""

    method: str
    url: str
    response: httpx.Response | None = None
    error: Exception | None = None


@dataclass
class Loopback:
    """A running loopback provider: its origin, the profile that knows it, a closed port."""

    origin: str
    profile: Profile
    closed_url: str

    def calls(self, client: httpx.Client | None = None) -> list[Call]:
        """The four calls (see ``EXPECTED``), made with ``client`` (a new one by default)."""
        own = client is None
        client = client or httpx.Client(timeout=5)
        form = {"grant_type": "client_credentials", "client_id": "loop-client",
                "scope": "patient360"}
        out = []
        try:
            for method, url, kwargs in (
                    ("POST", f"{self.origin}/oauth/token", {"data": form}),
                    ("GET", f"{self.origin}/fhir/R4/Patient?family=Rivera",
                     {"headers": {"Authorization": f"Bearer {SECRET}"}}),
                    ("GET", f"{self.origin}/fhir/R4/Observation",
                     {"headers": {"Authorization": f"Bearer {SECRET}"}}),
                    ("POST", self.closed_url, {"data": form})):
                try:
                    out.append(Call(method, url, client.request(method, url, **kwargs)))
                except httpx.TransportError as exc:
                    out.append(Call(method, url, error=exc))
        finally:
            if own:
                client.close()
        return out


def loop_profile(origins: list[str]) -> Profile:
    """A profile whose token URL and FHIR base are on each of ``origins``."""
    return profile_from_mapping({"name": "loop", "environments": {"sandbox": {
        "token_urls": [f"{o}/oauth/token" for o in origins],
        "api_bases": [f"{o}/fhir/R4" for o in origins]}}})


@contextmanager
def loopback() -> Iterator[Loopback]:
    """A loopback provider on a free port of 127.0.0.1, for the time of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    origin = f"http://127.0.0.1:{server.server_port}"
    closed_origin = f"http://127.0.0.1:{closed}"
    try:
        yield Loopback(origin, loop_profile([origin, closed_origin]),
                       f"{closed_origin}/oauth/token")
    finally:
        server.shutdown()
        server.server_close()


def logged(path: Path, write: Callable[[Path, list[Call]], None]
           ) -> Iterator[tuple[Path, Profile]]:
    """For a module fixture: ``write`` logs the loopback provider's calls to ``path``; yields
    ``(path, the provider's profile)`` while the provider runs."""
    with loopback() as provider:
        write(path, provider.calls())
        yield path, provider.profile


def assert_read_as(path: Path, profile: Profile, reader: str) -> None:
    """``path`` is detected as ``reader``'s format, its four events give ``EXPECTED`` in order,
    and its first line (a startup event naming no request) is a skip saying why."""
    assert format_of(path) == reader
    assert categories(path, profile) == EXPECTED
    assert outcomes(path, profile)[0] == (f"{path}:1", "skip: no HTTP exchange found")


@contextmanager
def file_logger(path: Path, formatter: logging.Formatter, name: str
                ) -> Iterator[logging.Logger]:
    """The logger ``name`` writing INFO and up to ``path`` through ``formatter`` alone (not
    propagated), as a service's logging set-up would; its handler removed and closed after."""
    handler = logging.FileHandler(path)
    handler.setFormatter(formatter)
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()
