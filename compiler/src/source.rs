//! Reading input files (catalogs, OpenAPI documents, gateway configs, bundles) safely, and parsing
//! YAML or JSON into one generic document tree, with errors that name the file, line and column.
//!
//! # What is refused, and why
//!
//! - **Anything that is not a regular file** (a directory, FIFO, socket, or device such as
//!   `/dev/zero`): the file is opened non-blocking, so a FIFO cannot hang the compiler, and its
//!   type is checked on the opened descriptor (no race between a check and the open).
//! - **More than [`MAX_INPUT_BYTES`]**, counted while reading (a file's reported size is not
//!   trusted: devices and `/proc` files report 0).
//! - **Duplicate mapping keys**, in JSON exactly as in YAML: `{"status": "revoked", "status":
//!   "approved"}` is an error, not "the last one wins".
//! - **Documents that expand beyond [`MAX_EXPANDED_BYTES`]**. YAML aliases (`*ref`) replay
//!   what an anchor holds, so a small file can describe a huge tree ("billion laughs"). The tree
//!   is built by [`Builder`], which charges every node and string byte against that budget as
//!   it arrives, so memory stays bounded whatever the aliases do.
//!
//! # The YAML parser's budget
//!
//! serde-saphyr's default budget (250,000 nodes, 1,000,000 events) rejects real catalogs (30,000
//! applications, 100,000 operation entries). Without aliases every node costs at least one byte
//! of input, so the node and event limits are raised to follow the input's length (never below
//! the library's defaults). Nodes replayed from aliases count against the same limits, so alias
//! expansion stays bounded by the file's own size, besides the library's alias limits (at most
//! 1,000,000 replayed events; beyond 100 aliases, at most ten per anchor) and
//! [`MAX_EXPANDED_BYTES`] above.
//! Nesting is limited to [`MAX_DEPTH`] levels, as serde_json does for JSON.

use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::diag::Diagnostic;
pub use crate::error::SourceError;

/// Inputs larger than this are refused: no real catalog, spec or route table comes close.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// The most a parsed document may weigh (nodes count 32 bytes each, strings their length), aliases
/// expanded: 1 GiB, which an alias-free input within [`MAX_INPUT_BYTES`] does not reach.
pub const MAX_EXPANDED_BYTES: usize = 16 * MAX_INPUT_BYTES as usize;

/// The deepest nesting of mappings and lists accepted (serde_json's own limit for JSON).
pub const MAX_DEPTH: usize = 128;

/// Reads `path` whole, refusing what is not a regular file and more than `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, SourceError> {
    let io = |message: String| SourceError::Io {
        path: path.to_path_buf(),
        message,
    };
    // Non-blocking: opening a FIFO for reading must not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| io(e.to_string()))?;
    let meta = file.metadata().map_err(|e| io(e.to_string()))?;
    if !meta.is_file() {
        return Err(io(format!("is {}, not a regular file; name a file", file_kind(&meta))));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len().min(limit)).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(io(format!("is larger than the {limit}-byte limit for inputs")));
    }
    Ok(bytes)
}

/// "a directory", "a FIFO", ... for messages about a path that is not a regular file.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Reads `path` and parses it as YAML (JSON is YAML). `display` is how the file is named in messages.
pub fn load(path: &Path, display: &str) -> Result<Value, SourceError> {
    let bytes = read_regular(path, MAX_INPUT_BYTES)?;
    parse(&bytes, display)
}

/// Parses YAML or JSON text into a document tree. Duplicate mapping keys are errors.
pub fn parse(bytes: &[u8], display: &str) -> Result<Value, SourceError> {
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
        let budget = Cell::new(MAX_EXPANDED_BYTES);
        let mut de = serde_json::Deserializer::from_str(trimmed);
        let builder = Builder { budget: &budget };
        match builder.deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
            Ok(v) => return Ok(v),
            // A duplicate key or an oversized document is an error of its own, not a hint that
            // the text is YAML after all.
            Err(e) if is_ours(&e.to_string()) => {
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message).to_string();
                return Err(SourceError::Syntax(Diagnostic::error(
                    display,
                    format!("line {} column {}", e.line(), e.column()),
                    message,
                )));
            }
            Err(_) => {}
        }
    }
    let budget = Cell::new(MAX_EXPANDED_BYTES);
    serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(text.len()), |de| {
        Builder { budget: &budget }.deserialize(de)
    })
    .map_err(|e| {
        let place = e
            .location()
            .map(|l| format!("line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        let full = e.to_string();
        // The message, without the location serde-saphyr appends (" at line L, column C ...").
        let first = full
            .lines()
            .next()
            .unwrap_or("invalid YAML")
            .trim_start_matches("error: ");
        let message = first.split(" at line ").next().unwrap_or(first);
        SourceError::Syntax(Diagnostic::error(display, place, plain_yaml_message(message)))
    })
}

/// The parser options: see the module documentation for the budget.
fn yaml_options(input_len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // Every node and event costs at least one byte of input (plus one document's framing).
    let per_input = input_len.saturating_add(1024);
    budget.max_nodes = budget.max_nodes.max(per_input);
    budget.max_events = budget.max_events.max(per_input.saturating_mul(2));
    budget.max_depth = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.with_snippet = false;
    options
}

/// Error messages of our own, which must not be mistaken for "not JSON, try YAML".
const DUPLICATE: &str = "duplicate key";
const TOO_LARGE: &str = "the document is too large once parsed";

fn is_ours(message: &str) -> bool {
    message.starts_with(DUPLICATE) || message.starts_with(TOO_LARGE) || message.starts_with("non-finite")
}

/// serde-saphyr speaks to programmers ("set DuplicateKeyPolicy in Options", "budget breached");
/// these are its messages in terms of the file, each saying what to change.
fn plain_yaml_message(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or("")
            .trim_start_matches(": ")
            .trim();
        return if key.is_empty() {
            format!("{DUPLICATE}: a key may appear only once in a mapping; remove or rename one of them")
        } else {
            format!("{DUPLICATE} \"{key}\": a key may appear only once in a mapping; remove or rename one of them")
        };
    }
    if let Some(breach) = message.strip_prefix("budget breached: ") {
        let what = breach.split([' ', '{']).next().unwrap_or(breach);
        return match what {
            "Depth" => format!("nested more than {MAX_DEPTH} levels deep; flatten the document"),
            "Aliases" | "Anchors" | "AliasAnchorRatio" => format!(
                "too many YAML aliases or anchors ({breach}); write the repeated parts out instead of using *aliases"
            ),
            // Without aliases a node costs at least a byte of input and the limits follow the
            // input's size, so only alias expansion gets here.
            "Nodes" | "Events" => "YAML aliases expand to more nodes than the file has bytes; write the repeated parts out instead of using *aliases".to_string(),
            _ => format!("the document exceeds the YAML parser's limits ({breach}); split it or write it as JSON"),
        };
    }
    if message.contains("alias replay limit exceeded") || message.contains("total_replayed_events") {
        return "YAML aliases expand to more than 1,000,000 nodes; write the repeated parts out instead of using *aliases"
            .to_string();
    }
    if message.starts_with("multiple YAML documents detected") {
        return "the file holds more than one YAML document (a second `---`); keep one document per file".to_string();
    }
    if message.contains("merge keys are not allowed") {
        return "YAML merge keys (<<) are not supported here; write the keys out".to_string();
    }
    if message.contains("rejected by the configured policy") {
        return format!("{message}; quote the value if it is meant as text")
            .replace("rejected by the configured policy", "is not a number acepack accepts");
    }
    message.to_string()
}

/// Builds a [`Value`] from any deserializer, refusing duplicate keys and charging every node and
/// string byte against `budget` as it arrives (so alias expansion cannot exhaust memory).
struct Builder<'b> {
    budget: &'b Cell<usize>,
}

impl Builder<'_> {
    fn charge<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        let cost = bytes.saturating_add(32);
        match self.budget.get().checked_sub(cost) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(E::custom(format!(
                "{TOO_LARGE} (more than {MAX_EXPANDED_BYTES} bytes with YAML aliases expanded); write repeated parts out instead of using *aliases, or split the file"
            ))),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Builder<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Builder<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.charge(0)?;
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number (.nan or .inf); quote it if it is meant as text"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Builder { budget: self.budget })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.charge(key.len())?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "{DUPLICATE} \"{}\": a key may appear only once in a mapping; remove or rename one of them",
                    key.escape_debug()
                )));
            }
            let value = map.next_value_seed(Builder { budget: self.budget })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
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
    fn duplicate_keys_are_errors_in_yaml_and_json_alike() {
        for (text, name) in [
            (&b"a: 1\nb:\n  status: revoked\n  status: approved\n"[..], "c.yaml"),
            (
                &br#"{"a": 1, "b": {"status": "revoked", "status": "approved"}}"#[..],
                "c.json",
            ),
        ] {
            let Err(SourceError::Syntax(d)) = parse(text, name) else {
                panic!("{name}: a duplicate key must be an error")
            };
            assert!(d.message.starts_with("duplicate key \"status\""), "{d}");
            assert!(d.message.contains("remove or rename one"), "{d}");
            assert!(!d.message.contains("DuplicateKeyPolicy"), "{d}");
            assert!(d.place.starts_with("line "), "{d}");
        }
    }

    #[test]
    fn json_and_yaml_give_the_same_tree() {
        let a = parse(br#"{"a": [1, "x"], "b": {"200": null}}"#, "a.json").unwrap();
        let b = parse(b"a: [1, x]\nb:\n  200: ~\n", "b.yaml").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn many_nodes_are_fine_but_alias_bombs_are_refused() {
        // 300,000 list entries: above serde-saphyr's default node budget.
        let mut text = String::from("items:\n");
        for i in 0..300_000 {
            text.push_str(&format!("  - {i}\n"));
        }
        let v = parse(text.as_bytes(), "big.yaml").expect("a large plain document parses");
        assert_eq!(v["items"].as_array().map(Vec::len), Some(300_000));

        let mut bomb =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            bomb.push_str(&format!("{n}: &{n} [{}]\n", vec![format!("*{prev}"); 9].join(",")));
            prev = n;
        }
        let Err(SourceError::Syntax(d)) = parse(bomb.as_bytes(), "bomb.yaml") else {
            panic!("an alias bomb must be refused")
        };
        assert!(!d.message.contains("budget breached"), "{d}");
        assert!(d.message.contains("aliases"), "{d}");
    }

    #[test]
    fn library_advice_is_rewritten_for_users() {
        let Err(SourceError::Syntax(d)) = parse(b"a: 1\n---\nb: 2\n", "m.yaml") else {
            panic!("two documents must be refused")
        };
        assert!(d.message.contains("more than one YAML document"), "{d}");
        assert!(!d.message.contains("from_str_multiple"), "{d}");
        let Err(SourceError::Syntax(d)) = parse(b"a: .nan\n", "n.yaml") else {
            panic!(".nan must be refused")
        };
        assert!(
            !d.message.contains("configured policy") && d.message.contains("quote"),
            "{d}"
        );
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = load(Path::new("/nonexistent/acepack/x.yaml"), "x.yaml").unwrap_err();
        assert!(matches!(err, SourceError::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/acepack/x.yaml"));
    }

    #[test]
    fn non_regular_inputs_are_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, kind) in [
            (fifo.as_path(), "FIFO"),
            (Path::new("/dev/zero"), "device"),
            (dir.path(), "directory"),
        ] {
            let err = load(path, "x").unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, SourceError::Io { .. }), "{text}");
            assert!(text.contains(kind) && text.contains("not a regular file"), "{text}");
        }
    }

    #[test]
    fn the_size_limit_is_enforced_while_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.yaml");
        std::fs::write(&path, "a: 12345\n").unwrap();
        let err = read_regular(&path, 4).unwrap_err();
        assert!(err.to_string().contains("larger than the 4-byte limit"), "{err}");
        assert_eq!(read_regular(&path, 9).unwrap().len(), 9);
    }
}
