#!/usr/bin/env bash
# Exhaustive model checks, explained in tests/model/README.md: the loop's
# cross-thread wake protocol (tests/model/wake.pml) and the Semaphore's
# permit protocol (tests/model/semaphore.pml).
#
#   scripts/model-check.sh                 check both protocols and every mutant
#   scripts/model-check.sh --trail MUTANT [-DSWITCH...]
#                                          print the shortest counterexample of one
#                                          mutant (e.g. NO_RECHECK; BLIND_ADD -DPERMITS=2)
#
# The protocol and its variants must verify; each mutant deletes or moves one
# step and must be refuted with the failure named beside it. One line per run;
# the script exits non-zero if any verdict is not the expected one. The whole
# run takes about 30 s on a loaded 2-core machine: compiling the verifiers,
# and the largest semaphore searches (3 tasks, a few million states, 5-20 s).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if ! command -v spin >/dev/null || ! command -v cc >/dev/null; then
  "$root/scripts/setup.sh" --tests
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$root/tests/model/wake.pml" "$root/tests/model/semaphore.pml" "$work/"
cd "$work"
pml=wake.pml  # the model the next runs check

# Build a verifier for the model with the given -D switches and cc flags.
build() {
  local ccflags="$1"; shift
  rm -f pan pan.* ./*.trail
  spin "$@" -a "$pml" >spin.log 2>&1 || { cat spin.log >&2; exit 2; }
  # shellcheck disable=SC2086
  cc -O0 $ccflags -o pan pan.c 2>cc.log || { cat cc.log >&2; exit 2; }
}

if [ "${1:-}" = "--trail" ]; then
  [ $# -ge 2 ] || { echo "usage: $0 --trail MUTANT [-DSWITCH...]" >&2; exit 2; }
  pml=""
  for f in wake.pml semaphore.pml; do if grep -q "^ \*   *$2 " "$f"; then pml=$f; fi; done
  [ -n "$pml" ] || { echo "model-check: no mutant or variant '$2' in wake.pml or semaphore.pml" >&2; exit 2; }
  mutant=$2
  shift 2
  build "-DSAFETY -DREACH" "-D$mutant" "$@"
  ./pan -i -m100000 -w22 >pan.log
  grep -q "errors: [1-9]" pan.log || { echo "model-check: $mutant $* has no counterexample" >&2; exit 1; }
  grep -m1 '^pan:1:' pan.log
  spin "-D$mutant" "$@" -t -p -g "$pml"
  exit 0
fi

failures=0
# run NAME MODE EXPECT [-DSWITCH...]
#   MODE   safety: assertions and end states; termination: no cycle at all
#   EXPECT "no errors", or the kind of failure the mutant must produce
run() {
  local name="$1" mode="$2" expect="$3"; shift 3
  local t0 t1 ccflags panflags got verdict
  t0=$(date +%s.%N)
  if [ "$mode" = termination ]; then ccflags="-DNP"; panflags="-l"; else ccflags="-DSAFETY"; panflags=""; fi
  build "$ccflags" "$@"
  # shellcheck disable=SC2086
  ./pan $panflags -m100000 -w22 >pan.log 2>&1 || true
  t1=$(date +%s.%N)
  if grep -q "max search depth too small" pan.log; then
    got="search truncated"
  elif grep -q "errors: 0" pan.log; then
    got="no errors"
  else
    got="$(sed -n 's/^pan:1: \(invalid end state\|assertion violated\|non-progress cycle\).*/\1/p' pan.log | head -n1)"
    got="${got:-unrecognised pan output}"
  fi
  local states
  states="$(awk '/states, stored/ { print $1; exit }' pan.log)"
  if [ "$got" = "$expect" ]; then verdict="as expected"; else verdict="UNEXPECTED (wanted: $expect)"; failures=$((failures + 1)); fi
  printf 'model-check: %-9s %-34s %-11s %-20s %-12s %8s states %5.1f s\n' \
    "${pml%.pml}" "$name" "$mode" "$got" "$verdict" "${states:-?}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
  if [ "$verdict" != "as expected" ]; then sed 's/^/    pan: /' pan.log >&2; fi
}

# The protocol as implemented, then its variants; 2 wakers x 2 wakes unless said.
run "protocol"                        safety      "no errors"
run "protocol"                        termination "no errors"
run "protocol, 3 wakers, busy 2"      safety      "no errors" -DWAKERS=3 -DBUSY=2
run "protocol, wake after unlock"     safety      "no errors" -DWAKE_AFTER_UNLOCK
run "protocol, wake after unlock"     termination "no errors" -DWAKE_AFTER_UNLOCK
run "protocol, unconditional wake"    safety      "no errors" -DWAKE_ALWAYS
# Mutants: each removes or moves one step the protocol relies on.
run "mutant NO_RECHECK"               safety "invalid end state"  -DNO_RECHECK
run "mutant RESET_AFTER_RECHECK"      safety "invalid end state"  -DRESET_AFTER_RECHECK
run "mutant NO_RESET"                 safety "assertion violated" -DNO_RESET
run "mutant PARK_AFTER_RECHECK"       safety "invalid end state"  -DPARK_AFTER_RECHECK
run "mutant WAKER_CHECKS_FIRST"       safety "invalid end state"  -DWAKER_CHECKS_FIRST
run "mutant NO_NOTIFIED_CLEAR"        safety "invalid end state"  -DNO_NOTIFIED_CLEAR
run "mutant NO_NOTIFIED"              safety "assertion violated" -DNO_NOTIFIED
run "mutant NO_COMPARE"               safety "invalid end state"  -DNO_COMPARE
run "mutant NO_RECHECK, after unlock" safety "invalid end state"  -DNO_RECHECK -DWAKE_AFTER_UNLOCK
run "mutant SPIN_TAKES_PENDING"       safety "invalid end state"  -DSPIN_TAKES_PENDING

# The Semaphore: 2 tasks x 2 rounds, a holder and a destroyer over 1 permit
# unless said.
pml=semaphore.pml
run "protocol"                        safety      "no errors"
run "protocol, 3 tasks"               safety      "no errors" -DTASKS=3
run "protocol, 2 permits, given up"   safety      "no errors" -DCANCEL -DPERMITS=2
run "protocol, 3 tasks, given up"     safety      "no errors" -DCANCEL -DTASKS=3
run "protocol, closed"                safety      "no errors" -DCLOSE
run "protocol, closed, given up"      safety      "no errors" -DCLOSE -DCANCEL -DPERMITS=2
run "mutant BLIND_ADD, 2 permits"     safety "assertion violated" -DBLIND_ADD -DPERMITS=2
run "mutant PUBLISH_LOCKED, given up" safety "assertion violated" -DPUBLISH_LOCKED -DCANCEL
run "mutant IGNORE_FLAG"              safety "invalid end state"  -DIGNORE_FLAG
run "mutant SPLIT_CHECK"              safety "invalid end state"  -DSPLIT_CHECK
run "mutant NO_DTOR_LOCK, closed"     safety "assertion violated" -DCLOSE -DNO_DTOR_LOCK

if [ "$failures" -gt 0 ]; then
  echo "model-check: $failures verdict(s) not as expected" >&2
  exit 1
fi
echo "model-check: all verdicts as expected"
