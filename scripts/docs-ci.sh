#!/usr/bin/env bash
# Builds the API reference (Doxygen, docs/Doxyfile) and fails on any
# warning, an undocumented public member included, printing every warning.
#
#   scripts/docs-ci.sh                    every header in libsync/include/sync
#                                         (sync/detail/ is internal: never read)
#   scripts/docs-ci.sh HEADER...          just these (paths, or names such as
#                                         semaphore.hpp)
#   DOCS_EXCLUDE="loop.hpp io.hpp" scripts/docs-ci.sh
#                                         every header but these
#   DOCS_OUTPUT=DIR                       where html/ goes (default build/docs)
#   DOCS_WARN_ONLY=1                      print the warnings but exit 0 (the
#                                         CMake target `docs` does this)
#
# Takes about 2 s.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hdr_dir="$root/libsync/include/sync"
command -v doxygen >/dev/null || "$root/scripts/setup.sh" --linux-tests >/dev/null

resolve() {  # a header given as a path or as a name in libsync/include/sync
  if [ -f "$1" ]; then realpath "$1"
  elif [ -f "$hdr_dir/$1" ]; then echo "$hdr_dir/$1"
  else echo "docs-ci: no such header: $1 (looked in . and libsync/include/sync)" >&2; exit 2
  fi
}
inputs=()
if [ "$#" -gt 0 ]; then
  for h in "$@"; do inputs+=("$(resolve "$h")"); done
else
  excluded=()
  for e in ${DOCS_EXCLUDE:-}; do excluded+=("$(resolve "$e")"); done
  for h in "$hdr_dir"/*.hpp; do
    skip=0
    for e in "${excluded[@]}"; do [ "$h" = "$e" ] && skip=1; done
    [ "$skip" = 1 ] || inputs+=("$h")
  done
fi
[ "${#inputs[@]}" -gt 0 ] || { echo "docs-ci: no headers left to document" >&2; exit 2; }

out="${DOCS_OUTPUT:-$root/build/docs}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -rf "$out/html" "$out/warnings.log"
start=$(date +%s)
rc=0
# The main page also documents namespace libsync, without which Doxygen
# would not report undocumented enums and functions at namespace scope in a
# header that documents nothing else.
DOCS_INPUT="$root/docs/mainpage.dox ${inputs[*]}" DOCS_OUTPUT="$out" DOCS_STRIP="$root/libsync/include" \
  doxygen "$root/docs/Doxyfile" || rc=$?
warnings=$(cat "$out/warnings.log" 2>/dev/null || true)
if [ "$rc" -ne 0 ] || [ -n "$warnings" ]; then
  [ -n "$warnings" ] && printf '%s\n' "$warnings" | sed "s|$root/||"
  echo "docs-ci: Doxygen reported $(grep -cE '(warning|error):' <<<"$warnings" || true) warning(s) in ${#inputs[@]} header(s) (exit $rc)" >&2
  [ "${DOCS_WARN_ONLY:-0}" = 1 ] && [ -f "$out/html/index.html" ] && { echo "docs-ci: reference in $out/html/index.html"; exit 0; }
  exit 1
fi
echo "docs-ci: ${#inputs[@]} header(s), no warnings, $(( $(date +%s) - start )) s; reference in ${out#"$root"/}/html/index.html"
