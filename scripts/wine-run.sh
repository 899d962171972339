#!/usr/bin/env bash
# Runs one Windows program under Wine for ctest (windows-ci.sh passes this
# script as CMAKE_CROSSCOMPILING_EMULATOR): `wine-run.sh prog.exe args...`.
#
# What it adds to a plain `wine prog.exe`:
#  - a failing run prints, on stderr, the exit code and how long it took, so
#    a crash (Wine's exit code is the exception code's low byte: 5 for an
#    access violation) is told apart from a failed assertion;
#  - a launch that dies before the program can have run at all — a non-zero
#    exit, not one byte of output, and less time than the launch probe below
#    takes to start a trivial program — is Wine failing to start the
#    process, not the program failing. Such a launch is tried again, at most
#    twice, each retry announced on stderr and logged to
#    $LIBSYNC_WINE_RETRY_LOG (if set) for the stage summary. A run that
#    printed anything, or ran long enough to have started, is never retried.
#
# The launch floor: the time `wine cmd /c exit 0` takes in this prefix,
# measured once per prefix (cached in $WINEPREFIX/.libsync-launch-ms); a
# program's own run can only be longer. Half of it is the bar, so a launch
# slowed by load is never mistaken for a failure to start.
set -uo pipefail
wine=${LIBSYNC_WINE:-wine}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

launch_floor_ms() {
  local cache=${WINEPREFIX:-$HOME/.wine}/.libsync-launch-ms best=""
  if [[ -r $cache ]]; then
    cat "$cache"
    return
  fi
  for _ in 1 2 3; do
    local t0 t
    t0=$(now_ms)
    "$wine" cmd /c exit 0 >/dev/null 2>&1 || continue
    t=$(($(now_ms) - t0))
    if [[ -z $best || $t -lt $best ]]; then best=$t; fi
  done
  best=${best:-0}
  echo "$best" >"$cache" 2>/dev/null || true
  echo "$best"
}

out=$(mktemp "${TMPDIR:-/tmp}/wine-run.XXXXXX")
trap 'rm -f "$out"' EXIT
prog=${1:-?}
for attempt in 1 2 3; do
  t0=$(now_ms)
  # tee keeps the output streaming to ctest and gives us its size.
  "$wine" "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  took=$(($(now_ms) - t0))
  ((rc == 0)) && exit 0
  if [[ ! -s $out ]] && ((attempt < 3)); then
    floor=$(launch_floor_ms)
    if ((took * 2 < floor)); then
      msg="wine-run: Wine exited with $rc after $took ms and no output, before $(basename "$prog") could start (a trivial program takes $floor ms to launch here): launching it again"
      echo "$msg" >&2
      [[ -n ${LIBSYNC_WINE_RETRY_LOG:-} ]] && echo "$msg" >>"$LIBSYNC_WINE_RETRY_LOG"
      continue
    fi
  fi
  echo "wine-run: $(basename "$prog") exited with code $rc after $took ms" >&2
  exit "$rc"
done
