#!/usr/bin/env bash
# Windows CI stage: cross-builds libsync, syncbench and the test suites for
# x86_64 Windows with mingw-w64 (cmake/mingw-w64.cmake) into build-win/, then
# runs ctest and `syncbench.exe probe --json` under Wine in a fresh, private
# WINEPREFIX that is removed afterwards. The exit code is the test result.
#
# Installs nothing. It needs, on Debian 12, besides what scripts/setup.sh
# installs for every build (CMake, Ninja, and the header-only doctest, CLI11
# and Boost packages, which the toolchain file exposes to mingw):
#   apt-get install -y --no-install-recommends g++-mingw-w64-x86-64-posix wine wine64
# (scripts/setup.sh --tests installs exactly these.)
#
# Wine is run non-interactively as WINDOWS_FACTS.md describes: no display, a
# persistent wineserver for this prefix only (stopped with `wineserver -k`,
# which touches no other prefix), the prefix booted once and told to report
# Windows 10. Every Wine command runs under `timeout`.
#
# Environment:
#   BUILD_DIR        build directory (default: build-win in the checkout)
#   CTEST_JOBS       parallel ctest jobs (default: 1: tests that time wakes
#                    share one wineserver, and the CPU, with each other)
#   KEEP_WINEPREFIX  set to 1 to keep the prefix for debugging
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD_DIR=${BUILD_DIR:-$SRC/build-win}
CTEST_JOBS=${CTEST_JOBS:-1}

t0=$(date +%s)
last=$t0
step() {
  local now
  now=$(date +%s)
  echo "--- [windows] $1 (+$((now - last)) s, $((now - t0)) s total)"
  last=$now
}

need=(x86_64-w64-mingw32-g++-posix wine wineserver wineboot cmake ninja timeout)
missing=()
for tool in "${need[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "windows-ci: missing ${missing[*]}; install with:" >&2
  echo "  apt-get install -y --no-install-recommends g++-mingw-w64-x86-64-posix wine wine64 (or: scripts/setup.sh --tests)" >&2
  exit 1
fi

# ---- a private Wine prefix, booted while the build runs ----
unset DISPLAY WAYLAND_DISPLAY
export WINEDEBUG=-all WINEARCH=win64
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/libsync-wine.XXXXXX")
export WINEPREFIX
WINE_LOG=$WINEPREFIX.log
boot_pid=

cleanup() {
  local rc=$?
  [[ -n $boot_pid ]] && kill "$boot_pid" 2>/dev/null || true
  # Only this prefix's server: wineserver -k acts on $WINEPREFIX.
  timeout 30 wineserver -k >/dev/null 2>&1 || true
  if [[ ${KEEP_WINEPREFIX:-0} == 1 ]]; then
    echo "windows-ci: kept WINEPREFIX=$WINEPREFIX (log: $WINE_LOG)"
  else
    rm -rf "$WINEPREFIX" "$WINE_LOG" "$WINEPREFIX.retries"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The persistent server and the programs wineboot starts outlive the calls
# that start them: their output goes to a log file, never to this script's
# stdout, or a caller reading our output through a pipe would wait for them.
boot_prefix() {
  # -p starts a persistent server (exit 2 if one already runs for the prefix);
  # wineserver -w must never be combined with it: it would wait forever.
  timeout 60 wineserver -p || [[ $? == 2 ]]
  timeout 180 wineboot -i
  # Without this Wine reports Windows 7 to the probe.
  timeout 60 wine reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f
  # No just-in-time debugger: with winedbg attached (the default), a program
  # that crashes sometimes exits with 0, so a crashed test could pass; without
  # one it always exits with the exception code's low byte (5 for an access
  # violation).
  timeout 60 wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Debugger /t REG_SZ /d '' /f
  timeout 60 wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Auto /t REG_SZ /d 0 /f
}
boot_prefix >>"$WINE_LOG" 2>&1 </dev/null &
boot_pid=$!

# ---- cross-build ----
cmake -S "$SRC" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE="$SRC/cmake/mingw-w64.cmake" \
  -DLIBSYNC_BUILD_TESTS=ON -DLIBSYNC_BUILD_APPS=ON -DLIBSYNC_BUILD_DEMO_SERVER=OFF \
  -DLIBSYNC_WINE_LAUNCHER="$SRC/scripts/wine-run.sh"
step "configured"
cmake --build "$BUILD_DIR"
step "built libsync, syncbench and the tests"

if ! wait "$boot_pid"; then
  boot_pid=
  echo "windows-ci: preparing the Wine prefix failed; its log:" >&2
  cat "$WINE_LOG" >&2
  exit 1
fi
boot_pid=
step "Wine prefix ready ($(timeout 10 wine --version 2>/dev/null || echo wine))"

# ---- tests under Wine (the toolchain's CMAKE_CROSSCOMPILING_EMULATOR) ----
# scripts/wine-run.sh runs each test: it reports a failing test's exit code
# and retries, announced, a launch Wine failed before the program started.
rc=0
export LIBSYNC_WINE_RETRY_LOG=$WINEPREFIX.retries
: >"$LIBSYNC_WINE_RETRY_LOG"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$CTEST_JOBS" --timeout 600 </dev/null || rc=$?
if [[ -s $LIBSYNC_WINE_RETRY_LOG ]]; then
  echo "windows-ci: $(wc -l <"$LIBSYNC_WINE_RETRY_LOG") launch(es) Wine failed before the program started were tried again:"
  cat "$LIBSYNC_WINE_RETRY_LOG"
fi
step "ctest under Wine finished (exit $rc)"

# ---- the probe must pick the iocp tier ----
# auto picks a tier only if its live self-test (2000 cross-thread wakes, at
# most 2% later than 1 ms) passes. Under Wine every wake that reaches a
# sleeping loop is a wineserver round trip, so on a busy machine the odd run
# misses that bar through no fault of the tier: up to three tries.
probe_json=$BUILD_DIR/probe.json
probe_ok=0
for attempt in 1 2 3; do
  if timeout 120 wine "$BUILD_DIR/apps/syncbench/syncbench.exe" probe --json >"$probe_json" 2>"$probe_json.err" </dev/null &&
    grep -Eq '"selected_tier"[[:space:]]*:[[:space:]]*"iocp"' "$probe_json"; then
    echo "syncbench probe under Wine: selected tier iocp (try $attempt)"
    probe_ok=1
    break
  fi
  echo "windows-ci: try $attempt: syncbench probe did not select iocp:" \
    "$(grep -Eo '"selection_reason"[[:space:]]*:[[:space:]]*"[^"]*"' "$probe_json" || cat "$probe_json.err")" >&2
done
if ((!probe_ok)); then
  echo "windows-ci: syncbench.exe probe --json never selected the iocp tier; last output:" >&2
  cat "$probe_json" "$probe_json.err" >&2
  rc=1
fi
step "probe checked"

echo "=== Windows stage: exit $rc after $(( $(date +%s) - t0 )) s (Wine timings say nothing about Windows performance)"
exit "$rc"
