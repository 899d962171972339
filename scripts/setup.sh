#!/usr/bin/env bash
# Installs what libsync needs on Debian 12 (run as root).
#   scripts/setup.sh           build + run: compiler, CMake, Ninja, ccache, liburing, CLI11, Boost, doctest, toml++
#   scripts/setup.sh --tests   also what the tests use: Chromium (dashboard test),
#                              mingw-w64 + Wine (the Windows build, run under Wine),
#                              clang 14 + its libFuzzer runtime (scripts/fuzz-server.sh),
#                              HAProxy (scripts/haproxy-rolling-restart.sh)
#   scripts/setup.sh --bench   also what the load benchmark uses: wrk, nginx
set -euo pipefail
want_tests=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=1 ;;
    --bench) want_bench=1 ;;
    *) echo "setup.sh: unknown option '$arg' (expected --tests or --bench)" >&2; exit 2 ;;
  esac
done
pkgs=(build-essential cmake ninja-build ccache pkg-config git
      liburing-dev libcli11-dev libboost1.81-dev doctest-dev libtomlplusplus-dev)
if [ "$want_tests" = 1 ]; then
  pkgs+=(chromium zlib1g-dev g++-mingw-w64-x86-64-posix wine wine64 clang-14 libclang-rt-14-dev haproxy)
fi
if [ "$want_bench" = 1 ]; then
  pkgs+=(wrk nginx-light)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup.sh: all packages present" >&2
