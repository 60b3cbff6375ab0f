#!/usr/bin/env bash
# Build Toxiproxy's server from the Go module proxy into tools/bin (git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
VERSION=v2.12.0
BIN=bin/toxiproxy-server
if [ -x "$BIN" ] && [ "$(cat bin/.toxiproxy-version 2>/dev/null)" = "$VERSION" ]; then
    exit 0
fi
mkdir -p bin gopath
echo "installing toxiproxy $VERSION (go install)"
GOPATH="$PWD/gopath" GOBIN="$PWD/bin" GOFLAGS=-modcacherw CGO_ENABLED=0 \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@$VERSION"
mv bin/server "$BIN"
echo "$VERSION" > bin/.toxiproxy-version
