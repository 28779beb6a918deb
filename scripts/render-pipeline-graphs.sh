#!/usr/bin/env bash
# Draws the docs' pipeline pictures (docs/images/*.png) from the real pipelines: runs each
# example on the tiny test model with GST_DEBUG_DUMP_DOT_DIR set (the examples dump their
# graph once it is negotiated) and renders the .dot files with Graphviz.
#
#   scripts/render-pipeline-graphs.sh [BUILD_DIR]     (default: build; it must be built)
#
# PYTHON selects the interpreter (default python3); it needs PyGObject (python3-gi).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(cd "${1:-build}" && pwd)
python=${PYTHON:-python3}
model=$build/models/tiny-model
[ -f "$model/t3_cfg.safetensors" ] || { echo "no tiny model in $model: build first" >&2; exit 1; }
command -v dot >/dev/null || { echo "Graphviz is missing (apt install graphviz)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GST_DEBUG_DUMP_DOT_DIR=$work
export GST_PLUGIN_PATH=$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
export GST_REGISTRY=$work/registry.dat
common=(--model-path "$model" --seed 1 --timeout 240)

run() {
  echo "running $1"
  # The picture only needs the pipeline to have run: a failed check is reported, not fatal.
  "$python" "examples/$1" "${common[@]}" "${@:2}" >"$work/${1%.py}.json" ||
    echo "($1 reported failed checks, see above)"
}
run speak_from_app.py --max-tokens 40 --record "$work/app.wav" --sync --latency 5000
run rtp_loopback.py --max-tokens 30
run webrtc_loopback.py --max-tokens 30
run dub_subtitles.py --subtitles examples/data/dub.srt --out "$work/dub.wav"

mkdir -p docs/images
for name in app rtp-sender rtp-receiver webrtc-sender webrtc-receiver dubbing; do
  dot_file=$work/$name.dot
  [ -f "$dot_file" ] || { echo "the example did not dump $name.dot" >&2; exit 1; }
  # Machine paths (model, temporary files) and object addresses (a sink's last-sample) would
  # only clutter the picture and change it from machine to machine.
  sed -e "s|$work/||g" -e "s|$build/|build/|g" -e "s|$root/||g" \
    -e 's|\\nlast-sample=((GstSample\*) 0x[0-9a-f]*)||' "$dot_file" >"$work/clean.dot"
  dot -Tpng -Gdpi=72 "$work/clean.dot" -o "docs/images/$name.png"
  echo "wrote docs/images/$name.png"
done
