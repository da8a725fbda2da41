#!/usr/bin/env bash
# Runs the unit and integration suites again on Node.js 24, the major version the functions run
# on in Lambda (nodejs24.x), in addition to the run on the machine's own Node.js.
# On a machine the pinned build does not cover (not Linux x86_64) it says so and stops with
# success, unless CI is set: CI must prove the runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
node24=$(scripts/node24.sh) || status=$?
if [[ $status -eq 3 && -z "${CI:-}" ]]; then
  echo "== Node.js 24: not run here (no pinned build for this platform); CI runs it" >&2
  exit 0
elif [[ $status -ne 0 ]]; then
  exit "$status"
fi
echo "== Node.js $("$node24" --version) (the Lambda runtime's major version): unit + integration suites"
exec "$node24" node_modules/vitest/vitest.mjs run test/unit test/integration "$@"
