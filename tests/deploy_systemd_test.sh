#!/usr/bin/env bash
# ctest "deploy: systemd unit": deploy/systemd/distillguard.service passes
# `systemd-analyze verify` (with ExecStart pointed at this build's binary).
# Exit 77 (skipped, shown by ctest) when systemd-analyze is not installed.
set -euo pipefail
bin=${1:?usage: deploy_systemd_test.sh DISTILLGUARD_BINARY}
unit="$(dirname "$0")/../deploy/systemd/distillguard.service"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s#/usr/local/bin/distillguard#$bin#" "$unit" >"$work/distillguard.service"
out=$(systemd-analyze verify "$work/distillguard.service" 2>&1 || true)
# Complaints about the host (no running systemd, missing documentation file) are not the unit's.
bad=$(printf '%s\n' "$out" | grep -v -E 'Documentation|Failed to (connect|create bus)|System has not been booted|^$' || true)
if [ -n "$bad" ]; then printf '%s\n' "$out"; exit 1; fi
echo "systemd unit verified"
