#!/usr/bin/env bash
# Make a Docker engine answer on this machine: install Debian's docker.io when
# dockerd is missing, start dockerd in the background when no daemon answers,
# and wait until `docker info` works. Idempotent: a running engine is left alone.
#
# Environment:
#   AFCHECK_DOCKER_LOG    dockerd's log file (default /tmp/afcheck-dockerd.log)
#   AFCHECK_DOCKER_WAIT   seconds to wait for the daemon (default 60)
#
# dockerd is started with the default storage driver when the kernel offers
# overlayfs, else with vfs; iptables management is kept unless it fails, then
# retried with --iptables=false (containers on a bridge stay reachable from
# the host either way; they need no outside traffic).
set -euo pipefail

LOG=${AFCHECK_DOCKER_LOG:-/tmp/afcheck-dockerd.log}
WAIT=${AFCHECK_DOCKER_WAIT:-60}
started=$(date +%s)

say() { echo "provision-docker: $*" >&2; }
elapsed() { echo $(( $(date +%s) - started ))s; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

daemon_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && daemon_answers; then
    say "a Docker engine already answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    say "dockerd missing: installing Debian's docker.io (log: $LOG)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q >>"$LOG" 2>&1
    as_root apt-get install -y -q --no-install-recommends docker.io iptables >>"$LOG" 2>&1 || {
        say "apt-get install docker.io failed; see $LOG"; exit 3; }
    say "docker.io installed after $(elapsed)"
fi

wait_for_daemon() {
    local pid=$1 deadline=$(( $(date +%s) + WAIT ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if daemon_answers; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.5
    done
    return 1
}

start_dockerd() {
    say "starting dockerd $* (log: $LOG)"
    # setsid: dockerd outlives this script and the caller's process group
    as_root setsid dockerd "$@" >>"$LOG" 2>&1 < /dev/null &
    local pid=$!
    if wait_for_daemon "$pid"; then return 0; fi
    say "dockerd $* did not answer; last log lines:"
    tail -n 5 "$LOG" >&2 || true
    as_root pkill -TERM -F /var/run/docker.pid 2>/dev/null || kill "$pid" 2>/dev/null || true
    sleep 1
    return 1
}

driver=()
if ! grep -qw overlay /proc/filesystems 2>/dev/null; then
    driver=(--storage-driver vfs)
fi

# a stale pid file from a crashed dockerd would stop the new one
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    as_root rm -f /var/run/docker.pid
fi

if start_dockerd "${driver[@]}" \
    || start_dockerd "${driver[@]}" --iptables=false \
    || start_dockerd --storage-driver vfs --iptables=false; then
    say "Docker engine answers after $(elapsed) ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))"
    exit 0
fi
say "no Docker engine could be started; see $LOG"
exit 3
