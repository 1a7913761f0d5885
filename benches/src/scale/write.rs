//! Writing the plan: `catalog.json` (streamed, it is large), `specs/<api>.json` and `probes.json`.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::spec::spec_json;
use super::*;

impl Plan {
    /// Writes `catalog.json`, `specs/<api>.json` and `probes.json` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> io::Result<Summary> {
        std::fs::create_dir_all(dir.join("specs"))?;
        let mut summary = self.summary();
        for api in &self.apis {
            let bytes = serde_json::to_vec_pretty(&spec_json(api)).map_err(io::Error::other)?;
            summary.spec_bytes += bytes.len() as u64;
            std::fs::write(dir.join("specs").join(format!("{}.json", api.name)), bytes)?;
        }
        let catalog = dir.join("catalog.json");
        let file = std::fs::File::create(&catalog)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        self.write_catalog(&mut w)?;
        w.flush()?;
        drop(w);
        summary.catalog_bytes = std::fs::metadata(&catalog)?.len();
        let probes = serde_json::to_vec_pretty(&self.probes()).map_err(io::Error::other)?;
        std::fs::write(dir.join("probes.json"), probes)?;
        Ok(summary)
    }

    pub(super) fn write_catalog(&self, w: &mut impl Write) -> io::Result<()> {
        fn list<W: Write, T>(
            w: &mut W,
            key: &str,
            items: impl IntoIterator<Item = T>,
            last: bool,
            mut f: impl FnMut(T) -> Value,
        ) -> io::Result<()> {
            write!(w, "  \"{key}\": [")?;
            let mut first = true;
            for item in items {
                w.write_all(if first { b"\n    " } else { b",\n    " })?;
                first = false;
                serde_json::to_writer(&mut *w, &f(item)).map_err(io::Error::other)?;
            }
            w.write_all(if first { b"]" } else { b"\n  ]" })?;
            w.write_all(if last { b"\n" } else { b",\n" })
        }
        fn limits(l: &[&str]) -> Value {
            match l {
                [one] => json!(one),
                many => json!(many),
            }
        }
        w.write_all(b"{\n  \"version\": 1,\n")?;
        writeln!(
            w,
            "  \"enforcement\": {},",
            json!({"match_policy": "required", "rate_limit_headers": "ietf", "hide_credentials": false, "cors_preflight": "pass"})
        )?;
        writeln!(
            w,
            "  \"auth_strategies\": {},",
            json!([
                {"name": "keys", "type": "key_auth", "key_names": ["apikey", "x-api-key"]},
                {"name": "client-id", "type": "header", "header": "x-client-id"}
            ])
        )?;
        list(w, "apis", &self.apis, false, |api| {
            let mut m = Map::new();
            m.insert("name".into(), json!(api.name));
            m.insert("version".into(), json!(api.version));
            m.insert("spec".into(), json!(format!("specs/{}.json", api.name)));
            if !api.hosts.is_empty() {
                m.insert("hosts".into(), json!(api.hosts));
            }
            if let Some(b) = &api.base_path_override {
                m.insert("base_path".into(), json!(b));
            }
            Value::Object(m)
        })?;
        list(w, "packages", &self.packages, false, |p| {
            let mut m = Map::new();
            m.insert("name".into(), json!(p.name));
            m.insert("id".into(), json!(p.id));
            m.insert("version".into(), json!(p.version));
            if !p.limits.is_empty() {
                m.insert("rate_limit".into(), limits(p.limits));
            }
            let entries: Vec<Value> = p
                .entries
                .iter()
                .map(|e| {
                    let mut o = Map::new();
                    o.insert("api".into(), json!(self.apis[e.api].name));
                    if let Some(r) = &e.reference {
                        o.insert("op".into(), json!(r));
                    }
                    if let Some(l) = e.limits {
                        o.insert("rate_limit".into(), limits(l));
                    }
                    Value::Object(o)
                })
                .collect();
            m.insert("operations".into(), Value::Array(entries));
            Value::Object(m)
        })?;
        list(w, "developers", &self.developers, false, |(email, status)| {
            if *status == "approved" {
                json!({"email": email})
            } else {
                json!({"email": email, "status": status})
            }
        })?;
        list(w, "teams", &self.teams, false, |(name, members)| {
            let emails: Vec<&str> = members.iter().map(|&d| self.developers[d].0.as_str()).collect();
            json!({"name": name, "members": emails})
        })?;
        let partner_packages = self.config.packages - self.public_packages;
        let portals = [
            json!({
                "name": "developer-portal",
                "auth_strategies": ["keys", "client-id"],
                "publications": (0..self.public_packages)
                    .map(|p| json!({"package": self.packages[p].id}))
                    .chain((0..self.published_apis).map(|a| json!({"api": self.apis[a].name})))
                    .collect::<Vec<_>>()
            }),
            json!({
                "name": "partner-portal",
                "auth_strategies": ["keys"],
                "publications": (0..partner_packages)
                    .map(|j| {
                        let teams: Vec<&str> = Self::partner_package_teams(j, self.partner_teams)
                            .map(|t| self.teams[t].0.as_str())
                            .collect();
                        json!({"package": self.packages[self.public_packages + j].id, "visibility": "private", "teams": teams})
                    })
                    .collect::<Vec<_>>()
            }),
        ];
        list(w, "portals", portals, false, |p| p)?;
        list(w, "applications", &self.applications, true, |app| {
            let mut m = Map::new();
            m.insert("name".into(), json!(app.name));
            if let Some(p) = app.portal {
                m.insert(
                    "portal".into(),
                    json!(if p == PORTAL_DEVELOPERS {
                        "developer-portal"
                    } else {
                        "partner-portal"
                    }),
                );
            }
            m.insert(
                "owner".into(),
                match app.owner {
                    Owner::Developer(d) => json!({"developer": self.developers[d].0}),
                    Owner::Team(t) => json!({"team": self.teams[t].0}),
                },
            );
            m.insert(
                "auth_strategy".into(),
                json!(if app.strategy == STRATEGY_KEYS {
                    "keys"
                } else {
                    "client-id"
                }),
            );
            let creds: Vec<Value> = app
                .credentials
                .iter()
                .map(|(secret, form)| match form {
                    Form::Key => json!({"key": secret}),
                    Form::KeySha256 => {
                        let hex: String = Sha256::digest(secret.as_bytes())
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect();
                        json!({"key_sha256": hex})
                    }
                    Form::Id => json!({"id": secret}),
                })
                .collect();
            m.insert("credentials".into(), Value::Array(creds));
            let regs: Vec<Value> = app
                .registrations
                .iter()
                .map(|(t, status)| {
                    let mut r = Map::new();
                    match t {
                        Target::Package(p) => r.insert("package".into(), json!(self.packages[*p].id)),
                        Target::Api(a) => r.insert("api".into(), json!(self.apis[*a].name)),
                    };
                    if *status != "approved" {
                        r.insert("status".into(), json!(status));
                    }
                    Value::Object(r)
                })
                .collect();
            m.insert("registrations".into(), Value::Array(regs));
            Value::Object(m)
        })?;
        w.write_all(b"}\n")
    }
}
