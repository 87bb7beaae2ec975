"""The scalarops.pitr.dynamodb_restore module as a playbook calls it: the real ansible-playbook, boto3
against the AWS stand-in.  What it returns (changed, per-table results, the plan in check mode, the
message of a failure), what it writes (the progress file) and what it leaves in AWS.

The whole restore flow (workloads, reports) is tested in ``test_playbook_restore_dynamodb.py``; the
restore core's crash/resume matrix in ``test_dynamodb_restore*.py``.  These tests restore to a point
seconds old, which only the stand-in allows, so against a real AWS account they skip.
"""
from __future__ import annotations

import base64
import datetime as _dt
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.scalarops.pitr.plugins.module_utils.dynamodb_naming import restore_point_label, staging_name
from fixtures.common import require_standin, run_playbook
from standins.aws.faults import Fault
from standins.aws.inprocess import InProcessAws
from standins.aws.scalardb_tables import Deployment, create_deployment, put_items, versions
from standins.aws.target import AwsTarget

pytestmark = pytest.mark.standin_only

PREFIX = "m_"
ACCOUNTS, ORDERS = f"{PREFIX}sample.accounts", f"{PREFIX}sample.orders"
LAYOUT = {"sample": {"accounts": ["email"], "orders": []}}
JOURNAL = "scalarops-pitr-journal"
GOOD = {0: "good", 1: "good"}
STANDIN_ONLY = "a restore point seconds old (AWS's latest restorable time trails by about 5 minutes)"
PREPARE_STEPS = ["capture settings", "restore to staging", "back up staging", "delete staging"]
CUTOVER_STEPS = ["safety backup", "deletion protection off (if on)", "delete source", "restore from backup", "re-apply settings"]


class Stage:
    """A small deployment on one AWS target, a restore point after its items, and a way to run tasks."""

    def __init__(self, aws: AwsTarget, tool_env: dict[str, str], workdir: Path) -> None:
        self.aws, self.workdir = aws, workdir
        self.ddb = aws.client("dynamodb")
        self.secret = f"pitrSecret{uuid.uuid4().hex}"
        self.env = {**aws.env_for(tool_env), "AWS_SECRET_ACCESS_KEY": self.secret, "SCALAROPS_PITR_RETRY_BASE_DELAY": "0.01"}
        self.deployment: Deployment = create_deployment(self.ddb, aws.client("application-autoscaling"), prefix=PREFIX, layout=LAYOUT,
                                                        items=len(GOOD), version="good")
        time.sleep(0.05)  # the stand-in compares restore times with 1 ms of slack: keep clear of the writes
        self.point = _dt.datetime.now(_dt.timezone.utc)
        time.sleep(0.05)

    @property
    def iso(self) -> str:
        return self.point.isoformat(timespec="milliseconds")

    def play(self, tasks: list[dict[str, Any]], verbosity: int = 0) -> tuple[dict[str, Any], str]:
        """Run ``tasks`` (each may ``register``); return every registered result and the output."""
        defaults = {"region": self.aws.region, "namespace_prefix": PREFIX, "poll_interval": 0.2, "restore_point": self.iso}
        if self.aws.endpoint_url:
            defaults["endpoint_url"] = self.aws.endpoint_url
        names = [task["register"] for task in tasks if "register" in task]
        dump = {"ansible.builtin.copy": {"dest": str(self.workdir / "results.json"),
                                         "content": "{{ {" + ", ".join(f"'{name}': {name}" for name in names) + "} | to_json }}"}}
        play = [{"hosts": "localhost", "gather_facts": False, "module_defaults": {"scalarops.pitr.dynamodb_restore": defaults},
                 "tasks": [*tasks, dump]}]
        proc = run_playbook(yaml.safe_dump(play, sort_keys=False), self.workdir, self.env, verbosity=verbosity)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-5000:]
        return json.loads((self.workdir / "results.json").read_text(encoding="utf-8")), output

    def table_names(self) -> set[str]:
        return set(self.ddb.list_tables()["TableNames"])

    def backups(self) -> list[str]:
        return sorted(summary["BackupName"] for summary in self.ddb.list_backups(BackupType="USER")["BackupSummaries"])

    def damage(self) -> None:
        for table in self.deployment.user_tables:
            put_items(self.ddb, table, len(GOOD), "damaged")


def task(register: str, ignore_errors: bool = False, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": register, "scalarops.pitr.dynamodb_restore": args, "register": register}
    if ignore_errors:
        entry["ignore_errors"] = True
    if check_mode:
        entry["check_mode"] = True
    return entry


@pytest.fixture(name="stage")
def stage_fixture(aws: AwsTarget, tool_env: dict[str, str], tmp_path: Path) -> Stage:
    require_standin(aws.is_standin, STANDIN_ONLY)
    return Stage(aws, tool_env, tmp_path)


def test_each_phase_reports_what_it_changed_and_writes_its_progress(stage: Stage) -> None:
    stage.damage()
    progress = str(stage.workdir / "progress.json")
    results, output = stage.play([
        task("pre", phase="preflight"),
        # the keys given as options too (not only through the environment): the secret is no_log either way
        task("prep", phase="prepare", progress_file=progress, access_key="{{ lookup('ansible.builtin.env', 'AWS_ACCESS_KEY_ID') }}",
             secret_key="{{ lookup('ansible.builtin.env', 'AWS_SECRET_ACCESS_KEY') }}"),
        {"ansible.builtin.slurp": {"src": progress}, "register": "progress"},
        task("prep2", phase="prepare"),
        task("cut", phase="cutover"),
        task("cut2", phase="cutover"),
        task("ver", phase="verify"),
    ], verbosity=3)
    tables = stage.deployment.tables
    label = restore_point_label(stage.point)

    pre = results["pre"]
    assert (pre["changed"], pre["phase"], pre["restore_point_label"], pre["tables_failed"]) == (False, "preflight", label, 0)
    assert _dt.datetime.fromisoformat(pre["restore_point"]) == _dt.datetime.fromisoformat(stage.iso)
    assert [entry["source"] for entry in pre["tables"]] == tables
    for entry in pre["tables"]:
        expected = ("original", staging_name(entry["source"], stage.point), f"{entry['source']}-restore-{label}")
        assert (entry["state"], entry["staging"], entry["restore_backup"]) == expected
        window = entry["window"]
        assert _dt.datetime.fromisoformat(window["earliest"]) <= stage.point <= _dt.datetime.fromisoformat(window["latest"])

    prep = results["prep"]
    assert prep["changed"] is True and prep["tables_failed"] == 0 and {entry["status"] for entry in prep["tables"]} == {"ok"}
    assert {entry["source"]: entry["item_count"] for entry in prep["tables"] if entry["source"] in stage.deployment.user_tables} == {
        ACCOUNTS: 2, ORDERS: 2}, "the staging tables hold the point's items, not the damaged ones"
    written = json.loads(base64.b64decode(results["progress"]["content"]))
    assert written == {"phase": "prepare", "finished": True, "done": len(tables), "total": len(tables), "failed": 0}
    assert results["prep2"]["changed"] is False, "prepare again: everything is already done"
    assert results["cut"]["changed"] is True and results["cut2"]["changed"] is False
    ver = results["ver"]
    assert ver["changed"] is False and ver["problems"] == [] and ver["tables_failed"] == 0

    assert {table: versions(stage.ddb, table) for table in stage.deployment.user_tables} == {ACCOUNTS: GOOD, ORDERS: GOOD}
    assert stage.table_names() == set(tables) | {JOURNAL}
    assert stage.backups() == sorted(f"{table}-{kind}-{label}" for table in tables for kind in ("restore", "safety"))
    # -vvv shows every task's arguments and results; the secret key must not be among them.
    assert stage.secret not in output and stage.secret not in (stage.workdir / "results.json").read_text(encoding="utf-8")


def test_bad_input_names_the_problem_and_check_mode_plans_without_changing_anything(stage: Stage) -> None:
    stage.ddb.update_continuous_backups(TableName=ORDERS, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    foreign = {"AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
               "BillingMode": "PAY_PER_REQUEST"}
    squatter = staging_name(ACCOUNTS, stage.point)
    stage.ddb.create_table(TableName=squatter, **foreign)
    stage.ddb.create_table(TableName="r_sample.accounts", **foreign)
    before = (stage.table_names(), stage.backups(), {table: versions(stage.ddb, table) for table in stage.deployment.user_tables})
    earlier = (stage.point - _dt.timedelta(hours=1)).isoformat()
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "both": ({"restore_use_latest": True}, "give exactly one of restore_point and restore_use_latest=true"),
        "neither": ({"restore_point": ""}, "give exactly one of restore_point and restore_use_latest=true"),
        "naive": ({"restore_point": stage.point.replace(tzinfo=None).isoformat()}, "has no time zone"),
        "concurrency": ({"concurrency": 0}, "concurrency must be between 1 and 50"),
        "no_target": ({"mode": "new_prefix"}, "mode new_prefix needs target_prefix"),
        "same_prefix": ({"mode": "new_prefix", "target_prefix": PREFIX}, f"target_prefix '{PREFIX}' is the prefix in use"),
        "pitr_off": ({"tables": [ORDERS]}, f"table {ORDERS} has point-in-time recovery off"),
        "deployment": ({}, f"table {ORDERS} has point-in-time recovery off"),  # found through the deployment's metadata
        "missing": ({"tables": [f"{PREFIX}sample.nothing"]}, f"table {PREFIX}sample.nothing does not exist"),
        "window": ({"tables": [ACCOUNTS], "restore_point": earlier}, f"table {ACCOUNTS}: restore point"),
        "staging_taken": ({"tables": [ACCOUNTS]}, f"table {squatter} (the staging table of {ACCOUNTS}) already exists and was not restored"),
        "target_taken": ({"tables": [ACCOUNTS], "mode": "new_prefix", "target_prefix": "r_"},
                         f"table r_sample.accounts already exists and was not restored from {ACCOUNTS} by this restore"),
    }
    plan_tables = [f"{PREFIX}scalardb.metadata", f"{PREFIX}coordinator.state"]
    results, _output = stage.play([
        *[task(name, ignore_errors=True, phase="prepare", **args) for name, (args, _message) in cases.items()],
        task("plan_prepare", check_mode=True, phase="prepare", tables=plan_tables),
        task("plan_cutover", check_mode=True, phase="cutover", tables=plan_tables),
        task("plan_new_prefix", check_mode=True, phase="prepare", tables=plan_tables, mode="new_prefix", target_prefix="n_"),
        {"name": "watch", "scalarops.pitr.job_watch": {"jid": "123456789.0", "poll": 0.2}, "register": "watch", "ignore_errors": True},
    ])
    for name, (_args, message) in cases.items():
        result = results[name]
        assert result["failed"] and message in result["msg"], (name, result["msg"])
        assert result["changed"] is False, name
    assert "is outside its restorable window" in results["window"]["msg"]
    for name in ("pitr_off", "missing", "window", "staging_taken", "target_taken", "deployment"):
        assert results[name]["msg"].startswith("preflight found problems, nothing was changed: "), results[name]["msg"]
        assert results[name]["problems"], name

    for name, steps in (("plan_prepare", PREPARE_STEPS), ("plan_cutover", CUTOVER_STEPS)):
        plan = results[name]
        assert not plan.get("failed") and plan["changed"] is True, (name, plan.get("msg"))  # it would change them
        assert [(entry["source"], entry["planned_steps"]) for entry in plan["tables"]] == [(table, steps) for table in sorted(plan_tables)]
    renamed = [entry["target"] for entry in results["plan_new_prefix"]["tables"]]
    assert renamed == ["n_coordinator.state", "n_scalardb.metadata"]
    assert results["watch"]["failed"] and results["watch"]["msg"], "job_watch fails when the job is unknown"

    after = (stage.table_names(), stage.backups(), {table: versions(stage.ddb, table) for table in stage.deployment.user_tables})
    assert after == before, "bad input and check mode changed something"
    assert JOURNAL not in after[0]


def test_a_failed_table_fails_the_task_after_the_others_finished_and_wait_false_returns_early(
        aws_inproc: Callable[..., InProcessAws], tool_env: dict[str, str], tmp_path: Path) -> None:
    inst = aws_inproc(restore_seconds=1.5)
    stage = Stage(inst.target, tool_env, tmp_path)
    inst.add_fault(Fault("RestoreTableToPointInTime", code="ValidationException", message="injected refusal", times=1,
                         match={"TargetTableName": staging_name(ACCOUNTS, stage.point)}))
    progress = str(tmp_path / "progress.json")
    results, _output = stage.play([
        task("failed", ignore_errors=True, phase="prepare", progress_file=progress),
        {"ansible.builtin.slurp": {"src": progress}, "register": "progress"},
        task("started", phase="prepare", wait=False),
        task("finished", phase="prepare"),
    ])
    failed = results["failed"]
    assert failed["failed"] and failed["tables_failed"] == 1, failed["msg"]
    count = len(stage.deployment.tables)
    assert failed["msg"].startswith(f"prepare: 1 of {count} tables failed: {ACCOUNTS}: ") and "injected refusal" in failed["msg"]
    assert failed["msg"].endswith("Nothing was lost: fix the cause and run again to continue.")
    expected = {table: "failed" if table == ACCOUNTS else "ok" for table in stage.deployment.tables}
    assert {entry["source"]: entry["status"] for entry in failed["tables"]} == expected
    written = json.loads(base64.b64decode(results["progress"]["content"]))
    assert (written["finished"], written["failed"], written["total"]) == (True, 1, count)

    started = results["started"]
    assert not started.get("failed") and started["changed"] is True
    assert started["tables_in_progress"] == 1, "the one table left starts its restore and is reported in progress"
    (waiting,) = [entry for entry in started["tables"] if entry["status"] == "in_progress"]
    assert waiting["source"] == ACCOUNTS and waiting["waiting_for"]
    finished = results["finished"]
    assert finished["tables_in_progress"] == 0 and finished["tables_failed"] == 0
    assert [entry["source"] for entry in finished["tables"] if any(s["status"] == "ok" for s in entry["steps"] if s["step"] == "back up staging")] == [ACCOUNTS]
    assert len(stage.backups()) == count and not [name for name in stage.table_names() if name.startswith(f"{ACCOUNTS}-pitr-")]
