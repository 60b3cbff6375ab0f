#!/usr/bin/env bash
# Build the Debian bookworm + Python base image without any registry:
# debootstrap a minimal Debian with python3 and python3-venv, then
# `docker import` it as afcheck-base:bookworm. Used by `afcheck images build`
# when the Dockerfile's default base (python:3.11-slim) cannot be pulled.
#
# Usage: tools/build-base-image.sh [TAG]    (default afcheck-base:bookworm)
# Environment: AFCHECK_DEBIAN_MIRROR (default: the mirror apt uses here, else
# http://deb.debian.org/debian), AFCHECK_BASE_LOG (default /tmp/afcheck-base-image.log).
set -euo pipefail

TAG=${1:-afcheck-base:bookworm}
LOG=${AFCHECK_BASE_LOG:-/tmp/afcheck-base-image.log}
SUITE=bookworm
PACKAGES=python3,python3-venv,ca-certificates
started=$(date +%s)

say() { echo "build-base-image: $*" >&2; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

apt_mirror() {
    # the first Debian (not -security) URI apt is configured with, if any
    local uri
    uri=$(grep -hoE '(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -oE 'https?://[^ ]+' | head -n 1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${AFCHECK_DEBIAN_MIRROR:-$(apt_mirror)}

if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap (log: $LOG)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$LOG" 2>&1
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends debootstrap >>"$LOG" 2>&1 \
        || { say "could not install debootstrap; see $LOG"; exit 3; }
fi

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/afcheck-base.XXXXXX")
cleanup() { as_root rm -rf "$ROOT"; }
trap cleanup EXIT

say "debootstrap $SUITE ($PACKAGES) from $MIRROR (log: $LOG)"
as_root debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" \
    >>"$LOG" 2>&1 || { say "debootstrap failed; last lines of $LOG:"; tail -n 5 "$LOG" >&2; exit 3; }

# what an image needs no copy of
as_root rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
    "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*

say "importing as $TAG"
as_root tar -C "$ROOT" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "afcheck base: Debian $SUITE minbase + $PACKAGES" \
    - "$TAG" >>"$LOG"
say "built $TAG in $(( $(date +%s) - started ))s"
