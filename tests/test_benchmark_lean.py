"""The lean-install benchmark's report section: its figures, verdicts and place in the report."""

from __future__ import annotations

from benchmarks.lean import Env, carry_over, replace_section, section

REPORT = "# Performance\n\nRun x.\n\n## Capture overhead\n\n| a |\n\n## Notes\n\nnote\n"


def _envs(lean_mib: float, lean_ms: tuple[float, ...]) -> list[Env]:
    ms = 0.001
    base = ("anyio", "httpx")
    return [Env("httpx alone (baseline)", "`pip install httpx`", 3.8, ("httpx",),
                (50 * ms, 52 * ms, 51 * ms), (40 * ms, 41 * ms, 42 * ms), base),
            Env("hgobs, lean", "`pip install .`", lean_mib, ("hgobs", "pyjwt")),
            Env("hgobs, lean, + httpx", "`pip install .` then `pip install httpx`", lean_mib + 3.8,
                ("hgobs", "httpx", "pyjwt"), tuple(t * ms for t in lean_ms),
                (40 * ms, 42 * ms, 42 * ms), base),
            Env("hgobs[all] + httpx", "`pip install '.[all]' httpx`", 408.9,
                ("click", "hgobs", "httpx", "rich"), (150 * ms, 160 * ms, 155 * ms),
                (140 * ms, 150 * ms, 145 * ms), (*base, "click", "rich"))]


def test_section_gives_the_paired_difference_and_verdicts():
    """*added* is the median of per-round differences; each target gets its verdict."""
    text = section(_envs(6.7, (51, 60, 52)), True, 3)
    assert "| hgobs, lean | `pip install .` | 6.7 MiB | 2 | none | - | - | - |" in text
    assert ("| hgobs[all] + httpx | `pip install '.[all]' httpx` | 408.9 MiB | 4 | click, rich | "
            "155.0 ms | 145.0 ms | click, rich |") in text
    assert "| lean install <= 25 MiB of site-packages | 6.7 MiB | **holds** |" in text
    assert ("| added +1.0 ms wall, +0.0 ms CPU; also loaded: nothing (hgobs[all]: +104.0 ms wall) "
            "| **holds** |") in text
    assert "| exit 0 | **holds** |" in text


def test_section_says_missed():
    """Over 25 MiB, over 10 ms or a failed check-assertion is a missed target."""
    text = section(_envs(30.0, (70, 71, 72)), False, 3)
    assert text.count("**missed**") == 3


def test_replace_section_places_it_before_notes_and_replaces_it_in_place():
    """The section goes before ## Notes, a second run replaces it, the rest stays as it was."""
    first = replace_section(REPORT, "## Lean install\n\nrow 1\n")
    assert first == REPORT.replace("## Notes", "## Lean install\n\nrow 1\n\n## Notes")
    assert replace_section(first, "## Lean install\n\nrow 2") == first.replace("row 1", "row 2")


def test_carry_over_keeps_the_section_when_the_main_benchmark_rewrites_the_report(tmp_path):
    """python -m benchmarks rewrites the report; the lean section of the old file is kept."""
    old = tmp_path / "performance.md"
    old.write_text(replace_section(REPORT, "## Lean install\n\nrow 1\n"))
    new = REPORT.replace("Run x.", "Run y.")
    assert carry_over(new, old) == replace_section(new, "## Lean install\n\nrow 1\n")
    assert carry_over(new, tmp_path / "absent.md") == new
