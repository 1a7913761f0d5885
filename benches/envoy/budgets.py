#!/usr/bin/env python3
"""scripts/bench's last step: the budgets of docs/budgets.md its run measured, each with pass or fail.

    budgets.py OUT_DIR [--callgrind CALLGRIND_JSON] [--p2-skipped WHY] [--p4 P4_TSV | --p4-skipped WHY]
               [--p1 CRITERION_ESTIMATES_JSON [--p1-first CRITERION_ESTIMATES_JSON]] [--p3 MS BYTES]
               [--p5 BYTES] [--native-skipped WHY]

One line per budget of docs/budgets.md. P1 is criterion's median of
`engine_decision/limited_key_cache` (its estimates.json) against 250 ns: the decision as the filter
makes it for a credential its VM has seen; the same decision for a credential's first request in a
VM (`engine_decision/limited`, `--p1-first`: SHA-256 of the key and the credential lookup) is
printed next to it; P2 is read from benches/envoy/callgrind.py's P2 lines in
CALLGRIND_JSON (when it has none: "not measured (WHY)"); P3 is the scale catalog's compile time and
bundle size against 5 s and 8 MiB; P4 is the median of the per-VM `on_configure` times in P4_TSV
(each VM's `acepack: loaded bundle … in N ms` line) against 50 ms; P5 is `scale-probe p5`'s bytes
per used bucket against 96. P6, P7, R1 and R2 are measured by tests: their lines name the command.
Prints the "Budgets" block, adds
`callgrind` (figures, P2 lines, table) and `budgets` to OUT_DIR/results.json, and redraws
OUT_DIR/added_cpu.png, with callgrind's panel when there is CALLGRIND_JSON.
"""

import argparse
import json
import statistics
import sys

sys.dont_write_bytecode = True  # importing report.py must not leave benches/envoy/__pycache__ in the tree
from report import chart  # noqa: E402

P4_LIMIT_MS = 50
P1_LIMIT_NS = 250
P3_LIMIT_MS, P3_LIMIT_BYTES = 5000, 8 << 20
P5_LIMIT_BYTES = 96
# Budgets measured by tests rather than by this script: the command that prints their figures.
BY_TESTS = [
    ("P6", "cargo test -p acepack-envoy --test live_update -- --nocapture"),
    ("P7", "cargo test -p acepack-envoy --test global_figures -- --nocapture"),
    ("R1", "cargo test -p acepack-host-tests --test r1_burst; cargo test -p acepack-envoy --test burst"),
    ("R2", "cargo test -p acepack-filter --test robustness"),
]


def verdict(ok):
    return "pass" if ok else "FAIL"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--callgrind", help="callgrind.json of this run")
    ap.add_argument("--p1", metavar="ESTIMATES_JSON")
    ap.add_argument("--p1-first", metavar="ESTIMATES_JSON")
    ap.add_argument("--p3", nargs=2, type=int, metavar=("MS", "BYTES"))
    ap.add_argument("--p5", type=float, metavar="BYTES")
    ap.add_argument("--native-skipped", metavar="WHY", default="not run")
    ap.add_argument("--p2-skipped", metavar="WHY", default="no scale, demo and cal-contract in callgrind.py's run")
    p4 = ap.add_mutually_exclusive_group(required=True)
    p4.add_argument("--p4", help="p4.tsv of this run")
    p4.add_argument("--p4-skipped", metavar="WHY")
    a = ap.parse_args()

    budgets = []
    if a.p1:
        ns = json.load(open(a.p1))["median"]["point_estimate"]
        first = json.load(open(a.p1_first))["median"]["point_estimate"] if a.p1_first else None
        line = ("P1 decision (criterion, engine_decision/limited_key_cache, key cache warm as in the filter): "
                "%.0f ns median (budget ≤ %d ns) %s" % (ns, P1_LIMIT_NS, verdict(ns <= P1_LIMIT_NS)))
        if first is not None:
            line += "; a credential's first request in a VM (engine_decision/limited, SHA-256 of the key): %.0f ns" % first
        budgets.append({"id": "P1", "median_ns": ns, "first_request_ns": first, "limit_ns": P1_LIMIT_NS,
                        "pass": ns <= P1_LIMIT_NS, "line": line})
    else:
        budgets.append({"id": "P1", "pass": None, "line": "P1 decision: not measured (%s)" % a.native_skipped})
    cg = json.load(open(a.callgrind)) if a.callgrind else None
    if cg and cg["p2"]:
        budgets += [{"id": "P2", **b} for b in cg["p2"]]
    else:
        budgets.append({"id": "P2", "pass": None, "line": "P2: not measured (%s)" % a.p2_skipped})
    if a.p3:
        ms, size = a.p3
        ok = ms <= P3_LIMIT_MS and size <= P3_LIMIT_BYTES
        budgets.append({"id": "P3", "ms": ms, "bytes": size, "pass": ok,
                        "line": "P3 compile, scale catalog: %.1f s, bundle %.2f MiB (budget ≤ 5 s, ≤ 8 MiB) %s"
                                % (ms / 1e3, size / 2**20, verdict(ok))})
    else:
        budgets.append({"id": "P3", "pass": None, "line": "P3 compile: not measured (no scale catalog)"})
    if a.p4:
        ms = [int(l.split("\t")[1]) for l in open(a.p4).read().splitlines()[1:]]
        median = statistics.median(ms)
        ok = median <= P4_LIMIT_MS
        budgets.append({"id": "P4", "budget": "on_configure per VM, scale bundle", "median_ms": median, "vms": len(ms),
                        "limit_ms": P4_LIMIT_MS, "pass": ok,
                        "line": "P4 per VM: %g ms median over %d VMs (budget ≤ %d ms) %s"
                                % (median, len(ms), P4_LIMIT_MS, verdict(ok))})
    else:
        budgets.append({"id": "P4", "pass": None, "line": "P4 per VM: not measured (%s)" % a.p4_skipped})

    if a.p5 is not None:
        ok = a.p5 <= P5_LIMIT_BYTES
        budgets.append({"id": "P5", "bytes_per_bucket": a.p5, "limit_bytes": P5_LIMIT_BYTES, "pass": ok,
                        "line": "P5 shared data per used bucket: %.1f bytes (budget ≤ %d) %s"
                                % (a.p5, P5_LIMIT_BYTES, verdict(ok))})
    else:
        budgets.append({"id": "P5", "pass": None, "line": "P5 shared data: not measured (%s)" % a.native_skipped})
    for id_, command in BY_TESTS:
        budgets.append({"id": id_, "pass": None, "line": "%s: measured by tests, not here: %s" % (id_, command)})
    order = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "R1", "R2"]
    budgets.sort(key=lambda b: order.index(b["id"]))

    print()
    print("Budgets (docs/budgets.md)")
    for b in budgets:
        print("  " + b["line"])

    path = "%s/results.json" % a.out
    doc = json.load(open(path))
    doc["callgrind"] = cg
    doc["budgets"] = budgets
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=2, ensure_ascii=False)
    chart(a.out, doc)
    print("Added the budgets%s to %s and redrew %s/added_cpu.png"
          % (" and callgrind's figures" if cg else "", path, a.out))


if __name__ == "__main__":
    main()
