#!/usr/bin/env python3
"""scripts/bench's report: medians per configuration, the table, results.json and added_cpu.png.

    report.py SAMPLES.tsv OUT_DIR LABELS PARAMS LOAD_BEFORE LOAD_AFTER ENVOY GIT ELAPSED SCALE_NOTE SCALE_JSON

CPU µs per request of a run = the run time of Envoy's threads over the run (cpu_ns: scheduler
nanoseconds, or clock ticks where the samples say so) / requests. "added" is the median over rounds
of (configuration − no filter) within the same round, so slow drifts of the shared machine cancel;
"vs (c)" divides it by the trivial filter's added CPU. The chart is drawn from results.json's
document alone, so that benches/envoy/budgets.py can redraw it with callgrind's panel added.
"""

import json
import statistics
import sys
from collections import defaultdict

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

    # Context only, no verdict: P2 is judged on callgrind's counts (docs/budgets.md), which CPU
    # time on a shared machine cannot resolve.
    subject = "scale" if "scale" in results else "demo"
    subject_added = results[subject]["added_us"]["median"]
    cpu_context = {
        "config": subject,
        "added_us": subject_added,
        "trivial_added_us": trivial,
        "ratio_vs_trivial": results[subject]["ratio_vs_trivial"],
    }
    if subject != "scale":
        cpu_context["note"] = "scale bundle not measured (%s)" % (scale_note or "skipped")

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
    print("CPU context (not a budget): (%s) %s adds %.1f µs, %.2f× the trivial filter's %.1f µs; "
          "P2 is judged on callgrind's counts below" % (labels[subject], subject, subject_added,
                                                        cpu_context["ratio_vs_trivial"] or 0, trivial))
    if cpu_context.get("note"):
        print("    " + cpu_context["note"])
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
        "cpu_vs_trivial": cpu_context,
        "scale_request": None if scale_json in ("", "null") else json.loads(scale_json),
        "scale_note": scale_note or None,
    }
    with open("%s/results.json" % out, "w") as fh:
        json.dump(doc, fh, indent=2, ensure_ascii=False)
    chart(out, doc)
    print("Wrote %s/results.json, %s/added_cpu.png, %s/samples.tsv (total %s s)" % (out, out, out, elapsed))


def quartile(values, q):
    """The q-th quartile (1 or 3) of values, by the median-of-halves rule."""
    v = sorted(values)
    half = len(v) // 2
    part = v[:half] if q == 1 else v[len(v) - half:]
    return statistics.median(part) if part else v[0]


def chart(out, doc):
    """added_cpu.png: one horizontal bar per configuration (names on the y axis, values at the bar
    ends, where long names cannot collide), and a second panel with callgrind's added est when doc
    has it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = doc["configs"]
    shown = [c for c in results if c != "none"]
    cg = doc.get("callgrind")
    cg_shown = [c for c, f in cg["configs"].items() if f["added_est"] is not None] if cg else []
    heights = [len(shown) + 2] + ([len(cg_shown) + 2] if cg_shown else [])
    fig, axes = plt.subplots(len(heights), 1, figsize=(10, 0.42 * sum(heights) + 1.2), dpi=110, squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    colors = {"native": "#7f7f7f", "trivial": "#1f77b4", "demo": "#ff7f0e", "scale": "#d62728"}
    value = {"va": "center", "fontsize": 9, "bbox": {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1}}

    ax = axes[0][0]
    added = [results[c]["added_us"] for c in shown]
    med = [a["median"] for a in added]
    err = [[m - a["min"] for m, a in zip(med, added)], [a["max"] - m for m, a in zip(med, added)]]
    y = range(len(shown))
    ax.barh(y, med, xerr=err, capsize=4, color=[colors.get(c, "#2ca02c") for c in shown], height=0.65)
    ax.set_yticks(y, [results[c]["label"] for c in shown])
    ax.invert_yaxis()
    right = max(max(m + e for m, e in zip(med, err[1])), 0)
    for i, c in enumerate(shown):
        ratio = results[c]["ratio_vs_trivial"]
        ax.text(max(med[i] + err[1][i], 0) + right * 0.01, i,
                " %+.1f µs%s" % (med[i], "" if ratio is None else ", %.2f× (c)" % ratio), **value)
    trivial = results["trivial"]["added_us"]["median"]
    ax.axvline(trivial, color="#1f77b4", linestyle="--", linewidth=1, label="(c) trivial: %+.1f µs" % trivial)
    ax.set_xlim(min(0, min(m - e for m, e in zip(med, err[0])) * 1.1), right * 1.3)
    ax.set_xlabel("µs of Envoy CPU per request added over (a) no filter (median over rounds; whiskers: min–max)")
    ax.set_title("acepack side-by-side: CPU added per request (baseline (a) %.1f µs/req)\n"
                 "Envoy %s, 1 worker, %s rounds × %s requests"
                 % (results["none"]["cpu_us_per_request"]["median"], doc["envoy"], doc["params"].get("rounds"),
                    doc["params"].get("requests")), fontsize=10)
    legend_under_bars(ax, len(shown))
    ax.grid(axis="x", alpha=0.3)

    if cg_shown:
        ax = axes[1][0]
        f = cg["configs"]
        k = [f[c]["added_est"] / 1e3 for c in cg_shown]
        y = range(len(cg_shown))
        ax.barh(y, k, color=[colors.get(c, "#2ca02c") for c in cg_shown], height=0.65)
        ax.set_yticks(y, [results[c]["label"] if c in results else c for c in cg_shown])
        ax.invert_yaxis()
        right = max(max(k), 0)
        for i, c in enumerate(cg_shown):
            over = "" if f[c]["baseline"] == "none" else " (over %s)" % f[c]["baseline"]
            ax.text(max(k[i], 0) + right * 0.01, i, " %+.1f k%s" % (k[i], over), **value)
        for b, style in zip(cg["p2"], (("#d62728", "--"), ("#9467bd", ":"))):
            limit = b["limit"] * f[b["reference"]]["added_est"] / 1e3
            ax.axvline(limit, color=style[0], linestyle=style[1], linewidth=1.2,
                       label="P2 limit: %.2f × %s = %.1f k" % (b["limit"], b["reference"], limit))
        ax.set_xlim(min(0, min(k) * 1.1), right * 1.3)
        ax.set_xlabel("thousand est per request added over no filter serving the same request\n(est = Ir + "
                      "10·L1 misses + 40·L2 misses; callgrind, run with the median est of %d)" % cg["runs"])
        ax.set_title("Deterministic counts (callgrind, all Envoy threads): P2", fontsize=10)
        legend_under_bars(ax, len(cg_shown))
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig("%s/added_cpu.png" % out)
    plt.close(fig)


def legend_under_bars(ax, rows):
    """The reference lines' legend, in room left free under the last bar so that it covers no value."""
    entries = len(ax.get_legend_handles_labels()[0])
    if entries:
        ax.set_ylim(rows - 0.4 + 0.7 * entries, -0.6)
        ax.legend(loc="lower right", fontsize=9)


if __name__ == "__main__":
    main()
