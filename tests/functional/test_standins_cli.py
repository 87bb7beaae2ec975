"""`python -m standins start|stop` as Molecule and the demo use it: real processes, real clients."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3

from fixtures.common import REPO_ROOT, VENV_BIN


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "tests"))
    return subprocess.run([sys.executable, "-m", "standins", *args], env=env, capture_output=True, text=True, timeout=120, check=True)


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def test_start_serves_every_standin_and_stop_ends_their_processes(tmp_path: Path) -> None:
    state = tmp_path / "standins"
    endpoints = json.loads(_cli("start", "--state-dir", str(state)).stdout)
    try:
        assert sorted(endpoints) == ["aws", "azure", "kube"]
        assert json.loads((state / "endpoints.json").read_text()) == endpoints
        env = json.loads((state / "env.json").read_text())
        assert all(url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")) for url in (e["url"] for e in endpoints.values()))
        assert all(_alive(e["pid"]) for e in endpoints.values())

        # The exported variables alone are enough for the real clients.
        tool_env = dict(os.environ, **env, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
        kubectl = subprocess.run(["kubectl", "get", "namespaces", "-o", "name"], env=tool_env, capture_output=True, text=True, check=True)
        assert "namespace/default" in kubectl.stdout.split()
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="cli-check")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["cli-check"]
        assert (state / "env.sh").read_text().count("export ") == len(env)
    finally:
        stopped = json.loads(_cli("stop", "--state-dir", str(state)).stdout)["stopped"]
    assert sorted(stopped) == ["aws", "azure", "kube"]
    assert not any(_alive(e["pid"]) for e in endpoints.values())
    assert not list(state.glob("*.pid"))
    assert json.loads(_cli("stop", "--state-dir", str(state)).stdout)["stopped"] == []  # stopping twice is harmless


def test_start_refuses_an_unknown_standin(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "tests"))
    result = subprocess.run([sys.executable, "-m", "standins", "start", "--state-dir", str(tmp_path), "--only", "kube,gcp"],
                            env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "unknown stand-in(s): gcp" in result.stderr
    assert not list(tmp_path.glob("*.pid"))
