"""The scalarops.pitr.cosmosdb_account_restore module as a playbook calls it: the real ansible-playbook,
azure-identity and azure-mgmt-cosmosdb against the Azure Resource Manager stand-in.

What it returns (changed, status, the plan, the target, steps, the properties to switch to),
what it writes (the progress file), the messages of bad input and of a failed restore, check mode,
and that the account key shows nowhere but in the cutover's registered result and a service
principal's secret nowhere at all, not even with -vvv.  The restore core's resume/bad-input matrix
is in ``test_cosmosdb_restore.py``.
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

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import COSMOS_MAX, TAG_STATE, default_target
from ansible_collections.scalarops.pitr.plugins.module_utils.restore_point import to_iso
from fixtures.common import require_standin, run_playbook
from standins.azure.target import AzureTarget

pytestmark = pytest.mark.standin_only

MODULE = "scalarops.pitr.cosmosdb_account_restore"
LOCATION = "westus"
SOURCE = "scalar-src"
RESULT_KEYS = {"changed", "would_change", "phase", "source", "restore_point", "preflight", "target", "restore_called", "steps", "status"}


def ago(**delta: float) -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(**delta)


class Stage:
    """A source account with two databases and a tag, a restore point an hour back, and a way to run tasks."""

    def __init__(self, azure: AzureTarget, tool_env: dict[str, str], workdir: Path) -> None:
        require_standin(azure.is_standin, "seeded source accounts with chosen restore windows")
        assert azure.admin is not None
        self.azure, self.admin, self.workdir = azure, azure.admin, workdir
        self.cosmos = azure.cosmosdb()
        self.env = {**azure.env_for(tool_env), "SCALAROPS_PITR_RETRY_BASE_DELAY": "0.01"}
        self.seeded = self.admin.seed_cosmos_account(
            azure.resource_group, SOURCE, location=LOCATION, creation_time=ago(days=2), tags={"team": "payments"},
            databases={"scalardb": {"containers": {"tx_state": {"stored_procedures": ["mutate.js"]}}}, "coordinator": {}})
        self.point = ago(hours=1)
        self.target = default_target(SOURCE, self.point, COSMOS_MAX)

    def play(self, tasks: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
        """Run ``tasks`` (each may ``register``) with -vvv; return every registered result and the whole output."""
        defaults = {"resource_group": self.azure.resource_group, "arm_endpoint": self.azure.base_url, "ca_bundle": self.azure.ca_bundle,
                    "poll_interval": 0.1, "wait_timeout": 60, "source_account": SOURCE, "restore_point": self.point.isoformat()}
        names = [entry["register"] for entry in tasks if "register" in entry]
        dump = {"ansible.builtin.copy": {"dest": str(self.workdir / "results.json"),
                                         "content": "{{ {" + ", ".join(f"'{name}': {name}" for name in names) + "} | to_json }}"}}
        play = [{"hosts": "localhost", "gather_facts": False, "module_defaults": {"group/scalarops.pitr.azure": defaults},
                 "tasks": [*tasks, dump]}]
        proc = run_playbook(yaml.safe_dump(play, sort_keys=False), self.workdir, self.env, verbosity=3)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-5000:]
        return json.loads((self.workdir / "results.json").read_text(encoding="utf-8")), output

    def account(self, name: str) -> Any:
        return self.cosmos.database_accounts.get(self.azure.resource_group, name)

    def names(self) -> set[str]:
        return {account.name for account in self.cosmos.database_accounts.list_by_resource_group(self.azure.resource_group)}


def task(register: str, ignore_errors: bool = False, check_mode: bool = False, no_log: bool = False, **args: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": register, MODULE: args, "register": register}
    for key, value in (("ignore_errors", ignore_errors), ("check_mode", check_mode), ("no_log", no_log)):
        if value:
            entry[key] = True
    return entry


@pytest.fixture(name="stage")
def stage_fixture(azure: AzureTarget, tool_env: dict[str, str], tmp_path: Path) -> Stage:
    return Stage(azure, tool_env, tmp_path)


def test_module_runs_every_phase_and_the_key_shows_only_in_the_cutover_result(stage: Stage) -> None:
    progress = str(stage.workdir / "progress.json")
    secret = f"pitrSecret{uuid.uuid4().hex}"
    service_principal = {"client_id": "pitr-client", "tenant": "pitr-tenant", "secret": secret, "authority": stage.azure.base_url}
    # Throttled once: azure-core's retry policy (full jitter, as azure_client configures it) sends the restore again.
    stage.admin.fail(provider="cosmosdb", operation="restore", phase="initial", status=429, code="TooManyRequests",
                     message="Request rate is large.")

    results, output = stage.play([
        task("pre", phase="preflight", **service_principal),
        task("plan", phase="prepare", check_mode=True),
        task("prep", phase="prepare", progress_file=progress),
        {"ansible.builtin.slurp": {"src": progress}, "register": "progress"},
        task("prep2", phase="prepare"),
        task("cut", phase="cutover", no_log=True),
        task("ver", phase="verify"),
    ])

    pre = results["pre"]
    assert RESULT_KEYS <= set(pre) and (pre["changed"], pre["would_change"], pre["status"]) == (False, True, "checked")
    assert (pre["source"], pre["restore_point"]) == (SOURCE, to_iso(stage.point))
    assert pre["preflight"]["target"]["identifier"] == stage.target and pre["preflight"]["problems"] == []
    assert pre["preflight"]["source"]["instance_id"] == stage.seeded["instance_id"]

    plan = results["plan"]
    assert (plan["changed"], plan["status"]) == (True, "planned")
    assert [(step["step"], step["planned"]) for step in plan["steps"]] == [("restore", True), ("set consistency", True)]

    prep = results["prep"]
    assert (prep["changed"], prep["status"], prep["restore_called"]) == (True, "prepared", True)
    assert {key: prep["target"][key] for key in ("identifier", "exists", "status", "state", "consistency")} == {
        "identifier": stage.target, "exists": True, "status": "Succeeded", "state": "prepared", "consistency": "Strong"}
    written = json.loads(base64.b64decode(results["progress"]["content"]))
    assert written == {"phase": "prepare", "finished": True, "done": 1, "total": 1}
    assert (results["prep2"]["changed"], results["prep2"]["restore_called"]) == (False, False)
    puts = [entry["status"] for entry in stage.admin.requests() if entry["method"] == "PUT" and entry["path"].endswith(f"/{stage.target}")]
    assert puts == [429, 200] and len(stage.admin.operations("cosmosdb", "restore")) == 1

    restored = stage.account(stage.target)
    key = stage.cosmos.database_accounts.list_keys(stage.azure.resource_group, stage.target).primary_master_key
    cut = results["cut"]
    assert (cut["changed"], cut["status"]) == (False, "switch")
    assert cut["properties"] == {"scalar.db.contact_points": restored.document_endpoint}
    assert cut["secret_properties"] == {"scalar.db.password": key}

    ver = results["ver"]
    assert (ver["changed"], ver["status"], ver["databases"]) == (True, "verified", ["coordinator", "scalardb"])
    assert restored.tags["team"] == "payments" and stage.account(stage.target).tags[TAG_STATE] == "verified"
    assert stage.account(stage.target).consistency_policy.default_consistency_level == "Strong"

    assert key not in output, "the account key appeared in ansible's output"
    cut.pop("secret_properties")
    assert key not in json.dumps(results), "the account key appeared in a result other than the cutover's secret_properties"
    assert any(entry["path"] == "/pitr-tenant/oauth2/v2.0/token" for entry in stage.admin.requests()), "the service principal was not used"
    assert secret not in output and secret not in json.dumps(results), "the service principal's secret appeared"


def test_module_refuses_bad_input_and_reports_a_failed_restore_with_azures_reason(stage: Stage) -> None:
    stage.admin.seed_cosmos_account(stage.azure.resource_group, "someone-elses", location=LOCATION)
    stage.admin.fail(provider="cosmosdb", operation="restore", name="*", code="RestoreSourceUnavailable",
                     message="The continuous backup of the source is not available right now.")
    before = stage.names()
    preflight_failures = {
        "too_early": ({"restore_point": ago(days=3).isoformat()}, "is before its oldest restorable time"),
        "future": ({"restore_point": ago(hours=-1).isoformat()}, "is in the future"),
        "taken": ({"target_account": "someone-elses"}, "Cosmos DB account 'someone-elses' already exists and was not created by"),
        "missing": ({"source_account": "ghost-src"}, "no Cosmos DB account named 'ghost-src'"),
    }
    refused = {
        "both": ({"restore_use_latest": True}, "give exactly one of restore_point and restore_use_latest=true"),
        "naive": ({"restore_point": ago(hours=1).replace(tzinfo=None).isoformat()}, "has no time zone"),
    }
    results, output = stage.play([
        *[task(name, ignore_errors=True, phase="prepare", **case[0]) for name, case in {**preflight_failures, **refused}.items()],
        task("failed", ignore_errors=True, phase="prepare"),
        task("rerun", ignore_errors=True, phase="preflight"),
    ])

    for name, (_args, message) in {**preflight_failures, **refused}.items():
        result = results[name]
        assert result["failed"] and message in result["msg"] and result["changed"] is False, (name, result["msg"])
    for name in preflight_failures:
        assert results[name]["msg"].startswith("preflight found problems, nothing was changed: "), results[name]["msg"]
        assert any(preflight_failures[name][1] in problem for problem in results[name]["problems"]), name

    failed = results["failed"]
    assert failed["failed"] and failed["changed"] is True
    assert "RestoreSourceUnavailable: The continuous backup of the source is not available right now." in failed["msg"]
    assert f"Cosmos DB account '{stage.target}' failed" in failed["msg"] and "delete it" in failed["msg"]
    assert "failed earlier" in results["rerun"]["msg"]
    assert stage.names() == before | {stage.target}, "bad input created something"
    assert "primaryMasterKey" not in output
