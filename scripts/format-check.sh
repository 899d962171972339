#!/usr/bin/env bash
# Checks that every C++ source in the repository is formatted as .clang-format
# says, with Debian 12's clang-format 14 (another version may format some
# constructs differently). Prints the files that differ and how to fix them;
# exit 1 if any does. About 5 s.
#
#   scripts/format-check.sh          check
#   scripts/format-check.sh --fix    reformat in place
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v clang-format-14 >/dev/null || scripts/setup.sh --linux-tests >/dev/null
mode=check
case "${1:-}" in
  "") ;;
  --fix) mode=fix ;;
  *) echo "format-check: unknown option '$1' (expected --fix or nothing)" >&2; exit 2 ;;
esac
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
if [ "$mode" = fix ]; then
  clang-format-14 -i "${files[@]}"
  echo "format-check: formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format-14 --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "format-check: ${#bad[@]} of ${#files[@]} files are not formatted as .clang-format says:"
  printf '  %s\n' "${bad[@]}"
  echo "run scripts/format-check.sh --fix (clang-format 14), or see a diff with: clang-format-14 FILE | diff FILE -"
  exit 1
fi
echo "format-check: all ${#files[@]} files formatted"
