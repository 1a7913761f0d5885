#!/usr/bin/env python3
"""Envoy's work per request under callgrind: instructions and simulated cache misses, no noise.

    .venv/bin/python benches/envoy/callgrind.py [--runs R] [--requests N] [--warmup W] [CONFIG ...]

CPU time on the shared development VM varies by ±10–15 µs between two rounds of the side-by-side
benchmark, more than the differences it is meant to show. This runs the very configurations that
`scripts/bench` rendered (target/bench/envoy-CONFIG.yaml: none native trivial demo scale, and the
calibration ones; default none trivial demo scale cal-contract) one at a time under valgrind's
callgrind with its cache simulation, sends W warm-up requests (uninstrumented, then W/4 more
instrumented to fill the simulated caches), zeroes the counters, sends N measured requests (h2load
--h1, 4 connections), dumps the counters and stops Envoy. Per request it reports, for all of
Envoy's threads:

  Ir      instructions executed
  L1m     first-level misses (instruction + data reads + data writes; simulated 32 KiB L1i and
          L1d, 8-way, as on this machine's cores)
  L2m     misses of a simulated 512 KiB 8-way second level (this machine's L2 per core; callgrind
          models two levels, so the shared, noisy L3 is left out: an L2 miss is charged as an L3 hit)
  est     Ir + 10 × L1m + 40 × L2m: a cycle estimate (an L1 miss that hits L2 ≈ 10 cycles, one
          that goes to L3 ≈ 40–50 on this EPYC)

Each configuration is measured R times (default 3), one after the other; its row is the run with
the median est (the lower middle one for an even R), and the est of every run is printed next to
it: L2 misses move by a few percent between runs with allocation addresses.

A configuration's added cost is its est minus that of Envoy with no filter serving the same
request, and the table also gives that added cost against (c) trivial's. Envoy alone does more
work for the scale request (a longer path, a `host` header) than for the demo one, about 7,000
instructions, which is not the filter's: so `scale` is measured against `none-scale` (envoy-none.yaml
driven with the scale request, measured whenever `scale` is), every other configuration against
`none` (the demo request). The counts repeat to a fraction of a percent between runs whatever else
the machine does (Envoy's own timers add a little); they are not time: a simulated miss is not a
real one, and TLB misses, prefetching and other tenants are not modelled. Use it to see a change of
a few hundred instructions or misses per request, which the CPU-time benchmark cannot resolve.
With `scale`, `demo` and `cal-contract` among the configurations it ends with P2's two lines
(docs/budgets.md): scale's added est against cal-contract's (≤ 0.85×) and against demo's (≤ 1.05×).
Each line also gives the same ratio on Ir + 10 × L1m alone (medians over the runs), the part of est
that repeats between runs: the L2 misses are what moves a ratio from one run to the next.

Needs: `scripts/bench` run first (`ROUNDS=1 P4_STARTS=0 CALIBRATE=1 CALLGRIND=0` is enough: it
renders the configurations, the bundles and target/bench/scale-request.json), valgrind, h2load.
Writes target/bench/callgrind-CONFIG.rK.out (run K's dumps; its log next to it) and
target/bench/callgrind.json (every run's figures, the median run, the added est, the P2 lines and
the table).
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "target", "bench")
DEMO_PATH, DEMO_KEY = "/v1/flights/KA0284", "ops-internal-51d2e8"


def envoy_binary():
    # .venv/bin/envoy is a Python wrapper that execs the real binary; valgrind must start the latter.
    py = os.path.join(ROOT, ".venv", "bin", "python")
    code = "import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), '_bin', 'envoy'))"
    path = subprocess.run([py, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    if not os.access(path, os.X_OK):
        sys.exit(f"error: no Envoy binary at {path} (run scripts/setup)")
    return path


def ports(config_path):
    c = yaml.safe_load(open(config_path))
    admin = c["admin"]["address"]["socket_address"]["port_value"]
    listen = c["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
    return int(listen), int(admin)


def setup_of(name):
    """(Envoy configuration, request) of a configuration: the envoy-*.yaml it starts and the request
    it is sent ("demo" or "scale", as scripts/bench sends them). `none-scale` is no filter with the
    scale request, the baseline of `scale`."""
    if name == "none-scale":
        return "none", "scale"
    return name, "scale" if name == "scale" else "demo"


def baseline_of(name):
    """The configuration with no filter serving the same request, or None for the baselines themselves."""
    config, request = setup_of(name)
    if config == "none":
        return None
    return "none" if request == "demo" else "none-" + request


def request_of(request):
    """(path, host or None, headers) of the named request."""
    if request == "scale":
        r = json.load(open(os.path.join(OUT, "scale-request.json")))
        return r["path"], r["host"], [f"{r['key_name']}: {r['key']}"]
    return DEMO_PATH, None, [f"apikey: {DEMO_KEY}"]


def h2load(url, headers, n):
    args = ["h2load", "--h1", "-n", str(n), "-c", "4", url]
    for h in headers:
        args[1:1] = ["-H", h]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    m = re.search(r"status codes: (\d+) 2xx", out)
    ok = int(m.group(1)) if m else 0
    if ok != n:
        sys.exit(f"error: {url}: {ok} of {n} responses were 2xx\n{out}")


def summary(dump):
    events = totals = None
    for line in open(dump):
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:") or (line.startswith("totals:") and totals is None):
            totals = [int(x) for x in line.split()[1:]]
    if not events or not totals:
        sys.exit(f"error: {dump} has no events/summary line")
    return dict(zip(events, totals))


def measure(name, run, envoy, requests, warmup):
    envoy_config, request = setup_of(name)
    config = os.path.join(OUT, f"envoy-{envoy_config}.yaml")
    if not os.path.exists(config):
        sys.exit(f"error: {config} is missing: run `ROUNDS=1 P4_STARTS=0 CALIBRATE=1 CALLGRIND=0 scripts/bench` first")
    listen, admin = ports(config)
    path, host, headers = request_of(request)
    if host:
        headers = headers + [f"host: {host}"]
    dump = os.path.join(OUT, f"callgrind-{name}.r{run}.out")
    log = open(os.path.join(OUT, f"callgrind-{name}.r{run}.log"), "w")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--cache-sim=yes", "--I1=32768,8,64", "--D1=32768,8,64",
         "--LL=524288,8,64", "--instr-atstart=no", f"--callgrind-out-file={dump}",
         envoy, "-c", config, "--concurrency", "1", "--disable-hot-restart", "--log-level", "warn"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 900
        while True:
            if proc.poll() is not None:
                sys.exit(f"error: Envoy ({name}) exited under valgrind; see {log.name}")
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{admin}/ready", timeout=2).read().startswith(b"LIVE"):
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit(f"error: Envoy ({name}) not ready after 900 s under valgrind")
            time.sleep(2)
        url = f"http://127.0.0.1:{listen}{path}"
        # Start-up and most of the warm-up run uninstrumented (several times faster); the last
        # requests of the warm-up fill the simulated caches before the counters are zeroed.
        h2load(url, headers, warmup)
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
        h2load(url, headers, max(200, warmup // 4))
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        h2load(url, headers, requests)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # The dump after zeroing is the first numbered part: DUMP.1.
    parts = sorted(f for f in os.listdir(OUT) if re.fullmatch(re.escape(os.path.basename(dump)) + r"\.\d+", f))
    if not parts:
        sys.exit(f"error: callgrind wrote no dump for {name}")
    s = summary(os.path.join(OUT, parts[0]))
    per = {k: v / requests for k, v in s.items()}
    l1 = per.get("I1mr", 0) + per.get("D1mr", 0) + per.get("D1mw", 0)
    l2 = per.get("ILmr", 0) + per.get("DLmr", 0) + per.get("DLmw", 0)
    return {"Ir": per["Ir"], "L1m": l1, "L2m": l2, "est": per["Ir"] + 10 * l1 + 40 * l2}


def clear_dumps(name):
    """Removes a configuration's dumps and logs of earlier invocations, so that those left are this one's."""
    for f in os.listdir(OUT):
        if f.startswith(f"callgrind-{name}."):
            os.remove(os.path.join(OUT, f))


def p2_lines(added, steady):
    """P2's two budgets (docs/budgets.md) on the added est, for those whose configurations were measured.
    Each line also gives the ratio without the L2 term (`steady`: added Ir + 10 × L1m, medians over
    the runs), which repeats from run to run: the L2 misses are what moves a ratio between runs."""
    budgets = []
    for ref, what, limit in (("cal-contract", "contract", 0.85), ("demo", "demo", 1.05)):
        if added.get("scale") is None or not (added.get(ref) or 0) > 0:
            continue
        ratio = added["scale"] / added[ref]
        ok = ratio <= limit
        line = f"P2 scale / {what}: {ratio:.3f}× (budget ≤ {limit:.2f}×) {'pass' if ok else 'FAIL'}"
        steady_ratio = None
        if steady.get("scale") is not None and (steady.get(ref) or 0) > 0:
            steady_ratio = steady["scale"] / steady[ref]
            line += f"  [Ir + 10 × L1m alone: {steady_ratio:.3f}×]"
        budgets.append({"budget": f"scale / {what}", "reference": ref, "ratio": ratio, "limit": limit, "pass": ok,
                        "steady_ratio": steady_ratio, "line": line})
    return budgets


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per configuration; the median est is reported")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("configs", nargs="*", default=["none", "trivial", "demo", "scale", "cal-contract"])
    a = ap.parse_args()
    if a.runs < 1:
        sys.exit("error: --runs must be at least 1")
    for tool in ("valgrind", "callgrind_control", "h2load"):
        if not shutil.which(tool):
            sys.exit(f"error: {tool} not found (apt-get install valgrind nghttp2-client)")
    configs = list(dict.fromkeys(a.configs))
    # scale's baseline is measured with it, just before it.
    if "scale" in configs and "none-scale" not in configs:
        configs.insert(configs.index("scale"), "none-scale")
    envoy = envoy_binary()
    figures = {}
    for name in configs:
        clear_dumps(name)
        runs = []
        for run in range(1, a.runs + 1):
            t0 = time.time()
            r = measure(name, run, envoy, a.requests, a.warmup)
            runs.append(r)
            print(f"[callgrind] {name} run {run}/{a.runs}: {r['Ir']:.0f} Ir, {r['L1m']:.0f} L1m, {r['L2m']:.0f} L2m, "
                  f"est {r['est']:.0f} per request ({time.time() - t0:.0f} s)", file=sys.stderr)
        # The lower middle run, so that the row is one real run's figures whatever R.
        median_run = sorted(range(len(runs)), key=lambda i: runs[i]["est"])[(len(runs) - 1) // 2]
        envoy_config, request = setup_of(name)
        figures[name] = {"envoy_config": f"envoy-{envoy_config}.yaml", "request": request,
                         "baseline": baseline_of(name), "runs": runs, "median_run": median_run + 1,
                         "per_request": runs[median_run]}

    def added_of(name):
        base = figures[name]["baseline"]
        if base is None or base not in figures:
            return None
        return figures[name]["per_request"]["est"] - figures[base]["per_request"]["est"]

    added = {n: added_of(n) for n in figures}

    def steady_of(name):
        """Median over the runs of Ir + 10 × L1m: the part of est that repeats between runs."""
        return statistics.median(r["Ir"] + 10 * r["L1m"] for r in figures[name]["runs"])

    steady = {n: (steady_of(n) - steady_of(figures[n]["baseline"])
                  if figures[n]["baseline"] in figures else None) for n in figures}
    ref = added.get("trivial")
    for name, f in figures.items():
        f["added_est"] = added[name]
        f["vs_trivial"] = added[name] / ref if added[name] is not None and ref and ref > 0 else None

    table = [f"{'config':<14}{'request':<9}{'Ir/req':>9}{'L1m/req':>9}{'L2m/req':>9}{'est/req':>9}  "
             f"{'est of each run (k)':<21}{'over':<12}{'added est':>10}{'vs trivial':>11}"]
    for name, f in figures.items():
        r = f["per_request"]
        each = " ".join(f"{x['est'] / 1e3:.1f}" for x in f["runs"])
        over = f["baseline"] or "—"
        plus = "" if f["added_est"] is None else "%+.0f" % f["added_est"]
        ratio = "" if f["vs_trivial"] is None else "%.2f×" % f["vs_trivial"]
        table.append(f"{name:<14}{f['request']:<9}{r['Ir']:>9.0f}{r['L1m']:>9.0f}{r['L2m']:>9.0f}{r['est']:>9.0f}  "
                     f"{each:<21}{over:<12}{plus:>10}{ratio:>11}")
    p2 = p2_lines(added, steady)
    print("\n".join(table))
    for b in p2:
        print(b["line"])
    json.dump({"requests": a.requests, "warmup": a.warmup, "runs": a.runs, "configs": figures, "p2": p2,
               "table": table},
              open(os.path.join(OUT, "callgrind.json"), "w"), indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
