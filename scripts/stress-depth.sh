#!/usr/bin/env bash
# Depth beyond the suites' own short runs, under the ASan and TSan builds the
# earlier CI stages made: the lifecycle stress (moving loops across threads,
# destroying tasks after their wake, blocking, forking) for longer on every
# tier, and the mixed stress at 8 times its size with fresh seeds. Every run
# prints its seed; LIBSYNC_STRESS_SEED=<seed> replays a failure.
#
#   scripts/stress-depth.sh [SECONDS]   lifecycle stress length per tier (default 45)
#
# Bounded: about 2 x (SECONDS x 3 tiers / 2 cores) + ~1 min; ~4 min at 45 s.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-45}
case "$secs" in '' | *[!0-9]*) echo "stress-depth: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;; esac
for build in asan tsan; do
  dir=build/$build
  [ -d "$dir" ] || { echo "stress-depth: $dir is missing: run 'cmake --workflow --preset $build' first" >&2; exit 1; }
  echo "--- $build: lifecycle stress, $secs s per tier"
  LIBSYNC_STRESS_SECONDS=$secs ctest --test-dir "$dir" -R '^lifecycle_stress_suite' -j2 \
    --timeout $((secs + 300)) --output-on-failure
  for _ in 1 2 3; do
    seed=$(( (RANDOM << 15) | RANDOM ))
    echo "--- $build: mixed stress, scale 8, LIBSYNC_STRESS_SEED=$seed"
    LIBSYNC_STRESS_SCALE=8 LIBSYNC_STRESS_SEED=$seed ctest --test-dir "$dir" -R '^stress_suite' -j2 \
      --timeout 600 --output-on-failure
  done
done
