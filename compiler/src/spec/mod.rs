//! A package's OpenAPI 3.1 specification (docs/portal.md#the-package-specification): exactly the
//! package's operations, cut out of its APIs' documents and merged into one.
//!
//! Nothing is parsed twice: the operations, their ids and the spec path keys they came from are the
//! validated [`Model`]'s (exclusions and merged aliases applied); the operation objects themselves
//! are copied from the same generic document tree [`crate::source`] reads. Steps, per operation in
//! package order: take `paths.<key>.<method>` (following a path item `$ref` inside the document),
//! inline references that point elsewhere than `components`, convert 3.0 schemas to 3.1
//! ([`convert`]), then copy the components reached transitively ([`refs`]), renaming on clashes
//! between APIs, and add servers, security schemes and rate limits ([`describe`]).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::catalog::{self, Catalog};
use crate::diag::{did_you_mean, Diagnostic};
use crate::error::LoadError;
use crate::model::{Model, Package};
use crate::source::{self, SourceError};
use crate::validate::load_model;

pub mod convert;
pub mod describe;
pub mod refs;

/// How many `$ref` hops are followed when inlining a reference that is not a component.
const INLINE_DEPTH: u8 = 16;

/// The validated catalog with what the model leaves out (portals, teams).
#[derive(Debug)]
pub struct Inputs {
    /// The validated model.
    pub model: Model,
    /// The parsed catalog (portals, publications, teams).
    pub catalog: Catalog,
    /// The catalog's folder: spec paths are relative to it.
    pub dir: PathBuf,
}

/// Loads and validates a catalog for `spec` and `portal`.
pub fn load(path: &Path) -> Result<Inputs, LoadError> {
    let model = load_model(path)?;
    let file = path.display().to_string();
    let doc = source::load(path, &file).map_err(|e| match e {
        SourceError::Syntax(d) => LoadError::Invalid(vec![d]),
        io => LoadError::Io(io),
    })?;
    let catalog = catalog::parse(&doc, &file).map_err(LoadError::Invalid)?;
    Ok(Inputs {
        model,
        catalog,
        dir: path.parent().unwrap_or(Path::new("")).to_path_buf(),
    })
}

/// Why a package specification could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// No package has this id.
    #[error("no package {id:?} in the catalog{}", hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownPackage {
        /// The id asked for.
        id: String,
        /// A "did you mean" hint.
        hint: Option<String>,
    },
    /// A spec file could not be read again (exit status 2).
    #[error("{0}")]
    Source(SourceError),
    /// Parts of a spec cannot be carried into one document (exit status 1).
    #[error("{} error(s)", .0.len())]
    Invalid(Vec<Diagnostic>),
}

/// One API's source document, read once.
struct SourceDoc {
    display: String,
    doc: Option<Value>,
    is_30: bool,
}

/// A package's specification and what was changed to make it valid.
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// The OpenAPI 3.1 document.
    pub document: Value,
    /// Changes worth knowing (defaults moved aside), each naming its source place.
    pub warnings: Vec<Diagnostic>,
}

/// The package `id`'s OpenAPI 3.1 document.
pub fn package_spec(inputs: &Inputs, id: &str) -> Result<PackageSpec, SpecError> {
    let model = &inputs.model;
    let Some(package) = model.packages.iter().find(|p| p.id == id) else {
        return Err(SpecError::UnknownPackage {
            id: id.to_owned(),
            hint: did_you_mean(id, model.packages.iter().map(|p| p.id.as_str())),
        });
    };
    spec_for(inputs, package)
}

/// A published API seen as a package: all its operations, no ACE limit (an API grant charges
/// none), on the portals that publish the API.
pub fn api_as_package(inputs: &Inputs, api: usize) -> Package {
    let a = &inputs.model.apis[api];
    Package {
        id: a.name.clone(),
        name: a.name.clone(),
        version: a.version.clone(),
        limits: Vec::new(),
        operations: a
            .operations
            .clone()
            .map(|operation| crate::model::PackageOperation {
                operation,
                limits: None,
            })
            .collect(),
        portals: inputs
            .catalog
            .portals
            .iter()
            .filter(|p| p.publications.iter().any(|x| x.api.as_deref() == Some(a.name.as_str())))
            .map(|p| p.name.clone())
            .collect(),
    }
}

/// The OpenAPI 3.1 document of `package` (one of the model's, or [`api_as_package`]).
pub fn spec_for(inputs: &Inputs, package: &Package) -> Result<PackageSpec, SpecError> {
    let model = &inputs.model;
    let mut sources: HashMap<usize, SourceDoc> = HashMap::new();
    let mut api_order: Vec<usize> = Vec::new();
    for po in &package.operations {
        let api = model.operations[po.operation].api;
        if !api_order.contains(&api) {
            api_order.push(api);
        }
    }
    for &a in &api_order {
        let api = &model.apis[a];
        let src = match &api.spec {
            Some(spec) => {
                let full = inputs.dir.join(spec);
                let display = full.display().to_string();
                let doc = source::load(&full, &display).map_err(SpecError::Source)?;
                let is_30 = doc
                    .get("openapi")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("3.0"));
                SourceDoc {
                    display,
                    doc: Some(doc),
                    is_30,
                }
            }
            None => SourceDoc {
                display: inputs.catalog_display(),
                doc: None,
                is_30: false,
            },
        };
        sources.insert(a, src);
    }

    // Cut the operations out, with non-component references inlined.
    let mut problems = Vec::new();
    let mut cut: Vec<Cut> = Vec::new();
    for po in &package.operations {
        let op = &model.operations[po.operation];
        let src = &sources[&op.api];
        let (mut operation, mut path_params) = match &src.doc {
            Some(doc) => match source_operation(doc, &op.spec_path, &op.method) {
                Ok(found) => found,
                Err(message) => {
                    problems.push(Diagnostic::error(
                        &src.display,
                        format!("paths.{}", op.spec_path),
                        message,
                    ));
                    continue;
                }
            },
            None => (manual_operation(&op.spec_path, &op.id), None),
        };
        let place = format!("paths.{}.{}", op.spec_path, op.method.to_ascii_lowercase());
        let mut ref_problems = Vec::new();
        if let Some(doc) = &src.doc {
            refs::inline_non_component(doc, &mut operation, &place, &mut ref_problems, INLINE_DEPTH);
            if let Some(p) = path_params.as_mut() {
                refs::inline_non_component(
                    doc,
                    p,
                    &format!("paths.{}.parameters", op.spec_path),
                    &mut ref_problems,
                    INLINE_DEPTH,
                );
            }
        }
        problems.extend(
            ref_problems
                .into_iter()
                .map(|p| Diagnostic::error(&src.display, p.place, p.message)),
        );
        cut.push(Cut {
            operation: po.operation,
            limits: po.limits.clone(),
            object: operation,
            path_params,
        });
    }
    if !problems.is_empty() {
        return Err(SpecError::Invalid(problems));
    }

    let mut warnings = Vec::new();
    // Components: what each API's operations reach, named so that APIs cannot collide.
    let mut names: HashMap<usize, HashMap<refs::ComponentKey, String>> = HashMap::new();
    let mut taken: BTreeSet<(String, String)> = BTreeSet::new();
    let mut components: Map<String, Value> = Map::new();
    for &a in &api_order {
        let Some(doc) = &sources[&a].doc else { continue };
        let mut reached = BTreeSet::new();
        for c in cut.iter().filter(|c| model.operations[c.operation].api == a) {
            refs::collect(doc, &c.object, &mut reached);
            if let Some(p) = &c.path_params {
                refs::collect(doc, p, &mut reached);
            }
        }
        let api_names = names.entry(a).or_default();
        for key in &reached {
            let mut name = key.1.clone();
            if taken.contains(&(key.0.clone(), name.clone())) {
                name = format!("{}_{}", model.apis[a].name, key.1);
                let mut n = 2;
                while taken.contains(&(key.0.clone(), name.clone())) {
                    name = format!("{}_{}_{n}", model.apis[a].name, key.1);
                    n += 1;
                }
            }
            taken.insert((key.0.clone(), name.clone()));
            api_names.insert(key.clone(), name);
        }
        for key in &reached {
            let mut value = refs::component(doc, key).cloned().unwrap_or(Value::Null);
            refs::rename(&mut value, api_names);
            if sources[&a].is_30 {
                if key.0 == "schemas" {
                    let mut wrapper = json!({"schemas": {"x": value}});
                    convert::to_31(&mut wrapper);
                    value = wrapper["schemas"]["x"].take();
                } else {
                    convert::to_31(&mut value);
                }
            }
            let kind = components.entry(key.0.clone()).or_insert_with(|| json!({}));
            kind[&api_names[key]] = value;
        }
    }

    let strategies = describe::accepted_strategies(model, &inputs.catalog, package);
    let (schemes, security, auth) = describe::security(&strategies);
    let mut document = assemble(
        inputs, package, &api_order, &sources, cut, &names, components, schemes, security, auth,
    )?;
    // Last, on the whole document, so `$ref`s resolve to the components as named here.
    let root = document.clone();
    for at in convert::fix_defaults(&mut document, "", &root) {
        warnings.push(moved_default(
            &format!("package {}", package.id),
            at.trim_start_matches('.').to_owned(),
        ));
    }
    Ok(PackageSpec { document, warnings })
}

fn moved_default(file: &str, place: String) -> Diagnostic {
    Diagnostic::warning(
        file,
        place,
        "the schema's `default` is not valid under the schema itself; the package specification keeps it as `x-acepack-source-default`",
    )
}

/// One operation cut out of its spec.
struct Cut {
    operation: usize,
    limits: Option<Vec<crate::model::Limit>>,
    object: Value,
    path_params: Option<Value>,
}

impl Inputs {
    fn catalog_display(&self) -> String {
        self.model.catalog.clone()
    }
}

/// An operation the catalog lists by hand (no spec): its id, its path parameters (strings, as the
/// gateway matches any non-empty segment) and a default response.
fn manual_operation(path: &str, id: &str) -> Value {
    let mut params = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + len];
        if !name.is_empty() && !params.iter().any(|p: &Value| p["name"] == name) {
            params.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
        }
        rest = &rest[start + len..];
    }
    let mut op = json!({
        "summary": id,
        "responses": {"default": {"description": "as the upstream answers (the catalog lists this operation without a specification)"}},
    });
    if !params.is_empty() {
        op["parameters"] = Value::from(params);
    }
    op
}

/// `paths.<key>.<method>` and the path item's own `parameters`, following a path item `$ref`
/// inside the document.
fn source_operation(doc: &Value, key: &str, method: &str) -> Result<(Value, Option<Value>), String> {
    let mut item = doc
        .get("paths")
        .and_then(|p| p.get(key))
        .ok_or_else(|| "the path is gone from the document".to_owned())?;
    let mut hops = 0;
    while let Some(r) = item.get("$ref").and_then(Value::as_str) {
        hops += 1;
        item = r
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .filter(|_| hops <= INLINE_DEPTH)
            .ok_or_else(|| {
                format!("the path item $ref {r:?} is not inside this document; bundle the spec into one file first")
            })?;
    }
    let field = method.to_ascii_lowercase();
    let operation = item
        .get(&field)
        .or_else(|| item.get("additionalOperations").and_then(|a| a.get(method)))
        .ok_or_else(|| format!("no `{field}` operation in the path item"))?;
    let params = item
        .get("parameters")
        .filter(|p| p.as_array().is_some_and(|a| !a.is_empty()))
        .cloned();
    Ok((operation.clone(), params))
}

/// Source-only fields dropped from each operation: acepack's own security and servers replace them.
const DROPPED: [&str; 2] = ["security", "servers"];

#[allow(clippy::too_many_arguments)]
fn assemble(
    inputs: &Inputs,
    package: &Package,
    api_order: &[usize],
    sources: &HashMap<usize, SourceDoc>,
    cut: Vec<Cut>,
    names: &HashMap<usize, HashMap<refs::ComponentKey, String>>,
    mut components: Map<String, Value>,
    schemes: Map<String, Value>,
    security: Vec<Value>,
    auth: Value,
) -> Result<Value, SpecError> {
    let model = &inputs.model;
    let empty = HashMap::new();
    let mut paths = Map::new();
    let mut op_ids: HashMap<String, usize> = HashMap::new();
    let mut tags_used: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    let several_hosts = api_order
        .iter()
        .map(|&a| &model.apis[a].hosts)
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    for c in cut {
        let op = &model.operations[c.operation];
        let api = &model.apis[op.api];
        let src = &sources[&op.api];
        let api_names = names.get(&op.api).unwrap_or(&empty);
        let mut object = c.object;
        refs::rename(&mut object, api_names);
        let mut path_params = c.path_params;
        if let Some(p) = path_params.as_mut() {
            refs::rename(p, api_names);
        }
        if src.is_30 {
            convert::to_31(&mut object);
            if let Some(p) = path_params.as_mut() {
                convert::to_31(p);
            }
        }
        let Value::Object(map) = &mut object else {
            problems.push(Diagnostic::error(
                &src.display,
                format!("paths.{}", op.spec_path),
                "the operation is not a mapping",
            ));
            continue;
        };
        for f in DROPPED {
            map.remove(f);
        }
        // operationIds must be unique in the document: a clash between APIs takes the API's prefix.
        let wanted = map.get("operationId").and_then(Value::as_str).map(str::to_owned);
        if let Some(id) = wanted {
            let unique = if op_ids.contains_key(&id) {
                format!("{}_{id}", api.name)
            } else {
                id
            };
            op_ids.insert(unique.clone(), op.api);
            map.insert("operationId".into(), json!(unique));
        }
        for t in map
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !tags_used.iter().any(|u| u == t) {
                tags_used.push(t.to_owned());
            }
        }
        let (limit, sentence) = describe::operation_limit(package, c.limits.as_deref());
        let description = match map.get("description").and_then(Value::as_str) {
            Some(d) if !d.is_empty() => format!("{d}\n\n{sentence}"),
            _ => sentence,
        };
        map.insert("description".into(), json!(description));
        map.insert("x-acepack-rate-limit".into(), limit);
        map.insert("x-acepack-operation".into(), json!({"api": api.name, "id": op.id}));

        let key = format!(
            "{}{}",
            api.base_path,
            if op.spec_path == "/" && !api.base_path.is_empty() {
                ""
            } else {
                &op.spec_path
            }
        );
        let key = if key.is_empty() { "/".to_owned() } else { key };
        let item = paths.entry(key.clone()).or_insert_with(|| json!({}));
        let method = op.method.to_ascii_lowercase();
        let field = if op.method == "QUERY" {
            "x-query".to_owned()
        } else {
            method
        };
        if item.get(&field).is_some() {
            // The same method and path from another API of the package (on other hosts): one
            // OpenAPI path item cannot hold both, so the later one is described beside it.
            if let Some(p) = &path_params {
                let mut own = map
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                own.extend(
                    p.as_array()
                        .into_iter()
                        .flatten()
                        .filter(|x| !own.contains(x))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                if !own.is_empty() {
                    map.insert("parameters".into(), Value::from(own));
                }
            }
            let also = item
                .as_object_mut()
                .map(|m| m.entry("x-acepack-same-path-other-hosts").or_insert_with(|| json!([])));
            if let Some(Value::Array(list)) = also {
                list.push(json!({
                    "api": api.name,
                    "method": field,
                    "servers": describe::servers(&api.name, &api.hosts, &api.base_path, src.doc.as_ref()),
                    "operation": object,
                }));
            }
            continue;
        }
        match (&path_params, item.get("parameters")) {
            (Some(p), None) if item.as_object().is_some_and(Map::is_empty) => item["parameters"] = p.clone(),
            (Some(p), existing) if existing != Some(p) => {
                // The same path from another API with other path-level parameters: carry them on
                // the operation instead.
                let mut own = map
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for x in p.as_array().into_iter().flatten() {
                    if !own.contains(x) {
                        own.push(x.clone());
                    }
                }
                map.insert("parameters".into(), Value::from(own));
            }
            _ => {}
        }
        if several_hosts || !api.hosts.is_empty() {
            item["servers"] = Value::from(describe::servers(
                &api.name,
                &api.hosts,
                &api.base_path,
                src.doc.as_ref(),
            ));
        }
        item[&field] = object;
    }
    if !problems.is_empty() {
        return Err(SpecError::Invalid(problems));
    }

    let mut servers: Vec<Value> = Vec::new();
    let mut tags: Vec<Value> = Vec::new();
    for &a in api_order {
        let api = &model.apis[a];
        for s in describe::servers(&api.name, &api.hosts, &api.base_path, sources[&a].doc.as_ref()) {
            if !servers.iter().any(|x| x["url"] == s["url"]) {
                servers.push(s);
            }
        }
        for t in sources[&a]
            .doc
            .as_ref()
            .and_then(|d| d.get("tags"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = t.get("name").and_then(Value::as_str) else {
                continue;
            };
            if tags_used.iter().any(|u| u == name) && !tags.iter().any(|x| x["name"] == name) {
                // Only the fields 3.1 knows (3.2 adds summary, parent, kind).
                let mut tag = Map::new();
                for (k, v) in t.as_object().into_iter().flatten() {
                    if matches!(k.as_str(), "name" | "description" | "externalDocs") || k.starts_with("x-") {
                        tag.insert(k.clone(), v.clone());
                    }
                }
                tags.push(Value::Object(tag));
            }
        }
    }
    if !schemes.is_empty() {
        components.insert("securitySchemes".into(), Value::Object(schemes));
    }
    let apis: Vec<Value> = api_order
        .iter()
        .map(|&a| {
            let api = &model.apis[a];
            json!({"name": api.name, "version": api.version, "base_path": api.base_path, "hosts": api.hosts})
        })
        .collect();
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": package.name,
            "version": package.version,
            "description": format!(
                "The operations of package `{}` ({} of them), as a client calls them through the gateway. Rate limit: {} per application. Generated by acepack from the catalog; every operation states its own limit in `x-acepack-rate-limit`.",
                package.id, package.operations.len(), describe::limits_text(&package.limits)
            ),
        },
        "servers": servers,
        "paths": paths,
        "x-acepack-package": {
            "id": package.id,
            "rate_limit": package.limits.iter().map(describe::limit_text).collect::<Vec<_>>(),
            "apis": apis,
            "auth_strategies": auth,
        },
    });
    if !tags.is_empty() {
        doc["tags"] = Value::from(tags);
    }
    if !security.is_empty() {
        doc["security"] = Value::from(security);
    }
    if !components.is_empty() {
        doc["components"] = Value::Object(components);
    }
    Ok(doc)
}
