"""Category colours for the HTML report: a fixed categorical palette assigned in catalog order.

The first eight colours are the Okabe-Ito set (Okabe and Ito, "Color Universal Design", 2008;
told apart by readers with the common colour-vision deficiencies), yellow and black moved to
the end for contrast on white; then the Tableau 10 colours that differ from those, and six
more hues of other lightness (cyan, olive, purple, magenta, dark green, dark brown). A report
gives its categories colours in catalog fix order (``hgobs.diagnosis.catalog.PRIORITY``), so
each category keeps one colour in every chart and legend of the page, and the first
``len(PALETTE)`` categories of a report never share one.
"""

from __future__ import annotations

from collections.abc import Iterable

from hgobs.diagnosis.catalog import PRIORITY

PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7",  # Okabe-Ito
    "#E15759", "#76B7B2", "#59A14F", "#B07AA1", "#FF9DA7", "#9C755F",  # Tableau 10
    "#4E79A7", "#F28E2B", "#BAB0AC", "#EDC948",
    "#17BECF", "#BCBD22", "#7F3C8D", "#E73F74", "#1B5E20", "#6B4E16",  # more hues, darker
    "#F0E442", "#000000",  # Okabe-Ito yellow and black
)
"""24 colours as CSS hex, told apart on a white background."""
SERIES = ("#1F4E8C", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
"""Colours of other series (clients, endpoint kinds), chosen in order of appearance."""


def category_colours(categories: Iterable[str]) -> dict[str, str]:
    """Category id -> CSS colour for the categories of one report, given in catalog order
    (unknown ids after known ones, by name); wraps around after ``len(PALETTE)`` categories."""
    ordered = sorted(set(categories), key=lambda c: (PRIORITY.get(c, len(PRIORITY)), c))
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(ordered)}


def series_colour(index: int) -> str:
    """The colour of the ``index``-th (0-based) non-category series."""
    return SERIES[index % len(SERIES)]
