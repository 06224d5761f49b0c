"""hgobs bugs the reliability tests found and that are not fixed yet.

Each entry names the strict-xfail test that reproduces the bug. The property tests leave the
inputs that hit a listed bug out of what they generate (so they keep guarding everything
else); when a bug is fixed its xfail test starts passing and fails as XPASS(strict): then delete
the entry here, and the property tests generate those inputs again.
"""

from __future__ import annotations

OPEN: dict[str, str] = {
    "percent-encoded-server-text":
        "tests/reliability/test_leaks_bugs.py::test_percent_encoded_secret_in_server_text",
    "truncated-echo": "tests/reliability/test_leaks_bugs.py::test_truncated_echo_of_a_client_secret",
}


def is_open(name: str) -> bool:
    """True while bug ``name`` is listed as open."""
    return name in OPEN
