#!/usr/bin/env bash
# Lints the packaged CloudFormation template with cfn-lint (settings in .cfnlintrc.yaml). Fails on
# errors only; warnings are printed. Without cfn-lint: a failure in CI, a notice on a laptop.
set -euo pipefail
cd "$(dirname "$0")/.."

template=.serverless/cloudformation-template-update-stack.json
if [[ ! -f "$template" ]]; then
  echo "lint:template: $template is missing; run \`npm run package:ci\` first" >&2
  exit 1
fi

if ! command -v cfn-lint >/dev/null; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "lint:template: cfn-lint is not installed (pip install cfn-lint)" >&2
    exit 1
  fi
  echo "lint:template: cfn-lint is not installed (pip install cfn-lint); template not linted" >&2
  exit 0
fi

cfn-lint --version
exec cfn-lint --non-zero-exit-code error "$template"
