#!/usr/bin/env bash
# Build actionlint (the GitHub Actions workflow linter) from the Go module proxy into tools/bin.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=v1.7.7
BIN=bin/actionlint
if [ -x "$BIN" ] && [ "$(cat bin/.actionlint-version 2>/dev/null)" = "$VERSION" ]; then
    exit 0
fi
mkdir -p bin gopath
echo "installing actionlint $VERSION (go install)"
GOPATH="$PWD/gopath" GOBIN="$PWD/bin" GOFLAGS=-modcacherw CGO_ENABLED=0 \
    go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"
echo "$VERSION" > bin/.actionlint-version
