# Copyright: scalarops.pitr contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Decide what stopping, starting and re-pointing Scalar releases takes, before anything changes.

The scalar_workloads role reads each release (helm values, its replica record) with
kubernetes.core and hands the results to ``plan``; this module checks them all and answers, per
release, exactly which helm upgrades and Kubernetes writes are needed. Every problem of every
release is reported at once, so one run tells the operator everything to fix.

The replica count a stop replaces with 0 is recorded in the cluster, in a ConfigMap next to the
release (``record_name``), so a start finds it even after the control node crashed or from
another machine.
"""

from __future__ import annotations

import os

from ansible_collections.scalarops.pitr.plugins.module_utils.java_properties import (
    PropertiesDocument,
    PropertiesError,
    edit,
    env_refs,
    is_secret_key,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.scalar_products import (
    ScalarProductError,
    chart_ref_name,
    get_product,
    split_chart_field,
)

RECORD_PREFIX = "scalarops-pitr-replicas-"
RECORD_LABEL = "scalarops.io/replica-record"
MANAGED_BY = "scalarops.pitr"
ACTIONS = ("stop", "start", "switch", "check")  # check: plan a stop to validate the releases, change nothing


class WorkloadPlanError(ValueError):
    """One or more releases cannot be handled; the message lists every problem."""


def record_name(release_name):
    """Name of the ConfigMap that remembers a stopped release's replica count."""
    return f"{RECORD_PREFIX}{release_name}"[:253]


def record_manifest(release, product, replicas, recorded_at, chart):
    """The record ConfigMap for ``release`` (dict with name/namespace) holding ``replicas``."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": record_name(release["name"]),
            "namespace": release["namespace"],
            "labels": {
                "app.kubernetes.io/managed-by": MANAGED_BY,
                "app.kubernetes.io/instance": release["name"],
                RECORD_LABEL: "true",
            },
        },
        "data": {
            "release": release["name"],
            "product": product.name,
            "chart": chart,
            "replicas": str(replicas),
            "recorded_at": recorded_at,
        },
    }


def _local_chart_version(chart_ref):
    """(name, version) of a chart directory, or None when chart_ref is not a local directory."""
    chart_yaml = os.path.join(chart_ref, "Chart.yaml")
    if not os.path.isfile(chart_yaml):
        return None
    import yaml  # pylint: disable=import-outside-toplevel  # PyYAML ships with ansible-core

    with open(chart_yaml, encoding="utf-8") as handle:
        meta = yaml.safe_load(handle) or {}
    return str(meta.get("name", "")), str(meta.get("version", ""))


def _dig(values, key):
    section = values.get(key) if isinstance(values, dict) else None
    return section if isinstance(section, dict) else {}


def inspect(release, helm_status, record):
    """Check one release against what helm and the cluster report; return its facts.

    ``helm_status`` is kubernetes.core.helm_info's ``status`` (with get_all_values) or None when
    helm knows no such release; ``record`` is the record ConfigMap or None.
    Raises WorkloadPlanError naming the release and what to fix.
    """
    label = f"release {release.get('name')!r} in namespace {release.get('namespace')!r}"
    for key in ("name", "namespace", "product", "chart_ref"):
        if not release.get(key):
            raise WorkloadPlanError(f"{label}: '{key}' is missing (a release is {{name, namespace, product, chart_ref}})")
    try:
        product = get_product(release["product"])
    except ScalarProductError as exc:
        raise WorkloadPlanError(f"{label}: {exc}") from None
    if not helm_status:
        raise WorkloadPlanError(
            f"{label}: helm has no such release (check the name and namespace with `helm list -n {release['namespace']}`)"
        )
    try:
        chart_name, chart_version = split_chart_field(helm_status.get("chart"))
        ref_name = chart_ref_name(release["chart_ref"])
    except ScalarProductError as exc:
        raise WorkloadPlanError(f"{label}: {exc}") from None
    if chart_name != product.chart:
        raise WorkloadPlanError(
            f"{label}: it runs chart {helm_status.get('chart')}, but product {product.name!r} is deployed by chart "
            f"{product.chart!r}; fix 'product' (or the release name)"
        )
    local = _local_chart_version(release["chart_ref"])
    if local is not None:
        ref_name = local[0]
    if ref_name != chart_name:
        raise WorkloadPlanError(
            f"{label}: chart_ref {release['chart_ref']!r} is chart {ref_name!r}, but the release runs {chart_name!r}; "
            f"point chart_ref at the chart the release was installed from"
        )
    if local is not None and local[1] != chart_version:
        raise WorkloadPlanError(
            f"{label}: chart_ref {release['chart_ref']!r} is version {local[1]} but the release runs {chart_version}; "
            f"a scale must not change the chart: use the deployed chart version"
        )
    # kubernetes.core.helm_info >= 6.3 names them release_values (get_all_values: chart defaults included).
    section = _dig(helm_status.get("release_values") or helm_status.get("values") or {}, product.values_key)
    replicas = section.get("replicaCount")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise WorkloadPlanError(f"{label}: {product.replica_path} is {replicas!r}, not a replica count")
    recorded = None
    if record:
        try:
            recorded = int((record.get("data") or {}).get("replicas"))
        except (TypeError, ValueError):
            raise WorkloadPlanError(
                f"{label}: the replica record ConfigMap {record_name(release['name'])} holds no valid 'replicas'; "
                f"fix or delete it"
            ) from None
    return {
        "name": release["name"],
        "namespace": release["namespace"],
        "product": product.name,
        "chart_ref": release["chart_ref"],
        "chart": helm_status.get("chart"),
        "chart_version": chart_version,
        "values_key": product.values_key,
        "properties_key": product.properties_key,
        "app_label": product.app_label,
        "replicas": replicas,
        "recorded_replicas": recorded,
        "record_name": record_name(release["name"]),
        "secret_name": section.get("secretName") or None,
        "properties": section.get(product.properties_key) or "",
    }


def _missing_count_message(state):
    return (
        f"release {state['name']!r} in namespace {state['namespace']!r} is already at 0 replicas and no replica "
        f"count was recorded (ConfigMap {state['record_name']} is absent), so the count to restore is unknown. "
        f"Refusing to guess: pass scalar_workloads_replica_counts: {{{state['name']}: N}} with the count it should run"
    )


def _upgrade(step, changes, summary):
    """Mark ``step`` as needing a helm upgrade that merges ``changes`` into the release's own section."""
    step["upgrade_values"] = {step["values_key"]: changes}
    step["summary"] = f"{step['namespace']}/{step['name']} ({step['product']}): {summary}"
    return step


def plan_stop(state, override=None):
    """What a stop does to one inspected release: record its count (if needed) and scale to 0."""
    step = dict(state, record=None, scale_to=None, upgrade_values=None)
    if state["replicas"] > 0:
        # The running count is the truth, even over an older record (e.g. a stop that crashed before scaling).
        if state["recorded_replicas"] != state["replicas"]:
            step["record"] = state["replicas"]
        step["scale_to"] = 0
        _upgrade(step, {"replicaCount": 0}, f"{state['replicas']} -> 0 replicas")
    elif state["recorded_replicas"] is None:
        if override is None:
            raise WorkloadPlanError(_missing_count_message(state))
        step["record"] = override  # already at 0: only remember what to start it with
    return step


def plan_start(state, override=None):
    """What a start does to one inspected release: scale to the recorded count, then forget it."""
    step = dict(state, scale_to=None, upgrade_values=None, delete_record=state["recorded_replicas"] is not None)
    target = override if override is not None else state["recorded_replicas"]
    if state["replicas"] == 0:
        if target is None:
            raise WorkloadPlanError(_missing_count_message(state))
        if target > 0:
            step["scale_to"] = target
            _upgrade(step, {"replicaCount": target}, f"0 -> {target} replicas")
    return step


def env_name_for(key):
    """The environment variable a credential property is moved to: scalar.db.password -> SCALAR_DB_PASSWORD."""
    return "".join(ch if ch.isalnum() else "_" for ch in key).upper()


def _change_line(change):
    if change.old is None:
        return f"+ {change.key}={change.new}"
    if change.new is None:
        return f"- {change.key} (was {change.old})"
    return f"~ {change.key}: {change.old} -> {change.new}"


def plan_switch(state, properties_set=None, properties_remove=None, secret_properties=None):
    """What a switch does to one inspected release: its new properties and the Secret entries to write.

    Credentials never go into helm values: a credential property that references ``${env:NAME}``
    gets NAME written into the release's Secret (``*.secretName``); one that holds a literal is
    turned into such a reference first; a release without a Secret is refused.
    """
    label = f"release {state['name']!r} in namespace {state['namespace']!r}"
    properties_set = dict(properties_set or {})
    secret_properties = dict(secret_properties or {})
    # Paths to key files (e.g. scalar.dl.ledger.proof.private_key_path) are not credentials themselves.
    literal_secrets = sorted(key for key in properties_set
                             if is_secret_key(key) and not key.endswith(("_path", ".path", "_file", ".file")))
    if literal_secrets:
        raise WorkloadPlanError(
            f"{label}: {', '.join(literal_secrets)} look like credentials; pass them in "
            f"scalar_workloads_secret_properties so they go into the release's Secret, not into helm values"
        )
    both = sorted(set(properties_set) & set(secret_properties))
    if both:
        raise WorkloadPlanError(f"{label}: {', '.join(both)} given both as a property and as a secret property")
    try:
        current = PropertiesDocument(state["properties"])
        secret_data, moved = {}, []
        for key, value in secret_properties.items():
            refs = env_refs(current.get(key) or "")
            if refs:
                secret_data[refs[0]] = str(value)
                continue
            if not state["secret_name"]:
                raise WorkloadPlanError(
                    f"{label}: {key} must be written into a Secret, but the release has no "
                    f"{state['values_key']}.secretName; refusing to put a credential into helm values. "
                    f"Set {state['values_key']}.secretName to a Secret the pods load (envFrom) and run again"
                )
            name = env_name_for(key)
            properties_set[key] = "${env:" + name + "}"
            secret_data[name] = str(value)
            moved.append(key)
        new_text, changes = edit(state["properties"], set=properties_set, remove=properties_remove or [])
    except PropertiesError as exc:
        raise WorkloadPlanError(f"{label}: {exc}") from None
    step = dict(state, upgrade_values=None, secret_data=secret_data or None, moved_to_secret=moved,
                changes=[{"key": c.key, "old": c.old, "new": c.new} for c in changes],
                change_lines=[_change_line(c) for c in changes])
    if new_text != state["properties"]:
        keys = ", ".join(c.key for c in changes)
        _upgrade(step, {state["properties_key"]: new_text}, f"{state['properties_key']}: {keys}")
    step.pop("properties")
    return step


def plan(action, releases, helm_statuses, records, overrides=None, switch=None):
    """Inspect every release and plan ``action`` for all of them; raise once with every problem.

    ``helm_statuses`` and ``records`` are aligned with ``releases`` (None where absent);
    ``overrides`` maps release names to replica counts the user gave explicitly; ``switch`` holds
    ``properties_set``, ``properties_remove`` and ``secret_properties`` for a switch.
    """
    if action not in ACTIONS:
        raise WorkloadPlanError(f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}")
    if not releases:
        raise WorkloadPlanError("scalar_releases is empty: name at least one release")
    overrides = overrides or {}
    for name, count in overrides.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise WorkloadPlanError(f"scalar_workloads_replica_counts[{name!r}] is {count!r}, not a replica count")
    seen, problems, steps = set(), [], []
    for release, status, record in zip(releases, helm_statuses, records):
        key = (release.get("namespace"), release.get("name"))
        if key in seen:
            problems.append(f"release {key[1]!r} in namespace {key[0]!r} is listed twice")
            continue
        seen.add(key)
        try:
            state = inspect(release, status, record)
            if action in ("stop", "check"):
                steps.append(plan_stop(state, overrides.get(state["name"])))
            elif action == "start":
                steps.append(plan_start(state, overrides.get(state["name"])))
            else:
                steps.append(plan_switch(state, **(switch or {})))
            # Properties may hold literal credentials: no plan carries the current text.
            steps[-1].pop("properties", None)
        except WorkloadPlanError as exc:
            problems.append(str(exc))
    if problems:
        raise WorkloadPlanError("; ".join(problems) if len(problems) == 1 else "\n- " + "\n- ".join(problems))
    return steps
