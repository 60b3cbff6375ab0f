#!/usr/bin/env bash
# Install arangojs (pinned in tools/node/package-lock.json) into tools/node/node_modules
# (git-ignored), for `afcheck run --client arangojs`. Needs node >= 20 and npm.
set -euo pipefail
cd "$(dirname "$0")/node"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install-arangojs: skipped: no node/npm on PATH (the arangojs client mode will skip)"
    exit 0
fi
want=$(node -p 'require("./package-lock.json").packages["node_modules/arangojs"].version')
have=$(node -p 'try { require("./node_modules/arangojs/package.json").version } catch { "" }')
if [ "$have" = "$want" ]; then
    exit 0
fi
echo "installing arangojs $want (npm ci)"
npm ci --no-audit --no-fund --silent
