#!/usr/bin/env bash
# Configures (once) and builds gst-chatterbox into ./build. ccache keeps rebuilds fast.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}"
if [ ! -f build/build.ninja ]; then
  meson setup build "$@"
fi
# Two cores and libtorch headers: keep parallelism at the core count.
ninja -C build -j "$(nproc)"
