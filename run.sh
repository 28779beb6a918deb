#!/usr/bin/env bash
# The main job: set everything up, then speak a sentence into a WAV file through a real
# gst-launch-1.0 pipeline.
#
#   ./run.sh                        speak with the real model (model-path, $CHATTERBOX_MODEL_DIR or the
#                                   Hugging Face cache; see models/README.md to download it)
#   ./run.sh --test-model           no real weights here: use a generated random-weight tiny model
#                                   (noise, but the whole path)
#   ./run.sh [--test-model] "Some text." out.wav
set -euo pipefail
cd "$(dirname "$0")"
use_test_model=0
if [ "${1:-}" = "--test-model" ]; then use_test_model=1; shift; fi
text="${1:-Hello from Chatterbox, speaking through GStreamer.}"
out="${2:-chatterbox-hello.wav}"

scripts/install-deps.sh
scripts/build.sh

export GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
model_args=()
if [ "$use_test_model" = 1 ]; then
  model_dir="$PWD/build/run-test-model"
  [ -f "$model_dir/t3_cfg.safetensors" ] ||
    build/models/chatterbox-make-test-model --size tiny --seed 1 --out "$model_dir"
  echo "Using the generated random-weight test model in $model_dir (the audio is noise)."
  model_args=(model-path="$model_dir")
elif [ -n "${CHATTERBOX_MODEL_DIR:-}" ]; then
  model_args=(model-path="$CHATTERBOX_MODEL_DIR")
fi
status=0
gst-launch-1.0 -e chatterboxtts "${model_args[@]}" text="$text" \
  ! audioconvert ! audio/x-raw,format=S16LE ! wavenc ! filesink location="$out" || status=$?
if [ "$status" != 0 ]; then
  echo
  echo "The pipeline failed (the element's error above says why and where it looked for a model)."
  if [ "$use_test_model" = 0 ]; then
    echo "To get the real weights: models/download-model.sh (needs network), or set CHATTERBOX_MODEL_DIR."
    echo "To run the same pipeline on a generated random-weight model: $0 --test-model"
  fi
  exit "$status"
fi
echo "Wrote $out"
