#!/usr/bin/env bash
# Every test of alation.scim, from a fresh Debian 12 machine (run as root):
#   unit tests, host code on the oldest Pythons, the full ansible-test sanity suite with the oldest
#   and the newest supported ansible-core, ansible-lint (production profile), build + install of the collection artifact,
#   and the integration suite over real SSH against the test bed.
# Usage: scripts/test.sh [stage ...]     (default: all stages; see STAGES below)
# Reports (JUnit XML per stage) land in reports/ (ALATION_SCIM_REPORT_DIR).
set -uo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

STAGES=(unit old-python sanity-oldest sanity-newest lint build galaxy-importer docs monitoring integration)
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
  # The simulators' own tests run here too: a test double that drifts fails them first; so do the
  # test bed's certificates (tests/testbed/test_pki.py, in a private state directory).
  "$VENV/bin/python" -m pytest -q tests/unit benchmarks/test_cpu_split.py benchmarks/test_report.py tests/testbed/entra_sim/test_sim.py tests/testbed/pingfederate_sim/test_sim.py tests/testbed/pingone_sim/test_sim.py \
    tests/testbed/sailpoint_sim/test_sim.py tests/testbed/iiq_sim/test_sim.py tests/testbed/test_pki.py tests/testbed/test_pidfiles.py \
    --junitxml="$REPORT_DIR/unit.xml"
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

# ansible-test's own exit status (the filter after it must not hide a failure).
run_ansible_test() {
  local venv="$1"; shift
  local dest
  ensure_ansible_test_bootstrap "$venv/bin/python"
  dest="$(stage_collection)"
  (cd "$dest" && "$venv/bin/ansible-test" sanity --venv --color no "$@") 2>&1 |
    grep -vE '^(Collecting|Downloading|Installing|Successfully|Looking in|Requirement already|Using cached|Obtaining|  )|WARNING: Location|━'
  return "${PIPESTATUS[0]}"
}

# Every default sanity test (ansible-test sanity, no --test), on every Python that ansible-core
# supports and this machine has, with its JUnit files kept as reports/sanity-<label>-*.xml.
# The shellcheck linter is installed first: without it ansible-test skips that test silently.
run_sanity_suite() {
  local venv="$1" label="$2" rc file
  ensure_command shellcheck shellcheck || return 1
  echo "-- ansible-test sanity with ansible-core $("$venv/bin/python" -c 'import ansible.release as r; print(r.__version__)'), controller $("$venv/bin/python" --version)"
  run_ansible_test "$venv" --junit
  rc=$?
  for file in "$REPO_ROOT"/build/collections/ansible_collections/alation/scim/tests/output/junit/*.xml; do
    [ -e "$file" ] && cp -f "$file" "$REPORT_DIR/sanity-$label-$(basename "$file")"
  done
  return "$rc"
}

# Both ends of the support range. The oldest ansible-core we claim still checks Python 2.7 and 3.6
# targets (the Alation hosts' code); the newest one brings the newest rules.
stage_sanity_oldest() {
  ensure_ansible_test_venv "$VENV_OLDEST" "$(controller_python)" "$ANSIBLE_OLDEST" || return 1
  ensure_python27_virtualenv || return 1
  run_sanity_suite "$VENV_OLDEST" oldest
}

stage_sanity_newest() {
  ensure_ansible_test_venv "$VENV_NEWEST" "$(newest_controller_python)" "$ANSIBLE_NEWEST" || return 1
  run_sanity_suite "$VENV_NEWEST" newest
}

# Both sanity suites in one stage name (not in the default list, which has each on its own).
stage_sanity() {
  local rc=0
  stage_sanity_oldest || rc=1
  stage_sanity_newest || rc=1
  return $rc
}

# Linted where Ansible resolves `alation.scim` to this very tree (a staged copy), so every
# FQCN in roles and playbooks is checked against the real plugins.
stage_lint() {
  local dest out
  dest="$(stage_collection)"
  (cd "$dest" && ANSIBLE_COLLECTIONS_PATH="$REPO_ROOT/build/collections" \
     "$VENV/bin/ansible-lint" --profile production --offline -q .) || return 1
  # The file .ansible-lint leaves out for galaxy-importer's sake, linted on its own. ansible-lint
  # logs a playbook it cannot find as an ERROR line but passes: that line fails the stage.
  out="$(cd "$dest" && ANSIBLE_COLLECTIONS_PATH="$REPO_ROOT/build/collections" \
     "$VENV/bin/ansible-lint" --profile production --offline -q --nocolor examples/ci/awx/scheduled_rotation.yml \
     examples/ci/awx/merge_reports.yml 2>&1)" ||
    { echo "$out"; return 1; }
  if grep -q ERROR <<<"$out"; then echo "$out"; return 1; fi
  "$VENV/bin/antsibull-changelog" lint
}

# The artifact users install: build it (scripts/build.sh's way), assert its exact file list and
# metadata (tests/build), install it, and check every module renders its docs.
stage_build() {
  local tmp artifact rc=0 module path
  tmp="$(mktemp -d)"
  artifact="$(build_artifact "$tmp")" || return 1
  ALATION_SCIM_ARTIFACT="$artifact" "$VENV/bin/python" -m pytest -q tests/build --junitxml="$REPORT_DIR/build.xml" ||
    rc=1
  "$VENV/bin/ansible-galaxy" collection install --force -p "$tmp/installed" "$artifact" || return 1
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

# What Galaxy and Automation Hub run on every upload (galaxy-importer, with ansible-lint and
# flake8), on the artifact: the stage passes only when it shows no warning at all.
stage_galaxy_importer() {
  local tmp artifact rc
  tmp="$(mktemp -d)"
  artifact="$(build_artifact "$tmp")" || return 1
  "$VENV/bin/python" tests/build/galaxy_importer_check.py "$artifact"
  rc=$?
  rm -rf "$tmp"
  return "$rc"
}

# The collection's docs site (antsibull-docs + Sphinx, as docs.ansible.com builds collection docs),
# built fresh from the staged collection, and antsibull-docs' own lint of the plugin docs.
# Offline, so intersphinx is off; tests/build/docsite_check.py tells the Ansible docsite's
# unresolved references from the collection's own warnings, which fail the stage.
stage_docs() {
  local dest site="$REPO_ROOT/build/docsite" rc=0
  local collections="ANSIBLE_COLLECTIONS_PATH=$REPO_ROOT/build/collections"
  dest="$(stage_collection)"
  (cd "$dest" && "$VENV/bin/antsibull-docs" lint-collection-docs --plugin-docs .) || rc=1
  rm -rf "$site" && mkdir -p "$site"
  env "$collections" "$VENV/bin/antsibull-docs" sphinx-init --use-current --fail-on-error --dest-dir "$site" \
    --project alation.scim --title alation.scim alation.scim >/dev/null || return 1
  echo 'intersphinx_mapping = {}  # offline: see scripts/test.sh stage_docs' >> "$site/conf.py"
  mkdir -p "$site/rst" && chmod og-w "$site/rst"
  env "$collections" "$VENV/bin/antsibull-docs" --config-file "$site/antsibull-docs.cfg" collection --use-current \
    --cleanup everything --fail-on-error --dest-dir "$site/rst" alation.scim || return 1
  "$VENV/bin/sphinx-build" -M html "$site/rst" "$site/build" -c "$site" -q -w "$site/warnings.log" || return 1
  "$VENV/bin/python" tests/build/docsite_check.py "$site" "$dest" || rc=1
  echo "   site: $site/build/html/index.html"
  return $rc
}

# The monitoring kit (examples/monitoring/): promtool, from Debian's prometheus package (its service
# is not started), checks the textfile and runs the alert rules' tests; the rules, their tests and
# the Grafana dashboard may use only the metrics and labels the collection writes.
stage_monitoring() {
  ensure_command promtool prometheus || return 1
  "$VENV/bin/python" -m pytest -q tests/monitoring --junitxml="$REPORT_DIR/monitoring.xml"
}

# The ends of the supported range run the playbooks too (tests/integration/test_driver_matrix.py): the
# same venvs as the sanity stages, made here when this stage runs alone.
stage_integration() {
  ensure_ansible_test_venv "$VENV_OLDEST" "$(controller_python)" "$ANSIBLE_OLDEST" || return 1
  ensure_ansible_test_venv "$VENV_NEWEST" "$(newest_controller_python)" "$ANSIBLE_NEWEST" || return 1
  ALATION_SCIM_VENV_OLDEST="$VENV_OLDEST" ALATION_SCIM_VENV_NEWEST="$VENV_NEWEST" \
    "$VENV/bin/python" -m pytest -v tests/integration --junitxml="$REPORT_DIR/integration.xml"
}

cd "$REPO_ROOT" || exit 1
passed=0; failed=0; results=(); failed_stages=()
for stage in "${STAGES[@]}"; do
  log "Stage: $stage"
  started=$SECONDS
  rm -f "$REPORT_DIR/$stage.xml"  # a report left by an earlier run must not explain this one
  if "stage_${stage//-/_}"; then
    passed=$((passed + 1)); results+=("PASS  $stage ($((SECONDS - started)) s)")
  else
    failed=$((failed + 1)); results+=("FAIL  $stage ($((SECONDS - started)) s)")
    failed_stages+=("$stage")
  fi
done

# Why each failed stage failed, last in the log (where CI systems that keep a tail still show it).
for stage in "${failed_stages[@]}"; do
  if [ -f "$REPORT_DIR/$stage.xml" ]; then
    log "Why $stage failed (from $REPORT_DIR/$stage.xml)"
    "$VENV/bin/python" "$REPO_ROOT/scripts/lib/junit_digest.py" "$REPORT_DIR/$stage.xml"
  fi
done

log "Summary"
printf '%s\n' "${results[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
