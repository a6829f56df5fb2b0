#!/usr/bin/env bash
# Every test of alation.scim, from a fresh Debian 12 machine (run as root):
#   unit tests, host code on the oldest Pythons, ansible-test sanity (newest and oldest
#   ansible-core), ansible-lint (production profile), build + install of the collection artifact,
#   and the integration suite over real SSH against the test bed.
# Usage: scripts/test.sh [stage ...]     (default: all stages; see STAGES below)
# Reports (JUnit XML per stage) land in reports/ (ALATION_SCIM_REPORT_DIR).
set -uo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

STAGES=(unit old-python sanity sanity-oldest lint build integration)
[ "$#" -gt 0 ] && STAGES=("$@")

require_root
mkdir -p "$REPORT_DIR"
ensure_venv
ensure_python_links

# The integration stage needs the test bed's system packages; install them first so that a
# missing package shows up as an install error, not as a failing test.
if printf '%s\n' "${STAGES[@]}" | grep -qx integration; then
  log "Installing the test bed's system packages"
  "$VENV/bin/python" "$TESTBED" install || die "test bed install failed (see above)"
fi

stage_unit() {
  # The simulators' own tests run here too: a test double that drifts fails them first.
  "$VENV/bin/python" -m pytest -q tests/unit tests/testbed/entra_sim/test_sim.py tests/testbed/pingfederate_sim/test_sim.py \
    tests/testbed/sailpoint_sim/test_sim.py tests/testbed/iiq_sim/test_sim.py --junitxml="$REPORT_DIR/unit.xml"
}

# Code that runs on Alation hosts must work on every Python ansible-core 2.16 accepts there.
stage_old_python() {
  local python rc=0
  for python in python2.7 python3.6; do
    command -v "$python" >/dev/null || { echo "FAILED: $python is not installed"; rc=1; continue; }
    echo "-- host code under $($python --version 2>&1)"
    "$python" tests/unit/old_python_check.py || rc=1
  done
  return $rc
}

run_ansible_test() {
  local venv="$1"; shift
  local dest
  ensure_ansible_test_bootstrap "$venv/bin/python"
  dest="$(stage_collection)"
  (cd "$dest" && "$venv/bin/ansible-test" sanity --venv --color no "$@") \
    2>&1 | grep -vE '^(Collecting|Downloading|Installing|Successfully|Looking in|Requirement already|Using cached|Obtaining|  )|WARNING: Location|━'
}

# All default sanity tests, on every Python the newest ansible-core supports that is installed.
# The shellcheck linter is installed first: without it ansible-test skips that test silently.
stage_sanity() {
  if ! command -v shellcheck >/dev/null; then
    apt-get install -y -q shellcheck >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && apt-get install -y -q shellcheck >/dev/null; } || return 1
  fi
  run_ansible_test "$VENV" --junit
  local rc=${PIPESTATUS[0]}
  cp -f "$REPO_ROOT"/build/collections/ansible_collections/alation/scim/tests/output/junit/*.xml "$REPORT_DIR/" 2>/dev/null
  return "$rc"
}

# The oldest ansible-core we support still checks Python 2.7 and 3.6 targets.
stage_sanity_oldest() {
  if [ ! -x "$VENV_OLDEST/bin/ansible-test" ]; then
    "$(controller_python)" -m venv "$VENV_OLDEST" &&
      "$VENV_OLDEST/bin/pip" install --disable-pip-version-check -q 'ansible-core>=2.16,<2.17' || return 1
  fi
  local rc=0
  run_ansible_test "$VENV_OLDEST" --test compile --python 2.7 || rc=1
  run_ansible_test "$VENV_OLDEST" --test compile --python 3.6 || rc=1
  run_ansible_test "$VENV_OLDEST" --test import --python 3.6 || rc=1
  run_ansible_test "$VENV_OLDEST" --test validate-modules --python 3.11 || rc=1
  return $rc
}

# Linted where Ansible resolves `alation.scim` to this very tree (a staged copy), so every
# FQCN in roles and playbooks is checked against the real plugins.
stage_lint() {
  local dest
  dest="$(stage_collection)"
  (cd "$dest" && ANSIBLE_COLLECTIONS_PATH="$REPO_ROOT/build/collections" \
     "$VENV/bin/ansible-lint" --profile production --offline -q .) &&
    "$VENV/bin/antsibull-changelog" lint
}

# The artifact users install: build it, install it, and check every module renders its docs.
stage_build() {
  local tmp rc=0 module path
  tmp="$(mktemp -d)"
  "$VENV/bin/ansible-galaxy" collection build --force --output-path "$tmp" . || return 1
  "$VENV/bin/ansible-galaxy" collection install --force -p "$tmp/installed" "$tmp"/alation-scim-*.tar.gz || return 1
  if tar -tzf "$tmp"/alation-scim-*.tar.gz | grep -E '^(tests|scripts|\.ci|benchmarks)/'; then
    echo "FAILED: test or build files were packed into the artifact"; rc=1
  fi
  for path in plugins/modules/*.py; do
    module="$(basename "$path" .py)"
    ANSIBLE_COLLECTIONS_PATH="$tmp/installed" "$VENV/bin/ansible-doc" "alation.scim.$module" >/dev/null ||
      { echo "FAILED: ansible-doc alation.scim.$module"; rc=1; }
  done
  ANSIBLE_COLLECTIONS_PATH="$tmp/installed" "$VENV/bin/ansible-playbook" --syntax-check alation.scim.rotate_scim ||
    rc=1
  rm -rf "$tmp"
  return $rc
}

stage_integration() {
  "$VENV/bin/python" -m pytest -v tests/integration --junitxml="$REPORT_DIR/integration.xml"
}

cd "$REPO_ROOT" || exit 1
passed=0; failed=0; results=()
for stage in "${STAGES[@]}"; do
  log "Stage: $stage"
  started=$SECONDS
  if "stage_${stage//-/_}"; then
    passed=$((passed + 1)); results+=("PASS  $stage ($((SECONDS - started)) s)")
  else
    failed=$((failed + 1)); results+=("FAIL  $stage ($((SECONDS - started)) s)")
  fi
done

log "Summary"
printf '%s\n' "${results[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
