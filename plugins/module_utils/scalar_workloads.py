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

An *endpoint switch* re-points the JDBC ``contact_points`` of every release from the source
database server to the one a PITR restore created (a new RDS instance, Aurora cluster or Azure
flexible server): only the host (and port) of each URL that points at the source changes; the
database name and every driver parameter stay. Without a target host it only checks that every
release really points at the source, which a restore's preflight runs before anything changes.
With ``scheme: https`` the contact_points are https URLs (a Cosmos DB account's document endpoint,
``https://<account>.documents.azure.com:443/``) and the switch only checks them: a Cosmos DB restore
sets the new endpoint through ``properties_set`` together with the account key.
"""

from __future__ import annotations

import os
import urllib.parse

from ansible_collections.scalarops.pitr.plugins.module_utils.java_properties import (
    PropertiesDocument,
    PropertiesError,
    edit,
    env_refs,
    is_secret_key,
)
from ansible_collections.scalarops.pitr.plugins.module_utils.jdbc_url import (
    JdbcUrlError,
    check_endpoint,
    is_jdbc_url,
    mask_url,
    normalize_host,
    parse as parse_jdbc_url,
    rewrite as rewrite_jdbc_url,
    same_host,
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
ENDPOINT_SWITCH_KEYS = ("from_hosts", "to_host", "to_port", "source", "scheme")
# What the contact_points of the switch are: JDBC URLs (re-pointed) or https URLs (only checked).
ENDPOINT_SCHEMES = ("jdbc", "https")
# Literal texts (docs/troubleshooting.md quotes them): a contact_points value that is not such a URL.
_NOT_A_URL = {
    "jdbc": ("not a JDBC URL (jdbc:...), so it cannot be re-pointed from", "through JDBC"),
    "https": ("not an https URL (https://host[:port]/), so it cannot be checked against", "through an https endpoint"),
}
# ScalarDB's own key, and multi-storage's scalar.db.multi_storage.storages.<name>.contact_points.
CONTACT_POINTS_KEY = "scalar.db.contact_points"


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
    # Secret keys are masked by edit(); a JDBC URL may still carry user:password@ or password=... itself.
    old, new = mask_url(change.old), mask_url(change.new)
    if change.old is None:
        return f"+ {change.key}={new}"
    if change.new is None:
        return f"- {change.key} (was {old})"
    return f"~ {change.key}: {old} -> {new}"


def check_endpoint_switch(endpoint_switch):
    """The endpoint switch the user gave, checked and normalised; None when it is empty.

    Returns ``{from_hosts: [str, ...], to_host: str | None, to_port: int | None, source: str, scheme: str}``.
    """
    if not endpoint_switch:
        return None
    where = "scalar_workloads_endpoint_switch"
    if not isinstance(endpoint_switch, dict):
        raise WorkloadPlanError(f"{where} must be a dict with from_hosts, to_host, to_port and source, "
                                f"not {type(endpoint_switch).__name__}")
    unknown = sorted(str(key) for key in endpoint_switch if key not in ENDPOINT_SWITCH_KEYS)
    if unknown:
        raise WorkloadPlanError(f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(ENDPOINT_SWITCH_KEYS)}")
    scheme = str(endpoint_switch.get("scheme") or "jdbc").strip().lower()
    if scheme not in ENDPOINT_SCHEMES:
        raise WorkloadPlanError(f"{where}.scheme is {endpoint_switch.get('scheme')!r}; expected one of {', '.join(ENDPOINT_SCHEMES)}")
    if scheme != "jdbc" and endpoint_switch.get("to_host"):
        # Only JDBC URLs are rewritten here; an https endpoint is set whole through properties_set.
        raise WorkloadPlanError(f"{where}: with scheme {scheme} the switch only checks the contact_points; "
                                f"leave out to_host and set the new URL through the properties to set")
    from_hosts = endpoint_switch.get("from_hosts")
    if isinstance(from_hosts, str) or not isinstance(from_hosts, (list, tuple)) or not from_hosts:
        raise WorkloadPlanError(f"{where}.from_hosts must be a non-empty list of the source database's host names, "
                                f"not {from_hosts!r}")
    try:
        hosts = [check_endpoint(host)[0] for host in from_hosts]
        to_host, to_port = (None, None)
        if endpoint_switch.get("to_host"):
            to_host, to_port = check_endpoint(endpoint_switch["to_host"], endpoint_switch.get("to_port"))
    except JdbcUrlError as exc:
        raise WorkloadPlanError(f"{where}: {exc}") from None
    source = str(endpoint_switch.get("source") or "the source database")
    return {"from_hosts": hosts, "to_host": to_host, "to_port": to_port, "source": source, "scheme": scheme}


def _is_contact_points(key):
    return key == CONTACT_POINTS_KEY or key.endswith(".contact_points")


def _mentions(url, hosts):
    lowered = url.lower()
    return any(normalize_host(host) in lowered for host in hosts)


def _is_url(value, scheme):
    if scheme == "jdbc":
        return is_jdbc_url(value)
    return isinstance(value, str) and value.strip().lower().startswith(f"{scheme}://")


def _url_host(url, scheme):
    """The host ``url`` points at; :class:`JdbcUrlError` when it names none that can be compared."""
    if scheme == "jdbc":
        return parse_jdbc_url(url).host
    if "${" in url:
        raise JdbcUrlError(f"{mask_url(url)}: the host is a ${{...}} placeholder, resolved only when ScalarDB starts; "
                           f"write the endpoint itself")
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        port = parts.port  # read for its check: "host:abc" raises
    except ValueError as exc:
        raise JdbcUrlError(f"{mask_url(url)}: not a valid {scheme} URL ({exc})") from None
    if not host:
        raise JdbcUrlError(f"{mask_url(url)}: the URL names no host (expected {scheme}://host[:port]/)")
    return check_endpoint(host, port)[0]


def plan_endpoint(label, properties, endpoint):
    """Which JDBC (or, with scheme https, https) contact_points of one release's ``properties`` point at the source, and their new URLs.

    ``endpoint`` is :func:`check_endpoint_switch`'s result. Returns ``(updates, keys)``: ``keys``
    are the contact_points keys at the source (or already at the target: a re-run); ``updates``
    maps those whose URL changes to the new URL (empty without a target host: validation only).
    A release with no such key is an error naming every URL found (masked): switching nothing
    would silently leave it on the old database.
    """
    found = {key: value for key, value in PropertiesDocument(properties).as_dict().items() if _is_contact_points(key)}
    scheme = endpoint.get("scheme") or "jdbc"
    jdbc = {key: value.strip() for key, value in found.items() if _is_url(value, scheme)}
    source = f"{endpoint['source']} ({', '.join(endpoint['from_hosts'])})"
    if not jdbc:
        shown = ", ".join(f"{key} is {mask_url(value) or '(empty)'}" for key, value in found.items())
        what, how = _NOT_A_URL[scheme]
        raise WorkloadPlanError(
            f"{label}: {shown or 'it sets no ' + CONTACT_POINTS_KEY}, {what} "
            f"{source}; the endpoint switch only applies to releases that use it {how}"
        )
    targets = endpoint["from_hosts"] + ([endpoint["to_host"]] if endpoint["to_host"] else [])
    keys, elsewhere, unsupported = [], {}, {}
    for key, url in jdbc.items():
        try:
            host = _url_host(url, scheme)
        except JdbcUrlError as exc:
            unsupported[key] = exc
            continue
        if any(same_host(host, target) for target in targets):
            keys.append(key)
        else:
            elsewhere[key] = url
    # A URL that cannot be parsed is only left alone when another one is switched and it does not
    # even mention the source: otherwise it may well be the one that must move.
    problems = [f"{key}: {exc}" for key, exc in unsupported.items() if not keys or _mentions(jdbc[key], targets)]
    if not keys and elsewhere:
        shown = ", ".join(f"{key} is {mask_url(url)}" for key, url in elsewhere.items())
        which = "which does not" if len(elsewhere) == 1 else "none of which"
        target = f" nor at {endpoint['to_host']}" if endpoint["to_host"] else ""
        problems.append(
            f"{shown}, {which} point{'s' if len(elsewhere) > 1 else ''} at {source}{target}; check that the release "
            f"uses this database, or correct the source hosts"
        )
    if problems:
        raise WorkloadPlanError(f"{label}: " + "; ".join(problems))
    updates = {}
    if endpoint["to_host"]:
        for key in keys:
            new = rewrite_jdbc_url(jdbc[key], endpoint["to_host"], endpoint["to_port"])
            if new != found[key]:
                updates[key] = new
    return updates, keys


def _endpoint_lines(found_keys, updates, properties, endpoint):
    current = PropertiesDocument(properties)
    lines = []
    for key in found_keys:
        old = mask_url(current.get(key))
        if key in updates:
            lines.append(f"~ {key}: {old} -> {mask_url(updates[key])}")
        elif endpoint["to_host"]:
            lines.append(f"= {key}: {old} (already at {endpoint['to_host']})")
        else:
            lines.append(f"? {key}: {old} points at {endpoint['source']}; switched once the restored database exists")
    return lines


def plan_check_endpoint(state, endpoint_switch):
    """The endpoint part of a ``check``: validate (and preview) the switch of one release, change nothing."""
    label = f"release {state['name']!r} in namespace {state['namespace']!r}"
    endpoint = check_endpoint_switch(endpoint_switch)
    if endpoint is None:
        return {"endpoint_keys": [], "endpoint_lines": []}
    try:
        updates, keys = plan_endpoint(label, state["properties"], endpoint)
    except PropertiesError as exc:
        raise WorkloadPlanError(f"{label}: {exc}") from None
    return {"endpoint_keys": keys, "endpoint_lines": _endpoint_lines(keys, updates, state["properties"], endpoint)}


def plan_switch(state, properties_set=None, properties_remove=None, secret_properties=None, endpoint_switch=None):
    """What a switch does to one inspected release: its new properties and the Secret entries to write.

    Credentials never go into helm values: a credential property that references ``${env:NAME}``
    gets NAME written into the release's Secret (``*.secretName``); one that holds a literal is
    turned into such a reference first; a release without a Secret is refused.
    ``endpoint_switch`` (see :func:`check_endpoint_switch`) re-points the JDBC contact_points that
    point at the source; it applies together with ``properties_set``.
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
    endpoint = check_endpoint_switch(endpoint_switch)
    try:
        endpoint_updates, endpoint_keys = plan_endpoint(label, state["properties"], endpoint) if endpoint else ({}, [])
        _merge_endpoint_updates(label, properties_set, properties_remove or [], secret_properties, endpoint_updates)
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
                changes=[{"key": c.key, "old": mask_url(c.old) if c.old is not None else None,
                          "new": mask_url(c.new) if c.new is not None else None} for c in changes],
                change_lines=[_change_line(c) for c in changes], endpoint_keys=endpoint_keys,
                endpoint_lines=_endpoint_lines(endpoint_keys, endpoint_updates, state["properties"], endpoint)
                if endpoint else [])
    if new_text != state["properties"]:
        keys = ", ".join(c.key for c in changes)
        _upgrade(step, {state["properties_key"]: new_text}, f"{state['properties_key']}: {keys}")
    step.pop("properties")
    return step


def _merge_endpoint_updates(label, properties_set, properties_remove, secret_properties, updates):
    """Add the endpoint switch's new URLs to ``properties_set``; a key the user also changes must agree."""
    for key, url in updates.items():
        if key in properties_remove or key in secret_properties:
            raise WorkloadPlanError(f"{label}: {key} is re-pointed by the endpoint switch and also removed or given "
                                    f"as a secret property; drop one of them")
        if key in properties_set and str(properties_set[key]) != url:
            raise WorkloadPlanError(f"{label}: {key} is set to {mask_url(str(properties_set[key]))} in the properties "
                                    f"to set but the endpoint switch re-points it to {mask_url(url)}; drop one of them")
        properties_set[key] = url


def _plan_check(state, override, endpoint_switch):
    """A check: the stop it would take and the endpoint switch it would make, both problems reported together."""
    problems, step = [], None
    try:
        step = plan_stop(state, override)
    except WorkloadPlanError as exc:
        problems.append(str(exc))
    try:
        endpoint = plan_check_endpoint(state, endpoint_switch)
    except WorkloadPlanError as exc:
        problems.append(str(exc))
    if problems:
        raise WorkloadPlanError("; ".join(problems))
    step.update(endpoint)
    return step


def plan(action, releases, helm_statuses, records, overrides=None, switch=None):
    """Inspect every release and plan ``action`` for all of them; raise once with every problem.

    ``helm_statuses`` and ``records`` are aligned with ``releases`` (None where absent);
    ``overrides`` maps release names to replica counts the user gave explicitly; ``switch`` holds
    ``properties_set``, ``properties_remove``, ``secret_properties`` and ``endpoint_switch`` for a
    switch; a check validates (and previews) its ``endpoint_switch`` too.
    """
    if action not in ACTIONS:
        raise WorkloadPlanError(f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}")
    if not releases:
        raise WorkloadPlanError("scalar_releases is empty: name at least one release")
    overrides = overrides or {}
    for name, count in overrides.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise WorkloadPlanError(f"scalar_workloads_replica_counts[{name!r}] is {count!r}, not a replica count")
    switch = dict(switch or {})
    if action in ("switch", "check"):
        # One bad switch is one problem, not one per release.
        switch["endpoint_switch"] = check_endpoint_switch(switch.get("endpoint_switch"))
    seen, problems, steps = set(), [], []
    for release, status, record in zip(releases, helm_statuses, records):
        key = (release.get("namespace"), release.get("name"))
        if key in seen:
            problems.append(f"release {key[1]!r} in namespace {key[0]!r} is listed twice")
            continue
        seen.add(key)
        try:
            state = inspect(release, status, record)
            if action == "stop":
                steps.append(plan_stop(state, overrides.get(state["name"])))
            elif action == "check":
                steps.append(_plan_check(state, overrides.get(state["name"]), switch.get("endpoint_switch")))
            elif action == "start":
                steps.append(plan_start(state, overrides.get(state["name"])))
            else:
                steps.append(plan_switch(state, **switch))
            # Properties may hold literal credentials: no plan carries the current text.
            steps[-1].pop("properties", None)
        except WorkloadPlanError as exc:
            problems.append(str(exc))
    if problems:
        raise WorkloadPlanError("; ".join(problems) if len(problems) == 1 else "\n- " + "\n- ".join(problems))
    return steps
