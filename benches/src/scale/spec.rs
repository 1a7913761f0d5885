//! The OpenAPI 3.0 / 3.1 JSON document of one API: servers, path items with their parameters,
//! operations, and component schemas, so that parsing it costs what a real document costs.

use serde_json::{json, Map, Value};

use super::apis::capitalize;
use super::ApiPlan;

pub(super) fn param_names(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.push(&rest[i + 1..i + j]);
        rest = &rest[i + j + 1..];
    }
    out
}

pub(super) fn schema_json(name: &str, v31: bool) -> Value {
    let nullable_string = if v31 {
        json!({"type": ["string", "null"]})
    } else {
        json!({"type": "string", "nullable": true})
    };
    json!({
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "readOnly": true},
            "name": {"type": "string", "maxLength": 200},
            "description": nullable_string,
            "status": {"type": "string", "enum": ["active", "inactive", "archived"]},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "created_at": {"type": "string", "format": "date-time", "readOnly": true},
            "updated_at": {"type": "string", "format": "date-time", "readOnly": true}
        },
        "description": format!("A {name}.")
    })
}

pub(super) fn spec_json(api: &ApiPlan) -> Value {
    let v31 = api.openapi.starts_with("3.1");
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut tags: Vec<String> = Vec::new();
    for op in &api.ops {
        if !schemas.contains_key(&op.schema) {
            schemas.insert(op.schema.clone(), schema_json(&op.schema, v31));
        }
        if !tags.contains(&op.tag) {
            tags.push(op.tag.clone());
        }
        let item = paths.entry(op.path.clone()).or_insert_with(|| {
            let params: Vec<Value> = param_names(&op.path)
                .into_iter()
                .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
                .collect();
            if params.is_empty() {
                json!({})
            } else {
                json!({ "parameters": params })
            }
        });
        let reference = json!({"$ref": format!("#/components/schemas/{}", op.schema)});
        let mut o = Map::new();
        if let Some(id) = &op.operation_id {
            o.insert("operationId".into(), json!(id));
        }
        o.insert("summary".into(), json!(op.summary));
        o.insert("tags".into(), json!([op.tag]));
        if op.list {
            o.insert(
                "parameters".into(),
                json!([
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}}
                ]),
            );
        }
        let ok = match (op.method, op.list) {
            ("GET", true) => json!({
                "description": "A page of results",
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"data": {"type": "array", "items": reference}, "next_cursor": {"type": "string"}}
                }}}
            }),
            ("DELETE", _) | ("HEAD", _) => json!({"description": "Done"}),
            _ => json!({"description": "OK", "content": {"application/json": {"schema": reference}}}),
        };
        if matches!(op.method, "POST" | "PUT" | "PATCH") {
            o.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": reference}}}),
            );
        }
        let status = match op.method {
            "POST" if op.operation_id.as_deref().is_some_and(|id| id.starts_with("create")) => "201",
            "DELETE" => "204",
            _ => "200",
        };
        o.insert(
            "responses".into(),
            json!({
                status: ok,
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "429": {"$ref": "#/components/responses/TooManyRequests"}
            }),
        );
        if let Some(obj) = item.as_object_mut() {
            obj.insert(op.method.to_ascii_lowercase(), Value::Object(o));
        }
    }
    let mut doc = Map::new();
    doc.insert("openapi".into(), json!(api.openapi));
    doc.insert(
        "info".into(),
        json!({
            "title": format!("{} API", capitalize(&api.name)),
            "version": api.version,
            "description": format!("The {} API. Generated for acepack's scale benchmarks.", api.name),
            "contact": {"name": "API team", "email": format!("{}-api@example.com", api.name)}
        }),
    );
    if let Some(servers) = &api.servers {
        doc.insert("servers".into(), servers.clone());
    }
    doc.insert("security".into(), json!([{"apikey": []}]));
    doc.insert(
        "tags".into(),
        Value::Array(tags.iter().map(|t| json!({"name": t})).collect()),
    );
    doc.insert("paths".into(), Value::Object(paths));
    doc.insert(
        "components".into(),
        json!({
            "securitySchemes": {"apikey": {"type": "apiKey", "in": "header", "name": "apikey"}},
            "responses": {
                "Unauthorized": {"description": "No or unknown credential"},
                "TooManyRequests": {"description": "Rate limited", "headers": {"Retry-After": {"schema": {"type": "integer"}}}}
            },
            "schemas": schemas
        }),
    );
    Value::Object(doc)
}
