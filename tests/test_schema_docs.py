"""The record schema, its documentation and the public surface stay in sync."""

from __future__ import annotations

import re
from pathlib import Path

import hgobs
from hgobs import schema

ROOT = Path(__file__).resolve().parent.parent


def test_docs_schema_is_generated_from_fields():
    """docs/schema.md is exactly what `hgobs schema` prints."""
    assert (ROOT / "docs" / "schema.md").read_text() == schema.markdown()


def test_every_field_documented_once():
    """Each field appears in one table row of docs/schema.md, with its span attribute."""
    text = (ROOT / "docs" / "schema.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| `hgobs\.([^`]+)` \|", text, flags=re.M)
    assert [r[0] for r in rows] == [f.name for f in schema.FIELDS]
    assert all(a == b for a, b in rows)
    assert len(set(r[0] for r in rows)) == len(rows)


def test_all_is_sorted_and_complete():
    """hgobs.__all__ is sorted and names every public class and function re-exported."""
    assert hgobs.__all__ == sorted(hgobs.__all__)
    public = {n for n, v in vars(hgobs).items()
              if not n.startswith("_") and not isinstance(v, type(hgobs))}
    assert public - {"annotations"} <= set(hgobs.__all__) | {"__version__"}
    for name in hgobs.__all__:
        assert hasattr(hgobs, name), name
