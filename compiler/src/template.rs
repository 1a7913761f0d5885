//! Path templates: the normalization rules of docs/catalog.md#operations, shared by spec ingestion, catalog
//! references (`op: GET /a/{x}`) and the bundle writer.
//!
//! Normalized form: starts with `/`, no trailing slash (root stays `/`), no query, every parameter
//! written `{}` (names dropped), at most one parameter per segment, e.g. `/Accounts/{}.json`.
//!
//! Static text is kept as written, with two exceptions that follow from how the filter
//! canonicalizes requests (docs/enforcement.md#canonical-request) — without them the template could never match anything:
//! percent-escapes of printable ASCII without path structure (`%41` → `A`, `%3a` → `:`, the rule of
//! `acepack_filter::canonical::decodes_escape`) are decoded and the hex digits of other escapes
//! upper-cased (`%c3` → `%C3`, RFC 3986 §6.2.2); non-ASCII characters are
//! percent-encoded as UTF-8 (`é` → `%C3%A9`). Escapes of `/` and `\` are errors: a canonical request
//! never carries them, and no segment of one contains a slash.
//!
//! [`normalize`] is idempotent: a normalized template normalizes to itself.

/// The longest path template accepted, base path included, in bytes: far above any published API
/// (the longest in the project's survey of public specs has 121 bytes), and short enough that
/// every message and every request header that names a template stays small.
pub const MAX_TEMPLATE_BYTES: usize = 4096;

/// The most parameters one template may have. The filter's router names parameters with single
/// letters and cannot take more than 25; public APIs use at most a handful (5 in the survey).
pub const MAX_PARAMETERS: usize = 16;

/// Why a path template (or base path) is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template is empty or does not start with `/`.
    #[error("path {path:?} must start with '/'")]
    NotAbsolute {
        /// The template as given.
        path: String,
    },
    /// `//` somewhere: a request path with an empty segment is never canonical (docs/enforcement.md#canonical-request).
    #[error("path {path:?} has an empty segment ('//')")]
    EmptySegment {
        /// The template as given.
        path: String,
    },
    /// A `.` or `..` segment (also when written `%2E`): requests carrying one are never canonical (docs/enforcement.md#canonical-request).
    #[error("path {path:?} has a dot-segment {segment:?}")]
    DotSegment {
        /// The template as given.
        path: String,
        /// The offending segment.
        segment: String,
    },
    /// A `{` without its `}` (or the reverse) in a segment.
    #[error("path {path:?} has an unbalanced brace in segment {segment:?}")]
    UnbalancedBrace {
        /// The template as given.
        path: String,
        /// The offending segment.
        segment: String,
    },
    /// A `{` inside a parameter name, as in `{a{b}}`.
    #[error("path {path:?} has a '{{' inside a parameter name in segment {segment:?}")]
    NestedBrace {
        /// The template as given.
        path: String,
        /// The offending segment.
        segment: String,
    },
    /// Two parameters in one segment (`/{a}-{b}`): acepack matches one parameter per segment.
    #[error("path {path:?} has more than one parameter in segment {segment:?} (at most one per segment)")]
    TwoParameters {
        /// The template as given.
        path: String,
        /// The offending segment.
        segment: String,
    },
    /// A parameter that asks for more than one segment or is not a parameter at all
    /// (`{*rest}`, `{+name}`, `{$request.body}`).
    #[error("path {path:?} has parameter {{{name}}}: {reason}")]
    InvalidParameter {
        /// The template as given.
        path: String,
        /// The parameter name as written.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A character that is not allowed in a URI path or that would confuse a router (`*`).
    #[error(
        "path {path:?} contains {ch:?}, which is not allowed in a path template (percent-encode it if it is literal)"
    )]
    InvalidCharacter {
        /// The template as given.
        path: String,
        /// The offending character.
        ch: char,
    },
    /// A `%` not followed by two hex digits.
    #[error("path {path:?} has an invalid percent-escape {escape:?}")]
    InvalidEscape {
        /// The template as given.
        path: String,
        /// The `%` and what follows it (up to two characters).
        escape: String,
    },
    /// `%2F` or `%5C`: a canonical request never carries these (docs/enforcement.md#canonical-request), so the template could never
    /// be served.
    #[error("path {path:?} contains {escape}, an encoded '/' or '\\', which no canonical request carries")]
    EncodedDelimiter {
        /// The template as given.
        path: String,
        /// The escape as written.
        escape: String,
    },
    /// Longer than [`MAX_TEMPLATE_BYTES`] (the path is not repeated whole: it may be huge).
    #[error("path {start:?}... is {len} bytes long; acepack accepts path templates of at most {max} bytes, base path included: shorten it", max = MAX_TEMPLATE_BYTES)]
    TooLong {
        /// The first characters of the template.
        start: String,
        /// Its length in bytes.
        len: usize,
    },
    /// More than [`MAX_PARAMETERS`] parameters.
    #[error("path {path:?} has {count} parameters; acepack accepts at most {max} per template: merge segments or exclude the operation", max = MAX_PARAMETERS)]
    TooManyParameters {
        /// The template as given.
        path: String,
        /// How many parameters it has.
        count: usize,
    },
    /// A base path with a parameter or a query string.
    #[error("base path {path:?} may not contain parameters or a query string")]
    BasePathNotStatic {
        /// The base path as given.
        path: String,
    },
}

/// Normalizes a path template (docs/catalog.md#operations): see the module documentation for the form.
///
/// ```
/// use acepack_compiler::template::normalize;
/// assert_eq!(normalize("/Accounts/{AccountSid}/Calls/{Sid}.json").unwrap(), "/Accounts/{}/Calls/{}.json");
/// assert_eq!(normalize("/responses?beta=true").unwrap(), "/responses");
/// assert_eq!(normalize("/billing/").unwrap(), "/billing");
/// assert!(normalize("/a/{x}{y}").is_err());
/// ```
pub fn normalize(path: &str) -> Result<String, TemplateError> {
    check_length(path)?;
    let without_query = path.split_once('?').map_or(path, |(p, _)| p);
    let Some(rest) = without_query.strip_prefix('/') else {
        return Err(TemplateError::NotAbsolute { path: path.to_string() });
    };
    if rest.is_empty() {
        return Ok("/".to_string());
    }
    // One trailing slash is insignificant; "//" leaves an empty segment and is refused below.
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut out = String::with_capacity(without_query.len());
    for segment in rest.split('/') {
        out.push('/');
        push_segment(&mut out, segment, path)?;
    }
    check_limits(&out)?;
    Ok(out)
}

/// Refuses a template longer than [`MAX_TEMPLATE_BYTES`].
fn check_length(path: &str) -> Result<(), TemplateError> {
    if path.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::TooLong {
            start: path.chars().take(40).collect(),
            len: path.len(),
        });
    }
    Ok(())
}

/// Checks a normalized template (also a full one, base path joined) against the filter's limits:
/// [`MAX_TEMPLATE_BYTES`] and [`MAX_PARAMETERS`].
pub fn check_limits(normalized: &str) -> Result<(), TemplateError> {
    check_length(normalized)?;
    let count = normalized.matches("{}").count();
    if count > MAX_PARAMETERS {
        return Err(TemplateError::TooManyParameters {
            path: normalized.to_string(),
            count,
        });
    }
    Ok(())
}

/// Whether a `paths` key is a runtime expression such as `{$request.query.queryUrl}` (as used by
/// callbacks) rather than a path template. Such keys describe no route and produce no operation.
pub fn is_runtime_expression(key: &str) -> bool {
    key.starts_with('$') || key.contains("{$")
}

/// Prefixes a normalized template with a normalized base path (`""` or `/x/y`).
///
/// ```
/// use acepack_compiler::template::join;
/// assert_eq!(join("/v1", "/x/{}"), "/v1/x/{}");
/// assert_eq!(join("/v1", "/"), "/v1");
/// assert_eq!(join("", "/"), "/");
/// ```
pub fn join(base: &str, path: &str) -> String {
    if path == "/" && !base.is_empty() {
        return base.to_string();
    }
    let mut out = String::with_capacity(base.len() + path.len());
    out.push_str(base);
    out.push_str(path);
    out
}

/// Normalizes a base path: `""` (none) or `/x/y` without trailing slash; `/` becomes `""`.
/// Same static rules as [`normalize`]; parameters and query strings are refused.
///
/// ```
/// use acepack_compiler::template::normalize_base_path;
/// assert_eq!(normalize_base_path("/v1/").unwrap(), "/v1");
/// assert_eq!(normalize_base_path("/").unwrap(), "");
/// assert_eq!(normalize_base_path("").unwrap(), "");
/// ```
pub fn normalize_base_path(s: &str) -> Result<String, TemplateError> {
    if s.is_empty() {
        return Ok(String::new());
    }
    if s.contains(['?', '{', '}']) {
        return Err(TemplateError::BasePathNotStatic { path: s.to_string() });
    }
    let normalized = normalize(s)?;
    Ok(if normalized == "/" { String::new() } else { normalized })
}

/// Appends one non-empty segment of `path` to `out`, normalized.
fn push_segment(out: &mut String, segment: &str, path: &str) -> Result<(), TemplateError> {
    let seg_err = |make: fn(String, String) -> TemplateError| make(path.to_string(), segment.to_string());
    if segment.is_empty() {
        return Err(TemplateError::EmptySegment { path: path.to_string() });
    }
    let start = out.len();
    let mut params = 0;
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(seg_err(|path, segment| TemplateError::UnbalancedBrace {
                                path,
                                segment,
                            }))
                        }
                        Some('}') => break,
                        Some('{') => return Err(seg_err(|path, segment| TemplateError::NestedBrace { path, segment })),
                        Some(c) => name.push(c),
                    }
                }
                check_parameter_name(&name, path)?;
                params += 1;
                if params > 1 {
                    return Err(seg_err(|path, segment| TemplateError::TwoParameters { path, segment }));
                }
                out.push_str("{}");
            }
            '}' => {
                return Err(seg_err(|path, segment| TemplateError::UnbalancedBrace {
                    path,
                    segment,
                }))
            }
            '%' => push_escape(out, &mut chars, path)?,
            c if is_static_char(c) => out.push(c),
            c if !c.is_ascii() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    push_hex_escape(out, b);
                }
            }
            c => {
                return Err(TemplateError::InvalidCharacter {
                    path: path.to_string(),
                    ch: c,
                })
            }
        }
    }
    // Checked on the decoded text, so `%2E%2E` is caught as well as `..`.
    if matches!(out.get(start..), Some("." | "..")) {
        return Err(seg_err(|path, segment| TemplateError::DotSegment { path, segment }));
    }
    Ok(())
}

/// Refuses parameter names that mean something other than "one segment".
fn check_parameter_name(name: &str, path: &str) -> Result<(), TemplateError> {
    let reason = match name.chars().next() {
        Some('*') => "a catch-all; a parameter matches exactly one segment",
        Some('+') => "a reserved expansion that may span segments; a parameter matches exactly one segment",
        Some('$') => "a runtime expression, not a path parameter",
        _ => return Ok(()),
    };
    Err(TemplateError::InvalidParameter {
        path: path.to_string(),
        name: name.to_string(),
        reason,
    })
}

/// Handles the two characters after a `%` (already consumed).
fn push_escape(out: &mut String, chars: &mut std::str::Chars<'_>, path: &str) -> Result<(), TemplateError> {
    let hi = chars.next();
    let lo = chars.next();
    let (Some(hi_d), Some(lo_d)) = (hi.and_then(|c| c.to_digit(16)), lo.and_then(|c| c.to_digit(16))) else {
        let escape: String = std::iter::once('%').chain(hi).chain(lo).collect();
        return Err(TemplateError::InvalidEscape {
            path: path.to_string(),
            escape,
        });
    };
    // Both digits are < 16, so this fits a byte.
    let byte = (hi_d * 16 + lo_d) as u8;
    match byte {
        b'/' | b'\\' => {
            let escape: String = ['%'].into_iter().chain(hi).chain(lo).collect();
            Err(TemplateError::EncodedDelimiter {
                path: path.to_string(),
                escape,
            })
        }
        // Characters the router reads as syntax cannot be written decoded, and a request
        // carrying their escape is decoded by the filter, so such a template could never match.
        b'{' | b'}' | b'*' => Err(TemplateError::InvalidCharacter {
            path: path.to_string(),
            ch: char::from(byte),
        }),
        // The filter decodes these before matching (docs/enforcement.md#canonical-request), so the template must hold them decoded:
        // one rule, shared with the filter.
        b if acepack_filter::canonical::decodes_escape(b) => {
            out.push(char::from(b));
            Ok(())
        }
        b => {
            push_hex_escape(out, b);
            Ok(())
        }
    }
}

fn push_hex_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xf)]));
}

/// RFC 3986 `pchar` minus `%` (handled apart) and `*`, which routers read as a wildcard.
fn is_static_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.' | '_' | '~' | '!' | '$' | '&' | '\'' | '(' | ')' | '+' | ',' | ';' | '=' | ':' | '@'
        )
}

#[cfg(test)]
mod tests;
