//! Diagnostics: every problem found in a catalog, a spec or a gateway file, with the place it was found.

use std::fmt;

/// How bad a diagnostic is. Warnings become errors under `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; does not stop a compile unless `--strict`.
    Warning,
    /// The input is invalid; nothing is written.
    Error,
}

/// One problem, located: `file: place: message (hint)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Warning or error.
    pub severity: Severity,
    /// The file the problem is in, as the user named it (catalog-relative paths resolved).
    pub file: String,
    /// Where in the file: a path like `packages[0].operations[1]`, `paths./a.get`, or `line 3 column 5`.
    /// Empty when the whole file is meant.
    pub place: String,
    /// What is wrong, naming the offending value.
    pub message: String,
    /// How to fix it, e.g. `did you mean "GET /billing"?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `file: place`.
    pub fn error(file: impl Into<String>, place: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.into(),
            place: place.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at `file: place`.
    pub fn warning(file: impl Into<String>, place: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, place, message)
        }
    }

    /// Adds a hint shown after the message.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this is an error (or a warning promoted by `strict`).
    pub fn is_error(&self, strict: bool) -> bool {
        self.severity == Severity::Error || strict
    }
}

impl fmt::Display for Diagnostic {
    /// One line; control characters from the input are shown escaped (`\u{1b}`), so a hostile
    /// name can neither break the line nor drive the terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Warning => "warning: ",
            Severity::Error => "",
        };
        write!(f, "{kind}{}", Escaped(&self.file))?;
        if !self.place.is_empty() {
            write!(f, ": {}", Escaped(&self.place))?;
        }
        write!(f, ": {}", Escaped(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, " ({})", Escaped(hint))?;
        }
        Ok(())
    }
}

/// Text with its control characters escaped.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// The longest name, id, email or version acepack accepts, in bytes. Names reach request headers
/// (`x-ace-application`), terminals and reports; none of their real uses comes near.
pub const MAX_NAME_BYTES: usize = 256;

/// The longest operation id accepted, in bytes (it is sent in `x-ace-operation-id`).
pub const MAX_OPERATION_ID_BYTES: usize = 512;

/// `value` for a message: control characters escaped and cut after 64 characters, so that a
/// hostile or huge value cannot flood the output.
pub fn shown(value: &str) -> String {
    let escaped = Escaped(value).to_string();
    let mut out: String = escaped.chars().take(64).collect();
    if escaped.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// Why a name, id or other text from the input cannot be used, if it cannot: a control character
/// (they reach terminals and request headers) or more than `max` bytes.
pub fn text_problem(what: &str, value: &str, max: usize) -> Option<String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Some(format!(
            "{what} \"{}\" contains the control character {}; remove it",
            shown(value),
            c.escape_default()
        ));
    }
    if value.len() > max {
        return Some(format!(
            "{what} \"{}\" is {} bytes long; at most {max} are accepted: shorten it",
            shown(value),
            value.len()
        ));
    }
    None
}

/// The closest candidate to `wanted`, if one is close enough to be a plausible typo.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(&wanted.to_ascii_lowercase(), &candidate.to_ascii_lowercase());
        if score >= 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean "x"?` for the closest candidate, if any.
pub fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(wanted, candidates).map(|c| format!("did you mean \"{c}\"?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["flight-billing", "routes", "flights"];
        assert_eq!(closest("flight-biling", names), Some("flight-billing"));
        assert_eq!(closest("flight", names), Some("flights"));
        assert_eq!(closest("zzz", names), None);
    }

    #[test]
    fn control_characters_are_escaped_and_long_values_cut() {
        let d = Diagnostic::error("c.yaml", "apps[0]", "name \"\u{1b}[31mx\nwarning: y\"");
        assert_eq!(d.to_string(), "c.yaml: apps[0]: name \"\\u{1b}[31mx\\nwarning: y\"");
        assert_eq!(shown(&"a".repeat(70_000)).chars().count(), 65);
        assert_eq!(shown("short"), "short");
        let p = text_problem("application name", &"a".repeat(300), MAX_NAME_BYTES).unwrap();
        assert!(p.contains("300 bytes long; at most 256"), "{p}");
        let p = text_problem("operationId", "get\u{7}x", MAX_OPERATION_ID_BYTES).unwrap();
        assert!(p.contains("control character \\u{7}"), "{p}");
    }

    #[test]
    fn renders_file_place_message_hint() {
        let d = Diagnostic::error(
            "catalog.yaml",
            "packages[0].operations[1]",
            "api \"billing\" has no operation \"GET /bilin\"",
        )
        .with_hint("did you mean \"GET /billing\"?");
        assert_eq!(
            d.to_string(),
            "catalog.yaml: packages[0].operations[1]: api \"billing\" has no operation \"GET /bilin\" (did you mean \"GET /billing\"?)"
        );
    }
}
