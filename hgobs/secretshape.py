"""What in free text reads as a secret by its shape, and what reads as vocabulary to keep.

``hgobs.scrub`` asks this module three things about a server's words: whether a run of token
characters is secret-shaped (``is_secret_shaped``), where a value follows a key that names a
secret (``assignment_spans``: ``client_secret=...``, ``"password": "..."``), and where a
credential follows an authentication scheme (``credential_spans``: ``Bearer ...``). Everything
here is linear in the text: fixed patterns that cannot backtrack, then single scans.

A run is *vocabulary* (``is_vocabulary``) when it reads as the words of an identifier rather
than as random characters: an error code (``AADSTS700027``, ``E0000011``), a snake_case or
kebab-case name (``no_valid_keys_or_signatures``, ``RS384_or_ES384_required``), a CamelCase
name (``ClientAssertionSignatureValidationFailed``). The rule is built so that random tokens
(letters and digits of both cases, base64, hex, UUIDs) fail it: tests/test_scrub_vocabulary.py
draws a million of each shape and none reads as vocabulary.
"""

from __future__ import annotations

import re

SECRET_RUN_CHARS = 40
"""A run of token characters this long is secret-shaped even without digits, unless it is
vocabulary."""
MAX_HUMP = 32
"""Most letters of one word (a lower-case part, or one hump of a CamelCase part)."""
MAX_ACRONYM = 4
"""Most capitals of an acronym inside or at the end of a CamelCase word (``HTTP``, ``JWKS``)."""
MAX_CODE_DIGITS = 8
"""Most digits of a code (``AADSTS7000215`` has seven)."""
MAX_CODES = 2
"""Most code parts of a vocabulary run (``RS384_or_ES384_required`` has two)."""
SHORT_WORDS = frozenset({"An", "As", "At", "Be", "By", "Do", "If", "In", "Is", "It", "No", "Of",
                         "On", "Or", "To", "Up", "Id", "Ok"})
"""Two-letter humps of CamelCase names (``SignatureOrKeyIdentifier``)."""
_VOWELS = frozenset("aeiouAEIOU")
_DIGITS = frozenset("0123456789")
_BASE64_MARKS = frozenset("+/=~")


def _pronounceable(letters: str) -> bool:
    """A vowel (``aeiou``), and never five consonants in a row (``thumbprint`` is a word;
    ``xkcqvz`` is not)."""
    run = 0
    vowel = False
    for c in letters:
        if c in _VOWELS:
            vowel, run = True, 0
        else:
            run += 1
            if run >= 5:
                return False
    return vowel


def _word(part: str) -> bool:
    """True for a word of letters: lower- or upper-case (four letters or fewer, or
    pronounceable and at most ``MAX_HUMP``), or CamelCase whose humps are each a capital and
    two or more pronounceable lower-case letters (or one of ``SHORT_WORDS``), with at most one
    acronym of 2 to ``MAX_ACRONYM`` capitals (``JWTSignature``, ``ClientID``, ``ClientIDs``)."""
    n = len(part)
    if n < 2:
        return False
    if part.isupper() or part.islower():
        return n <= 4 or (n <= MAX_HUMP and _pronounceable(part))
    acronyms = i = 0
    while i < n:
        j = i
        while j < n and part[j].isupper():
            j += 1
        k = j
        while k < n and part[k].islower():
            k += 1
        if k == j:  # capitals that end the part: an acronym after a word (``ClientID``)
            if i == 0 or not 2 <= j - i <= MAX_ACRONYM:
                return False
            acronyms += 1
        else:
            start = max(i, j - 1)  # the hump: its capital and its lower-case letters
            hump = part[start:k]
            if k - j == 1 and k == n and part[j] == "s" and j - i > 1:
                acronyms += 1  # a plural acronym that ends the part (``ClientIDs``)
            elif k - j == 1 and hump not in SHORT_WORDS:
                return False
            elif start - i > MAX_ACRONYM or k - start > MAX_HUMP or not _pronounceable(hump):
                return False
            else:
                acronyms += start - i >= 2
        i = k
    return acronyms <= 1


def _code(part: str) -> bool:
    """True for a code: an upper-case head of up to 8 letters (``AADSTS``, ``RS``, ``E``), a
    one-letter lower-case head (``v2``, ``x5t``) or a pronounceable one of up to 6
    (``oauth2``, ``sha256``), or none (a number); then 1 to ``MAX_CODE_DIGITS`` digits; then
    at most one letter of the head's case (``ES256K``, ``x5t``), never after a number."""
    n = len(part)
    i = 0
    while i < n and part[i].isalpha():
        i += 1
    j = i
    while j < n and part[j] in _DIGITS:
        j += 1
    head = part[:i]
    tail = 1 if head.isupper() or i == 1 else 0
    if j == i or j - i > MAX_CODE_DIGITS or n - j > tail:
        return False
    if j < n and (not part[j].isalpha() or part[j].isupper() != head.isupper()):
        return False
    if not head or head.isupper():
        return i <= 8
    return head.islower() and i <= 6 and (i == 1 or _pronounceable(head))


def is_vocabulary(run: str) -> bool:
    """True when ``run`` (ASCII letters, digits and ``_-+/=~``) reads as an identifier's words.

    One part (no ``_`` or ``-``): a word (``_word``: ``ClientAssertionSignatureValidationFailed``)
    or a code (``_code``: ``AADSTS700027``). Several parts split on ``_`` and ``-``: none
    empty (no doubled, leading or trailing separator), every part a word or a code, the words
    all lower-case or all upper-case (``invalid_client``, ``INVALID_CLIENT``; a leading ``x``
    of ``x-ms-...`` too), at most ``MAX_CODES`` codes (``IDX10503_signature_validation_failed``).
    A run holding ``+``, ``/``, ``=`` or ``~`` is never vocabulary (base64 uses them; words
    joined by them are not long enough to need this test). Linear in ``len(run)``.
    """
    if not run.isascii() or any(c in _BASE64_MARKS for c in run):
        return False
    if "_" not in run and "-" not in run:
        return _word(run) if run.isalpha() else run.isalnum() and _code(run)
    codes = 0
    cases: set[bool] = set()
    parts = run.replace("-", "_").split("_")
    for index, part in enumerate(parts):
        if not part.isalnum():
            return False  # empty: a separator doubled, leading or trailing
        if part.isalpha():
            if index == 0 and part == "x":
                continue
            if not (part.islower() or part.isupper()) or not _word(part):
                return False
            cases.add(part.islower())
        elif _code(part):
            codes += 1
        else:
            return False
    return codes <= MAX_CODES and len(cases) == 1


def is_secret_shaped(run: str, strict: bool = False) -> bool:
    """True when ``run`` (a run of token characters ``hgobs.scrub`` found: 16+ base64url or
    24+ base64 characters) is a credential by its shape: it mixes letters and digits, or is
    ``SECRET_RUN_CHARS``+ long, and (unless ``strict``: a URL's host) is not vocabulary
    (``is_vocabulary``)."""
    if len(run) < SECRET_RUN_CHARS:
        if not (any(c in _DIGITS for c in run) and any(c.isalpha() for c in run)):
            return False
    return strict or not is_vocabulary(run)


SECRET_KEYS = ("client_secret", "client_assertion", "assertion", "password", "passwd", "pwd",
               "passphrase", "secret", "access_token", "refresh_token", "id_token", "token",
               "code_verifier", "code", "api_key", "apikey", "x_api_key", "private_key",
               "session", "session_id", "sessionid")
"""Keys whose value is a secret wherever a text assigns one (``key=value``, ``"key": "value"``).
A ``_`` in a key stands for ``_``, ``-`` or nothing, and case is ignored, so ``client-secret``,
``clientSecret`` and ``ClientSecret`` are the same key as ``client_secret``."""


def _key_pattern(key: str) -> str:
    """``key`` as a pattern: each ``_`` one optional ``_`` or ``-`` (no repetition: linear)."""
    return "[_\\-]?".join(re.escape(word) for word in key.split("_"))


_KEY_RE = re.compile(r"(?<![A-Za-z0-9_\-])([\"']?)(" + "|".join(
    sorted((_key_pattern(k) for k in SECRET_KEYS), key=len, reverse=True))
    + r")\1[ \t]{0,8}([=:])[ \t]{0,8}", re.IGNORECASE)
"""A key of ``SECRET_KEYS`` (not inside a longer name: ``error_code`` is not ``code``), quoted
or not, then ``=`` or ``:``; the key alternatives and the bounded blanks cannot backtrack."""
MAX_VALUE_CHARS = 4096
_VALUE_END = frozenset(" \t\r\n&,;\"'<>)]}")
_LITERALS = frozenset({"null", "true", "false"})


def assignment_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each value ``text`` assigns to a key of ``SECRET_KEYS``: after ``=``
    (``client_secret=abc``, ``password = 'p w'``), or after ``:`` when the key or the value is
    quoted (``"access_token": "..."``; a bare ``assertion: signature invalid`` is prose). A
    quoted value runs to its closing quote, a bare one to a blank or ``&,;"'<>)]}``; values
    ``null``, ``true``, ``false`` and a ``code`` of three digits or fewer (an HTTP status)
    are left. Linear: one pattern scan, each value read once."""
    spans: list[tuple[int, int]] = []
    last = 0
    for match in _KEY_RE.finditer(text):
        start = match.end()
        if start < last or start >= len(text):
            continue
        quote = text[start] if text[start] in "\"'" else ""
        if match.group(3) == ":" and not (match.group(1) or quote):
            continue
        if quote:
            close = text.find(quote, start + 1, start + 1 + MAX_VALUE_CHARS)
            begin, end = start + 1, close if close > 0 else start + 1
        else:
            begin = end = start
        if not quote or end == begin:  # bare, or a quote left open: to the first delimiter
            limit = min(len(text), begin + MAX_VALUE_CHARS)
            while end < limit and text[end] not in _VALUE_END:
                end += 1
        value = text[begin:end]
        if not value or value.lower() in _LITERALS or (
                match.group(2).lower() == "code" and value.isdigit() and len(value) <= 3):
            continue
        spans.append((begin, end))
        last = end
    return spans


_CREDENTIAL_RE = re.compile(r"(?<![A-Za-z0-9_\-])(?:bearer|basic|dpop)[ \t]{1,8}"
                            r"([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
"""An authentication scheme (RFC 9110 section 11.4) and a ``token68`` after it."""


def credential_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each credential after ``Bearer``, ``Basic`` or ``DPoP`` (any case)
    in ``text``: a ``token68`` that is not a plain word (``Bearer token``, ``Basic realm``
    stay) nor an auth-param's name (``Bearer realm="x"``, ``Bearer error=invalid_token``).
    ``Bearer Bearer abc`` (a doubled scheme) finds ``abc``. Linear: each search starts after
    the last scheme found."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (match := _CREDENTIAL_RE.search(text, pos)) is not None:
        begin, end = match.span(1)
        value = match.group(1)
        pos = begin  # the credential may itself be a scheme (``Bearer Bearer abc``)
        after = text[end:end + 1]
        if value.endswith("=") and (after == '"' or after.isalnum()):
            continue  # an auth-param: ``realm="..."``, ``error=invalid_token``
        if value.isalpha() and len(value) <= 20 and (
                value.islower() or value.isupper() or value.istitle() or _word(value)):
            continue
        spans.append((begin, end))
        pos = end
    return spans
