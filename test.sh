#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs dependencies, builds, and runs
# `meson test` (unit, parity against ../shared/oracle, element, tools).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
meson test -C build --print-errorlogs --num-processes 2 "$@"
