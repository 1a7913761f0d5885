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

use std::path::Path;

use serde_json::{Map, Value};

use crate::diag::Diagnostic;
use crate::error::LoadError;
use crate::source;
use crate::template;

mod operations;
mod refs;
mod servers;

use operations::{resolve_path_items, OperationReader};
use refs::Docs;
use servers::{derive_base_path, non_empty, ServerList};

/// Longest chain of path item `$ref`s followed before giving up.
pub const MAX_REF_HOPS: usize = 32;
/// Most files (besides the spec itself) that path item `$ref`s may pull in.
pub const MAX_REF_FILES: usize = 64;

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
    /// The files read: the spec and every file its `$ref`s pulled in.
    pub files: Vec<std::path::PathBuf>,
}

/// Loads the spec at `path` (`display` names it in messages). `base_path` is the catalog's override.
///
/// An unreadable spec is [`LoadError::Io`]; everything else wrong with it (syntax, version, paths,
/// references, servers) is [`LoadError::Invalid`] with every error found, each naming its place
/// (`paths./pets/{id}.get`, `servers[1].url`, ...). With an override, `servers` are not read at all.
pub fn load_spec(path: &Path, display: &str, base_path: Option<&str>) -> Result<SpecApi, LoadError> {
    let doc = source::load(path, display)?;
    let mut docs = Docs::new(&doc, path, display);
    let mut diags = Diags {
        file: display,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut api = read_spec(&mut docs, &mut diags, base_path);
    if diags.errors.is_empty() {
        api.warnings = diags.warnings;
        api.files = std::iter::once(path.to_path_buf()).chain(docs.files()).collect();
        Ok(api)
    } else {
        Err(LoadError::Invalid(diags.errors))
    }
}

/// Errors and warnings about one spec, in the order found.
pub(crate) struct Diags<'a> {
    pub(crate) file: &'a str,
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Diags<'_> {
    pub(crate) fn error(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Diagnostic::error(self.file, place, message));
    }

    pub(crate) fn warn(&mut self, place: impl Into<String>, message: impl Into<String>) {
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
        files: Vec::new(),
    }
}

/// Reads `openapi` and returns the minor version (3.`minor`), or reports why the document is refused.
fn check_version(root: &Map<String, Value>, diags: &mut Diags<'_>) -> Option<u8> {
    let version: String = match root.get("openapi") {
        Some(Value::String(v)) => v.clone(),
        // `openapi: 3.0` unquoted is a YAML number; the version is only read for its minor.
        Some(Value::Number(n)) => {
            let written = n.to_string();
            diags.warnings.push(
                Diagnostic::warning(
                    diags.file,
                    "openapi",
                    format!("the version is the number {written}, not a string; read as \"{written}\""),
                )
                .with_hint("quote it, e.g. openapi: \"3.0.3\""),
            );
            written
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

#[cfg(test)]
mod tests;
