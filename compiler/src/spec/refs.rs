//! `$ref`s inside the operations cut out of a spec: which components they reach (transitively),
//! resolving references that point elsewhere in the document, and rewriting component names.
//!
//! Only references inside the same document are followed (`#/...`): acepack reads path items from
//! other files, but a package specification is one self-contained document, so a reference into
//! another file is reported with its place and left for the author to bundle first.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// A component: its kind (`schemas`, `parameters`, ...) and name.
pub type ComponentKey = (String, String);

/// A reference that cannot be carried into the package's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefProblem {
    /// Where in the source document the reference sits (`paths./a.get.responses.200`).
    pub place: String,
    /// What is wrong with it.
    pub message: String,
}

/// Splits `#/components/<kind>/<name>` into its key (JSON-pointer escapes decoded).
pub fn component_key(reference: &str) -> Option<ComponentKey> {
    let rest = reference.strip_prefix("#/components/")?;
    let (kind, name) = rest.split_once('/')?;
    if name.contains('/') {
        return None;
    }
    Some((unescape(kind), unescape(name)))
}

fn unescape(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The component a key names in `doc`.
pub fn component<'a>(doc: &'a Value, key: &ComponentKey) -> Option<&'a Value> {
    doc.get("components")?.get(&key.0)?.get(&key.1)
}

/// Maps whose keys are names (of properties, responses, media types, ...), never keywords.
const NAME_MAPS: [&str; 18] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "responses",
    "schemas",
    "parameters",
    "headers",
    "content",
    "links",
    "callbacks",
    "paths",
    "mapping",
    "securitySchemes",
    "requestBodies",
    "encoding",
    "pathItems",
];

/// Whether `key` (under `parent`) holds data rather than description: a `$ref` key inside an
/// example or a default value is a value, not a reference.
fn is_data(parent: &str, key: &str, child: &Value) -> bool {
    if NAME_MAPS.contains(&parent) || (parent == "examples" && child.is_object()) {
        return false;
    }
    matches!(key, "example" | "enum" | "const" | "default" | "value") || (key == "examples" && child.is_array())
}

/// Replaces every reference in `value` that points into the document but not at a component
/// (`#/paths/~1pets/get/parameters/0`) by a copy of its target, so only component references are
/// left. Chains are followed up to `depth` levels.
pub fn inline_non_component(doc: &Value, value: &mut Value, place: &str, problems: &mut Vec<RefProblem>, depth: u8) {
    inline_under(doc, value, "", place, problems, depth);
}

fn inline_under(doc: &Value, value: &mut Value, parent: &str, place: &str, problems: &mut Vec<RefProblem>, depth: u8) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                if component_key(r).is_none() {
                    let r = r.clone();
                    match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
                        Some(target) if depth > 0 => {
                            let mut copy = target.clone();
                            inline_under(doc, &mut copy, parent, place, problems, depth - 1);
                            *value = copy;
                        }
                        _ => problems.push(RefProblem {
                            place: place.to_owned(),
                            message: if r.starts_with('#') {
                                format!("$ref {r:?} points at nothing in the document (or loops)")
                            } else {
                                format!(
                                    "$ref {r:?} points into another document; bundle the spec into one file first (e.g. `redocly bundle`)"
                                )
                            },
                        }),
                    }
                    return;
                }
            }
            for (k, v) in map.iter_mut() {
                if !is_data(parent, k, v) {
                    inline_under(doc, v, k, &format!("{place}.{k}"), problems, depth);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                inline_under(doc, v, parent, &format!("{place}[{i}]"), problems, depth);
            }
        }
        _ => {}
    }
}

/// Adds every component `value` refers to, directly or through other components, to `found`.
/// `discriminator.mapping` targets count as references.
pub fn collect<'a>(doc: &'a Value, value: &'a Value, found: &mut BTreeSet<ComponentKey>) {
    let mut stack = vec![("", value)];
    let mut visit = |key: ComponentKey, stack: &mut Vec<(&'a str, &'a Value)>| {
        if let Some(c) = component(doc, &key) {
            if found.insert(key) {
                stack.push(("", c));
            }
        }
    };
    while let Some((parent, v)) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    match (k.as_str(), child) {
                        ("$ref", Value::String(r)) => {
                            if let Some(key) = component_key(r) {
                                visit(key, &mut stack);
                            }
                        }
                        ("mapping", Value::Object(m)) if parent != "properties" => {
                            for key in m.values().filter_map(|r| r.as_str().and_then(component_key)) {
                                visit(key, &mut stack);
                            }
                        }
                        _ if is_data(parent, k, child) => {}
                        _ => stack.push((k.as_str(), child)),
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter().map(|i| (parent, i))),
            _ => {}
        }
    }
}

/// Rewrites component references in `value` through `names` (source key → output name).
pub fn rename(value: &mut Value, names: &HashMap<ComponentKey, String>) {
    rename_under(value, "", names);
}

fn rename_under(value: &mut Value, parent: &str, names: &HashMap<ComponentKey, String>) {
    match value {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                match (k.as_str(), &mut *child) {
                    ("$ref", Value::String(r)) => rewrite(r, names),
                    ("mapping", Value::Object(m)) if parent != "properties" => {
                        for t in m.values_mut() {
                            if let Value::String(r) = t {
                                rewrite(r, names);
                            }
                        }
                    }
                    (k, c) if is_data(parent, k, c) => {}
                    (k, c) => rename_under(c, k, names),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_under(v, parent, names)),
        _ => {}
    }
}

fn rewrite(r: &mut String, names: &HashMap<ComponentKey, String>) {
    if let Some(key) = component_key(r) {
        if let Some(new) = names.get(&key) {
            *r = format!("#/components/{}/{}", escape(&key.0), escape(new));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_transitively_and_renames() {
        let doc = json!({"components": {"schemas": {
            "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"example": {"$ref": "#/components/schemas/C"}},
            "C": {},
            "D": {"oneOf": [{"$ref": "#/components/schemas/A"}], "discriminator": {"mapping": {"x": "#/components/schemas/C"}}}
        }}});
        let mut found = BTreeSet::new();
        collect(&doc, &json!({"$ref": "#/components/schemas/A"}), &mut found);
        let names: Vec<_> = found.iter().map(|k| k.1.as_str()).collect();
        assert_eq!(names, ["A", "B"], "an example's $ref is data");
        found.clear();
        collect(&doc, &json!({"$ref": "#/components/schemas/D"}), &mut found);
        assert_eq!(found.len(), 4);
        let mut v = json!({"a": {"$ref": "#/components/schemas/A"}, "example": {"$ref": "#/components/schemas/A"}});
        let names = HashMap::from([(("schemas".into(), "A".into()), "api_A".into())]);
        rename(&mut v, &names);
        assert_eq!(
            v,
            json!({"a": {"$ref": "#/components/schemas/api_A"}, "example": {"$ref": "#/components/schemas/A"}})
        );
    }

    #[test]
    fn inlines_pointers_into_paths_and_reports_other_files() {
        let doc = json!({"paths": {"/a": {"parameters": [{"name": "x", "in": "query"}]}}});
        let mut v = json!({"p": {"$ref": "#/paths/~1a/parameters/0"}, "q": {"$ref": "other.yaml#/x"}});
        let mut problems = Vec::new();
        inline_non_component(&doc, &mut v, "here", &mut problems, 8);
        assert_eq!(v["p"], json!({"name": "x", "in": "query"}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].place, "here.q");
    }
}
