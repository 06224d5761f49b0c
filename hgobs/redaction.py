"""Small pure functions that keep secrets and patient data out of everything hgobs emits.

- ``Fingerprinter``: keyed HMAC-SHA256 fingerprints, so equal values can be matched across
  records without storing them (never a bare hash, which a dictionary attack reverses).
- ``redact_url``: scheme, host, port and path, with FHIR resource ids replaced, and only the
  *names* of query parameters (FHIR search values carry names, ids and birth dates).
- ``scrub_text``: removes JWT-shaped, long token-shaped and email-shaped substrings (and any
  known secret of the request) from free text that came from a server or a client.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Container, Iterable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

FINGERPRINT_HEX_CHARS = 16
MAX_TEXT_CHARS = 512
REDACTED = "[redacted]"
ID_PLACEHOLDER = "{id}"
VERSION_PLACEHOLDER = "{vid}"

# Three base64url segments, the first two starting like JSON objects ("eyJ" = '{"').
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_\-=+/]*)?")
# Runs of token characters long enough to be a credential: 16+ base64url characters, or 24+
# characters of standard base64 (with "/" and "+"), that mix letters and digits; any 40+ run.
_TOKENISH_RE = re.compile(r"[A-Za-z0-9_\-+=~]{16,}")
_B64_RUN_RE = re.compile(r"[A-Za-z0-9_\-+/=~]{24,}")
_URL_IN_TEXT_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>,;]+")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Path segments kept as they are: lower-case words, operations (`$everything`, `_history`),
# and short version tags (`R4`, `v1`, `oauth2`, `STU3`). Capitalised words are kept only when
# they are FHIR R4 resource types (HL7 FHIR R4, resourcelist); anything else may be an id.
_KEEP_SEGMENT_RE = re.compile(
    r"^(?:[a-z_$][a-z_$.\-]{0,39}|[A-Za-z]{1,6}\d{1,2}(?:\.\d{1,2})?|[_$][A-Za-z\-]{1,39})$"
)
FHIR_RESOURCE_TYPES = frozenset(
    """Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse
    AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement
    CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse
    ClinicalImpression CodeSystem Communication CommunicationRequest CompartmentDefinition
    Composition ConceptMap Condition Consent Contract Coverage CoverageEligibilityRequest
    CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest
    DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis
    Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence
    EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal
    GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization
    ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice
    Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration
    MedicationDispense MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct
    MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder Observation
    ObservationDefinition OperationDefinition OperationOutcome Organization
    OrganizationAffiliation Parameters Patient PaymentNotice PaymentReconciliation Person
    PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire
    QuestionnaireResponse RelatedPerson RequestGroup ResearchDefinition ResearchElementDefinition
    ResearchStudy ResearchSubject RiskAssessment RiskEvidenceSynthesis Schedule SearchParameter
    ServiceRequest Slot Specimen SpecimenDefinition StructureDefinition StructureMap Subscription
    Substance SupplyDelivery SupplyRequest Task TerminologyCapabilities TestReport TestScript
    ValueSet VerificationResult VisionPrescription""".split()
)


class Fingerprinter:
    """Keyed fingerprints: ``HMAC-SHA256(key, value)`` as the first 16 hex characters (64 bits).

    ``key`` is bytes; None draws a random per-process key, so fingerprints then match only
    within one process (set ``HGOBS_FINGERPRINT_KEY`` to match across processes and files).
    """

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes | None = None) -> None:
        # The key is absorbed once; each value continues a copy of that state.
        self._keyed = hmac.new(key if key else secrets.token_bytes(32), digestmod=hashlib.sha256)

    def __call__(self, value: str | bytes | None) -> str | None:
        """The fingerprint of ``value`` (None for None or empty)."""
        if not value:
            return None
        mac = self._keyed.copy()
        mac.update(value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value)
        return mac.hexdigest()[:FINGERPRINT_HEX_CHARS]

    def __repr__(self) -> str:  # never show the key
        return "Fingerprinter(<key hidden>)"


def _is_secretish(run: str) -> bool:
    if len(run) >= 40:
        return True
    has_digit = any(c.isdigit() for c in run)
    has_alpha = any(c.isalpha() for c in run)
    return has_digit and has_alpha


KNOWN_PIECE = 8
"""Shortest run of a known secret that is removed where a server echoes part of it."""


_URL_SAFE_RE = re.compile(r"[A-Za-z0-9_.~-]*")
"""Characters every URL encoding leaves as they are (RFC 3986 unreserved)."""


@functools.lru_cache(maxsize=256)
def _encoded_forms(secret: str) -> tuple[str, ...]:
    """A secret as it is, and URL-encoded the ways a server may echo it (cached: the same
    known secrets are checked against every string of one record). A secret of unreserved
    characters only (a JWT, a base64url or alphanumeric token) encodes to itself."""
    if _URL_SAFE_RE.fullmatch(secret):
        return (secret,)
    return tuple({secret, quote(secret, safe=""), quote_plus(secret), quote(secret)})


@functools.lru_cache(maxsize=256)
def _windows(secret: str) -> frozenset[str]:
    """Every run of ``KNOWN_PIECE`` characters of ``secret`` (cached per secret)."""
    return frozenset(secret[i:i + KNOWN_PIECE] for i in range(len(secret) - KNOWN_PIECE + 1))


DIRECT_SEARCH_BUDGET = 1 << 17
"""Most characters of secret a piece search may scan directly (windows of the text times the
secret's length) before the secret's window set is built instead."""


def _redact_pieces(text: str, secret: str) -> str:
    """``text`` with every run of ``KNOWN_PIECE``+ characters that also occurs in ``secret``
    replaced (a server echoing the first characters of a secret, or a middle part of it).

    Each window of the text is looked for in the secret: a short text (few windows against a
    long secret, the usual error message against an assertion) searches the secret itself;
    a longer one looks each window up in the secret's set of windows, built once per secret,
    so the work stays linear in ``len(text)`` + ``len(secret)``."""
    if len(text) < KNOWN_PIECE:
        return text
    n = len(text) - KNOWN_PIECE + 1
    direct = n * 8 <= len(secret) + 128 and n * len(secret) <= DIRECT_SEARCH_BUDGET
    if direct:
        windows: Container[str] = secret  # a window is a piece of it iff it is a substring
    else:
        windows = _windows(secret)
    out: list[str] = []
    last = i = 0
    size = len(text)
    while i < n:
        if direct and text[i + KNOWN_PIECE - 1] not in secret:
            i += KNOWN_PIECE  # no window holding that character (a space ...) is a piece
            continue
        if text[i:i + KNOWN_PIECE] not in windows:
            i += 1
            continue
        end = i + KNOWN_PIECE
        while end < size and text[end - KNOWN_PIECE + 1:end + 1] in windows:
            end += 1
        out += [text[last:i], REDACTED]
        last = i = end
    return "".join(out) + text[last:] if out else text


_WORD_RE = re.compile(r"[A-Za-z0-9_-]*")
_SHORT_WORD = 16
"""Shorter than the shortest token-shaped run ``scrub_text`` removes."""


def _scrub_plain(text: str) -> str:
    out = _B64_RUN_RE.sub(lambda m: REDACTED if _is_secretish(m.group(0)) else m.group(0), text)
    return _TOKENISH_RE.sub(lambda m: REDACTED if _is_secretish(m.group(0)) else m.group(0), out)


def scrub_text(
    text: str | None, known: Iterable[str] = (), limit: int = MAX_TEXT_CHARS
) -> str | None:
    """Return ``text`` with secrets replaced by ``[redacted]``, cut to ``limit`` characters.

    Undoes percent-encoding first; replaces JWT-shaped substrings and email addresses; removes
    each string in ``known`` (8+ characters; also URL-encoded) and any run of 8+ characters of
    one of them; reduces URLs with ``redact_url``; elsewhere replaces token-shaped runs (16+
    base64url or 24+ base64 characters mixing letters and digits, or any 40+ run).
    """
    if text is None:
        return None
    out = str(text)
    if not known:
        clean = _CLEAN.get((out, limit))
        if clean is not None:
            return clean
    if len(out) < _SHORT_WORD and _WORD_RE.fullmatch(out):
        # A short word (``HS256``, ``Bearer``, ``invalid_grant``) holds no escape, JWT, email,
        # URL or token-shaped run, and removing known pieces cannot make one.
        for secret in known:
            if len(out) >= KNOWN_PIECE and secret and len(secret) >= KNOWN_PIECE:
                for form in _encoded_forms(secret):
                    if form in out:
                        out = out.replace(form, REDACTED)
                out = _redact_pieces(out, secret)
        return out[:limit] + "..." if len(out) > limit else out
    if known and (out, limit) in _CLEAN:
        # Every pass but the known secrets' leaves it as it is (see ``_CLEAN``): only they can
        # change it, and when they do not, it is the answer.
        if not isinstance(known, (tuple, list)):
            known = tuple(known)
        if _remove_known(out, known) == out:
            return out
    if "%" in out:  # judge the text as it reads once percent-encoding is undone
        out = unquote(out)
    # Whole shapes first (a JWT, an email), before known pieces could cut them apart.
    out = shaped = _EMAIL_RE.sub(REDACTED, _JWT_RE.sub(REDACTED, out))
    out = _remove_known(out, known)
    kept = out == shaped
    pieces: list[str] = []
    last = 0
    for match in _URL_IN_TEXT_RE.finditer(out):
        pieces.append(_scrub_plain(out[last:match.start()]))
        pieces.append(redact_url(match.group(0)))
        last = match.end()
    pieces.append(_scrub_plain(out[last:]))
    out = "".join(pieces)
    if len(out) > limit:
        out = out[:limit] + "..."
    if out == text and shaped == text and kept and len(out) <= _CLEAN_TEXT_CHARS:
        if len(_CLEAN) >= _CLEAN_ENTRIES:
            _CLEAN.clear()
        _CLEAN[(out, limit)] = out
    return out


def _remove_known(text: str, known: Iterable[str]) -> str:
    """``text`` with each known secret (8+ characters), as it is or URL-encoded, and every run
    of 8+ characters of one replaced."""
    for secret in known:
        if not secret or len(secret) < KNOWN_PIECE:
            continue
        for form in _encoded_forms(secret):
            if form in text:
                text = text.replace(form, REDACTED)
        text = _redact_pieces(text, secret)
    return text


_CLEAN: dict[tuple[str, int], str] = {}
"""Texts that every pass of ``scrub_text`` left as they were (escapes, shapes, known secrets
of that call, URLs, token-shaped runs, the length cut), such as a ``grant_type`` URN, a token
URL or a server's usual error description: without known secrets the same answer again at
once; with them, only the known secrets are looked for. Only texts that are emitted as they
are go in, so the table holds nothing that redaction removes."""
_CLEAN_ENTRIES = 512
_CLEAN_TEXT_CHARS = 256


def _redact_path(path: str) -> str:
    segments = path.split("/")
    out: list[str] = []
    after_type = False
    after_history = False
    for raw in segments:
        seg = unquote(raw)
        if seg == "":
            out.append("")
            after_type = after_history = False
            continue
        if after_history and not seg.startswith(("_", "$")):
            out.append(VERSION_PLACEHOLDER)
        elif after_type and not seg.startswith(("_", "$")):
            out.append(ID_PLACEHOLDER)
        elif seg in FHIR_RESOURCE_TYPES or _KEEP_SEGMENT_RE.match(seg):
            out.append(raw)
        else:
            out.append(ID_PLACEHOLDER)
        after_history = seg == "_history"
        after_type = seg in FHIR_RESOURCE_TYPES and not after_type
    return "/".join(out)


def query_names(query: str) -> list[str]:
    """The distinct parameter names of a query string, scrubbed, in first-seen order."""
    names: list[str] = []
    for name, _value in parse_qsl(query, keep_blank_values=True):
        clean = scrub_text(name, limit=64) or ""
        if clean not in names:
            names.append(clean)
    return names


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path[?name1&name2]`` with ids and every query value removed.

    A path segment right after a FHIR resource type (``Patient/123``) or ``_history`` becomes
    ``{id}``/``{vid}``; any other segment that is not a plain word or short version tag
    (``R4``, ``v1``, ``oauth2``) becomes ``{id}`` too. User info and fragments are dropped.
    """
    if "?" in url or "@" in url or "#" in url:
        return _redact_url(url)
    return _redact_plain_url(url)  # a token URL or an ``aud``: the same few, again and again


@functools.lru_cache(maxsize=256)
def _redact_plain_url(url: str) -> str:
    """``redact_url`` of a URL without query, user info or fragment, cached."""
    return _redact_url(url)


def _redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if _EMAIL_RE.search(host) or _JWT_RE.search(host):
        host = REDACTED
    text = f"{parts.scheme}://{host}{port}{_redact_path(parts.path)}"
    names = query_names(parts.query)
    if names:
        text += "?" + "&".join(names)
    return text
