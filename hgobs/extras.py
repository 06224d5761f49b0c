"""Which optional extra brings which libraries, and the check that one is installed.

``pip install hgobs`` is capture and pre-flight only (the OpenTelemetry API and instrumentation
base, wrapt, PyJWT, msgspec). The rest comes with extras declared in ``pyproject.toml``:

==============  ===========================================================================
extra           brings
==============  ===========================================================================
``instruments`` httpx, the library hgobs instruments (OpenTelemetry's convention: the service
                brings it; ``HGAuthInstrumentor.instrumentation_dependencies`` names it)
``analyze``     ``hgobs analyze``/``classify``/``categories``/``schema``: click, rich,
                pandas, orjson
``crypto``      ``hgobs check-assertion --jwks`` (``hgobs.jwks``): cryptography
``emulator``    ``hgobs emulate`` and the emulator: click, starlette, uvicorn, httpx, the
                OpenTelemetry SDK, cryptography (``hgobs demo`` also needs ``analyze``)
``dask``        ``hgobs analyze --workers``/``--scheduler`` (``hgobs.cluster``): dask,
                distributed, fsspec (with ``analyze``; fsspec's backends, such as s3fs,
                are the user's)
``all``         instruments, analyze and emulator
==============  ===========================================================================

``MODULES`` lists the top-level import of each library an extra brings;
``tests/test_lean_install.py`` checks it against the extras of ``pyproject.toml``.
"""

from __future__ import annotations

import importlib.util

from hgobs.errors import MissingExtraError

MODULES: dict[str, tuple[str, ...]] = {
    "analyze": ("click", "rich", "pandas", "orjson"),
    "crypto": ("cryptography",),
    "dask": ("dask", "distributed", "fsspec"),
    "emulator": ("click", "starlette", "uvicorn", "httpx", "opentelemetry.sdk.trace",
                 "cryptography"),
}
"""Per extra, the modules whose presence says it is installed (imported by nothing here)."""


def absent(extra: str) -> str | None:
    """The first module of ``extra`` (a key of ``MODULES``) that cannot be imported, or None.

    Looks the modules up without importing them (``importlib.util.find_spec``: a path search,
    microseconds each). Raises ``KeyError`` for an unknown extra.
    """
    for module in MODULES[extra]:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except ImportError:  # a parent package is missing, or an import hook refuses it
            return module
    return None


def require(extras: tuple[str, ...], needed_by: str) -> None:
    """Raise ``MissingExtraError`` naming those of ``extras`` that are not installed (each a key
    of ``MODULES``); ``needed_by`` (a package or command name) goes into its message."""
    missing = [(extra, module) for extra in extras if (module := absent(extra)) is not None]
    if missing:
        raise MissingExtraError(tuple(e for e, _ in missing), missing[0][1], needed_by)
