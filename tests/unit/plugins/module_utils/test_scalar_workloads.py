"""Unit tests of the release checks and stop/start planning behind the scalar_workloads role."""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_products import (
    ScalarProductError,
    chart_ref_name,
    split_chart_field,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_workloads import WorkloadPlanError, plan

LEDGER = {"name": "ledger", "namespace": "scalar", "product": "ledger", "chart_ref": "scalar-labs/scalardl"}
AUDITOR = {"name": "auditor", "namespace": "scalar", "product": "auditor", "chart_ref": "scalar-labs/scalardl-audit"}


def _status(chart: str, key: str, replicas: Any, **section: Any) -> dict[str, Any]:
    return {"chart": chart, "release_values": {key: {"replicaCount": replicas, "ledgerProperties": "a=b", **section}}}


def _record(replicas: Any) -> dict[str, Any]:
    return {"data": {"replicas": str(replicas)}}


@pytest.mark.parametrize("field, expected", [
    ("scalardl-4.12.0", ("scalardl", "4.12.0")),
    ("scalardl-audit-2.12.0", ("scalardl-audit", "2.12.0")),
    ("scalardb-cluster-1.11.0-rc.1", ("scalardb-cluster", "1.11.0-rc.1")),
])
def test_split_chart_field(field: str, expected: tuple[str, str]) -> None:
    assert split_chart_field(field) == expected


@pytest.mark.parametrize("ref, name", [
    ("scalar-labs/scalardl", "scalardl"),
    ("oci://ghcr.io/scalar-labs/helm-charts/scalardl-audit", "scalardl-audit"),
    ("https://example.com/charts/scalardb-cluster-1.11.0.tgz", "scalardb-cluster"),
    ("/opt/charts/scalardl/", "scalardl"),
])
def test_chart_ref_name(ref: str, name: str) -> None:
    assert chart_ref_name(ref) == name


def test_empty_chart_ref_is_refused() -> None:
    with pytest.raises(ScalarProductError, match="chart_ref is empty"):
        chart_ref_name(" ")


def test_stop_records_and_scales_running_releases_only() -> None:
    steps = plan("stop", [LEDGER, AUDITOR],
                 [_status("scalardl-4.12.0", "ledger", 3), _status("scalardl-audit-2.12.0", "auditor", 0)],
                 [None, _record(2)])
    ledger, auditor = steps
    assert (ledger["record"], ledger["scale_to"], ledger["chart_version"]) == (3, 0, "4.12.0")
    assert (auditor["record"], auditor["scale_to"]) == (None, None)  # already stopped: nothing to do
    assert "properties" not in ledger  # may hold credentials; a stop does not need it


def test_stop_overwrites_a_stale_record_with_the_running_count() -> None:
    (step,) = plan("stop", [LEDGER], [_status("scalardl-4.12.0", "ledger", 5)], [_record(3)])
    assert (step["record"], step["scale_to"]) == (5, 0)


def test_start_uses_the_record_then_forgets_it_and_skips_running_releases() -> None:
    ledger, auditor = plan("start", [LEDGER, AUDITOR],
                           [_status("scalardl-4.12.0", "ledger", 0), _status("scalardl-audit-2.12.0", "auditor", 2)],
                           [_record(3), None])
    assert (ledger["scale_to"], ledger["delete_record"]) == (3, True)
    assert (auditor["scale_to"], auditor["delete_record"]) == (None, False)


def test_start_without_record_needs_an_explicit_count() -> None:
    with pytest.raises(WorkloadPlanError, match=r"already at 0 replicas and no replica count was recorded .* \{ledger: N\}"):
        plan("start", [LEDGER], [_status("scalardl-4.12.0", "ledger", 0)], [None])
    (step,) = plan("start", [LEDGER], [_status("scalardl-4.12.0", "ledger", 0)], [None], {"ledger": 4})
    assert step["scale_to"] == 4


def test_every_problem_is_reported_at_once() -> None:
    bad_product = dict(AUDITOR, product="ledger")
    with pytest.raises(WorkloadPlanError) as err:
        plan("stop", [LEDGER, bad_product, LEDGER],
             [None, _status("scalardl-audit-2.12.0", "ledger", 1), None],
             [None, None, None])
    message = str(err.value)
    assert "release 'ledger' in namespace 'scalar': helm has no such release" in message
    assert "it runs chart scalardl-audit-2.12.0, but product 'ledger' is deployed by chart 'scalardl'" in message
    assert "listed twice" in message


@pytest.mark.parametrize("replicas", ["3", -1, None, True])
def test_a_replica_count_that_is_not_one_is_refused(replicas: Any) -> None:
    with pytest.raises(WorkloadPlanError, match="ledger.replicaCount is"):
        plan("stop", [LEDGER], [_status("scalardl-4.12.0", "ledger", replicas)], [None])


def test_a_corrupt_record_is_refused() -> None:
    with pytest.raises(WorkloadPlanError, match="holds no valid 'replicas'"):
        plan("start", [LEDGER], [_status("scalardl-4.12.0", "ledger", 0)], [{"data": {"replicas": "three"}}])


def test_bad_overrides_and_actions_are_refused() -> None:
    with pytest.raises(WorkloadPlanError, match=r"scalar_workloads_replica_counts\['ledger'\] is -2"):
        plan("start", [LEDGER], [_status("scalardl-4.12.0", "ledger", 0)], [None], {"ledger": -2})
    with pytest.raises(WorkloadPlanError, match="unknown action 'pause'"):
        plan("pause", [LEDGER], [None], [None])
    with pytest.raises(WorkloadPlanError, match="scalar_releases is empty"):
        plan("stop", [], [], [])
