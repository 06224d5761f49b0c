"""A local Health Gorilla-like auth server for tests and demos: token exchange and FHIR reads.

``serve(config)`` runs it on a loopback port in a background thread; ``create_app(config)`` is
the bare ASGI app; ``emulate`` is the ``hgobs emulate`` command. The rules it applies are
documented in ``hgobs.emulator.rules`` (token endpoint, configured by a ``TokenRules``) and
``hgobs.emulator.access`` (API). With ``EmulatorConfig(profile=...)`` it answers like another
provider instead (``hgobs.emulator.provider``: token URL paths, tenants, answers).
"""

from __future__ import annotations

from hgobs.extras import require

require(("emulator",), "hgobs.emulator")  # MissingExtraError (an ImportError) without the extra

from hgobs.emulator.app import create_app  # noqa: E402
from hgobs.emulator.command import emulate  # noqa: E402
from hgobs.emulator.config import ClientRegistration, EmulatorConfig  # noqa: E402
from hgobs.emulator.keys import EmulatorKeys  # noqa: E402
from hgobs.emulator.server import RunningEmulator, serve  # noqa: E402
from hgobs.emulator.tokenrules import ErrorAnswer, TokenRules  # noqa: E402

__all__ = [
    "ClientRegistration",
    "EmulatorConfig",
    "EmulatorKeys",
    "ErrorAnswer",
    "RunningEmulator",
    "TokenRules",
    "create_app",
    "emulate",
    "serve",
]
