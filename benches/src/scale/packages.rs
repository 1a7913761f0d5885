//! Packages: a few dozen operations from one to four APIs each, referenced by operationId or by
//! `METHOD /path`, with package limits and per-operation overrides.

use std::collections::HashSet;

use super::apis::capitalize;
use super::words::*;
use super::{ApiPlan, Config, Entry, PackagePlan, SpecOp};
use crate::rng::Rng;

/// How a package entry names an operation: its operationId, or `METHOD /path` (sometimes with
/// other parameter names, which the compiler must ignore).
pub(super) fn reference(rng: &mut Rng, op: &SpecOp) -> String {
    match &op.operation_id {
        Some(id) if rng.chance(700) => id.clone(),
        _ => {
            let path = if rng.chance(300) {
                // Rename every parameter: `{orderId}` → `{id}`, `{id2}`...
                let mut out = String::new();
                let mut n = 0;
                let mut in_param = false;
                for c in op.path.chars() {
                    match c {
                        '{' => {
                            in_param = true;
                            n += 1;
                            out.push_str("{id");
                            if n > 1 {
                                out.push_str(&n.to_string());
                            }
                        }
                        '}' => {
                            in_param = false;
                            out.push('}');
                        }
                        _ if in_param => {}
                        c => out.push(c),
                    }
                }
                out
            } else {
                op.path.clone()
            };
            format!("{} {path}", op.method)
        }
    }
}

pub(super) fn build_packages(rng: &mut Rng, config: &Config, apis: &[ApiPlan]) -> Vec<PackagePlan> {
    let mut out = Vec::with_capacity(config.packages);
    for p in 0..config.packages {
        let n_apis = match rng.below(100) {
            0..=49 => 1,
            50..=79 => 2,
            80..=94 => 3,
            _ => 4,
        }
        .min(apis.len());
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < n_apis {
            let a = rng.below(apis.len());
            if !chosen.contains(&a) {
                chosen.push(a);
            }
        }
        let first = &apis[chosen[0]].name;
        let tier = *rng.pick(TIERS);
        let id = format!("{first}-{tier}-{p:04}");
        let name = format!("{} {} {p}", capitalize(first), capitalize(tier));
        let limits: &'static [&'static str] = if rng.chance(50) {
            &[]
        } else {
            PACKAGE_LIMITS[rng.below(PACKAGE_LIMITS.len())]
        };
        let with_overrides = !limits.is_empty() && rng.chance(200);
        let target = rng.range(12, 60);
        let mut entries = Vec::new();
        let mut contents = Vec::new();
        let mut taken: HashSet<(usize, usize)> = HashSet::new();
        for (k, &a) in chosen.iter().enumerate() {
            let api = &apis[a];
            if api.ops.len() <= 40 && rng.chance(250) {
                entries.push(Entry {
                    api: a,
                    op: None,
                    reference: None,
                    limits: None,
                });
                for o in 0..api.ops.len() {
                    taken.insert((a, o));
                    contents.push((a, o, false));
                }
                continue;
            }
            let share = (target / n_apis + usize::from(k < target % n_apis)).min(api.ops.len());
            let mut picked = 0;
            let mut attempts = 0;
            while picked < share && attempts < share * 20 {
                attempts += 1;
                let o = rng.below(api.ops.len());
                if !taken.insert((a, o)) {
                    continue;
                }
                picked += 1;
                let override_limits = (with_overrides && rng.chance(80)).then(|| *rng.pick(OVERRIDE_LIMITS));
                entries.push(Entry {
                    api: a,
                    op: Some(o),
                    reference: Some(reference(rng, &api.ops[o])),
                    limits: override_limits,
                });
                contents.push((a, o, override_limits.is_some()));
            }
        }
        // A package that asked for overrides gets at least one.
        if with_overrides && !entries.iter().any(|e| e.limits.is_some()) {
            if let Some(i) = entries.iter().position(|e| e.op.is_some()) {
                let l = *rng.pick(OVERRIDE_LIMITS);
                entries[i].limits = Some(l);
                let (a, o) = (entries[i].api, entries[i].op.unwrap_or(0));
                if let Some(c) = contents.iter_mut().find(|c| c.0 == a && c.1 == o) {
                    c.2 = true;
                }
            }
        }
        out.push(PackagePlan {
            id,
            name,
            version: format!("{}", 1 + rng.below(3)),
            limits,
            entries,
            contents,
        });
    }
    out
}
