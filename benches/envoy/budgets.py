#!/usr/bin/env python3
"""scripts/bench's last step: the budgets of docs/budgets.md its run measured, each with pass or fail.

    budgets.py OUT_DIR [--callgrind CALLGRIND_JSON] [--p2-skipped WHY] [--p4 P4_TSV | --p4-skipped WHY]

P2 is read from benches/envoy/callgrind.py's P2 lines in CALLGRIND_JSON (when it has none: "not
measured (WHY)"); P4 is the median of the per-VM `on_configure` times in P4_TSV (each VM's
`acepack: loaded bundle … in N ms` line) against 50 ms. Prints the "Budgets" block, adds
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--callgrind", help="callgrind.json of this run")
    ap.add_argument("--p2-skipped", metavar="WHY", default="no scale, demo and cal-contract in callgrind.py's run")
    p4 = ap.add_mutually_exclusive_group(required=True)
    p4.add_argument("--p4", help="p4.tsv of this run")
    p4.add_argument("--p4-skipped", metavar="WHY")
    a = ap.parse_args()

    budgets = []
    cg = json.load(open(a.callgrind)) if a.callgrind else None
    if cg and cg["p2"]:
        budgets += [{"id": "P2", **b} for b in cg["p2"]]
    else:
        budgets.append({"id": "P2", "pass": None, "line": "P2: not measured (%s)" % a.p2_skipped})
    if a.p4:
        ms = [int(l.split("\t")[1]) for l in open(a.p4).read().splitlines()[1:]]
        median = statistics.median(ms)
        ok = median <= P4_LIMIT_MS
        budgets.append({"id": "P4", "budget": "on_configure per VM, scale bundle", "median_ms": median, "vms": len(ms),
                        "limit_ms": P4_LIMIT_MS, "pass": ok,
                        "line": "P4 per VM: %g ms median over %d VMs (budget ≤ %d ms) %s"
                                % (median, len(ms), P4_LIMIT_MS, "pass" if ok else "FAIL")})
    else:
        budgets.append({"id": "P4", "pass": None, "line": "P4 per VM: not measured (%s)" % a.p4_skipped})

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
