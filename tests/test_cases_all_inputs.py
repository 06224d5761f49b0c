"""Every shared case classifies as its ``expected.category`` from each input a user has.

The inputs keep the case's real URLs: a HAR file, a ``curl -v`` transcript with its command
line, and the JSON Lines records capture writes while the instrumented client sends to the
real URLs (routed to loopback below capture). Each is judged by ``hgobs.classify`` and by
``hgobs analyze --fail-on`` under ``--profile auto`` (the default), unless the case's provider
must be named (``tests.support.cases.analysis_mapping``: the ``generic-*`` cases, a SMART
server at a host of its own), and the profile that judged the last record must be the case's.
A case whose category or profile this install lacks is a strict xfail (``needs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hgobs
from hgobs.analysis.classify import judge
from hgobs.cli import cli
from hgobs.facts.exchange import http_date
from hgobs.profiles import API_CALL, ProfileSet
from hgobs.readers import read_paths
from hgobs.readers.base import ReadContext
from hgobs.redaction import Fingerprinter
from tests.support.cases import (
    FINGERPRINT_KEY,
    analysis_mapping,
    analysis_profile,
    case_param,
    load_cases,
    profile_name,
    profile_toml,
    replay_real,
)
from tests.support.render_curl import case_to_curl
from tests.support.render_har import case_to_har

CASES = load_cases()
INPUTS = ("har", "curl", "capture")
PARAMS = [case_param(case, name, input_name=name) for case in CASES for name in INPUTS]


@pytest.fixture(autouse=True)
def _settings(monkeypatch):
    """No profile from the environment (the default is auto); the cases' fingerprint key."""
    monkeypatch.delenv("HGOBS_PROFILE", raising=False)
    monkeypatch.delenv("HGOBS_TOKEN_URL", raising=False)
    monkeypatch.setenv("HGOBS_FINGERPRINT_KEY", FINGERPRINT_KEY)


def _client_time_is_server_date(case: dict[str, Any]) -> bool:
    return all(e["time"] == http_date(e["response"]["headers"].get("date"))
               for e in case["exchanges"])


def write_input(case: dict[str, Any], name: str, folder: Path, pool, telemetry
                ) -> tuple[Path, list[dict[str, Any]], int]:
    """The input file ``name`` of ``case`` in ``folder``; for capture, also its records and
    the number of sends (a followed redirect is one send). Capture gets SDK providers, as a
    service has (without one hgobs waits for one, and says so when it comes).

    A transcript carries ISO timestamps only when the client's clock differs from the
    server's ``Date`` (without them a reader takes the ``Date`` as the time)."""
    if name == "har":
        path = folder / f"{case['id']}.har"
        path.write_bytes(case_to_har(case))
        return path, [], 0
    if name == "curl":
        path = folder / f"{case['id']}.txt"
        path.write_text(case_to_curl(case, timestamps=not _client_time_is_server_date(case)))
        return path, [], 0
    path = folder / f"{case['id']}.jsonl"
    records, responses = replay_real(case, pool, path, tracer_provider=telemetry.tracer_provider,
                                     meter_provider=telemetry.meter_provider)
    assert responses[-1].status_code == case["exchanges"][-1]["response"]["status"]
    assert [r.url for r in responses] == [
        case["exchanges"][i]["request"]["url"]
        for i in _send_starts(case, [len(r.history) for r in responses])]
    return path, records, len(responses)


def _send_starts(case: dict[str, Any], hops: list[int]) -> list[int]:
    """The index of the exchange each send started with (a send that followed ``n``
    redirects consumed ``n`` more exchanges): where its final response came from."""
    out, i = [], 0
    for n in hops:
        out.append(i + n)
        i += n + 1
    return out


def judged_records(path: Path, case: dict[str, Any]) -> list[dict[str, Any]]:
    """Every record of ``path`` as the analyzer judges it (full records, time order)."""
    profile = analysis_profile(case) or ProfileSet.auto()
    fingerprint = Fingerprinter(FINGERPRINT_KEY.encode())
    ctx = ReadContext(profile=profile, client_id=case["client_id"], fingerprint=fingerprint)
    out = []
    for judged in judge(read_paths([str(path)], ctx), ctx.profiles, fingerprint(case["client_id"])):
        assert judged.record is not None, judged.reason
        out.append(judged.record)
    return out


def cli_profile(case: dict[str, Any], folder: Path) -> list[str]:
    """The ``--profile`` option a user gives for ``case``: none (auto), or a TOML file."""
    data = analysis_mapping(case)
    if data is None:
        return []
    path = folder / f"{case['id']}.toml"
    path.write_text(profile_toml(data))
    return ["--profile", str(path)]


@pytest.mark.parametrize(("case", "input_name"), PARAMS)
def test_case_classifies_from_each_input(case, input_name, pool, telemetry, tmp_path):
    """The last exchange's verdict is ``expected.category`` from this input, whether judged by
    ``hgobs.classify`` (trusting capture's stamp, and with ``rejudge``) or named by ``hgobs
    analyze --fail-on``; for capture, the record written carries it already."""
    expected = case["expected"]["category"]
    path, captured, sends = write_input(case, input_name, tmp_path, pool, telemetry)
    last_request = case["exchanges"][-1]["request"]
    profile = analysis_profile(case)
    if input_name == "capture":
        assert captured, "no record written"
        kinds = [r["endpoint.kind"] for r in captured]
        if expected == "ok" and len(captured) < sends:
            # a successful API call is never recorded: everything recorded before it is ok
            assert kinds[-1] != API_CALL and "/fhir/" in last_request["url"]
            assert len(captured) == sends - 1
        else:
            assert len(captured) == sends
        assert [r["profile"] for r in captured] == [profile_name(case)] * len(captured)
        last = captured[-1]
        assert last["category"] == expected, (last.get("evidence"), last.get("also"))

    records = judged_records(path, case)
    assert records[-1]["profile"] == profile_name(case)
    for rejudge in (False, True):
        verdicts = list(hgobs.classify(path, profile=profile, client_id=case["client_id"],
                                       rejudge=rejudge))
        assert all(isinstance(v, hgobs.ClassifiedRecord) for v in verdicts), verdicts
        assert [v.category for v in verdicts] == [r["category"] for r in records]
        assert verdicts[-1].category == expected, (verdicts[-1].evidence, verdicts[-1].also)

    fail_on = "any" if expected == "ok" else expected
    result = CliRunner().invoke(cli, ["analyze", *cli_profile(case, tmp_path), "--client-id",
                                      case["client_id"], "--fail-on", fail_on, str(path)])
    assert result.exit_code == (0 if expected == "ok" else 1), result.output[-2000:]
