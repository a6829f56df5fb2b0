#!/usr/bin/env bash
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# The baseline: the vendor's manual procedure (shared/seed: sudo /etc/init.d/alation shell,
# alation_django_shell, one function per session), scripted as a plain sequential loop over SSH.
#   vendor_loop.sh check  HOST...   get_scim_bearer_token_expiry_date            (1 launch/host)
#   vendor_loop.sh rotate HOST...   expiry, set_scim_bearer_token, get_scim_bearer_token
#                                   (3 launches/host), then the IdP push (idp_push.py, token on stdin)
# The token passes through a shell variable and a pipe only (printf is a builtin: no argv).
set -u
mode=$1; shift
state=${ALATION_SCIM_TESTBED_STATE:-/var/lib/alation-scim-testbed}
here=$(cd "$(dirname "$0")" && pwd)
python=${BENCH_PYTHON:-python3}
cu=rosemeta.utils.users_and_groups.configuration_utils
fails=0

address() {
    case $1 in alation*) echo "127.0.10.${1#alation}" ;; plain*) echo "127.0.11.${1#plain}" ;; esac
}

vendor_session() {  # host, python line: one SSH session, one Django shell launch
    printf 'alation_django_shell\n%s\n' "$2" | ssh -i "$state/ssh/deploy_ed25519" -o UserKnownHostsFile="$state/ssh/known_hosts" \
        -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ControlMaster=no \
        -o ControlPath=none -p 2222 "deploy@$(address "$1")" 'sudo /etc/init.d/alation shell'
}

for host in "$@"; do
    vendor_session "$host" "from $cu import get_scim_bearer_token_expiry_date as f; print('@@%s@@' % (f(),))" \
        | grep -q '^@@' || { echo "vendor_loop: $host: no expiry" >&2; fails=$((fails + 1)); continue; }
    [ "$mode" = rotate ] || continue
    vendor_session "$host" "from $cu import set_scim_bearer_token as f; f(); print('@@set@@')" \
        | grep -q '^@@set@@' || { echo "vendor_loop: $host: set failed" >&2; fails=$((fails + 1)); continue; }
    token=$(vendor_session "$host" "from $cu import get_scim_bearer_token as f; print('@@%s@@' % f())" \
        | sed -n 's/^@@\(.*\)@@$/\1/p')
    [ -n "$token" ] || { echo "vendor_loop: $host: no token read" >&2; fails=$((fails + 1)); continue; }
    printf '%s' "$token" | "$python" "$here/idp_push.py" "$host" || fails=$((fails + 1))
    token=
done
exit $((fails > 0))
