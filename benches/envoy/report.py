#!/usr/bin/env python3
"""scripts/bench's report: medians per configuration, the table, results.json and added_cpu.png.

    report.py SAMPLES.tsv OUT_DIR LABELS PARAMS LOAD_BEFORE LOAD_AFTER ENVOY GIT ELAPSED SCALE_NOTE SCALE_JSON

CPU µs per request of a run = the run time of Envoy's threads over the run (cpu_ns: scheduler
nanoseconds, or clock ticks where the samples say so) / requests. "added" is the median over rounds
of (configuration − no filter) within the same round, so slow drifts of the shared machine cancel;
"vs (c)" divides it by the trivial filter's added CPU.
"""

import json
import statistics
import sys
from collections import defaultdict

P2_FACTOR = 1.25


def main():
    (samples, out, labels, params, load_before, load_after, envoy, git, elapsed, scale_note,
     scale_json) = sys.argv[1:12]
    labels = dict(l.split(" ", 1)[::-1] for l in labels.split(","))  # config -> letter
    order = list(labels)

    per_round = defaultdict(dict)  # round -> config -> µs/req
    with open(samples) as f:
        next(f)
        for line in f:
            r, c, n, ns, _clock, _wall = line.rstrip("\n").split("\t")
            per_round[int(r)][c] = int(ns) / 1e3 / int(n)

    rounds = sorted(per_round)
    results = {}
    for c in order:
        cpu = [per_round[r][c] for r in rounds if c in per_round[r]]
        added = [per_round[r][c] - per_round[r]["none"] for r in rounds if c in per_round[r]]
        results[c] = {
            "label": "(%s) %s" % (labels[c], c),
            "cpu_us_per_request": {"median": statistics.median(cpu), "min": min(cpu), "max": max(cpu),
                                   "rounds": cpu},
            "added_us": {"median": statistics.median(added), "min": min(added), "max": max(added), "rounds": added},
        }
    trivial = results["trivial"]["added_us"]["median"]
    # Calibration configurations (CALIBRATE=1): the price of their extra work, paired with (c).
    calibrations = [c for c in order if c.startswith("cal-")]
    for c in calibrations:
        price = [per_round[r][c] - per_round[r]["trivial"] for r in rounds if c in per_round[r]]
        results[c]["price_vs_trivial_us"] = {"median": statistics.median(price), "q1": quartile(price, 1),
                                             "q3": quartile(price, 3), "rounds": price}
    for c in order:
        a = results[c]
        a["ratio_vs_trivial"] = a["added_us"]["median"] / trivial if trivial > 0 else None

    subject = "scale" if "scale" in results else "demo"
    budget = P2_FACTOR * trivial
    subject_added = results[subject]["added_us"]["median"]
    p2 = {
        "budget": "(e) added <= 1.25 x (c) added",
        "measured_config": subject,
        "added_us": subject_added,
        "trivial_added_us": trivial,
        "limit_us": budget,
        "ratio": results[subject]["ratio_vs_trivial"],
        "pass": subject_added <= budget,
    }
    if subject != "scale":
        p2["note"] = "scale bundle not measured (%s); P2 judged on the demo bundle" % (scale_note or "skipped")

    # --- the table ---
    def f(x, sign=False):
        return "—" if x is None else (("%+.1f" if sign else "%.1f") % x)

    print()
    print("Envoy CPU per request (%s; %d rounds; medians; µs = Envoy threads' run time / requests)"
          % (params, len(rounds)))
    head = ("config", "CPU µs/req", "rounds min–max", "added over (a)", "added vs (c)")
    rows = []
    for c in order:
        a = results[c]
        cpu = a["cpu_us_per_request"]
        added = None if c == "none" else a["added_us"]["median"]
        ratio = None if c == "none" else a["ratio_vs_trivial"]
        rows.append((
            a["label"],
            f(cpu["median"]),
            "%s–%s" % (f(cpu["min"]), f(cpu["max"])),
            f(added, sign=True),
            "—" if ratio is None else "%.2f×" % ratio,
        ))
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    fmt = "  ".join(("{:<%d}" if i == 0 else "{:>%d}") % w for i, w in enumerate(widths))
    print(fmt.format(*head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt.format(*r))
    print()
    verdict = "PASS" if p2["pass"] else "FAIL"
    print("P2: (%s) %s added %.1f µs vs 1.25 × (c) trivial %.1f µs = %.1f µs → ratio %.2f× → %s"
          % (labels[subject], subject, subject_added, trivial, budget, p2["ratio"] or 0, verdict))
    if p2.get("note"):
        print("    " + p2["note"])
    if calibrations:
        print()
        print("Calibration: what each kind of extra work costs in Envoy, = (config − (c) trivial) per round;")
        print("median and quartiles over rounds (the spread is the machine's noise, not the work's):")
        for c in calibrations:
            p = results[c]["price_vs_trivial_us"]
            print("  %-22s %+6.1f µs  (q1 %+.1f, q3 %+.1f)" % (results[c]["label"], p["median"], p["q1"], p["q3"]))
    print("Load average before/after: %s / %s — the machine is shared: compare within one run only."
          % (load_before, load_after))

    doc = {
        "what": "Envoy CPU per request (1 worker, pinned), direct_response route, h2load --h1; docs/budgets.md P2",
        "params": dict(kv.split("=") for kv in params.split()),
        "envoy": envoy,
        "git": git,
        "elapsed_s": int(elapsed),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "configs": results,
        "p2": p2,
        "scale_request": None if scale_json in ("", "null") else json.loads(scale_json),
        "scale_note": scale_note or None,
    }
    with open("%s/results.json" % out, "w") as fh:
        json.dump(doc, fh, indent=2, ensure_ascii=False)
    chart(out, results, order, trivial, budget, doc)
    print("Wrote %s/results.json, %s/added_cpu.png, %s/samples.tsv (total %s s)" % (out, out, out, elapsed))


def quartile(values, q):
    """The q-th quartile (1 or 3) of values, by the median-of-halves rule."""
    v = sorted(values)
    half = len(v) // 2
    part = v[:half] if q == 1 else v[len(v) - half:]
    return statistics.median(part) if part else v[0]


def chart(out, results, order, trivial, budget, doc):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [c for c in order if c != "none"]
    med = [results[c]["added_us"]["median"] for c in shown]
    lo = [m - results[c]["added_us"]["min"] for c, m in zip(shown, med)]
    hi = [results[c]["added_us"]["max"] - m for c, m in zip(shown, med)]
    colors = {"native": "#7f7f7f", "trivial": "#1f77b4", "demo": "#ff7f0e", "scale": "#d62728"}
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    # The values go under the bars' names, clear of the min–max whiskers.
    names = ["%s\n+%.1f µs, %.2f× (c)" % (results[c]["label"], m, results[c]["ratio_vs_trivial"] or 0)
             for c, m in zip(shown, med)]
    ax.bar(names, med, yerr=[lo, hi], capsize=6, color=[colors.get(c, "#2ca02c") for c in shown])
    ax.axhline(budget, color="#d62728", linestyle="--", linewidth=1)
    ax.text(-0.45, budget, "P2 budget: 1.25 × (c) = %.1f µs" % budget, color="#d62728", ha="left", va="bottom",
            fontsize=9, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    base = results["none"]["cpu_us_per_request"]["median"]
    ax.set_ylabel("Envoy CPU added per request over (a) no filter [µs]")
    ax.set_title("acepack side-by-side: CPU added per request (baseline (a) %.1f µs/req)\n"
                 "Envoy %s, 1 worker, %s rounds × %s requests, medians (bars: min–max over rounds)"
                 % (base, doc["envoy"], doc["params"].get("rounds"), doc["params"].get("requests")), fontsize=10)
    ymax = max(max(m + h for m, h in zip(med, hi)), budget)
    ax.set_ylim(min(0, min(m - l for m, l in zip(med, lo)) * 1.1), ymax * 1.25)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig("%s/added_cpu.png" % out)


if __name__ == "__main__":
    main()
