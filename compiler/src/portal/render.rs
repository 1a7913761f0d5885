//! A package specification rendered as plain HTML (docs/portal.md#what-a-page-shows): one section
//! per operation (parameters, request body, responses) and the schemas it uses. No script, no
//! renderer fetched from anywhere: the page is readable from `file://`.

use std::fmt::Write;

use serde_json::Value;

use super::pages::esc;

const METHODS: [&str; 9] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "x-query",
];

/// `#/components/<kind>/<name>` → `(kind, name)`.
fn ref_name(r: &str) -> Option<(&str, &str)> {
    r.strip_prefix("#/components/")?.split_once('/')
}

/// Follows a component `$ref` (one level is enough for parameters, bodies and responses).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(ref_name) {
        Some((kind, name)) => doc
            .get("components")
            .and_then(|c| c.get(kind))
            .and_then(|k| k.get(name.replace("~1", "/").replace("~0", "~")))
            .unwrap_or(v),
        None => v,
    }
}

/// A one-line description of a schema: `string (date)`, `array of Flight`, a link for a `$ref`.
pub fn schema_summary(s: &Value) -> String {
    if let Some((_, name)) = s.get("$ref").and_then(Value::as_str).and_then(ref_name) {
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ => String::new(),
    };
    if ty.starts_with("array") {
        if let Some(items) = s.get("items") {
            return format!("array of {}", schema_summary(items));
        }
    }
    for k in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(k).and_then(Value::as_array) {
            let parts: Vec<String> = list.iter().map(schema_summary).collect();
            return format!("{k}({})", parts.join(", "));
        }
    }
    let format = s
        .get("format")
        .and_then(Value::as_str)
        .map(|f| format!(" ({})", esc(f)))
        .unwrap_or_default();
    if ty.is_empty() {
        "any".to_owned()
    } else {
        format!("{}{format}", esc(&ty))
    }
}

fn json_block(v: &Value) -> String {
    format!(
        "<details><summary>schema</summary><pre>{}</pre></details>",
        esc(&serde_json::to_string_pretty(v).unwrap_or_default())
    )
}

fn text_block(s: &str) -> String {
    format!("<div class=\"text\">{}</div>", esc(s))
}

/// The operations of `doc`, in document order: (method, path, operation, note).
pub fn operations(doc: &Value) -> Vec<(String, String, &Value, Option<String>)> {
    let mut out = Vec::new();
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                let method = if m == "x-query" {
                    "QUERY".to_owned()
                } else {
                    m.to_ascii_uppercase()
                };
                out.push((method, path.clone(), op, None));
            }
        }
        for other in item
            .get("x-acepack-same-path-other-hosts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let method = other
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("get")
                .to_ascii_uppercase();
            let api = other.get("api").and_then(Value::as_str).unwrap_or("?");
            if let Some(op) = other.get("operation") {
                out.push((method, path.clone(), op, Some(format!("on the hosts of API {api}"))));
            }
        }
    }
    out
}

/// The HTML of every operation of `doc`, then its schemas.
pub fn spec_html(doc: &Value) -> String {
    let mut h = String::new();
    let path_params = |path: &str| {
        doc.get("paths")
            .and_then(|p| p.get(path))
            .and_then(|i| i.get("parameters"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for (i, (method, path, op, note)) in operations(doc).into_iter().enumerate() {
        let _ = write!(
            h,
            "<section class=\"op\" id=\"op-{i}\"><h3><span class=\"method m-{}\">{}</span> <code>{}</code>{}</h3>",
            esc(&method.to_ascii_lowercase()),
            esc(&method),
            esc(&path),
            note.map(|n| format!(" <small>({})</small>", esc(&n)))
                .unwrap_or_default()
        );
        if let Some(s) = op.get("summary").and_then(Value::as_str) {
            let _ = write!(h, "<p class=\"summary\">{}</p>", esc(s));
        }
        if let Some(id) = op.get("operationId").and_then(Value::as_str) {
            let _ = write!(h, "<p class=\"opid\">operationId <code>{}</code></p>", esc(id));
        }
        if op.get("deprecated") == Some(&Value::Bool(true)) {
            h.push_str("<p class=\"badge private\">deprecated</p>");
        }
        if let Some(d) = op.get("description").and_then(Value::as_str) {
            h.push_str(&text_block(d));
        }
        let mut params = path_params(&path);
        params.extend(
            op.get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        if !params.is_empty() {
            h.push_str("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>");
            for p in &params {
                let p = resolve(doc, p);
                let get = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
                let _ = write!(
                    h,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(get("name")),
                    esc(get("in")),
                    if p.get("required") == Some(&Value::Bool(true)) {
                        "yes"
                    } else {
                        "no"
                    },
                    p.get("schema").map(schema_summary).unwrap_or_default(),
                    esc(get("description"))
                );
            }
            h.push_str("</table>");
        }
        if let Some(body) = op.get("requestBody") {
            let body = resolve(doc, body);
            let required = body.get("required") == Some(&Value::Bool(true));
            let _ = write!(h, "<h4>Request body{}</h4>", if required { " (required)" } else { "" });
            if let Some(d) = body.get("description").and_then(Value::as_str) {
                h.push_str(&text_block(d));
            }
            h.push_str(&content(body.get("content")));
        }
        if let Some(responses) = op.get("responses").and_then(Value::as_object) {
            h.push_str("<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>content</th></tr>");
            for (code, r) in responses {
                let r = resolve(doc, r);
                let _ = write!(
                    h,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    esc(code),
                    esc(r.get("description").and_then(Value::as_str).unwrap_or("")),
                    content(r.get("content"))
                );
            }
            h.push_str("</table>");
        }
        h.push_str("</section>");
    }
    if let Some(schemas) = doc
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_object)
    {
        h.push_str("<h2 id=\"schemas\">Schemas</h2>");
        for (name, s) in schemas {
            let _ = write!(
                h,
                "<section class=\"schema\" id=\"schema-{0}\"><h3><code>{0}</code></h3><p>{1}</p>{2}</section>",
                esc(name),
                schema_summary(s),
                json_block(s)
            );
        }
    }
    h
}

fn content(c: Option<&Value>) -> String {
    let mut h = String::new();
    for (media, m) in c.and_then(Value::as_object).into_iter().flatten() {
        let _ = write!(h, "<div><code>{}</code>", esc(media));
        if let Some(s) = m.get("schema") {
            let _ = write!(h, ": {}{}", schema_summary(s), json_block(s));
        }
        h.push_str("</div>");
    }
    h
}
