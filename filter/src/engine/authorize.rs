//! Step 3, authorize: the application needs an active grant to the operation's API, or to a
//! package that contains the operation. Also owns the operation → packages table that answers it.

use crate::bundle::{Bundle, Grant};

use super::charge::Scope;
use super::decision::{deny, Decision, Reason};
use super::Engine;

/// A package that contains an operation, as seen from the operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Membership {
    pub(crate) package: u32,
    /// Index into the engine's scopes of the bucket this (package, operation) charges.
    pub(crate) scope: u32,
    /// Whether that bucket is an operation override.
    pub(crate) is_override: bool,
}

/// Per operation, the packages containing it, ascending by package index: operation `o`'s are
/// `list[index[o]..index[o + 1]]` (one allocation, not one per operation).
pub(crate) struct Memberships {
    list: Vec<Membership>,
    index: Vec<u32>,
}

impl Memberships {
    /// Builds the table and the bucket scopes it points into: one per package, plus one per
    /// operation override.
    pub(crate) fn build(bundle: &Bundle) -> (Memberships, Vec<Scope>) {
        // Count per operation, then fill in package order (so each operation's slice is ascending).
        let ops = bundle.operations.len();
        let mut index = vec![0u32; ops + 1];
        for po in bundle.packages.iter().flat_map(|p| &p.operations) {
            if let Some(n) = index.get_mut(po.operation as usize + 1) {
                *n = n.saturating_add(1);
            }
        }
        for i in 1..index.len() {
            let before = index.get(i - 1).copied().unwrap_or(0);
            if let Some(n) = index.get_mut(i) {
                *n = n.saturating_add(before);
            }
        }
        let mut next: Vec<u32> = index.clone();
        let placeholder = Membership {
            package: 0,
            scope: 0,
            is_override: false,
        };
        let mut list = vec![placeholder; index.last().copied().unwrap_or(0) as usize];
        let mut scopes = Vec::new();
        for (p, package) in bundle.packages.iter().enumerate() {
            let p = p as u32;
            let package_scope = scopes.len() as u32;
            scopes.push(Scope::new(p, &package.id, None, &package.limits));
            for po in &package.operations {
                if po.operation as usize >= ops {
                    continue;
                }
                let (scope, is_override) = match &po.limits {
                    Some(limits) => {
                        scopes.push(Scope::new(p, &package.id, Some(po.operation), limits));
                        (scopes.len() as u32 - 1, true)
                    }
                    None => (package_scope, false),
                };
                if let Some(at) = next.get_mut(po.operation as usize) {
                    if let Some(m) = list.get_mut(*at as usize) {
                        *m = Membership {
                            package: p,
                            scope,
                            is_override,
                        };
                    }
                    *at += 1;
                }
            }
        }
        (Memberships { list, index }, scopes)
    }

    /// The packages containing `operation`, ascending by package index.
    pub(crate) fn of(&self, operation: u32) -> &[Membership] {
        let o = operation as usize;
        match (self.index.get(o), self.index.get(o + 1)) {
            (Some(&s), Some(&e)) => self.list.get(s as usize..e as usize).unwrap_or_default(),
            _ => &[],
        }
    }
}

/// What an application may call an operation through.
pub(crate) enum Authorized<'e> {
    /// An API grant: no ACE limit.
    Api,
    /// Package grants, in the application's catalog order (at least one).
    Packages(PackageGrants<'e>),
}

/// The memberships of an operation that an application holds a grant to, in grant order.
#[derive(Clone)]
pub(crate) struct PackageGrants<'e> {
    grants: std::slice::Iter<'e, Grant>,
    memberships: &'e [Membership],
}

impl<'e> Iterator for PackageGrants<'e> {
    type Item = &'e Membership;

    fn next(&mut self) -> Option<&'e Membership> {
        for grant in self.grants.by_ref() {
            if let Grant::Package(p) = *grant {
                if let Some(m) = self.memberships.iter().find(|m| m.package == p) {
                    return Some(m);
                }
            }
        }
        None
    }
}

/// Whether `application` may call `operation`, and through which grants; 403 if through none.
#[inline]
pub(crate) fn authorize(engine: &Engine, application: u32, operation: u32) -> Result<Authorized<'_>, Decision> {
    let bundle = engine.bundle();
    let forbidden = || deny(403, Reason::Forbidden, Some(operation), Some(application));
    let app = bundle.applications.get(application as usize).ok_or_else(forbidden)?;
    let api = bundle.operations.get(operation as usize).map(|o| Grant::Api(o.api));
    if app.grants.iter().any(|g| Some(*g) == api) {
        return Ok(Authorized::Api);
    }
    let grants = PackageGrants {
        grants: app.grants.iter(),
        memberships: engine.memberships.of(operation),
    };
    if grants.clone().next().is_none() {
        return Err(forbidden());
    }
    Ok(Authorized::Packages(grants))
}
