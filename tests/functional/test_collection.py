"""The collection as users get it: the built tarball's contents and ansible-doc for every module."""
from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from fixtures.common import REPO_ROOT, VENV_BIN

MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")

# What must never be shipped: environments, test output, tooling and the stand-ins' state.
FORBIDDEN_PREFIXES = (".venv/", ".build/", ".git/", ".ci/", "tests/output/", "tools/", "bench/", ".pytest_cache/", "restore-reports/")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory, tool_env: dict[str, str]) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO_ROOT)],
        env=tool_env, check=True, capture_output=True, text=True,
    )
    (built,) = out.glob("scalarops-pitr-*.tar.gz")
    return built


def test_tarball_holds_the_collection_and_nothing_else(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
    assert manifest["collection_info"]["namespace"] == "scalarops"
    assert manifest["collection_info"]["name"] == "pitr"
    assert manifest["collection_info"]["dependencies"].get("kubernetes.core")
    for required in ("meta/runtime.yml", "README.md", "LICENSE", "plugins/module_utils/restore_point.py"):
        assert required in names
    shipped_junk = [n for n in names if n.startswith(FORBIDDEN_PREFIXES) or "__pycache__" in n or n.endswith(".pyc")]
    assert not shipped_junk, shipped_junk


@pytest.mark.parametrize("module", MODULES)
def test_module_documentation_renders(module: str, tool_env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "--json", f"scalarops.pitr.{module}"],
        env=tool_env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)[f"scalarops.pitr.{module}"]
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"]
