#!/usr/bin/env python3
"""Envoy's work per request under callgrind: instructions and simulated cache misses, no noise.

    .venv/bin/python benches/envoy/callgrind.py [--requests N] [--warmup W] [CONFIG ...]

CPU time on the shared development VM varies by ±10–15 µs between two rounds of the side-by-side
benchmark, more than the differences it is meant to show. This runs the very configurations that
`scripts/bench` rendered (target/bench/envoy-CONFIG.yaml: none native trivial demo scale, and the
calibration ones) one at a time under valgrind's callgrind with its cache simulation, sends W
warm-up requests (uninstrumented, then W/4 more instrumented to fill the simulated caches), zeroes
the counters, sends N measured requests (h2load --h1, 4 connections),
dumps the counters and stops Envoy. Per request it reports, for all of Envoy's threads:

  Ir      instructions executed
  L1m     first-level misses (instruction + data reads + data writes; simulated 32 KiB L1i and
          L1d, 8-way, as on this machine's cores)
  L2m     misses of a simulated 512 KiB 8-way second level (this machine's L2 per core; callgrind
          models two levels, so the shared, noisy L3 is left out: an L2 miss is charged as an L3 hit)
  est     Ir + 10 × L1m + 40 × L2m: a cycle estimate (an L1 miss that hits L2 ≈ 10 cycles, one
          that goes to L3 ≈ 40–50 on this EPYC)

and each configuration's added cost over (a) none, and that added cost against (c) trivial's.
The counts repeat to a fraction of a percent between runs whatever else the machine does (Envoy's
own timers add a little); they are not time: a simulated miss is not a real one, and TLB misses,
prefetching and other tenants are not modelled. Use it to see a change of a few hundred
instructions or misses per request, which the CPU-time benchmark cannot resolve. With `scale`,
`demo` and `cal-contract` among the configurations it also prints P2's two ratios (docs/budgets.md):
scale's added est against cal-contract's and against demo's; P2 takes the median of three runs.

Needs: `scripts/bench` run first (ROUNDS=1 P4_STARTS=0 is enough: it renders the configurations,
the bundles and target/bench/scale-request.json), valgrind, h2load. Writes
target/bench/callgrind-CONFIG.out and target/bench/callgrind.json.
"""
import argparse
import json
import os
import re
import shutil
import signal
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


def request_of(name):
    """(path, host or None, headers) of a configuration's benchmark request, as scripts/bench sends it."""
    if name.startswith("scale"):
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


def measure(name, envoy, requests, warmup):
    config = os.path.join(OUT, f"envoy-{name}.yaml")
    if not os.path.exists(config):
        sys.exit(f"error: {config} is missing: run `ROUNDS=1 P4_STARTS=0 scripts/bench` first")
    listen, admin = ports(config)
    path, host, headers = request_of(name)
    if host:
        headers = headers + [f"host: {host}"]
    dump = os.path.join(OUT, f"callgrind-{name}.out")
    for f in os.listdir(OUT):
        if f.startswith(f"callgrind-{name}.out"):
            os.remove(os.path.join(OUT, f))
    log = open(os.path.join(OUT, f"callgrind-{name}.log"), "w")
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
    parts = sorted(f for f in os.listdir(OUT) if re.fullmatch(re.escape(f"callgrind-{name}.out") + r"\.\d+", f))
    if not parts:
        sys.exit(f"error: callgrind wrote no dump for {name}")
    s = summary(os.path.join(OUT, parts[0]))
    per = {k: v / requests for k, v in s.items()}
    l1 = per.get("I1mr", 0) + per.get("D1mr", 0) + per.get("D1mw", 0)
    l2 = per.get("ILmr", 0) + per.get("DLmr", 0) + per.get("DLmw", 0)
    return {"Ir": per["Ir"], "L1m": l1, "L2m": l2, "est": per["Ir"] + 10 * l1 + 40 * l2}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("configs", nargs="*", default=["none", "trivial", "demo", "scale"])
    a = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "h2load"):
        if not shutil.which(tool):
            sys.exit(f"error: {tool} not found (apt-get install valgrind nghttp2-client)")
    envoy = envoy_binary()
    results = {}
    for name in a.configs:
        t0 = time.time()
        results[name] = measure(name, envoy, a.requests, a.warmup)
        r = results[name]
        print(f"[callgrind] {name}: {r['Ir']:.0f} Ir, {r['L1m']:.0f} L1m, {r['L2m']:.0f} L2m per request "
              f"({time.time() - t0:.0f} s)", file=sys.stderr)
    base, ref = results.get("none"), results.get("trivial")
    print(f"{'config':<14}{'Ir/req':>10}{'L1m/req':>10}{'L2m/req':>10}{'est/req':>10}"
          f"{'added est':>11}{'vs trivial':>11}")
    for name, r in results.items():
        added = r["est"] - base["est"] if base else None
        ratio = ""
        if base and ref and name not in ("none",) and ref["est"] > base["est"]:
            ratio = f"{added / (ref['est'] - base['est']):.2f}×"
        print(f"{name:<14}{r['Ir']:>10.0f}{r['L1m']:>10.0f}{r['L2m']:>10.0f}{r['est']:>10.0f}"
              f"{'' if added is None else f'{added:+.0f}':>11}{ratio:>11}")
    added = {n: r["est"] - base["est"] for n, r in results.items()} if base else {}
    if all(n in added for n in ("scale", "demo", "cal-contract")) and min(added["demo"], added["cal-contract"]) > 0:
        print(f"P2: scale / cal-contract {added['scale'] / added['cal-contract']:.3f}× (budget ≤ 0.85×), "
              f"scale / demo {added['scale'] / added['demo']:.3f}× (budget ≤ 1.05×)")
    json.dump({"requests": a.requests, "warmup": a.warmup, "per_request": results},
              open(os.path.join(OUT, "callgrind.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
