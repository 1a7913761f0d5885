//! `acepack diff OLD NEW [--json] [--allow-breaking]` and the breaking-change rule of docs/catalog.md#breaking-changes, shared
//! with `compile --previous`. OLD and NEW may each be a bundle or a catalog.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use acepack_compiler::bundle::build;
use acepack_compiler::load_model;
use acepack_filter::bundle::{Bundle, Grant, Hold, Limit, Package, MAGIC};

use super::{Exit, Failure};

/// An operation's identity across versions: API, method and normalized path (ids may be renamed).
type OpKey = (String, String, String);

/// What changed between two bundles.
#[derive(Debug, Default, serde::Serialize)]
pub struct Changes {
    /// Operations only in NEW (`api: METHOD /path`).
    pub operations_added: Vec<String>,
    /// Operations only in OLD.
    pub operations_removed: Vec<String>,
    /// Packages only in NEW.
    pub packages_added: Vec<String>,
    /// Packages only in OLD.
    pub packages_removed: Vec<String>,
    /// Per package present in both: operations added and removed.
    pub packages_changed: BTreeMap<String, PackageChange>,
    /// Applications only in NEW / only in OLD.
    pub applications_added: Vec<String>,
    /// Applications only in OLD.
    pub applications_removed: Vec<String>,
    /// APIs and packages present in both whose version changed (`package "p": 1 → 2`).
    pub versions_changed: Vec<String>,
    /// Not breaking, but callers will notice: a rate limit lowered or added.
    pub warnings: Vec<String>,
    /// docs/catalog.md#breaking-changes violations: an operation that a publication or a
    /// registration could reach is gone.
    pub breaking: Vec<String>,
}

/// Operations added to and removed from one package.
#[derive(Debug, Default, serde::Serialize)]
pub struct PackageChange {
    /// Added.
    pub added: Vec<String>,
    /// Removed.
    pub removed: Vec<String>,
}

fn op_keys(b: &Bundle) -> Vec<OpKey> {
    b.operations
        .iter()
        .map(|o| {
            (
                b.apis.get(o.api as usize).map(|a| a.name.clone()).unwrap_or_default(),
                o.method.to_string(),
                b.name(o.path).to_owned(),
            )
        })
        .collect()
}

fn show(k: &OpKey) -> String {
    format!("{}: {} {}", k.0, k.1, k.2)
}

fn package_ops(b: &Bundle, keys: &[OpKey]) -> BTreeMap<String, BTreeSet<OpKey>> {
    b.packages
        .iter()
        .map(|p| {
            let ops = p
                .operations
                .iter()
                .filter_map(|po| keys.get(po.operation as usize).cloned())
                .collect();
            (p.id.clone(), ops)
        })
        .collect()
}

/// Why a package or API of OLD may not lose operations: it is published on a portal, or an
/// application holds an approved or pending registration to it (a pending one is a promise about
/// to be kept; revoked and rejected ones promise nothing). `None`: nobody can rely on it.
fn guarded(b: &Bundle, target: Grant, published: bool) -> Option<String> {
    if published {
        return Some("published".to_owned());
    }
    let mut apps: Vec<&str> = b
        .applications
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            a.grants.contains(&target)
                || b.access
                    .held
                    .iter()
                    .any(|h| h.application as usize == *i && h.grant == target && h.hold == Hold::Pending)
        })
        .map(|(_, a)| b.name(a.name))
        .collect();
    apps.sort_unstable();
    apps.dedup();
    match apps.as_slice() {
        [] => None,
        [one] => Some(format!("registered by application \"{one}\"")),
        many => Some(format!("registered by {} applications", many.len())),
    }
}

/// Compares two bundles.
pub fn compare(old: &Bundle, new: &Bundle) -> Changes {
    let (ok, nk) = (op_keys(old), op_keys(new));
    let (os, ns): (BTreeSet<_>, BTreeSet<_>) = (ok.iter().cloned().collect(), nk.iter().cloned().collect());
    let mut c = Changes {
        operations_added: ns.difference(&os).map(show).collect(),
        operations_removed: os.difference(&ns).map(show).collect(),
        ..Changes::default()
    };
    let (op, np) = (package_ops(old, &ok), package_ops(new, &nk));
    for (pi, p) in old.packages.iter().enumerate() {
        let id = &p.id;
        let ops = op.get(id).cloned().unwrap_or_default();
        let why = guarded(old, Grant::Package(pi as u32), p.published);
        match np.get(id) {
            None => {
                c.packages_removed.push(id.clone());
                if let Some(why) = why {
                    c.breaking
                        .push(format!("package \"{id}\" ({why}) is gone ({} operations)", ops.len()));
                }
            }
            Some(new_ops) => {
                let change = PackageChange {
                    added: new_ops.difference(&ops).map(show).collect(),
                    removed: ops.difference(new_ops).map(show).collect(),
                };
                if let Some(why) = &why {
                    for r in &change.removed {
                        c.breaking
                            .push(format!("package \"{id}\" ({why}) no longer contains {r}"));
                    }
                }
                if !change.added.is_empty() || !change.removed.is_empty() {
                    c.packages_changed.insert(id.clone(), change);
                }
            }
        }
    }
    c.packages_added = np.keys().filter(|k| !op.contains_key(*k)).cloned().collect();
    // APIs published directly, or registered directly: every operation is reachable.
    for (ai, a) in old.apis.iter().enumerate() {
        let published = old.access.published_apis.contains(&(ai as u32));
        let Some(why) = guarded(old, Grant::Api(ai as u32), published) else {
            continue;
        };
        if !new.apis.iter().any(|n| n.name == a.name) {
            c.breaking.push(format!("API \"{}\" ({why}) is gone", a.name));
            continue;
        }
        for k in os.difference(&ns).filter(|k| k.0 == a.name) {
            c.breaking
                .push(format!("API \"{}\" ({why}) no longer has {} {}", a.name, k.1, k.2));
        }
    }
    versions(old, new, &mut c);
    lowered_limits(old, new, &ok, &nk, &mut c);
    let names = |b: &Bundle| {
        b.applications
            .iter()
            .map(|a| b.name(a.name).to_owned())
            .collect::<BTreeSet<_>>()
    };
    let (oa, na) = (names(old), names(new));
    c.applications_added = na.difference(&oa).cloned().collect();
    c.applications_removed = oa.difference(&na).cloned().collect();
    c
}

/// APIs and packages present on both sides whose version changed.
fn versions(old: &Bundle, new: &Bundle, c: &mut Changes) {
    for a in &old.apis {
        if let Some(n) = new.apis.iter().find(|n| n.name == a.name) {
            if n.version != a.version {
                c.versions_changed
                    .push(format!("API \"{}\": {} → {}", a.name, a.version, n.version));
            }
        }
    }
    for p in &old.packages {
        if let Some(n) = new.packages.iter().find(|n| n.id == p.id) {
            if n.version != p.version {
                c.versions_changed
                    .push(format!("package \"{}\": {} → {}", p.id, p.version, n.version));
            }
        }
    }
}

/// `5/second, 100/day`.
fn show_limits(l: &[Limit]) -> String {
    if l.is_empty() {
        return "unlimited".to_owned();
    }
    let unit = |w: u32| match w {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "day",
    };
    l.iter()
        .map(|l| format!("{}/{}", l.count, unit(l.window_seconds)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `new` admits less than `old` in some window: a window whose count went down, or a
/// window `old` did not limit at all.
fn lower(old: &[Limit], new: &[Limit]) -> bool {
    new.iter().any(|n| {
        old.iter()
            .find(|o| o.window_seconds == n.window_seconds)
            .is_none_or(|o| n.count < o.count)
    })
}

/// A package's limits, or an operation override's, lowered: a warning (callers will see 429s
/// sooner), not a breaking change.
fn lowered_limits(old: &Bundle, new: &Bundle, ok: &[OpKey], nk: &[OpKey], c: &mut Changes) {
    for p in &old.packages {
        let Some(n) = new.packages.iter().find(|n| n.id == p.id) else {
            continue;
        };
        if lower(&p.limits, &n.limits) {
            c.warnings.push(format!(
                "package \"{}\": rate limit lowered from {} to {}",
                p.id,
                show_limits(&p.limits),
                show_limits(&n.limits)
            ));
        }
        // Per operation: what a call was charged against before and after; reported where an
        // override decides it now (a lowered package limit is reported once, above).
        let effective = |keys: &[OpKey], pkg: &Package| -> BTreeMap<OpKey, (Vec<Limit>, bool)> {
            pkg.operations
                .iter()
                .filter_map(|po| {
                    let key = keys.get(po.operation as usize)?.clone();
                    let limits = po.limits.clone().unwrap_or_else(|| pkg.limits.clone());
                    Some((key, (limits, po.limits.is_some())))
                })
                .collect()
        };
        let (before, after) = (effective(ok, p), effective(nk, n));
        for (op, (limits, overridden)) in &after {
            if let Some((was, _)) = before.get(op) {
                if *overridden && lower(was, limits) {
                    c.warnings.push(format!(
                        "package \"{}\": rate limit of {} lowered from {} to {}",
                        p.id,
                        show(op),
                        show_limits(was),
                        show_limits(limits)
                    ));
                }
            }
        }
    }
}

/// Reads one side: a bundle (by its magic bytes) or a catalog (compiled in memory).
pub fn load_side(path: &Path) -> Result<Bundle, Failure> {
    let head = acepack_compiler::source::read_regular(path, acepack_compiler::source::MAX_INPUT_BYTES)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    if head.starts_with(&MAGIC) {
        return acepack_filter::bundle::Bundle::decode(&head)
            .map_err(|e| Failure::invalid(format!("{}: {e}", path.display())));
    }
    let model = load_model(path).map_err(|e| Failure::load(e, path, ""))?;
    build(&model).map_err(|diagnostics| Failure::Invalid {
        summary: format!("{}: {} error(s)", path.display(), diagnostics.len()),
        diagnostics,
    })
}

/// Compares OLD and NEW; exit 1 on a breaking change unless allowed.
pub fn run(old: &Path, new: &Path, json: bool, allow_breaking: bool) -> Result<Exit, Failure> {
    let (old_b, new_b) = (load_side(old)?, load_side(new)?);
    let c = compare(&old_b, &new_b);
    if json {
        println!("{}", serde_json::to_string_pretty(&c).unwrap_or_default());
    } else {
        let list = |title: &str, items: &[String]| {
            for i in items {
                println!("{title} {i}");
            }
        };
        list("+ operation", &c.operations_added);
        list("- operation", &c.operations_removed);
        list("+ package", &c.packages_added);
        list("- package", &c.packages_removed);
        for (id, ch) in &c.packages_changed {
            list(&format!("+ package {id}:"), &ch.added);
            list(&format!("- package {id}:"), &ch.removed);
        }
        list("+ application", &c.applications_added);
        list("- application", &c.applications_removed);
        list("~ version", &c.versions_changed);
        list("WARNING:", &c.warnings);
        if c.breaking.is_empty() {
            println!("no breaking changes");
        }
        for b in &c.breaking {
            println!("BREAKING: {b}");
        }
    }
    if !c.breaking.is_empty() && !allow_breaking {
        return Err(Failure::invalid(format!(
            "{} breaking change(s) (use --allow-breaking to accept)",
            c.breaking.len()
        )));
    }
    Ok(Exit::Ok)
}
