"""Re-export shim of ``hgobs.diagnosis`` (the rules, ``diagnose``, ``History``, the stamp).

Kept only so modules that import ``hgobs.diagnose`` keep working until they import
``hgobs.diagnosis`` directly; it holds no code.
"""

from __future__ import annotations

from hgobs.diagnosis import (
    REFUSED_API_STATUSES,
    RULES,
    RULES_DIGEST,
    Context,
    Diagnosis,
    History,
    diagnose,
    is_failure,
)

__all__ = ["REFUSED_API_STATUSES", "RULES", "RULES_DIGEST", "Context", "Diagnosis", "History",
           "diagnose", "is_failure"]
