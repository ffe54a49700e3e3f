#!/usr/bin/env bash
# ctest "demo: pipeline": the README's demo (scripts/demo.sh) in quick mode
# against the binaries of this build, with its own checks switched on:
# at least one distiller or campaign key throttled or blocked, no benign key
# blocked, at least one alert received with a valid HMAC signature.
#   tests/demo_pipeline_test.sh BIN_DIR [DATA_DIR]
set -euo pipefail
bin_dir=${1:?usage: demo_pipeline_test.sh BIN_DIR [DATA_DIR]}
args=(--no-build --quick --check --bin-dir "$bin_dir")
[ -n "${2:-}" ] && args+=(--data-dir "$2")
exec "$(dirname "$0")/../scripts/demo.sh" "${args[@]}"
