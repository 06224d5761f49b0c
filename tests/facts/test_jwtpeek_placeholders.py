"""A placeholder where an assertion was hidden before sharing a command or a log."""

from __future__ import annotations

import pytest

from hgobs.diagnosis import diagnose
from hgobs.facts import jwtpeek
from hgobs.redaction import Fingerprinter


@pytest.mark.parametrize("text", ["...", "…", "***", "xxxx", "<redacted>", "[assertion]",
                                  "{jwt}", "$JWT", "${CLIENT_ASSERTION}", "REDACTED"])
def test_a_placeholder_is_not_shown_and_never_malformed(text: str) -> None:
    facts = jwtpeek.peek(text, source="client_assertion", now=1_700_000_000.0,
                         fingerprint=Fingerprinter())
    assert facts == {"assertion.source": "client_assertion", "assertion.defect": "not_shown",
                     "assertion.defect_part": "whole"}
    record = {"endpoint.kind": "token_exchange", "http.status": 400, "time": 1_700_000_000.0,
              "response.error": "invalid_client", "url": "https://idp.example.test/token",
              **facts}
    assert diagnose(record).category != "malformed_assertion"


@pytest.mark.parametrize("text", ["undefined", "null", "eyJhbGciOi", "abc.def", "x" * 50])
def test_a_program_s_bad_value_is_still_judged(text: str) -> None:
    """What a program sends by mistake (an unset variable printed as ``undefined``, a cut
    token) is a defect of the request, not a placeholder of a person's."""
    facts = jwtpeek.peek(text, source="assertion", now=1.0, fingerprint=Fingerprinter())
    assert facts["assertion.defect"] != "not_shown"
