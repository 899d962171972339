#!/usr/bin/env bash
# The Debian packages: builds them with CPack, checks what each contains
# (dpkg-deb -c), unpacks them into a throwaway root and runs the programs
# from there, builds the README example against the unpacked libsync-dev
# through its pkg-config file, and runs lintian (no errors allowed).
# About 2 minutes with a warm ccache (the objects match the test preset's),
# 6-8 minutes cold on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --linux-tests >/dev/null
build=build/package
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}" CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBSYNC_SHARED=ON \
  -DLIBSYNC_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build"
rm -f "$build"/*.deb
(cd "$build" && cpack -G DEB >/dev/null)
shopt -s nullglob
debs=("$build"/*.deb)
[ "${#debs[@]}" -eq 4 ] || { echo "package-ci: expected 4 .deb files, got: ${debs[*]}" >&2; exit 1; }

fail=0
expect() {  # expect PACKAGE PATH...: each PATH is in the package
  local deb=("$build"/"$1"_*.deb) listing
  listing=$(dpkg-deb -c "${deb[0]}")
  shift
  for p in "$@"; do
    grep -qE " \./${p}( |$)" <<<"$listing" || { echo "package-ci: ${deb[0]##*/} lacks $p" >&2; fail=1; }
  done
}
# The runtime package and the SONAME carry the ABI version.
abi=$(sed -nE 's/^set\(LIBSYNC_ABI_VERSION ([0-9]+) .*/\1/p' "$(dirname "$0")/../libsync/CMakeLists.txt")
[ -n "$abi" ] || { echo "package-ci: cannot read LIBSYNC_ABI_VERSION from libsync/CMakeLists.txt" >&2; exit 1; }
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
lib=usr/lib/$multiarch
expect "libsync$abi" "$lib/libsync\.so\.$abi" "$lib/libsync\.so\.$abi\.[0-9.]+" "usr/share/doc/libsync$abi/copyright"
expect libsync-dev "$lib/libsync\.so -> libsync\.so\.$abi" "$lib/libsync\.a" usr/include/sync/semaphore\.hpp \
  usr/include/sync/export\.hpp usr/include/sync/config\.hpp "$lib/cmake/libsync/libsyncConfig\.cmake" "$lib/pkgconfig/libsync\.pc"
expect syncbench usr/bin/syncbench usr/share/doc/syncbench/changelog\.Debian\.gz
expect demo-server usr/bin/demo-server etc/demo-server/demo-server\.toml lib/systemd/system/demo-server\.service
for deb in "${debs[@]}"; do
  echo "--- ${deb##*/}: $(dpkg-deb -f "$deb" Depends)"
done
# Each listing is read whole before it is searched: with pipefail, `cmd |
# grep -q` fails when grep quits at the first match and cmd is still writing.
lib_listing=$(dpkg-deb -c "$build"/libsync"$abi"_*.deb)
if grep -qE '\./(usr/include|usr/bin)' <<<"$lib_listing"; then
  echo "package-ci: libsync$abi holds more than the shared library" >&2; fail=1
fi
grep -q '^User=demo-server$' <(dpkg-deb --fsys-tarfile "$build"/demo-server_*.deb | tar -xO ./lib/systemd/system/demo-server.service) ||
  { echo "package-ci: the unit does not run as the demo-server user" >&2; fail=1; }
postinst=$(dpkg-deb -I "$build"/demo-server_*.deb postinst)
grep -q 'adduser --system' <<<"$postinst" ||
  { echo "package-ci: demo-server's postinst creates no system user" >&2; fail=1; }

# A throwaway root: unpack everything and run from there.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
for deb in "${debs[@]}"; do dpkg -x "$deb" "$root"; done
export LD_LIBRARY_PATH="$root/$lib"
"$root/usr/bin/syncbench" --version
"$root/usr/bin/syncbench" probe >/dev/null
"$root/usr/bin/demo-server" --help >/dev/null
linked=$(ldd "$root/usr/bin/syncbench")
grep -q "libsync.so.$abi => $root/" <<<"$linked" ||
  { echo "package-ci: syncbench does not use the packaged libsync.so.$abi" >&2; fail=1; }
# The README example against the unpacked -dev package, through its
# relocatable pkg-config file.
readme_example="$root/readme_example.cpp"
awk '/<!-- readme-example:begin -->/{on=1;next} /<!-- readme-example:end -->/{on=0} on' README.md |
  sed '/^```/d' >"$readme_example"
PKG_CONFIG_PATH="$root/$lib/pkgconfig" g++ "$readme_example" \
  $(PKG_CONFIG_PATH="$root/$lib/pkgconfig" pkg-config --cflags --libs libsync) -o "$root/readme_example"
"$root/readme_example"
unset LD_LIBRARY_PATH

echo "--- lintian"
lintian --fail-on error --suppress-tags-from-file /dev/null "${debs[@]}" || fail=1
[ "$fail" = 0 ] && echo "package-ci: ${#debs[@]} packages built, checked and lintian-clean (no errors)"
exit "$fail"
