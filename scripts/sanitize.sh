#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run (docs/testing.md, "Sanitizers"): builds
# gst-chatterbox a second time into ./build-asan with -fsanitize=address,undefined and runs the
# unit, engine, element (fake synthesizer and tiny models), storm, bad-input and fuzz tests there.
# Any sanitizer report fails the run: ASan and UBSan stop the test at the first report
# (halt_on_error), LeakSanitizer fails the process that leaked. Third-party reports are
# suppressed in scripts/sanitizers/*.supp, each entry with its reason.
#
#   scripts/sanitize.sh [TEST...]    (default: every test listed below)
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}"
here="$(pwd)"

if [ ! -f build-asan/build.ninja ]; then
  # b_lundef=false: the sanitizer runtimes resolve some symbols at load time.
  # b_pch=false: precompiled headers defeat ccache (and are built per sanitizer flags anyway).
  # -O1 -g1: line tables for the reports at a fraction of the compile time of full debug
  # information (libtorch's headers make that the bulk of the build); asserts stay on.
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Db_pch=false \
    -Dbuildtype=plain -Doptimization=1 -Ddebug=false -Dcpp_args=-g1
fi

# The tests this run covers (not parity: numerically heavy, no new code paths; not the
# gst-inspect/gst-launch tests: those run uninstrumented GStreamer binaries that would need the
# ASan runtime preloaded, and their code paths are the GstCheck tests').
# Trimmed for CI's time limit (docs/testing.md, "Sanitizers"): chunk-plan, voice-cache,
# turbo-engine and mtl-engine run when named on the command line.
tests=(unit engine bad-model
       fuzz-safetensors fuzz-tokenizer fuzz-gpt2_tokenizer fuzz-conds fuzz-text_framing
       fuzz-mtl_tokenizer
       chatterboxtts-queue chatterboxtts chatterboxtts-engine chatterboxtts-bad-input
       chatterboxtts-storms)
if [ $# -gt 0 ]; then tests=("$@"); fi

# Build only what those tests need (the benches and parity runner are large and unused here).
targets=(models/tiny-model models/tiny-turbo-model models/tiny-mtl-model)
for t in "${tests[@]}"; do
  case "$t" in
    unit) targets+=(tests/unit/chatterbox-unit-tests) ;;
    chunk-plan|voice-cache|engine|bad-model|turbo-engine|mtl-engine) targets+=("tests/engine/$t-test") ;;
    fuzz-*) targets+=("tests/fuzz/chatterbox-$t") ;;
    chatterboxtts*) targets+=("tests/element/test-$t") ;;
    *) echo "sanitize.sh: unknown test $t" >&2; exit 2 ;;
  esac
done
build_start=$SECONDS
ninja -C build-asan -j "$(nproc)" "${targets[@]}"
echo "sanitize.sh: build took $((SECONDS - build_start)) s"

supp="$here/scripts/sanitizers"
# Why each option is there: docs/testing.md, "Sanitizer options".
export ASAN_OPTIONS="halt_on_error=1:fast_unwind_on_malloc=0:abort_on_error=0:detect_leaks=1:detect_odr_violation=0:\
alloc_dealloc_mismatch=0:detect_stack_use_after_return=0:strict_string_checks=0:\
print_suppressions=0:exitcode=23"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0:exitcode=23"
export UBSAN_OPTIONS="suppressions=$supp/ubsan.supp:print_stacktrace=1:halt_on_error=1:\
exitcode=23:print_suppressions=0"
# One libtorch thread: the tests are about our threads, and OpenMP's uninstrumented pool only
# slows an instrumented run down.
export OMP_NUM_THREADS=1
# GLib's slice allocator would hide leaked GLib blocks from LeakSanitizer (GLib 2.74, Debian 12).
export G_SLICE=always-malloc G_DEBUG=gc-friendly
# The storm and bad-input watchdog (tests/element/storm_check.h) catches hangs; under ASan on two
# loaded cores a legitimate step (1 MB of text pushed in 1-byte buffers) takes longer than its
# default 120 s.
export CHATTERBOX_TEST_STEP_SECONDS="${CHATTERBOX_TEST_STEP_SECONDS:-900}"
# GstCheck's per-test timeouts (CK_DEFAULT_TIMEOUT in tests/element/meson.build), likewise.
export CK_TIMEOUT_MULTIPLIER="${CK_TIMEOUT_MULTIPLIER:-5}"
# Left out here, run only in the normal suite: four unit tests that are pure arithmetic on large
# inputs (1 MB of text through the splitter, whose short cases do run; random weights for whole
# test models), which ASan slows about 100-fold (6 of the unit suite's 7 min under ASan, 5 s
# without). The gtest filter is read by every gtest binary; the names exist only in `unit`.
export GTEST_FILTER="${GTEST_FILTER:--Splitter.OneMegabyte:TestModel.DeterministicPerSeed:\
TestModel.TurboDeterministicPerSeed:TestModel.TinyNanoDirectoryIsComplete}"
# Timeouts x3: instrumented code runs several times slower (the fuzz targets still run for their
# fixed 8 s each).
test_start=$SECONDS
meson test -C build-asan --no-rebuild --print-errorlogs --num-processes 2 \
  --timeout-multiplier 3 "${tests[@]}"
echo "sanitize.sh: tests took $((SECONDS - test_start)) s"
