#!/usr/bin/env bash
# ci_hardening.sh: the hardening CI steps: (1) the libFuzzer targets of tests/fuzz (clang, ASan +
# UBSan), each run for PD_FUZZ_SECONDS over its corpus; (2) the fast unit tests under ASan + UBSan.
# Usage: tools/ci_hardening.sh [fuzz|asan|all]  (default all). Build dir: build-fuzz (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
STEP=${1:-all}
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${PD_FUZZ_SECONDS:-20}
# A fixed seed: the CI run explores the same inputs each time, so a red run is reproducible
# (PD_FUZZ_SEED=0 lets libFuzzer pick one, for exploratory runs).
FUZZ_SEED=${PD_FUZZ_SEED:-1}
FUZZERS="safetensors config_json clip_bpe wordpiece spm png mindspore prompts"
# Fuzzers keep leak detection (per input); the gtest executables do not: LibTorch is not
# instrumented and its allocations alive at exit read as leaks.
FUZZ_ASAN_OPTIONS=detect_odr_violation=0:allocator_may_return_null=1
TEST_ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0:allocator_may_return_null=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# ASan refuses the RTLD_DEEPBIND dlopen of the SentencePiece bridge (google/sanitizers#611), so
# SentencePiece runs only in the fuzz_spm target (bridge linked without libtorch) and the gcc suite.
NO_SPM='-*SentencePiece*:*spm*'

elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# The clang tree: every module with -fsanitize=fuzzer-no-link,address,undefined (PD_FUZZ).
configure_fuzz() {
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPD_FUZZ=ON -DPD_BUILD_TOOLS=OFF "$@" >/dev/null
}

run_fuzz() {
  local t0=$(date +%s)
  configure_fuzz
  cmake --build build-fuzz -j "$JOBS" --target pd_fuzzers
  echo "fuzz build: $(elapsed "$t0")"
  mkdir -p build-fuzz/artifacts
  for p in $FUZZERS; do
    # New inputs go to a scratch corpus; tests/fuzz/corpus/<p> is only read.
    rm -rf "build-fuzz/work/$p" && mkdir -p "build-fuzz/work/$p"
    echo "== fuzz_$p (${FUZZ_SECONDS}s)"
    ASAN_OPTIONS=$FUZZ_ASAN_OPTIONS "build-fuzz/fuzz_$p" -max_total_time="$FUZZ_SECONDS" -seed="$FUZZ_SEED" -timeout=20 -rss_limit_mb=4096 \
      -malloc_limit_mb=512 -max_len=65536 -print_final_stats=0 \
      -artifact_prefix="build-fuzz/artifacts/$p-" "build-fuzz/work/$p" "tests/fuzz/corpus/$p" \
      2>&1 | grep -E "^(#[0-9]+ *DONE|INFO: seed corpus|==[0-9]+==ERROR|SUMMARY|Done)|crash|leak" || true
    if ls build-fuzz/artifacts/"$p"-* >/dev/null 2>&1; then
      echo "fuzz_$p found a failing input: build-fuzz/artifacts/$p-*; add it to tests/fuzz/corpus/$p"
      exit 1
    fi
  done
  echo "fuzz step: $(elapsed "$t0")"
}

run_asan() {
  local t0=$(date +%s)
  # The fast unit tests only (PD_ASAN_TESTS to widen): the whole suite under ASan is too slow.
  local tests=${PD_ASAN_TESTS:-"test_core test_io test_tokenizers"}
  # They reuse build-fuzz's modules, already built with ASan + UBSan: only the test sources
  # compile here. (-DPD_SANITIZE=ON in a gcc tree works too, but rebuilds every module.)
  configure_fuzz -DPD_BUILD_TESTS=ON
  # shellcheck disable=SC2086
  cmake --build build-fuzz -j "$JOBS" --target $tests
  echo "asan build: $(elapsed "$t0")"
  for t in $tests; do
    echo "== $t (ASan + UBSan)"
    (cd build-fuzz && ASAN_OPTIONS=$TEST_ASAN_OPTIONS "./$t" --gtest_brief=1 --gtest_filter="$NO_SPM")
  done
  echo "asan step: $(elapsed "$t0")"
}

case "$STEP" in
  fuzz) run_fuzz ;;
  asan) run_asan ;;
  all) run_fuzz; run_asan ;;
  *) echo "usage: $0 [fuzz|asan|all]" >&2; exit 2 ;;
esac
