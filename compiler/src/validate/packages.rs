//! `packages`: operation references resolved (by `METHOD /path` or operationId), limits parsed.

use std::collections::HashMap;

use super::apis::{Built, OpIndex, OpKey, Resolved};
use super::limits::parse_limits;
use super::{Ctx, Index};
use crate::catalog;
use crate::model::{Limit, Package, PackageOperation};
use crate::template;

/// The most package operation entries in a catalog, whole-API entries expanded: each becomes a
/// bundle entry, and a few thousand packages each naming a large API would otherwise take
/// gigabytes. Far above real catalogs (the scale benchmark has 1,000 packages).
pub const MAX_PACKAGE_OPERATIONS: usize = 4_000_000;

/// Builds every package (portals are filled in later, once portals are read).
pub(crate) fn build(ctx: &mut Ctx<'_>, packages: &[catalog::Package], built: &Built, apis: &Index<'_>) -> Vec<Package> {
    build_limited(ctx, packages, built, apis, MAX_PACKAGE_OPERATIONS)
}

/// [`build`] with `max_total` package operation entries at most.
pub(crate) fn build_limited(
    ctx: &mut Ctx<'_>,
    packages: &[catalog::Package],
    built: &Built,
    apis: &Index<'_>,
    max_total: usize,
) -> Vec<Package> {
    let mut out = Vec::with_capacity(packages.len());
    // Built on first use, once per API, shared by every package.
    let mut indexes: Vec<Option<OpIndex<'_>>> = (0..built.apis.len()).map(|_| None).collect();
    let mut total = 0usize;
    for (pi, p) in packages.iter().enumerate() {
        let place = format!("packages[{pi}]");
        let limits = match &p.rate_limit {
            Some(rl) => limits_at(ctx, &format!("{place}.rate_limit"), rl).unwrap_or_default(),
            None => Vec::new(),
        };
        let mut operations: Vec<PackageOperation> = Vec::new();
        // operation index → the entry that first listed it
        let mut listed: HashMap<usize, usize> = HashMap::new();
        for (ei, entry) in p.operations.iter().enumerate() {
            let e_place = format!("{place}.operations[{ei}]");
            let Some(ai) = apis.get(&entry.api) else {
                ctx.error(
                    format!("{e_place}.api"),
                    format!("there is no api \"{}\"", entry.api),
                    apis.hint(&entry.api),
                );
                continue;
            };
            let override_limits = match (&entry.rate_limit, &entry.op) {
                (Some(rl), Some(_)) => limits_at(ctx, &format!("{e_place}.rate_limit"), rl),
                // An override gives the operation its own bucket; on a whole API that would mean one
                // bucket per operation, which is easily mistaken for one limit shared by the API.
                (Some(_), None) => {
                    ctx.error(
                        format!("{e_place}.rate_limit"),
                        "a per-operation rate_limit needs an `op`",
                        Some(
                            "name the operation with `op:`, or put the API in a package of its own to share one limit"
                                .into(),
                        ),
                    );
                    None
                }
                (None, _) => None,
            };
            let range = built.apis[ai].operations.clone();
            let adds = if entry.op.is_some() { 1 } else { range.len() };
            if total.saturating_add(adds) > max_total {
                // Reported once; the packages are still built so that indices stay valid.
                if total <= max_total {
                    total = usize::MAX;
                    ctx.error(
                    e_place.clone(),
                    format!(
                        "the packages contain more than {max_total} operations in total (whole-API entries count every operation of the API)"
                    ),
                    Some("grant the API itself to applications (`registrations: [{api: ...}]`) instead of packaging it many times".into()),
                );
                }
                continue;
            }
            total += adds;
            let chosen: Vec<usize> = match &entry.op {
                None => {
                    if range.is_empty() {
                        ctx.warn(
                            e_place.clone(),
                            format!("api \"{}\" has no operations", entry.api),
                            None,
                        );
                    }
                    range.collect()
                }
                Some(text) => match find(built, &mut indexes, ai, text) {
                    Ok(i) => vec![i],
                    // The API lost operations to errors already reported: do not guess.
                    Err(_) if built.incomplete[ai] => continue,
                    Err((message, hint)) => {
                        ctx.error(e_place.clone(), format!("api \"{}\" {message}", entry.api), hint);
                        continue;
                    }
                },
            };
            for operation in chosen {
                if let Some(first) = listed.get(&operation) {
                    let op = &built.operations[operation];
                    ctx.error(
                        e_place.clone(),
                        format!(
                            "operation {} of api \"{}\" is already in this package ({place}.operations[{first}])",
                            super::apis::label(op),
                            entry.api
                        ),
                        Some("list each operation once".into()),
                    );
                    continue;
                }
                listed.insert(operation, ei);
                operations.push(PackageOperation {
                    operation,
                    limits: override_limits.clone(),
                });
            }
        }
        if p.operations.is_empty() {
            ctx.warn(place.clone(), format!("package \"{}\" has no operations", p.id), None);
        }
        out.push(Package {
            id: p.id.clone(),
            name: p.name.clone().unwrap_or_else(|| p.id.clone()),
            version: p.version.clone(),
            limits,
            operations,
            portals: Vec::new(),
        });
    }
    out
}

/// Parses limits, reporting each bad entry at its place.
pub(crate) fn limits_at(ctx: &mut Ctx<'_>, place: &str, rl: &catalog::RateLimit) -> Option<Vec<Limit>> {
    match parse_limits(rl) {
        Ok(l) => Some(l),
        Err(errors) => {
            for (suffix, e) in errors {
                ctx.error(format!("{place}{suffix}"), e.message, e.hint);
            }
            None
        }
    }
}

/// Finds `text` among the operations of `api`; on a miss, the message after `api "x" ` and a hint.
fn find<'b>(
    built: &'b Built,
    indexes: &mut [Option<OpIndex<'b>>],
    api: usize,
    text: &str,
) -> Result<usize, (String, Option<String>)> {
    let range = built.apis[api].operations.clone();
    let Some(slot) = indexes.get_mut(api) else {
        return Err((format!("has no operation \"{text}\""), None));
    };
    let index = slot.get_or_insert_with(|| {
        OpIndex::new(
            range
                .clone()
                .map(|i| {
                    let op = &built.operations[i];
                    OpKey {
                        method: &op.method,
                        path: &built.rel_paths[i],
                        spec_path: &op.spec_path,
                        id: &op.id,
                        aliases: &op.aliases,
                    }
                })
                .collect(),
        )
    });
    match index.resolve(text) {
        Resolved::Found(k) => Ok(range.start + k),
        Resolved::Invalid(message, hint) => Err((format!("has no operation \"{text}\": {message}"), hint)),
        Resolved::Missing(hint) => {
            // A common slip: writing the full path. `op` paths are relative to the base path.
            let base = built.apis[api].base_path.as_str();
            let with_base = super::apis::parse_route(text).ok().and_then(|r| {
                let rest = r
                    .path
                    .strip_prefix(base)
                    .filter(|rest| !base.is_empty() && rest.starts_with('/'))?;
                let rest = template::normalize(rest).ok()?;
                index.route(&r.method, &rest).map(|k| (r.method.clone(), k.spec_path))
            });
            let hint = match with_base {
                Some((method, spec_path)) => Some(format!(
                    "paths are written without the base path \"{base}\": did you mean \"{method} {spec_path}\"?"
                )),
                None => hint,
            };
            Err((format!("has no operation \"{text}\""), hint))
        }
    }
}
