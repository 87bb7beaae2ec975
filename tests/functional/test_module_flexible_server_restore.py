"""The scalarops.pitr.flexible_server_restore module as a playbook calls it: the real ansible-playbook,
the Azure SDKs against the ARM stand-in.

What it returns (changed, status, the plan, the target, steps, the endpoint switch, reachability),
what it writes (the progress file), the messages of bad input and of a failed restore, check mode,
the ``azure`` action group, both credential paths (DefaultAzureCredential through the managed
identity of ``azure.env``; a service principal whose secret never shows, not even with -vvv).
The restore core's resume/bad-input matrix is in ``test_flexible_server_restore.py``.
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

from ansible_collections.scalarops.pitr.plugins.module_utils.azure_naming import TAG_STATE, default_target
from fixtures.common import require_standin, run_playbook
from standins.azure.target import AzureTarget

pytestmark = pytest.mark.standin_only

STANDIN_ONLY = "seeded sources with restore points minutes old and fault injection"
MODULE = "scalarops.pitr.flexible_server_restore"
RESULT_KEYS = {"changed", "would_change", "phase", "engine", "sdk", "source", "restore_point", "preflight", "target", "restore_called",
               "steps", "status"}
SOURCE = "scalardb-db"


class Stage:
    """Seeded MySQL and PostgreSQL sources, a restore point after their creation, and a way to run tasks."""

    def __init__(self, azure: AzureTarget, tool_env: dict[str, str], workdir: Path) -> None:
        assert azure.admin is not None and azure.ca_bundle
        self.azure, self.admin, self.workdir = azure, azure.admin, workdir
        self.secret = f"pitrSecret{uuid.uuid4().hex}"
        self.env = {**azure.env_for(tool_env), "SCALAROPS_PITR_RETRY_BASE_DELAY": "0.01", "PITR_TEST_SP_SECRET": self.secret}
        now = _dt.datetime.now(_dt.timezone.utc)
        self.mysql = self.admin.seed_mysql_server(azure.resource_group, SOURCE, creation_time=now - _dt.timedelta(days=2),
                                                  tags={"team": "payments"})
        self.postgresql = self.admin.seed_postgresql_server(azure.resource_group, "scalardl-db", creation_time=now - _dt.timedelta(days=2))
        self.point = (now - _dt.timedelta(hours=1)).replace(microsecond=0)

    @property
    def iso(self) -> str:
        return self.point.isoformat()

    def play(self, tasks: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
        """Run ``tasks`` (each may ``register``) with -vvv; return every registered result and the whole output."""
        group = {"resource_group": self.azure.resource_group, "arm_endpoint": self.azure.base_url, "ca_bundle": self.azure.ca_bundle,
                 "poll_interval": 0.05}
        defaults = {"wait_timeout": 60, "restore_point": self.iso}
        names = [entry["register"] for entry in tasks if "register" in entry]
        dump = {"ansible.builtin.copy": {"dest": str(self.workdir / "results.json"),
                                         "content": "{{ {" + ", ".join(f"'{name}': {name}" for name in names) + "} | to_json }}"}}
        play = [{"hosts": "localhost", "gather_facts": False,
                 "module_defaults": {"group/scalarops.pitr.azure": group, MODULE: defaults}, "tasks": [*tasks, dump]}]
        proc = run_playbook(yaml.safe_dump(play, sort_keys=False), self.workdir, self.env, verbosity=3)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-5000:]
        return json.loads((self.workdir / "results.json").read_text(encoding="utf-8")), output

    def assert_secret_hidden(self, output: str) -> None:
        assert self.secret not in output, "the service principal's secret appeared in ansible's output"
        assert self.secret not in (self.workdir / "results.json").read_text(encoding="utf-8")


def task(register: str, ignore_errors: bool = False, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": register, MODULE: args, "register": register}
    if ignore_errors:
        entry["ignore_errors"] = True
    if check_mode:
        entry["check_mode"] = True
    return entry


@pytest.fixture(name="stage")
def stage_fixture(azure: AzureTarget, tool_env: dict[str, str], tmp_path: Path) -> Stage:
    require_standin(azure.is_standin, STANDIN_ONLY)
    return Stage(azure, tool_env, tmp_path)


def test_module_runs_every_phase_and_reports_it(stage: Stage) -> None:
    target = default_target(SOURCE, stage.point, 63)
    progress = str(stage.workdir / "progress.json")
    service_principal = {"client_id": str(uuid.uuid4()), "tenant": str(uuid.uuid4()), "authority": stage.azure.base_url,
                         "secret": "{{ lookup('ansible.builtin.env', 'PITR_TEST_SP_SECRET') }}"}

    def mysql(register: str, **args: Any) -> dict[str, Any]:
        return task(register, engine="mysql", source_server=SOURCE, **args)

    results, output = stage.play([
        mysql("pre", phase="preflight"),
        # a service principal for this one (the others use DefaultAzureCredential): its secret is no_log
        mysql("prep", phase="prepare", progress_file=progress, sdk="standalone", **service_principal),
        {"ansible.builtin.slurp": {"src": progress}, "register": "progress"},
        mysql("prep2", phase="prepare", sdk="rdbms"),
        mysql("cut", phase="cutover"),
        mysql("strict", phase="verify", require_reachable=True, ignore_errors=True),
        mysql("ver", phase="verify"),
    ])

    pre = results["pre"]
    assert RESULT_KEYS <= set(pre) and (pre["changed"], pre["would_change"], pre["status"]) == (False, True, "checked")
    assert (pre["phase"], pre["engine"], pre["source"]) == ("preflight", "mysql", SOURCE)
    assert _dt.datetime.fromisoformat(pre["restore_point"]) == stage.point
    assert pre["preflight"]["target"] == {"identifier": target, "exists": False, "state": None} and pre["preflight"]["problems"] == []
    source_fqdn = stage.mysql["fully_qualified_domain_name"]
    assert pre["endpoint_switch"] == {"from_hosts": [source_fqdn], "source": f"Azure Database for MySQL flexible server {SOURCE}"}

    prep = results["prep"]
    assert (prep["changed"], prep["status"], prep["restore_called"], prep["sdk"]) == (True, "prepared", True, "standalone")
    assert {key: prep["target"][key] for key in ("identifier", "exists", "status", "state", "port")} == {
        "identifier": target, "exists": True, "status": "Ready", "state": "prepared", "port": 3306}
    written = json.loads(base64.b64decode(results["progress"]["content"]))
    assert written == {"phase": "prepare", "finished": True, "done": 1, "total": 1}
    assert (results["prep2"]["changed"], results["prep2"]["restore_called"], results["prep2"]["sdk"]) == (False, False, "rdbms")

    switch = results["cut"]["endpoint_switch"]
    assert results["cut"]["changed"] is False
    assert switch == {"from_hosts": [source_fqdn], "to_host": prep["target"]["fqdn"], "to_port": 3306,
                      "source": f"Azure Database for MySQL flexible server {SOURCE}"}
    strict = results["strict"]
    assert strict["failed"] and f"'{target}' is not reachable from here" in strict["msg"]
    assert strict["msg"].endswith("Running the same phase again continues from here.")
    ver = results["ver"]
    assert (ver["status"], ver["target"]["state"], ver["reachability"]["resolved"]) == ("verified", "verified", False)

    restored = stage.azure.rdbms_mysql().servers.get(stage.azure.resource_group, target)
    assert (restored.state, restored.tags["team"], restored.tags[TAG_STATE]) == ("Ready", "payments", "verified")
    token_requests = [entry for entry in stage.admin.requests() if entry["path"].endswith("/oauth2/v2.0/token")]
    assert token_requests, "the service principal was not used"
    stage.assert_secret_hidden(output)


def test_module_refuses_bad_input_reports_a_failed_restore_and_supports_check_mode(stage: Stage) -> None:
    source = "scalardl-db"
    target = default_target(source, stage.point, 63)
    stage.admin.fail("postgresql", "restore", code="ServerProvisioningCapacityError", message="No capacity in eastus.")

    def pg(register: str, **args: Any) -> dict[str, Any]:
        args.setdefault("source_server", source)
        return task(register, engine="postgresql", **args)

    bad: dict[str, tuple[dict[str, Any], str]] = {
        "missing": ({"source_server": "nothing-here"}, "Azure Database for PostgreSQL flexible server 'nothing-here' not found"),
        "mysql": ({"source_server": SOURCE}, f"'{SOURCE}' is an Azure Database for MySQL flexible server, not an Azure Database for "
                                             "PostgreSQL flexible server: give engine mysql"),
        "too_early": ({"restore_point": (stage.point - _dt.timedelta(days=3)).isoformat()}, "is outside the restorable window"),
        "bad_target": ({"target_server": "-bad-"}, "is not a valid Azure name"),
    }
    refused: dict[str, tuple[dict[str, Any], str]] = {
        "both": ({"restore_use_latest": True}, "give exactly one of restore_point and restore_use_latest=true"),
        "naive": ({"restore_point": stage.point.replace(tzinfo=None).isoformat()}, "has no time zone"),
    }
    results = stage.play([
        *[pg(name, ignore_errors=True, phase="prepare", **dict(case[0])) for name, case in {**bad, **refused}.items()],
        pg("plan", phase="prepare", check_mode=True, sdk="rdbms"),
        pg("failed", phase="prepare", ignore_errors=True),
        pg("prep", phase="prepare"),
        pg("cut", phase="cutover"),
    ])[0]
    for name, (_args, message) in {**bad, **refused}.items():
        result = results[name]
        assert result["failed"] and message in result["msg"] and result["changed"] is False, (name, result["msg"])
    for name in bad:
        assert results[name]["msg"].startswith("preflight found problems, nothing was changed: "), results[name]["msg"]
        assert any(bad[name][1] in problem for problem in results[name]["problems"]), name

    plan = results["plan"]
    assert (plan["changed"], plan["status"], plan["sdk"]) == (True, "planned", "rdbms")
    assert [(step["step"], step["resource"]) for step in plan["steps"]] == [("restore", target)]

    failed = results["failed"]
    assert failed["failed"] and "ServerProvisioningCapacityError: No capacity in eastus." in failed["msg"], failed["msg"]
    assert failed["msg"].endswith("Running the same phase again continues from here.")

    prep = results["prep"]
    assert (prep["changed"], prep["status"], prep["restore_called"]) == (True, "prepared", True)
    switch = results["cut"]["endpoint_switch"]
    source_fqdn = stage.postgresql["fully_qualified_domain_name"]
    assert (switch["from_hosts"], switch["to_host"], switch["to_port"]) == ([source_fqdn], prep["target"]["fqdn"], 5432)
    servers = {server.name for server in stage.azure.rdbms_postgresql().servers.list_by_resource_group(stage.azure.resource_group)}
    assert servers == {source, target}, "bad input or check mode created something"
