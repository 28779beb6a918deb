#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs dependencies, builds, and runs
# `meson test` (unit, parity against ../shared/oracle, element, storms, bad input, fuzz, tools),
# and with CHATTERBOX_SANITIZE=1 the same unit, engine, element and fuzz tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer (scripts/sanitize.sh; docs/testing.md says
# what runs and why, and why it is not on by default yet).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
meson test -C build --print-errorlogs --num-processes 2 "$@"
if [ "${CHATTERBOX_SANITIZE:-0}" = 1 ]; then
  scripts/sanitize.sh
fi
