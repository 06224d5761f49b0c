"""The failure catalog: every documented way auth to the provider fails, as data.

Ids are stable (they appear in spans, metrics, records and reports). ``CATALOG`` is ordered by
what to fix first: when several categories apply to one attempt, the earliest one is reported
and the others are listed as ``also``. Each entry names the predicate of
``hgobs.diagnosis.rules`` that decides it (``Category.rule``); adding a category is one entry
here, its rule there, and its test record in ``tests/data/rules.json``. Sources: the
provider's authentication troubleshooting guide ("HG guide"), Health Gorilla API docs,
RFC 6749 (OAuth 2.0), RFC 6750 (Bearer tokens), RFC 7521 (assertion framework) and RFC 7523
(JWT profile).
"""

from __future__ import annotations

from dataclasses import dataclass

CONFIRMED = "confirmed"
LIKELY = "likely"
POSSIBLE = "possible"
CONFIDENCES = (CONFIRMED, LIKELY, POSSIBLE)
OK = "ok"


@dataclass(frozen=True)
class Category:
    """One failure category: stable ``id``, what the user sees, why, the fix, and sources.

    ``evidence`` says which facts decide it; ``history`` is True when a rule needs earlier
    records (reuse, age of an access token, origin of a token); ``rule`` names the predicate
    that decides it.
    """

    id: str
    title: str
    symptom: str
    cause: str
    fix: str
    evidence: str
    source: str
    history: bool = False
    rule: str = ""
    """Name of the predicate in ``hgobs.diagnosis.rules`` that decides this category (empty
    for ``unclassified``, which is what no rule decides)."""
    refines: tuple[str, ...] = ()
    """Categories a server may name whose cause this one explains more precisely: when the
    server names one of them, this category's rule holds and the named one's does not, the
    server's word counts for this one (``hgobs.diagnosis.verdict``)."""


_C = Category
CATALOG: tuple[Category, ...] = (
    _C("network_failure", "No HTTP answer: the network failed",
       "The request raised before any HTTP status arrived: a name that does not resolve, a connection refused or reset, a TLS handshake that fails, or a timeout.",
       "The provider never judged the request: DNS, a firewall or proxy, the TLS trust store (or TLS inspection), or the network path stopped it first.",
       "Act on the exception named: check the host name resolves, the port is reachable through any proxy, the certificate chain is trusted by this process, and the timeout suits the network; retry with backoff. Fix nothing in the assertion for this.",
       "The record carries error.type (the exception class) and no http.status.",
       "RFC 9110 section 15 (a status is the server's answer; none arrived); httpx TransportError classes",
       rule="network_failure"),
    _C("redirect_dropped_body", "Token request lost its form in a redirect",
       "The token endpoint says the grant type is unsupported or missing although the client sent one.",
       "The request went to a URL that redirects (often http:// instead of https://, or a trailing slash); on 301/302 HTTP clients repeat the request as a GET without the body.",
       "Call the exact https token URL so no redirect happens; do not let the client follow redirects for the token request.",
       "The token request was redirected and the final request carried no form, or a GET reached the token endpoint.",
       "RFC 9110 section 15.4.2; RFC 6749 section 3.2 (token endpoint requires POST)",
       rule="redirect_dropped_body"),
    _C("wrong_body_encoding", "Token request body is not form data",
       "The token endpoint answers unsupported_grant_type or invalid_request to a request that looks complete.",
       "The parameters were sent as JSON, as JSON text under a form header, or as multipart; the endpoint reads only application/x-www-form-urlencoded.",
       "Send the parameters as application/x-www-form-urlencoded key=value pairs (in httpx: data=..., not json=...).",
       "The request body is JSON, multipart or otherwise not form data.",
       "RFC 6749 section 4.1.3 and appendix B; HG guide (Postman body encoding)",
       rule="wrong_body_encoding"),
    _C("media_type_refused", "Request media type refused",
       "The server answers 415 Unsupported Media Type, or says the Content-Type is not accepted, to a request whose body looks right.",
       "The server reads only the media type it documents and refuses the request's Content-Type: another type, or a parameter a strict server does not take (application/x-www-form-urlencoded; charset=UTF-8, which many HTTP libraries add by themselves).",
       "Send the exact media type the endpoint documents (application/x-www-form-urlencoded for the token endpoint, the FHIR type for the API) and drop the parameters the server refuses, such as charset.",
       "Status 415, or the server's words (mapped by the profile) say the media type or charset is refused; request.content_type_params names the parameters sent.",
       "RFC 9110 sections 8.3 and 15.5.16 (415); RFC 6749 section 3.2 and appendix B",
       rule="media_type_refused"),
    _C("secret_instead_of_assertion", "Client secret sent where a signed assertion is required",
       "The token endpoint answers invalid_client, unauthorized_client or invalid_request although the client id and secret are right.",
       "The request authenticated with a shared secret (Authorization: Basic, client_secret in the body, or the password grant) and carried no JWT assertion; this provider authenticates this kind of client only with a JWT signed by the client's private key.",
       "Build a JWT assertion (iss and sub the client id, aud as the provider documents, a short exp and a unique jti), sign it with the key registered for the client, and send it as client_assertion with client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer (or as assertion with the jwt-bearer grant); drop client_secret and the Basic header.",
       "request.client_proof is client_secret_basic, client_secret_post or password, no assertion was sent, and the profile does not accept secrets (under the generic profile only when the server answered invalid_client or unauthorized_client).",
       "RFC 6749 sections 2.3.1, 3.2 and 5.2; RFC 7523 sections 2.2 and 3; RFC 7521 section 4.2",
       rule="secret_instead_of_assertion"),
    _C("grant_type_confusion", "Parameters of two OAuth flows mixed",
       "The token endpoint rejects the request as unsupported_grant_type or invalid_request.",
       "The grant_type is not one the provider supports, or parameters from the JWT-bearer grant and the client-credentials-with-client-assertion flow were combined.",
       "Pick one pattern: grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with assertion, or grant_type=client_credentials with client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer and client_assertion.",
       "Unknown grant_type, assertion with client_credentials, client_assertion without client_assertion_type, or both kinds of assertion at once.",
       "RFC 7523 sections 2.1 and 2.2; RFC 7521 section 4.2; HG guide (grant_type confusion)",
       rule="grant_type_confusion"),
    _C("malformed_assertion", "Assertion is not a well-formed JWT",
       "The token endpoint fails, often with an empty body.",
       "The assertion was cut short, picked up whitespace or line breaks, gained base64 padding, or is not a compact JWT at all (wrong segment count, broken base64url or JSON).",
       "Generate the assertion again and pass the complete value unchanged: three base64url segments, no spaces, newlines or '=' padding.",
       "The assertion does not decode: segment count, whitespace, padding, base64url or JSON defect.",
       "RFC 7519 section 7.2; RFC 7515 section 7.1; HG guide (silent failure)",
       rule="malformed_assertion"),
    _C("algorithm_not_accepted", "Signing algorithm not accepted",
       "The token endpoint refuses the assertion, often as invalid_client or with words about the algorithm or the signature.",
       "The assertion's alg is not one the provider accepts: none, an HMAC (HS256) where only private-key signatures count, or an RSA or EC variant the provider does not list.",
       "Sign with an algorithm the provider lists (RS384 or ES384 for SMART Backend Services, RS256 for most others) and set alg in the header to match the key.",
       "assertion.alg is none, or not in the profile's accepted algorithms.",
       "RFC 7515 section 4.1.1 (alg); RFC 7518 section 3.1; RFC 7523 section 3 (the JWT must be signed); RFC 8725 section 3.1",
       rule="algorithm_not_accepted"),
    _C("signing_key_not_found", "Signing key not found",
       "The token endpoint refuses the assertion as invalid_client, saying no key or no matching kid was found, or that the signature cannot be checked.",
       "The server could not pick the public key to verify with: the header has no kid where the provider needs one, the kid names no key in the client's registered JWK Set, or the server still holds an old copy of the JWK Set (or cannot reach its URL).",
       "Put the kid of the signing key in the header, publish that public key in the JWK Set registered for the client (and keep the old key there until the server has fetched the new set), and make the JWK Set URL reachable from the provider.",
       "assertion.header_fields lacks kid and the profile requires it, or the server's words mapped by the profile say the key or kid was not found.",
       "RFC 7515 section 4.1.4 (kid); RFC 7517 sections 4.5 and 5 (JWK Set); RFC 7523 section 3",
       rule="signing_key_not_found"),
    _C("assertion_header_rejected", "Assertion header refused",
       "The token endpoint refuses an assertion whose claims look right, naming the header, typ or x5t.",
       "The JOSE header lacks a parameter the provider requires or carries a value it refuses: typ other than the one it wants, or neither x5t nor x5t#S256 where the provider finds the certificate by its thumbprint.",
       "Write the header the provider documents: typ as it requires (JWT), and the certificate thumbprint as x5t or x5t#S256 (base64url of the SHA-1 or SHA-256 of the DER certificate) where it asks for one.",
       "assertion.header_fields or assertion.typ against the profile's header rules, or the server's words mapped by the profile.",
       "RFC 7515 sections 4.1.7, 4.1.8 and 4.1.9 (x5t, x5t#S256, typ); RFC 8725 section 3.11 (explicit typing); RFC 7523 section 3",
       rule="assertion_header_rejected"),
    _C("timestamp_in_milliseconds", "Assertion times are in milliseconds",
       "The token endpoint answers invalid_grant for an assertion that looks fresh.",
       "iat, exp or nbf were written as milliseconds since the epoch (JavaScript Date.now()); JWT times are seconds.",
       "Write iat, exp and nbf as whole seconds since the epoch (Math.floor(Date.now() / 1000)).",
       "iat, exp or nbf is above 1e11, a millisecond epoch.",
       "RFC 7519 section 2 (NumericDate); Health Gorilla API docs (assertion helper)",
       rule="timestamp_in_milliseconds"),
    _C("missing_claim", "Assertion lacks a required claim",
       "The token endpoint answers invalid_grant.",
       "A claim the provider requires (iss, sub, aud, exp, and iat where required) is not in the assertion.",
       "Include iss, sub, aud, iat and exp in every assertion.",
       "A required claim is absent.",
       "RFC 7523 section 3; Health Gorilla API docs",
       rule="missing_claim"),
    _C("wrong_tenant", "Wrong tenant or realm",
       "The token endpoint refuses the request, or says the tenant, realm or directory does not exist.",
       "The request went to one tenant or realm while the assertion's aud names another, or the tenant or realm in the URL is not one the provider knows for this client.",
       "Use one tenant end to end: the token URL of the tenant (or realm) where the client is registered, and the same tenant in aud.",
       "The tenant or realm captured from aud differs from the one in the called URL, or the server's words mapped by the profile say the tenant or realm is unknown.",
       "RFC 7523 section 3 (aud identifies the authorization server); RFC 6749 section 5.2",
       rule="wrong_tenant"),
    _C("environment_mismatch", "Sandbox and production mixed",
       "Authentication works in one environment and fails in the other.",
       "The assertion's aud names one environment's token URL but was sent to the other environment, or an access token issued by one environment was used on the other's API.",
       "Use one environment end to end: its token URL as both the request URL and aud, and its API host for the calls.",
       "aud is another environment's token URL, or the presented access value was issued by the other environment.",
       "HG guide (environment mismatch); RFC 7523 section 3 (aud)",
       history=False, rule="environment_mismatch"),
    _C("audience_mismatch", "aud is not the token URL",
       "The token endpoint answers invalid_grant.",
       "The aud claim must equal the token URL called, character for character; a trailing slash, http://, a bare host, a double slash, an array or another path fails.",
       "Set aud to the exact token URL you POST to, as one string.",
       "aud differs from the called token URL within the same environment.",
       "RFC 7523 section 3 (aud); HG guide (invalid_grant row, environment mismatch)",
       rule="audience_mismatch"),
    _C("invalid_client_id", "iss or sub is not the client id",
       "The token endpoint answers invalid_client or 'improper client id'.",
       "iss and sub must both be the client id the provider assigned; an email address, a URL or another value in either fails.",
       "Set both iss and sub to your client id; never an email address.",
       "iss or sub differs from the configured client id, iss differs from sub, or either is email- or URL-shaped.",
       "HG guide (invalid_client row, invalid client id example); RFC 7523 section 3",
       rule="invalid_client_id"),
    _C("assertion_lifetime_too_long", "Assertion lives too long",
       "The token endpoint refuses an assertion whose exp is far ahead.",
       "exp - iat exceeds the provider's limit; assertions are meant to live minutes.",
       "Give the assertion a short lifetime (five minutes is common) and make it right before the exchange.",
       "exp - iat is over the profile's limit, or the server says exp is too far ahead.",
       "RFC 7523 section 3 (exp, 'limit the time window'); Health Gorilla API docs",
       rule="assertion_lifetime_too_long"),
    _C("expired_assertion", "Assertion expired before it was exchanged",
       "The token exchange fails, often after a delay between making and sending the assertion.",
       "exp was already in the past by the client's own clock when the request was sent.",
       "Make a fresh assertion immediately before each token request; never keep one around.",
       "exp <= the client clock at send.",
       "HG guide (expired assertion); RFC 7523 section 3 (exp)",
       rule="expired_assertion"),
    _C("assertion_not_yet_valid", "Assertion dated in the future",
       "The token endpoint refuses a freshly made assertion as not yet valid.",
       "iat or nbf is later than the moment the request was sent, by the client's own clock: typically the lifetime was added to iat as well as to exp, or a time zone offset was applied to a Unix time.",
       "Set iat (and nbf, if you use it) to the current time in whole seconds, and exp a few minutes later.",
       "iat or nbf is after the client clock at send (beyond a small leeway).",
       "RFC 7519 sections 4.1.5 and 4.1.6; RFC 7523 section 3",
       rule="assertion_not_yet_valid"),
    _C("clock_skew", "Client clock is off",
       "Fresh assertions are refused as expired or not yet valid.",
       "The client's clock differs from the server's: by the client's clock the assertion is valid, by the server's Date it is expired or issued in the future.",
       "Synchronise the host clock with NTP; keep iat at the current time and a few minutes of lifetime.",
       "Valid by the client clock, invalid by the server's Date header.",
       "RFC 7519 section 4.1.4 (clock skew); RFC 7231 section 7.1.1.2 (Date)",
       rule="clock_skew", refines=("expired_assertion", "assertion_not_yet_valid")),
    _C("assertion_reuse", "Assertion used twice",
       "A token exchange that worked once fails when repeated with the same assertion.",
       "Assertions are single use; the same assertion (or the same iss + jti) was exchanged before.",
       "Make a new assertion, with a new jti, for every token request.",
       "The same assertion fingerprint, or iss + jti, was sent in an earlier exchange.",
       "RFC 7523 section 3 (jti, replay); HG guide (expired assertion: cannot be reused)",
       history=True, rule="assertion_reuse"),
    _C("invalid_signature", "Assertion signature does not verify",
       "The token endpoint says the signature is invalid.",
       "The assertion was signed with the wrong secret or key, or with an algorithm the provider does not accept.",
       "Sign with HS256 using the client secret exactly as issued (no trailing newline, not base64-decoded).",
       "The server says the signature is invalid.",
       "RFC 7515 section 5.2; Health Gorilla API docs (HS256 with the client secret)",
       rule="invalid_signature"),
    _C("client_not_authorized", "Client not allowed this grant",
       "The token endpoint answers unauthorized_client.",
       "The server knew the client but refused it this grant: the client is not registered for it, not yet approved, activated or synchronised at that organisation, or the grant or scope is not enabled for it.",
       "Check the client's registration with the provider: the grant type is enabled, the app is approved and active for the organisation you call (some providers take hours to activate a new key or app), and the client is allowed the scopes asked.",
       "error=unauthorized_client, or the server's words mapped by the profile to this category.",
       "RFC 6749 section 5.2 (unauthorized_client)",
       rule="client_not_authorized"),
    _C("invalid_scope", "Scope not allowed",
       "The token endpoint answers invalid_scope.",
       "The scope asked for is unknown or not granted to this client.",
       "Ask only for scopes registered for your client (for example 'patient360 user/*.*').",
       "error=invalid_scope.",
       "RFC 6749 section 5.2",
       rule="invalid_scope"),
    _C("assertion_as_access_token", "Assertion sent as the access token",
       "API calls answer 401 with WWW-Authenticate: Bearer error=\"invalid_token\".",
       "The JWT assertion was put in the Authorization header instead of the access token the exchange returns.",
       "Exchange the assertion at the token endpoint first, then send the returned access_token as 'Authorization: Bearer <access_token>'.",
       "A refused API call presented a JWT shaped like an assertion (aud is a token URL, or iss = sub).",
       "HG guide (invalid_token row, assertion as access token example); RFC 6750 section 3.1",
       rule="assertion_as_access_token"),
    _C("malformed_bearer_scheme", "Bearer header malformed",
       "API calls answer 401 although a fresh access token was sent.",
       "The Authorization value is not 'Bearer' + one space + the token: the word Bearer twice, no space after it, the token in quotes, or (refused only by strict servers) extra spaces or a lower-case scheme.",
       "Send exactly 'Authorization: Bearer <access_token>': one 'Bearer', one space, the token unquoted; add the prefix in one place only.",
       "presented.scheme_defect names the defect.",
       "RFC 6750 section 2.1 (b64token); RFC 9110 sections 11.1 and 11.4",
       rule="malformed_bearer_scheme"),
    _C("missing_access_token", "No usable access token sent",
       "API calls answer 401.",
       "The Authorization header is absent, misspelled, empty, holds a placeholder such as 'undefined' or 'null', or uses a scheme other than Bearer.",
       "Store the access_token from the token response and send it as 'Authorization: Bearer <access_token>'.",
       "The presented value is absent, misspelled, empty, a placeholder, or not Bearer.",
       "RFC 6750 sections 2.1 and 3.1",
       rule="missing_access_token"),
    _C("authorization_not_received", "Authorization header did not arrive",
       "API calls answer 401 with a bare Bearer challenge (no error code) although the client sends a token.",
       "The server saw no credentials: an HTTP client dropped Authorization when following a redirect to another host, scheme or port, or a proxy or gateway stripped it on the way.",
       "Call the API's final URL directly (the exact host, https, no trailing-slash redirect) so no redirect crosses origins, and make any proxy or gateway pass the Authorization header through.",
       "A redirect crossed origins and Authorization was not on the final request, or a well-formed Bearer token was sent and the 401 challenge has no error code.",
       "RFC 6750 section 3.1 (no error code when the request lacks credentials); RFC 9110 sections 11.6.2 and 15.4",
       rule="authorization_not_received"),
    _C("access_token_expired", "Access token expired",
       "API calls that worked start answering 401 invalid_token.",
       "The access token outlived its expires_in.",
       "Request a new access token before expires_in runs out (refresh a minute early) and retry once on 401.",
       "The server says the token expired, or the token is older than its expires_in.",
       "RFC 6749 section 5.1 (expires_in); RFC 6750 section 3.1",
       history=True, rule="access_token_expired"),
    _C("insufficient_scope", "Access token lacks the scope",
       "API calls answer 403 or error=\"insufficient_scope\".",
       "The access token was granted scopes that do not cover the resource requested.",
       "Request the scope the resource needs in the token exchange (the challenge's scope names it).",
       "403, or error=insufficient_scope.",
       "RFC 6750 section 3.1",
       rule="insufficient_scope"),
    _C("rate_limited", "Throttled",
       "API calls answer 429.",
       "The client sent more requests than the provider allows in a window (production).",
       "Back off and retry after Retry-After seconds; reuse access tokens instead of exchanging per call.",
       "Status 429.",
       "RFC 6585 section 4; Health Gorilla API docs",
       rule="rate_limited"),
    _C("silent_failure", "Token exchange refused with no explanation",
       "The token endpoint answers an error status with an empty body.",
       "The provider gives no body for some defects (a malformed or expired assertion, a wrong aud); none of the checks above found the cause.",
       "Make a fresh assertion right before the request, check exp is ahead and aud equals the token URL, and copy the whole value.",
       "Refused with an empty body and no other rule applies.",
       "HG guide (silent failure)",
       rule="silent_failure"),
    _C("unclassified", "Other failure",
       "An auth attempt failed in a way the catalog does not cover.",
       "Not known; the status and error codes are kept so like failures group together.",
       "Read the record's status, error and error_description; report a new category if it recurs.",
       "Any other failure.",
       "-"),
)

CATEGORIES: dict[str, Category] = {c.id: c for c in CATALOG}
PRIORITY: dict[str, int] = {c.id: i for i, c in enumerate(CATALOG)}


def get(category_id: str) -> Category:
    """The category with this id; raises KeyError for an unknown id."""
    return CATEGORIES[category_id]
