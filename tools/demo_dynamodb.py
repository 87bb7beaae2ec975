"""The demo: restore a ScalarDB-on-DynamoDB deployment with playbooks/restore_dynamodb.yml, for real, locally.

    make demo                       # bootstrap, then this script
    PYTHONPATH=tests .venv/bin/python tools/demo_dynamodb.py [--mode in_place|new_prefix] [--keep]

1. starts the local stand-ins (moto over HTTP for AWS, the Kubernetes API emulator) in .build/demo;
2. creates a small ScalarDB deployment on DynamoDB - metadata, namespaces and coordinator tables and
   two namespaces of tables with items - and installs a ScalarDL Ledger release pointing at it;
3. notes the restore point, then "damages" the data (overwrites every item, deletes one);
4. runs ``ansible-playbook playbooks/restore_dynamodb.yml`` against the stand-ins, exactly as an
   operator would against AWS and a cluster (only the endpoints differ);
5. shows the items before and after, and the report the playbook wrote.
The stand-ins are stopped at the end unless --keep is given.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# pylint: disable=wrong-import-position  # the stand-ins live under tests/
import boto3  # noqa: E402

from standins.__main__ import start, stop  # noqa: E402
from standins.aws.scalardb_tables import create_deployment, put_items, versions  # noqa: E402
from standins.charts import chart_path  # noqa: E402

BIN = ROOT / ".venv" / "bin"
WORKDIR = ROOT / ".build" / "demo"
NAMESPACE = "scalar"
PREFIX = "demo_"


def _say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def _env(state: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(json.loads((state / "env.json").read_text(encoding="utf-8")))
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".build" / "collections")
    env.setdefault("ANSIBLE_LOCALHOST_WARNING", "false")
    env.setdefault("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
    env.setdefault("SCALAROPS_PITR_RETRY_BASE_DELAY", "0.2")
    return env


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run(list(args), env=env, check=True, input=stdin, text=True)


def _install_ledger(env: dict[str, str]) -> None:
    properties = "\n".join([
        "scalar.db.storage=dynamo",
        "scalar.db.contact_points=us-east-1",
        f"scalar.db.dynamo.endpoint_override={env.get('AWS_ENDPOINT_URL', '')}",
        f"scalar.db.dynamo.namespace.prefix={PREFIX}",
        "scalar.db.username=${env:SCALAR_DL_LEDGER_DYNAMO_ACCESS_KEY_ID}",
        "scalar.db.password=${env:SCALAR_DL_LEDGER_DYNAMO_SECRET_ACCESS_KEY}",
    ])
    values = {"ledger": {"replicaCount": 2, "ledgerProperties": properties, "podAnnotations": {"standins.scalarops.io/pods": "true"}}}
    _run(env, str(BIN / "kubectl"), "create", "namespace", NAMESPACE)
    _run(env, str(BIN / "helm"), "install", "ledger", str(chart_path("scalardl")), "-n", NAMESPACE, "--wait", "-f", "-", stdin=json.dumps(values))


def _show_items(ddb: object, tables: list[str], title: str) -> None:
    print(title)
    for table in tables:
        print(f"  {table:32} {versions(ddb, table)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["in_place", "new_prefix"], default="in_place")
    parser.add_argument("--keep", action="store_true", help="leave the stand-ins running (stop: python -m standins stop --state-dir ...)")
    args = parser.parse_args()
    state = WORKDIR / "standins"
    stop(state)  # a previous --keep run
    WORKDIR.mkdir(parents=True, exist_ok=True)
    _say("Starting the local stand-ins (AWS: moto over HTTP; Kubernetes: API emulator for helm/kubectl)")
    endpoints = start(state, ["kube", "aws"])
    try:
        env = _env(state)
        os.environ.update({key: value for key, value in env.items() if key.startswith("AWS_")})  # boto3 below: the stand-in's dummy keys
        ddb = boto3.client("dynamodb", region_name=endpoints["aws"]["region"], endpoint_url=endpoints["aws"]["url"])
        scaling = boto3.client("application-autoscaling", region_name=endpoints["aws"]["region"], endpoint_url=endpoints["aws"]["url"])
        _say(f"Creating a ScalarDB deployment on DynamoDB (prefix {PREFIX!r}) and a ScalarDL Ledger release")
        deployment = create_deployment(ddb, scaling, prefix=PREFIX, items=3, version="good")
        print("tables:", ", ".join(deployment.tables))
        _install_ledger(env)
        time.sleep(1.0)
        restore_point = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        time.sleep(1.0)
        _say(f"Restore point {restore_point}; now damaging the data (every item overwritten, item 0 deleted)")
        for table in deployment.user_tables:
            put_items(ddb, table, 3, "damaged")
            ddb.delete_item(TableName=table, Key={"concatenatedPartitionKey": {"B": f"{table}/0".encode()}, "concatenatedClusteringKey": {"B": b"0"}})
        _show_items(ddb, deployment.user_tables, "items now:")
        target_prefix = "demo_r_" if args.mode == "new_prefix" else ""
        extra = {
            "restore_point": restore_point, "aws_region": endpoints["aws"]["region"], "aws_endpoint_url": endpoints["aws"]["url"],
            "dynamodb_namespace_prefix": PREFIX, "dynamodb_restore_mode": args.mode, "dynamodb_target_prefix": target_prefix,
            "scalar_releases": [{"name": "ledger", "namespace": NAMESPACE, "product": "ledger", "chart_ref": str(chart_path("scalardl"))}],
            "restore_report_dir": str(WORKDIR / "reports"),
        }
        _say(f"ansible-playbook playbooks/restore_dynamodb.yml (mode {args.mode})")
        _run(env, str(BIN / "ansible-playbook"), str(ROOT / "playbooks" / "restore_dynamodb.yml"), "-e", json.dumps(extra))
        restored = [target_prefix + table[len(PREFIX):] for table in deployment.user_tables] if target_prefix else deployment.user_tables
        _show_items(ddb, restored, "items after the restore (every item 'good' again, item 0 back):")
        report = sorted((WORKDIR / "reports").glob("restore-dynamodb-*.txt"))[-1]
        _say(f"The report: {report} (and {report.with_suffix('.json').name})")
        print(report.read_text(encoding="utf-8"))
    finally:
        if args.keep:
            print(f"\nstand-ins left running; environment: {state / 'env.sh'}; stop: PYTHONPATH=tests .venv/bin/python -m standins stop --state-dir {state}")
        else:
            stop(state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
