#!/usr/bin/env python3
"""Judges one VM boot of scripts/qemu-kernels.sh from its serial console log.

usage: check_console.py CASE CONSOLE_LOG
       check_console.py --expect CASE   (prints libsync.expect for /init)

CASE is what the kernel under test must show:
  no-futex-ops    io_uring without IORING_OP_FUTEX_* (Debian 12's stock 6.1)
  futex-ops       io_uring with the FUTEX opcodes, no PR_FUTEX_HASH (6.12)
  uring-disabled  the same 6.12 with kernel.io_uring_disabled = 2

Only decisions and correctness are judged (what is available, why, what auto
selects, that no wake is lost, that the suites pass or skip as they must):
under software emulation everything is 20-50 times slower, so lateness says
nothing about the code. A check on a probe key that this syncbench does not
report yet is printed as "pending" and does not fail the case.

Prints a summary (tiers, reasons, self-test figures), one
line per check, and a last line
  qemu-kernels: VERDICT case=CASE kernel=RELEASE PASS|FAIL checks=N failed=N pending=N slow=N
where slow counts self-tests that failed on lateness alone (printed, not
judged).
Exit status 0 on PASS, 1 on FAIL, 2 on bad usage.
"""
import json
import re
import sys

EPERM = 1

# The exit status every tier suite must give, per tier, per case: 0 passed,
# 77 skipped because the tier cannot run there.
EXPECT = {
    "no-futex-ops": {"uring-futex/uring": 77, "generic/uring": 0, "generic/epoll": 0},
    "futex-ops": {"uring-futex/uring": 0, "generic/uring": 0, "generic/epoll": 0},
    "uring-disabled": {"uring-futex/uring": 77, "generic/uring": 77, "generic/epoll": 0},
}


class Verdict:
    def __init__(self):
        self.checks = 0
        self.failed = 0
        self.pending = 0
        self.slow_runs = 0

    def check(self, ok, what, got=None):
        self.checks += 1
        if not ok:
            self.failed += 1
        print(("ok      " if ok else "FAILED  ") + what + ("" if ok or got is None else f"  (got: {got})"))

    def slow(self, what):
        """Lateness under emulation: printed, never a failure."""
        self.slow_runs += 1
        print("slow    " + what)

    def pend(self, what):
        self.pending += 1
        print("pending " + what)


def parse_console(text):
    """Splits the console into the marker records /init printed."""
    lines = [l.rstrip("\r") for l in text.split("\n")]
    out = {"begin": None, "end": False, "probe_json": None, "probe_rc": None, "tier_text": "",
           "tier_rc": None, "suites": [], "vm_verdict": None, "sysctl": None}
    block = None
    buf = []
    for line in lines:
        # SeaBIOS and the kernel may leave escape sequences in front of a marker.
        m = re.search(r"@@@ (.*)$", line)
        if not m:
            if block is not None:
                buf.append(line)
            continue
        rec = m.group(1)
        if rec.startswith("json-begin") or rec.startswith("text-begin"):
            block, buf = rec.split()[1], []
        elif rec.startswith("json-end probe"):
            out["probe_json"] = "\n".join(buf)
            out["probe_rc"] = int(re.search(r"rc=(\d+)", rec).group(1))
            block = None
        elif rec.startswith("text-end probe-tier-uring-futex"):
            out["tier_text"] = "\n".join(buf)
            out["tier_rc"] = int(re.search(r"rc=(\d+)", rec).group(1))
            block = None
        elif rec.startswith("text-end"):
            block = None
        elif rec.startswith("begin"):
            out["begin"] = dict(kv.split("=", 1) for kv in rec.split()[1:] if "=" in kv)
        elif rec.startswith("sysctl"):
            out["sysctl"] = rec
        elif rec.startswith("suite "):
            f = rec.split()
            kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
            out["suites"].append({"suite": f[1], "tier": kv["tier"], "rc": int(kv["rc"]),
                                  "want": int(kv["want"]), "seconds": kv.get("seconds")})
        elif rec.startswith("vm-verdict"):
            out["vm_verdict"] = rec
        elif rec == "end":
            out["end"] = True
    return out


def named(items, name):
    for it in items:
        if it.get("name") == name:
            return it
    return None


def selected_as_fallback(tier):
    """The tier's selected_as_fallback flag (beside its self_test or in it), or None."""
    for where in (tier, tier.get("self_test", {})):
        if "selected_as_fallback" in where:
            return where["selected_as_fallback"]
    return None


def self_test_text(st):
    if not st.get("ran"):
        return "not run"
    s = (f"{'passed' if st.get('passed') else 'FAILED'}: {st.get('wakes')} wakes, {st.get('lost')} lost, "
         f"{st.get('late')} late (> {st.get('late_threshold_ns', 0) / 1e6:g} ms); p50 {st.get('p50_ns', 0) / 1e3:.1f} us, "
         f"p99 {st.get('p99_ns', 0) / 1e3:.1f} us, max {st.get('max_ns', 0) / 1e3:.1f} us")
    return s


def summarize(j):
    print(f"kernel {j['kernel']['release']}: auto selects {j['selected_tier']} on {j['selected_backend']}")
    if "effective_tier" in j:
        print(f"  a default Loop runs {j.get('effective_tier')} on {j.get('effective_backend')}")
    print(f"  because: {j['selection_reason']}")
    io = j["io_uring"]
    print(f"  io_uring setup: {'ok' if io['setup_ok'] else io['setup_error']}; "
          f"io_uring_disabled sysctl: {io['disabled_sysctl']}; seccomp: {io['seccomp']}")
    fx = j["futex"]
    print(f"  futex: PR_FUTEX_HASH {'yes' if fx['private_hash_prctl'] else 'no'}; hazard "
          f"{fx.get('private_hash_hazard', '(not reported)')}"
          + (f" ({fx['private_hash_hazard_detail']})" if fx.get("private_hash_hazard_detail") else "")
          + f"; mitigation: {fx.get('mitigation')}")
    for b in j["backends"]:
        print(f"  backend {b['name']}: {'available' if b['available'] else 'unavailable'}: {b['reason']}")
    for t in j["tiers"]:
        picked = ""
        if t.get("selected"):
            picked = " (selected as the fallback)" if selected_as_fallback(t) else " (selected)"
        print(f"  tier {t['name']}: {'available' if t['available'] else 'unavailable'}{picked}: {t['reason']}")
        print(f"    self-test: {self_test_text(t['self_test'])}")


def check_common(v, c, j):
    """What must hold on every kernel."""
    v.check(c["probe_rc"] == 0, "probe --json exits 0", c["probe_rc"])
    for t in j["tiers"]:
        st = t["self_test"]
        if st.get("ran"):
            # A lost wake is a correctness failure at any speed.
            v.check(st.get("lost") == 0, f"{t['name']} self-test lost no wake", st.get("lost"))
    sel = named(j["tiers"], j["selected_tier"])
    v.check(sel is not None and sel["available"], "the selected tier is one the probe reports available")
    for t in j["tiers"]:
        fallback = selected_as_fallback(t)
        if fallback is None:
            continue
        # The last tier is picked although its self-test failed only when no
        # tier passed; the probe must say so, and only then.
        st = t["self_test"]
        want = t is sel and st.get("ran") is True and not st.get("passed")
        v.check(fallback == want, f"{t['name']} selected_as_fallback is {str(want).lower()}", fallback)
    if sel is not None and sel["self_test"].get("ran") and not sel["self_test"].get("passed") \
            and selected_as_fallback(sel) is None:
        v.pend(f"{sel['name']} failed its self-test (slow emulation); selected_as_fallback not reported yet")
    fx = j["futex"]
    if "private_hash_hazard" in fx:
        v.check(fx["private_hash_hazard"] in ("present", "absent", "not-applicable", "unknown"),
                "futex.private_hash_hazard is one of present/absent/not-applicable/unknown",
                fx["private_hash_hazard"])
        if not fx["private_hash_prctl"]:
            v.check(fx["private_hash_hazard"] == "not-applicable",
                    "without PR_FUTEX_HASH the hazard is not-applicable", fx["private_hash_hazard"])
    else:
        v.pend("futex.private_hash_hazard not reported yet")


def check_effective(v, j, tier, backend):
    if "effective_tier" in j and "effective_backend" in j:
        v.check((j["effective_tier"], j["effective_backend"]) == (tier, backend),
                f"a default Loop runs {tier} on {backend} (effective_tier/backend)",
                f"{j['effective_tier']} on {j['effective_backend']}")
    else:
        v.pend("effective_tier / effective_backend not reported yet")


def check_suites(v, c, case):
    want = EXPECT[case]
    seen = {}
    for s in c["suites"]:
        seen.setdefault(s["tier"], []).append(s)
    for tier, rc in want.items():
        runs = seen.get(tier, [])
        v.check(len(runs) > 0, f"suites ran on {tier}")
        for s in runs:
            word = "passes" if rc == 0 else "skips (77)"
            v.check(s["rc"] == rc, f"{s['suite']} {word} on {tier} ({s['seconds']} s)", f"exit {s['rc']}")


def check_no_futex_ops(v, c, j):
    uf = named(j["tiers"], "uring-futex")
    v.check(j["io_uring"]["setup_ok"], "the io_uring ring sets up")
    v.check(uf is not None and not uf["available"], "uring-futex is unavailable")
    if uf:
        v.check("FUTEX_WAIT" in uf["reason"], "its reason names the missing opcode FUTEX_WAIT", uf["reason"])
    v.check((j["selected_tier"], j["selected_backend"]) == ("generic", "uring"),
            "auto selects generic on the uring backend", f"{j['selected_tier']} on {j['selected_backend']}")
    check_effective(v, j, "generic", "uring")
    check_tier_exit(v, c, 3)
    v.check("FUTEX_WAIT" in c["tier_text"], "and prints the reason naming FUTEX_WAIT", c["tier_text"].strip())


def late_only(st):
    """A self-test that lost no wake and failed on lateness alone."""
    return st.get("ran") and not st.get("passed") and st.get("lost") == 0


def check_tier_exit(v, c, want_rc):
    """probe --tier runs its own self-test, which may be as slow as the first."""
    rc, text = c["tier_rc"], c["tier_text"]
    if want_rc == 0 and rc == 4 and re.search(r"\b0 lost\b", text):
        v.slow("probe --tier uring-futex exits 4: its self-test failed on lateness alone under emulation: "
               + text.strip())
    else:
        v.check(rc == want_rc, f"probe --tier uring-futex exits {want_rc}", rc)


def check_futex_ops(v, c, j):
    uf = named(j["tiers"], "uring-futex")
    v.check(uf is not None and uf["available"], "uring-futex is available", uf and uf["reason"])
    fx = j["futex"]
    if "private_hash_hazard" in fx:
        v.check(fx["private_hash_hazard"] == "not-applicable", "the futex hash hazard is not-applicable",
                fx["private_hash_hazard"])
    if uf is None or not uf["available"]:
        return
    st = uf["self_test"]
    if late_only(st):
        # On a loaded host, emulation can make more than 1 wake in 50 late;
        # auto then rightly moves on. That is speed, not judged here: the
        # decision that follows from the figures is.
        v.slow("uring-futex's self-test failed on lateness alone under emulation (" + self_test_text(st) + ")")
        v.check(j["selected_tier"] != "uring-futex", "so auto passed over it", j["selected_tier"])
    else:
        v.check(st.get("passed") is True, "its self-test passed", self_test_text(st))
        v.check((j["selected_tier"], j["selected_backend"]) == ("uring-futex", "uring"),
                "auto selects uring-futex on the uring backend", f"{j['selected_tier']} on {j['selected_backend']}")
        check_effective(v, j, "uring-futex", "uring")
    check_tier_exit(v, c, 0)


def check_uring_disabled(v, c, j):
    io = j["io_uring"]
    v.check(io["disabled_sysctl"] == 2, "the probe reads kernel.io_uring_disabled = 2", io["disabled_sysctl"])
    v.check(not io["setup_ok"] and io["setup_errno"] == EPERM, "io_uring_setup is refused with EPERM",
            f"setup_ok {io['setup_ok']}, errno {io['setup_errno']}")
    uring = named(j["backends"], "uring")
    v.check(uring is not None and not uring["available"], "the uring backend is unavailable")
    if uring:
        v.check("EPERM" in uring["reason"] and "io_uring_disabled" in uring["reason"],
                "its reason names EPERM and the io_uring_disabled sysctl", uring["reason"])
    v.check((j["selected_tier"], j["selected_backend"]) == ("generic", "epoll"),
            "auto selects generic on the epoll backend", f"{j['selected_tier']} on {j['selected_backend']}")
    check_effective(v, j, "generic", "epoll")
    check_tier_exit(v, c, 3)
    v.check("io_uring_disabled" in c["tier_text"], "and its reason names the sysctl", c["tier_text"].strip())


CASES = {"no-futex-ops": check_no_futex_ops, "futex-ops": check_futex_ops, "uring-disabled": check_uring_disabled}


def main(argv):
    if len(argv) == 3 and argv[1] == "--expect" and argv[2] in EXPECT:
        print(",".join(f"{tier}={rc}" for tier, rc in EXPECT[argv[2]].items()))
        return 0
    if len(argv) != 3 or argv[1] not in CASES:
        print(f"usage: {argv[0]} {{{'|'.join(CASES)}}} CONSOLE_LOG\n"
              f"       {argv[0]} --expect CASE", file=sys.stderr)
        return 2
    case = argv[1]
    with open(argv[2], errors="replace") as f:
        c = parse_console(f.read())
    v = Verdict()
    release = (c["begin"] or {}).get("kernel", "?")
    v.check(c["begin"] is not None, "the VM ran /init")
    v.check(c["end"], "/init ran to the end (no hang, no crash)")
    j = None
    if c["probe_json"] is not None:
        try:
            j = json.loads(c["probe_json"])
        except ValueError as e:
            v.check(False, "probe --json printed valid JSON", str(e))
    else:
        v.check(False, "probe --json printed its JSON")
    if j is not None:
        summarize(j)
        check_common(v, c, j)
        CASES[case](v, c, j)
    check_suites(v, c, case)
    word = "PASS" if v.failed == 0 else "FAIL"
    print(f"qemu-kernels: VERDICT case={case} kernel={release} {word} "
          f"checks={v.checks} failed={v.failed} pending={v.pending} slow={v.slow_runs}")
    return 0 if v.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
