//! Path item `$ref`s: the spec and the files its references reach, JSON pointers into them, and
//! the bounded, cycle-checked resolution of a chain (limits [`super::MAX_REF_HOPS`],
//! [`super::MAX_REF_FILES`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{MAX_REF_FILES, MAX_REF_HOPS};
use crate::diag::Diagnostic;
use crate::source::{self, SourceError};

/// A place in one of the loaded documents: `doc` 0 is the spec itself, others are referenced files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Loc {
    pub(super) doc: usize,
    /// RFC 6901 JSON pointer.
    pub(super) pointer: String,
}

/// A file pulled in by a path item `$ref`.
struct RefFile {
    /// Canonical path, to read each file once.
    file: PathBuf,
    /// How messages name it: relative to the spec's display name.
    display: String,
    value: Value,
}

/// The spec and the files its path item `$ref`s reach.
pub(super) struct Docs<'a> {
    pub(super) root: &'a Value,
    root_file: Option<PathBuf>,
    root_dir: PathBuf,
    display: &'a str,
    files: Vec<RefFile>,
}

impl<'a> Docs<'a> {
    pub(super) fn new(root: &'a Value, path: &Path, display: &'a str) -> Self {
        Docs {
            root,
            root_file: std::fs::canonicalize(path).ok(),
            root_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            display,
            files: Vec::new(),
        }
    }

    fn value(&self, doc: usize) -> Option<&Value> {
        match doc {
            0 => Some(self.root),
            n => self.files.get(n - 1).map(|f| &f.value),
        }
    }

    /// The referenced files read so far (canonical paths).
    pub(super) fn files(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.files.iter().map(|f| f.file.clone())
    }

    pub(super) fn get(&self, loc: &Loc) -> Option<&Value> {
        self.value(loc.doc)?.pointer(&loc.pointer)
    }

    fn display_of(&self, doc: usize) -> &str {
        match doc {
            0 => self.display,
            n => self.files.get(n - 1).map_or(self.display, |f| f.display.as_str()),
        }
    }

    fn dir_of(&self, doc: usize) -> &Path {
        match doc {
            0 => &self.root_dir,
            n => self
                .files
                .get(n - 1)
                .and_then(|f| f.file.parent())
                .unwrap_or(&self.root_dir),
        }
    }

    /// The fields of a path item through its `$ref` chain, first occurrence winning, in document order.
    pub(super) fn fields(&self, chain: &[Loc]) -> Vec<(&str, &Value)> {
        let mut fields: Vec<(&str, &Value)> = Vec::new();
        for loc in chain {
            let Some(Value::Object(map)) = self.get(loc) else {
                continue;
            };
            for (name, value) in map {
                if name != "$ref" && (chain.len() == 1 || !fields.iter().any(|(n, _)| *n == name)) {
                    fields.push((name, value));
                }
            }
        }
        fields
    }

    /// Follows `$ref`s from `start` (a path item object) to an object without one. Iterative and
    /// bounded by [`MAX_REF_HOPS`]; a location seen twice is a cycle.
    pub(super) fn resolve(&mut self, start: Loc, place: &str) -> Result<Vec<Loc>, Diagnostic> {
        let ref_place = format!("{place}.$ref");
        let mut chain = vec![start];
        let mut refs: Vec<String> = Vec::new();
        while let Some(current) = chain.last() {
            let from = current.doc;
            let reference = match self.get(current).and_then(|v| v.get("$ref")) {
                None => break,
                Some(Value::String(r)) => r.clone(),
                Some(_) => return Err(Diagnostic::error(self.display, ref_place, "$ref must be a string")),
            };
            refs.push(reference.clone());
            if refs.len() > MAX_REF_HOPS {
                return Err(Diagnostic::error(
                    self.display,
                    ref_place,
                    format!("more than {MAX_REF_HOPS} chained $refs: {}", refs.join(" → ")),
                ));
            }
            let next = self.target(from, &reference, &ref_place)?;
            if chain.contains(&next) {
                return Err(Diagnostic::error(
                    self.display,
                    ref_place,
                    format!("$ref cycle: {}", refs.join(" → ")),
                ));
            }
            match self.get(&next) {
                Some(Value::Object(_)) => chain.push(next),
                Some(_) => {
                    return Err(Diagnostic::error(
                        self.display,
                        ref_place,
                        format!("$ref {reference:?} does not point to a path item (a mapping)"),
                    ))
                }
                None => {
                    return Err(Diagnostic::error(
                        self.display,
                        ref_place,
                        format!("$ref {reference:?} points to nothing in {}", self.display_of(next.doc)),
                    ))
                }
            }
        }
        Ok(chain)
    }

    /// Where `reference`, written in document `from`, points; reads a referenced file if needed.
    fn target(&mut self, from: usize, reference: &str, place: &str) -> Result<Loc, Diagnostic> {
        let err = |message: String| Diagnostic::error(self.display, place, message);
        let (file, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let Some(pointer) = percent_decode(fragment) else {
            return Err(err(format!("$ref {reference:?} has an invalid percent-escape")));
        };
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(err(format!(
                "$ref {reference:?}: only JSON pointer fragments (#/...) are supported"
            )));
        }
        if file.is_empty() {
            return Ok(Loc { doc: from, pointer });
        }
        if file.contains("://") || file.starts_with("urn:") {
            return Err(err(format!(
                "$ref {reference:?} is remote; acepack reads only local files (save it beside the spec and refer to it by a relative path)"
            )));
        }
        let Some(relative) = percent_decode(file) else {
            return Err(err(format!("$ref {reference:?} has an invalid percent-escape")));
        };
        let wanted = self.dir_of(from).join(&relative);
        let canonical = std::fs::canonicalize(&wanted)
            .map_err(|e| err(format!("$ref {reference:?}: cannot read {}: {e}", wanted.display())))?;
        if self.root_file.as_ref() == Some(&canonical) {
            return Ok(Loc { doc: 0, pointer });
        }
        if let Some(i) = self.files.iter().position(|f| f.file == canonical) {
            return Ok(Loc { doc: i + 1, pointer });
        }
        if self.files.len() >= MAX_REF_FILES {
            return Err(err(format!(
                "$ref {reference:?}: more than {MAX_REF_FILES} referenced files"
            )));
        }
        let display = Path::new(self.display_of(from))
            .parent()
            .map_or_else(|| PathBuf::from(&relative), |dir| dir.join(&relative))
            .display()
            .to_string();
        let value = match source::load(&canonical, &display) {
            Ok(value) => value,
            Err(SourceError::Syntax(d)) => return Err(d),
            Err(e @ SourceError::Io { .. }) => return Err(err(format!("$ref {reference:?}: cannot read {e}"))),
        };
        self.files.push(RefFile {
            file: canonical,
            display,
            value,
        });
        Ok(Loc {
            doc: self.files.len(),
            pointer,
        })
    }
}

/// `~` → `~0` and `/` → `~1` (RFC 6901).
pub(super) fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Decodes `%XX` escapes (a `$ref` is a URI reference); `None` on a bad escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
