"""Unit tests of the HTML restore report (module_utils/report_html.py and the restore_report_html filter).

Reports of real runs (tests/fixtures/reports) and hand-made ones with round times are rendered and
read back as a DOM: every phase has its row, every resource its row, the downtime band sits where
its times say, hostile names stay text, and failed, planned and unknown-backend reports render.
"""
from __future__ import annotations

import copy
import datetime as _dt
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.scalarops.pitr.plugins.filter.restore_report_html import restore_report_html
from ansible_collections.scalarops.pitr.plugins.module_utils.report_html import (
    FAILED_COLOUR,
    MAX_RESOURCE_ROWS,
    PLOT_X0,
    PLOT_X1,
    render_report_html,
)
from fixtures.report_html import Element, bars_in, parse, rows, sample, select

SAMPLES = ("dynamodb-succeeded", "dynamodb-failed-cutover", "dynamodb-planned", "rds-aurora-succeeded",
           "cosmosdb-succeeded", "azure_database-failed-prepare")
BASE = _dt.datetime(2026, 11, 21, 10, 0, tzinfo=_dt.timezone.utc)


def at(seconds: float) -> str:
    """The report's time format, ``seconds`` after 10:00 UTC."""
    return (BASE + _dt.timedelta(seconds=seconds)).isoformat()


def epoch(seconds: float) -> float:
    return (BASE + _dt.timedelta(seconds=seconds)).timestamp()


def round_report(**change: Any) -> dict[str, Any]:
    """A restore of 10 minutes: prepare 0-240 s, cutover 300-420 s, verify 480-540 s, downtime 270-450 s."""
    report: dict[str, Any] = {
        "backend": "dynamodb", "status": "succeeded", "failed_phase": None, "error": None,
        "started": at(0), "ended": at(600), "releases": ["ledger"],
        "restore_point": {"source": "explicit", "time": "2026-11-21T09:00:00.000+00:00", "use_latest": False, "pause_window": None},
        "downtime": {"stopped_at": at(270), "started_at": at(450)},
        "properties_set": {}, "endpoint_switch": {},
        "timeline": [{"phase": "prepare", "started": at(0), "ended": at(240)},
                     {"phase": "cutover", "started": at(300), "ended": at(420)},
                     {"phase": "verify", "started": at(480), "ended": at(540)}],
        "phases": {
            "prepare": {"tables": [{"source": "ns.a", "target": "ns.a", "status": "ok", "seconds": 200.0,
                                    "steps": [{"step": "restore to staging", "status": "ok", "started": at(10), "seconds": 150.0},
                                              {"step": "back up staging", "status": "already done", "started": at(160), "seconds": 50.0}]}]},
            "cutover": {"tables": [{"source": "ns.a", "target": "ns.a", "status": "ok", "seconds": 100.0,
                                    "steps": [{"step": "restore from backup", "status": "ok", "started": at(310), "seconds": 100.0}]}]},
            "verify": {"tables": []},
        },
    }
    report.update(change)
    return report


def dom(report: dict[str, Any]) -> list[Element]:
    return parse(render_report_html(report))


def phase_labels(elements: list[Element]) -> list[str]:
    return [row.attrs["data-phase"] for row in rows(elements, "phase")]


def phase_bar(elements: list[Element], phase: str) -> Element:
    (row,) = [row for row in rows(elements, "phase") if row.attrs["data-phase"] == phase]
    (mark,) = bars_in(elements, row, "phase")
    return mark


def band(elements: list[Element]) -> Element:
    (found,) = select(elements, "rect", data_kind="downtime")
    return found


@pytest.mark.parametrize("name", SAMPLES)
def test_every_phase_of_a_real_report_has_its_row_in_run_order(name: str) -> None:
    report = sample(name)
    elements = dom(report)
    ran = [entry["phase"] for entry in report["timeline"]]
    assert phase_labels(elements)[:len(ran)] == ran
    assert set(phase_labels(elements)) == set(ran) | set(report["phases"])
    # the text alternatives: the SVG is an image with a title and a description, and the phase table lists every phase
    (svg,) = select(elements, "svg")
    assert svg.attrs["role"] == "img" and svg.attrs["aria-labelledby"] == "timeline-title timeline-desc"
    assert select(elements, "title", id="timeline-title") and "Restore timeline" in select(elements, "desc", id="timeline-desc")[0].text
    phase_table = [element for element in select(elements, "th", scope="row") if element.inside("table", **{"class": "data phases"})]
    assert [cell.text for cell in phase_table[:len(phase_labels(elements))]] == phase_labels(elements)


@pytest.mark.parametrize("name", SAMPLES)
def test_the_page_loads_nothing_from_anywhere(name: str) -> None:
    page = render_report_html(sample(name))
    for outside in ("<script", "<link", "<img", "<iframe", " src=", " href=", "@import", "url(http", "url(//"):
        assert outside not in page, outside
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page


def test_dynamodb_tables_get_a_row_per_phase_that_touched_them() -> None:
    report = sample("dynamodb-succeeded")
    elements = dom(report)
    resources = rows(elements, "resource")
    tables = sorted(table["source"] for table in report["phases"]["prepare"]["tables"])
    # the preflight only checked the tables (no steps): it gets its phase row and no table rows
    for phase in ("prepare", "cutover", "verify"):
        assert sorted(row.attrs["data-label"] for row in resources if row.attrs["data-phase"] == phase) == tables, phase
    assert not [row for row in resources if row.attrs["data-phase"] == "preflight"]
    steps = sum(len(bars_in(elements, row, "step")) for row in resources)
    assert steps == sum(len(table["steps"]) for phase in ("prepare", "cutover", "verify") for table in report["phases"][phase]["tables"])
    assert "downtime 11.4 s" in select(elements, "text", **{"class": "downtime-label"})[0].text


def test_the_downtime_band_and_the_bars_sit_where_their_times_say() -> None:
    elements = dom(round_report())
    (svg,) = select(elements, "svg")
    first, last = svg.num("data-t0"), svg.num("data-t1")
    assert (first, last) == (epoch(0), epoch(600))
    width = PLOT_X1 - PLOT_X0

    def x(seconds: float) -> float:
        return PLOT_X0 + seconds / 600 * width

    found = band(elements)
    assert found.num("x") == pytest.approx(x(270), abs=0.01)
    assert found.num("x") + found.num("width") == pytest.approx(x(450), abs=0.01)
    for phase, start, end in (("prepare", 0, 240), ("cutover", 300, 420), ("verify", 480, 540)):
        mark = phase_bar(elements, phase)
        assert (mark.num("x"), mark.num("x") + mark.num("width")) == (pytest.approx(x(start), abs=0.01), pytest.approx(x(end), abs=0.01)), phase
    # the band spans every row: from the axis to below the last mark
    bottom_bar = max(element.num("y") + element.num("height") for element in select(elements, "rect") if element.attrs.get("data-kind") in ("phase", "step"))
    assert found.num("y") < phase_bar(elements, "prepare").num("y") and found.num("y") + found.num("height") >= bottom_bar
    # a step of a resource is drawn at its own start, in the phase's colour or grey when an earlier run had done it
    prepare_row = [row for row in rows(elements, "resource") if row.attrs["data-phase"] == "prepare"][0]
    restore, backup = bars_in(elements, prepare_row, "step")
    assert restore.num("x") == pytest.approx(x(10), abs=0.01) and restore.num("width") == pytest.approx(150 / 600 * width, abs=0.01)
    assert backup.attrs["data-status"] == "already done" and backup.attrs["fill"] == "#cbd5e1"


def test_the_band_position_is_proportional_in_a_real_report() -> None:
    report = sample("rds-aurora-succeeded")
    elements = dom(report)
    times = {entry["phase"]: _dt.datetime.fromisoformat(entry["started"]).timestamp() for entry in report["timeline"]}
    stopped = _dt.datetime.fromisoformat(report["downtime"]["stopped_at"]).timestamp()
    restarted = _dt.datetime.fromisoformat(report["downtime"]["started_at"]).timestamp()
    prepare, verify = phase_bar(elements, "prepare").num("x"), phase_bar(elements, "verify").num("x")
    found = band(elements)
    span = times["verify"] - times["prepare"]
    assert (found.num("x") - prepare) / (verify - prepare) == pytest.approx((stopped - times["prepare"]) / span, abs=1e-3)
    assert found.num("width") / (verify - prepare) == pytest.approx((restarted - stopped) / span, abs=1e-3)


def test_hostile_names_stay_text() -> None:
    hostile = '<script>alert("x")</script>'
    report = round_report(releases=[hostile], error='a & b <b>bold</b>', failed_phase="cutover", status="failed",
                          properties_set={"k<script>": 'v"><img src=x onerror=alert(1)>'},
                          endpoint_switch={"from_hosts": ["<h1>old</h1>"], "to_host": "new&host", "to_port": 5432, "source": "<svg onload=alert(1)>"})
    report["phases"]["cutover"]["tables"][0].update(source='"><img src=x onerror=alert(1)>', target="ns.b</text><script>",
                                                    error="</td></tr><script>alert(2)</script>")
    report["phases"]["cutover"]["tables"][0]["steps"][0]["step"] = "</title><script>alert(3)</script>"
    report["timeline"].append({"phase": "<rect onclick=alert(4)>", "started": at(590), "ended": at(595)})
    page = render_report_html(report)
    for injected in ("<script", "<img", "<h1>old", "<b>", "<svg onload", "<rect onclick"):
        assert injected not in page, injected
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    elements = parse(page)
    # the document's structure survived: one svg, the phases (hostile one included) and the releases as text
    assert len(select(elements, "svg")) == 1 and not select(elements, "script")
    assert phase_labels(elements) == ["prepare", "cutover", "verify", "<rect onclick=alert(4)>"]
    assert any(element.tag == "code" and element.text == hostile for element in elements)
    assert any(row.attrs["data-label"] == '"><img src=x onerror=alert(1)> \u2192 ns.b</text><script>' for row in rows(elements, "resource"))


def test_a_failed_run_with_the_workloads_left_stopped() -> None:
    report = sample("dynamodb-failed-cutover")
    elements = dom(report)
    found = band(elements)
    assert found.attrs["data-open"] == "true" and found.attrs["fill"] == "url(#hatch)"
    # open band: from the stop to the end of the axis
    assert found.num("x") + found.num("width") == pytest.approx(PLOT_X1, abs=0.01)
    assert phase_bar(elements, "cutover").attrs["fill"] == FAILED_COLOUR
    (orders,) = [row for row in rows(elements, "resource") if row.attrs["data-phase"] == "cutover" and row.attrs["data-label"] == "p_sample.orders"]
    assert [mark.attrs["data-status"] for mark in bars_in(elements, orders, "step")][-1] == "failed"
    alert = select(elements, "div", role="alert")[0].text
    assert "failed in cutover" in alert and "still STOPPED" in alert
    assert any(element.text == report["error"] for element in select(elements, "span", **{"class": "error-text"}))
    assert "NOT started again" in select(elements, "text", **{"class": "downtime-label open"})[0].text


def test_a_failed_phase_without_an_end_and_a_failure_between_phases() -> None:
    report = round_report(status="failed", failed_phase="scale out", error="helm upgrade failed", ended=None,
                          downtime={"stopped_at": at(270), "started_at": None})
    report["timeline"] = report["timeline"][:2]
    report["timeline"][1]["ended"] = None
    elements = dom(report)
    # the phases that ran, then the one that never started, then where it failed (between phases: no times)
    assert phase_labels(elements) == ["prepare", "cutover", "verify", "scale out"]
    cutover = phase_bar(elements, "cutover")
    # no end recorded: the mark runs to the end of the axis (the last time the report knows) and says so
    assert cutover.num("x") + cutover.num("width") == pytest.approx(PLOT_X1, abs=0.01)
    assert any(element.text == "no end recorded" for element in select(elements, "text") if element.attrs.get("class", "").startswith("note"))
    (scale_out,) = [row for row in rows(elements, "phase") if row.attrs["data-phase"] == "scale out"]
    assert bars_in(elements, scale_out, "failure"), "the phase that failed between the recorded ones is marked"


def test_a_check_mode_report_shows_the_plan() -> None:
    elements = dom(sample("dynamodb-planned"))
    assert not select(elements, "rect", data_kind="downtime")
    resources = rows(elements, "resource")
    assert sorted({row.attrs["data-phase"] for row in resources}) == ["cutover", "prepare"] and len(resources) == 12
    assert all(not bars_in(elements, row, "step") for row in resources)
    notes = [element.text for element in select(elements, "text") if element.attrs.get("class") == "note"]
    assert sum(note.startswith("would: capture settings; restore to staging; back up staging; delete staging") for note in notes) == 6
    assert "Check mode" in select(elements, "div", **{"class": "alert info"})[0].text


def test_a_check_mode_report_without_times_still_lists_every_phase() -> None:
    report = sample("dynamodb-planned")
    report.update(timeline=[], started=None, ended=None)
    elements = dom(report)
    (svg,) = select(elements, "svg")
    assert "data-t0" not in svg.attrs, "no axis without times"
    assert phase_labels(elements) == ["preflight", "prepare", "cutover", "verify"]
    assert not [element for element in elements if element.attrs.get("class") == "mark"]
    assert sum("planned (check mode: nothing ran)" in element.text for element in select(elements, "text")) == 4


def test_an_unknown_backend_gives_phase_rows_only() -> None:
    report = round_report(backend="cnpg", phases={
        "preflight": {"cluster": "pg-main", "backups": 3},
        "remove": {"cluster": "pg-main", "removed": True},
        "move": {"from": "s3://bucket/pg-main", "to": "s3://bucket/pg-main-moved-1"},
        "recover": {"cluster": "pg-main", "ready": "3/3"},
    }, timeline=[{"phase": name, "started": at(index * 100), "ended": at(index * 100 + 80)}
                 for index, name in enumerate(("preflight", "remove", "move", "recover"))])
    elements = dom(report)
    assert phase_labels(elements) == ["preflight", "remove", "move", "recover"]
    assert not rows(elements, "resource")
    assert all(len(bars_in(elements, row, "phase")) == 1 for row in rows(elements, "phase"))
    assert band(elements).attrs["data-open"] == "false"
    assert "CloudNativePG" in select(elements, "h1")[0].text


def test_steps_without_start_times_follow_each_other_from_the_phase_start() -> None:
    report = sample("rds-aurora-succeeded")
    elements = dom(report)
    prepare_rows = [row for row in rows(elements, "resource") if row.attrs["data-phase"] == "prepare"]
    assert [row.attrs["data-label"] for row in prepare_rows] == ["scalardb-3fcdbe43-restored", "scalardb-3fcdbe43-restored-1", "scalardb-3fcdbe43-restored-2"]
    bars = [mark for row in prepare_rows for mark in bars_in(elements, row, "step")]
    assert len(bars) == len(report["phases"]["prepare"]["steps"])
    assert min(mark.num("x") for mark in bars) == pytest.approx(phase_bar(elements, "prepare").num("x"), abs=0.01)
    assert all("drawn after the step before" in mark.text for mark in bars)
    assert "Steps whose start the backend does not record" in select(elements, "figcaption")[0].text


def test_schema_repairs_have_a_row_per_release() -> None:
    report = sample("cosmosdb-succeeded")
    elements = dom(report)
    (repair,) = [row for row in rows(elements, "resource") if row.attrs["data-phase"] == "repair"]
    assert repair.attrs["data-label"] == report["phases"]["repair"]["repairs"][0]["release"]
    (mark,) = bars_in(elements, repair, "step")
    assert mark.num("x") == pytest.approx(phase_bar(elements, "repair").num("x"), abs=0.01)
    assert "scalar.db.contact_points=" in render_report_html(report)


def test_a_phase_with_many_resources_keeps_the_failed_ones_in_the_picture_and_all_in_the_table() -> None:
    report = round_report()
    template = report["phases"]["cutover"]["tables"][0]
    tables = []
    for number in range(MAX_RESOURCE_ROWS + 5):
        table = copy.deepcopy(template)
        table.update(source=f"ns.t{number:03d}", target=f"ns.t{number:03d}")
        tables.append(table)
    tables[-1].update(status="failed", error="RestoreTableFromBackup failed")
    tables[-1]["steps"][0]["status"] = "failed"
    report["phases"]["cutover"]["tables"] = tables
    elements = dom(report)
    shown = [row.attrs["data-label"] for row in rows(elements, "resource") if row.attrs["data-phase"] == "cutover"]
    assert len(shown) == MAX_RESOURCE_ROWS and shown[0] == f"ns.t{MAX_RESOURCE_ROWS + 4:03d}"
    assert shown[-1] == "\u2026 and 6 more (see the step table)"
    listed = {cell.text for cell in select(elements, "th", scope="row") if cell.text.startswith("ns.t")}
    assert len(listed) == MAX_RESOURCE_ROWS + 5


def test_the_summary_names_point_releases_times_downtime_and_switch() -> None:
    report = sample("rds-aurora-succeeded")
    page = render_report_html(report)
    elements = parse(page)
    summary = {cell.text: cell for cell in select(elements, "th", scope="row") if cell.inside("table", **{"class": "summary"})}
    assert list(summary)[:8] == ["Restore point", "Chosen as", "Backend", "Status", "Started", "Ended", "Duration", "Releases"]
    assert "Endpoint switch" in summary and "Failed in" not in summary
    assert report["endpoint_switch"]["to_host"] + ":5433" in page
    assert "17.6 s (stopped 2026-11-21 12:50:49.413 UTC, started 2026-11-21 12:51:07.049 UTC)" in page
    assert "given explicitly (restore_point)" in page
    window = round_report(restore_point={"source": "pause_window", "time": at(-3600), "use_latest": False,
                                         "pause_window": {"start": at(-3610), "end": at(-3590)}})
    assert f"midpoint of the pause window (restore_pause_window): {at(-3610)} .. {at(-3590)}" in render_report_html(window)


def test_the_filter_renders_the_same_page_and_refuses_anything_but_a_report() -> None:
    report = sample("cosmosdb-succeeded")
    assert restore_report_html(report) == render_report_html(report)
    with pytest.raises(AnsibleFilterError, match="expects the report dict"):
        restore_report_html(["not", "a", "report"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        render_report_html("a string")  # type: ignore[arg-type]


def test_a_cloudnativepg_report_names_the_cluster_and_the_applications() -> None:
    """The shape of the scalarops.pitr.cnpg_restore role's report: phases without per-resource steps."""
    workloads = [{"kind": "Deployment", "name": "web", "namespace": "shop", "replicas": 3}]
    report = round_report(backend="cnpg", restore_point={"time": None, "end_of_archive": True},
                          cluster={"namespace": "database", "source": "postgres-v17", "target": "postgres-v17", "replace": True,
                                   "archive_strategy": "move_folder"},
                          workloads=workloads, timeline=[],
                          phases={"start": {"workloads": workloads}, "recover": {"created": True}, "move": {"objects": 1527},
                                  "remove": {"removed": True}, "stop": {"workloads": workloads}, "preflight": {"strategy": "move_folder"}})
    del report["releases"]
    page = render_report_html(report)
    elements = parse(page)
    assert phase_labels(elements) == ["preflight", "stop", "remove", "move", "recover", "start"]
    assert not rows(elements, "resource")
    summary = {cell.text: cell for cell in select(elements, "th", scope="row") if cell.inside("table", **{"class": "summary"})}
    assert "Releases" not in summary and {"Cluster", "Applications"} <= set(summary)
    assert "<code>database/postgres-v17 \u2192 database/postgres-v17</code>, replaces the old cluster, archive strategy move_folder" in page
    assert "<code>Deployment shop/web</code>" in page and "Restore of CloudNativePG <span class=\"point\">to the end of the archive</span>" in page
