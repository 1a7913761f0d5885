//! OpenAPI 3.0 → 3.1 where the two differ for what a package specification carries
//! (docs/portal.md#from-openapi-30): 3.1 schemas are JSON Schema 2020-12.
//!
//! - `nullable: true` becomes `"null"` in `type` (and in `enum`, when there is one); a nullable
//!   schema without `type` (a `$ref`, `allOf`, ...) becomes `anyOf: [schema, {type: "null"}]`.
//!   `nullable: false` is dropped.
//! - `exclusiveMinimum: true` with `minimum: n` becomes `exclusiveMinimum: n` (same for maximum);
//!   `false` is dropped.
//! - `example` stays: 3.1 still accepts it (deprecated in favour of `examples`).
//!
//! Only objects that sit where a schema sits are touched (under `schema`, `schemas`, `properties`,
//! `items`, `allOf`, ...); examples and defaults are data and stay as written.

use serde_json::{json, Map, Value};

/// Keys whose value is one schema.
const SCHEMA_KEYS: [&str; 7] = [
    "schema",
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
];
/// Keys whose value is a list of schemas.
const SCHEMA_LISTS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keys whose value maps names to schemas.
const SCHEMA_MAPS: [&str; 3] = ["properties", "patternProperties", "schemas"];

/// Converts every schema inside `value` (any part of a 3.0 document) to its 3.1 form.
pub fn to_31(value: &mut Value) {
    visit_schemas(value, false, "", &mut |schema, _| convert_schema(schema));
}

/// Moves each schema `default` that contradicts the schema's own `type` (Vault's `type: string`
/// with `default: 3600`) to `x-acepack-source-default`: a 3.1 validator checks defaults, and the
/// document must stay valid. Returns the places moved, relative to `place`.
pub fn fix_defaults(value: &mut Value, place: &str, root: &Value) -> Vec<String> {
    let mut moved = Vec::new();
    visit_schemas(value, false, place, &mut |schema, at| {
        let Some(default) = schema.get("default") else { return };
        if !fits_schema(default, schema, root, 8) {
            let Value::Object(map) = schema else { return };
            if let Some(d) = map.remove("default") {
                map.insert("x-acepack-source-default".to_owned(), d);
                moved.push(at.to_owned());
            }
        }
    });
    moved
}

/// Whether `v` could be valid under `schema`, judged by `type`, `enum`, `const` and the
/// combinators (a `$ref` is given the benefit of the doubt).
fn fits_schema(v: &Value, schema: &Value, root: &Value, depth: u8) -> bool {
    let Value::Object(map) = schema else { return true };
    if let Some(r) = map.get("$ref").and_then(Value::as_str) {
        let target = r.strip_prefix('#').and_then(|p| root.pointer(p));
        if let (Some(t), true) = (target, depth > 0) {
            if !fits_schema(v, t, root, depth - 1) {
                return false;
            }
        }
    }
    let typed = match map.get("type") {
        Some(Value::String(t)) => fits(v, t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(|t| fits(v, t)),
        _ => true,
    };
    let listed = map.get("enum").and_then(Value::as_array).is_none_or(|e| e.contains(v));
    let constant = map.get("const").is_none_or(|c| c == v);
    let any = |k: &str| {
        map.get(k)
            .and_then(Value::as_array)
            .is_none_or(|bs| bs.iter().any(|b| fits_schema(v, b, root, depth.saturating_sub(1))))
    };
    let all = map
        .get("allOf")
        .and_then(Value::as_array)
        .is_none_or(|bs| bs.iter().all(|b| fits_schema(v, b, root, depth.saturating_sub(1))));
    typed && listed && constant && any("oneOf") && any("anyOf") && all
}

fn fits(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => true,
    }
}

/// Calls `f` on every schema object inside `value`, children first, with its place.
fn visit_schemas(value: &mut Value, is_schema: bool, place: &str, f: &mut impl FnMut(&mut Value, &str)) {
    match value {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let k = k.as_str();
                if matches!(k, "example" | "default" | "value")
                    || (is_schema && matches!(k, "examples" | "enum" | "const"))
                {
                    continue;
                }
                let at = format!("{place}.{k}");
                if SCHEMA_KEYS.contains(&k) {
                    visit_schemas(child, true, &at, f);
                } else if SCHEMA_LISTS.contains(&k) {
                    if let Value::Array(items) = child {
                        for (i, item) in items.iter_mut().enumerate() {
                            visit_schemas(item, true, &format!("{at}[{i}]"), f);
                        }
                    }
                } else if SCHEMA_MAPS.contains(&k) {
                    if let Value::Object(m) = child {
                        for (name, s) in m.iter_mut() {
                            visit_schemas(s, true, &format!("{at}.{name}"), f);
                        }
                    }
                } else {
                    visit_schemas(child, false, &at, f);
                }
            }
            if is_schema {
                f(value, place);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                visit_schemas(item, false, &format!("{place}[{i}]"), f);
            }
        }
        _ => {}
    }
}

/// Rewrites one schema object's 3.0-only keywords (its children are already converted).
fn convert_schema(value: &mut Value) {
    let Value::Object(map) = value else { return };
    for (flag, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(Value::Bool(on)) = map.get(flag) {
            let on = *on;
            map.remove(flag);
            if on {
                if let Some(n) = map.remove(bound) {
                    map.insert(flag.to_owned(), n);
                }
            }
        }
    }
    match map.remove("nullable") {
        Some(Value::Bool(true)) => make_nullable(value),
        Some(other @ Value::Bool(false)) => drop(other),
        Some(other) => {
            // Not a 3.0 `nullable` flag (e.g. a vendor's own use): keep it as an extension.
            map.insert("x-nullable".to_owned(), other);
        }
        None => {}
    }
}

fn make_nullable(value: &mut Value) {
    let Value::Object(map) = value else { return };
    if let Some(Value::Array(e)) = map.get_mut("enum") {
        if !e.contains(&Value::Null) {
            e.push(Value::Null);
        }
    }
    match map.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            map.insert("type".to_owned(), json!([t, "null"]));
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push(json!("null"));
            }
        }
        _ => {
            let inner = std::mem::take(map);
            let mut wrapper = Map::new();
            wrapper.insert("anyOf".to_owned(), json!([Value::Object(inner), {"type": "null"}]));
            *map = wrapper;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_31;
    use serde_json::json;

    #[test]
    fn nullable_and_exclusive_bounds() {
        let mut doc = json!({"components": {"schemas": {
            "A": {"type": "string", "nullable": true, "enum": ["a"], "example": {"nullable": true}},
            "B": {"$ref": "#/components/schemas/A", "nullable": true},
            "C": {"type": "integer", "minimum": 1, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false},
            "D": {"type": "object", "properties": {"nullable": {"type": "boolean", "nullable": false}}}
        }}});
        to_31(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["A"],
            json!({"type": ["string", "null"], "enum": ["a", null], "example": {"nullable": true}})
        );
        assert_eq!(
            s["B"],
            json!({"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "null"}]})
        );
        assert_eq!(s["C"], json!({"type": "integer", "exclusiveMinimum": 1, "maximum": 9}));
        assert_eq!(
            s["D"],
            json!({"type": "object", "properties": {"nullable": {"type": "boolean"}}})
        );
    }

    #[test]
    fn defaults_that_contradict_the_type_move_aside() {
        let mut v = json!({"schema": {"type": "object", "properties": {
            "ttl": {"type": "string", "default": 3600},
            "n": {"type": ["integer", "null"], "default": null},
            "o": {"type": "object", "default": null}
        }}});
        let moved = super::fix_defaults(&mut v, "p", &json!({}));
        assert_eq!(moved, ["p.schema.properties.ttl", "p.schema.properties.o"]);
        assert_eq!(
            v["schema"]["properties"]["ttl"],
            json!({"type": "string", "x-acepack-source-default": 3600})
        );
        assert_eq!(v["schema"]["properties"]["n"]["default"], json!(null));
    }
}
