//! Walking a parsed gateway document while remembering where we are, so every diagnostic names
//! its place (`static_resources.listeners[0].filter_chains[0]...`).

use serde_json::Value;

use crate::diag::Diagnostic;

/// A value of the document and the place it was found at.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    pub(crate) value: &'a Value,
    pub(crate) place: String,
}

impl<'a> Node<'a> {
    pub(crate) fn root(value: &'a Value) -> Self {
        Node {
            value,
            place: String::new(),
        }
    }

    /// The field `key` of an object; `None` when absent, null, or when this is not an object.
    pub(crate) fn get(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.as_object()?.get(key)?;
        if value.is_null() {
            return None;
        }
        let place = if self.place.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.place)
        };
        Some(Node { value, place })
    }

    /// Whether the object has a non-null field `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The items of a list. A single object where a list is expected counts as a one-item list:
    /// Envoy's protobuf JSON loader accepts that, and real configs rely on it.
    pub(crate) fn items(&self) -> Vec<Node<'a>> {
        match self.value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, value)| Node {
                    value,
                    place: format!("{}[{i}]", self.place),
                })
                .collect(),
            Value::Null => Vec::new(),
            _ => vec![self.clone()],
        }
    }

    /// The value as a string.
    pub(crate) fn as_str(&self) -> Option<&'a str> {
        self.value.as_str()
    }

    /// The value as a boolean (protobuf `BoolValue` wrappers may also appear as `{value: bool}`).
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(*b),
            Value::Object(_) => self.get("value").and_then(|v| v.value.as_bool()),
            _ => None,
        }
    }

    /// The value as a string, scalars rendered (numbers and booleans in hand-written YAML).
    pub(crate) fn scalar_string(&self) -> Option<String> {
        match self.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Diagnostics collected while reading one gateway file.
#[derive(Debug)]
pub(crate) struct Diags {
    file: String,
    pub(crate) list: Vec<Diagnostic>,
}

impl Diags {
    pub(crate) fn new(file: &str) -> Self {
        Diags {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, place: &str, message: impl Into<String>) {
        self.list.push(Diagnostic::error(&self.file, place, message));
    }

    pub(crate) fn error_hint(&mut self, place: &str, message: impl Into<String>, hint: impl Into<String>) {
        self.list
            .push(Diagnostic::error(&self.file, place, message).with_hint(hint));
    }

    /// A required string field; reports it when missing or not a string.
    pub(crate) fn string(&mut self, node: &Node<'_>, key: &str) -> Option<String> {
        match node.get(key) {
            Some(field) => match field.as_str() {
                Some(s) => Some(s.to_string()),
                None => {
                    self.error(&field.place, format!("`{key}` must be a string"));
                    None
                }
            },
            None => {
                self.error(&node.place, format!("missing `{key}`"));
                None
            }
        }
    }

    /// An optional string field; reports it when present but not a string.
    pub(crate) fn opt_string(&mut self, node: &Node<'_>, key: &str) -> Option<String> {
        let field = node.get(key)?;
        match field.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.error(&field.place, format!("`{key}` must be a string"));
                None
            }
        }
    }

    /// An optional list of strings; reports non-string items.
    pub(crate) fn strings(&mut self, node: &Node<'_>, key: &str) -> Vec<String> {
        let Some(field) = node.get(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in field.items() {
            match item.scalar_string() {
                Some(s) => out.push(s),
                None => self.error(&item.place, format!("`{key}` entries must be strings")),
            }
        }
        out
    }

    /// An optional boolean field; reports it when present but not a boolean.
    pub(crate) fn opt_bool(&mut self, node: &Node<'_>, key: &str) -> Option<bool> {
        let field = node.get(key)?;
        match field.as_bool() {
            Some(b) => Some(b),
            None => {
                self.error(&field.place, format!("`{key}` must be true or false"));
                None
            }
        }
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(self.list)
        }
    }
}

/// Compiles `pattern` (already anchored as the gateway anchors it), reporting failures at `place`.
pub(crate) fn compile_regex(pattern: &str, shown: &str, place: &str, diags: &mut Diags) -> Option<regex::Regex> {
    // Gateway regexes are small; the limit only keeps a hostile file from eating memory.
    match regex::RegexBuilder::new(pattern).size_limit(1 << 22).build() {
        Ok(re) => Some(re),
        Err(e) => {
            // regex's messages span several lines with a caret diagram; the last line says what is wrong.
            let text = e.to_string();
            let reason = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim();
            let reason = reason.trim_start_matches("error: ");
            diags.error(place, format!("invalid regular expression {shown:?}: {reason}"));
            None
        }
    }
}
