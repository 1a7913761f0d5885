//! Reading input files (catalogs, OpenAPI documents, gateway configs) as YAML or JSON into one
//! generic document tree, with I/O and syntax errors that name the file, line and column.

use std::path::Path;

use crate::diag::Diagnostic;
pub use crate::error::SourceError;

/// Inputs larger than this are refused: no real catalog, spec or route table comes close.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads `path` and parses it as YAML (JSON is YAML). `display` is how the file is named in messages.
pub fn load(path: &Path, display: &str) -> Result<serde_json::Value, SourceError> {
    let io = |message: String| SourceError::Io {
        path: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
    if meta.is_dir() {
        return Err(io("is a directory, not a file".into()));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(io(format!(
            "{} bytes is larger than the {MAX_INPUT_BYTES}-byte limit",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
    parse(&bytes, display)
}

/// Parses YAML or JSON text into a document tree. Duplicate mapping keys are errors.
pub fn parse(bytes: &[u8], display: &str) -> Result<serde_json::Value, SourceError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        SourceError::Syntax(Diagnostic::error(
            display,
            format!("byte {}", e.valid_up_to()),
            "file is not valid UTF-8",
        ))
    })?;
    // JSON first: it is exact about numbers and far faster on multi-megabyte specs.
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        if let Ok(v) = serde_json::from_str(trimmed) {
            return Ok(v);
        }
    }
    serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| {
        let full = e.to_string();
        // serde-saphyr renders "error: line L column C: message\n --> snippet"; keep the first line.
        let first = full
            .lines()
            .next()
            .unwrap_or("invalid YAML")
            .trim_start_matches("error: ");
        let (place, message) = match first.split_once(": ") {
            Some((place, message)) if place.starts_with("line ") => (place.to_string(), message.to_string()),
            _ => (String::new(), first.to_string()),
        };
        SourceError::Syntax(Diagnostic::error(display, place, message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_syntax_errors_carry_line_and_column() {
        let err = parse(b"a: [1,\nb: 2\n", "c.yaml").unwrap_err();
        let SourceError::Syntax(d) = err else {
            panic!("expected a syntax error")
        };
        assert_eq!(d.file, "c.yaml");
        assert!(d.place.starts_with("line 1 column"), "{d}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        assert!(parse(b"a: 1\na: 2\n", "c.yaml").is_err());
    }

    #[test]
    fn json_and_yaml_give_the_same_tree() {
        let a = parse(br#"{"a": [1, "x"], "b": {"200": null}}"#, "a.json").unwrap();
        let b = parse(b"a: [1, x]\nb:\n  200: ~\n", "b.yaml").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = load(Path::new("/nonexistent/acepack/x.yaml"), "x.yaml").unwrap_err();
        assert!(matches!(err, SourceError::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/acepack/x.yaml"));
    }
}
