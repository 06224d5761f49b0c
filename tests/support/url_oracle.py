"""The URL redaction as it was before its shortcuts: the oracle the differential tests use.

``redact_url`` here is ``hgobs.redaction.redact_url`` as it read before the plain-URL shortcut
(``urlsplit`` for every URL, ``unquote`` and the keep-pattern for every path segment); the rule
data (resource types, keep-pattern, query names) is the package's own.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from hgobs.redaction import (
    _KEEP_SEGMENT_RE,
    FHIR_RESOURCE_TYPES,
    ID_PLACEHOLDER,
    JWT_RE,
    KEEP_UPPER,
    REDACTED,
    VERSION_PLACEHOLDER,
    query_names,
)


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
        elif seg in FHIR_RESOURCE_TYPES or seg in KEEP_UPPER or _KEEP_SEGMENT_RE.match(seg):
            out.append(raw)
        else:
            out.append(ID_PLACEHOLDER)
        after_history = seg == "_history"
        after_type = seg in FHIR_RESOURCE_TYPES and not after_type
    return "/".join(out)


def redact_url(url: str) -> str:
    """The general way: ``urlsplit`` and its ``hostname``/``port`` for every URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if "@" in host or JWT_RE.search(host):
        host = REDACTED
    elif ":" in host:  # brackets kept since a review found them dropped (the URL then unparseable)
        host = f"[{host}]"
    text = f"{parts.scheme}://{host}{port}{_redact_path(parts.path)}"
    names = query_names(parts.query)
    if names:
        text += "?" + "&".join(names)
    return text
