//! Operation matching: (host, method, canonical path) → operation, with `matchit` routers per
//! host group. Static segments win over parameters; a parameter matches one non-empty segment.

use hashbrown::HashMap;
use smallvec::SmallVec;

use crate::bundle::Bundle;

pub use crate::bundle::Method;

/// The operations at one path template, by method.
#[derive(Debug, Default, Clone)]
struct PathEntry {
    methods: SmallVec<[(Method, u32); 4]>,
}

impl PathEntry {
    fn find(&self, m: Method) -> Option<u32> {
        self.methods.iter().find(|(x, _)| *x == m).map(|(_, op)| *op)
    }
}

/// Why an operation table cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchConflict {
    /// Two templates the router cannot tell apart (e.g. `/a{}` and `/{}b` in one segment).
    Ambiguous {
        /// The operation that could not be added.
        operation: u32,
        /// The router's explanation.
        detail: String,
    },
    /// Two operations with the same method and template on the same hosts.
    Duplicate {
        /// The first operation.
        first: u32,
        /// The second operation.
        second: u32,
    },
    /// A template the router cannot hold: more than [`MAX_PARAMS`] parameters, or a brace that is
    /// not part of a `{}` parameter.
    BadTemplate {
        /// The operation.
        operation: u32,
    },
}

impl std::fmt::Display for MatchConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchConflict::Ambiguous { operation, detail } => {
                write!(f, "operation #{operation}: {detail}")
            }
            MatchConflict::Duplicate { first, second } => {
                write!(
                    f,
                    "operations #{first} and #{second} have the same method and path on the same hosts"
                )
            }
            MatchConflict::BadTemplate { operation } => write!(
                f,
                "operation #{operation}: the path template cannot be routed (more than {MAX_PARAMS} \
                 parameters, or a `{{` or `}}` that is not part of a parameter)"
            ),
        }
    }
}

/// APIs with the same host list share a group (one router).
struct HostGroup {
    router: matchit::Router<PathEntry>,
}

/// All operations of a bundle, ready for matching.
pub struct OperationTable {
    groups: Vec<HostGroup>,
    exact: HashMap<Box<str>, SmallVec<[u32; 2]>>,
    /// The lengths of the exact hosts, as bits (`1 << len`, lengths of 127 and more as bit 127): a
    /// host of another length skips the hash lookup.
    exact_lengths: u128,
    /// (suffix including the leading dot, group), longest suffix first.
    wildcard: Vec<(Box<str>, u32)>,
    any: Option<u32>,
    /// Route-bound duplicates: the operation in the router → every operation of its group.
    alternatives: HashMap<u32, SmallVec<[u32; 2]>>,
}

/// The cluster an operation is bound to, if the gateway tells it apart by route.
pub fn cluster_of(bundle: &Bundle, operation: u32) -> Option<&str> {
    bound_cluster(&bundle.access.route_bound, operation)
}

/// [`cluster_of`] on the bundle's route-bound list.
pub fn bound_cluster(bound: &[(u32, String)], operation: u32) -> Option<&str> {
    bound
        .binary_search_by_key(&operation, |(op, _)| *op)
        .ok()
        .and_then(|i| bound.get(i))
        .map(|(_, c)| c.as_str())
}

/// What matching a request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// An operation for this method (HEAD falls back to GET).
    Operation(u32),
    /// The path matches some operation, but none for this method.
    PathOnly,
    /// Nothing at this path.
    None,
}

impl Match {
    /// The better of two findings: an operation over a path, a path over nothing.
    pub fn or(self, other: Match) -> Match {
        match (self, other) {
            (Match::Operation(_), _) => self,
            (_, Match::Operation(_)) => other,
            (Match::PathOnly, _) | (_, Match::PathOnly) => Match::PathOnly,
            _ => Match::None,
        }
    }
}

/// The most parameters one template may have: the router's limit, defined with the bundle
/// format ([`crate::bundle::MAX_TEMPLATE_PARAMS`]) so the decoder refuses what the router cannot
/// hold. The compiler refuses longer templates with this bound.
pub const MAX_PARAMS: u8 = crate::bundle::MAX_TEMPLATE_PARAMS;

/// Converts a normalized template (`/a/{}.json`) into matchit syntax (`/a/{a}.json`), or `None`
/// for a template the router cannot hold ([`crate::bundle::template_is_valid`]: more than
/// [`MAX_PARAMS`] parameters, or a `{` or `}` that is not part of a `{}` parameter). The names
/// are the router's own normalized ones.
fn router_template(path: &str) -> Option<String> {
    if !crate::bundle::template_is_valid(path.as_bytes()) {
        return None;
    }
    let mut out = String::with_capacity(path.len() + 8);
    let mut name = b'a';
    let mut rest = path;
    while let Some(at) = rest.find("{}") {
        // `{` is ASCII, so `at` and `at + 1` are character boundaries.
        out.push_str(rest.get(..=at).unwrap_or_default());
        out.push(char::from(name));
        out.push('}');
        name += 1;
        rest = rest.get(at + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    Some(out)
}

/// One template of a host group while the table is built: its operations and the first of them.
struct Template<'a> {
    path: &'a str,
    first_op: u32,
    entry: PathEntry,
}

impl OperationTable {
    /// Builds the routers. Fails on templates the router would confuse; the compiler runs this
    /// very code so such a catalog never becomes a bundle.
    pub fn build(bundle: &Bundle) -> Result<OperationTable, MatchConflict> {
        let mut group_of_hosts: HashMap<Vec<&str>, u32> = HashMap::new();
        let mut api_group = Vec::with_capacity(bundle.apis.len());
        for api in &bundle.apis {
            let mut hosts: Vec<&str> = api.hosts.iter().map(String::as_str).collect();
            hosts.sort_unstable();
            let next = group_of_hosts.len() as u32;
            api_group.push(*group_of_hosts.entry(hosts).or_insert(next));
        }
        // Collect the templates per group (in order of first appearance, borrowing the paths),
        // then insert each template once.
        let mut alternatives: HashMap<u32, SmallVec<[u32; 2]>> = HashMap::new();
        let mut per_group: Vec<Vec<Template<'_>>> = (0..group_of_hosts.len()).map(|_| Vec::new()).collect();
        let mut index: Vec<HashMap<&str, usize>> = (0..group_of_hosts.len()).map(|_| HashMap::new()).collect();
        for (i, op) in bundle.operations.iter().enumerate() {
            let i = i as u32;
            let bad = MatchConflict::BadTemplate { operation: i };
            let g = *api_group.get(op.api as usize).ok_or(bad.clone())? as usize;
            let method = op.method;
            let path = bundle.name(op.path);
            let (Some(templates), Some(index)) = (per_group.get_mut(g), index.get_mut(g)) else {
                return Err(bad);
            };
            let at = *index.entry(path).or_insert_with(|| {
                templates.push(Template {
                    path,
                    first_op: i,
                    entry: PathEntry::default(),
                });
                templates.len() - 1
            });
            let entry = &mut templates.get_mut(at).ok_or(bad)?.entry;
            if let Some(first) = entry.find(method) {
                // Told apart by the route the request takes: the first one stands for all, the
                // engine picks by cluster.
                if cluster_of(bundle, first).is_some() && cluster_of(bundle, i).is_some() {
                    let group = alternatives.entry(first).or_insert_with(|| smallvec::smallvec![first]);
                    group.push(i);
                    continue;
                }
                return Err(MatchConflict::Duplicate { first, second: i });
            }
            entry.methods.push((method, i));
        }
        drop(index);
        let mut groups = Vec::with_capacity(per_group.len());
        for templates in per_group {
            let mut router = matchit::Router::new();
            for t in templates {
                let template = router_template(t.path).ok_or(MatchConflict::BadTemplate { operation: t.first_op })?;
                router.insert(template, t.entry).map_err(|e| MatchConflict::Ambiguous {
                    operation: t.first_op,
                    detail: e.to_string(),
                })?;
            }
            groups.push(HostGroup { router });
        }
        let mut exact: HashMap<Box<str>, SmallVec<[u32; 2]>> = HashMap::new();
        let mut wildcard = Vec::new();
        let mut any = None;
        for (hosts, g) in &group_of_hosts {
            if hosts.is_empty() {
                any = Some(*g);
            }
            for h in hosts {
                match h.strip_prefix('*') {
                    Some(suffix) => wildcard.push((Box::from(suffix), *g)),
                    None => exact.entry(Box::from(*h)).or_default().push(*g),
                }
            }
        }
        let exact_lengths = exact.keys().fold(0u128, |bits, h| bits | length_bit(h.len()));
        wildcard.sort_by(|a: &(Box<str>, u32), b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        for v in exact.values_mut() {
            v.sort_unstable();
        }
        Ok(OperationTable {
            groups,
            exact,
            exact_lengths,
            wildcard,
            any,
            alternatives,
        })
    }

    /// The operations a matched operation stands for when the gateway tells several apart by
    /// route (itself included), else empty.
    pub fn alternatives(&self, operation: u32) -> &[u32] {
        if self.alternatives.is_empty() {
            // The common case: no hashing on the request path.
            return &[];
        }
        self.alternatives.get(&operation).map_or(&[], |v| v.as_slice())
    }

    /// Matches a request. `host` is already lower-cased without port; `path` canonical.
    /// Host groups are tried most specific first: exact hosts, wildcard hosts (longest suffix
    /// first), then APIs without hosts.
    pub fn find(&self, host: &str, method: &str, path: &str) -> Match {
        let method = Method::parse(method);
        let mut path_only = false;
        let exact = if self.exact_lengths & length_bit(host.len()) == 0 {
            &[]
        } else {
            self.exact.get(host).map(|v| v.as_slice()).unwrap_or_default()
        };
        let wild = self
            .wildcard
            .iter()
            .filter(|(s, _)| host.len() > s.len() && host.ends_with(s.as_ref()))
            .map(|(_, g)| *g);
        for g in exact.iter().copied().chain(wild).chain(self.any) {
            let Some(group) = self.groups.get(g as usize) else {
                continue;
            };
            let Ok(m) = group.router.at(path) else {
                continue;
            };
            path_only = true;
            if let Some(method) = method {
                if let Some(op) = m.value.find(method) {
                    return Match::Operation(op);
                }
                if method == Method::Head {
                    if let Some(op) = m.value.find(Method::Get) {
                        return Match::Operation(op);
                    }
                }
            }
        }
        if path_only {
            Match::PathOnly
        } else {
            Match::None
        }
    }
}

/// A host length as one bit of [`OperationTable`]'s length filter.
fn length_bit(len: usize) -> u128 {
    1u128 << len.min(127)
}

/// Lower-cases a `:authority`, dropping the port and a trailing dot (docs/catalog.md#base-path-and-hosts). IPv6 literals keep
/// their brackets.
pub fn normalize_host(authority: &str) -> Cow<'_, str> {
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => authority.get(..=i).unwrap_or(authority),
            None => authority,
        }
    } else {
        // A plain reverse loop: authorities are short, and `rfind`'s word-at-a-time search costs
        // more to set up than it saves on them.
        match authority.bytes().rposition(|b| b == b':') {
            Some(i) => authority.get(..i).unwrap_or(authority),
            None => authority,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

use std::borrow::Cow;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Api, Enforcement, MatchPolicy, RateLimitHeaders};

    pub(crate) fn bundle_with(apis: &[(&str, &[&str])], ops: &[(u32, &str, &str)]) -> Bundle {
        let mut b = Bundle {
            version: (1, 0),
            compiler: String::new(),
            catalog: String::new(),
            enforcement: Enforcement {
                match_policy: MatchPolicy::Required,
                rate_limit_headers: RateLimitHeaders::Ietf,
                hide_credentials: false,
                cors_preflight_pass: true,
                anonymous: None,
            },
            strategies: vec![],
            apis: apis
                .iter()
                .map(|(n, h)| Api {
                    name: n.to_string(),
                    version: "1".into(),
                    base_path: String::new(),
                    hosts: h.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            operations: vec![],
            packages: vec![],
            applications: vec![],
            credentials: vec![],
            names: String::new(),
            access: Default::default(),
            global: None,
        };
        for (api, m, p) in ops {
            b.push_operation(*api, Method::parse(m).unwrap(), p, &format!("{m} {p}"));
        }
        b
    }

    #[test]
    fn method_names_parse_to_their_variants() {
        for name in Method::NAMES {
            assert_eq!(Method::parse(name).map(Method::as_str), Some(name));
        }
        assert_eq!(Method::parse("get"), None);
        assert_eq!(format!("{:7}|", Method::Get), "GET    |");
    }

    #[test]
    fn static_wins_and_params_match_one_segment() {
        let b = bundle_with(
            &[("a", &[])],
            &[
                (0, "GET", "/users/{}"),
                (0, "GET", "/users/@me"),
                (0, "GET", "/Accounts/{}.json"),
                (0, "GET", "/Accounts/Local.json"),
                (0, "GET", "/"),
                (0, "POST", "/users/{}"),
            ],
        );
        let t = OperationTable::build(&b).unwrap();
        assert_eq!(t.find("h", "GET", "/users/42"), Match::Operation(0));
        assert_eq!(t.find("h", "GET", "/users/@me"), Match::Operation(1));
        assert_eq!(t.find("h", "GET", "/Accounts/AC1.json"), Match::Operation(2));
        assert_eq!(t.find("h", "GET", "/Accounts/Local.json"), Match::Operation(3));
        assert_eq!(t.find("h", "GET", "/"), Match::Operation(4));
        assert_eq!(t.find("h", "POST", "/users/42"), Match::Operation(5));
        assert_eq!(t.find("h", "HEAD", "/users/42"), Match::Operation(0));
        assert_eq!(t.find("h", "get", "/users/42"), Match::PathOnly);
        assert_eq!(t.find("h", "DELETE", "/users/42"), Match::PathOnly);
        assert_eq!(t.find("h", "GET", "/users/42/x"), Match::None);
        assert_eq!(t.find("h", "GET", "/users"), Match::None);
    }

    #[test]
    fn hosts_pick_the_most_specific_group() {
        let b = bundle_with(
            &[
                ("exact", &["api.example.com"]),
                ("wild", &["*.example.com"]),
                ("any", &[]),
            ],
            &[
                (0, "GET", "/x"),
                (1, "GET", "/x"),
                (2, "GET", "/x"),
                (2, "GET", "/only-any"),
            ],
        );
        let t = OperationTable::build(&b).unwrap();
        assert_eq!(t.find("api.example.com", "GET", "/x"), Match::Operation(0));
        assert_eq!(t.find("b.example.com", "GET", "/x"), Match::Operation(1));
        assert_eq!(t.find("example.com", "GET", "/x"), Match::Operation(2));
        assert_eq!(t.find("api.example.com", "GET", "/only-any"), Match::Operation(3));
    }

    #[test]
    fn exact_hosts_of_every_length_are_found_and_others_fall_through() {
        let long = format!("{}.example.com", "a".repeat(130));
        let longer = format!("{}.example.com", "a".repeat(131));
        let hosts = ["b.io", "api.example.com", long.as_str()];
        let b = bundle_with(
            &[("exact", &hosts), ("any", &[])],
            &[(0, "GET", "/x"), (1, "GET", "/x")],
        );
        let t = OperationTable::build(&b).unwrap();
        for h in hosts {
            assert_eq!(t.find(h, "GET", "/x"), Match::Operation(0), "{h}");
        }
        // Same length as an exact host, other length, and both past the length filter's last bit.
        for h in ["c.io", "api.example.org", "example.com", longer.as_str()] {
            assert_eq!(t.find(h, "GET", "/x"), Match::Operation(1), "{h}");
        }
    }

    #[test]
    fn duplicates_and_ambiguities_are_refused() {
        let b = bundle_with(&[("a", &[])], &[(0, "GET", "/x/{}"), (0, "GET", "/x/{}")]);
        assert!(matches!(
            OperationTable::build(&b),
            Err(MatchConflict::Duplicate { first: 0, second: 1 })
        ));
        let b = bundle_with(&[("a", &[])], &[(0, "GET", "/x/a{}"), (0, "GET", "/x/{}b")]);
        assert!(matches!(
            OperationTable::build(&b),
            Err(MatchConflict::Ambiguous { .. })
        ));
    }

    #[test]
    fn templates_get_router_names() {
        assert_eq!(router_template("/").as_deref(), Some("/"));
        assert_eq!(router_template("/a/{}.json").as_deref(), Some("/a/{a}.json"));
        assert_eq!(router_template("/{}/{}x{}").as_deref(), Some("/{a}/{b}x{c}"));
        assert_eq!(router_template("/{}/x{}{}").as_deref(), Some("/{a}/x{b}{c}"));
        for stray in ["/{}}{", "/{", "/}", "/{x}", "/{{}}", "/a}b", "/{*rest}"] {
            assert_eq!(router_template(stray), None, "{stray}");
        }
        let many = "/{}".repeat(usize::from(MAX_PARAMS));
        assert!(router_template(&many).is_some());
        assert!(router_template(&format!("{many}/{{}}")).is_none());
        // The most the router can hold builds; one more is refused, not a panic.
        let b = bundle_with(&[("a", &[])], &[(0, "GET", &many)]);
        let t = OperationTable::build(&b).unwrap();
        let request = "/x".repeat(usize::from(MAX_PARAMS));
        assert_eq!(t.find("h", "GET", &request), Match::Operation(0));
        let b = bundle_with(&[("a", &[])], &[(0, "GET", &"/{}".repeat(usize::from(MAX_PARAMS) + 1))]);
        assert!(matches!(
            OperationTable::build(&b),
            Err(MatchConflict::BadTemplate { operation: 0 })
        ));
    }

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("API.Example.com:8443"), "api.example.com");
        assert_eq!(normalize_host("example.com."), "example.com");
        assert_eq!(normalize_host("[::1]:80"), "[::1]");
        assert_eq!(normalize_host(""), "");
    }
}
