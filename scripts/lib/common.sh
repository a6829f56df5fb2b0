# Shared by scripts/demo.sh and scripts/test.sh: one place that knows how this project is set up.
# shellcheck shell=bash
# The settings below are read by the scripts that source this file.
# shellcheck disable=SC2034

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${ALATION_SCIM_VENV:-$REPO_ROOT/.venv}"
# Both ends of the support range get a venv of their own for the full ansible-test sanity suite:
# the oldest ansible-core we claim (meta/runtime.yml; it still checks Python 2.7 / 3.6 targets)
# and the newest release, which needs a Python 3.12+ controller.
ANSIBLE_OLDEST=2.16.19
ANSIBLE_NEWEST=2.21.5
VENV_OLDEST="${ALATION_SCIM_VENV_OLDEST:-$REPO_ROOT/.venv-ansible-2.16}"
VENV_NEWEST="${ALATION_SCIM_VENV_NEWEST:-$REPO_ROOT/.venv-ansible-2.21}"
TESTBED="$REPO_ROOT/tests/testbed/testbed"
TESTBED_STATE=/var/lib/alation-scim-testbed
REPORT_DIR="${ALATION_SCIM_REPORT_DIR:-$REPO_ROOT/reports}"
# Interpreters from pyenv, exposed under their plain names so ansible-test can find them
# (pyenv's own shims refuse versions that are not selected).
PYTHONS_DIR="$REPO_ROOT/build/pythons"

log() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" = 0 ] || die "the test bed creates users, namespaces and sshd instances: run this as root"
}

# Python 3.10-3.12 for the controller venvs (ansible-core 2.16 accepts no newer one).
controller_python() {
  local candidate
  for candidate in python3.11 python3.12 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 12)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  die "no Python 3.10-3.12 found for the Ansible controller"
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha"
  local want
  want="$(sha256sum < "$REPO_ROOT/tests/requirements.txt" | cut -d' ' -f1)"
  if [ ! -x "$VENV/bin/python" ]; then
    log "Creating the controller venv at $VENV"
    "$(controller_python)" -m venv "$VENV"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "Installing Python requirements (tests/requirements.txt)"
    "$VENV/bin/pip" install --disable-pip-version-check -q -r "$REPO_ROOT/tests/requirements.txt"
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

# ensure_command <command> <Debian package>: install the package when the command is missing
# (refreshing the package lists once if the install fails, as on a fresh machine).
ensure_command() {
  local command="$1" package="$2"
  command -v "$command" >/dev/null && return 0
  log "Installing $package (for $command)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null; } ||
    { echo "FAILED: apt-get install $package"; return 1; }
}

# A venv with just one ansible-core (for ansible-test), made once and touched again only when
# the pin changes: ensure_ansible_test_venv <dir> <python> <version>.
ensure_ansible_test_venv() {
  local dir="$1" python="$2" version="$3"
  [ "$("$dir/bin/python" -c 'import ansible.release as r; print(r.__version__)' 2>/dev/null)" = "$version" ] &&
    return 0
  log "Installing ansible-core $version into $dir ($("$python" --version 2>&1))"
  { [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"; } &&
    "$dir/bin/pip" install --disable-pip-version-check -q "ansible-core==$version"
}

# ansible-test runs its import test on Python 2.7 only where that Python has virtualenv (2.7 has
# no venv module): the last virtualenv that runs on 2.7, into the Python 2.7 on PATH.
ensure_python27_virtualenv() {
  local python
  python="$(command -v python2.7)" || { echo "FAILED: no python2.7 on PATH for the Python 2.7 sanity tests"; return 1; }
  "$python" -m virtualenv --version >/dev/null 2>&1 && return 0
  log "Installing virtualenv 20.15.1 into $python (for ansible-test's import test on Python 2.7)"
  # pip on 2.7 says on every call that 2.7 is out of support: that line is noise here.
  "$python" -m pip install --disable-pip-version-check -q 'virtualenv==20.15.1' 2>&1 | grep -v DEPRECATION
  return "${PIPESTATUS[0]}"
}

# The newest ansible-core wants a Python 3.12+ controller; Debian 12 has 3.11, pyenv has more.
newest_controller_python() {
  local candidate
  for candidate in python3.12 python3.13 /root/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.13*/bin/python3.13; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys, venv; assert sys.version_info[:2] >= (3, 12)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  die "no Python 3.12 or 3.13 found for ansible-core $ANSIBLE_NEWEST (install one, e.g. with pyenv)"
}

ensure_testbed() {
  require_root
  log "Installing and starting the test bed (simulated Alation hosts + Entra ID simulator)"
  "$VENV/bin/python" "$TESTBED" install
  "$VENV/bin/python" "$TESTBED" up --controller-python "$VENV/bin/python" "$@"
}

# ansible-test downloads a pip bootstrap script from a host that is not reachable here: give it
# the offline stand-in for every pip version it may ask for.
ensure_ansible_test_bootstrap() {
  local python="$1" version
  version="$("$python" -c 'import re, ansible_test._internal.python_requirements as r; print(re.search(r"pip=.([0-9.]+).", open(r.__file__).read()).group(1))')"
  mkdir -p "$HOME/.ansible/test/cache"
  cp "$REPO_ROOT/scripts/lib/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
}

ensure_python_links() {
  local dir bin
  mkdir -p "$PYTHONS_DIR"
  for dir in /root/.pyenv/versions/*/bin; do
    [ -d "$dir" ] || continue
    for bin in "$dir"/python[23].[0-9]*; do
      case "$bin" in *-config|*m|*.py) continue ;; esac
      [ -x "$bin" ] && ln -sf "$bin" "$PYTHONS_DIR/$(basename "$bin")"
    done
  done
  export PATH="$PYTHONS_DIR:$PATH"
}

# Copy what git tracks (plus new, not ignored files) of this checkout to <dest>, so that the
# checkout's own path and its build output do not matter.
copy_checkout() {
  local dest="$1"
  rm -rf "$dest" && mkdir -p "$dest"
  (cd "$REPO_ROOT" && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | (cd "$dest" && tar -xf -)
}

# ansible-test wants the collection at .../ansible_collections/<namespace>/<name>.
stage_collection() {
  local dest="$REPO_ROOT/build/collections/ansible_collections/alation/scim"
  copy_checkout "$dest"
  (cd "$dest" && git init -q && git add -A)
  echo "$dest"
}

# The artifact users install, built from a copy of this checkout in which README.md is the
# collection's user README, docs/galaxy/README.md: Galaxy and Automation Hub show the artifact's
# root README.md, while the repository's README.md is for people working on the checkout.
# galaxy.yml's manifest decides which files ship. Prints the tarball's path.
build_artifact() {
  local out="$1" src="$REPO_ROOT/build/artifact-src" version
  copy_checkout "$src"
  cp "$REPO_ROOT/docs/galaxy/README.md" "$src/README.md"
  version="$("$VENV/bin/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$src/galaxy.yml")"
  mkdir -p "$out"
  "$VENV/bin/ansible-galaxy" collection build --force --output-path "$out" "$src" >&2 || return 1
  echo "$out/alation-scim-$version.tar.gz"
}

# Make `alation.scim` resolve to this checkout without installing it (for the demo).
collection_link() {
  local dir="$REPO_ROOT/build/dev-collections"
  mkdir -p "$dir/ansible_collections/alation"
  ln -sfn "$REPO_ROOT" "$dir/ansible_collections/alation/scim"
  echo "$dir"
}
