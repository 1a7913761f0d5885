#!/usr/bin/env python3
"""Pick the benchmark request for a compiled catalog: a credential, a GET operation and the package
it is charged to, such that every request of a benchmark run is ALLOWED and CHARGED to a bucket.

    pick_request.py ACEPACK CATALOG BUNDLE NEEDED OUT.json

Candidates: the generator's `probes.json` beside the catalog, when it has a `limited` probe (a GET
that is allowed and charged); then the catalog (applications with a plain `key` of a key_auth
strategy and an approved package registration) with the bundle (`acepack inspect --json`: the
package's resolved operations and their templates). Each candidate is checked with `acepack explain`, the filter's own
decision engine: it must say `allow` and name a package whose every window holds at least NEEDED
tokens. When no candidate's package is that large, the first allowed candidate's package gets higher
limits (same windows, counts raised) in a copy of the catalog written beside it
(`<catalog>.bench.json`, so relative spec paths still resolve), which is compiled to BUNDLE.bench;
the result says so (`rewritten`).

Writes OUT.json: bundle, catalog, method, path, host, key_name, key, application, package,
operation, limits, rewritten. Exit status 1 when nothing suitable is found.
"""

import json
import os
import re
import subprocess
import sys

METHOD = "GET"  # h2load sends GET requests
MAX_CANDIDATES = 40  # candidates explained at most
MAX_TRIES = 3  # allowed-but-too-small candidates explained before raising a limit
# Raised limits: large, yet within what the compiler accepts (u64 microsecond tokens).
HIGH_COUNT = {"second": 10_000_000, "minute": 100_000_000, "hour": 1_000_000_000, "day": 200_000_000}


def load_catalog(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return json.loads(data)
    except ValueError:
        pass
    import yaml  # PyYAML; scripts/bench installs it into .venv

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(data, Loader=loader)


def inspect(acepack, bundle):
    out = subprocess.run([acepack, "inspect", bundle, "--json"], check=True, capture_output=True).stdout
    return json.loads(out)


def operations_by_package(info):
    """package id -> [(operation id, method, path template, hosts, has override)]."""
    ops_by_id = {}
    for api in info.get("apis", []):
        for op in api.get("operations", []):
            entry = (op["id"], op["method"], op["path"], api.get("hosts") or [])
            ops_by_id.setdefault((api["name"], op["id"]), entry)
            ops_by_id.setdefault((None, op["id"]), entry)
    out = {}
    for pkg in info.get("packages", []):
        resolved = []
        for ref in pkg.get("operations", []):
            entry = ops_by_id.get((ref.get("api"), ref.get("op"))) or ops_by_id.get((None, ref.get("op")))
            if entry:
                resolved.append(entry + (bool(ref.get("rate_limit")),))
        out[pkg["id"]] = resolved
    return out


def concrete(template):
    """A request path for a template: each `{}` (or `{name}`) becomes a plain segment value."""
    return re.sub(r"\{[^}]*\}", "x1", template)


def concrete_host(hosts):
    if not hosts:
        return None
    h = hosts[0]
    return "bench." + h[2:] if h.startswith("*.") else h


def candidates(catalog, ops):
    strategies = {s.get("name"): s for s in catalog.get("auth_strategies") or []}
    apps = catalog.get("applications") or []
    # Start in the middle of the catalog: neither the first nor the last entry of anything.
    start = len(apps) // 2
    seen = 0
    for i in range(len(apps)):
        app = apps[(start + i) % len(apps)]
        strat = strategies.get(app.get("auth_strategy"))
        if not strat or strat.get("type") != "key_auth" or not strat.get("key_names"):
            continue
        keys = [c["key"] for c in app.get("credentials") or [] if isinstance(c, dict) and "key" in c]
        if not keys:
            continue
        for reg in app.get("registrations") or []:
            if reg.get("status", "approved") != "approved" or "package" not in reg:
                continue
            pkg_ops = [o for o in ops.get(reg["package"], []) if o[1] == METHOD]
            # Prefer an operation charged to the package bucket itself (no per-operation override).
            pkg_ops.sort(key=lambda o: o[4])
            for op in pkg_ops[:1]:
                yield {
                    "application": app.get("name"),
                    "key_name": strat["key_names"][0].lower(),
                    "key": keys[len(keys) // 2],
                    "package": reg["package"],
                    "operation": op[0],
                    "method": op[1],
                    "path": concrete(op[2]),
                    "host": concrete_host(op[3]),
                }
                seen += 1
                if seen >= MAX_CANDIDATES:
                    return


def explain(acepack, bundle, c):
    url = "http://%s%s" % (c["host"] or "bench.local", c["path"])
    r = subprocess.run(
        [acepack, "explain", bundle, c["method"], url, "-H", "%s: %s" % (c["key_name"], c["key"])],
        capture_output=True,
        text=True,
    )
    text = r.stdout
    status = re.search(r"^status:\s+(\S+)", text, re.M)
    package = re.search(r"^package:\s+(\S+)", text, re.M)
    operation = re.search(r"^operation:\s+(\S+)", text, re.M)
    application = re.search(r"^application:\s+(\S+)", text, re.M)
    limits = re.findall(r"^limit:\s+(\d+)/(\w+)", text, re.M)
    return {
        "allowed": bool(status) and status.group(1) == "allow",
        "package": package.group(1) if package else None,
        "operation": operation.group(1) if operation else None,
        "application": application.group(1) if application else None,
        "limits": [(int(n), unit) for n, unit in limits],
        "text": text,
    }


def probe_candidates(catalog_path):
    """The generator's `limited` probe (benches' gen-scale-catalog writes probes.json)."""
    path = os.path.join(os.path.dirname(os.path.abspath(catalog_path)), "probes.json")
    try:
        with open(path) as f:
            p = json.load(f).get("limited")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(p, dict) and p.get("method") == METHOD and p.get("key") and p.get("path"):
        yield {
            "application": None,
            "key_name": "apikey",
            "key": p["key"],
            "package": None,
            "operation": None,
            "method": METHOD,
            "path": p["path"],
            "host": p.get("authority"),
        }


def all_candidates(acepack, catalog, catalog_path, bundle):
    yield from probe_candidates(catalog_path)
    yield from candidates(catalog, operations_by_package(inspect(acepack, bundle)))


def main():
    acepack, catalog_path, bundle, needed, out_path = sys.argv[1:6]
    needed = int(needed)
    catalog = load_catalog(catalog_path)
    first_allowed = None
    tried = 0
    for c in all_candidates(acepack, catalog, catalog_path, bundle):
        e = explain(acepack, bundle, c)
        if not e["allowed"] or e["package"] in (None, "none") or not e["limits"]:
            continue
        c.update(package=e["package"], operation=e["operation"], application=e["application"])
        first_allowed = first_allowed or (c, e)
        if all(n >= needed for n, _ in e["limits"]):
            write(out_path, c, e, bundle, catalog_path, False)
            return 0
        tried += 1
        if tried >= MAX_TRIES:
            break  # each explain loads the whole bundle: raise this candidate's limits instead
    if not first_allowed:
        print("pick_request: no application with a plain key, an approved package registration and a GET "
              "operation is allowed and charged by the bundle", file=sys.stderr)
        return 1
    # Raise the limits of the first allowed candidate's package in a copy of the catalog.
    c, e = first_allowed
    for pkg in catalog.get("packages") or []:
        if pkg.get("id") == c["package"]:
            rl = pkg.get("rate_limit")
            windows = rl if isinstance(rl, list) else [rl]
            pkg["rate_limit"] = ["%d/%s" % (HIGH_COUNT.get(str(w).split("/")[1].strip(), 10_000_000),
                                             str(w).split("/")[1].strip()) for w in windows if w]
            for entry in pkg.get("operations") or []:
                entry.pop("rate_limit", None)
    bench_catalog = os.path.join(os.path.dirname(os.path.abspath(catalog_path)),
                                 os.path.basename(catalog_path) + ".bench.json")
    with open(bench_catalog, "w") as f:
        json.dump(catalog, f)
    bench_bundle = bundle + ".bench"
    subprocess.run([acepack, "compile", bench_catalog, "-o", bench_bundle], check=True, stdout=subprocess.DEVNULL)
    e = explain(acepack, bench_bundle, c)
    if not (e["allowed"] and e["package"] == c["package"] and all(n >= needed for n, _ in e["limits"])):
        print("pick_request: the catalog with raised limits still does not allow and charge the request:\n"
              + e["text"], file=sys.stderr)
        return 1
    write(out_path, c, e, bench_bundle, bench_catalog, True)
    return 0


def write(out_path, c, e, bundle, catalog, rewritten):
    result = dict(c)
    result.update(
        bundle=bundle,
        catalog=catalog,
        limits=["%d/%s" % lim for lim in e["limits"]],
        rewritten=rewritten,
        explain=e["text"],
    )
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
