#!/usr/bin/env bash
# The main job, end to end, on this machine (run as root on Debian 12):
# sets up the test bed (simulated Alation hosts over real SSH + an Entra ID simulator), makes two
# hosts' tokens nearly expired, runs playbooks/rotate_scim.yml and shows its summary.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

require_root
ensure_venv
ensure_testbed --hosts 3

log "Making the demo fleet: alation1 expires in 5 days, alation2 in 12, alation3 is fresh"
"$VENV/bin/python" "$TESTBED" expire-in alation1 5
"$VENV/bin/python" "$TESTBED" expire-in alation2 12
"$VENV/bin/python" "$TESTBED" expire-in alation3 170

collections="$(collection_link)"
log "ansible-playbook -i $TESTBED_STATE/inventory.yml playbooks/rotate_scim.yml (test bed group: alation, IdP: the Entra ID simulator)"
cd "$REPO_ROOT"
ANSIBLE_CONFIG="$REPO_ROOT/examples/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$collections" \
  "$VENV/bin/ansible-playbook" -i "$TESTBED_STATE/inventory.yml" playbooks/rotate_scim.yml \
  -e alation_scim_hosts=alation -e alation_scim_idp=entra "$@"
