"""Scrubbing known secrets: both ways of finding their pieces remove exactly the same text."""

from __future__ import annotations

import random
import string

import pytest

from hgobs import redaction
from hgobs.redaction import REDACTED, scrub_text

RND = random.Random(20260101)
ALNUM = string.ascii_letters + string.digits


def _token(n: int) -> str:
    return "".join(RND.choices(ALNUM, k=n))


ASSERTION = "eyJhbGciOiJSUzM4NCJ9." + _token(180) + "." + _token(86)
CLIENT_ID = _token(20)
TEXTS = [
    "Invalid assertion",
    f"assertion {ASSERTION[30:52]} rejected",
    f"client {CLIENT_ID} unknown",
    f"prefix {ASSERTION[:12]}... and {CLIENT_ID[4:13]} and {ASSERTION[-9:]}",
    "x" * 7,
    ("no echo here, only words " * 40) + ASSERTION[100:140],
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_direct_search_and_window_set_agree(text, monkeypatch):
    """A short text searched in the secret itself loses the same pieces as with window sets."""
    known = [ASSERTION, CLIENT_ID]
    direct = scrub_text(text, known)
    monkeypatch.setattr(redaction, "DIRECT_SEARCH_BUDGET", 0)  # always the window sets
    assert scrub_text(text, known) == direct


def test_every_piece_of_a_long_secret_is_removed_from_a_short_text():
    """Any 8+ character run of a long secret is removed, wherever it starts."""
    for start in range(0, len(ASSERTION) - 8, 7):
        out = scrub_text(f"bad value {ASSERTION[start:start + 8]}!", [ASSERTION])
        assert out == f"bad value {REDACTED}!"


def test_unreserved_secret_encodes_to_itself_and_others_are_still_encoded():
    """A secret of URL-unreserved characters has one form; one with others keeps all forms."""
    assert redaction._encoded_forms(ASSERTION) == (ASSERTION,)
    assert set(redaction._encoded_forms("pass word/+")) == {
        "pass word/+", "pass%20word%2F%2B", "pass+word%2F%2B", "pass%20word/%2B"}
