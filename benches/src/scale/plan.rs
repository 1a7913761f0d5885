//! Building the whole plan: developers, teams, portals and applications with their credentials and
//! registrations, over the APIs and packages; the grants the bundle will hold; the summary.

use std::collections::HashMap;

use super::apis::build_apis;
use super::packages::build_packages;
use super::words::*;
use super::*;
use crate::rng::Rng;

pub(super) fn status(rng: &mut Rng) -> &'static str {
    match rng.below(1000) {
        0..=14 => "pending",
        15..=24 => "revoked",
        25..=29 => "rejected",
        _ => "approved",
    }
}

impl Plan {
    /// Builds the catalog for `config` (deterministic).
    pub fn new(config: &Config) -> Plan {
        let mut rng = Rng::new(config.seed);
        let apis = build_apis(&mut rng, config);
        let packages = build_packages(&mut rng, config, &apis);
        let public_packages = config.packages - config.packages / 10;
        let published_apis = (apis.len() / 5).max(1);
        let partner_teams = (config.teams / 25).max(1).min(config.teams);

        let developers: Vec<(String, &'static str)> = (0..config.developers)
            .map(|d| {
                let email = format!(
                    "{}.{}{d}@{}.test",
                    rng.pick(FIRST),
                    rng.pick(LAST).replace('ü', "ue"),
                    rng.pick(ORGS)
                );
                let status = match rng.below(1000) {
                    0..=9 => "pending",
                    10..=19 => "revoked",
                    20..=24 => "rejected",
                    _ => "approved",
                };
                (email, status)
            })
            .collect();
        let teams: Vec<(String, Vec<usize>)> = (0..config.teams)
            .map(|t| {
                let n = rng.range(1, 6).min(config.developers);
                let mut members = Vec::with_capacity(n);
                while members.len() < n {
                    let d = rng.below(config.developers);
                    if !members.contains(&d) {
                        members.push(d);
                    }
                }
                (format!("{}-{}-{t}", rng.pick(ORGS), rng.pick(PURPOSES)), members)
            })
            .collect();

        // Partner packages visible per partner team.
        let partner_packages = config.packages - public_packages;
        let mut visible: Vec<Vec<usize>> = vec![Vec::new(); partner_teams];
        for j in 0..partner_packages {
            for t in Self::partner_package_teams(j, partner_teams) {
                visible[t].push(public_packages + j);
            }
        }

        // Credentials per application: two on average, one to three each, exactly the total.
        let n_apps = config.applications;
        let mut counts = vec![2usize; n_apps];
        let mut total = 2 * n_apps;
        while total > config.credentials {
            let i = rng.below(n_apps);
            if counts[i] > 1 {
                counts[i] -= 1;
                total -= 1;
            }
        }
        while total < config.credentials {
            let i = rng.below(n_apps);
            if counts[i] < 3 {
                counts[i] += 1;
                total += 1;
            }
        }
        // Spread: move one credential between two applications with two, same total.
        for _ in 0..n_apps / 8 {
            let (i, j) = (rng.below(n_apps), rng.below(n_apps));
            if i != j && counts[i] == 2 && counts[j] == 2 {
                counts[i] = 3;
                counts[j] = 1;
            }
        }

        let mut names: HashMap<String, usize> = HashMap::new();
        let mut applications = Vec::with_capacity(n_apps);
        for &n_creds in &counts {
            let roll = rng.below(100);
            let portal = match roll {
                0..=4 => Some(PORTAL_PARTNERS),
                5..=9 => None,
                _ => Some(PORTAL_DEVELOPERS),
            };
            let owner = match portal {
                Some(PORTAL_PARTNERS) => Owner::Team(rng.below(partner_teams)),
                _ if rng.chance(300) => Owner::Team(rng.below(config.teams)),
                _ => Owner::Developer(rng.below(config.developers)),
            };
            let strategy = if portal != Some(PORTAL_PARTNERS) && rng.chance(20) {
                STRATEGY_CLIENT_ID
            } else {
                STRATEGY_KEYS
            };
            // `acme-billing`, `acme-billing-2`, ...: unique across the catalog, as names must be.
            let base = format!("{}-{}", rng.pick(ORGS), rng.pick(PURPOSES));
            let n = names.entry(base.clone()).or_insert(0usize);
            *n += 1;
            let name = if *n == 1 { base } else { format!("{base}-{n}") };
            let credentials = (0..n_creds)
                .map(|_| match strategy {
                    STRATEGY_CLIENT_ID => (format!("client-{}", rng.hex(16)), Form::Id),
                    _ => {
                        let key = format!("ak_{}", rng.base62(28));
                        let form = if rng.chance(200) { Form::KeySha256 } else { Form::Key };
                        (key, form)
                    }
                })
                .collect();
            let n_regs = match rng.below(100) {
                0..=49 => 1,
                50..=84 => 2,
                _ => 3,
            };
            let mut registrations: Vec<(Target, &'static str)> = Vec::new();
            let mut attempts = 0;
            while registrations.len() < n_regs && attempts < 20 {
                attempts += 1;
                let target = match (portal, owner) {
                    (Some(PORTAL_PARTNERS), Owner::Team(t)) => match visible.get(t) {
                        Some(v) if !v.is_empty() => Target::Package(v[rng.below(v.len())]),
                        _ => break,
                    },
                    (Some(_), _) => {
                        if rng.chance(30) {
                            Target::Api(rng.below(published_apis))
                        } else {
                            Target::Package(rng.skewed(public_packages))
                        }
                    }
                    (None, _) => {
                        if rng.chance(100) {
                            Target::Api(rng.below(apis.len()))
                        } else {
                            Target::Package(rng.skewed(config.packages))
                        }
                    }
                };
                if registrations.iter().any(|(t, _)| *t == target) {
                    continue;
                }
                registrations.push((target, status(&mut rng)));
            }
            applications.push(AppPlan {
                name,
                portal,
                owner,
                strategy,
                credentials,
                registrations,
            });
        }
        Plan {
            config: config.clone(),
            apis,
            packages,
            developers,
            teams,
            public_packages,
            published_apis,
            partner_teams,
            applications,
        }
    }

    /// The teams partner package `j` is published to.
    pub(super) fn partner_package_teams(j: usize, partner_teams: usize) -> impl Iterator<Item = usize> {
        let n = TEAMS_PER_PARTNER_PACKAGE.min(partner_teams);
        (0..n).map(move |m| (j * 7 + m) % partner_teams)
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(super) fn owner_active(&self, owner: Owner) -> bool {
        match owner {
            Owner::Developer(d) => self.developers[d].1 == "approved",
            Owner::Team(t) => self.teams[t].1.iter().any(|&d| self.developers[d].1 == "approved"),
        }
    }

    /// The grants the bundle will hold for `app`: approved registrations of an active owner.
    pub(super) fn grants(&self, app: &AppPlan) -> Vec<Target> {
        if !self.owner_active(app.owner) {
            return Vec::new();
        }
        app.registrations
            .iter()
            .filter(|(_, s)| *s == "approved")
            .map(|(t, _)| *t)
            .collect()
    }

    /// Counts of everything (file sizes are filled in by [`Plan::write`]).
    pub fn summary(&self) -> Summary {
        let mut methods: HashMap<&str, usize> = HashMap::new();
        let mut s = Summary {
            apis: self.apis.len(),
            portals: 2,
            developers: self.developers.len(),
            teams: self.teams.len(),
            applications: self.applications.len(),
            packages: self.packages.len(),
            ..Summary::default()
        };
        for api in &self.apis {
            s.apis_openapi_31 += usize::from(api.openapi.starts_with("3.1"));
            s.apis_with_hosts += usize::from(!api.hosts.is_empty());
            for op in &api.ops {
                s.operations += 1;
                s.operations_without_id += usize::from(op.operation_id.is_none());
                s.in_segment_parameters += usize::from(op.in_segment);
                *methods.entry(op.method).or_default() += 1;
            }
        }
        let mut methods: Vec<(String, usize)> = methods.into_iter().map(|(m, n)| (m.to_string(), n)).collect();
        methods.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        s.methods = methods;
        for p in &self.packages {
            s.limited_packages += usize::from(!p.limits.is_empty());
            s.multi_window_packages += usize::from(p.limits.len() >= 2);
            s.package_operations += p.contents.len();
            s.overrides += p.entries.iter().filter(|e| e.limits.is_some()).count();
            s.whole_api_entries += p.entries.iter().filter(|e| e.op.is_none()).count();
        }
        s.inactive_developers = self.developers.iter().filter(|d| d.1 != "approved").count();
        for app in &self.applications {
            for (_, form) in &app.credentials {
                match form {
                    Form::Key => s.keys += 1,
                    Form::KeySha256 => s.key_hashes += 1,
                    Form::Id => s.identities += 1,
                }
            }
            for (t, status) in &app.registrations {
                match t {
                    Target::Package(_) => s.package_registrations += 1,
                    Target::Api(_) => s.api_registrations += 1,
                }
                s.unapproved_registrations += usize::from(*status != "approved");
            }
        }
        s
    }
}
