//! `apis`: operations from specs and manual entries, merged (docs/catalog.md#operations), excluded, given their full
//! path under the base path (docs/catalog.md#base-path-and-hosts), and checked for conflicts between APIs whose hosts overlap.

use acepack_filter::bundle::Method;
use std::collections::HashMap;

use super::hosts;
use super::Ctx;
use crate::catalog;
use crate::diag::{did_you_mean, shown, text_problem, MAX_OPERATION_ID_BYTES};
use crate::error::LoadError;
use crate::model::{Api, Operation};
use crate::openapi;
use crate::template;

/// Methods an operation may have (docs/catalog.md#operations; QUERY is OpenAPI 3.2's).
pub(crate) const METHODS: &[&str] = &Method::NAMES;

/// The APIs and their operations, plus what references need that the model does not keep.
#[derive(Debug, Default)]
pub(crate) struct Built {
    pub apis: Vec<Api>,
    pub operations: Vec<Operation>,
    /// Per operation: its normalized template without the base path (what `op:` refers to).
    pub rel_paths: Vec<String>,
    /// Per API: some of its operations could not be read (already reported), so a reference
    /// that misses may be a consequence rather than a mistake of its own.
    pub incomplete: Vec<bool>,
    /// Per API: the operations its `exclude` left out, so a reference to one can say so.
    pub excluded: Vec<Vec<Excluded>>,
    /// Operations of two APIs with the same (method, path) and overlapping hosts: (earlier,
    /// later). An error unless the gateway tells them apart ([`report_clashes`]).
    pub clashes: Vec<(usize, usize)>,
}

/// An operation left out by `exclude`: what a reference could have matched it by.
#[derive(Debug)]
pub(crate) struct Excluded {
    pub method: String,
    /// Normalized, without base path.
    pub path: String,
    pub spec_path: String,
    pub id: String,
    pub aliases: Vec<String>,
}

/// An operation while its API is being assembled.
#[derive(Debug)]
struct Draft {
    method: String,
    /// Normalized, without base path.
    path: String,
    spec_path: String,
    id: String,
    aliases: Vec<String>,
    /// Where it was defined: a manual entry's place, or the API's for spec operations.
    place: String,
    excluded: bool,
}

/// What a reference (`exclude` entry, package `op`) can be compared with.
pub(crate) struct OpKey<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub spec_path: &'a str,
    pub id: &'a str,
    pub aliases: &'a [String],
}

/// The outcome of resolving a reference against an API's operations.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// Index into the keys.
    Found(usize),
    /// No such operation; a did-you-mean hint when something is close.
    Missing(Option<String>),
    /// Not a valid `METHOD /path`.
    Invalid(String, Option<String>),
}

/// A parsed `METHOD /path`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub method: String,
    /// As written.
    pub written: String,
    /// Normalized template.
    pub path: String,
}

/// Whether `text` is meant as `METHOD /path` rather than an operationId.
fn looks_like_route(text: &str) -> bool {
    match text.trim().split_once(char::is_whitespace) {
        Some((m, rest)) => METHODS.iter().any(|k| k.eq_ignore_ascii_case(m)) && rest.trim_start().starts_with('/'),
        None => false,
    }
}

/// Parses `METHOD /path`, normalizing the path template.
pub(crate) fn parse_route(text: &str) -> Result<Route, (String, Option<String>)> {
    let example = Some("write it as \"METHOD /path\", e.g. \"GET /flights/{id}\"".to_string());
    let Some((method, path)) = text.trim().split_once(char::is_whitespace) else {
        return Err((format!("\"{text}\" is not \"METHOD /path\""), example));
    };
    let path = path.trim();
    if !METHODS.contains(&method) {
        let upper = method.to_ascii_uppercase();
        return Err(if METHODS.contains(&upper.as_str()) {
            (
                format!("method \"{method}\" must be upper-case (methods are case-sensitive)"),
                Some(format!("did you mean \"{upper} {path}\"?")),
            )
        } else {
            let hint = closest_method(method)
                .map(|m| format!("did you mean \"{m}\"?"))
                .unwrap_or_else(|| format!("methods: {}", METHODS.join(" ")));
            (format!("unknown method \"{method}\""), Some(hint))
        });
    }
    if !path.starts_with('/') {
        return Err((format!("path \"{path}\" must start with '/'"), example));
    }
    match template::normalize(path) {
        Ok(normalized) => Ok(Route {
            method: method.to_string(),
            written: path.to_string(),
            path: normalized,
        }),
        Err(e) => Err((e.to_string(), None)),
    }
}

/// The method a typo most likely meant. Methods are too short for Jaro-Winkler to judge
/// (`GRT` vs `GET`), so this counts edits, transpositions included.
fn closest_method(wanted: &str) -> Option<&'static str> {
    let wanted = wanted.to_ascii_uppercase();
    let allowed = (wanted.len() / 3).max(1);
    METHODS
        .iter()
        .map(|m| (strsim::osa_distance(&wanted, m), *m))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, m)| m)
}

/// `METHOD /path` as written, without a query string (used as the default operation id).
fn default_id(method: &str, spec_path: &str) -> String {
    let path = spec_path.split('?').next().unwrap_or(spec_path);
    format!("{method} {path}")
}

/// `"id" (METHOD /path)` for messages, or just `"METHOD /path"` when that is the id.
pub(crate) fn label(op: &Operation) -> String {
    let route = default_id(&op.method, &op.spec_path);
    if op.id == route {
        format!("\"{route}\"")
    } else {
        format!("\"{}\" ({route})", op.id)
    }
}

/// The operations of one API indexed by id, alias and (method, normalized path), so that resolving
/// a reference is a hash lookup: packages may list tens of thousands of `op:` entries.
pub(crate) struct OpIndex<'a> {
    pub keys: Vec<OpKey<'a>>,
    ids: HashMap<&'a str, usize>,
    aliases: HashMap<&'a str, usize>,
    routes: HashMap<(&'a str, &'a str), usize>,
}

impl<'a> OpIndex<'a> {
    /// Indexes `keys`; where two keys share an id, alias or route, the first wins.
    pub fn new(keys: Vec<OpKey<'a>>) -> Self {
        let mut ids = HashMap::with_capacity(keys.len());
        let mut aliases = HashMap::new();
        let mut routes = HashMap::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            ids.entry(k.id).or_insert(i);
            for a in k.aliases {
                aliases.entry(a.as_str()).or_insert(i);
            }
            routes.entry((k.method, k.path)).or_insert(i);
        }
        OpIndex {
            keys,
            ids,
            aliases,
            routes,
        }
    }

    /// Resolves `text` (an operationId, an alias, or `METHOD /path`): ids first, then aliases,
    /// then routes.
    pub fn resolve(&self, text: &str) -> Resolved {
        let text = text.trim();
        if let Some(&i) = self.ids.get(text).or_else(|| self.aliases.get(text)) {
            return Resolved::Found(i);
        }
        if looks_like_route(text) {
            match parse_route(text) {
                Ok(r) => {
                    if let Some(&i) = self.routes.get(&(r.method.as_str(), r.path.as_str())) {
                        return Resolved::Found(i);
                    }
                }
                Err((message, hint)) => return Resolved::Invalid(message, hint),
            }
        }
        Resolved::Missing(suggest(&self.keys, text))
    }

    /// The key for `(method, normalized path)`, if any.
    pub fn route(&self, method: &str, path: &str) -> Option<&OpKey<'a>> {
        self.routes.get(&(method, path)).and_then(|&i| self.keys.get(i))
    }
}

/// "did you mean" among every way the operations can be named.
fn suggest(keys: &[OpKey<'_>], text: &str) -> Option<String> {
    let names: Vec<String> = keys
        .iter()
        .flat_map(|k| [default_id(k.method, k.spec_path), k.id.to_string()])
        .collect();
    did_you_mean(text, names.iter().map(String::as_str))
}

/// Builds every API. An unreadable spec stops everything with [`LoadError::Io`].
pub(crate) fn build(ctx: &mut Ctx<'_>, apis: &[catalog::Api]) -> Result<Built, LoadError> {
    let mut built = Built::default();
    for (ai, api) in apis.iter().enumerate() {
        let place = format!("apis[{ai}]");
        let mut hosts = Vec::with_capacity(api.hosts.len());
        for (hi, raw) in api.hosts.iter().enumerate() {
            match hosts::normalize_host(raw) {
                Ok(h) if !hosts.contains(&h) => hosts.push(h),
                Ok(_) => {}
                Err(message) => ctx.error(format!("{place}.hosts[{hi}]"), message, None),
            }
        }
        let base_override = match &api.base_path {
            Some(b) => match template::normalize_base_path(b) {
                Ok(b) => Some(b),
                Err(e) => {
                    ctx.error(format!("{place}.base_path"), e.to_string(), None);
                    None
                }
            },
            None => None,
        };
        let mut base_path = base_override.clone().unwrap_or_default();
        let mut drafts: Vec<Draft> = Vec::new();
        let errors_before = ctx.errors.len();
        if let Some(spec) = &api.spec {
            let full = ctx.dir.join(spec);
            let display = full.display().to_string();
            match openapi::load_spec(&full, &display, base_override.as_deref()) {
                Ok(s) => {
                    ctx.inputs.extend(s.files);
                    base_path = s.base_path;
                    ctx.warnings.extend(s.warnings);
                    drafts.extend(s.operations.into_iter().map(|op| Draft {
                        id: op.operation_id.unwrap_or_else(|| default_id(&op.method, &op.spec_path)),
                        method: op.method,
                        path: op.path,
                        spec_path: op.spec_path,
                        aliases: op.aliases,
                        place: place.clone(),
                        excluded: false,
                    }));
                }
                Err(LoadError::Io(e)) => return Err(LoadError::Io(e)),
                Err(LoadError::Invalid(ds)) => ctx.errors.extend(ds),
            }
        } else if api.operations.is_empty() {
            ctx.error(
                place.clone(),
                format!("api \"{}\" has neither a `spec` nor `operations`", api.name),
                Some("name an OpenAPI document with `spec:` or list operations like `GET /path`".into()),
            );
        }
        add_manual(ctx, &place, &api.operations, &mut drafts);
        let incomplete = ctx.errors.len() > errors_before;
        apply_excludes(ctx, &place, &api.exclude, &mut drafts, incomplete);
        check_ids(ctx, &api.name, &drafts);

        let start = built.operations.len();
        let (kept, left_out): (Vec<Draft>, Vec<Draft>) = drafts.into_iter().partition(|d| !d.excluded);
        built.excluded.push(
            left_out
                .into_iter()
                .map(|d| Excluded {
                    method: d.method,
                    path: d.path,
                    spec_path: d.spec_path,
                    id: d.id,
                    aliases: d.aliases,
                })
                .collect(),
        );
        for d in kept {
            let path = template::join(&base_path, &d.path);
            if !operation_fits(ctx, &d, &path) {
                continue;
            }
            built.operations.push(Operation {
                api: ai,
                id: d.id,
                method: d.method,
                path,
                spec_path: d.spec_path,
                aliases: d.aliases,
            });
            built.rel_paths.push(d.path);
        }
        built.apis.push(Api {
            name: api.name.clone(),
            version: api.version.clone(),
            hosts,
            base_path,
            spec: api.spec.clone(),
            operations: start..built.operations.len(),
            portals: Vec::new(),
        });
        built.incomplete.push(incomplete);
    }
    built.clashes = check_conflicts(&built);
    Ok(built)
}

/// Checks what the filter and request headers can carry: the full template within the router's
/// limits, the id and its aliases without control characters and not too long.
fn operation_fits(ctx: &mut Ctx<'_>, d: &Draft, path: &str) -> bool {
    let mut fits = true;
    if let Err(e) = template::check_limits(path) {
        ctx.error(
            d.place.clone(),
            format!("operation \"{}\": {e}", shown(&d.id)),
            Some("exclude the operation (`exclude: [\"METHOD /path\"]`) if it cannot be shortened".into()),
        );
        fits = false;
    }
    for id in std::iter::once(&d.id).chain(&d.aliases) {
        if let Some(problem) = text_problem("operation id", id, MAX_OPERATION_ID_BYTES) {
            ctx.error(
                d.place.clone(),
                format!("{} {}: {problem}", d.method, shown(&d.spec_path)),
                Some("fix the operationId in the spec or give the operation an `id`".into()),
            );
            fits = false;
        }
    }
    fits
}

/// Adds `apis[].operations`; one that repeats an existing (method, path) merges into it (docs/catalog.md#operations).
fn add_manual(ctx: &mut Ctx<'_>, place: &str, manual: &[catalog::ManualOperation], drafts: &mut Vec<Draft>) {
    if manual.is_empty() {
        return;
    }
    // (method, normalized path) → draft, so that merging stays linear in the number of entries.
    let mut by_route: HashMap<(String, String), usize> = HashMap::with_capacity(drafts.len() + manual.len());
    for (i, d) in drafts.iter().enumerate() {
        by_route.entry((d.method.clone(), d.path.clone())).or_insert(i);
    }
    for (j, m) in manual.iter().enumerate() {
        let op_place = format!("{place}.operations[{j}]");
        let route = match parse_route(&m.op) {
            Ok(r) => r,
            Err((message, hint)) => {
                ctx.error(op_place, message, hint);
                continue;
            }
        };
        let id =
            m.id.clone()
                .unwrap_or_else(|| format!("{} {}", route.method, route.written));
        if id.trim().is_empty() {
            ctx.error(op_place, "an operation id cannot be empty", None);
            continue;
        }
        let key = (route.method.clone(), route.path.clone());
        if let Some(existing) = by_route.get(&key).and_then(|&i| drafts.get_mut(i)) {
            ctx.warn(
                op_place,
                format!(
                    "\"{} {}\" is the same operation as \"{}\" ({} {}); merged, \"{}\" is kept as its id",
                    route.method, route.written, existing.id, existing.method, existing.spec_path, existing.id
                ),
                None,
            );
            if id != existing.id && !existing.aliases.contains(&id) {
                existing.aliases.push(id);
            }
            continue;
        }
        by_route.insert(key, drafts.len());
        drafts.push(Draft {
            method: route.method,
            path: route.path,
            spec_path: route.written,
            id,
            aliases: Vec::new(),
            place: op_place,
            excluded: false,
        });
    }
}

/// `apis[].exclude`: every entry must name an operation, which is then left out.
fn apply_excludes(ctx: &mut Ctx<'_>, place: &str, exclude: &[String], drafts: &mut [Draft], incomplete: bool) {
    if exclude.is_empty() {
        return;
    }
    let index = OpIndex::new(drafts.iter().map(draft_key).collect());
    let mut excluded = Vec::new();
    for (k, text) in exclude.iter().enumerate() {
        let ex_place = format!("{place}.exclude[{k}]");
        match index.resolve(text) {
            Resolved::Found(i) => excluded.push(i),
            // The operation may be one that could not be read; that error is already reported.
            Resolved::Missing(_) if incomplete => {}
            Resolved::Missing(hint) => {
                ctx.error(ex_place, format!("there is no operation \"{text}\" to exclude"), hint)
            }
            Resolved::Invalid(message, hint) => ctx.error(ex_place, message, hint),
        }
    }
    drop(index);
    for i in excluded {
        if let Some(d) = drafts.get_mut(i) {
            d.excluded = true;
        }
    }
}

fn draft_key(d: &Draft) -> OpKey<'_> {
    OpKey {
        method: &d.method,
        path: &d.path,
        spec_path: &d.spec_path,
        id: &d.id,
        aliases: &d.aliases,
    }
}

/// Operation ids are unique within an API: they key rate limits and appear in headers.
fn check_ids(ctx: &mut Ctx<'_>, api: &str, drafts: &[Draft]) {
    let mut seen: HashMap<&str, &Draft> = HashMap::new();
    for d in drafts.iter().filter(|d| !d.excluded) {
        if let Some(first) = seen.get(d.id.as_str()) {
            ctx.error(
                d.place.clone(),
                format!(
                    "api \"{api}\": operation id \"{}\" names both \"{} {}\" and \"{} {}\"",
                    d.id, first.method, first.spec_path, d.method, d.spec_path
                ),
                Some("give one of them another operationId".into()),
            );
        } else {
            seen.insert(&d.id, d);
        }
    }
}

/// docs/catalog.md#operations: the same (method, full path) in two APIs whose hosts overlap is ambiguous.
/// Operations of two APIs with the same (method, path) and overlapping hosts: (earlier, later),
/// in operation order. An error unless the gateway tells them apart ([`report_clashes`]).
fn check_conflicts(built: &Built) -> Vec<(usize, usize)> {
    let mut by_route: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, op) in built.operations.iter().enumerate() {
        by_route.entry((&op.method, &op.path)).or_default().push(i);
    }
    let mut clashes: Vec<(usize, usize)> = by_route
        .values()
        .filter(|same| same.len() > 1)
        .flat_map(|same| first_clashes(built, same))
        .map(|(later, earlier)| (earlier, later))
        .collect();
    // In operation order, whatever the hash map's order.
    clashes.sort_unstable_by_key(|&(earlier, later)| (later, earlier));
    clashes
}

/// For operations with the same (method, path), in operation order (each from another API: an
/// API has one operation per route), every later one whose hosts overlap an earlier one's, paired
/// with the first such earlier one. Exact hosts are looked up in a map, so a route that hundreds
/// of single-host APIs share (`GET /health` per tenant) costs no pairwise comparison.
fn first_clashes(built: &Built, same: &[usize]) -> Vec<(usize, usize)> {
    let hosts = |i: usize| built.apis[built.operations[i].api].hosts.as_slice();
    let mut out = Vec::new();
    let mut any_host: Option<usize> = None;
    let mut exact: HashMap<&str, usize> = HashMap::new();
    let mut wildcards: Vec<(&str, usize)> = Vec::new();
    for &i in same {
        let mine = hosts(i);
        let clash = if mine.is_empty() {
            // Any host overlaps everything: the first earlier operation, if any.
            same.first().copied().filter(|&j| j != i)
        } else {
            let mut candidates: Vec<usize> = any_host.into_iter().collect();
            for h in mine {
                if h.starts_with('*') {
                    candidates.extend(
                        exact
                            .iter()
                            .filter(|(e, _)| hosts::patterns_overlap(h, e))
                            .map(|(_, &j)| j),
                    );
                } else if let Some(&j) = exact.get(h.as_str()) {
                    candidates.push(j);
                }
                candidates.extend(
                    wildcards
                        .iter()
                        .filter(|(w, _)| hosts::patterns_overlap(h, w))
                        .map(|&(_, j)| j),
                );
            }
            candidates.into_iter().min()
        };
        if let Some(j) = clash {
            out.push((i, j));
        }
        if mine.is_empty() {
            any_host.get_or_insert(i);
        }
        for h in mine {
            if h.starts_with('*') {
                wildcards.push((h, i));
            } else {
                exact.entry(h).or_insert(i);
            }
        }
    }
    out
}

/// Reports the clashes nothing tells apart (docs/catalog.md#operations). `route_bound` holds the
/// operations the gateway routes to distinct clusters; the rest of each clash is an error.
pub(crate) fn report_clashes(ctx: &mut Ctx<'_>, built: &Built, route_bound: &[(usize, String)], why: Option<&str>) {
    let bound = |o: usize| route_bound.iter().any(|(b, _)| *b == o);
    for &(j, i) in &built.clashes {
        if bound(j) && bound(i) {
            continue;
        }
        let op = &built.operations[i];
        let (a, b) = (&built.apis[built.operations[j].api], &built.apis[op.api]);
        let rel = &built.rel_paths[i];
        let routes = why.map_or_else(String::new, |w| format!("; {w}"));
        ctx.error(
            format!("apis[{}]", op.api),
            format!(
                "api \"{}\" and api \"{}\" both define {} {} and their hosts overlap, so a request could not be told apart{routes}",
                b.name, a.name, op.method, op.path
            ),
            Some(format!(
                "add `exclude: [\"{} {rel}\"]` to one of them, give them `hosts` that do not overlap, or (with `gateway.envoy`) route each API's other operations to a cluster of its own",
                op.method
            )),
        );
    }
}

#[cfg(test)]
mod tests;
