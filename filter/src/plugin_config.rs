//! The plugin configuration the host hands `on_configure`: either the bundle's raw bytes (Envoy
//! with a `google.protobuf.BytesValue`, docs/envoy.md) or, for hosts that can only pass a JSON
//! string (Istio `WasmPlugin`, Envoy Gateway `EnvoyExtensionPolicy`), a JSON object carrying the
//! bundle in base64: `{"bundle": "<base64>"}`.
//!
//! The JSON reader accepts exactly that shape — one object, one member `bundle` whose value is a
//! string — with JSON whitespace anywhere between tokens and the escapes a JSON encoder may put in
//! a base64 string (`\/`). Anything else is refused with an error that says what was expected,
//! so a misconfigured host fails at `on_configure` rather than at the first request. A bundle
//! starts with the magic `ACEPACK\0`, never with `{` or whitespace, so the two forms cannot be
//! confused.

use std::borrow::Cow;

use base64::Engine as _;

/// Why a JSON plugin configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Not the expected JSON shape; says what was expected and at which byte offset.
    Json {
        /// Byte offset in the configuration.
        at: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// The object has a member other than `bundle`.
    UnknownMember,
    /// The object has no `bundle` member.
    MissingBundle,
    /// `bundle` is not valid (padded, standard-alphabet) base64.
    Base64,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Json { at, expected } => write!(
                f,
                "JSON plugin configuration: expected {expected} at byte {at} (the configuration is {{\"bundle\": \"<base64 of the bundle>\"}})"
            ),
            ConfigError::UnknownMember => write!(
                f,
                "JSON plugin configuration: only the member \"bundle\" is allowed"
            ),
            ConfigError::MissingBundle => write!(
                f,
                "JSON plugin configuration: the member \"bundle\" (the bundle in base64) is missing"
            ),
            ConfigError::Base64 => write!(
                f,
                "JSON plugin configuration: \"bundle\" is not standard padded base64 of a bundle"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Whether the configuration is the JSON form (its first non-whitespace byte is `{`).
pub fn is_json(config: &[u8]) -> bool {
    config.iter().find(|b| !is_ws(**b)).is_some_and(|b| *b == b'{')
}

/// The bundle bytes of a plugin configuration: the configuration itself when it is raw bytes,
/// the decoded `bundle` member when it is the JSON form.
pub fn bundle_bytes(config: &[u8]) -> Result<Cow<'_, [u8]>, ConfigError> {
    if !is_json(config) {
        return Ok(Cow::Borrowed(config));
    }
    let b64 = json_bundle(config)?;
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map(Cow::Owned)
        .map_err(|_| ConfigError::Base64)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// A cursor over the JSON text.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn skip_ws(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| is_ws(*b)) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), ConfigError> {
        self.skip_ws();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn error(&self, expected: &'static str) -> ConfigError {
        ConfigError::Json { at: self.at, expected }
    }

    /// A JSON string of printable ASCII; the escapes `\/`, `\\` and `\"` are decoded, others refused
    /// (base64 never needs them).
    fn string(&mut self) -> Result<String, ConfigError> {
        self.expect(b'"', "a string")?;
        let mut out = String::new();
        loop {
            match self.bytes.get(self.at).copied() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    match self.bytes.get(self.at + 1).copied() {
                        Some(e @ (b'/' | b'\\' | b'"')) => out.push(char::from(e)),
                        _ => return Err(self.error("one of the escapes \\/ \\\\ \\\"")),
                    }
                    self.at += 2;
                }
                Some(b) if (0x20..0x7f).contains(&b) => {
                    out.push(char::from(b));
                    self.at += 1;
                }
                _ => return Err(self.error("printable ASCII or the closing quote")),
            }
        }
    }
}

/// The `bundle` member of `{"bundle": "..."}` (nothing else, nothing after).
fn json_bundle(config: &[u8]) -> Result<String, ConfigError> {
    let mut r = Reader { bytes: config, at: 0 };
    r.expect(b'{', "'{'")?;
    r.skip_ws();
    if r.bytes.get(r.at) == Some(&b'}') {
        return Err(ConfigError::MissingBundle);
    }
    let name = r.string()?;
    if name != "bundle" {
        return Err(ConfigError::UnknownMember);
    }
    r.expect(b':', "':'")?;
    let value = r.string()?;
    r.skip_ws();
    match r.bytes.get(r.at) {
        Some(b'}') => r.at += 1,
        Some(b',') => return Err(ConfigError::UnknownMember),
        _ => return Err(r.error("'}'")),
    }
    r.skip_ws();
    if r.at != r.bytes.len() {
        return Err(r.error("the end of the configuration"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn raw_bytes_pass_through() {
        let raw = b"ACEPACK\0rest";
        assert_eq!(bundle_bytes(raw).unwrap().as_ref(), raw);
        assert!(!is_json(raw));
        assert_eq!(bundle_bytes(b"").unwrap().as_ref(), b"");
    }

    #[test]
    fn json_carries_the_bundle() {
        let raw = b"ACEPACK\0\x01\x02\xff/+";
        let json = format!(" \n{{ \"bundle\" :\t\"{}\" }}\n", b64(raw));
        assert_eq!(bundle_bytes(json.as_bytes()).unwrap().as_ref(), raw);
        // An encoder that escapes '/'.
        let escaped = format!("{{\"bundle\":\"{}\"}}", b64(raw).replace('/', "\\/"));
        assert_eq!(bundle_bytes(escaped.as_bytes()).unwrap().as_ref(), raw);
    }

    #[test]
    fn other_shapes_are_refused() {
        let ok = b64(b"ACEPACK\0");
        for (text, want) in [
            ("{}".to_string(), ConfigError::MissingBundle),
            (format!("{{\"bundle\":\"{ok}\",\"x\":1}}"), ConfigError::UnknownMember),
            (format!("{{\"other\":\"{ok}\"}}"), ConfigError::UnknownMember),
            ("{\"bundle\":\"not base64!\"}".to_string(), ConfigError::Base64),
            (
                "{\"bundle\":\"QUJD\"".to_string(),
                ConfigError::Json {
                    at: 16,
                    expected: "'}'",
                },
            ),
            (
                "{\"bundle\":1}".to_string(),
                ConfigError::Json {
                    at: 10,
                    expected: "a string",
                },
            ),
            (
                format!("{{\"bundle\":\"{ok}\"}} x"),
                ConfigError::Json {
                    at: 26,
                    expected: "the end of the configuration",
                },
            ),
            (
                "{\"bundle\":\"a\\nb\"}".to_string(),
                ConfigError::Json {
                    at: 12,
                    expected: "one of the escapes \\/ \\\\ \\\"",
                },
            ),
        ] {
            assert_eq!(bundle_bytes(text.as_bytes()).unwrap_err(), want, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut json = b"{\"bundle\":\"".to_vec();
            json.extend_from_slice(&bytes);
            let _ = bundle_bytes(&json);
            let _ = bundle_bytes(&bytes);
        }
    }
}
