"""module_utils/app_workloads.py: the stop/start plan of plain Deployments and StatefulSets."""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.scalarops.pitr.plugins.module_utils.app_workloads import ANNOTATION, plan, selector_string


def obj(replicas: int, record: str | None = None, ready: int | None = None) -> dict[str, Any]:
    annotations = {ANNOTATION: record} if record is not None else {}
    return {"metadata": {"annotations": annotations}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"readyReplicas": replicas if ready is None else ready}}


WEB = {"name": "web", "namespace": "shop"}


def test_selector_string_covers_match_labels_and_every_expression_operator() -> None:
    selector = {"matchLabels": {"tier": "app", "app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "NotIn", "values": ["y"]},
                                     {"key": "has", "operator": "Exists"}, {"key": "not", "operator": "DoesNotExist"}]}
    assert selector_string(selector) == "app=web,tier=app,env in (a,b),x notin (y),has,!not"
    assert selector_string(None) == ""


def test_stop_records_only_when_nothing_is_recorded() -> None:
    first = plan("stop", [WEB], [obj(3)])["steps"][0]
    assert (first["record"], first["scale_to"], first["fact"]["replicas"]) == (3, 0, 3)
    again = plan("stop", [WEB], [obj(0, record="3")])["steps"][0]
    assert (again["record"], again["scale_to"], again["fact"]["replicas"]) == (None, 0, 3)
    assert "kept" in again["summary"]


def test_start_scales_to_the_record_and_leaves_unrecorded_workloads_alone() -> None:
    steps = plan("start", [WEB, {**WEB, "name": "api", "kind": "StatefulSet"}], [obj(0, record="4"), obj(2)])["steps"]
    web = {"kind": "Deployment", "name": "web", "namespace": "shop", "replicas": 4}
    assert (steps[0]["scale_to"], steps[0]["forget"], steps[0]["fact"]) == (4, True, web)
    assert (steps[1]["scale_to"], steps[1]["forget"], steps[1]["fact"]) == (None, False, None)
    assert "left alone at 2 replicas" in steps[1]["summary"]


def test_every_problem_is_listed_at_once() -> None:
    result = plan("stop", [WEB, {**WEB, "name": "gone"}, {**WEB, "name": "bad"}, {**WEB, "name": "ghost", "kind": "StatefulSet"}],
                  [obj(1), None, obj(1, record="x"), None])
    assert result["missing"] == ["Deployment shop/gone", "StatefulSet shop/ghost"]
    assert result["problems"][0] == "2 workload(s) not found: Deployment shop/gone, StatefulSet shop/ghost"
    assert "Deployment shop/bad: its annotation" in result["problems"][1]
    # a check only reads: a broken record is not its problem, a missing workload is
    assert plan("check", [{**WEB, "name": "bad"}], [obj(1, record="x")])["problems"] == []


def test_bad_calls_are_refused() -> None:
    with pytest.raises(ValueError, match="action must be one of"):
        plan("restart", [], [])
    with pytest.raises(ValueError, match="aligned"):
        plan("stop", [WEB], [])
