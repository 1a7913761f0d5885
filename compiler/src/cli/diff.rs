//! `acepack diff OLD NEW [--json] [--allow-breaking]` and the breaking-change rule of docs/catalog.md#breaking-changes, shared
//! with `compile --previous`. OLD and NEW may each be a bundle or a catalog.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use acepack_compiler::bundle::build;
use acepack_compiler::load_model;
use acepack_filter::bundle::{Bundle, MAGIC};

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
    /// docs/catalog.md#breaking-changes violations: a published package lost an operation.
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

fn package_ops(b: &Bundle, keys: &[OpKey]) -> BTreeMap<String, (bool, BTreeSet<OpKey>)> {
    b.packages
        .iter()
        .map(|p| {
            let ops = p
                .operations
                .iter()
                .filter_map(|po| keys.get(po.operation as usize).cloned())
                .collect();
            (p.id.clone(), (p.published, ops))
        })
        .collect()
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
    for (id, (published, ops)) in &op {
        match np.get(id) {
            None => {
                c.packages_removed.push(id.clone());
                if *published {
                    c.breaking
                        .push(format!("published package \"{id}\" is gone ({} operations)", ops.len()));
                }
            }
            Some((_, new_ops)) => {
                let change = PackageChange {
                    added: new_ops.difference(ops).map(show).collect(),
                    removed: ops.difference(new_ops).map(show).collect(),
                };
                if *published {
                    for r in &change.removed {
                        c.breaking
                            .push(format!("published package \"{id}\" no longer contains {r}"));
                    }
                }
                if !change.added.is_empty() || !change.removed.is_empty() {
                    c.packages_changed.insert(id.clone(), change);
                }
            }
        }
    }
    c.packages_added = np.keys().filter(|k| !op.contains_key(*k)).cloned().collect();
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
