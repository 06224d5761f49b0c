"""The auth attempt record: every field hgobs may emit, its type, unit and meaning.

One record describes one auth attempt (a token exchange, or a refused API call). Capture builds
it from an allowlist of facts, the JSON Lines sink writes it as one object per line (keys are
the field names below, plus ``"schema"``), the span sink sets each field as the attribute
``hgobs.<field>``, and every reader of the analyzer yields the same dict shape.

``docs/schema.md`` is generated from ``FIELDS`` (``hgobs schema > docs/schema.md``) and a test keeps
the two identical. No field name contains a word that common scrubbers delete (``auth``,
``token``, ``secret``, ``key``, ``jwt``, ``session`` ...), so backends keep our attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA_ID = "hgobs.attempt/1"
ATTRIBUTE_PREFIX = "hgobs."

Record = dict[str, Any]

TIME_END_S = 4_102_444_800.0
"""2100-01-01T00:00:00Z in epoch seconds. A record ``time`` is in range from 0 (1970) to before
this: capture writes no other clock reading, the readers skip a record with another one (it
cannot be put in time order), and every time the report works out stays well inside what
pandas holds (nanoseconds up to 2262), buckets of up to a year included."""


def time_in_range(t: Any) -> bool:
    """True when ``t`` is an ``int`` or ``float`` (not a bool) of epoch seconds from 0 to before
    ``TIME_END_S`` (NaN and infinities are not)."""
    return (t.__class__ is float or t.__class__ is int) and 0 <= t < TIME_END_S
"""An auth attempt record: field name -> value (str, int, float, bool, list[str] or None)."""


@dataclass(frozen=True)
class Field:
    """One record field: ``name``, value ``type`` as documented, and what it means."""

    name: str
    type: str
    doc: str

    @property
    def attribute(self) -> str:
        """The span attribute key for this field (``hgobs.<name>``)."""
        return ATTRIBUTE_PREFIX + self.name


_F = Field
FIELDS: tuple[Field, ...] = (
    # -- the attempt
    _F("time", "float", "Client clock at send, seconds since the Unix epoch (the injectable clock)."),
    _F("endpoint.kind", "str", "`token_exchange` or `api_call`."),
    _F("environment", "str", "Provider environment from the profile (`sandbox`, `production` ...) or `unknown`."),
    _F("profile", "str", "Name of the provider profile that matched."),
    _F("service.name", "str", "`service.name` of the tracer provider's resource, when known."),
    _F("http.method", "str", "Request method as sent first (before any redirect)."),
    _F("url", "str", "Request URL as sent first, redacted: scheme, host, port, path with FHIR ids as `{id}`, query parameter names only."),
    _F("url.scheme", "str", "Scheme of the first request URL (`https`, `http`)."),
    _F("server.address", "str", "Host name of the first request URL."),
    _F("http.status", "int", "Final HTTP status code; absent when no response arrived."),
    _F("error.type", "str", "Exception class name when the request raised (timeout, connection error)."),
    _F("duration_s", "float", "Seconds from send to response headers (monotonic clock)."),
    _F("server.date", "float", "The response `Date` header as epoch seconds (the server's clock)."),
    _F("clock.offset_s", "float", "Client time minus server `Date`, seconds; positive when the client runs ahead."),
    _F("client.fp", "str", "Keyed fingerprint of the configured client id (else of the assertion's `iss`)."),
    _F("trace_id", "str", "Hex trace id of the span that recorded this attempt."),
    _F("span_id", "str", "Hex span id of the span that recorded this attempt."),
    # -- the token request
    _F("request.content_type", "str", "Media type of the request body (parameters dropped)."),
    _F("request.body_kind", "str", "What the body really is: `form`, `json`, `json_text` (JSON under a form header), `multipart`, `empty`, `other`."),
    _F("request.is_form", "bool", "True when the body is `application/x-www-form-urlencoded` data with a form header."),
    _F("request.body_bytes", "int", "Request body size in bytes."),
    _F("request.client_method", "str", "How the client authenticated (RFC 7591 section 2 names): `client_secret_basic`, `client_secret_post`, `private_key_jwt`, `client_secret_jwt`, `none`."),
    _F("request.client_proof", "str", "What kind of credential the token request carried (names only, never a value): `assertion_grant` (RFC 7523 section 2.1 `assertion`), `client_assertion` (section 2.2), `password` (the password grant), `client_secret_basic` (`Authorization: Basic`), `client_secret_post` (`client_secret` in the body), `none`."),
    _F("request.content_type_params", "list[str]", "Names (only) of the request `Content-Type` parameters, lower-cased, e.g. `charset`; a name no media type registers is one `[redacted]`."),
    _F("form.grant_type", "str", "`grant_type` parameter (RFC 6749 section 4.4, RFC 7523 section 2.1)."),
    _F("form.client_assertion_type", "str", "`client_assertion_type` parameter (RFC 7521 section 4.2)."),
    _F("form.scope", "str", "`scope` parameter, scrubbed."),
    _F("form.other_params", "list[str]", "Names (only) of the other body parameters, e.g. `assertion`, `client_id`."),
    # -- the assertion (or a JWT presented as the access token)
    _F("assertion.source", "str", "Where the JWT came from: `assertion`, `client_assertion` or `bearer`."),
    _F("assertion.fp", "str", "Keyed fingerprint of the whole assertion, to see reuse without storing it."),
    _F("assertion.length", "int", "Length of the assertion in characters."),
    _F("assertion.segments", "int", "Number of dot-separated segments."),
    _F("assertion.defect", "str", "Why it does not decode: `segments`, `whitespace`, `padding`, `base64url`, `json`, `not_jwt`, or `not_shown` (a placeholder such as `...` or `$JWT` in a shared command or log: nothing to judge); absent when it decodes."),
    _F("assertion.defect_part", "str", "Which part is broken: `header`, `payload`, `signature` or `whole`."),
    _F("assertion.alg", "str", "JOSE header `alg`."),
    _F("assertion.kid", "str", "JOSE header `kid`, scrubbed."),
    _F("assertion.typ", "str", "JOSE header `typ`."),
    _F("assertion.header_fields", "list[str]", "Names (only) of the JOSE header parameters, sorted (`alg`, `kid`, `typ`, `x5t`, `x5t#S256` ...); any name outside the IANA registry is recorded as `[redacted]`."),
    _F("assertion.aud", "str|list[str]", "`aud` claim as sent (a string or an array), scrubbed."),
    _F("assertion.iat", "number", "`iat` claim as sent (seconds, or milliseconds when wrong)."),
    _F("assertion.exp", "number", "`exp` claim as sent."),
    _F("assertion.nbf", "number", "`nbf` claim as sent."),
    _F("assertion.ms_claims", "list[str]", "Time claims whose value looks like milliseconds since the epoch (> 1e11)."),
    _F("assertion.lifetime_s", "float", "`exp - iat` in seconds (after millisecond values are scaled)."),
    _F("assertion.seconds_to_expiry", "float", "`exp` minus the client clock at send, seconds."),
    _F("assertion.iss_shape", "str", "Shape of `iss`: `client_id`, `email`, `url`, `empty`, `other`, `missing`."),
    _F("assertion.sub_shape", "str", "Shape of `sub`, same values."),
    _F("assertion.iss_fp", "str", "Keyed fingerprint of `iss`."),
    _F("assertion.sub_fp", "str", "Keyed fingerprint of `sub`."),
    _F("assertion.iss_is_client", "bool", "`iss` equals the configured client id; absent when none is configured."),
    _F("assertion.sub_is_client", "bool", "`sub` equals the configured client id; absent when none is configured."),
    _F("assertion.iss_eq_sub", "bool", "`iss` equals `sub`."),
    _F("assertion.jti_fp", "str", "Keyed fingerprint of `jti`."),
    _F("assertion.other_claims", "list[str]", "Names of claims other than iss, sub, aud, iat, exp, nbf, jti."),
    _F("assertion.missing_claims", "list[str]", "Which of iss, sub, aud, exp, iat are absent."),
    _F("assertion.aud_environment", "str", "Environment whose token URL `aud` equals exactly (else whose host it names), by the capture-time profile."),
    _F("assertion.aud_exact", "bool", "`aud` is one string equal to a token URL of the profile."),
    _F("assertion.aud_differs_in", "list[str]", "Names (only) of the profile's URL placeholders (`tenant`, `realm` ...) whose value in `aud` differs from the token URL called, compared before redaction; `[]` when they agree; absent when nothing is comparable."),
    _F("limits.max_lifetime_s", "float", "The profile's longest accepted `exp - iat` at capture, seconds."),
    _F("limits.require_iat", "bool", "The profile requires `iat`."),
    _F("assertion.iss_ok_environment", "str", "Another environment where an exchange with the same `iss` succeeded before; history rule."),
    _F("assertion.reused_after_s", "float", "Seconds since the same assertion (fingerprint, or iss + jti) was sent before; history rule."),
    # -- what the API call presented
    _F("presented.kind", "str", "What the request's credentials header held: `absent`, `misspelled_header`, `empty`, `placeholder`, `non_bearer_scheme`, `assertion_jwt`, `jwt`, `opaque`."),
    _F("presented.header_name", "str", "The header name used when it was a misspelling of the standard one."),
    _F("presented.scheme", "str", "Scheme word of the header value (`Bearer`, `Basic` ...)."),
    _F("presented.scheme_defect", "str", "Defect of the Bearer form: `doubled` (`Bearer Bearer x`), `no_space` (`Bearerx`), `quoted` (`Bearer \"x\"`), `extra_space` (two spaces or more after the scheme), `case` (`bearer`: valid by RFC 9110, refused by strict servers)."),
    _F("presented.on_final_request", "bool", "The final request (after any redirect) carried an `Authorization` header."),
    _F("presented.fp", "str", "Keyed fingerprint of the presented value (matches `issued.fp` of the exchange that issued it)."),
    _F("presented.length", "int", "Length of the presented value in characters."),
    _F("presented.issued_environment", "str", "Environment whose token endpoint issued the presented value; history rule."),
    _F("presented.age_s", "float", "Seconds since the presented value was issued; history rule."),
    _F("presented.issued_expires_in", "float", "`expires_in` the issuing exchange announced, seconds; history rule."),
    _F("presented.after_failed_exchange", "str", "Category of a failed token exchange earlier in the same trace; history rule."),
    _F("presented.exchange_span_id", "str", "Span id of that failed token exchange."),
    # -- the response
    _F("response.error", "str", "`error` of an RFC 6749 section 5.2 error response."),
    _F("response.error_description", "str", "`error_description`, scrubbed."),
    _F("response.error_uri", "str", "`error_uri`, redacted like `url`."),
    _F("response.error_urn", "str", "The URN the body's `error_uri` names in its path, lower-cased, when it is all words (`urn:cerner:error:...:invalid-tenant`); some servers give their reason only there."),
    _F("response.status_field", "str", "`status` of a `{status, message}` error body."),
    _F("response.message", "str", "`message` of a `{status, message}` error body, scrubbed."),
    _F("response.content_type", "str", "Media type of the response."),
    _F("response.body_empty", "bool", "The response body was empty (the documented silent failure)."),
    _F("response.body_read", "bool", "hgobs saw the response body (never for API calls)."),
    _F("response.retry_after_s", "float", "`Retry-After` in seconds."),
    _F("challenge.scheme", "str", "Scheme of the `WWW-Authenticate` challenge (RFC 6750 section 3)."),
    _F("challenge.error", "str", "`error` of the challenge, e.g. `invalid_token`, `insufficient_scope`."),
    _F("challenge.error_description", "str", "`error_description` of the challenge, scrubbed."),
    _F("challenge.scope", "str", "`scope` of the challenge."),
    _F("challenge.realm", "str", "`realm` of the challenge."),
    _F("redirect.count", "int", "Number of redirects followed."),
    _F("redirect.status", "int", "Status of the first redirect response (3xx)."),
    _F("redirect.location_scheme", "str", "Scheme of the first redirect's `Location`."),
    _F("redirect.final_method", "str", "Method of the last request after redirects (a POST turned GET drops the form)."),
    _F("redirect.final_body_bytes", "int", "Body size of the last request after redirects, bytes."),
    _F("redirect.cross_origin", "bool", "A redirect went to another origin (scheme, host, port) than the first URL; clients then drop `Authorization`."),
    _F("issued.type", "str", "`token_type` of a successful exchange."),
    _F("issued.expires_in", "float", "`expires_in` of a successful exchange, seconds."),
    _F("issued.scope", "str", "`scope` granted by a successful exchange."),
    _F("issued.fp", "str", "Keyed fingerprint of the issued access value."),
    # -- the diagnosis
    _F("outcome", "str", "`ok` or `failed`."),
    _F("category", "str", "Failure category id from the catalog (`hgobs categories`), or `ok`."),
    _F("confidence", "str", "`confirmed`, `likely` or `possible`."),
    _F("fix", "str", "One-line fix for the category."),
    _F("evidence", "list[str]", "The facts that decided the category."),
    _F("also", "list[str]", "Other categories that also apply, to fix after the first."),
    _F("also_confidence", "list[str]", "The confidence of each category of `also`, in its order (`confirmed`, `likely`, `possible`): which other cause is likelier."),
    _F("group", "str", "For `unclassified`: status and error codes joined, so like failures group together."),
    _F("diagnosis.rules", "str", "Stamp of the rules that made the diagnosis (a digest of the source of `hgobs.diagnosis` and what it depends on); the analyzer keeps the verdict of a record stamped by its own rules and profile when the history facts it finds are the ones the record carries."),
    _F("diagnosis.profile", "str", "The profile the diagnosis was made under, as `<name>:<digest of its content>`; a record stamped under another profile (or without this field, as capture wrote records before it existed) is judged again."),
)

FIELD_NAMES: frozenset[str] = frozenset(f.name for f in FIELDS)
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}


def attribute_key(name: str) -> str:
    """The span attribute key of record field ``name``; raises KeyError for unknown fields."""
    return FIELDS_BY_NAME[name].attribute


def scalar_attributes(record: Record) -> dict[str, Any]:
    """Record values as OpenTelemetry attribute values (drops None, lists become lists of str)."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        if v is None:
            continue
        out[k] = [str(x) for x in v] if isinstance(v, list) else v
    return out


def markdown() -> str:
    """The text of ``docs/schema.md``, generated from ``FIELDS``."""
    lines = [
        "# The auth attempt record",
        "",
        "Generated from `hgobs/schema.py` by `hgobs schema > docs/schema.md`; a test",
        "keeps them equal. Each JSON Lines record is one object with these keys (absent when",
        f'unknown) and `"schema": "{SCHEMA_ID}"`. On spans each field is the attribute',
        f"`{ATTRIBUTE_PREFIX}<field>`. Times are seconds since the Unix epoch; durations are seconds.",
        "",
        "| field | span attribute | type | meaning |",
        "|---|---|---|---|",
    ]
    for f in FIELDS:
        lines.append(f"| `{f.name}` | `{f.attribute}` | {f.type} | {f.doc} |")
    lines += ["", *VERSION_POLICY]
    return "\n".join(lines) + "\n"


VERSION_POLICY = (
    "## Versions",
    "",
    f"`schema` names the record's version, `{SCHEMA_ID}`. Within one version fields are only",
    "added: none is renamed, retyped or given another meaning, and readers ignore fields they do",
    "not know, so an older analyzer reads a newer capture's records (without the new facts).",
    "A change that would break this is a new version; the analyzer then reads every version it",
    "has written, converting older records as it reads them, so records written by an earlier",
    "capture keep giving the same report. A line with a version the analyzer does not know is",
    "skipped with the reason `another schema` and counted with the other skipped lines.",
    "",
    "The verdict fields (`category`, `confidence`, `evidence`, `also`, `fix`) are not facts: an",
    "analyzer keeps them only while `diagnosis.rules` and `diagnosis.profile` equal its own rules",
    "and the profile in use, and the history facts found again are unchanged; otherwise (and",
    "always with `--rejudge`) it judges the record again from its facts. Records written before",
    "`diagnosis.profile` existed are judged again.",
)
"""The schema-version policy printed under the field table (issue 13: records written by an
earlier capture keep giving the same report)."""
