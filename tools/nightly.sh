#!/usr/bin/env bash
# The nightly soak, exactly as CI runs it (.github/workflows/nightly-soak.yml).
#
#   tools/nightly.sh shard I N   run shard I of N of tonight's plan into $SOAK_ROOT/shard-I
#   tools/nightly.sh merge       merge $SOAK_ROOT/shard-* into $SOAK_ROOT/merged (index.html,
#                                junit.xml, summary.md), carrying earlier nights' rows from
#                                $SOAK_ROOT/index-state/index-rows.json
#   tools/nightly.sh all N       shards 1..N one after another, then merge (and, on the docker
#                                backend, `afcheck images prune --keep 2`)
#   tools/nightly.sh smoke       ~3 minutes: `all 2` with short rounds, then checks the merged
#                                index, junit.xml and the storage bounds (make soak-smoke)
#
# Settings (environment): SOAK_DURATION (per shard, default 2h), SOAK_ROUND_TIME (60),
# SOAK_BACKEND (local), SOAK_SEED (default: today's date, so every shard draws the same plan),
# SOAK_ROOT (store/nightly), SOAK_KEEP_PASSING, SOAK_MAX_STORE_GB, SOAK_FLAGS (more soak flags).
# Exit status: 0 every promise held, 1 one broke, 3+ the harness failed.
set -euo pipefail
cd "$(dirname "$0")/.."
AFCHECK=${AFCHECK:-.venv/bin/afcheck}
SOAK_ROOT=${SOAK_ROOT:-store/nightly}
SOAK_DURATION=${SOAK_DURATION:-2h}
SOAK_ROUND_TIME=${SOAK_ROUND_TIME:-60}
SOAK_BACKEND=${SOAK_BACKEND:-local}
SOAK_SEED=${SOAK_SEED:-$(date -u +%Y%m%d)}

usage() { sed -n '2,16p' "$0" >&2; exit 4; }

shard() {
    local i=$1 n=$2 store="$SOAK_ROOT/shard-$1" flags=()
    [ -n "${SOAK_KEEP_PASSING:-}" ] && flags+=(--keep-passing "$SOAK_KEEP_PASSING")
    [ -n "${SOAK_MAX_STORE_GB:-}" ] && flags+=(--max-store-gb "$SOAK_MAX_STORE_GB")
    [ -f "$store/soak.json" ] && flags+=(--resume)
    # shellcheck disable=SC2086
    "$AFCHECK" soak --duration "$SOAK_DURATION" --seed "$SOAK_SEED" --shard "$i/$n" \
        --backend "$SOAK_BACKEND" --round-time "$SOAK_ROUND_TIME" --store "$store" \
        "${flags[@]}" ${SOAK_FLAGS:-}
}

merge() {
    local stores=("$SOAK_ROOT"/shard-*) flags=() code=0 STATE="$SOAK_ROOT/index-state"
    [ -d "${stores[0]}" ] || { echo "nightly: no shard store in $SOAK_ROOT" >&2; return 3; }
    mkdir -p "$STATE"
    [ -f "$STATE/index-rows.json" ] && flags+=(--history "$STATE/index-rows.json")
    "$AFCHECK" index --merge "${stores[@]}" --out "$SOAK_ROOT/merged" "${flags[@]}" || code=$?
    [ -f "$SOAK_ROOT/merged/index-rows.json" ] && cp "$SOAK_ROOT/merged/index-rows.json" "$STATE/"
    echo "nightly: index $SOAK_ROOT/merged/index.html, junit $SOAK_ROOT/merged/junit.xml"
    return "$code"
}

all() {
    local n=$1 worst=0 code
    for i in $(seq 1 "$n"); do
        code=0
        shard "$i" "$n" || code=$?
        echo "nightly: shard $i/$n exit $code"
        [ "$code" -gt "$worst" ] && worst=$code
    done
    code=0
    merge || code=$?
    # each night's commit may have built new hash-tagged images; keep the storage bounded
    if [ "$SOAK_BACKEND" = docker ]; then
        "$AFCHECK" images prune --keep 2 || echo "nightly: images prune failed (ignored)" >&2
    fi
    # a broken promise (1) outranks unknown (2); a harness failure (3+) outranks both
    if [ "$worst" -ge 3 ]; then return "$worst"; fi
    if [ "$code" -eq 1 ] || [ "$worst" -eq 1 ]; then return 1; fi
    return "$code"
}

smoke() {
    export SOAK_ROOT=${SMOKE_ROOT:-$(mktemp -d /tmp/afcheck-soak-smoke.XXXXXX)}
    export SOAK_DURATION=${SOAK_DURATION_SMOKE:-70s} SOAK_ROUND_TIME=8 SOAK_KEEP_PASSING=2
    export SOAK_MAX_STORE_GB=1 SOAK_SEED=${SOAK_SEED}
    local code=0
    all 2 || code=$?
    echo "nightly: soak-smoke in $SOAK_ROOT (exit $code)"
    .venv/bin/python -m harness.soak.smoke "$SOAK_ROOT" --keep-passing 2 || return 3
    [ "$code" -eq 2 ] && { echo "nightly: some verdicts unknown (short rounds)"; return 0; }
    return "$code"
}

case "${1:-}" in
    shard) [ $# -eq 3 ] || usage; shard "$2" "$3" ;;
    merge) [ $# -eq 1 ] || usage; merge ;;
    all) all "${2:-2}" ;;
    smoke) smoke ;;
    *) usage ;;
esac
