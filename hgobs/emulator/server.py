"""Run the emulator on a real loopback socket in a background thread, as a context manager.

``serve`` binds the socket itself (port 0 picks a free port, so the real port is known before
uvicorn starts), runs uvicorn (h11, asyncio, no lifespan, log level warning, no access log,
no ``server``/``date`` headers of its own, proxy headers ignored, logging configuration of the
host process left untouched) and returns once uvicorn accepts connections. On exit it asks
uvicorn to stop and joins the thread.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from hgobs.emulator.app import EmulatorState, create_app
from hgobs.emulator.config import ENVIRONMENTS, ClientRegistration, EmulatorConfig
from hgobs.emulator.provider import loopback_profile, token_routes
from hgobs.errors import ConfigError
from hgobs.profiles import Environment, Profile

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0


def loopback_address(host: str) -> str:
    """The IP address to bind for ``host``: a loopback IP literal, or ``localhost`` -> 127.0.0.1.

    Raises ``ConfigError`` for any other host (the emulator never listens beyond this machine).
    """
    if host.strip().lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        raise ConfigError("host", f"{host!r} is not a loopback address") from None
    if not address.is_loopback:
        raise ConfigError("host", f"{host!r} is not a loopback address")
    return str(address)


def emulator_profile(base_url: str, max_assertion_lifetime_s: float = 3600.0) -> Profile:
    """The provider profile of an emulator at ``base_url`` (no trailing slash).

    Name ``emulator``; environments ``sandbox`` and ``production`` with token URL
    ``{base}/{env}/oauth/token`` and API base ``{base}/{env}/fhir``; ``require_iat`` true;
    an infinite lifetime (rules without a limit) gives None.
    """
    return Profile(
        name="emulator",
        title="Local Health Gorilla emulator",
        environments=tuple(
            Environment(
                name=env,
                token_urls=(f"{base_url}/{env}/oauth/token",),
                api_bases=(f"{base_url}/{env}/fhir",),
            )
            for env in ENVIRONMENTS
        ),
        max_assertion_lifetime_s=None if math.isinf(max_assertion_lifetime_s)
        else float(max_assertion_lifetime_s),
        require_iat=True,
    )


@dataclass(frozen=True)
class RunningEmulator:
    """A started emulator: where it listens and what it knows.

    ``base_url`` is ``http://{host}:{port}`` (IPv6 hosts in brackets); ``state`` is the app's
    memory (issued tokens, used assertions), for tests to inspect.
    """

    base_url: str
    config: EmulatorConfig
    state: EmulatorState

    @property
    def profile(self) -> Profile:
        """The profile pointing at this server: the ``emulator`` profile, or with a provider
        profile that profile moved to this server (``provider.loopback_profile``)."""
        if self.config.profile is not None:
            return loopback_profile(self.config.profile, self.base_url)
        return emulator_profile(self.base_url, self.config.max_assertion_lifetime_s)

    @property
    def environments(self) -> tuple[str, ...]:
        """The environments served (``EmulatorConfig.environments``)."""
        return self.config.environments

    @property
    def client(self) -> ClientRegistration:
        """The first registered client (the generated one when none was configured)."""
        return self.config.clients[0]

    def token_url(self, environment: str | None = None) -> str:
        """The token URL of ``environment`` (default: ``sandbox``, with a provider profile its
        first environment): ``{base}/{env}/oauth/token``, or with a provider profile the path
        of the environment's first token URL, placeholders filled with the registered values
        (``config.placeholders``). ``ConfigError`` for an environment not served."""
        if self.config.profile is None:
            return f"{self.base_url}/{environment or 'sandbox'}/oauth/token"
        return self.token_urls(environment or self.environments[0])[0]

    def token_urls(self, environment: str) -> tuple[str, ...]:
        """Every token URL served for ``environment`` (placeholders filled)."""
        if self.config.profile is None:
            return (self.token_url(environment),)
        urls = tuple(f"{self.base_url}/{environment}{r.path(self.config.placeholders)}"
                     for r in token_routes(self.config.profile) if r.environment == environment)
        if not urls:
            raise ConfigError("environment", f"{environment!r} is not served")
        return tuple(dict.fromkeys(urls))

    def audiences(self, token_url: str) -> tuple[str, ...]:
        """The ``aud`` values accepted at ``token_url`` (first: the one to send)."""
        if self.config.profile is None:
            rules = self.config.rules
            assert rules is not None
            return rules.accepted_audiences(token_url)
        return self.profile.audiences(token_url)

    def jwks_url(self, environment: str | None = None) -> str:
        """The URL of the emulator's JWKS: ``{base}/.well-known/jwks.json``, or under
        ``{base}/{environment}`` when one is named."""
        prefix = f"/{environment}" if environment else ""
        return f"{self.base_url}{prefix}/.well-known/jwks.json"

    def fhir_base(self, environment: str | None = None) -> str:
        """The FHIR R4 base URL of ``environment`` (``{base}/{env}/fhir/R4``; default as for
        ``token_url``)."""
        return f"{self.base_url}/{environment or self.environments[0]}/fhir/R4"

    def profile_toml(self) -> str:
        """The profile as TOML text, as ``hgobs.profiles.load_profile`` reads it."""
        return self.profile.to_toml()


def _bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@contextmanager
def serve(
    config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningEmulator]:
    """Run the emulator on ``host:port`` for the duration of the ``with`` block.

    ``config`` defaults to ``EmulatorConfig()`` (one generated client); ``host`` must be a
    loopback address (``ConfigError`` otherwise); ``port`` 0 picks a free port. Raises
    ``OSError`` when the port cannot be bound and ``RuntimeError`` when uvicorn does not start
    within ``STARTUP_TIMEOUT_S``.
    """
    config = config if config is not None else EmulatorConfig()
    address = loopback_address(host)
    app = create_app(config)
    sock = _bind(address, port)
    real_port = sock.getsockname()[1]
    shown = f"[{address}]" if ":" in address else address
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="asyncio",
            http="h11",
            lifespan="off",
            log_level="warning",
            log_config=None,
            access_log=False,
            server_header=False,
            date_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="hgobs-emulator", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.005)
        yield RunningEmulator(f"http://{shown}:{real_port}", config, app.state.emulator)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_S)
        sock.close()
