#!/usr/bin/env bash
# Packages the service the way CI does: `osls package --stage ci`, offline. Packaging needs no
# AWS access (the template uses CloudFormation pseudo parameters, never ${aws:...}); dummy
# credentials and a fixed region make sure a developer's real profile is never read or used.
set -euo pipefail
cd "$(dirname "$0")/.."

unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export AWS_ACCESS_KEY_ID=offline-packaging
export AWS_SECRET_ACCESS_KEY=offline-packaging
export AWS_REGION=us-east-1
export AWS_SDK_LOAD_CONFIG=0
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export SLS_TELEMETRY_DISABLED=1
export SLS_NOTIFICATIONS_MODE=off

exec npx --no-install osls package --stage ci --region us-east-1 "$@"
