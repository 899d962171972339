#!/usr/bin/env bash
# Boots Debian 12's own kernels under QEMU (software emulation, no KVM) and
# checks on each that libsync's probe decides right and the tier suites pass
# or skip as they must:
#   no-futex-ops    stock 6.1 (linux-image-6.1.0-N-cloud-amd64): io_uring
#                   without the FUTEX opcodes
#   futex-ops       6.12 (linux-image-6.12.N+deb12-cloud-amd64-unsigned):
#                   FUTEX opcodes, no PR_FUTEX_HASH
#   uring-disabled  the same 6.12 with kernel.io_uring_disabled = 2
# The expectations are in scripts/qemu/check_console.py, the VM's /init is
# scripts/qemu/init.sh. Each boot's console (with `syncbench probe --json`)
# is printed, then one VERDICT line per case.
#
# Time on the CI machine (2 shared cores, load average 7-12): 37-85 s, plus
# about 15 s the first time (apt-get update, 61 MB of kernel packages).
# Bounded: each boot is killed after QEMU_TIMEOUT, each suite run after 60 s.
#
# usage: scripts/qemu-kernels.sh [BUILD_DIR]    (default build/test; it must
#        hold syncbench and the tier suites, e.g. `cmake --workflow --preset test`)
# Environment: QEMU_TIMEOUT   seconds one boot may take (default 150)
#              LIBSYNC_QEMU_CACHE   where extracted kernels are kept
#                                   (default ~/.cache/libsync-qemu)
# Installs what it needs (qemu-system-x86, busybox-static, cpio, python3 and
# the two kernel packages, downloaded and unpacked into the cache, never
# installed into /boot). Exit 0 when every case passes, 1 otherwise, 2 on
# bad usage or a missing prerequisite.
set -euo pipefail
cd "$(dirname "$0")/.."
here=scripts/qemu

die() { echo "qemu-kernels: $*" >&2; exit 2; }
say() { echo "qemu-kernels: $*"; }

[ $# -le 1 ] || die "usage: $0 [BUILD_DIR]"
build=${1:-build/test}
timeout_s=${QEMU_TIMEOUT:-150}
cache=${LIBSYNC_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libsync-qemu}
t_start=$(date +%s)

# The tier suites run whole in the VM on every tier: each takes 0.1-0.2 s
# on the host and a few seconds under emulation. (The stress and allocation
# suites stay on the host: their point is load and counting, not the kernel.)
suites=(semaphore_suite mutex_suite condvar_suite event_suite loop_suite io_suite)

syncbench=$build/apps/syncbench/syncbench
[ -x "$syncbench" ] || die "no syncbench in $build (build it first: cmake --workflow --preset test)"
for s in "${suites[@]}"; do
  [ -x "$build/tests/$s" ] || die "no $s in $build/tests (build it first: cmake --workflow --preset test)"
done

# --- packages --------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600 -q)
updated=0
apt_update() {
  if [ "$updated" = 0 ]; then
    say "apt-get update" >&2  # stdout may be a kernel's path being captured
    apt-get "${apt_opts[@]}" update -qq >/dev/null || die "apt-get update failed"
    updated=1
  fi
}

tools=(qemu-system-x86 busybox-static cpio python3)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update
  say "installing ${missing[*]}"
  apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "could not install ${missing[*]}"
fi

# The newest package whose name matches the extended regex $1 (anchored)
# and that apt can fetch; prints "name=version".
newest_package() {
  local p cand
  for p in $(apt-cache pkgnames linux-image- | grep -E "^$1\$" | sort -V -r); do
    cand=$(apt-cache policy "$p" | awk '/Candidate:/ { print $2 }')
    if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
      echo "$p=$cand"
      return 0
    fi
  done
  return 1
}

# Unpacks the vmlinuz of kernel package $1 ("name=version") into the cache
# once; prints its path.
kernel_image() {
  local spec=$1 dir tmp
  dir=$cache/${spec/=/_}
  if [ ! -s "$dir/vmlinuz" ]; then
    tmp=$(mktemp -d)
    # apt fetches as the _apt user when it may write here; quieter that way.
    chmod 777 "$tmp"
    if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download "$spec" >/dev/null 2>&1); then
      rm -rf "$tmp"
      return 1
    fi
    mkdir -p "$dir"
    dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -xO --wildcards './boot/vmlinuz-*' > "$dir/vmlinuz.part"
    mv "$dir/vmlinuz.part" "$dir/vmlinuz"
    rm -rf "$tmp"
  fi
  echo "$dir/vmlinuz"
}

# Finds, fetches and unpacks the newest kernel matching $1; a stale package
# list (the mirror moved on) gets one apt-get update and a second try.
fetch_kernel() {
  local pattern=$1 spec img
  if ! spec=$(newest_package "$pattern"); then
    apt_update
    spec=$(newest_package "$pattern") ||
      die "no package matching '$pattern' in the apt sources (Debian 12 with bookworm-updates and bookworm-security?)"
  fi
  if ! img=$(kernel_image "$spec"); then
    apt_update
    spec=$(newest_package "$pattern") || die "no package matching '$pattern' after apt-get update"
    img=$(kernel_image "$spec") || die "could not download $spec (apt-get download failed)"
  fi
  echo "$spec $img"
}

k=$(fetch_kernel 'linux-image-6\.1\.0-[0-9]+-cloud-amd64') || exit 2
read -r k61_pkg k61 <<< "$k"
k=$(fetch_kernel 'linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned') || exit 2
read -r k612_pkg k612 <<< "$k"
say "kernels: $k61_pkg, $k612_pkg"

# --- initramfs -------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/opt/libsync/bin" "$root/opt/libsync/suites"
cp /bin/busybox "$root/bin/busybox"
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
bins=(/bin/busybox "$syncbench")
# Debug info is most of a binary's size and only slows the boot down.
strip --strip-debug -o "$root/opt/libsync/bin/syncbench" "$syncbench"
for s in "${suites[@]}"; do
  strip --strip-debug -o "$root/opt/libsync/suites/$s" "$build/tests/$s"
  bins+=("$build/tests/$s")
done
# The shared libraries, at the paths the dynamic loader looks for them.
for lib in $(ldd "${bins[@]}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$work/initramfs.gz"
say "initramfs: $(du -k "$work/initramfs.gz" | cut -f1) KiB (busybox, syncbench, ${suites[*]} and their libraries)"

# --- boots -----------------------------------------------------------------
failed=0
# run_case NAME KERNEL_IMAGE [io_uring_disabled value]
run_case() {
  local name=$1 kernel=$2 disabled=${3:-} log=$work/$1.log t0 rc=0 append
  append="console=ttyS0 quiet panic=-1 libsync.case=$name libsync.expect=$(python3 "$here/check_console.py" --expect "$name")"
  [ -n "$disabled" ] && append+=" libsync.uring_disabled=$disabled"
  echo
  say "=== $name: $(basename "$(dirname "$kernel")")${disabled:+, io_uring_disabled=$disabled}"
  t0=$(date +%s)
  # Round-robin TCG (thread=single) runs both vCPUs on one host thread. The
  # default, one host thread per vCPU, needs both scheduled at once for every
  # cross-CPU wake, which a shared, loaded 2-core host rarely grants.
  # Measured here (load average 7-8): all three boots took 199 s that way
  # and 37 s this way, and the self-tests' median wake went from 60-3300 us
  # to 18-23 us. The guest still has two CPUs and its threads still
  # interleave (preemptively, not in parallel).
  timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg,thread=single -cpu max -smp 2 -m 1024 \
    -kernel "$kernel" -initrd "$work/initramfs.gz" -append "$append" \
    -nographic -no-reboot < /dev/null > "$log" 2>&1 || rc=$?
  local secs=$(( $(date +%s) - t0 ))
  # The console as it was, minus the firmware's terminal escapes.
  echo "----- console ($name)"
  sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' -e 's/\r$//' "$log"
  echo "----- end of console ($name)"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    say "$name: the VM did not power off within ${timeout_s} s"
  elif [ "$rc" != 0 ]; then
    say "$name: qemu exited with status $rc"
  fi
  python3 "$here/check_console.py" "$name" "$log" || failed=$((failed + 1))
  say "$name took $secs s"
}

run_case no-futex-ops "$k61"
run_case futex-ops "$k612"
run_case uring-disabled "$k612" 2

echo
if [ "$failed" = 0 ]; then
  say "all 3 kernel cases passed in $(( $(date +%s) - t_start )) s"
else
  say "$failed of 3 kernel cases FAILED ($(( $(date +%s) - t_start )) s)"
  exit 1
fi
