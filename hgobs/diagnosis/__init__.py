"""Diagnosis, live and offline: the catalog, its rules, the one ``History`` and the stamp.

- ``catalog``: every documented failure category as data, in fix order, each naming its rule.
- ``rules``: one small predicate per category over one record (``read``: the field readers
  they share).
- ``verdict``: ``diagnose``, the only implementation of the rules (capture and the analyzer
  both call it), and ``RULES``.
- ``history``: ``History``, the facts earlier records give (reuse, token age and origin),
  each kept for a time horizon.
- ``stamp``: ``diagnosis.rules`` and ``diagnosis.profile``, and ``stamp_matches``.

Adding a category is one catalog entry, its rule in ``rules``, and one test record in
``tests/data/rules.json``.
"""

from __future__ import annotations

from hgobs.diagnosis.catalog import (
    CATALOG,
    CATEGORIES,
    CONFIDENCES,
    CONFIRMED,
    LIKELY,
    OK,
    POSSIBLE,
    PRIORITY,
    Category,
)
from hgobs.diagnosis.history import History
from hgobs.diagnosis.read import REFUSED_API_STATUSES, is_failure, to_seconds
from hgobs.diagnosis.rules import LEEWAY_S, Context, Rule, Verdict
from hgobs.diagnosis.stamp import RULES_DIGEST, profile_stamp, stamp_matches
from hgobs.diagnosis.verdict import RULES, Diagnosis, diagnose

__all__ = ["CATALOG", "CATEGORIES", "CONFIDENCES", "CONFIRMED", "LEEWAY_S", "LIKELY", "OK",
           "POSSIBLE", "PRIORITY", "REFUSED_API_STATUSES", "RULES", "RULES_DIGEST", "Category",
           "Context", "Diagnosis", "History", "Rule", "Verdict", "diagnose", "is_failure",
           "profile_stamp", "stamp_matches", "to_seconds"]
