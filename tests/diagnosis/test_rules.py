"""Each catalog category has one rule, and its one test record is diagnosed as that category."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from hgobs.diagnosis import (
    CATALOG,
    CONFIDENCES,
    RULES,
    api_rules,
    diagnose,
    provider_rules,
    rules,
    time_rules,
)
from hgobs.profiles import load_profile

CASES = json.loads((Path(__file__).resolve().parents[1] / "data" / "rules.json").read_text("utf-8"))
PROFILE = load_profile()


@pytest.mark.parametrize("category", CATALOG, ids=lambda c: c.id)
def test_the_test_record_of_each_category_is_diagnosed_as_it(category):
    """The category's record (tests/data/rules.json) gets that category first, with the
    recorded confidence and some evidence, under the profile the case names (else the
    default)."""
    case = CASES[category.id]
    profile = load_profile(case["profile"]) if "profile" in case else PROFILE
    verdict = diagnose(dict(case["record"]), profile)
    assert (verdict.category, verdict.confidence) == (category.id, case["confidence"])
    assert case["confidence"] in CONFIDENCES
    assert verdict.evidence and all(isinstance(e, str) and e for e in verdict.evidence)


def test_every_category_has_one_test_record_and_every_record_a_category():
    """Adding a category means adding its record: the data file and the catalog agree."""
    assert sorted(k for k in CASES if not k.startswith("_")) == sorted(c.id for c in CATALOG)


def test_every_catalog_entry_names_a_rule_and_every_rule_is_named_once():
    """Each category but ``unclassified`` names a predicate of ``hgobs.diagnosis.rules``;
    each public predicate there or in the modules it re-exports (``time_rules``,
    ``api_rules``, ``provider_rules``: functions taking a record and a context) is named by
    exactly one entry, and ``RULES`` maps the ids to them in fix order."""
    named = [c.rule for c in CATALOG if c.rule]
    assert [c.id for c in CATALOG if not c.rule] == ["unclassified"]
    modules = (rules, time_rules, api_rules, provider_rules)
    predicates = {name for name, fn in vars(rules).items()
                  if inspect.isfunction(fn)
                  and fn.__module__ in {m.__name__ for m in modules}
                  and not name.startswith("_")
                  and list(inspect.signature(fn).parameters) == ["r", "ctx"]}
    assert sorted(named) == sorted(predicates)
    for module in modules[1:]:  # every one re-exported
        assert {name for name, fn in vars(module).items()
                if inspect.isfunction(fn) and fn.__module__ == module.__name__
                and not name.startswith("_")} <= predicates
    assert len(set(named)) == len(named)
    assert list(RULES) == [c.id for c in CATALOG if c.rule]
    assert all(RULES[c.id] is getattr(rules, c.rule) for c in CATALOG if c.rule)


def test_a_rule_alone_says_nothing_about_a_success():
    """A success is ``ok`` whatever facts it carries (rules judge failures only)."""
    record = dict(CASES["expired_assertion"]["record"], **{"http.status": 200})
    assert diagnose(record, PROFILE).category == "ok"
