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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Warning => "warning: ",
            Severity::Error => "",
        };
        write!(f, "{kind}{}", self.file)?;
        if !self.place.is_empty() {
            write!(f, ": {}", self.place)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
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
