#!/bin/busybox sh
# /init of the initramfs that scripts/qemu-kernels.sh boots: PID 1 in a VM
# with nothing but busybox, syncbench and the tier suites. It runs the probe
# and the suites, prints everything to the serial console between "@@@"
# marker lines (the host parses them; see check_console.py), then powers off.
#
# Parameters come from the kernel command line:
#   libsync.case=NAME          which case this boot is (printed back)
#   libsync.uring_disabled=N   write N to kernel.io_uring_disabled first
#   libsync.expect=T=RC,...    the exit status each suite must give per tier
#                              (0 passed, 77 skipped); anything else fails
/bin/busybox mkdir -p /bin /proc /sys /dev /tmp
/bin/busybox --install -s /bin
export PATH=/bin:/opt/libsync/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# Keep kernel messages off the console: they could land inside the JSON.
dmesg -n 1
# The I/O tests connect over loopback.
ip link set lo up

arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^libsync\.$1=//p" | tail -n 1; }
mark() { echo "@@@ $*"; }

case_name=$(arg case)
uring_disabled=$(arg uring_disabled)
expect=$(arg expect | tr ',' ' ')
mark "begin case=$case_name kernel=$(uname -r) cpus=$(nproc)"

if [ -n "$uring_disabled" ]; then
  echo "$uring_disabled" > /proc/sys/kernel/io_uring_disabled
  # The write into /proc is what can fail here, so its status is the one wanted.
  # shellcheck disable=SC2320
  rc=$?
  mark "sysctl kernel.io_uring_disabled=$(cat /proc/sys/kernel/io_uring_disabled 2>&1) write-rc=$rc"
fi

t0=$(date +%s)
mark "json-begin probe"
syncbench probe --json 2> /tmp/probe.err
rc=$?
mark "json-end probe rc=$rc"
[ -s /tmp/probe.err ] && { mark "text-begin probe-stderr"; cat /tmp/probe.err; mark "text-end probe-stderr"; }

syncbench probe --tier uring-futex > /tmp/tier.out 2>&1
rc=$?
mark "text-begin probe-tier-uring-futex"
cat /tmp/tier.out
mark "text-end probe-tier-uring-futex rc=$rc"
mark "probe seconds=$(( $(date +%s) - t0 ))"

runs=0
bad=0
for path in /opt/libsync/suites/*; do
  suite=${path##*/}
  for want in $expect; do
    tier=${want%=*}
    rc_want=${want##*=}
    s0=$(date +%s)
    LIBSYNC_TEST_TIER=$tier timeout -s KILL 60 "$path" > /tmp/suite.out 2>&1
    rc=$?
    runs=$((runs + 1))
    verdict=ok
    [ "$rc" = "$rc_want" ] || { verdict=UNEXPECTED; bad=$((bad + 1)); }
    mark "suite $suite tier=$tier rc=$rc want=$rc_want $verdict seconds=$(( $(date +%s) - s0 ))"
    # The skip reason (77) and any failure are worth reading in the log.
    if [ "$rc" != 0 ]; then
      mark "text-begin suite-output"
      tail -n 40 /tmp/suite.out
      mark "text-end suite-output"
    fi
  done
done
if [ "$bad" = 0 ]; then v=PASS; else v=FAIL; fi
mark "vm-verdict case=$case_name suites=$v runs=$runs unexpected=$bad"
mark "end"
poweroff -f
