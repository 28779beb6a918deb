#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs dependencies, builds, and runs
# `meson test` (unit, parity against ../shared/oracle, element, storms, bad input, fuzz, tools),
# then the unit, engine, element and fuzz tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer (scripts/sanitize.sh, a second build in ./build-asan; docs/testing.md
# says what runs, how long it takes and why). CHATTERBOX_SANITIZE=0 skips the sanitizer run.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
meson test -C build --print-errorlogs --num-processes 2 "$@"
if [ "${CHATTERBOX_SANITIZE:-1}" != 0 ]; then
  start=$SECONDS
  scripts/sanitize.sh
  echo "test.sh: sanitizer build and run took $((SECONDS - start)) s"
fi
