//! The writer: the layout is defined once, beside the decoder; the compiler builds a [`Bundle`]
//! and calls [`Bundle::encode`].

use crate::bytes::Writer;

use super::error::EncodeError;
use super::format::{body_checksum, tag, MAGIC, MAJOR, MINOR, NO_APPLICATION};
use super::types::*;

impl Bundle {
    /// Encodes the bundle in the format above (always the current major/minor). The layout is
    /// defined once, here beside the decoder; the compiler builds a [`Bundle`] and calls this.
    /// Deterministic: the same bundle gives the same bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        fn limits(w: &mut Writer, limits: &[Limit]) -> Result<(), EncodeError> {
            w.var(limits.len())?;
            for l in limits {
                w.u64(l.count);
                w.u32(l.window_seconds);
            }
            Ok(())
        }
        let mut sections: Vec<(u32, Writer)> = Vec::new();

        let mut w = Writer::default();
        w.str(&self.compiler)?;
        w.str(&self.catalog)?;
        sections.push((tag::META, w));

        let mut w = Writer::default();
        let e = &self.enforcement;
        w.u8(match e.match_policy {
            MatchPolicy::Required => 0,
            MatchPolicy::IfPresent => 1,
        });
        w.u8(match e.rate_limit_headers {
            RateLimitHeaders::Ietf => 0,
            RateLimitHeaders::Draft03 => 1,
            RateLimitHeaders::None => 2,
        });
        w.u8(u8::from(e.hide_credentials));
        w.u8(u8::from(!e.cors_preflight_pass));
        w.u32(e.anonymous.unwrap_or(NO_APPLICATION));
        sections.push((tag::ENFORCEMENT, w));

        let mut w = Writer::default();
        w.var(self.strategies.len())?;
        for s in &self.strategies {
            let oidc_names;
            let (kind, names): (u8, &[String]) = match &s.kind {
                StrategyKind::KeyAuth(names) => (0, names),
                StrategyKind::Header(h) => (1, std::slice::from_ref(h)),
                StrategyKind::OpenidConnect(o) => {
                    oidc_names = [o.claim.clone(), o.issuer.clone(), o.jwks_uri.clone()];
                    (2, &oidc_names)
                }
            };
            w.u8(kind);
            w.str(&s.name)?;
            strings(&mut w, names)?;
            if let StrategyKind::OpenidConnect(o) = &s.kind {
                strings(&mut w, &o.audiences)?;
                strings(&mut w, &o.scopes)?;
            }
        }
        sections.push((tag::STRATEGIES, w));

        let mut w = Writer::default();
        w.var(self.apis.len())?;
        for a in &self.apis {
            w.str(&a.name)?;
            w.str(&a.version)?;
            w.str(&a.base_path)?;
            w.var(a.hosts.len())?;
            for h in &a.hosts {
                w.str(h)?;
            }
        }
        sections.push((tag::APIS, w));

        let mut w = Writer::default();
        w.var(self.operations.len())?;
        for o in &self.operations {
            w.var(o.api as usize)?;
            w.str(o.method.as_str())?;
            w.str(self.name(o.path))?;
            w.str(self.name(o.id))?;
        }
        sections.push((tag::OPERATIONS, w));

        let mut w = Writer::default();
        w.var(self.packages.len())?;
        for p in &self.packages {
            w.str(&p.id)?;
            w.str(&p.name)?;
            w.str(&p.version)?;
            w.u8(u8::from(p.published));
            limits(&mut w, &p.limits)?;
            w.var(p.operations.len())?;
            for po in &p.operations {
                w.var(po.operation as usize)?;
                match &po.limits {
                    None => w.u8(0),
                    Some(l) => {
                        w.u8(1);
                        limits(&mut w, l)?;
                    }
                }
            }
        }
        sections.push((tag::PACKAGES, w));

        let mut w = Writer::default();
        w.var(self.applications.len())?;
        for a in &self.applications {
            w.str(self.name(a.name))?;
            w.var(a.strategy as usize)?;
            w.var(a.grants.len())?;
            for g in &a.grants {
                match *g {
                    Grant::Api(i) => {
                        w.u8(0);
                        w.var(i as usize)?;
                    }
                    Grant::Package(i) => {
                        w.u8(1);
                        w.var(i as usize)?;
                    }
                }
            }
        }
        sections.push((tag::APPLICATIONS, w));

        let mut w = Writer::default();
        w.var(self.credentials.len())?;
        for c in &self.credentials {
            w.bytes(&c.digest);
            w.u32(c.application);
        }
        sections.push((tag::CREDENTIALS, w));

        // The 3.1 sections only when they hold something: a bundle without them reads the same.
        if !self.access.published_apis.is_empty() {
            let mut w = Writer::default();
            w.var(self.access.published_apis.len())?;
            for &a in &self.access.published_apis {
                w.var(a as usize)?;
            }
            sections.push((tag::PUBLISHED, w));
        }
        if !self.access.held.is_empty() {
            let mut w = Writer::default();
            w.var(self.access.held.len())?;
            for h in &self.access.held {
                w.var(h.application as usize)?;
                let (kind, index) = match h.grant {
                    Grant::Api(i) => (0, i),
                    Grant::Package(i) => (1, i),
                };
                w.u8(kind);
                w.var(index as usize)?;
                w.u8(match h.hold {
                    Hold::Pending => 0,
                    Hold::Revoked => 1,
                });
            }
            sections.push((tag::HELD, w));
        }

        if !self.access.route_bound.is_empty() {
            let mut w = Writer::default();
            w.var(self.access.route_bound.len())?;
            for (op, cluster) in &self.access.route_bound {
                w.var(*op as usize)?;
                w.str(cluster)?;
            }
            sections.push((tag::ROUTE_BOUND, w));
        }
        if let Some(g) = &self.global {
            let mut w = Writer::default();
            w.u8(match g.mode {
                RateLimitMode::Local => 0,
                RateLimitMode::Global => 1,
                RateLimitMode::LocalGlobal => 2,
            });
            w.str(&g.cluster)?;
            w.str(&g.domain)?;
            w.u32(g.timeout_ms);
            w.u8(u8::from(g.failure_allow));
            sections.push((tag::GLOBAL, w));
        }

        sections.sort_by_key(|(t, _)| *t);
        let mut body = Writer::default();
        for (t, w) in &sections {
            body.u32(*t);
            body.len(w.buf.len())?;
            body.bytes(&w.buf);
        }
        let mut out = Writer::default();
        out.bytes(&MAGIC);
        out.u16(MAJOR);
        out.u16(MINOR);
        out.len(body.buf.len())?;
        out.u32(body_checksum(&body.buf));
        out.len(sections.len())?;
        out.bytes(&body.buf);
        Ok(out.buf)
    }
}

fn strings(w: &mut Writer, items: &[String]) -> Result<(), EncodeError> {
    w.var(items.len())?;
    for i in items {
        w.str(i)?;
    }
    Ok(())
}
