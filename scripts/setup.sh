#!/usr/bin/env bash
# Installs what libsync needs on Debian 12 (run as root).
#   scripts/setup.sh               build + run: compiler, CMake, Ninja, ccache, liburing, CLI11, Boost, doctest, toml++
#   scripts/setup.sh --linux-tests what the Linux test suites use besides: Chromium (~290 MB; the
#                                  dashboard and HTML-report browser tests), zlib (reads their
#                                  screenshots), lintian + dpkg-dev + file (the Debian package test),
#                                  Spin (the model checks of the wake and permit protocols), clang (checks that dropped
#                                  co_await results are diagnosed), QEMU + busybox + cpio (Debian's
#                                  own kernels, booted by scripts/qemu-kernels.sh), clang 14 + its
#                                  libFuzzer runtime (scripts/fuzz-server.sh), HAProxy (the
#                                  rolling-restart test), Doxygen (scripts/docs-ci.sh: the API
#                                  reference, no warnings allowed), clang-format 14
#                                  (scripts/format-check.sh)
#   scripts/setup.sh --tests       all of --linux-tests, plus mingw-w64 + Wine (~650 MB; the Windows
#                                  cross-build and its tests under Wine); what CI installs
#   scripts/setup.sh --bench       also what the load benchmark uses: wrk, nginx
set -euo pipefail
want_linux_tests=0
want_windows=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --tests) want_linux_tests=1; want_windows=1 ;;
    --linux-tests) want_linux_tests=1 ;;
    --bench) want_bench=1 ;;
    *) echo "setup.sh: unknown option '$arg' (expected --tests, --linux-tests or --bench)" >&2; exit 2 ;;
  esac
done
pkgs=(build-essential cmake ninja-build ccache pkg-config git
      liburing-dev libcli11-dev libboost1.81-dev doctest-dev libtomlplusplus-dev)
if [ "$want_linux_tests" = 1 ]; then
  pkgs+=(chromium zlib1g-dev lintian dpkg-dev file spin clang clang-14 libclang-rt-14-dev haproxy clang-format-14
         qemu-system-x86 busybox-static cpio python3 doxygen)
fi
if [ "$want_windows" = 1 ]; then
  pkgs+=(g++-mingw-w64-x86-64-posix wine wine64)
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
