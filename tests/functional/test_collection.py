"""The collection as users get it: the built tarball's contents and ansible-doc for every module, role and filter."""
from __future__ import annotations

import ast
import json
import re
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


def _role_names() -> list[str]:
    """Every role of the collection (a directory under roles/ with tasks)."""
    return sorted(path.name for path in (REPO_ROOT / "roles").iterdir() if (path / "tasks").is_dir())


def _filter_names() -> list[str]:
    """Every filter a FilterModule of plugins/filter defines (read from the source, so nothing is imported)."""
    names: list[str] = []
    for path in sorted((REPO_ROOT / "plugins" / "filter").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                for returned in (child for child in ast.walk(node) if isinstance(child, ast.Return)):
                    if isinstance(returned.value, ast.Dict):
                        names += [key.value for key in returned.value.keys if isinstance(key, ast.Constant)]
    return sorted(names)


ROLES = _role_names()
FILTERS = _filter_names()


def _ansible_doc(tool_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "ansible-doc"), *args], env=tool_env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("module", MODULES)
def test_module_documentation_renders_as_text(module: str, tool_env: dict[str, str]) -> None:
    result = _ansible_doc(tool_env, f"scalarops.pitr.{module}")
    assert result.returncode == 0, result.stderr
    assert f"> MODULE scalarops.pitr.{module} " in result.stdout
    for section in ("OPTIONS", "EXAMPLES:", "RETURN VALUES:"):
        assert section in result.stdout, f"{module}: no {section} in the rendered documentation"


def test_every_role_has_argument_specs() -> None:
    missing = [role for role in ROLES if not (REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").is_file()]
    assert ROLES and not missing, f"roles without meta/argument_specs.yml: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_role_documentation_renders(role: str, tool_env: dict[str, str]) -> None:
    result = _ansible_doc(tool_env, "-t", "role", "--json", f"scalarops.pitr.{role}")
    assert result.returncode == 0, result.stderr
    main = json.loads(result.stdout)[f"scalarops.pitr.{role}"]["entry_points"]["main"]
    assert main.get("short_description"), f"{role}: entry point main has no short_description"
    text = _ansible_doc(tool_env, "-t", "role", f"scalarops.pitr.{role}")
    assert text.returncode == 0, text.stderr
    # The plain-text renderer marks the entry point's name (*main* without colours).
    assert re.search(r"ENTRY POINT: \W*main\W* - " + re.escape(main["short_description"][:40]), text.stdout), text.stdout[:500]


@pytest.mark.parametrize("name", FILTERS)
def test_filter_documentation_renders(name: str, tool_env: dict[str, str]) -> None:
    result = _ansible_doc(tool_env, "-t", "filter", "--json", f"scalarops.pitr.{name}")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)[f"scalarops.pitr.{name}"]
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    text = _ansible_doc(tool_env, "-t", "filter", f"scalarops.pitr.{name}")
    assert text.returncode == 0, text.stderr
    assert f"> FILTER scalarops.pitr.{name} " in text.stdout
