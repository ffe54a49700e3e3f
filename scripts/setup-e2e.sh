#!/usr/bin/env bash
# Installs the end-to-end test's npm dependency (the official `openai` client,
# pinned in tests/e2e/package.json) into tests/e2e/node_modules.
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail
cd "$(dirname "$0")/../tests/e2e"
if ! command -v npm >/dev/null 2>&1; then
  echo "setup-e2e: npm not found (apt-get install -y nodejs npm); the e2e test will be skipped" >&2
  exit 1
fi
want=$(node -p 'require("./package.json").dependencies.openai')
have=$(node -p 'try { require("./node_modules/openai/package.json").version } catch { "" }' 2>/dev/null || true)
if [ "$have" = "$want" ]; then
  echo "setup-e2e: openai $have already installed"
  exit 0
fi
npm install --no-audit --no-fund
echo "setup-e2e: openai $(node -p 'require("./node_modules/openai/package.json").version') installed"
