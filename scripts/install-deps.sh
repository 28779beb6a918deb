#!/usr/bin/env bash
# Installs what gst-chatterbox needs to build, test and run on Debian 12 (as root, or via sudo).
# libopenblas0-pthread matters: without it libtorch falls back to the reference BLAS (~30x slower).
set -euo pipefail
packages=(
  build-essential meson ninja-build pkg-config ccache cmake
  libtorch-dev libopenblas0-pthread nlohmann-json3-dev libsoxr-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  libgtest-dev googletest
  # Japanese kanji readings for the multilingual model (-Dkakasi, GPL-2+)
  libkakasi2-dev kakasi-dic
  # the examples (examples/, suite 'examples') and their pipeline pictures
  gstreamer1.0-plugins-bad gstreamer1.0-nice python3-gi
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 graphviz
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
