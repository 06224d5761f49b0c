"""Re-export shim of ``hgobs.diagnosis.catalog`` (the failure catalog and confidences).

Kept only so modules that import ``hgobs.catalog`` keep working until they import
``hgobs.diagnosis.catalog`` directly; it holds no code.
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
    get,
)

__all__ = ["CATALOG", "CATEGORIES", "CONFIDENCES", "CONFIRMED", "LIKELY", "OK", "POSSIBLE",
           "PRIORITY", "Category", "get"]
