//! The validating reader: every length, count, index, enum value and limit is checked; it never
//! panics and never allocates more than the input can describe.

use crate::bytes::{key_and_u32, ReadError, Reader};

use super::error::BundleError;
use super::format::{
    limit_is_valid, sections, tag, template_is_valid, CREDENTIAL_RECORD, DIGEST_LEN, MAX_GLOBAL_TIMEOUT_MS, MINOR,
    NO_APPLICATION,
};
use super::types::*;

struct Section<'a> {
    name: &'static str,
    r: Reader<'a>,
}

impl<'a> Section<'a> {
    #[cold]
    fn fail(&self, e: ReadError) -> BundleError {
        BundleError::Malformed {
            section: self.name,
            what: e.what,
            offset: e.offset,
        }
    }
    #[cold]
    fn bad(&self, what: &'static str) -> BundleError {
        BundleError::Malformed {
            section: self.name,
            what,
            offset: self.r.offset(),
        }
    }
    #[inline(always)]
    fn u8(&mut self, what: &'static str) -> Result<u8, BundleError> {
        self.r.u8(what).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    fn u32(&mut self, what: &'static str) -> Result<u32, BundleError> {
        self.r.u32(what).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    fn u64(&mut self, what: &'static str) -> Result<u64, BundleError> {
        self.r.u64(what).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    fn count(&mut self, min: usize, what: &'static str) -> Result<usize, BundleError> {
        self.r.count(min, what).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    /// A string's bytes, checked to be UTF-8 (ASCII, the common case, is checked fastest).
    fn text(&mut self, what: &'static str) -> Result<&'a [u8], BundleError> {
        let len = self.r.varint(what).map_err(|e| self.fail(e))? as usize;
        let bytes = self.r.bytes(len, what).map_err(|e| self.fail(e))?;
        if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
            Ok(bytes)
        } else {
            Err(self.bad(what))
        }
    }
    fn string(&mut self, what: &'static str) -> Result<String, BundleError> {
        self.r.str(what).map(str::to_owned).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    fn index(&mut self, len: usize, what: &'static str) -> Result<u32, BundleError> {
        match self.r.varint(what) {
            Ok(i) if (i as usize) < len => Ok(i),
            Ok(_) => Err(self.bad(what)),
            Err(e) => Err(self.fail(e)),
        }
    }
    fn strings(&mut self, what: &'static str) -> Result<Vec<String>, BundleError> {
        let n = self.count(1, what)?;
        (0..n).map(|_| self.string(what)).collect()
    }
    fn limits(&mut self) -> Result<Vec<Limit>, BundleError> {
        let n = self.count(12, "limit count")?;
        let mut out: Vec<Limit> = Vec::with_capacity(n);
        for _ in 0..n {
            let count = self.u64("limit count")?;
            let window_seconds = self.u32("limit window")?;
            let limit = Limit { count, window_seconds };
            if !limit_is_valid(&limit) {
                return Err(self.bad("invalid limit"));
            }
            if out.last().is_some_and(|l| l.window_seconds >= window_seconds) {
                return Err(self.bad("limit windows not ascending"));
            }
            out.push(limit);
        }
        Ok(out)
    }
    fn end(self) -> Result<(), BundleError> {
        if self.r.remaining() == 0 {
            Ok(())
        } else {
            Err(self.bad("trailing bytes"))
        }
    }
}

impl Bundle {
    /// Decodes and fully validates a bundle.
    pub fn decode(data: &[u8]) -> Result<Bundle, BundleError> {
        let (version, sections) = sections(data)?;
        // Unknown tags are what a newer minor adds; a bundle of a minor this reader knows has
        // none, so one there is damage, not an addition (and skipping it would lose data).
        if version.1 <= MINOR && sections.iter().any(|(t, _)| !(tag::META..=tag::GLOBAL).contains(t)) {
            return Err(BundleError::Malformed {
                section: "body",
                what: "a section tag this minor version does not define",
                offset: 0,
            });
        }
        let get = |t: u32, name: &'static str| -> Result<Section<'_>, BundleError> {
            sections
                .iter()
                .find(|(tag, _)| *tag == t)
                .map(|(_, bytes)| Section {
                    name,
                    r: Reader::new(bytes),
                })
                .ok_or(BundleError::MissingSection(name))
        };

        let mut s = get(tag::META, "META")?;
        let compiler = s.string("compiler")?;
        let catalog = s.string("catalog")?;
        s.end()?;

        let mut s = get(tag::STRATEGIES, "STRATEGIES")?;
        let n = s.count(3, "strategy count")?;
        let mut strategies = Vec::with_capacity(n);
        for _ in 0..n {
            let kind = s.u8("strategy kind")?;
            let name = s.string("strategy name")?;
            let names = s.strings("strategy names")?;
            let kind = match (kind, names.len()) {
                (0, 1..) => StrategyKind::KeyAuth(names),
                (1, 1) => StrategyKind::Header(names.into_iter().next().unwrap_or_default()),
                (2, 3) => {
                    let mut it = names.into_iter();
                    let mut next = || it.next().unwrap_or_default();
                    let (claim, issuer, jwks_uri) = (next(), next(), next());
                    if claim.is_empty() {
                        return Err(s.bad("openid_connect claim"));
                    }
                    StrategyKind::OpenidConnect(Oidc {
                        claim,
                        issuer,
                        jwks_uri,
                        audiences: s.strings("openid_connect audiences")?,
                        scopes: s.strings("openid_connect scopes")?,
                    })
                }
                _ => return Err(s.bad("strategy kind")),
            };
            strategies.push(Strategy { name, kind });
        }
        s.end()?;

        let mut s = get(tag::APIS, "APIS")?;
        let n = s.count(4, "api count")?;
        let mut apis = Vec::with_capacity(n);
        for _ in 0..n {
            apis.push(Api {
                name: s.string("api name")?,
                version: s.string("api version")?,
                base_path: s.string("api base path")?,
                hosts: s.strings("api hosts")?,
            });
        }
        s.end()?;

        let mut s = get(tag::OPERATIONS, "OPERATIONS")?;
        let n = s.count(4, "operation count")?;
        let mut operations = Vec::with_capacity(n);
        // Operation paths and ids, then application names: one buffer (`Bundle::names`).
        let mut names: Vec<u8> = Vec::new();
        for _ in 0..n {
            let api = s.index(apis.len(), "operation api")?;
            let method = s.text("operation method")?;
            let method = Method::parse_bytes(method).ok_or_else(|| s.bad("operation method"))?;
            let path = s.text("operation path")?;
            // A template the router cannot hold would fail (or worse) when the engine is built.
            if !template_is_valid(path) {
                return Err(s.bad("operation path"));
            }
            let path = NameRef::push_bytes(&mut names, path);
            let id = NameRef::push_bytes(&mut names, s.text("operation id")?);
            operations.push(Operation { api, method, path, id });
        }
        s.end()?;

        let mut s = get(tag::PACKAGES, "PACKAGES")?;
        let n = s.count(6, "package count")?;
        let mut packages = Vec::with_capacity(n);
        for _ in 0..n {
            let id = s.string("package id")?;
            let name = s.string("package name")?;
            let version = s.string("package version")?;
            let published = match s.u8("package published")? {
                0 => false,
                1 => true,
                _ => return Err(s.bad("package published")),
            };
            let limits = s.limits()?;
            let m = s.count(2, "package operation count")?;
            let mut ops = Vec::with_capacity(m);
            for _ in 0..m {
                let operation = s.index(operations.len(), "package operation")?;
                let limits = match s.u8("override flag")? {
                    0 => None,
                    1 => Some(s.limits()?),
                    _ => return Err(s.bad("override flag")),
                };
                ops.push(PackageOperation { operation, limits });
            }
            packages.push(Package {
                id,
                name,
                version,
                published,
                limits,
                operations: ops,
            });
        }
        s.end()?;

        let mut s = get(tag::APPLICATIONS, "APPLICATIONS")?;
        let n = s.count(3, "application count")?;
        let mut applications = Vec::with_capacity(n);
        names.reserve(s.r.remaining());
        for _ in 0..n {
            // UTF-8 is checked once for the whole buffer below (a check per name cost 3% of a
            // load's wasm instructions); a name that starts with a continuation byte would pass
            // that check while not being UTF-8 on its own, so that is refused here.
            let len = s.r.varint("application name").map_err(|e| s.fail(e))? as usize;
            let text = s.r.bytes(len, "application name").map_err(|e| s.fail(e))?;
            if text.first().is_some_and(|&b| (0x80..0xc0).contains(&b)) {
                return Err(s.bad("application name"));
            }
            let name = NameRef::push_bytes(&mut names, text);
            let strategy = s.index(strategies.len(), "application strategy")?;
            let m = s.count(2, "grant count")?;
            // Not `with_capacity`: its out-of-line reserve was 5% of a load, and two fit inline.
            let mut grants = smallvec::SmallVec::new();
            for _ in 0..m {
                let grant = match s.u8("grant kind")? {
                    0 => Grant::Api(s.index(apis.len(), "grant api")?),
                    1 => Grant::Package(s.index(packages.len(), "grant package")?),
                    _ => return Err(s.bad("grant kind")),
                };
                grants.push(grant);
            }
            applications.push(Application { name, strategy, grants });
        }
        // Every piece starts on a character boundary, so the whole being UTF-8 makes each piece so.
        let names = String::from_utf8(names).map_err(|_| s.bad("application name"))?;
        s.end()?;

        let mut s = get(tag::CREDENTIALS, "CREDENTIALS")?;
        let n = s.count(CREDENTIAL_RECORD, "credential count")?;
        let records = s.r.bytes(n * CREDENTIAL_RECORD, "credentials").map_err(|e| s.fail(e))?;
        let mut credentials: Vec<Credential> = Vec::with_capacity(n);
        let apps = u32::try_from(applications.len()).map_err(|_| s.bad("application count"))?;
        for record in records.chunks_exact(CREDENTIAL_RECORD) {
            let Some((digest, application)) = key_and_u32::<DIGEST_LEN>(record) else {
                return Err(s.bad("credential"));
            };
            if application >= apps {
                return Err(s.bad("credential application"));
            }
            // In byte order, the order lookups rely on.
            if credentials.last().is_some_and(|c| c.digest >= digest) {
                return Err(s.bad("credentials not strictly ascending"));
            }
            credentials.push(Credential { digest, application });
        }
        s.end()?;

        // Enforcement last: it references an application.
        let mut s = get(tag::ENFORCEMENT, "ENFORCEMENT")?;
        let match_policy = match s.u8("match_policy")? {
            0 => MatchPolicy::Required,
            1 => MatchPolicy::IfPresent,
            _ => return Err(s.bad("match_policy")),
        };
        let rate_limit_headers = match s.u8("rate_limit_headers")? {
            0 => RateLimitHeaders::Ietf,
            1 => RateLimitHeaders::Draft03,
            2 => RateLimitHeaders::None,
            _ => return Err(s.bad("rate_limit_headers")),
        };
        let hide_credentials = match s.u8("hide_credentials")? {
            0 => false,
            1 => true,
            _ => return Err(s.bad("hide_credentials")),
        };
        let cors_preflight_pass = match s.u8("cors_preflight")? {
            0 => true,
            1 => false,
            _ => return Err(s.bad("cors_preflight")),
        };
        let anonymous = match s.u32("anonymous")? {
            NO_APPLICATION => None,
            i if (i as usize) < applications.len() => Some(i),
            _ => return Err(s.bad("anonymous")),
        };
        s.end()?;
        let enforcement = Enforcement {
            match_policy,
            rate_limit_headers,
            hide_credentials,
            cors_preflight_pass,
            anonymous,
        };

        let access = access(&get, apis.len(), &applications, packages.len(), operations.len())?;
        let global = match get(tag::GLOBAL, "GLOBAL") {
            Err(BundleError::MissingSection(_)) => None,
            Err(e) => return Err(e),
            Ok(mut s) => {
                let mode = match s.u8("mode")? {
                    1 => RateLimitMode::Global,
                    2 => RateLimitMode::LocalGlobal,
                    _ => return Err(s.bad("mode")),
                };
                let cluster = s.string("cluster")?;
                let domain = s.string("domain")?;
                if cluster.is_empty() {
                    return Err(s.bad("cluster"));
                }
                if domain.is_empty() {
                    return Err(s.bad("domain"));
                }
                let timeout_ms = s.u32("timeout_ms")?;
                if !(1..=MAX_GLOBAL_TIMEOUT_MS).contains(&timeout_ms) {
                    return Err(s.bad("timeout_ms"));
                }
                let failure_allow = match s.u8("failure_mode")? {
                    0 => false,
                    1 => true,
                    _ => return Err(s.bad("failure_mode")),
                };
                s.end()?;
                Some(GlobalLimits {
                    mode,
                    cluster,
                    domain,
                    timeout_ms,
                    failure_allow,
                })
            }
        };

        Ok(Bundle {
            version,
            compiler,
            catalog,
            enforcement,
            strategies,
            apis,
            operations,
            packages,
            applications,
            credentials,
            names,
            access,
            global,
        })
    }
}

/// The optional 3.1 sections: directly published APIs and registrations that grant nothing.
fn access<'a>(
    get: &impl Fn(u32, &'static str) -> Result<Section<'a>, BundleError>,
    apis: usize,
    applications: &[Application],
    packages: usize,
    operations: usize,
) -> Result<Access, BundleError> {
    let mut access = Access::default();
    if let Ok(mut s) = get(tag::PUBLISHED, "PUBLISHED") {
        let n = s.count(1, "published api count")?;
        for _ in 0..n {
            let api = s.index(apis, "published api")?;
            if access.published_apis.last().is_some_and(|&last| last >= api) {
                return Err(s.bad("published apis not strictly ascending"));
            }
            access.published_apis.push(api);
        }
        s.end()?;
    }
    if let Ok(mut s) = get(tag::HELD, "HELD") {
        let n = s.count(4, "held registration count")?;
        for _ in 0..n {
            let application = s.index(applications.len(), "held application")?;
            let grant = match s.u8("held kind")? {
                0 => Grant::Api(s.index(apis, "held api")?),
                1 => Grant::Package(s.index(packages, "held package")?),
                _ => return Err(s.bad("held kind")),
            };
            let hold = match s.u8("hold")? {
                0 => Hold::Pending,
                1 => Hold::Revoked,
                _ => return Err(s.bad("hold")),
            };
            if access.held.last().is_some_and(|h| h.application > application) {
                return Err(s.bad("held registrations not ascending by application"));
            }
            access.held.push(Held {
                application,
                grant,
                hold,
            });
        }
        s.end()?;
    }
    if let Ok(mut s) = get(tag::ROUTE_BOUND, "ROUTE_BOUND") {
        let n = s.count(2, "route-bound operation count")?;
        for _ in 0..n {
            let operation = s.index(operations, "route-bound operation")?;
            if access.route_bound.last().is_some_and(|(last, _)| *last >= operation) {
                return Err(s.bad("route-bound operations not strictly ascending"));
            }
            let cluster = s.string("route-bound cluster")?;
            access.route_bound.push((operation, cluster));
        }
        s.end()?;
    }
    Ok(access)
}
