//! OpenAPI 3.0 / 3.1 / 3.2 ingestion: the operations of one document (docs/catalog.md#operations) and its base path (docs/catalog.md#base-path-and-hosts).
//!
//! No typed OpenAPI crate: acepack needs only `openapi`, `servers`, `paths` (path items, their `$ref`,
//! `servers`, methods, operationIds) and what those `$ref`s point to. `openapiv3` parses 3.0 only and
//! rejects many 3.1 documents (type arrays, `webhooks`, ...), nothing typed knows 3.2's `query` and
//! `additionalOperations`, and a full model would deserialize megabytes of schemas never looked at.
//! So one code path reads a minimal view out of the generic document tree, for every version.
//!
//! A path item's `$ref` may point into the same document (`#/components/pathItems/x`,
//! `#/paths/~1pets`) or into another file, relative to the file that holds the reference
//! (`paths/pets.yaml`, `common.yaml#/components/pathItems/x`). Chains are followed up to
//! [`MAX_REF_HOPS`] and at most [`MAX_REF_FILES`] files are read; cycles, dangling pointers and remote
//! (`https://`) references are errors. Fields written beside a `$ref` win over the referenced ones.
//!
//! Callbacks and webhooks are never read, and path keys that are runtime expressions are skipped:
//! none of them is a route. Path items without operations are skipped before their key is checked,
//! so a key that is no template (Vault's `/{kv_v2_mount_path}/^.*$`) is harmless when it has no method.

use acepack_filter::bundle::Method;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::diag::Diagnostic;
use crate::source::{self, SourceError};
use crate::template;
use crate::validate::LoadError;

/// Longest chain of path item `$ref`s followed before giving up.
pub const MAX_REF_HOPS: usize = 32;
/// Most files (besides the spec itself) that path item `$ref`s may pull in.
pub const MAX_REF_FILES: usize = 64;

/// Path item fields that hold an operation, and the method each stands for.
const METHOD_FIELDS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("options", "OPTIONS"),
    ("head", "HEAD"),
    ("patch", "PATCH"),
    ("trace", "TRACE"),
];
/// Every method an operation may have (docs/catalog.md#operations); `QUERY` only from OpenAPI 3.2 on.
const METHODS: [&str; 9] = Method::NAMES;

/// One operation found in a spec, after normalization and merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecOperation {
    /// Upper-case method.
    pub method: String,
    /// Normalized template without the base path (see [`crate::template`]).
    pub path: String,
    /// The path key as written in the spec (the first one seen, query string included if it had one).
    pub spec_path: String,
    /// The first operationId seen for this (method, path), if any.
    pub operation_id: Option<String>,
    /// operationIds (or `METHOD /key` without query string, for entries without one) merged into this
    /// operation, in document order.
    pub aliases: Vec<String>,
}

/// The operations of one spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecApi {
    /// The base path: the override if given, else derived from servers; `""` or `/x/y` (no trailing slash).
    pub base_path: String,
    /// Operations in document order.
    pub operations: Vec<SpecOperation>,
    /// Merges and other non-fatal findings.
    pub warnings: Vec<Diagnostic>,
}

/// Loads the spec at `path` (`display` names it in messages). `base_path` is the catalog's override.
///
/// An unreadable spec is [`LoadError::Io`]; everything else wrong with it (syntax, version, paths,
/// references, servers) is [`LoadError::Invalid`] with every error found, each naming its place
/// (`paths./pets/{id}.get`, `servers[1].url`, ...). With an override, `servers` are not read at all.
pub fn load_spec(path: &Path, display: &str, base_path: Option<&str>) -> Result<SpecApi, LoadError> {
    let doc = source::load(path, display).map_err(|e| match e {
        SourceError::Syntax(d) => LoadError::Invalid(vec![d]),
        io @ SourceError::Io { .. } => LoadError::Io(io),
    })?;
    let mut docs = Docs::new(&doc, path, display);
    let mut diags = Diags {
        file: display,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut api = read_spec(&mut docs, &mut diags, base_path);
    if diags.errors.is_empty() {
        api.warnings = diags.warnings;
        Ok(api)
    } else {
        Err(LoadError::Invalid(diags.errors))
    }
}

/// Errors and warnings about one spec, in the order found.
struct Diags<'a> {
    file: &'a str,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Diags<'_> {
    fn error(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Diagnostic::error(self.file, place, message));
    }

    fn warn(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Diagnostic::warning(self.file, place, message));
    }
}

/// The whole reading, on a parsed document: version, operations, base path.
fn read_spec(docs: &mut Docs<'_>, diags: &mut Diags<'_>, base_override: Option<&str>) -> SpecApi {
    let root = docs.root;
    let Some(root_map) = root.as_object() else {
        diags.error("", "an OpenAPI document must be a mapping at the top level");
        return SpecApi::default();
    };
    let Some(minor) = check_version(root_map, diags) else {
        return SpecApi::default();
    };
    let items = resolve_path_items(docs, diags, root_map, minor);
    let docs: &Docs<'_> = docs;

    let mut reader = OperationReader::default();
    for item in &items {
        reader.read_path_item(docs, diags, item, minor, base_override.is_none());
    }

    let base_path = match base_override {
        Some(base) => template::normalize_base_path(base).unwrap_or_else(|e| {
            diags.error(
                "base_path",
                format!("the catalog's base_path override is not usable: {e}"),
            );
            String::new()
        }),
        None => {
            let mut lists = reader.server_lists;
            // Root servers count only when some operation falls back on them (Twilio overrides
            // them on 120 of 121 paths), or when there is no operation to look at.
            if reader.root_servers_used || reader.operations.is_empty() {
                lists.insert(
                    0,
                    ServerList {
                        place: "servers".to_string(),
                        servers: non_empty(root_map.get("servers")),
                    },
                );
            }
            derive_base_path(&lists, diags)
        }
    };
    SpecApi {
        base_path,
        operations: reader.operations,
        warnings: Vec::new(),
    }
}

/// Reads `openapi` and returns the minor version (3.`minor`), or reports why the document is refused.
fn check_version(root: &Map<String, Value>, diags: &mut Diags<'_>) -> Option<u8> {
    let version = match root.get("openapi") {
        Some(Value::String(v)) => v,
        Some(Value::Number(n)) => {
            diags.errors.push(
                Diagnostic::error(
                    diags.file,
                    "openapi",
                    format!("the version must be a string, not the number {n}"),
                )
                .with_hint("quote it, e.g. openapi: \"3.0.3\""),
            );
            return None;
        }
        Some(_) => {
            diags.error("openapi", "the version must be a string such as \"3.1.0\"");
            return None;
        }
        None if root.contains_key("swagger") => {
            let version = root.get("swagger").and_then(Value::as_str).unwrap_or("2.0");
            diags.errors.push(
                Diagnostic::error(
                    diags.file,
                    "swagger",
                    format!("Swagger {version} documents are not supported; acepack reads OpenAPI 3.0, 3.1 and 3.2"),
                )
                .with_hint("convert it to OpenAPI 3, e.g. with swagger2openapi"),
            );
            return None;
        }
        None => {
            diags.error("openapi", "missing field `openapi`: this is not an OpenAPI 3 document");
            return None;
        }
    };
    // "3.1.0", "3.0" and pre-releases such as "3.2.0-rc1" are accepted.
    let core = version.split_once('-').map_or(version.as_str(), |(core, _)| core);
    let mut parts = core.split('.');
    let minor = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("3"), Some(minor @ ("0" | "1" | "2")), patch, None)
            if patch.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            minor.parse().ok()
        }
        _ => None,
    };
    if minor.is_none() {
        diags.error(
            "openapi",
            format!("unsupported OpenAPI version {version:?}; acepack reads 3.0.x, 3.1.x and 3.2.x"),
        );
    }
    minor
}

/// One `paths` entry with the chain of path item objects its `$ref`s lead through.
struct PathItem<'a> {
    key: &'a str,
    place: String,
    chain: Vec<Loc>,
}

/// First pass over `paths`: skips what is no route and follows `$ref`s (reading referenced files).
fn resolve_path_items<'a>(
    docs: &mut Docs<'_>,
    diags: &mut Diags<'_>,
    root: &'a Map<String, Value>,
    minor: u8,
) -> Vec<PathItem<'a>> {
    let paths = match root.get("paths") {
        Some(Value::Object(paths)) => paths,
        None | Some(Value::Null) => {
            // 3.1 made `paths` optional (webhook-only and component-only documents).
            if minor == 0 {
                diags.error("paths", "missing field `paths`, which OpenAPI 3.0 requires");
            }
            return Vec::new();
        }
        Some(_) => {
            diags.error("paths", "`paths` must be a mapping of path templates to path items");
            return Vec::new();
        }
    };
    let mut items = Vec::with_capacity(paths.len());
    for (key, item) in paths {
        if key.starts_with("x-") || template::is_runtime_expression(key) {
            continue;
        }
        let place = format!("paths.{key}");
        match item {
            Value::Object(_) => {}
            Value::Null => continue,
            _ => {
                diags.error(place, "a path item must be a mapping");
                continue;
            }
        }
        let start = Loc {
            doc: 0,
            pointer: format!("/paths/{}", escape_pointer_token(key)),
        };
        match docs.resolve(start, &place) {
            Ok(chain) => items.push(PathItem { key, place, chain }),
            Err(d) => diags.errors.push(d),
        }
    }
    items
}

/// A `servers` list that some operation uses, or `None` for the implicit default (`url: /`).
struct ServerList<'a> {
    place: String,
    servers: Option<&'a Value>,
}

/// Second pass: operations, merges and the servers they use.
#[derive(Default)]
struct OperationReader<'a> {
    operations: Vec<SpecOperation>,
    /// Place of the entry that created each operation (for merge and duplicate messages).
    first_places: Vec<String>,
    by_route: HashMap<(&'static str, String), usize>,
    /// Every id (operationId or `METHOD /key`) → the operation it names and where it was seen.
    ids: HashMap<String, (usize, String)>,
    server_lists: Vec<ServerList<'a>>,
    root_servers_used: bool,
}

/// One method entry of a path item: method, place and the operation object.
type MethodEntry<'a> = (&'static str, String, &'a Value);

impl<'a> OperationReader<'a> {
    fn read_path_item(
        &mut self,
        docs: &'a Docs<'_>,
        diags: &mut Diags<'_>,
        item: &PathItem<'_>,
        minor: u8,
        want_servers: bool,
    ) {
        let place = &item.place;
        let fields = docs.fields(&item.chain);
        let entries = method_entries(&fields, place, minor, diags);
        if entries.is_empty() {
            return;
        }
        let path = match template::normalize(item.key) {
            Ok(path) => path,
            Err(e) => {
                diags.error(place.clone(), e.to_string());
                return;
            }
        };
        let path_servers = non_empty(fields.iter().find(|(name, _)| *name == "servers").map(|(_, v)| *v));
        let mut path_servers_used = false;
        for (method, op_place, op) in entries {
            let Some(op) = op.as_object() else {
                diags.error(op_place, "an operation must be a mapping");
                continue;
            };
            let operation_id = match op.get("operationId") {
                None | Some(Value::Null) => None,
                Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
                Some(_) => {
                    diags.error(
                        format!("{op_place}.operationId"),
                        "operationId must be a non-empty string",
                    );
                    continue;
                }
            };
            if want_servers {
                if let Some(servers) = non_empty(op.get("servers")) {
                    self.server_lists.push(ServerList {
                        place: format!("{op_place}.servers"),
                        servers: Some(servers),
                    });
                } else if path_servers.is_some() {
                    path_servers_used = true;
                } else {
                    self.root_servers_used = true;
                }
            }
            self.add(diags, method, &path, item.key, operation_id, op_place);
        }
        if path_servers_used {
            self.server_lists.push(ServerList {
                place: format!("{place}.servers"),
                servers: path_servers,
            });
        }
    }

    /// Adds one entry: a new operation, or an alias of the one with the same (method, path).
    fn add(
        &mut self,
        diags: &mut Diags<'_>,
        method: &'static str,
        path: &str,
        key: &str,
        operation_id: Option<String>,
        place: String,
    ) {
        let existing = self.by_route.get(&(method, path.to_string())).copied();
        let index = existing.unwrap_or(self.operations.len());
        let id = operation_id.clone().unwrap_or_else(|| default_id(method, key));
        match self.ids.get(&id) {
            Some((other, _)) if *other == index => {}
            Some((other, other_place)) => {
                let (other_method, other_key) = self
                    .operations
                    .get(*other)
                    .map_or(("", ""), |o| (o.method.as_str(), o.spec_path.as_str()));
                let (what, at) = match operation_id {
                    Some(_) => ("operationId", format!("{place}.operationId")),
                    None => ("operation id", place),
                };
                diags.error(
                    at,
                    format!("{what} {id:?} is also the id of {other_method} {other_key} ({other_place})"),
                );
                return;
            }
            None => {
                self.ids.insert(id.clone(), (index, place.clone()));
            }
        }
        let Some(first) = existing.and_then(|i| self.operations.get_mut(i)) else {
            self.by_route.insert((method, path.to_string()), index);
            self.first_places.push(place);
            self.operations.push(SpecOperation {
                method: method.to_string(),
                path: path.to_string(),
                spec_path: key.to_string(),
                operation_id,
                aliases: Vec::new(),
            });
            return;
        };
        let kept = first
            .operation_id
            .clone()
            .unwrap_or_else(|| default_id(method, &first.spec_path));
        let first_place = self.first_places.get(index).map_or("", String::as_str);
        let outcome = if id == kept {
            format!("both have the id {kept:?}")
        } else {
            format!("{kept:?} is kept, {id:?} becomes an alias")
        };
        diags.warn(
            place,
            format!(
                "{method} {key} and {method} {} ({first_place}) are the same operation {method} {path} once \
                 normalized; merged: {outcome}",
                first.spec_path
            ),
        );
        if id != kept {
            first.aliases.push(id);
        }
    }
}

/// The id of an entry without operationId: `METHOD /key` as written, without its query string
/// (the same rule the catalog validation uses).
fn default_id(method: &str, key: &str) -> String {
    let path = key.split_once('?').map_or(key, |(path, _)| path);
    format!("{method} {path}")
}

/// The method fields of a path item, in document order, with warnings for fields that look like
/// methods but are not acepack operations.
fn method_entries<'a>(
    fields: &[(&'a str, &'a Value)],
    place: &str,
    minor: u8,
    diags: &mut Diags<'_>,
) -> Vec<MethodEntry<'a>> {
    let mut entries = Vec::new();
    for &(name, value) in fields {
        if let Some(&(_, method)) = METHOD_FIELDS.iter().find(|(field, _)| *field == name) {
            entries.push((method, format!("{place}.{name}"), value));
        } else if name == "query" {
            if minor >= 2 {
                entries.push(("QUERY", format!("{place}.query"), value));
            } else {
                diags.warn(
                    format!("{place}.query"),
                    format!("`query` is an OpenAPI 3.2 method; this is a 3.{minor} document, so it is ignored"),
                );
            }
        } else if name == "additionalOperations" {
            additional_operations(value, place, minor, diags, &mut entries);
        } else if METHODS.contains(&name) {
            diags.warn(
                format!("{place}.{name}"),
                format!(
                    "`{name}` is not a path item field (methods are lower-case: `{}`); ignored",
                    name.to_lowercase()
                ),
            );
        }
    }
    entries
}

/// OpenAPI 3.2 `additionalOperations`: a map of methods as sent on the wire to operations.
fn additional_operations<'a>(
    value: &'a Value,
    place: &str,
    minor: u8,
    diags: &mut Diags<'_>,
    entries: &mut Vec<MethodEntry<'a>>,
) {
    let place = format!("{place}.additionalOperations");
    if minor < 2 {
        diags.warn(
            place,
            format!("`additionalOperations` is an OpenAPI 3.2 field; ignored in a 3.{minor} document"),
        );
        return;
    }
    let Some(map) = value.as_object() else {
        diags.error(
            place,
            "`additionalOperations` must be a mapping of methods to operations",
        );
        return;
    };
    for (method, op) in map {
        let op_place = format!("{place}.{method}");
        // Methods are case-sensitive on the wire: only the exact upper-case names are standard.
        match METHODS.iter().find(|m| **m == method) {
            Some(&standard) => entries.push((standard, op_place, op)),
            None => diags.warn(
                op_place,
                format!(
                    "custom method {method:?} is not supported (acepack knows {}); no operation is generated for it",
                    METHODS.join(" ")
                ),
            ),
        }
    }
}

/// `Some(v)` unless `v` is absent, null or an empty list (which all mean "not specified").
fn non_empty(v: Option<&Value>) -> Option<&Value> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(v) => Some(v),
    }
}

/// The one base path all effective servers agree on (docs/catalog.md#base-path-and-hosts), or errors naming the servers that differ.
fn derive_base_path(lists: &[ServerList<'_>], diags: &mut Diags<'_>) -> String {
    // Distinct base paths in the order first seen: (base, URL after substitution, place).
    let mut bases: Vec<(String, String, String)> = Vec::new();
    let mut note = |base: String, url: String, place: String| {
        if !bases.iter().any(|(b, _, _)| *b == base) {
            bases.push((base, url, place));
        }
    };
    for list in lists {
        let Some(servers) = list.servers else {
            note(
                String::new(),
                "/ (the default when `servers` is absent)".to_string(),
                list.place.clone(),
            );
            continue;
        };
        let Some(servers) = servers.as_array() else {
            diags.error(list.place.clone(), "`servers` must be a list of server objects");
            continue;
        };
        for (i, server) in servers.iter().enumerate() {
            let place = format!("{}[{i}]", list.place);
            if let Some((url, base)) = server_base_path(server, &place, diags) {
                note(base, url, format!("{place}.url"));
            }
        }
    }
    // The second distinct base is where the disagreement shows; the message lists them all.
    if let Some((_, _, differing)) = bases.get(1) {
        let listed: Vec<String> = bases
            .iter()
            .map(|(base, url, place)| format!("{url:?} ({place}) gives {base:?}"))
            .collect();
        diags.errors.push(
            Diagnostic::error(
                diags.file,
                differing.clone(),
                format!("the servers disagree on the base path: {}", listed.join(", ")),
            )
            .with_hint("set `base_path` for this API in the catalog"),
        );
    }
    bases.into_iter().next().map(|(base, _, _)| base).unwrap_or_default()
}

/// The URL of one server object with its variables replaced by their defaults, and its base path.
fn server_base_path(server: &Value, place: &str, diags: &mut Diags<'_>) -> Option<(String, String)> {
    let Some(server) = server.as_object() else {
        diags.error(place, "a server must be a mapping with a `url`");
        return None;
    };
    let Some(url) = server.get("url").and_then(Value::as_str) else {
        diags.error(format!("{place}.url"), "a server needs a `url` string");
        return None;
    };
    let variables = match server.get("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(vars)) => Some(vars),
        Some(_) => {
            diags.error(format!("{place}.variables"), "`variables` must be a mapping");
            return None;
        }
    };
    let mut defaults: HashMap<&str, String> = HashMap::new();
    let mut ok = true;
    for (name, variable) in variables.into_iter().flatten() {
        // The spec requires a string; a bare YAML number (a port) is taken as written.
        match variable.get("default") {
            Some(Value::String(s)) => {
                defaults.insert(name, s.clone());
            }
            Some(Value::Number(n)) => {
                defaults.insert(name, n.to_string());
            }
            _ => {
                diags.error(
                    format!("{place}.variables.{name}"),
                    format!("server variable {name:?} has no `default` (a string), which OpenAPI requires"),
                );
                ok = false;
            }
        }
    }
    let mut resolved = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        resolved.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            diags.error(
                format!("{place}.url"),
                format!("server URL {url:?} has a '{{' without '}}'"),
            );
            return None;
        };
        let name = &after[..close];
        match defaults.get(name) {
            Some(value) => resolved.push_str(value),
            None => {
                if !variables.is_some_and(|v| v.contains_key(name)) {
                    diags.error(
                        format!("{place}.url"),
                        format!("server URL {url:?} uses variable {{{name}}}, which `variables` does not define"),
                    );
                }
                ok = false;
            }
        }
        rest = &after[close + 1..];
    }
    resolved.push_str(rest);
    if !ok {
        return None;
    }
    match template::normalize_base_path(&url_path(&resolved)) {
        Ok(base) => Some((resolved, base)),
        Err(e) => {
            diags.error(
                format!("{place}.url"),
                format!("server URL {resolved:?} has no usable base path: {e}"),
            );
            None
        }
    }
}

/// The path of an absolute (`https://h/v1`), scheme-relative (`//h/v1`) or relative (`/v1`, `v1`)
/// URL, without query or fragment. Relative references are resolved against `/`: where the
/// document will be served is unknown.
fn url_path(url: &str) -> String {
    let after_scheme = url.find("://").and_then(|i| {
        let scheme = &url[..i];
        let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        valid.then(|| &url[i + 3..])
    });
    let path = match after_scheme.or_else(|| url.strip_prefix("//")) {
        Some(authority_and_path) => authority_and_path
            .find(['/', '?', '#'])
            .map_or("", |i| &authority_and_path[i..]),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_start_matches("./");
    match path {
        "" | "." => String::new(),
        p if p.starts_with('/') => p.to_string(),
        p => format!("/{p}"),
    }
}

/// A place in one of the loaded documents: `doc` 0 is the spec itself, others are referenced files.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Loc {
    doc: usize,
    /// RFC 6901 JSON pointer.
    pointer: String,
}

/// A file pulled in by a path item `$ref`.
struct RefFile {
    /// Canonical path, to read each file once.
    file: PathBuf,
    /// How messages name it: relative to the spec's display name.
    display: String,
    value: Value,
}

/// The spec and the files its path item `$ref`s reach.
struct Docs<'a> {
    root: &'a Value,
    root_file: Option<PathBuf>,
    root_dir: PathBuf,
    display: &'a str,
    files: Vec<RefFile>,
}

impl<'a> Docs<'a> {
    fn new(root: &'a Value, path: &Path, display: &'a str) -> Self {
        Docs {
            root,
            root_file: std::fs::canonicalize(path).ok(),
            root_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            display,
            files: Vec::new(),
        }
    }

    fn value(&self, doc: usize) -> Option<&Value> {
        match doc {
            0 => Some(self.root),
            n => self.files.get(n - 1).map(|f| &f.value),
        }
    }

    fn get(&self, loc: &Loc) -> Option<&Value> {
        self.value(loc.doc)?.pointer(&loc.pointer)
    }

    fn display_of(&self, doc: usize) -> &str {
        match doc {
            0 => self.display,
            n => self.files.get(n - 1).map_or(self.display, |f| f.display.as_str()),
        }
    }

    fn dir_of(&self, doc: usize) -> &Path {
        match doc {
            0 => &self.root_dir,
            n => self
                .files
                .get(n - 1)
                .and_then(|f| f.file.parent())
                .unwrap_or(&self.root_dir),
        }
    }

    /// The fields of a path item through its `$ref` chain, first occurrence winning, in document order.
    fn fields(&self, chain: &[Loc]) -> Vec<(&str, &Value)> {
        let mut fields: Vec<(&str, &Value)> = Vec::new();
        for loc in chain {
            let Some(Value::Object(map)) = self.get(loc) else {
                continue;
            };
            for (name, value) in map {
                if name != "$ref" && (chain.len() == 1 || !fields.iter().any(|(n, _)| *n == name)) {
                    fields.push((name, value));
                }
            }
        }
        fields
    }

    /// Follows `$ref`s from `start` (a path item object) to an object without one. Iterative and
    /// bounded by [`MAX_REF_HOPS`]; a location seen twice is a cycle.
    fn resolve(&mut self, start: Loc, place: &str) -> Result<Vec<Loc>, Diagnostic> {
        let ref_place = format!("{place}.$ref");
        let mut chain = vec![start];
        let mut refs: Vec<String> = Vec::new();
        while let Some(current) = chain.last() {
            let from = current.doc;
            let reference = match self.get(current).and_then(|v| v.get("$ref")) {
                None => break,
                Some(Value::String(r)) => r.clone(),
                Some(_) => return Err(Diagnostic::error(self.display, ref_place, "$ref must be a string")),
            };
            refs.push(reference.clone());
            if refs.len() > MAX_REF_HOPS {
                return Err(Diagnostic::error(
                    self.display,
                    ref_place,
                    format!("more than {MAX_REF_HOPS} chained $refs: {}", refs.join(" → ")),
                ));
            }
            let next = self.target(from, &reference, &ref_place)?;
            if chain.contains(&next) {
                return Err(Diagnostic::error(
                    self.display,
                    ref_place,
                    format!("$ref cycle: {}", refs.join(" → ")),
                ));
            }
            match self.get(&next) {
                Some(Value::Object(_)) => chain.push(next),
                Some(_) => {
                    return Err(Diagnostic::error(
                        self.display,
                        ref_place,
                        format!("$ref {reference:?} does not point to a path item (a mapping)"),
                    ))
                }
                None => {
                    return Err(Diagnostic::error(
                        self.display,
                        ref_place,
                        format!("$ref {reference:?} points to nothing in {}", self.display_of(next.doc)),
                    ))
                }
            }
        }
        Ok(chain)
    }

    /// Where `reference`, written in document `from`, points; reads a referenced file if needed.
    fn target(&mut self, from: usize, reference: &str, place: &str) -> Result<Loc, Diagnostic> {
        let err = |message: String| Diagnostic::error(self.display, place, message);
        let (file, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let Some(pointer) = percent_decode(fragment) else {
            return Err(err(format!("$ref {reference:?} has an invalid percent-escape")));
        };
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(err(format!(
                "$ref {reference:?}: only JSON pointer fragments (#/...) are supported"
            )));
        }
        if file.is_empty() {
            return Ok(Loc { doc: from, pointer });
        }
        if file.contains("://") || file.starts_with("urn:") {
            return Err(err(format!(
                "$ref {reference:?} is remote; acepack reads only local files (save it beside the spec and refer to it by a relative path)"
            )));
        }
        let Some(relative) = percent_decode(file) else {
            return Err(err(format!("$ref {reference:?} has an invalid percent-escape")));
        };
        let wanted = self.dir_of(from).join(&relative);
        let canonical = std::fs::canonicalize(&wanted)
            .map_err(|e| err(format!("$ref {reference:?}: cannot read {}: {e}", wanted.display())))?;
        if self.root_file.as_ref() == Some(&canonical) {
            return Ok(Loc { doc: 0, pointer });
        }
        if let Some(i) = self.files.iter().position(|f| f.file == canonical) {
            return Ok(Loc { doc: i + 1, pointer });
        }
        if self.files.len() >= MAX_REF_FILES {
            return Err(err(format!(
                "$ref {reference:?}: more than {MAX_REF_FILES} referenced files"
            )));
        }
        let display = Path::new(self.display_of(from))
            .parent()
            .map_or_else(|| PathBuf::from(&relative), |dir| dir.join(&relative))
            .display()
            .to_string();
        let value = match source::load(&canonical, &display) {
            Ok(value) => value,
            Err(SourceError::Syntax(d)) => return Err(d),
            Err(e @ SourceError::Io { .. }) => return Err(err(format!("$ref {reference:?}: cannot read {e}"))),
        };
        self.files.push(RefFile {
            file: canonical,
            display,
            value,
        });
        Ok(Loc {
            doc: self.files.len(),
            pointer,
        })
    }
}

/// `~` → `~0` and `/` → `~1` (RFC 6901).
fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Decodes `%XX` escapes (a `$ref` is a URI reference); `None` on a bad escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;

    /// Writes `files` (name, text) into a fresh directory and loads the first one as `spec.yaml`.
    fn load_files(files: &[(&str, &str)], base_path: Option<&str>) -> Result<SpecApi, LoadError> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        load_spec(&dir.path().join(files[0].0), files[0].0, base_path)
    }

    fn load(text: &str) -> Result<SpecApi, LoadError> {
        load_files(&[("spec.yaml", text)], None)
    }

    /// The errors of an invalid spec.
    fn errors(text: &str) -> Vec<Diagnostic> {
        match load(text) {
            Err(LoadError::Invalid(errors)) => errors,
            Err(LoadError::Io(e)) => panic!("unexpected I/O error {e}"),
            Ok(api) => panic!("expected errors, got {api:?}"),
        }
    }

    /// Asserts there is exactly one error, at `place`, whose message contains `needle`.
    fn assert_one_error(text: &str, place: &str, needle: &str) {
        let errors = errors(text);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let e = &errors[0];
        assert_eq!((e.file.as_str(), e.place.as_str()), ("spec.yaml", place), "{e}");
        assert!(e.message.contains(needle), "{e}");
    }

    fn routes(api: &SpecApi) -> Vec<String> {
        api.operations
            .iter()
            .map(|o| format!("{} {}", o.method, o.path))
            .collect()
    }

    const PETS: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

    #[test]
    fn swagger_2_is_refused() {
        assert_one_error(
            "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n",
            "swagger",
            "Swagger 2.0",
        );
    }

    #[test]
    fn missing_openapi_field() {
        assert_one_error(
            "info: {title: t, version: '1'}\npaths: {}\n",
            "openapi",
            "missing field `openapi`",
        );
    }

    #[test]
    fn unsupported_or_unquoted_versions() {
        assert_one_error(
            "openapi: 4.0.0\npaths: {}\n",
            "openapi",
            "unsupported OpenAPI version \"4.0.0\"",
        );
        assert_one_error("openapi: 3.1\npaths: {}\n", "openapi", "must be a string");
        assert!(load("openapi: 3.2.0-rc1\n").is_ok());
    }

    #[test]
    fn bad_path_key() {
        assert_one_error(
            &format!("{PETS}paths:\n  /pets/{{id:\n    get: {{}}\n"),
            "paths./pets/{id",
            "unbalanced brace",
        );
        assert_one_error(
            &format!("{PETS}paths:\n  pets:\n    get: {{}}\n"),
            "paths.pets",
            "must start with '/'",
        );
        assert_one_error(
            &format!("{PETS}paths:\n  /a/{{x}}{{y}}:\n    get: {{}}\n"),
            "paths./a/{x}{y}",
            "more than one parameter",
        );
    }

    #[test]
    fn ref_cycle() {
        let text = format!(
            "{PETS}paths:\n  /a:\n    $ref: '#/components/pathItems/one'\ncomponents:\n  pathItems:\n    one:\n      $ref: '#/components/pathItems/two'\n    two:\n      $ref: '#/components/pathItems/one'\n"
        );
        assert_one_error(&text, "paths./a.$ref", "$ref cycle");
        assert_one_error(
            &format!("{PETS}paths:\n  /a:\n    $ref: '#/paths/~1a'\n"),
            "paths./a.$ref",
            "$ref cycle",
        );
    }

    #[test]
    fn dangling_ref() {
        let text = format!("{PETS}paths:\n  /a:\n    $ref: '#/components/pathItems/nope'\n");
        assert_one_error(&text, "paths./a.$ref", "points to nothing");
        let text = format!("{PETS}paths:\n  /a:\n    $ref: 'missing.yaml#/x'\n");
        assert_one_error(&text, "paths./a.$ref", "cannot read");
        let text = format!("{PETS}paths:\n  /a:\n    $ref: 'https://example.com/x.yaml#/x'\n");
        assert_one_error(&text, "paths./a.$ref", "remote");
    }

    #[test]
    fn server_variable_without_default() {
        let text = format!(
            "{PETS}servers:\n  - url: '{{scheme}}://h/v1'\n    variables:\n      scheme:\n        enum: [http, https]\npaths:\n  /a:\n    get: {{}}\n"
        );
        assert_one_error(&text, "servers[0].variables.scheme", "has no `default`");
        let text = format!("{PETS}servers:\n  - url: 'https://h/{{base}}'\npaths:\n  /a:\n    get: {{}}\n");
        assert_one_error(&text, "servers[0].url", "does not define");
    }

    #[test]
    fn disagreeing_servers_need_an_override() {
        let text = format!(
            "{PETS}servers:\n  - url: https://api.example.com/v1\n  - url: http://localhost:8080\npaths:\n  /a:\n    get: {{}}\n"
        );
        let errors = errors(&text);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].place, "servers[1].url");
        assert!(
            errors[0].message.contains("https://api.example.com/v1")
                && errors[0].message.contains("http://localhost:8080")
        );
        assert_eq!(
            errors[0].hint.as_deref(),
            Some("set `base_path` for this API in the catalog")
        );
        // Path-level servers that disagree with the root's, for a path that uses them.
        let text = format!(
            "{PETS}servers:\n  - url: /v1\npaths:\n  /a:\n    get: {{}}\n  /b:\n    servers:\n      - url: /v2\n    get: {{}}\n"
        );
        assert_one_error(&text, "paths./b.servers[0].url", "disagree");
        // The override wins and servers are not read at all.
        let api = load_files(&[("spec.yaml", &text)], Some("/api/")).unwrap();
        assert_eq!(api.base_path, "/api");
    }

    #[test]
    fn duplicate_operation_id() {
        let text = format!("{PETS}paths:\n  /a:\n    get: {{operationId: x}}\n  /b:\n    get: {{operationId: x}}\n");
        assert_one_error(
            &text,
            "paths./b.get.operationId",
            "also the id of GET /a (paths./a.get)",
        );
    }

    #[test]
    fn other_broken_shapes() {
        assert_one_error("openapi: 3.0.0\n", "paths", "requires");
        assert_one_error(
            &format!("{PETS}paths:\n  /a:\n    get: 3\n"),
            "paths./a.get",
            "must be a mapping",
        );
        assert_one_error(
            &format!("{PETS}paths:\n  /a:\n    get: {{operationId: 7}}\n"),
            "paths./a.get.operationId",
            "non-empty string",
        );
        assert_one_error(&format!("{PETS}paths: [1]\n"), "paths", "must be a mapping");
        assert_one_error("[1, 2]\n", "", "top level");
    }

    #[test]
    fn all_errors_are_collected() {
        let text = format!(
            "{PETS}servers:\n  - url: '{{x}}://h'\npaths:\n  /a/{{:\n    get: {{}}\n  /b:\n    $ref: '#/nope'\n  /c:\n    get: {{operationId: c}}\n  /d:\n    get: {{operationId: c}}\n"
        );
        let places: Vec<String> = errors(&text).into_iter().map(|e| e.place).collect();
        assert_eq!(
            places,
            [
                "paths./b.$ref",
                "paths./a/{",
                "paths./d.get.operationId",
                "servers[0].url"
            ]
        );
    }

    #[test]
    fn syntax_errors_are_invalid_and_missing_files_are_io() {
        match load("openapi: [3\n") {
            Err(LoadError::Invalid(errors)) => {
                assert!(errors[0].place.starts_with("line "), "{errors:?}")
            }
            other => panic!("{other:?}"),
        }
        let err = load_spec(Path::new("/nonexistent/acepack/spec.yaml"), "spec.yaml", None).unwrap_err();
        assert!(matches!(err, LoadError::Io(_)), "{err:?}");
    }

    #[test]
    fn merges_keep_the_first_and_warn() {
        let text = format!(
            "{PETS}paths:\n  /a/{{id}}:\n    get: {{operationId: first}}\n  /a/{{name}}/:\n    get: {{operationId: second}}\n    post: {{}}\n  /a/{{x}}?beta=true:\n    get: {{}}\n"
        );
        let api = load(&text).unwrap();
        assert_eq!(routes(&api), ["GET /a/{}", "POST /a/{}"]);
        let get = &api.operations[0];
        assert_eq!(get.operation_id.as_deref(), Some("first"));
        assert_eq!(get.spec_path, "/a/{id}");
        assert_eq!(get.aliases, ["second", "GET /a/{x}"]);
        assert_eq!(api.operations[1].operation_id, None);
        let places: Vec<&str> = api.warnings.iter().map(|w| w.place.as_str()).collect();
        assert_eq!(places, ["paths./a/{name}/.get", "paths./a/{x}?beta=true.get"]);
        assert!(api.warnings.iter().all(|w| w.severity == Severity::Warning));
        assert!(
            api.warnings[0].message.contains("/a/{id} (paths./a/{id}.get)"),
            "{}",
            api.warnings[0]
        );
    }

    #[test]
    fn merged_entries_with_one_id_add_no_alias() {
        // Same operationId twice, and two keys whose default ids (query dropped) coincide.
        let text = format!(
            "{PETS}paths:\n  /a:\n    get: {{operationId: same}}\n  /a/:\n    get: {{operationId: same}}\n  /b:\n    get: {{}}\n  /b?x=1:\n    get: {{}}\n"
        );
        let api = load(&text).unwrap();
        assert_eq!(routes(&api), ["GET /a", "GET /b"]);
        assert!(api.operations.iter().all(|o| o.aliases.is_empty()));
        let places: Vec<&str> = api.warnings.iter().map(|w| w.place.as_str()).collect();
        assert_eq!(places, ["paths./a/.get", "paths./b?x=1.get"]);
        assert!(
            api.warnings[0].message.contains("both have the id \"same\""),
            "{}",
            api.warnings[0]
        );
    }

    #[test]
    fn what_is_no_route_is_skipped() {
        let text = format!(
            "{PETS}paths:\n  x-internal: {{get: {{}}}}\n  '{{$request.query.url}}':\n    post: {{}}\n  /weird/^.*$:\n    parameters: []\n  /a:\n    post:\n      callbacks:\n        cb:\n          '{{$request.body#/url}}':\n            post: {{}}\nwebhooks:\n  hook:\n    post: {{}}\n"
        );
        let api = load(&text).unwrap();
        assert_eq!(routes(&api), ["POST /a"]);
        assert_eq!(api.operations[0].operation_id, None);
        assert!(api.warnings.is_empty());
    }

    #[test]
    fn query_and_additional_operations() {
        let text = "openapi: 3.2.0\npaths:\n  /search:\n    query: {operationId: search}\n    additionalOperations:\n      LINK: {}\n      TRACE: {operationId: t}\n";
        let api = load(text).unwrap();
        assert_eq!(routes(&api), ["QUERY /search", "TRACE /search"]);
        assert_eq!(api.warnings.len(), 1);
        assert_eq!(api.warnings[0].place, "paths./search.additionalOperations.LINK");
        // Before 3.2 neither is an operation.
        let api = load(&text.replace("3.2.0", "3.1.0")).unwrap();
        assert!(api.operations.is_empty());
        assert_eq!(api.warnings.len(), 2);
    }

    #[test]
    fn refs_local_escaped_and_external() {
        let files = [
            (
                "spec.yaml",
                "openapi: 3.1.0\npaths:\n  /pets:\n    $ref: 'paths/pets.yaml'\n  /pets/{id}:\n    $ref: '#/components/pathItems/pet'\n  /alias:\n    $ref: '#/paths/~1pets~1%7Bid%7D'\n    summary: local fields win\ncomponents:\n  pathItems:\n    pet:\n      get: {}\n      delete: {}\n",
            ),
            ("paths/pets.yaml", "get:\n  operationId: listPets\npost:\n  $ref: ignored\nservers:\n  - url: /v1\n"),
        ];
        let api = load_files(&files, Some("/x")).unwrap();
        assert_eq!(
            routes(&api),
            [
                "GET /pets",
                "POST /pets",
                "GET /pets/{}",
                "DELETE /pets/{}",
                "GET /alias",
                "DELETE /alias"
            ]
        );
        assert_eq!(api.operations[0].operation_id.as_deref(), Some("listPets"));
        // Without the override: /pets uses the referenced file's servers (/v1), the others the
        // implicit default "/", so the base path is ambiguous.
        match load_files(&files, None) {
            Err(LoadError::Invalid(errors)) => {
                assert_eq!(errors.len(), 1, "{errors:?}");
                assert_eq!(errors[0].place, "paths./pets.servers[0].url");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn external_ref_syntax_errors_name_that_file() {
        let files = [
            ("spec.yaml", "openapi: 3.1.0\npaths:\n  /a:\n    $ref: 'other.yaml'\n"),
            ("other.yaml", "get: [\n"),
        ];
        match load_files(&files, None) {
            Err(LoadError::Invalid(errors)) => {
                assert_eq!(errors[0].file, "other.yaml", "{errors:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn base_paths_from_servers() {
        let cases = [
            ("servers: [{url: 'https://h/v1/'}]\n", "/v1"),
            ("servers: [{url: /api}]\n", "/api"),
            ("servers: [{url: 'v2'}]\n", "/v2"),
            ("servers: [{url: 'https://h'}, {url: 'http://localhost:8080/'}]\n", ""),
            ("servers: []\n", ""),
            ("", ""),
            ("servers: [{url: '{scheme}://developer.uspto.gov/ds-api', variables: {scheme: {default: https, enum: [https, http]}}}]\n", "/ds-api"),
            ("servers: [{url: 'https://{region}.h.com:{port}/{ver}', variables: {region: {default: eu}, port: {default: 8443}, ver: {default: v3}}}]\n", "/v3"),
            ("servers: [{url: 'https://h/v1?x=1#f'}]\n", "/v1"),
        ];
        for (servers, expected) in cases {
            let text = format!("{PETS}{servers}paths:\n  /a:\n    get: {{}}\n");
            let api = load(&text).unwrap_or_else(|e| panic!("{servers}: {e:?}"));
            assert_eq!(api.base_path, expected, "{servers}");
        }
    }

    #[test]
    fn path_and_operation_servers_override_the_root() {
        // Every operation uses its own servers: the root's (which disagree) are never consulted.
        let text = format!(
            "{PETS}servers: [{{url: /unused}}]\npaths:\n  /a:\n    servers: [{{url: 'https://h/v1'}}]\n    get: {{}}\n  /b:\n    get:\n      servers: [{{url: /v1/}}]\n"
        );
        assert_eq!(load(&text).unwrap().base_path, "/v1");
        // Without operations, the root's servers decide.
        assert_eq!(
            load("openapi: 3.1.0\nservers: [{url: /v9}]\n").unwrap().base_path,
            "/v9"
        );
    }
}
