#!/usr/bin/env bash
# Fuzzes demo-server's request path (apps/demo-server/fuzz/request_fuzzer.cpp)
# with libFuzzer under ASan + UBSan, for a bounded time.
#
#   scripts/fuzz-server.sh [SECONDS]    (default 60; the build takes a few minutes more)
#
# Builds with clang 14 in build/fuzz, seeds the corpus with the requests of
# apps/demo-server/fuzz/seeds (taken from the integration tests), and runs
# the fuzzer for SECONDS. A crash, leak, sanitizer report or hang (an input
# taking over 10 s) fails the run; libFuzzer leaves the input as
# build/fuzz/crash-* (or leak-*, timeout-*), to be added to fuzz/seeds and to
# an integration test once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
case "$seconds" in '' | *[!0-9]*) echo "fuzz-server.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac
./scripts/setup.sh --tests
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}" CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
# ASan + UBSan on everything, but UBSan's -fsanitize=function check: clang
# 14 fails on it in some coroutine code ("Cannot represent a difference
# across sections").
sanitize="-fsanitize=address,undefined -fno-sanitize=function -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DLIBSYNC_SANITIZE= -DLIBSYNC_BUILD_TESTS=OFF -DDEMO_SERVER_FUZZ=ON >/dev/null
nice -n 10 cmake --build build/fuzz --target demo-server-fuzz
corpus=build/fuzz/corpus
mkdir -p "$corpus"
cp apps/demo-server/fuzz/seeds/* "$corpus"/
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd build/fuzz
./apps/demo-server/demo-server-fuzz -max_total_time="$seconds" -timeout=10 -max_len=16384 \
  -rss_limit_mb=2048 -print_final_stats=1 corpus
