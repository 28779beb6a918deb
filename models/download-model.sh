#!/bin/sh
# Downloads the files of a Chatterbox model from Hugging Face into the hub cache layout, where
# gst-chatterbox finds them without configuration:
#   ${HF_HUB_CACHE:-${HF_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}/hub}/
#     models--ResembleAI--chatterbox[-turbo|-nano]/snapshots/<revision>/{...}
# English files are checked against their published sizes; Turbo/Nano files (sizes not recorded
# here) must be non-empty. Re-running resumes/skips complete files.
#
# usage: models/download-model.sh [--variant english|turbo|nano|multilingual] [--revision REV] [--dir DIR]
#   --variant   english (ResembleAI/chatterbox, default), turbo (ResembleAI/chatterbox-turbo),
#               nano (ResembleAI/chatterbox-nano) or multilingual (the 23-language files of
#               ResembleAI/chatterbox; a directory that also holds the complete English files is
#               taken as English, so use --dir for a directory of its own when you have both)
#   --revision  a branch or commit of the HF repo (default: main)
#   --dir       download into DIR (flat) instead of the hub cache; then set
#               CHATTERBOX_MODEL_DIR=DIR or pass DIR as the model directory
# Needs curl (or wget). Honours HF_TOKEN and HF_ENDPOINT.
set -eu

VARIANT=english
REVISION=main
DEST=
while [ $# -gt 0 ]; do
  case "$1" in
    --variant) VARIANT=$2; shift 2 ;;
    --revision) REVISION=$2; shift 2 ;;
    --dir) DEST=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

ENDPOINT=${HF_ENDPOINT:-https://huggingface.co}
# name:size in bytes (size "any": not recorded here, any non-empty file is accepted; "opt": the
# same, and a file the repository lacks is skipped: the tokenizer reads it only when present)
GPT2_TOKENIZER="vocab.json:any merges.txt:any added_tokens.json:opt special_tokens_map.json:opt tokenizer_config.json:opt"
case "$VARIANT" in
  english)
    REPO=ResembleAI/chatterbox
    FILES="t3_cfg.safetensors:2129653744 s3gen.safetensors:1056484620 ve.safetensors:5695784 tokenizer.json:25470 conds.pt:107374" ;;
  turbo)
    REPO=ResembleAI/chatterbox-turbo
    FILES="t3_turbo_v1.safetensors:any s3gen_meanflow.safetensors:any ve.safetensors:any conds.pt:any $GPT2_TOKENIZER" ;;
  nano)
    REPO=ResembleAI/chatterbox-nano
    FILES="t3_nano_v1.safetensors:any s3gen_meanflow.safetensors:any ve.safetensors:any conds.pt:any $GPT2_TOKENIZER" ;;
  multilingual)
    # S3Gen and the voice encoder are the English files (their .safetensors copies); the Cangjie
    # table (Chinese) and the built-in voice are optional.
    REPO=ResembleAI/chatterbox
    FILES="t3_mtl23ls_v2.safetensors:any s3gen.safetensors:1056484620 ve.safetensors:5695784 grapheme_mtl_merged_expanded_v1.json:any Cangjie5_TC.json:opt conds.pt:opt" ;;
  *) echo "unknown variant: $VARIANT (english, turbo, nano or multilingual)" >&2; exit 2 ;;
esac
REPO_CACHE_NAME=models--$(printf '%s' "$REPO" | sed 's|/|--|')

fetch() {  # url output
  if command -v curl >/dev/null 2>&1; then
    if [ -n "${HF_TOKEN:-}" ]; then
      curl -fL --retry 3 -C - -H "Authorization: Bearer $HF_TOKEN" -o "$2" "$1"
    else
      curl -fL --retry 3 -C - -o "$2" "$1"
    fi
  elif command -v wget >/dev/null 2>&1; then
    if [ -n "${HF_TOKEN:-}" ]; then
      wget -c --header="Authorization: Bearer $HF_TOKEN" -O "$2" "$1"
    else
      wget -c -O "$2" "$1"
    fi
  else
    echo "need curl or wget" >&2; exit 1
  fi
}

file_size() { wc -c < "$1" | tr -d ' '; }

if [ -z "$DEST" ]; then
  HUB=${HF_HUB_CACHE:-${HF_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}/hub}
  REPO_DIR=$HUB/$REPO_CACHE_NAME
  # Resolve the revision to a commit hash, as huggingface_hub names snapshot folders.
  COMMIT=$REVISION
  if ! printf '%s' "$REVISION" | grep -Eq '^[0-9a-f]{40}$'; then
    INFO=$(mktemp)
    if fetch "$ENDPOINT/api/models/$REPO/revision/$REVISION" "$INFO" >/dev/null 2>&1; then
      COMMIT=$(sed -n 's/.*"sha":"\([0-9a-f]\{40\}\)".*/\1/p' "$INFO" | head -n 1)
    fi
    rm -f "$INFO"
    [ -n "$COMMIT" ] || COMMIT=$REVISION
    mkdir -p "$REPO_DIR/refs"
    printf '%s' "$COMMIT" > "$REPO_DIR/refs/$REVISION"
  fi
  DEST=$REPO_DIR/snapshots/$COMMIT
fi
mkdir -p "$DEST"

for entry in $FILES; do
  name=${entry%%:*}
  size=${entry#*:}
  out=$DEST/$name
  if [ -f "$out" ] && { [ "$(file_size "$out")" = "$size" ] || { [ "$size" != "${size#[ao]}" ] && [ -s "$out" ]; }; }; then
    echo "$name: present ($size bytes)"
    continue
  fi
  echo "$name: downloading ($size bytes)"
  if [ "$size" = opt ]; then
    fetch "$ENDPOINT/$REPO/resolve/$REVISION/$name" "$out.part" || { echo "$name: not in $REPO (optional)"; rm -f "$out.part"; continue; }
  else
    fetch "$ENDPOINT/$REPO/resolve/$REVISION/$name" "$out.part"
  fi
  got=$(file_size "$out.part")
  if [ "$size" != "${size#[ao]}" ] && [ "$got" -gt 0 ]; then
    :
  elif [ "$got" != "$size" ]; then
    echo "$name: got $got bytes, expected $size; the upstream file changed or the download is incomplete." >&2
    echo "  (kept as $out.part; rerun to resume, or check the repository)" >&2
    exit 1
  fi
  mv "$out.part" "$out"
done
echo "model ready in $DEST"
if [ "$VARIANT" = multilingual ] && [ -f "$DEST/t3_cfg.safetensors" ] && [ -f "$DEST/tokenizer.json" ]; then
  echo "note: $DEST also holds English files; where those are complete the English model is used." >&2
  echo "      Download with --dir DIR for a multilingual-only directory." >&2
fi
