#!/usr/bin/env bash
# The whole test suite, in the order that fails fastest: lint, sanity, pytest, Molecule.
# Usage: tools/run_tests.sh all|lint|sanity|pytest|molecule   (after tools/bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH=$ROOT/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections
# The machine may point these at a corporate bundle; our stand-ins bring their own CA per test.
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

phase() { printf '\n\033[1m==> %s\033[0m\n' "$*"; SECONDS=0; }
done_phase() { printf '<== %s: %ss\n' "$1" "$SECONDS"; }

run_lint() {
  phase "ansible-lint (production profile)"
  ansible-lint --profile production --offline
  antsibull-changelog lint
  done_phase lint
}

run_sanity() {
  phase "ansible-test sanity"
  # ansible-test needs the collection at .../ansible_collections/scalarops/pitr and lists files
  # through git: sanity runs on a copy of exactly the files git would ship (tracked + new, not ignored).
  local copy=$ROOT/.build/sanity/ansible_collections/scalarops/pitr
  rm -rf "$copy" && mkdir -p "$copy"
  git ls-files --cached --others --exclude-standard -z | tar -c --null -T - | tar -x -C "$copy"
  (cd "$copy" && git init -q && git add -A && ansible-test sanity --venv --python 3.12 --color no)
  done_phase sanity
}

run_pytest() {
  phase "pytest: unit and stand-in/functional tests"
  # Two workers: the suite is I/O-bound (stand-ins, helm, ansible-playbook runs); about 10 min instead of 18 serially.
  python -m pytest -n 2
  done_phase pytest
}

run_molecule() {
  phase "molecule: every scenario under extensions/molecule"
  # From the collection root: Molecule finds the scenarios under extensions/molecule itself.
  molecule test --all
  done_phase molecule
}

case "${1:-all}" in
  lint) run_lint ;;
  sanity) run_sanity ;;
  pytest) run_pytest ;;
  molecule) run_molecule ;;
  all) run_lint; run_sanity; run_pytest; run_molecule ;;
  *) echo "usage: $0 all|lint|sanity|pytest|molecule" >&2; exit 2 ;;
esac
