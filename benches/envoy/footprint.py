#!/usr/bin/env python3
"""The guest code one request touches: distinct 64-byte lines of JIT code, per wasm function.

    python3 benches/envoy/footprint.py [--top K] [--cold] [--source FUNCTION] [KEY PATH]

Runs host-tests' `footprint` example (the real `.wasm` in wasmtime, cranelift, perf map on) under
valgrind's callgrind twice, with N and 2N allowed, charged requests (default the scale bundle's
P1 request), and keeps the instructions executed at least N more times in the second run: the
code every request runs. Prints, per wasm function, the distinct 64-byte lines of that code and
its instructions per request. In Envoy (V8) the absolute numbers differ, the proportions much
less: a function whose hot path is spread over many lines (cold code inlined between hot blocks)
costs instruction-cache misses in the proxy (benches/README.md, P2), which instruction counts do
not show.

--cold      also simulates the caches with 2 MiB of other memory written before each request (as
            a proxy's own work does between two requests) and prints, per function, the code and
            the data lines each request brings back in (L1 misses per request): where the
            request's footprint is code and where it is data.
--source F  builds the `.wasm` with line tables (into target/footprint), maps each hot JIT
            instruction of the function whose name contains F back to its wasm offset (wasmtime's
            address map) and to Rust source (llvm-addr2line), and prints F's lines by the source
            location inlined into it: which part of the function's hot path spreads over how many
            lines.

Needs valgrind, `target/scale/scale.bundle` (scripts/gen-scale-catalog --compile) and
`cargo build --release -p acepack-filter --target wasm32-wasip1`; `--source` also needs
llvm-addr2line (Debian `llvm`).
"""
import argparse
import bisect
import collections
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N = 1000
CACHES = ["--cache-sim=yes", "--I1=32768,8,64", "--D1=32768,8,64", "--LL=524288,8,64"]


def costs(path):
    """(event names, instruction address → event counts) from a callgrind dump with
    --dump-instr=yes."""
    events, counts, addr, line, in_call = ["Ir"], {}, 0, 0, False

    def step(tok, prev):
        if tok == "*":
            return prev
        return prev + int(tok, 0) if tok[0] in "+-" else int(tok, 0)

    for text in open(path):
        if text.startswith("events:"):
            events = text.split()[1:]
            continue
        if text.startswith("calls="):
            in_call = True
            continue
        if not text or text[0] not in "0123456789+-*":
            continue
        t = text.split()
        if len(t) < 3:
            continue
        addr, line = step(t[0], addr), step(t[1], line)
        if in_call:  # the cost line of a call is the callee's, not this instruction's
            in_call = False
            continue
        c = counts.setdefault(addr, [0] * len(events))
        for i, v in enumerate(t[2:2 + len(events)]):
            c[i] += int(v)
    return events, counts


def run(exe, n, key, path, wasm, extra_env, valgrind_args):
    """Callgrind over `footprint n`: (events, costs, perf map entries, address map or None)."""
    out = f"/tmp/acepack-footprint.{os.getpid()}.{n}"
    addrmap = out + ".addr"
    before = set(glob.glob("/tmp/perf-*.map"))
    env = {**os.environ, "ACEPACK_PERFMAP": "1", "ACEPACK_ADDRMAP": addrmap, **extra_env}
    if wasm:
        env["ACEPACK_FILTER_WASM"] = wasm
    subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", *valgrind_args,
                    f"--callgrind-out-file={out}", exe, str(n), key, path],
                   cwd=ROOT, check=True, capture_output=True, env=env)
    maps = sorted(set(glob.glob("/tmp/perf-*.map")) - before)
    if not maps:
        sys.exit("error: wasmtime wrote no perf map")
    functions = sorted((int(a, 16), int(s, 16), name.strip())
                       for a, s, name in (l.split(" ", 2) for l in open(maps[-1])))
    amap = sorted((int(a, 16), int(w, 16)) for a, w in (l.split() for l in open(addrmap)))
    events, counts = costs(out)
    for f in (out, addrmap, *maps):
        os.remove(f)
    return events, counts, functions, amap


def per_request(first, second, functions):
    """Guest instruction address → (function, costs per request), for the instructions the second
    run (2N requests) executed at least N more times than the first."""
    starts = [f[0] for f in functions]
    hot = {}
    for addr, c2 in second.items():
        c1 = first.get(addr, [0] * len(c2))
        extra = [(b - a) / N for a, b in zip(c1, c2)]
        if extra[0] < 0.99:
            continue
        i = bisect.bisect_right(starts, addr) - 1
        if i < 0 or addr >= functions[i][0] + functions[i][1]:
            continue  # not guest code
        hot[addr] = (functions[i][2], extra)
    return hot


def source_lines(wasm, offsets):
    """wasm file offset → inlined frames [(function, file, line)], innermost first."""
    code = subprocess.run(["wasm-objdump", "-h", wasm], capture_output=True, text=True, check=True).stdout
    start = int(re.search(r"Code start=0x([0-9a-f]+)", code).group(1), 16)
    offsets = sorted(offsets)
    out = subprocess.run(["llvm-addr2line", "-e", wasm, "-i", "-f", "-C", "--output-style=JSON"],
                         input="\n".join(hex(o - start) for o in offsets),
                         capture_output=True, text=True, check=True).stdout
    frames = {}
    for offset, line in zip(offsets, out.splitlines()):
        frames[offset] = [(re.sub(r"<.*", "", f.get("FunctionName", "?")), os.path.basename(f.get("FileName", "")),
                           f.get("Line", 0)) for f in json.loads(line).get("Symbol", [])]
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--source", metavar="FUNCTION")
    ap.add_argument("key", nargs="?")
    ap.add_argument("path", nargs="?")
    a = ap.parse_args()
    if not a.key:
        probe = json.load(open(os.path.join(ROOT, "target", "scale", "probes.json")))["limited"]
        a.key, a.path = probe["key"], probe["path"]
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "acepack-host-tests", "--example", "footprint"],
                   cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "examples", "footprint")
    wasm = None
    if a.source:
        target = os.path.join(ROOT, "target", "footprint")
        subprocess.run(["cargo", "build", "-q", "--release", "-p", "acepack-filter", "--target", "wasm32-wasip1"],
                       cwd=ROOT, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": target,
                            "CARGO_PROFILE_RELEASE_DEBUG": "line-tables-only"})
        wasm = os.path.join(target, "wasm32-wasip1", "release", "acepack_filter.wasm")
    env, args = ({"ACEPACK_EVICT_MB": "2"}, CACHES) if a.cold else ({}, [])
    runs = [run(exe, n, a.key, a.path, wasm, env, args) for n in (N, 2 * N)]
    events, functions, amap = runs[1][0], runs[1][2], runs[1][3]
    hot = per_request(runs[0][1], runs[1][1], functions)

    lines, instructions = collections.defaultdict(set), collections.Counter()
    misses = collections.defaultdict(lambda: [0.0, 0.0])
    ev = {e: i for i, e in enumerate(events)}
    for addr, (name, c) in hot.items():
        lines[name].add(addr >> 6)
        instructions[name] += c[0]
    if a.cold:
        # Misses are counted at every instruction that ran, hot or not.
        starts = [f[0] for f in functions]
        first = runs[0][1]
        for addr, c2 in runs[1][1].items():
            i = bisect.bisect_right(starts, addr) - 1
            if i < 0 or addr >= functions[i][0] + functions[i][1]:
                continue
            c1 = first.get(addr, [0] * len(c2))
            d = [(y - x) / N for x, y in zip(c1, c2)]
            m = misses[functions[i][2]]
            m[0] += d[ev["I1mr"]]
            m[1] += d[ev["D1mr"]] + d[ev["D1mw"]]
    total = sum(len(v) for v in lines.values())
    print(f"per request: {len(lines)} guest functions, {total} distinct 64-byte lines "
          f"({total * 64 / 1024:.1f} KiB), {sum(instructions.values()):.0f} instructions")
    if a.cold:
        print(f"with the caches cold: {sum(m[0] for m in misses.values()):.0f} code lines and "
              f"{sum(m[1] for m in misses.values()):.0f} data lines brought in per request")
        print(f"{'lines':>6}{'instr':>8}{'code':>7}{'data':>7}  function")
    else:
        print(f"{'lines':>6}{'instr':>8}  function")
    for name, v in sorted(lines.items(), key=lambda kv: -len(kv[1]))[:a.top]:
        cold = f"{misses[name][0]:>7.0f}{misses[name][1]:>7.0f}" if a.cold else ""
        print(f"{len(v):>6}{instructions[name]:>8.0f}{cold}  {name[:110]}")

    if a.source:
        mine = {addr: c for addr, (name, c) in hot.items() if a.source in name}
        if not mine:
            sys.exit(f"error: no hot code in a function named like {a.source!r}")
        keys = [k for k, _ in amap]
        offset = {}
        for addr in mine:
            i = bisect.bisect_right(keys, addr) - 1
            if i >= 0:
                offset[addr] = amap[i][1]
        frames = source_lines(wasm, set(offset.values()))
        by, ins = collections.defaultdict(set), collections.Counter()
        for addr, c in mine.items():
            chain = list(reversed(frames.get(offset.get(addr), [])))  # outermost first
            # The frame inlined into the function itself, and the one inlined into that.
            inner = chain[1:3] or chain[:1] or [("?", "?", 0)]
            where = " > ".join(f"{f}@{file}:{line}" for f, file, line in inner)
            by[where].add(addr >> 6)
            ins[where] += c[0]
        own = {addr >> 6 for addr in mine}
        print(f"\n{a.source}: {len(own)} lines, {sum(c[0] for c in mine.values()):.0f} instructions "
              f"per request, by what is inlined into it (a line shared by two places counts in both)")
        print(f"{'lines':>6}{'instr':>8}  inlined from")
        for where, v in sorted(by.items(), key=lambda kv: -len(kv[1]))[:a.top]:
            print(f"{len(v):>6}{ins[where]:>8.0f}  {where[:120]}")


if __name__ == "__main__":
    main()
