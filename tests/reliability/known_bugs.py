"""hgobs bugs the reliability tests found and that are not fixed yet.

Each entry names the strict-xfail test that reproduces the bug. The property tests leave the
inputs that hit a listed bug out of what they generate (so they keep guarding everything
else); when a bug is fixed its xfail test starts passing and fails as XPASS(strict): then delete
the entry here, and the property tests generate those inputs again.
"""

from __future__ import annotations

OPEN: dict[str, str] = {}

CRASHES: dict[str, tuple[str, str]] = {}
"""Open reader crashes by their signature: exception type and the hgobs file it leaves from."""


def known_crash(exc: BaseException) -> str | None:
    """The open bug ``exc`` is an instance of (same type, raised from the same hgobs file)."""
    import traceback

    frames = [f.filename.replace("\\", "/") for f in traceback.extract_tb(exc.__traceback__)
              if "/hgobs/" in f.filename.replace("\\", "/")]
    if not frames:
        return None
    for name, (kind, where) in CRASHES.items():
        if name in OPEN and type(exc).__name__ == kind and frames[-1].endswith(where):
            return name
    return None


def is_open(name: str) -> bool:
    """True while bug ``name`` is listed as open."""
    return name in OPEN
