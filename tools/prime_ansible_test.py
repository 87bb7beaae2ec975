"""Let ``ansible-test sanity`` bootstrap its per-test virtualenvs without its download host.

ansible-test creates an empty venv per sanity test and runs a cached "get-pip" script in it,
downloading that script from a host this machine cannot reach. The script only has to install
pip; we write one that runs pip straight from the pip wheel (a wheel is an importable zip),
fetched from the package index like every other dependency. Everything after that (the sanity
requirements) ansible-test installs from the package index itself.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import ansible_test

CACHE = Path.home() / ".ansible" / "test" / "cache"

GET_PIP = '''\
"""get-pip stand-in written by scalarops.pitr tools/prime_ansible_test.py: pip from its wheel."""
import sys

sys.path.insert(0, {wheel!r})
from pip._internal.cli.main import main  # noqa: E402  pylint: disable=wrong-import-position

# get-pip.py semantics: the arguments are install arguments; it handles these two flags itself.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", *args]))
'''


def pip_version() -> str:
    """The pip version this ansible-test pins for its virtualenvs."""
    source = (Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
    match = re.search(r"pip='([0-9.]+)'", source)
    if not match:
        raise SystemExit("cannot find the pip version ansible-test pins (python_requirements.py changed?)")
    return match.group(1)


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    version = pip_version()
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = next(wheels.glob(f"pip-{version}-*.whl"), None)
    if wheel is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--quiet", "--no-deps",
                        "--dest", str(wheels), f"pip=={version}"], check=True)
        wheel = next(wheels.glob(f"pip-{version}-*.whl"))
    target = CACHE / f"get_pip_{version.replace('.', '_')}.py"
    target.write_text(GET_PIP.format(wheel=str(wheel)))
    print(f"ansible-test pip {version} bootstrap: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
