"""The scalarops.pitr.rds_instance_restore and aurora_cluster_restore modules as a playbook calls them:
the real ansible-playbook, boto3 against the AWS stand-in (moto server with RDS point-in-time semantics).

What they return (changed, status, the plan, the target, steps, the endpoint switch, reachability),
what they write (the progress file), the messages of bad input, check mode, and that the AWS
secret key never shows, not even with -vvv.  The restore core's resume/bad-input matrix is in
``test_rds_restore.py``.  Restore points seconds old exist only in the stand-in.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from rds_restore_helpers import (
    cluster_ids,
    cluster_settings,
    instance_ids,
    instance_settings,
    make_cluster_source,
    make_instance_source,
    make_network,
    point_after_creation,
    tags,
)

from ansible_collections.scalarops.pitr.plugins.module_utils.rds_naming import TAG_STATE, default_target
from fixtures.common import require_standin, run_playbook
from standins.aws.target import AwsTarget

pytestmark = pytest.mark.standin_only

STANDIN_ONLY = "restore points seconds old (AWS's LatestRestorableTime trails by about 5 minutes)"
INSTANCE_MODULE = "scalarops.pitr.rds_instance_restore"
CLUSTER_MODULE = "scalarops.pitr.aurora_cluster_restore"
RESULT_KEYS = {"changed", "would_change", "phase", "kind", "source", "restore_point", "preflight", "target", "restore_called", "steps",
               "status"}


class Stage:
    """An RDS instance and an Aurora cluster with custom settings, a restore point after them, and a way to run tasks."""

    def __init__(self, aws: AwsTarget, tool_env: dict[str, str], workdir: Path) -> None:
        self.aws, self.workdir = aws, workdir
        self.rds = aws.client("rds")
        ec2 = aws.client("ec2")
        self.secret = f"pitrSecret{uuid.uuid4().hex}"
        self.env = {**aws.env_for(tool_env), "AWS_SECRET_ACCESS_KEY": self.secret, "SCALAROPS_PITR_RETRY_BASE_DELAY": "0.01"}
        self.instance = make_instance_source(self.rds, make_network(ec2, self.rds))
        self.cluster = make_cluster_source(self.rds, make_network(ec2, self.rds, "aurora-subnets"), readers=2)
        self.point = point_after_creation()

    @property
    def iso(self) -> str:
        return self.point.isoformat(timespec="milliseconds")

    def play(self, tasks: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
        """Run ``tasks`` (each may ``register``) with -vvv; return every registered result and the whole output."""
        defaults: dict[str, Any] = {"region": self.aws.region, "poll_interval": 0.2, "wait_timeout": 60, "restore_point": self.iso}
        if self.aws.endpoint_url:
            defaults["endpoint_url"] = self.aws.endpoint_url
        names = [entry["register"] for entry in tasks if "register" in entry]
        dump = {"ansible.builtin.copy": {"dest": str(self.workdir / "results.json"),
                                         "content": "{{ {" + ", ".join(f"'{name}': {name}" for name in names) + "} | to_json }}"}}
        play = [{"hosts": "localhost", "gather_facts": False,
                 "module_defaults": {INSTANCE_MODULE: defaults, CLUSTER_MODULE: defaults}, "tasks": [*tasks, dump]}]
        proc = run_playbook(yaml.safe_dump(play, sort_keys=False), self.workdir, self.env, verbosity=3)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-5000:]
        return json.loads((self.workdir / "results.json").read_text(encoding="utf-8")), output

    def assert_secret_hidden(self, output: str) -> None:
        assert self.secret not in output, "the AWS secret key appeared in ansible's output"
        assert self.secret not in (self.workdir / "results.json").read_text(encoding="utf-8")


def task(module: str, register: str, ignore_errors: bool = False, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": register, module: args, "register": register}
    if ignore_errors:
        entry["ignore_errors"] = True
    if check_mode:
        entry["check_mode"] = True
    return entry


@pytest.fixture(name="stage")
def stage_fixture(aws: AwsTarget, tool_env: dict[str, str], tmp_path: Path) -> Stage:
    require_standin(aws.is_standin, STANDIN_ONLY)
    return Stage(aws, tool_env, tmp_path)


def test_rds_instance_restore_module_runs_every_phase_and_reports_it(stage: Stage) -> None:
    source = stage.instance.identifier
    target = default_target(source, stage.point)
    progress = str(stage.workdir / "progress.json")

    def rds(register: str, **args: Any) -> dict[str, Any]:
        return task(INSTANCE_MODULE, register, source_instance=source, **args)

    results, output = stage.play([
        rds("pre", phase="preflight"),
        # the secret given as an option too (not only through the environment): no_log either way
        rds("prep", phase="prepare", progress_file=progress, secret_key="{{ lookup('ansible.builtin.env', 'AWS_SECRET_ACCESS_KEY') }}"),
        {"ansible.builtin.slurp": {"src": progress}, "register": "progress"},
        rds("prep2", phase="prepare"),
        rds("cut", phase="cutover"),
        rds("strict", phase="verify", require_reachable=True, ignore_errors=True),
        rds("ver", phase="verify"),
    ])

    pre = results["pre"]
    assert RESULT_KEYS <= set(pre) and (pre["changed"], pre["would_change"], pre["status"]) == (False, True, "checked")
    assert (pre["phase"], pre["kind"], pre["source"]) == ("preflight", "instance", source)
    assert _dt.datetime.fromisoformat(pre["restore_point"]) == _dt.datetime.fromisoformat(stage.iso)
    assert pre["preflight"]["target"] == {"identifier": target, "exists": False, "state": None} and pre["preflight"]["problems"] == []

    prep = results["prep"]
    assert (prep["changed"], prep["status"], prep["restore_called"]) == (True, "prepared", True)
    assert {"MonitoringInterval", "EnablePerformanceInsights"} <= set(prep["settings_applied"])
    assert {key: prep["target"][key] for key in ("identifier", "exists", "status", "state", "port", "multi_az")} == {
        "identifier": target, "exists": True, "status": "available", "state": "prepared", "port": 5433, "multi_az": True}
    written = json.loads(base64.b64decode(results["progress"]["content"]))
    assert written == {"phase": "prepare", "finished": True, "done": 1, "total": 1}
    assert (results["prep2"]["changed"], results["prep2"]["restore_called"]) == (False, False)

    switch = results["cut"]["endpoint_switch"]
    assert (results["cut"]["changed"], switch["to_host"], switch["to_port"]) == (False, prep["target"]["endpoint"], 5433)
    assert switch["from_hosts"] == [stage.rds.describe_db_instances(DBInstanceIdentifier=source)["DBInstances"][0]["Endpoint"]["Address"]]
    strict = results["strict"]
    assert strict["failed"] and f"'{target}' is not reachable from here" in strict["msg"]
    assert strict["msg"].endswith("Running the same phase again continues from here.")
    ver = results["ver"]
    assert (ver["status"], ver["target"]["state"], ver["reachability"]["resolved"]) == ("verified", "verified", False)

    restored = stage.rds.describe_db_instances(DBInstanceIdentifier=target)["DBInstances"][0]
    assert instance_settings(restored) == stage.instance.settings and tags(restored)[TAG_STATE] == "verified"
    stage.assert_secret_hidden(output)


def test_aurora_cluster_restore_module_check_mode_readers_and_bad_input(stage: Stage) -> None:
    source = stage.cluster.identifier
    target = default_target(source, stage.point)
    before = (instance_ids(stage.rds), cluster_ids(stage.rds))

    def aurora(register: str, **args: Any) -> dict[str, Any]:
        args.setdefault("source_cluster", source)
        return task(CLUSTER_MODULE, register, **args)

    bad: dict[str, tuple[dict[str, Any], str]] = {
        "missing": ({"source_cluster": "nothing-here"}, "Aurora DB cluster 'nothing-here' not found in this region"),
        "instance": ({"source_cluster": stage.instance.identifier},
                     f"'{stage.instance.identifier}' is an RDS DB instance, not an Aurora DB cluster"),
        "too_early": ({"restore_point": (stage.point - _dt.timedelta(days=1)).isoformat()}, "is outside its restorable window"),
    }
    refused: dict[str, tuple[dict[str, Any], str]] = {
        "both": ({"restore_use_latest": True}, "give exactly one of restore_point and restore_use_latest=true"),
        "naive": ({"restore_point": stage.point.replace(tzinfo=None).isoformat()}, "has no time zone"),
    }
    results, output = stage.play([
        *[aurora(name, ignore_errors=True, phase="prepare", **dict(case[0])) for name, case in {**bad, **refused}.items()],
        aurora("plan", phase="prepare", check_mode=True),
        aurora("prep", phase="prepare", reader_count=1),
        aurora("cut", phase="cutover", reader_count=1),
        task(INSTANCE_MODULE, "as_instance", ignore_errors=True, phase="preflight", source_instance=source),
    ])
    for name, (_args, message) in {**bad, **refused}.items():
        result = results[name]
        assert result["failed"] and message in result["msg"] and result["changed"] is False, (name, result["msg"])
    for name in bad:
        assert results[name]["msg"].startswith("preflight found problems, nothing was changed: "), results[name]["msg"]
        assert any(bad[name][1] in problem for problem in results[name]["problems"]), name
    assert "restore it with restore_aurora.yml" in results["as_instance"]["msg"]

    plan = results["plan"]
    assert (plan["changed"], plan["status"]) == (True, "planned")
    assert [(step["step"], step["resource"]) for step in plan["steps"]] == [
        ("restore", target), ("create instance", f"{target}-1"), ("create instance", f"{target}-2"), ("create instance", f"{target}-3")]

    prep = results["prep"]
    assert (prep["changed"], prep["status"], prep["kind"]) == (True, "prepared", "cluster")
    assert [(member["identifier"], member["writer"]) for member in prep["target"]["members"]] == [(f"{target}-1", True), (f"{target}-2", False)]
    assert prep["target"]["reader_endpoint"] and prep["target"]["port"] == 5433
    cluster = stage.rds.describe_db_clusters(DBClusterIdentifier=target)["DBClusters"][0]
    assert cluster_settings(cluster) == stage.cluster.settings
    switch = results["cut"]["endpoint_switch"]
    assert (switch["to_host"], switch["to_port"]) == (cluster["Endpoint"], 5433) and len(switch["from_hosts"]) == 5

    after = (instance_ids(stage.rds), cluster_ids(stage.rds))
    assert after == (before[0] | {f"{target}-1", f"{target}-2"}, before[1] | {target}), "bad input or check mode created something"
    stage.assert_secret_hidden(output)
