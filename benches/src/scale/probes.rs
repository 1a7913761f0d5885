//! Requests with known outcomes (`probes.json`): concrete paths for operations, one probe per
//! decision kind, and rotating limited requests for the benches.

use super::*;

impl Plan {
    /// A concrete request path for operation `o` of API `a` (base path included).
    pub(super) fn request_path(&self, a: usize, o: usize, with_query: bool) -> String {
        let api = &self.apis[a];
        let op = &api.ops[o];
        let mut out = api.base_path.clone();
        let mut rest = op.path.as_str();
        let mut n = 0u32;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let j = rest[i..].find('}').map_or(rest.len(), |j| i + j + 1);
            n += 1;
            let mut h = Sha256::new();
            h.update(api.name.as_bytes());
            h.update(op.path.as_bytes());
            h.update(n.to_le_bytes());
            let d = h.finalize();
            match api.id_style {
                IdStyle::Numeric => {
                    let v = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) % 9_000_000 + 1_000_000;
                    let _ = write!(out, "{v}");
                }
                IdStyle::Uuid => {
                    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
                    let _ = write!(
                        out,
                        "{}-{}-4{}-a{}-{}",
                        &hex[0..8],
                        &hex[8..12],
                        &hex[13..16],
                        &hex[17..20],
                        &hex[20..32]
                    );
                }
                IdStyle::Sid => {
                    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
                    let _ = write!(out, "CA{hex}");
                }
            }
            rest = &rest[j.min(rest.len())..];
        }
        out.push_str(rest);
        if out.is_empty() {
            out.push('/');
        }
        if with_query && op.list {
            out.push_str("?limit=25");
        }
        out
    }

    pub(super) fn probe(&self, a: usize, o: usize, key: Option<String>, status: u16, charged: bool) -> Probe {
        let api = &self.apis[a];
        Probe {
            method: api.ops[o].method.to_string(),
            path: self.request_path(a, o, true),
            authority: api.request_host.clone(),
            key,
            status,
            charged,
        }
    }

    /// An application (from `start`, wrapping) whose first grant is a limited package, with a plain
    /// key, and the operation of that package it calls.
    pub(super) fn limited_candidate(&self, app: usize, pick: usize) -> Option<Probe> {
        let plan = &self.applications[app];
        if plan.strategy != STRATEGY_KEYS {
            return None;
        }
        let grants = self.grants(plan);
        if grants.iter().any(|g| matches!(g, Target::Api(_))) {
            return None;
        }
        let Some(Target::Package(p)) = grants.first().copied() else {
            return None;
        };
        let package = &self.packages[p];
        if package.limits.is_empty() {
            return None;
        }
        let plain: Vec<&(usize, usize, bool)> = package.contents.iter().filter(|c| !c.2).collect();
        if plain.is_empty() {
            return None;
        }
        let gets: Vec<&&(usize, usize, bool)> = plain
            .iter()
            .filter(|c| self.apis[c.0].ops[c.1].method == "GET")
            .collect();
        let &(a, o, _) = if gets.is_empty() {
            plain[pick % plain.len()]
        } else {
            *gets[pick % gets.len()]
        };
        let key = plan.credentials.first().map(|(k, _)| k.clone());
        Some(self.probe(a, o, key, 200, true))
    }

    /// Requests with known outcomes (see [`Probes`]).
    pub fn probes(&self) -> Probes {
        let n = self.applications.len();
        let start = n / 3;
        let limited = (0..n)
            .map(|i| (start + i) % n)
            .find_map(|i| self.limited_candidate(i, 0).map(|p| (i, p)));
        let Some((limited_app, limited)) = limited else {
            // Only possible for degenerate configurations.
            let p = self.probe(0, 0, None, 401, false);
            return Probes {
                limited: p.clone(),
                api_grant: p.clone(),
                unknown_key: p.clone(),
                no_match: p.clone(),
                forbidden: p,
                rotating: Vec::new(),
            };
        };

        let mut rotating = Vec::new();
        let stride = 7919; // prime: visits applications all over the catalog
        let mut i = 0usize;
        while rotating.len() < 4096 && i < n {
            if let Some(p) = self.limited_candidate((i * stride) % n, i) {
                rotating.push(p);
            }
            i += 1;
        }

        let api_grant = (0..n)
            .map(|i| (start + i) % n)
            .find_map(|i| {
                let plan = &self.applications[i];
                if plan.strategy != STRATEGY_KEYS {
                    return None;
                }
                let a = self.grants(plan).into_iter().find_map(|g| match g {
                    Target::Api(a) => Some(a),
                    Target::Package(_) => None,
                })?;
                let o = self.apis[a].ops.iter().position(|op| op.method == "GET" && !op.list)?;
                let key = plan.credentials.first().map(|(k, _)| k.clone());
                Some(self.probe(a, o, key, 200, false))
            })
            .unwrap_or_else(|| limited.clone());

        let mut unknown_rng = Rng::new(self.config.seed ^ 0xdead_beef);
        let unknown_key = Probe {
            key: Some(format!("ak_{}", unknown_rng.base62(28))),
            status: 401,
            charged: false,
            ..limited.clone()
        };

        // The limited request's API, a resource it does not have.
        let limited_api = self
            .apis
            .iter()
            .position(|a| a.request_host == limited.authority && limited.path.starts_with(&a.base_path))
            .unwrap_or(0);
        let no_match = Probe {
            path: format!("{}/no-such-resource/12345/details", self.apis[limited_api].base_path),
            status: 404,
            charged: false,
            ..limited.clone()
        };

        // Same key, an operation none of its grants contains.
        let plan = &self.applications[limited_app];
        let mut granted: HashSet<(usize, usize)> = HashSet::new();
        for g in self.grants(plan) {
            match g {
                Target::Package(p) => granted.extend(self.packages[p].contents.iter().map(|c| (c.0, c.1))),
                Target::Api(a) => granted.extend((0..self.apis[a].ops.len()).map(|o| (a, o))),
            }
        }
        let forbidden = (0..self.apis.len())
            .flat_map(|a| (0..self.apis[a].ops.len()).map(move |o| (a, o)))
            .find(|&(a, o)| {
                !granted.contains(&(a, o)) && self.apis[a].ops[o].method == "GET" && self.apis[a].hosts.is_empty()
            })
            .map(|(a, o)| self.probe(a, o, limited.key.clone(), 403, false))
            .unwrap_or_else(|| limited.clone());

        Probes {
            limited,
            api_grant,
            unknown_key,
            no_match,
            forbidden,
            rotating,
        }
    }
}
