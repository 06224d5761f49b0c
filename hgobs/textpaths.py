"""Path references in free text (``/fhir/R4/Patient/123?x=1``, ``Patient/123``), reduced as URLs are.

``hgobs.scrub`` calls ``redact_paths`` on a server's words outside URLs: the ids of a
reference become ``{id}`` and its query keeps only parameter names, by ``hgobs.redaction``'s
URL rule. One pattern that cannot backtrack, one pass: linear in the text.
"""

from __future__ import annotations

import re

from hgobs.fhir import FHIR_RESOURCE_TYPES
from hgobs.redaction import query_names, redact_path

_PATH_REF_RE = re.compile(r"(?<![^\s\"'(=<,:\[])(?:/|[A-Za-z][A-Za-z0-9_.\-]{0,63}[/?])[^\s\"'<>,;)\]]*")
"""A path-absolute reference in text (``/fhir/R4/Patient/123?family=Doe``), or a relative one
that starts with a word (``Patient/123``, ``fhir/Patient?family=Doe``; RFC 3986
section 4.2): at the start or after a delimiter, then characters up to the next one (one
run: linear)."""


def redact_paths(text: str) -> str:
    """``text`` with each path reference of two or more segments, or with a query, reduced
    as ``redact_url`` reduces a URL's path and query: ids become ``{id}``, query values go
    (a server echoing ``realm="/fhir/R4/Patient?family=Doe"`` keeps ``?family``). A relative
    reference with a FHIR resource type among its segments (``Patient/123``,
    ``fhir/Patient/123``) is reduced as the same path from ``/``; any other is left
    (``RS384/ES384``, ``application/json``)."""
    if "/" not in text and "?" not in text:
        return text

    def reduce(match: re.Match[str]) -> str:
        ref = match.group(0)
        if ref[0] != "/":
            segments = ref.partition("?")[0].split("/")
            if not any(segment in FHIR_RESOURCE_TYPES for segment in segments):
                return ref
            return reduce_ref("/" + ref)[1:]
        return reduce_ref(ref)

    def reduce_ref(ref: str) -> str:
        path, mark, query = ref.partition("?")
        if not mark and path.count("/") < 2:
            return ref
        return redact_path(path) + (mark + "&".join(query_names(query)) if query else mark)

    return _PATH_REF_RE.sub(reduce, text)
