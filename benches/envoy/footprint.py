#!/usr/bin/env python3
"""The guest code one request touches: distinct 64-byte lines of JIT code, per wasm function.

    python3 benches/envoy/footprint.py [--top K] [KEY PATH]

Runs host-tests' `footprint` example (the real `.wasm` in wasmtime, cranelift, perf map on) under
valgrind's callgrind twice, with N and 2N allowed, charged requests (default the scale bundle's
P1 request), and keeps the instructions executed at least N more times in the second run: the
code every request runs. Prints, per wasm function, the distinct 64-byte lines of that code and
its instructions per request. In Envoy (V8) the absolute numbers differ, the proportions much
less: a function whose hot path is spread over many lines (cold code inlined between hot blocks)
costs instruction-cache misses in the proxy (benches/README.md, P2), which instruction counts do
not show. Needs valgrind, `target/scale/scale.bundle` (scripts/gen-scale-catalog --compile) and
`cargo build --release -p acepack-filter --target wasm32-wasip1`.
"""
import argparse
import bisect
import collections
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N = 1000


def executed(path):
    """Instruction address → times executed, from a callgrind dump with --dump-instr=yes."""
    counts, addr, line, in_call = collections.Counter(), 0, 0, False

    def step(tok, prev):
        if tok == "*":
            return prev
        return prev + int(tok, 0) if tok[0] in "+-" else int(tok, 0)

    for text in open(path):
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
        counts[addr] += int(t[2])
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("key", nargs="?")
    ap.add_argument("path", nargs="?")
    a = ap.parse_args()
    if not a.key:
        probe = json.load(open(os.path.join(ROOT, "target", "scale", "probes.json")))["limited"]
        a.key, a.path = probe["key"], probe["path"]
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "acepack-host-tests", "--example", "footprint"],
                   cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "examples", "footprint")
    runs = {}
    for n in (N, 2 * N):
        out = f"/tmp/acepack-footprint.{os.getpid()}.{n}"
        before = set(glob.glob("/tmp/perf-*.map"))
        subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", f"--callgrind-out-file={out}",
                        exe, str(n), a.key, a.path], cwd=ROOT, check=True, capture_output=True,
                       env={**os.environ, "ACEPACK_PERFMAP": "1"})
        maps = sorted(set(glob.glob("/tmp/perf-*.map")) - before)
        if not maps:
            sys.exit("error: wasmtime wrote no perf map")
        runs[n] = (executed(out), maps[-1])
        os.remove(out)
    functions = sorted((int(addr, 16), int(size, 16), name.strip())
                       for addr, size, name in (l.split(" ", 2) for l in open(runs[2 * N][1])))
    for _, path in runs.values():
        os.remove(path)
    starts = [f[0] for f in functions]
    lines, instructions = collections.defaultdict(set), collections.Counter()
    first, second = runs[N][0], runs[2 * N][0]
    for addr, count in second.items():
        extra = count - first.get(addr, 0)
        if extra < N * 0.99:
            continue
        i = bisect.bisect_right(starts, addr) - 1
        if i < 0 or addr >= functions[i][0] + functions[i][1]:
            continue  # not guest code
        lines[functions[i][2]].add(addr >> 6)
        instructions[functions[i][2]] += extra / N
    total = sum(len(v) for v in lines.values())
    print(f"per request: {len(lines)} guest functions, {total} distinct 64-byte lines "
          f"({total * 64 / 1024:.1f} KiB), {sum(instructions.values()):.0f} instructions")
    print(f"{'lines':>6}{'instr':>8}  function")
    for name, v in sorted(lines.items(), key=lambda kv: -len(kv[1]))[:a.top]:
        print(f"{len(v):>6}{instructions[name]:>8.0f}  {name[:110]}")


if __name__ == "__main__":
    main()
