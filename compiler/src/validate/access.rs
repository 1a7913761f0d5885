//! Who may call what (docs/catalog.md#registrations-portals-and-teams): auth strategies, developers, teams, portals and their publications,
//! applications with their credentials and the grants their registrations give.

use std::collections::{HashMap, HashSet};

use super::{Ctx, Index};

mod credentials;

use crate::catalog::{self, Status, StrategyType, Visibility};
use crate::model::{Application, AuthStrategy, CredentialDigest, Grant};
use credentials::credential;

/// `auth_strategies`, checked: each type has its own keys.
pub(crate) fn strategies(ctx: &mut Ctx<'_>, raw: &[catalog::AuthStrategy]) -> Vec<AuthStrategy> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        let place = format!("auth_strategies[{i}]");
        match s.kind {
            StrategyType::KeyAuth => {
                if s.header.is_some() {
                    ctx.error(
                        format!("{place}.header"),
                        "`header` belongs to a `header` strategy",
                        Some("key_auth uses `key_names`".into()),
                    );
                }
                let key_names = s.key_names.clone().unwrap_or_default();
                if key_names.is_empty() {
                    ctx.error(
                        place.clone(),
                        "a key_auth strategy needs `key_names`",
                        Some("for example `key_names: [apikey]`".into()),
                    );
                }
                let mut seen: Vec<String> = Vec::new();
                for (k, name) in key_names.iter().enumerate() {
                    if !is_token(name) {
                        ctx.error(
                            format!("{place}.key_names[{k}]"),
                            format!(
                                "\"{}\" is not a valid header or parameter name (letters, digits and !#$%&'*+-.^_`|~, at most {} bytes)",
                                crate::diag::shown(name),
                                crate::diag::MAX_NAME_BYTES
                            ),
                            None,
                        );
                    } else if seen.contains(&name.to_ascii_lowercase()) {
                        ctx.error(
                            format!("{place}.key_names[{k}]"),
                            format!("key name \"{name}\" is listed twice"),
                            None,
                        );
                    }
                    seen.push(name.to_ascii_lowercase());
                }
                out.push(AuthStrategy::KeyAuth {
                    name: s.name.clone(),
                    key_names,
                });
            }
            StrategyType::Header => {
                if s.key_names.is_some() {
                    ctx.error(
                        format!("{place}.key_names"),
                        "`key_names` belongs to a `key_auth` strategy",
                        Some("a header strategy uses `header`".into()),
                    );
                }
                let header = s.header.clone().unwrap_or_default();
                if header.is_empty() {
                    ctx.error(
                        place.clone(),
                        "a header strategy needs `header`",
                        Some("for example `header: x-client-id`".into()),
                    );
                } else if !is_token(&header) {
                    ctx.error(
                        format!("{place}.header"),
                        format!(
                            "\"{}\" is not a valid header name (letters, digits and !#$%&'*+-.^_`|~, at most {} bytes)",
                            crate::diag::shown(&header),
                            crate::diag::MAX_NAME_BYTES
                        ),
                        None,
                    );
                }
                out.push(AuthStrategy::Header {
                    name: s.name.clone(),
                    header: header.to_ascii_lowercase(),
                });
            }
        }
    }
    out
}

/// An HTTP token (RFC 9110 `tchar`s): what header names and sane query parameter names are.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= crate::diag::MAX_NAME_BYTES
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Developers and teams, resolved.
pub(crate) struct People<'a> {
    pub developers: Index<'a>,
    pub statuses: Vec<Status>,
    pub teams: Index<'a>,
    /// Per team: indices of its (known) members.
    pub members: Vec<Vec<usize>>,
}

impl People<'_> {
    /// Why an owner grants nothing right now, if so (docs/catalog.md#registrations-portals-and-teams).
    fn owner_inactive(&self, owner: &Owner, raw: &catalog::Catalog) -> Option<String> {
        match *owner {
            Owner::Developer(d) => (self.statuses[d] != Status::Approved)
                .then(|| format!("developer {} is {}", raw.developers[d].email, self.statuses[d].as_str())),
            Owner::Team(t) => (!self.members[t].iter().any(|&d| self.statuses[d] == Status::Approved))
                .then(|| format!("team {} has no approved member", raw.teams[t].name)),
        }
    }
}

/// `developers` and `teams`.
pub(crate) fn people<'a>(ctx: &mut Ctx<'_>, raw: &'a catalog::Catalog) -> People<'a> {
    for (i, d) in raw.developers.iter().enumerate() {
        let ok = d
            .email
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && !domain.is_empty());
        if !ok || d.email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            ctx.error(
                format!("developers[{i}].email"),
                format!("\"{}\" is not an email address", d.email),
                None,
            );
        }
    }
    let developers = Index::folding_case(raw.developers.iter().map(|d| d.email.as_str()));
    let teams = Index::new(raw.teams.iter().map(|t| t.name.as_str()));
    let mut members = Vec::with_capacity(raw.teams.len());
    for (t, team) in raw.teams.iter().enumerate() {
        let mut list: Vec<usize> = Vec::new();
        for (m, email) in team.members.iter().enumerate() {
            match developers.get(email) {
                Some(d) if list.contains(&d) => ctx.error(
                    format!("teams[{t}].members[{m}]"),
                    format!("\"{email}\" is listed twice"),
                    None,
                ),
                Some(d) => list.push(d),
                None => ctx.error(
                    format!("teams[{t}].members[{m}]"),
                    format!("there is no developer \"{email}\""),
                    developers.hint(email),
                ),
            }
        }
        members.push(list);
    }
    People {
        statuses: raw.developers.iter().map(|d| d.status).collect(),
        developers,
        teams,
        members,
    }
}

/// A portal, resolved.
pub(crate) struct Portal {
    pub name: String,
    pub strategies: Vec<usize>,
    pub publications: Vec<Publication>,
    /// Target → index into `publications`, so registrations find theirs in constant time.
    pub by_target: HashMap<Grant, usize>,
}

/// A publication, resolved.
pub(crate) struct Publication {
    pub target: Grant,
    pub visibility: Visibility,
    pub teams: Vec<usize>,
}

/// What `package:` / `api:` name, resolved against both kinds so a mix-up gets a precise hint.
pub(crate) struct Targets<'a> {
    pub packages: &'a Index<'a>,
    pub apis: &'a Index<'a>,
}

impl Targets<'_> {
    /// Resolves an entry with optional `package` and `api` keys; errors are reported at `place`.
    fn resolve(&self, ctx: &mut Ctx<'_>, place: &str, package: Option<&str>, api: Option<&str>) -> Option<Grant> {
        match (package, api) {
            (Some(p), None) => match self.packages.get(p) {
                Some(i) => Some(Grant::Package(i)),
                None => {
                    let hint = if self.apis.get(p).is_some() {
                        Some(format!("\"{p}\" is an api: write `api: {p}`"))
                    } else {
                        self.packages.hint(p)
                    };
                    ctx.error(format!("{place}.package"), format!("there is no package \"{p}\""), hint);
                    None
                }
            },
            (None, Some(a)) => match self.apis.get(a) {
                Some(i) => Some(Grant::Api(i)),
                None => {
                    let hint = if self.packages.get(a).is_some() {
                        Some(format!("\"{a}\" is a package: write `package: {a}`"))
                    } else {
                        self.apis.hint(a)
                    };
                    ctx.error(format!("{place}.api"), format!("there is no api \"{a}\""), hint);
                    None
                }
            },
            _ => {
                ctx.error(place, "give exactly one of `package` or `api`", None);
                None
            }
        }
    }
}

fn describe(target: Grant, raw: &catalog::Catalog) -> String {
    match target {
        Grant::Package(i) => format!("package {}", raw.packages[i].id),
        Grant::Api(i) => format!("api {}", raw.apis[i].name),
    }
}

/// `portals`.
pub(crate) fn portals(
    ctx: &mut Ctx<'_>,
    raw: &catalog::Catalog,
    strategies: &Index<'_>,
    targets: &Targets<'_>,
    people: &People<'_>,
) -> Vec<Portal> {
    let mut out = Vec::with_capacity(raw.portals.len());
    for (pi, p) in raw.portals.iter().enumerate() {
        let place = format!("portals[{pi}]");
        let mut strats = Vec::new();
        for (si, s) in p.auth_strategies.iter().enumerate() {
            match strategies.get(s) {
                Some(i) => strats.push(i),
                None => ctx.error(
                    format!("{place}.auth_strategies[{si}]"),
                    format!("there is no auth strategy \"{s}\""),
                    strategies.hint(s),
                ),
            }
        }
        let mut publications: Vec<Publication> = Vec::new();
        let mut by_target: HashMap<Grant, usize> = HashMap::new();
        for (ui, u) in p.publications.iter().enumerate() {
            let u_place = format!("{place}.publications[{ui}]");
            let Some(target) = targets.resolve(ctx, &u_place, u.package.as_deref(), u.api.as_deref()) else {
                continue;
            };
            if by_target.contains_key(&target) {
                ctx.error(
                    u_place.clone(),
                    format!("{} is published twice on this portal", describe(target, raw)),
                    None,
                );
            }
            let mut teams = Vec::new();
            for (ti, t) in u.teams.iter().enumerate() {
                match people.teams.get(t) {
                    Some(i) => teams.push(i),
                    None => ctx.error(
                        format!("{u_place}.teams[{ti}]"),
                        format!("there is no team \"{t}\""),
                        people.teams.hint(t),
                    ),
                }
            }
            if u.visibility == Visibility::Public && !u.teams.is_empty() {
                ctx.warn(
                    format!("{u_place}.teams"),
                    "teams have no effect on a public publication",
                    Some("set `visibility: private` to restrict it to these teams".into()),
                );
            }
            by_target.insert(target, publications.len());
            publications.push(Publication {
                target,
                visibility: u.visibility,
                teams,
            });
        }
        out.push(Portal {
            name: p.name.clone(),
            strategies: strats,
            publications,
            by_target,
        });
    }
    out
}

enum Owner {
    Team(usize),
    Developer(usize),
}

/// Everything applications are checked against.
pub(crate) struct Scope<'a> {
    pub raw: &'a catalog::Catalog,
    pub strategies: &'a [AuthStrategy],
    pub strategy_index: &'a Index<'a>,
    pub targets: Targets<'a>,
    pub people: &'a People<'a>,
    pub portals: &'a [Portal],
    pub portal_index: &'a Index<'a>,
}

/// `applications`, with credentials hashed and registrations turned into grants.
pub(crate) fn applications(ctx: &mut Ctx<'_>, scope: &Scope<'_>) -> Vec<Application> {
    // digest → where it was first seen, across all applications (docs/catalog.md#registrations-portals-and-teams: one owner per credential)
    let mut digests: HashMap<[u8; 32], (usize, String)> = HashMap::new();
    let mut out = Vec::with_capacity(scope.raw.applications.len());
    for (ai, app) in scope.raw.applications.iter().enumerate() {
        let place = format!("applications[{ai}]");
        let portal = app
            .portal
            .as_deref()
            .and_then(|name| match scope.portal_index.get(name) {
                Some(i) => Some(&scope.portals[i]),
                None => {
                    ctx.error(
                        format!("{place}.portal"),
                        format!("there is no portal \"{name}\""),
                        scope.portal_index.hint(name),
                    );
                    None
                }
            });
        let owner = owner(ctx, &place, &app.owner, scope.people);
        let strategy = scope.strategy_index.get(&app.auth_strategy);
        match (strategy, portal) {
            (None, _) => ctx.error(
                format!("{place}.auth_strategy"),
                format!("there is no auth strategy \"{}\"", app.auth_strategy),
                scope.strategy_index.hint(&app.auth_strategy),
            ),
            (Some(s), Some(portal)) if !portal.strategies.contains(&s) => {
                let offered: Vec<&str> = portal.strategies.iter().map(|&i| scope.strategies[i].name()).collect();
                ctx.error(
                    format!("{place}.auth_strategy"),
                    format!(
                        "auth strategy \"{}\" is not offered by portal \"{}\"",
                        app.auth_strategy, portal.name
                    ),
                    Some(format!("portal \"{}\" offers: {}", portal.name, offered.join(", "))),
                );
            }
            _ => {}
        }
        let kind = strategy.map(|s| &scope.strategies[s]);
        let mut credentials = Vec::with_capacity(app.credentials.len());
        for (ci, c) in app.credentials.iter().enumerate() {
            let c_place = format!("{place}.credentials[{ci}]");
            let Some(digest) = credential(ctx, &c_place, c, kind) else {
                continue;
            };
            if let Some((other, at)) = digests.get(&digest) {
                let whose = &scope.raw.applications[*other].name;
                ctx.error(
                    c_place,
                    format!("this credential is already used by application \"{whose}\" ({at})"),
                    Some("a credential belongs to exactly one application".into()),
                );
                continue;
            }
            digests.insert(digest, (ai, c_place));
            credentials.push(CredentialDigest(digest));
        }
        let mut grants = Vec::new();
        let mut inactive = Vec::new();
        let mut registered: HashSet<Grant> = HashSet::new();
        for (ri, r) in app.registrations.iter().enumerate() {
            let r_place = format!("{place}.registrations[{ri}]");
            let Some(target) = scope
                .targets
                .resolve(ctx, &r_place, r.package.as_deref(), r.api.as_deref())
            else {
                continue;
            };
            let what = describe(target, scope.raw);
            if registered.contains(&target) {
                ctx.error(r_place, format!("{what} is registered twice"), None);
                continue;
            }
            registered.insert(target);
            if let (Some(portal), Some(owner)) = (portal, owner.as_ref()) {
                check_publication(ctx, &r_place, &what, target, portal, owner, scope);
            }
            let reason = if r.status != Status::Approved {
                Some(format!("registration {}", r.status.as_str()))
            } else {
                owner.as_ref().and_then(|o| scope.people.owner_inactive(o, scope.raw))
            };
            match reason {
                None => grants.push(target),
                Some(why) => inactive.push(format!("{what}: {why}")),
            }
        }
        out.push(Application {
            name: app.name.clone(),
            auth_strategy: strategy.unwrap_or(0),
            credentials,
            grants,
            inactive,
        });
    }
    out
}

fn owner(ctx: &mut Ctx<'_>, place: &str, raw: &catalog::Owner, people: &People<'_>) -> Option<Owner> {
    match (&raw.team, &raw.developer) {
        (Some(t), None) => match people.teams.get(t) {
            Some(i) => Some(Owner::Team(i)),
            None => {
                ctx.error(
                    format!("{place}.owner.team"),
                    format!("there is no team \"{t}\""),
                    people.teams.hint(t),
                );
                None
            }
        },
        (None, Some(d)) => match people.developers.get(d) {
            Some(i) => Some(Owner::Developer(i)),
            None => {
                ctx.error(
                    format!("{place}.owner.developer"),
                    format!("there is no developer \"{d}\""),
                    people.developers.hint(d),
                );
                None
            }
        },
        _ => {
            ctx.error(
                format!("{place}.owner"),
                "give exactly one of `team` or `developer`",
                None,
            );
            None
        }
    }
}

/// docs/catalog.md#registrations-portals-and-teams: a registration through a portal targets something published there, and a private
/// publication admits only its teams' applications (or their members').
fn check_publication(
    ctx: &mut Ctx<'_>,
    place: &str,
    what: &str,
    target: Grant,
    portal: &Portal,
    owner: &Owner,
    scope: &Scope<'_>,
) {
    let Some(publication) = portal.by_target.get(&target).and_then(|&i| portal.publications.get(i)) else {
        ctx.error(
            place,
            format!("{what} is not published on portal \"{}\"", portal.name),
            Some("publish it in the portal's `publications`, or register through a portal that publishes it".into()),
        );
        return;
    };
    if publication.visibility == Visibility::Public {
        return;
    }
    let admitted = match *owner {
        Owner::Team(t) => publication.teams.contains(&t),
        Owner::Developer(d) => publication.teams.iter().any(|&t| scope.people.members[t].contains(&d)),
    };
    if !admitted {
        let teams: Vec<&str> = publication
            .teams
            .iter()
            .map(|&t| scope.raw.teams[t].name.as_str())
            .collect();
        let who = match *owner {
            Owner::Team(t) => format!("team {}", scope.raw.teams[t].name),
            Owner::Developer(d) => format!("developer {}", scope.raw.developers[d].email),
        };
        ctx.error(
            place,
            format!(
                "{what} is published privately on portal \"{}\" to teams [{}]; the application's owner, {who}, is not one of them",
                portal.name,
                teams.join(", ")
            ),
            Some("add the team to the publication's `teams`, or the developer to one of those teams".into()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token("x-api-key"));
        assert!(!is_token("x api key"));
        assert!(!is_token(""));
    }
}
