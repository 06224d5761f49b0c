"""The samples' HTML report in headless Chromium at 1280x800: small, and its first screen shows
what is failing now with its fixes.

The page is laid out by the browser at 1280x800; a copy of the page with one probe script (its
hash added to the Content-Security-Policy, nothing else changed) writes the bounding boxes of
the "failing now" heading, episodes and fixes into ``data-top``/``data-bottom`` attributes,
and ``--dump-dom`` returns them. A screenshot of the same window is decoded (stdlib zlib) to
check it is painted: many distinct colours, and the failing-now panel's red border. Needs
Chromium as ``test_html_browser`` does (skipped without it, failing under ``CI``).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from hgobs.api import AnalysisWarning, analyze
from hgobs.diagnosis.catalog import CATEGORIES
from hgobs.reports import counted, render
from hgobs.reports.failing import failing_now
from tests.reports.dom import parse
from tests.reports.html_png import decode
from tests.reports.test_html_browser import chromium, run_chromium

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
WIDTH, HEIGHT = 1280, 800
MAX_BYTES = 1_000_000
"""The issue's bound for the samples' page; it is about 120 KB."""
BAD = (0xC6, 0x28, 0x28)
"""The page's ``--bad`` colour: the failing-now panel's left border."""
PROBE = (
    "for (const el of document.querySelectorAll("
    "'#failing-now h2, #failing-now .episode h3, #failing-now .fix')) {"
    " const box = el.getBoundingClientRect();"
    " el.setAttribute('data-top', Math.round(box.top + scrollY));"
    " el.setAttribute('data-bottom', Math.round(box.bottom + scrollY)); }"
    " document.body.setAttribute('data-viewport', innerWidth + 'x' + innerHeight);")


def with_probe(page: str) -> str:
    """``page`` with ``PROBE`` at the end of the body and allowed by its hash in the CSP."""
    digest = base64.b64encode(hashlib.sha256(PROBE.encode()).digest()).decode()
    csp = "content=\"default-src 'none';"
    assert page.count(csp) == 1
    page = page.replace(csp, f"{csp} script-src 'sha256-{digest}';")
    return page.replace("</body>", f"<script>{PROBE}</script></body>")


@pytest.fixture(scope="module")
def samples_page(tmp_path_factory) -> tuple[Path, list]:
    """The samples' report as an HTML file, and what is failing in it."""
    with pytest.warns(AnalysisWarning, match="synthetic data"):
        report = analyze([SAMPLES])
    path = tmp_path_factory.mktemp("samples") / "report.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    return path, failing_now(report)


def test_the_samples_page_is_small_and_runs_no_script(samples_page):
    """At most 1 MB (it was 4.9 MB with plotly.js), and no script but the JSON data."""
    path, _ = samples_page
    size = path.stat().st_size
    assert 20_000 < size <= MAX_BYTES, size
    root = parse(path.read_text("utf-8"))
    assert [s.attrs.get("type") for s in root.find_all("script")] == ["application/json"]
    assert len(root.find_all("svg")) == 5


def test_first_screen_shows_what_is_failing_and_its_fixes(samples_page, tmp_path):
    """At 1280x800 the failing-now heading, the worst episode's heading and its first fix lie
    within the first 800 px, and they name the worst client and that fix."""
    path, failing = samples_page
    assert failing, "the samples have open episodes"
    probe = tmp_path / "probe.html"
    probe.write_text(with_probe(path.read_text("utf-8")), encoding="utf-8")
    root = parse(run_chromium(chromium(), tmp_path / "profile", f"--window-size={WIDTH},{HEIGHT}",
                              "--dump-dom", probe.as_uri()))
    # the layout width is the window's (headless leaves a shorter viewport for --dump-dom;
    # boxes are measured from the top of the page, so the first screen is y < HEIGHT)
    assert root.find("body").attrs["data-viewport"].startswith(f"{WIDTH}x")
    section = root.find("section", id="failing-now")
    heading = section.find("h2")
    assert heading.all_text() == f"Failing now: {counted(len(failing), 'client')}"
    worst = section.find("article", class_="episode")
    assert worst.attrs["data-client"] == failing[0].client
    first_fix = worst.find("p", class_="fix")
    assert first_fix.all_text() == CATEGORIES[failing[0].categories[0]].fix == failing[0].fix
    for node in (heading, worst.find("h3"), first_fix):
        top, bottom = int(node.attrs["data-top"]), int(node.attrs["data-bottom"])
        assert 0 <= top < bottom <= HEIGHT, (node.tag, top, bottom)
    # every category of the worst episode is listed with its fix, in fix order
    listed = [li.attrs["data-category"] for li in worst.find("ol").find_all("li")]
    assert listed == list(failing[0].categories)
    # the totals come after it: the page opens with what is failing
    order = [n.attrs.get("id") or n.attrs.get("class") for n in root.find("main").children
             if n.tag == "section"]
    assert order[:2] == ["failing-now", "cards"], order


def test_first_screen_screenshot_is_painted(samples_page, tmp_path):
    """The 1280x800 screenshot is a real page: many colours, and the failing-now panel's red
    border painted in its first screen."""
    path, _ = samples_page
    shot = tmp_path / "first.png"
    run_chromium(chromium(), tmp_path / "profile", "--hide-scrollbars",
                 f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", path.as_uri())
    image = decode(shot.read_bytes())
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    assert len(image.colours()) > 200  # text, swatches and panels, not a blank page
    red = [(x, y) for y in range(0, HEIGHT, 4) for x in range(0, 120)
           if all(abs(a - b) <= 12 for a, b in zip(image.pixel(x, y)[:3], BAD, strict=True))]
    assert red and max(y for _, y in red) - min(y for _, y in red) > 100, red[:5]


def test_probe_is_the_only_change(samples_page):
    """The probed copy differs from the page only by the probe and its hash."""
    path, _ = samples_page
    page = path.read_text("utf-8")
    probed = with_probe(page)
    digest = base64.b64encode(hashlib.sha256(PROBE.encode()).digest()).decode()
    assert probed.replace(f" script-src 'sha256-{digest}';", "").replace(
        f"<script>{PROBE}</script>", "") == page
