//! [`parse`]: a document tree into a [`Catalog`], section by section, with serde's errors
//! rewritten into located diagnostics in the catalog's vocabulary ("did you mean" included).

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Catalog, Gateway, TOP_LEVEL_KEYS, VERSION};
use crate::diag::{did_you_mean, Diagnostic};

/// Parses a catalog document tree. `file` names the catalog in diagnostics. Every structural
/// error is returned (each list element is parsed on its own so one typo does not hide the next).
pub fn parse(doc: &Value, file: &str) -> Result<Catalog, Vec<Diagnostic>> {
    let Some(map) = doc.as_object() else {
        let what = kind_of(doc);
        return Err(vec![Diagnostic::error(
            file,
            "",
            format!("a catalog is a mapping with `version: 1` at the top, not {what}"),
        )]);
    };
    let mut errors = Vec::new();
    // The version first: a catalog of another version may legitimately have keys this one lacks.
    match map.get("version") {
        None => {
            errors
                .push(Diagnostic::error(file, "version", "missing `version`").with_hint("add `version: 1` at the top"));
            return Err(errors);
        }
        Some(v) if v.as_u64() == Some(VERSION) || v.as_str() == Some("1") => {}
        Some(v) => {
            let shown = match v {
                Value::String(s) => format!("\"{s}\""),
                other => other.to_string(),
            };
            errors.push(
                Diagnostic::error(file, "version", format!("unsupported catalog version {shown}"))
                    .with_hint("this acepack reads version 1"),
            );
            return Err(errors);
        }
    }
    for key in map.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            errors.push(unknown_key(file, key, key, TOP_LEVEL_KEYS.iter().copied()));
        }
    }
    let mut catalog = Catalog {
        version: VERSION,
        ..Catalog::default()
    };
    let mut p = Parser { file, errors };
    catalog.gateway = p.section::<Gateway>(map.get("gateway"), "gateway");
    if let Some(g) = &catalog.gateway {
        if g.envoy.is_some() == g.kong.is_some() {
            p.errors.push(
                Diagnostic::error(file, "gateway", "name exactly one gateway file")
                    .with_hint("`envoy: FILE` or `kong: FILE`"),
            );
        }
    }
    catalog.enforcement = p.section(map.get("enforcement"), "enforcement").unwrap_or_default();
    catalog.auth_strategies = p.list(map.get("auth_strategies"), "auth_strategies");
    catalog.apis = p.list(map.get("apis"), "apis");
    catalog.packages = p.list(map.get("packages"), "packages");
    catalog.developers = p.list(map.get("developers"), "developers");
    catalog.teams = p.list(map.get("teams"), "teams");
    catalog.portals = p.list(map.get("portals"), "portals");
    catalog.applications = p.list(map.get("applications"), "applications");
    if p.errors.is_empty() {
        Ok(catalog)
    } else {
        Err(p.errors)
    }
}

struct Parser<'a> {
    file: &'a str,
    errors: Vec<Diagnostic>,
}

impl Parser<'_> {
    /// A mapping section; absent or null is `None`.
    fn section<T: DeserializeOwned>(&mut self, value: Option<&Value>, place: &str) -> Option<T> {
        match value {
            None | Some(Value::Null) => None,
            Some(v) => match from_value(v, place, self.file) {
                Ok(t) => Some(t),
                Err(d) => {
                    self.errors.push(d);
                    None
                }
            },
        }
    }

    /// A list section; absent or null is empty. Elements are parsed one by one.
    fn list<T: DeserializeOwned>(&mut self, value: Option<&Value>, place: &str) -> Vec<T> {
        match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match from_value(item, &format!("{place}[{i}]"), self.file) {
                        Ok(t) => out.push(t),
                        Err(d) => self.errors.push(d),
                    }
                }
                out
            }
            Some(other) => {
                self.errors.push(Diagnostic::error(
                    self.file,
                    place,
                    format!("expected a list, found {}", kind_of(other)),
                ));
                Vec::new()
            }
        }
    }
}

/// Deserializes `value` found at `place`, turning serde's error into a located diagnostic.
fn from_value<T: DeserializeOwned>(value: &Value, place: &str, file: &str) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut full = place.to_string();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => full.push_str(&format!("[{index}]")),
                serde_path_to_error::Segment::Map { key } | serde_path_to_error::Segment::Enum { variant: key } => {
                    if !full.is_empty() {
                        full.push('.');
                    }
                    full.push_str(key);
                }
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        let message = e.into_inner().to_string();
        if is_credential_place(&full) {
            return diagnose_credential(file, full, &message);
        }
        diagnose(file, full, &message)
    })
}

/// Whether `place` is inside an application's `credentials`, whose values are secrets.
fn is_credential_place(place: &str) -> bool {
    place.contains(".credentials[") || place.ends_with(".credentials")
}

/// serde's messages quote the offending value (`integer \`123456\``, `string "..."`) and unknown
/// keys by name; under `credentials` either may be a secret (a key written as a number, or as a
/// mapping key), so only the kind of mistake is reported.
fn diagnose_credential(file: &str, place: String, message: &str) -> Diagnostic {
    const FIELDS: &str = "expected one of: key, key_sha256, id";
    if message.starts_with("unknown field `") {
        // The place ends with the unknown key itself: drop it.
        let place = place
            .rsplit_once('.')
            .map_or(place.clone(), |(head, _)| head.to_string());
        return Diagnostic::error(
            file,
            place,
            "unknown key in a credential (not shown: it may be a secret)",
        )
        .with_hint(FIELDS);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return Diagnostic::error(file, place, format!("missing `{name}`"));
    }
    let expected = message
        .split_once(", expected ")
        .map(|(_, e)| plain_words(&format!("expected {e}")));
    let message = match expected {
        Some(expected) => format!("wrong type (the value is not shown: it may be a secret); {expected}"),
        None => "invalid value (not shown: it may be a secret)".to_string(),
    };
    let hint = "quote a key that looks like a number, e.g. key: \"123456\"";
    Diagnostic::error(file, place, message).with_hint(hint)
}

/// Rewrites serde's messages into the catalog's vocabulary, with "did you mean" where it helps.
fn diagnose(file: &str, place: String, message: &str) -> Diagnostic {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = split_expected(rest);
        // serde_path_to_error already ends the path with the unknown key.
        return unknown_key(file, &place, name, expected.iter().map(String::as_str));
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (name, expected) = split_expected(rest);
        let d = Diagnostic::error(file, place, format!("unknown value \"{name}\""));
        return match did_you_mean(name, expected.iter().map(String::as_str)) {
            Some(hint) => d.with_hint(hint),
            None => d.with_hint(format!("expected one of: {}", expected.join(", "))),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return Diagnostic::error(file, place, format!("missing `{name}`"));
    }
    Diagnostic::error(
        file,
        place,
        plain_words(&message.replace("invalid type: ", "wrong type: ")),
    )
}

/// serde speaks of sequences, maps and Rust struct names; catalogs have lists and mappings.
fn plain_words(message: &str) -> String {
    let mut out = message
        .replace("expected a sequence", "expected a list")
        .replace("expected a map", "expected a mapping");
    if let Some(at) = out.find("expected struct ") {
        out.truncate(at);
        out.push_str("expected a mapping");
    }
    out
}

/// `x`, expected one of `a`, `b` → ("x", ["a", "b"]). serde also says "there are no fields".
fn split_expected(rest: &str) -> (&str, Vec<String>) {
    let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
    let expected = tail.split('`').skip(1).step_by(2).map(str::to_string).collect();
    (name, expected)
}

fn unknown_key<'a>(
    file: &str,
    place: &str,
    name: &str,
    expected: impl IntoIterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let d = Diagnostic::error(file, place, format!("unknown key \"{name}\""));
    match did_you_mean(name, expected.clone()) {
        Some(hint) => d.with_hint(hint),
        None => {
            let all: Vec<&str> = expected.into_iter().collect();
            if all.is_empty() {
                d
            } else {
                d.with_hint(format!("expected one of: {}", all.join(", ")))
            }
        }
    }
}

/// "a list", "a string", ... for messages about the shape of a value.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
