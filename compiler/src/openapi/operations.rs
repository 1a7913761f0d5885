//! Reading `paths`: path items through their `$ref`s, their method fields, operationIds, and the
//! merging of entries that normalize to the same (method, path) (docs/catalog.md#operations).

use std::collections::HashMap;

use acepack_filter::bundle::Method;
use serde_json::{Map, Value};

use super::refs::{escape_pointer_token, Docs, Loc};
use super::servers::{non_empty, ServerList};
use super::{Diags, SpecOperation};
use crate::template;

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

/// One `paths` entry with the chain of path item objects its `$ref`s lead through.
pub(super) struct PathItem<'a> {
    key: &'a str,
    place: String,
    chain: Vec<Loc>,
}

/// First pass over `paths`: skips what is no route and follows `$ref`s (reading referenced files).
pub(super) fn resolve_path_items<'a>(
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

/// Second pass: operations, merges and the servers they use.
#[derive(Default)]
pub(super) struct OperationReader<'a> {
    pub(super) operations: Vec<SpecOperation>,
    /// Place of the entry that created each operation (for merge and duplicate messages).
    first_places: Vec<String>,
    by_route: HashMap<(&'static str, String), usize>,
    /// Every id (operationId or `METHOD /key`) → the operation it names and where it was seen.
    ids: HashMap<String, (usize, String)>,
    pub(super) server_lists: Vec<ServerList<'a>>,
    pub(super) root_servers_used: bool,
}

/// One method entry of a path item: method, place and the operation object.
type MethodEntry<'a> = (&'static str, String, &'a Value);

impl<'a> OperationReader<'a> {
    pub(super) fn read_path_item(
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
            // Lenient where published specs are loose and nothing is decided by it: an empty
            // operationId is no operationId (the default id `METHOD /path` is used), a number
            // is taken as written.
            let operation_id = match op.get("operationId") {
                None | Some(Value::Null) => None,
                Some(Value::String(id)) if !id.trim().is_empty() => Some(id.clone()),
                Some(Value::String(_)) => {
                    diags.warn(
                        format!("{op_place}.operationId"),
                        "operationId is empty; the operation gets the id \"METHOD /path\" instead",
                    );
                    None
                }
                Some(Value::Number(n)) => {
                    diags.warn(
                        format!("{op_place}.operationId"),
                        format!("operationId is the number {n}, not a string; taken as \"{n}\""),
                    );
                    Some(n.to_string())
                }
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
