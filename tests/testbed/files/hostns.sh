#!/bin/sh
# One simulated host: runs as root inside a fresh private mount namespace (unshare), gives
# this host its own /etc/init.d, /opt/alation, /tmp and /run/lock, builds the Alation
# chroot, starts Alation, then becomes the host's sshd (every SSH session inherits this view).
# Usage: hostns.sh HOST_DIR alation|plain STATE_DIR VERSION
set -eu
H="$1"; KIND="$2"; STATE="$3"; VERSION="$4"

bind() { mount --bind "$1" "$2"; }
bind_ro() { mount --bind "$1" "$2"; mount -o remount,bind,ro "$2"; }

bind "$H/tmp" /tmp
mkdir -p /run/lock
bind "$H/lock" /run/lock
bind "$H/initd" /etc/init.d
bind "$H/opt" /opt/alation

if [ "$KIND" = alation ]; then
    R="/opt/alation/alation-$VERSION"
    bind_ro /usr "$R/usr"
    bind_ro /etc "$R/etc"
    mount --rbind /dev "$R/dev"
    mount --rbind /proc "$R/proc"
    bind_ro "$STATE/django" "$R/opt/alation/django"
    bind_ro "$STATE/env" "$R/opt/alation/env"
    bind "$H/site" "$R/opt/alation/site"
    bind_ro "$H/bin" "$R/opt/alation/bin"
    /etc/init.d/alation start
fi

# sshd -D logs to syslog only: check its config and keys first so that a host that cannot start
# says why in its host.log.
/usr/sbin/sshd -t -f "$H/ssh/sshd_config"
exec /usr/sbin/sshd -D -f "$H/ssh/sshd_config"
