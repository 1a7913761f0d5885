//! The bundle writer: turns the validated [`Model`] into the filter's [`Bundle`] and writes its
//! bytes atomically. The byte layout itself is defined once, beside the reader, in
//! `acepack_filter::bundle`; the compiler also builds the filter's own route table here, so a
//! catalog the filter could not route never becomes a bundle.

use std::path::Path;

use acepack_filter::bundle::{
    Access, Api, Application, Bundle, Credential, Enforcement, GlobalLimits, Grant, Held, Hold, Limit, MatchPolicy,
    Method, NameRef, Oidc, Operation, Package, PackageOperation, RateLimitHeaders, RateLimitMode, Strategy,
    StrategyKind, DIGEST_LEN, MAJOR, MINOR,
};
use acepack_filter::engine::{Engine, LoadError};
use acepack_filter::matcher::MatchConflict;

use crate::diag::Diagnostic;
use crate::model::{self, Model};

/// The compiler's identity, recorded in every bundle.
pub const COMPILER: &str = concat!("acepack ", env!("CARGO_PKG_VERSION"));

fn limits(l: &[model::Limit]) -> Vec<Limit> {
    let mut out: Vec<Limit> = l
        .iter()
        .map(|l| Limit {
            count: l.count,
            window_seconds: l.window.seconds(),
        })
        .collect();
    out.sort_by_key(|l| l.window_seconds);
    out
}

fn index(i: usize) -> u32 {
    // Counts are bounded far below u32::MAX by the input size limit; saturate rather than wrap.
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Builds the bundle for `model`. Errors: operations the filter's router cannot tell apart, or two
/// credentials whose stored digest prefixes collide.
pub fn build(model: &Model) -> Result<Bundle, Vec<Diagnostic>> {
    let file = model.catalog.as_str();
    let e = &model.enforcement;
    let enforcement = Enforcement {
        match_policy: match e.match_policy {
            model::MatchPolicy::Required => MatchPolicy::Required,
            model::MatchPolicy::IfPresent => MatchPolicy::IfPresent,
        },
        rate_limit_headers: match e.rate_limit_headers {
            model::RateLimitHeaders::Ietf => RateLimitHeaders::Ietf,
            model::RateLimitHeaders::Draft03 => RateLimitHeaders::Draft03,
            model::RateLimitHeaders::None => RateLimitHeaders::None,
        },
        hide_credentials: e.hide_credentials,
        cors_preflight_pass: e.cors_preflight == model::CorsPreflight::Pass,
        anonymous: e.anonymous.map(index),
    };
    let strategies = model
        .auth_strategies
        .iter()
        .map(|s| match s {
            model::AuthStrategy::KeyAuth { name, key_names } => Strategy {
                name: name.clone(),
                kind: StrategyKind::KeyAuth(key_names.iter().map(|k| k.to_ascii_lowercase()).collect()),
            },
            model::AuthStrategy::Header { name, header } => Strategy {
                name: name.clone(),
                kind: StrategyKind::Header(header.to_ascii_lowercase()),
            },
            model::AuthStrategy::OpenidConnect {
                name,
                issuer,
                audiences,
                jwks_uri,
                claim,
                scopes,
            } => Strategy {
                name: name.clone(),
                kind: StrategyKind::OpenidConnect(Oidc {
                    claim: claim.clone(),
                    issuer: issuer.clone(),
                    jwks_uri: jwks_uri.clone().unwrap_or_default(),
                    audiences: audiences.clone(),
                    scopes: scopes.clone(),
                }),
            },
        })
        .collect();
    let apis = model
        .apis
        .iter()
        .map(|a| Api {
            name: a.name.clone(),
            version: a.version.clone(),
            base_path: a.base_path.clone(),
            hosts: a.hosts.clone(),
        })
        .collect();
    let mut errors = Vec::new();
    // Operation paths and ids first, then application names: the order the decoder reads them.
    let mut names = String::new();
    let mut operations = Vec::with_capacity(model.operations.len());
    for o in &model.operations {
        let Some(method) = Method::parse(&o.method) else {
            // The catalog and OpenAPI readers only produce the methods of docs/catalog.md#operations.
            errors.push(Diagnostic::error(
                file,
                "apis",
                format!("operation \"{}\" has an unknown method \"{}\"", o.id, o.method),
            ));
            continue;
        };
        operations.push(Operation {
            api: index(o.api),
            method,
            path: NameRef::push(&mut names, &o.path),
            id: NameRef::push(&mut names, &o.id),
        });
    }
    let packages = model
        .packages
        .iter()
        .map(|p| Package {
            id: p.id.clone(),
            name: p.name.clone(),
            version: p.version.clone(),
            published: !p.portals.is_empty(),
            limits: limits(&p.limits),
            operations: p
                .operations
                .iter()
                .map(|po| PackageOperation {
                    operation: index(po.operation),
                    limits: po.limits.as_deref().map(limits),
                })
                .collect(),
        })
        .collect();
    let applications = model
        .applications
        .iter()
        .map(|a| Application {
            name: NameRef::push(&mut names, &a.name),
            strategy: index(a.auth_strategy),
            grants: a
                .grants
                .iter()
                .map(|g| match *g {
                    model::Grant::Api(i) => Grant::Api(index(i)),
                    model::Grant::Package(i) => Grant::Package(index(i)),
                })
                .collect(),
        })
        .collect();
    let mut credentials: Vec<(Credential, usize)> = Vec::new();
    for (i, app) in model.applications.iter().enumerate() {
        for c in &app.credentials {
            let mut digest = [0u8; DIGEST_LEN];
            digest.copy_from_slice(&c.0[..DIGEST_LEN]);
            credentials.push((
                Credential {
                    digest,
                    application: index(i),
                },
                i,
            ));
        }
    }
    credentials.sort_by_key(|c| c.0.digest);
    for pair in credentials.windows(2) {
        if pair[0].0.digest == pair[1].0.digest {
            errors.push(Diagnostic::error(
                file,
                format!("applications[{}]", pair[1].1),
                format!(
                    "a credential of \"{}\" has the same 128-bit digest prefix as one of \"{}\"; issue a new key",
                    model.applications[pair[1].1].name, model.applications[pair[0].1].name
                ),
            ));
        }
    }
    let bundle = Bundle {
        version: (MAJOR, MINOR),
        compiler: COMPILER.to_owned(),
        catalog: Path::new(file)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        enforcement,
        strategies,
        apis,
        operations,
        packages,
        applications,
        credentials: credentials.into_iter().map(|(c, _)| c).collect(),
        names,
        access: access(model),
        global: model.enforcement.global.as_ref().map(|g| GlobalLimits {
            mode: match model.enforcement.rate_limits {
                model::RateLimitMode::Local => RateLimitMode::Local,
                model::RateLimitMode::Global => RateLimitMode::Global,
                model::RateLimitMode::LocalGlobal => RateLimitMode::LocalGlobal,
            },
            cluster: g.cluster.clone(),
            domain: g.domain.clone(),
            timeout_ms: g.timeout_ms,
            failure_allow: g.failure_mode == model::FailureMode::Allow,
        }),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    if let Err(e) = Engine::new(bundle.clone()) {
        errors.push(route_error(model, &e));
    }
    if errors.is_empty() {
        Ok(bundle)
    } else {
        Err(errors)
    }
}

/// Directly published APIs and registrations that grant nothing (the bundle's 3.1 sections).
fn access(model: &Model) -> Access {
    let grant = |g: model::Grant| match g {
        model::Grant::Api(i) => Grant::Api(index(i)),
        model::Grant::Package(i) => Grant::Package(index(i)),
    };
    Access {
        published_apis: (0..model.apis.len())
            .filter(|&i| !model.apis[i].portals.is_empty())
            .map(index)
            .collect(),
        held: model
            .applications
            .iter()
            .enumerate()
            .flat_map(|(a, app)| {
                app.held.iter().map(move |&(g, hold)| Held {
                    application: index(a),
                    grant: grant(g),
                    hold: match hold {
                        model::Hold::Pending => Hold::Pending,
                        model::Hold::Revoked => Hold::Revoked,
                    },
                })
            })
            .collect(),
        route_bound: model.route_bound.iter().map(|(o, c)| (index(*o), c.clone())).collect(),
    }
}

fn route_error(model: &Model, e: &LoadError) -> Diagnostic {
    let file = model.catalog.as_str();
    let describe = |i: u32| {
        model.operations.get(i as usize).map_or_else(String::new, |o| {
            let api = model.apis.get(o.api).map_or("?", |a| a.name.as_str());
            format!("{} {} ({api}: {})", o.method, o.path, o.id)
        })
    };
    // The API of the operation, so the message points at the catalog entry to change.
    let place = |i: u32| {
        model
            .operations
            .get(i as usize)
            .map_or_else(|| "apis".to_string(), |o| format!("apis[{}]", o.api))
    };
    match e {
        LoadError::Routes(MatchConflict::Ambiguous { operation, detail }) => Diagnostic::error(
            file,
            place(*operation),
            format!(
                "operation {} cannot be routed unambiguously next to the others: {detail}",
                describe(*operation)
            ),
        )
        .with_hint("exclude one of the conflicting operations or give the APIs hosts that do not overlap"),
        LoadError::Routes(MatchConflict::Duplicate { first, second }) => Diagnostic::error(
            file,
            place(*second),
            format!(
                "operations {} and {} have the same method and path on the same hosts",
                describe(*first),
                describe(*second)
            ),
        ),
        LoadError::Routes(MatchConflict::BadTemplate { operation }) => Diagnostic::error(
            file,
            place(*operation),
            format!(
                "operation {}: the filter's router cannot take this path template",
                describe(*operation)
            ),
        )
        .with_hint("exclude the operation"),
        other => Diagnostic::error(file, "apis", other.to_string()),
    }
}

pub use crate::output::write_atomic;
