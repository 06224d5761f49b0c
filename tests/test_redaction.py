"""Scrubbing known secrets: both ways of finding their pieces remove exactly the same text."""

from __future__ import annotations

import random
import string

import pytest

from hgobs import knownsecrets, redaction, scrub
from hgobs.redaction import REDACTED, redact_url
from hgobs.scrub import scrub_text

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
    monkeypatch.setattr(knownsecrets, "DIRECT_SEARCH_BUDGET", 0)  # always the window sets
    assert scrub_text(text, known) == direct


def test_every_piece_of_a_long_secret_is_removed_from_a_short_text():
    """Any 8+ character run of a long secret is removed, wherever it starts."""
    for start in range(0, len(ASSERTION) - 8, 7):
        out = scrub_text(f"bad value {ASSERTION[start:start + 8]}!", [ASSERTION])
        assert out == f"bad value {REDACTED}!"


def test_unreserved_secret_encodes_to_itself_and_others_are_still_encoded():
    """A secret of URL-unreserved characters has one form; one with others keeps all forms."""
    assert knownsecrets._encoded_forms(ASSERTION) == (ASSERTION,)
    assert set(knownsecrets._encoded_forms("pass word/+")) == {
        "pass word/+", "pass%20word%2F%2B", "pass+word%2F%2B", "pass%20word/%2B"}


def test_fingerprint_is_hmac_sha256_of_the_value_under_the_key():
    """Fingerprints stay HMAC-SHA256(key, value), first 16 hex characters, call after call."""
    import hashlib
    import hmac

    key = b"fingerprint-key-0123456789"
    fp = redaction.Fingerprinter(key)
    for value in ("a", CLIENT_ID, ASSERTION, "é\ud800"):
        data = value.encode("utf-8", "surrogatepass")
        assert fp(value) == fp(data) == hmac.new(key, data, hashlib.sha256).hexdigest()[:16]


@pytest.mark.parametrize(("text", "known", "expected"), [
    ("HS256", (), "HS256"),
    ("invalid_grant", (ASSERTION,), "invalid_grant"),
    (f"x{CLIENT_ID[2:12]}", (CLIENT_ID,), f"x{REDACTED}"),
    ("abcdefghijklmno", (), "abcdefghijklmno"),
], ids=["alg", "error-code", "piece-of-known", "15-letters"])
def test_short_words_keep_their_value_unless_they_hold_a_known_piece(text, known, expected):
    """A short plain word comes back as it is, except for the pieces of known secrets."""
    assert scrub_text(text, known) == expected
    assert scrub_text(text, known, limit=4) == expected[:4] + "..."


def test_url_redaction_is_the_same_when_a_url_comes_again():
    """The same URL, query-less or not, redacts the same way every time."""
    for url in ("https://api.example.org/fhir/R4/Patient/123", "https://a.example.org/p?id=9"):
        assert redaction.redact_url(url) == redaction.redact_url(url) == redaction._redact_url(url)


def test_texts_remembered_as_clean_are_only_those_emitted_unchanged():
    """The table of clean texts never holds a text that scrubbing changes."""
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    leaky = f"user a.person@example.org sent {ASSERTION}"
    for _ in range(2):
        assert scrub_text(grant) == grant
        assert scrub_text(leaky) == f"user {REDACTED} sent {REDACTED}"
    assert (grant, scrub.MAX_TEXT_CHARS) in scrub._CLEAN
    assert not any(ASSERTION in text or "a.person" in text for text, _ in scrub._CLEAN)


def _pieces_one_by_one(text: str, secret: str) -> str:
    """Every run of 8+ characters of ``secret`` in ``text`` replaced, window by window."""
    out, last, i = [], 0, 0
    while i <= len(text) - knownsecrets.KNOWN_PIECE:
        if text[i:i + knownsecrets.KNOWN_PIECE] not in secret:
            i += 1
            continue
        end = i + knownsecrets.KNOWN_PIECE
        while end < len(text) and text[end - knownsecrets.KNOWN_PIECE + 1:end + 1] in secret:
            end += 1
        out += [text[last:i], REDACTED]
        last = i = end
    return "".join(out) + text[last:]


def test_piece_search_skipping_characters_the_secret_lacks_removes_the_same():
    """Windows holding a character the secret lacks are skipped, and the same runs go."""
    alphabet = "ab -_.é" + ASSERTION[:20]
    for _ in range(3000):
        secret = "".join(RND.choices(alphabet, k=RND.randint(8, 60)))
        text = "".join(RND.choice([secret[RND.randint(0, 40):][:RND.randint(1, 12)],
                                   RND.choice(alphabet)]) for _ in range(RND.randint(0, 12)))
        assert knownsecrets._redact_pieces(text, secret) == _pieces_one_by_one(text, secret), (text, secret)


def test_texts_remembered_as_clean_scrub_as_before_with_known_secrets():
    """A text remembered as clean is scrubbed with known secrets as if it were not remembered."""
    texts = ["Invalid assertion", "Assertion expired", f"bad {CLIENT_ID[3:14]} here",
             "see https://idp.example.org/doc?x=1", "mail a.person@example.org", "100%", "a%20b",
             "long word " + "x" * 300, "Invalid assertion " + ASSERTION[50:70]]
    knowns = [(), (ASSERTION,), (CLIENT_ID, ASSERTION), ("Invalid assertion",), ("short",),
              ("assertion expired",), iter([CLIENT_ID])]
    for limit in (scrub.MAX_TEXT_CHARS, 12):
        for _ in range(2):
            for text in texts:
                for known in knowns:
                    known = tuple(known) if not isinstance(known, tuple) else known
                    got = scrub_text(text, iter(known), limit=limit)
                    scrub._CLEAN.clear()
                    assert got == scrub_text(text, known, limit=limit), (text, known)
                    scrub_text(text, limit=limit)  # remembered again when clean


@pytest.mark.parametrize("text, expected", [
    ('realm="/fhir/R4/Patient?family=Doe&given=Jo"', 'realm="/fhir/R4/Patient?family&given"'),
    ("token for /fhir/R4/Patient/pat-8842 expired", "token for /fhir/R4/Patient/{id} expired"),
    ("path=/Patient/123/_history/2,", "path=/Patient/{id}/_history/{vid},"),
    ("see /oauth/token", "see /oauth/token"),
    ("and/or read/write /a", "and/or read/write /a"),
], ids=["query", "resource-id", "history", "plain-path", "not-a-path"])
def test_path_references_in_server_text_lose_ids_and_query_values(text, expected):
    """A path a server echoes (a WWW-Authenticate realm, an error description) is reduced as a
    URL's path and query are: short search values (``Doe``) and resource ids never stay."""
    assert scrub_text(text) == expected


@pytest.mark.parametrize("url,expected,port", [
    ("http://[::1]:8080/fhir/R4/Patient/123?family=X", "http://[::1]:8080/fhir/R4/Patient/{id}?family", 8080),
    ("https://[2001:db8::1]/oauth/token", "https://[2001:db8::1]/oauth/token", None)])
def test_a_redacted_ipv6_url_keeps_its_brackets_and_parses_back(url, expected, port):
    """The host of an IPv6 URL keeps its brackets (RFC 3986 section 3.2.2), so the redacted URL
    parses back with its port."""
    from urllib.parse import urlsplit

    assert redact_url(url) == expected
    assert urlsplit(redact_url(url)).port == port
