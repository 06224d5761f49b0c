"""The live summary's "Failing now" fits the terminal: a table on a wide one, a list on a
narrow one, and every fix is shown whole at either width."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import hgobs
from hgobs.live.analyze import TABLE_WIDTH, summary
from hgobs.live.window import WindowCounts
from hgobs.reports.failing import failing_now, fix_of

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def failing():
    with pytest.warns(hgobs.AnalysisWarning, match="synthetic data"):
        report = hgobs.analyze(SAMPLES)
    return failing_now(report)


def _screen(failing, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, color_system=None)
    console.print(summary(WindowCounts(0.0, 1764338400.0, 54, 45, (("rate_limited", 1),)),
                          failing, "7d"))
    return out.getvalue()


@pytest.mark.parametrize("width", [60, 80, TABLE_WIDTH - 1, TABLE_WIDTH, 160])
def test_every_fix_is_shown_whole(failing, width):
    screen = _screen(failing, width)
    assert max(len(line) for line in screen.splitlines()) <= width
    words = " ".join(screen.replace("│", " ").split())
    categories = [c for one in failing for c in one.categories]
    assert categories == ["assertion_not_yet_valid", "rate_limited", "unclassified",
                          "environment_mismatch", "insufficient_scope"]
    if width < TABLE_WIDTH:  # the list: each fix follows its category on its own lines
        assert "┏" not in screen.split("Failures in the last 7d")[0]
        for category in categories:
            assert f"{category}: {fix_of(category)}" in words
        assert "3096a33ad1536a42: 7 failures since 2025-11-28 02:00:01Z" in words
    else:
        assert "┃ client" in screen
        assert "…" not in screen
        for category in categories:  # the fix's cell wraps beside empty cells
            assert f"{category} {fix_of(category)}" in words
