//! The bundle: the compact binary form of a compiled catalog, and its reader.
//!
//! # Layout (format 3.0)
//!
//! Fixed-width integers are little-endian. `var` is an unsigned LEB128 integer of at most 32 bits
//! (1–5 bytes, no overlong forms); every count, length and index inside sections is a `var`. `str`
//! is a `var` byte length followed by UTF-8 bytes; `list<T>` is a `var` count followed by the items.
//!
//! ```text
//! header (24 bytes)
//!   0  magic        8 bytes  "ACEPACK\0"
//!   8  major        u16      readers refuse a major they do not know
//!   10 minor        u16      additions that old readers may ignore (new section tags)
//!   12 body_len     u32      bytes after the header; must equal the rest of the input
//!   16 body_check   u32      the low 32 bits of XXH3-64 (seed 0) of the body ([`body_checksum`];
//!                            format 1 had a CRC-32 here, four times slower to check at load)
//!   20 sections     u32      number of sections in the body
//! body: `sections` times { tag u32, len u32, bytes[len] }, tags strictly ascending.
//!   Unknown tags are skipped (minor additions); every known tag below is required.
//!
//! 1 META          str compiler, str catalog
//! 2 ENFORCEMENT   u8 match_policy (0 required, 1 if_present)
//!                 u8 rate_limit_headers (0 ietf, 1 draft03, 2 none)
//!                 u8 hide_credentials (0/1), u8 cors_preflight (0 pass, 1 enforce)
//!                 u32 anonymous application index (fixed width), 0xFFFF_FFFF for none
//! 3 STRATEGIES    list{ u8 kind (0 key_auth, 1 header), str name, list<str> names }
//!                 key_auth: the key names; header: exactly one (lower-case) header name
//! 4 APIS          list{ str name, str version, str base_path, list<str> hosts }
//! 5 OPERATIONS    list{ var api, str method, str path, str id }
//!                 path: normalized template, parameters written "{}", e.g. "/v1/a/{}.json"
//! 6 PACKAGES      list{ str id, str name, str version, u8 published, limits,
//!                       list{ var operation, u8 has_override, [limits if has_override] } }
//!                 limits = list{ u64 count, u32 window_seconds (1, 60, 3600 or 86400) },
//!                 windows strictly ascending
//! 7 APPLICATIONS  list{ str name, var strategy, list{ u8 kind (0 api, 1 package), var index } }
//!                 grants: active grants only, in catalog order
//! 8 CREDENTIALS   var count, then count fixed 20-byte records { [u8; 16] digest, u32 application },
//!                 strictly ascending by digest; digest = the first 16 bytes of SHA-256(key) or
//!                 SHA-256(header identity). Fixed width (format 3; 2 had a var application) so
//!                 200,000 of them load in one tight loop.
//! ```
//!
//! Decoding checks every length, count, index, enum value and limit; it never panics and never
//! allocates more than the input can describe.

use crate::bytes::{ReadError, Reader};

/// The magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"ACEPACK\0";
/// The format's major version written by this build.
pub const MAJOR: u16 = 3;
/// The format's minor version written by this build.
pub const MINOR: u16 = 0;
/// Header size in bytes.
pub const HEADER_LEN: usize = 24;
/// Sentinel for "no anonymous application".
pub const NO_APPLICATION: u32 = u32::MAX;
/// Bytes of one CREDENTIALS record: digest, then the application as a `u32`.
const CREDENTIAL_RECORD: usize = DIGEST_LEN + 4;
/// Bytes of a credential digest kept in the bundle (a prefix of SHA-256).
pub const DIGEST_LEN: usize = 16;
/// Largest `count × window_seconds` a limit may have: bucket levels are kept as
/// `count × window_in_microseconds` in a `u64`.
pub const MAX_LIMIT_UNITS: u64 = u64::MAX / 1_000_000;

/// Section tags.
#[allow(missing_docs)]
pub mod tag {
    pub const META: u32 = 1;
    pub const ENFORCEMENT: u32 = 2;
    pub const STRATEGIES: u32 = 3;
    pub const APIS: u32 = 4;
    pub const OPERATIONS: u32 = 5;
    pub const PACKAGES: u32 = 6;
    pub const APPLICATIONS: u32 = 7;
    pub const CREDENTIALS: u32 = 8;
}

/// Why bytes are not a usable bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// Shorter than a header, or not starting with the magic bytes.
    NotABundle,
    /// A major version this reader does not understand.
    UnsupportedVersion {
        /// The bundle's major version.
        major: u16,
        /// The bundle's minor version.
        minor: u16,
    },
    /// `body_len` disagrees with the input's length.
    Truncated {
        /// What the header promised.
        expected: usize,
        /// What was there.
        actual: usize,
    },
    /// The body does not match the header's check ([`body_checksum`]).
    Checksum,
    /// A section or field is malformed.
    Malformed {
        /// Which section.
        section: &'static str,
        /// What was wrong.
        what: &'static str,
        /// Byte offset within the section.
        offset: usize,
    },
    /// A required section is absent.
    MissingSection(&'static str),
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::NotABundle => write!(f, "not an acepack bundle (bad magic or shorter than the header)"),
            BundleError::UnsupportedVersion { major, minor } => {
                write!(
                    f,
                    "bundle format {major}.{minor} is not supported (this filter reads {MAJOR}.x)"
                )
            }
            BundleError::Truncated { expected, actual } => {
                write!(
                    f,
                    "bundle is truncated or padded: header says {expected} body bytes, found {actual}"
                )
            }
            BundleError::Checksum => write!(f, "bundle checksum mismatch (corrupted)"),
            BundleError::Malformed { section, what, offset } => {
                write!(f, "bundle section {section} is malformed: {what} at byte {offset}")
            }
            BundleError::MissingSection(s) => write!(f, "bundle has no {s} section"),
        }
    }
}

impl std::error::Error for BundleError {}

/// `enforcement.match_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchPolicy {
    /// Unmatched requests get 404.
    Required,
    /// Unmatched requests pass untouched.
    IfPresent,
}

/// `enforcement.rate_limit_headers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitHeaders {
    /// IETF draft 11 `RateLimit` / `RateLimit-Policy`.
    Ietf,
    /// draft 03 `RateLimit-Limit` / `-Remaining` / `-Reset`.
    Draft03,
    /// None.
    None,
}

/// The enforcement settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enforcement {
    /// Unmatched requests: 404 or pass.
    pub match_policy: MatchPolicy,
    /// Header style.
    pub rate_limit_headers: RateLimitHeaders,
    /// Strip the API key before forwarding.
    pub hide_credentials: bool,
    /// `true`: CORS preflights to known paths pass without credentials.
    pub cors_preflight_pass: bool,
    /// The anonymous application, if any.
    pub anonymous: Option<u32>,
}

/// How a strategy finds the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategyKind {
    /// API key in a header (case-insensitive) or query parameter; the names in lookup order.
    KeyAuth(Vec<String>),
    /// Identity in the named (lower-case) header.
    Header(String),
}

/// An auth strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategy {
    /// The strategy's name.
    pub name: String,
    /// Where the credential is.
    pub kind: StrategyKind,
}

/// An API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Base path (`""` or `/x`).
    pub base_path: String,
    /// Host patterns (lower-case; `*.x.com` wildcards); empty = any host.
    pub hosts: Vec<String>,
}

/// Methods are matched case-sensitively, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Method {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// HEAD
    Head,
    /// PATCH
    Patch,
    /// TRACE
    Trace,
    /// QUERY (OpenAPI 3.2)
    Query,
}

impl Method {
    /// Every method an operation may have (docs/catalog.md#operations; QUERY is OpenAPI 3.2's), as sent, in the order
    /// of the variants.
    pub const NAMES: [&'static str; 9] = [
        "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "QUERY",
    ];

    /// Parses an upper-case method; anything else (including `get`) is not a method we route.
    pub fn parse(s: &str) -> Option<Method> {
        Method::parse_bytes(s.as_bytes())
    }

    /// [`Method::parse`] on bytes.
    pub fn parse_bytes(s: &[u8]) -> Option<Method> {
        Some(match s {
            b"GET" => Method::Get,
            b"PUT" => Method::Put,
            b"POST" => Method::Post,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"HEAD" => Method::Head,
            b"PATCH" => Method::Patch,
            b"TRACE" => Method::Trace,
            b"QUERY" => Method::Query,
            _ => return None,
        })
    }

    /// The method as sent (upper case).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
            Method::Query => "QUERY",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// An operation. Its path and id are in [`Bundle::names`] (read them with [`Bundle::name`]):
/// 10,000 operations load without 20,000 string allocations (P4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// Index of its API.
    pub api: u32,
    /// Method.
    pub method: Method,
    /// Normalized path template (parameters `{}`).
    pub path: NameRef,
    /// Stable operation id.
    pub id: NameRef,
}

/// A rate-limit window in seconds: 1, 60, 3600 or 86400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Limit {
    /// Requests per window (bucket capacity), ≥ 1.
    pub count: u64,
    /// Window length in seconds.
    pub window_seconds: u32,
}

/// An operation inside a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageOperation {
    /// Operation index.
    pub operation: u32,
    /// Per-operation limits replacing the package's.
    pub limits: Option<Vec<Limit>>,
}

/// A package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Published on at least one portal (breaking-change rule).
    pub published: bool,
    /// Shared package limits; empty = unlimited.
    pub limits: Vec<Limit>,
    /// Its operations.
    pub operations: Vec<PackageOperation>,
}

/// A grant held by an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Whole API, no ACE limit.
    Api(u32),
    /// A package.
    Package(u32),
}

/// Where a string lives in [`Bundle::names`]: the names of 100,000 applications and the paths and
/// ids of 10,000 operations load as one buffer instead of 120,000 allocations (P4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NameRef {
    start: u32,
    len: u32,
}

impl NameRef {
    /// Appends `name` to `names` (a bundle's [`Bundle::names`] being built) and returns where it is.
    pub fn push(names: &mut String, name: &str) -> NameRef {
        let at = NameRef::at(names.len(), name.len());
        names.push_str(name);
        at
    }

    /// [`NameRef::push`] for the decoder, which checks UTF-8 once for the whole buffer.
    fn push_bytes(names: &mut Vec<u8>, name: &[u8]) -> NameRef {
        let at = NameRef::at(names.len(), name.len());
        names.extend_from_slice(name);
        at
    }

    /// A bundle is far smaller than 4 GiB (the reader's counts are bounded by its length), so
    /// the saturation never happens; [`Bundle::name`] would give `""` if it did.
    fn at(start: usize, len: usize) -> NameRef {
        NameRef {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(len).unwrap_or(0),
        }
    }
}

/// An application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Name, in [`Bundle::names`] (read it with [`Bundle::name`]).
    pub name: NameRef,
    /// Its auth strategy.
    pub strategy: u32,
    /// Active grants in catalog order (inline up to two: most applications have one or two, and a
    /// heap allocation per application is a large part of loading 100,000 of them).
    pub grants: smallvec::SmallVec<[Grant; 2]>,
}

/// A credential: digest prefix and owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Credential {
    /// First 16 bytes of SHA-256 of the key / identity.
    pub digest: [u8; DIGEST_LEN],
    /// The owning application.
    pub application: u32,
}

/// A decoded bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// `(major, minor)` of the bytes it was read from (or will be written as).
    pub version: (u16, u16),
    /// The compiler that wrote it.
    pub compiler: String,
    /// The catalog it was compiled from (as named on the command line).
    pub catalog: String,
    /// Enforcement settings.
    pub enforcement: Enforcement,
    /// Auth strategies in lookup order.
    pub strategies: Vec<Strategy>,
    /// APIs.
    pub apis: Vec<Api>,
    /// Operations.
    pub operations: Vec<Operation>,
    /// Packages.
    pub packages: Vec<Package>,
    /// Applications.
    pub applications: Vec<Application>,
    /// Credentials sorted by digest.
    pub credentials: Vec<Credential>,
    /// Operation paths and ids, and application names, back to back ([`Operation::path`],
    /// [`Operation::id`] and [`Application::name`] point into it).
    pub names: String,
}

/// The header's check of a body: the low 32 bits of its XXH3-64 (seed 0).
pub fn body_checksum(body: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(body) as u32
}

/// Whether `count` per `window_seconds` is a limit the filter can enforce exactly.
pub fn limit_is_valid(limit: &Limit) -> bool {
    matches!(limit.window_seconds, 1 | 60 | 3600 | 86_400)
        && limit.count >= 1
        && limit
            .count
            .checked_mul(u64::from(limit.window_seconds))
            .is_some_and(|u| u <= MAX_LIMIT_UNITS)
}

struct Section<'a> {
    name: &'static str,
    r: Reader<'a>,
}

impl<'a> Section<'a> {
    #[cold]
    fn fail(&self, e: ReadError) -> BundleError {
        BundleError::Malformed {
            section: self.name,
            what: e.what,
            offset: e.offset,
        }
    }
    #[cold]
    fn bad(&self, what: &'static str) -> BundleError {
        BundleError::Malformed {
            section: self.name,
            what,
            offset: self.r.offset(),
        }
    }
    #[inline(always)]
    fn u8(&mut self, what: &'static str) -> Result<u8, BundleError> {
        self.r.u8(what).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    fn u32(&mut self, what: &'static str) -> Result<u32, BundleError> {
        self.r.u32(what).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    fn u64(&mut self, what: &'static str) -> Result<u64, BundleError> {
        self.r.u64(what).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    fn count(&mut self, min: usize, what: &'static str) -> Result<usize, BundleError> {
        self.r.count(min, what).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    /// A string's bytes, checked to be UTF-8 (ASCII, the common case, is checked fastest).
    fn text(&mut self, what: &'static str) -> Result<&'a [u8], BundleError> {
        let len = self.r.varint(what).map_err(|e| self.fail(e))? as usize;
        let bytes = self.r.bytes(len, what).map_err(|e| self.fail(e))?;
        if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
            Ok(bytes)
        } else {
            Err(self.bad(what))
        }
    }
    fn string(&mut self, what: &'static str) -> Result<String, BundleError> {
        self.r.str(what).map(str::to_owned).map_err(|e| self.fail(e))
    }
    #[inline(always)]
    fn index(&mut self, len: usize, what: &'static str) -> Result<u32, BundleError> {
        match self.r.varint(what) {
            Ok(i) if (i as usize) < len => Ok(i),
            Ok(_) => Err(self.bad(what)),
            Err(e) => Err(self.fail(e)),
        }
    }
    fn strings(&mut self, what: &'static str) -> Result<Vec<String>, BundleError> {
        let n = self.count(1, what)?;
        (0..n).map(|_| self.string(what)).collect()
    }
    fn limits(&mut self) -> Result<Vec<Limit>, BundleError> {
        let n = self.count(12, "limit count")?;
        let mut out: Vec<Limit> = Vec::with_capacity(n);
        for _ in 0..n {
            let count = self.u64("limit count")?;
            let window_seconds = self.u32("limit window")?;
            let limit = Limit { count, window_seconds };
            if !limit_is_valid(&limit) {
                return Err(self.bad("invalid limit"));
            }
            if out.last().is_some_and(|l| l.window_seconds >= window_seconds) {
                return Err(self.bad("limit windows not ascending"));
            }
            out.push(limit);
        }
        Ok(out)
    }
    fn end(self) -> Result<(), BundleError> {
        if self.r.remaining() == 0 {
            Ok(())
        } else {
            Err(self.bad("trailing bytes"))
        }
    }
}

/// The body's sections as (tag, bytes).
type Sections<'a> = Vec<(u32, &'a [u8])>;

/// Checks the header and checksum and returns the version and the body's sections.
fn sections(data: &[u8]) -> Result<((u16, u16), Sections<'_>), BundleError> {
    let mut r = Reader::new(data);
    let magic: [u8; 8] = r.array("magic").map_err(|_| BundleError::NotABundle)?;
    if magic != MAGIC {
        return Err(BundleError::NotABundle);
    }
    let header = |e: ReadError| BundleError::Malformed {
        section: "header",
        what: e.what,
        offset: e.offset,
    };
    let major = r.u16("major").map_err(header)?;
    let minor = r.u16("minor").map_err(header)?;
    if major != MAJOR {
        return Err(BundleError::UnsupportedVersion { major, minor });
    }
    let body_len = r.u32("body length").map_err(header)? as usize;
    let check = r.u32("checksum").map_err(header)?;
    let count = r.u32("section count").map_err(header)? as usize;
    if r.remaining() != body_len {
        return Err(BundleError::Truncated {
            expected: body_len,
            actual: r.remaining(),
        });
    }
    let body = r.bytes(body_len, "body").map_err(header)?;
    if body_checksum(body) != check {
        return Err(BundleError::Checksum);
    }
    let mut r = Reader::new(body);
    let body_err = |e: ReadError| BundleError::Malformed {
        section: "body",
        what: e.what,
        offset: e.offset,
    };
    if count.checked_mul(8).is_none_or(|n| n > body_len) {
        return Err(BundleError::Malformed {
            section: "body",
            what: "section count",
            offset: 0,
        });
    }
    let mut out = Vec::with_capacity(count);
    let mut last = 0u32;
    for _ in 0..count {
        let tag = r.u32("section tag").map_err(body_err)?;
        if tag <= last {
            return Err(BundleError::Malformed {
                section: "body",
                what: "section tags not ascending",
                offset: r.offset(),
            });
        }
        last = tag;
        let len = r.u32("section length").map_err(body_err)? as usize;
        out.push((tag, r.bytes(len, "section bytes").map_err(body_err)?));
    }
    if r.remaining() != 0 {
        return Err(BundleError::Malformed {
            section: "body",
            what: "bytes after the last section",
            offset: r.offset(),
        });
    }
    Ok(((major, minor), out))
}

impl Bundle {
    /// Decodes and fully validates a bundle.
    pub fn decode(data: &[u8]) -> Result<Bundle, BundleError> {
        let (version, sections) = sections(data)?;
        let get = |t: u32, name: &'static str| -> Result<Section<'_>, BundleError> {
            sections
                .iter()
                .find(|(tag, _)| *tag == t)
                .map(|(_, bytes)| Section {
                    name,
                    r: Reader::new(bytes),
                })
                .ok_or(BundleError::MissingSection(name))
        };

        let mut s = get(tag::META, "META")?;
        let compiler = s.string("compiler")?;
        let catalog = s.string("catalog")?;
        s.end()?;

        let mut s = get(tag::STRATEGIES, "STRATEGIES")?;
        let n = s.count(3, "strategy count")?;
        let mut strategies = Vec::with_capacity(n);
        for _ in 0..n {
            let kind = s.u8("strategy kind")?;
            let name = s.string("strategy name")?;
            let names = s.strings("strategy names")?;
            let kind = match (kind, names.len()) {
                (0, 1..) => StrategyKind::KeyAuth(names),
                (1, 1) => StrategyKind::Header(names.into_iter().next().unwrap_or_default()),
                _ => return Err(s.bad("strategy kind")),
            };
            strategies.push(Strategy { name, kind });
        }
        s.end()?;

        let mut s = get(tag::APIS, "APIS")?;
        let n = s.count(4, "api count")?;
        let mut apis = Vec::with_capacity(n);
        for _ in 0..n {
            apis.push(Api {
                name: s.string("api name")?,
                version: s.string("api version")?,
                base_path: s.string("api base path")?,
                hosts: s.strings("api hosts")?,
            });
        }
        s.end()?;

        let mut s = get(tag::OPERATIONS, "OPERATIONS")?;
        let n = s.count(4, "operation count")?;
        let mut operations = Vec::with_capacity(n);
        // Operation paths and ids, then application names: one buffer (`Bundle::names`).
        let mut names: Vec<u8> = Vec::new();
        for _ in 0..n {
            let api = s.index(apis.len(), "operation api")?;
            let method = s.text("operation method")?;
            let method = Method::parse_bytes(method).ok_or_else(|| s.bad("operation method"))?;
            let path = s.text("operation path")?;
            if path.first() != Some(&b'/') {
                return Err(s.bad("operation path"));
            }
            let path = NameRef::push_bytes(&mut names, path);
            let id = NameRef::push_bytes(&mut names, s.text("operation id")?);
            operations.push(Operation { api, method, path, id });
        }
        s.end()?;

        let mut s = get(tag::PACKAGES, "PACKAGES")?;
        let n = s.count(6, "package count")?;
        let mut packages = Vec::with_capacity(n);
        for _ in 0..n {
            let id = s.string("package id")?;
            let name = s.string("package name")?;
            let version = s.string("package version")?;
            let published = s.u8("package published")? != 0;
            let limits = s.limits()?;
            let m = s.count(2, "package operation count")?;
            let mut ops = Vec::with_capacity(m);
            for _ in 0..m {
                let operation = s.index(operations.len(), "package operation")?;
                let limits = match s.u8("override flag")? {
                    0 => None,
                    1 => Some(s.limits()?),
                    _ => return Err(s.bad("override flag")),
                };
                ops.push(PackageOperation { operation, limits });
            }
            packages.push(Package {
                id,
                name,
                version,
                published,
                limits,
                operations: ops,
            });
        }
        s.end()?;

        let mut s = get(tag::APPLICATIONS, "APPLICATIONS")?;
        let n = s.count(3, "application count")?;
        let mut applications = Vec::with_capacity(n);
        names.reserve(s.r.remaining());
        for _ in 0..n {
            // UTF-8 is checked once for the whole buffer below (a check per name cost 3% of a
            // load's wasm instructions); a name that starts with a continuation byte would pass
            // that check while not being UTF-8 on its own, so that is refused here.
            let len = s.r.varint("application name").map_err(|e| s.fail(e))? as usize;
            let text = s.r.bytes(len, "application name").map_err(|e| s.fail(e))?;
            if text.first().is_some_and(|&b| (0x80..0xc0).contains(&b)) {
                return Err(s.bad("application name"));
            }
            let name = NameRef::push_bytes(&mut names, text);
            let strategy = s.index(strategies.len(), "application strategy")?;
            let m = s.count(2, "grant count")?;
            // Not `with_capacity`: its out-of-line reserve was 5% of a load, and two fit inline.
            let mut grants = smallvec::SmallVec::new();
            for _ in 0..m {
                let grant = match s.u8("grant kind")? {
                    0 => Grant::Api(s.index(apis.len(), "grant api")?),
                    1 => Grant::Package(s.index(packages.len(), "grant package")?),
                    _ => return Err(s.bad("grant kind")),
                };
                grants.push(grant);
            }
            applications.push(Application { name, strategy, grants });
        }
        // Every piece starts on a character boundary, so the whole being UTF-8 makes each piece so.
        let names = String::from_utf8(names).map_err(|_| s.bad("application name"))?;
        s.end()?;

        let mut s = get(tag::CREDENTIALS, "CREDENTIALS")?;
        let n = s.count(CREDENTIAL_RECORD, "credential count")?;
        let records = s.r.bytes(n * CREDENTIAL_RECORD, "credentials").map_err(|e| s.fail(e))?;
        let mut credentials: Vec<Credential> = Vec::with_capacity(n);
        let apps = u32::try_from(applications.len()).map_err(|_| s.bad("application count"))?;
        for record in records.chunks_exact(CREDENTIAL_RECORD) {
            let Some((digest, application)) = record.split_first_chunk::<DIGEST_LEN>() else {
                return Err(s.bad("credential"));
            };
            let application = application
                .first_chunk::<4>()
                .map_or(u32::MAX, |a| u32::from_le_bytes(*a));
            if application >= apps {
                return Err(s.bad("credential application"));
            }
            // In byte order, the order lookups rely on.
            if credentials.last().is_some_and(|c| c.digest >= *digest) {
                return Err(s.bad("credentials not strictly ascending"));
            }
            credentials.push(Credential {
                digest: *digest,
                application,
            });
        }
        s.end()?;

        // Enforcement last: it references an application.
        let mut s = get(tag::ENFORCEMENT, "ENFORCEMENT")?;
        let match_policy = match s.u8("match_policy")? {
            0 => MatchPolicy::Required,
            1 => MatchPolicy::IfPresent,
            _ => return Err(s.bad("match_policy")),
        };
        let rate_limit_headers = match s.u8("rate_limit_headers")? {
            0 => RateLimitHeaders::Ietf,
            1 => RateLimitHeaders::Draft03,
            2 => RateLimitHeaders::None,
            _ => return Err(s.bad("rate_limit_headers")),
        };
        let hide_credentials = match s.u8("hide_credentials")? {
            0 => false,
            1 => true,
            _ => return Err(s.bad("hide_credentials")),
        };
        let cors_preflight_pass = match s.u8("cors_preflight")? {
            0 => true,
            1 => false,
            _ => return Err(s.bad("cors_preflight")),
        };
        let anonymous = match s.u32("anonymous")? {
            NO_APPLICATION => None,
            i if (i as usize) < applications.len() => Some(i),
            _ => return Err(s.bad("anonymous")),
        };
        s.end()?;
        let enforcement = Enforcement {
            match_policy,
            rate_limit_headers,
            hide_credentials,
            cors_preflight_pass,
            anonymous,
        };

        Ok(Bundle {
            version,
            compiler,
            catalog,
            enforcement,
            strategies,
            apis,
            operations,
            packages,
            applications,
            credentials,
            names,
        })
    }

    /// Appends an operation, its path and id going into [`Bundle::names`]; returns its index.
    pub fn push_operation(&mut self, api: u32, method: Method, path: &str, id: &str) -> u32 {
        let path = NameRef::push(&mut self.names, path);
        let id = NameRef::push(&mut self.names, id);
        self.operations.push(Operation { api, method, path, id });
        u32::try_from(self.operations.len() - 1).unwrap_or(u32::MAX)
    }

    /// An operation's id (`""` for an index out of range).
    pub fn operation_id(&self, operation: u32) -> &str {
        self.operations.get(operation as usize).map_or("", |o| self.name(o.id))
    }

    /// The text of a name in [`Bundle::names`] (`""` for a reference that is not in it).
    pub fn name(&self, name: NameRef) -> &str {
        let start = name.start as usize;
        self.names
            .get(start..start.saturating_add(name.len as usize))
            .unwrap_or("")
    }

    /// An application's name (`""` for an index out of range).
    pub fn application_name(&self, application: u32) -> &str {
        self.applications
            .get(application as usize)
            .map_or("", |a| self.name(a.name))
    }

    /// The application that owns `digest`, if any (binary search).
    pub fn credential(&self, digest: &[u8; DIGEST_LEN]) -> Option<u32> {
        self.credentials
            .binary_search_by(|c| c.digest.cmp(digest))
            .ok()
            .and_then(|i| self.credentials.get(i))
            .map(|c| c.application)
    }
}

/// A bundle that cannot be encoded: a count, index or string exceeds the format's 32-bit fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeError;

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bundle too large: a count or string exceeds 4 GiB")
    }
}

impl std::error::Error for EncodeError {}

impl From<crate::bytes::TooLarge> for EncodeError {
    fn from(_: crate::bytes::TooLarge) -> Self {
        EncodeError
    }
}

impl Bundle {
    /// Encodes the bundle in the format above (always the current major/minor). The layout is
    /// defined once, here beside the decoder; the compiler builds a [`Bundle`] and calls this.
    /// Deterministic: the same bundle gives the same bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        use crate::bytes::Writer;
        fn limits(w: &mut Writer, limits: &[Limit]) -> Result<(), EncodeError> {
            w.var(limits.len())?;
            for l in limits {
                w.u64(l.count);
                w.u32(l.window_seconds);
            }
            Ok(())
        }
        let mut sections: Vec<(u32, Writer)> = Vec::new();

        let mut w = Writer::default();
        w.str(&self.compiler)?;
        w.str(&self.catalog)?;
        sections.push((tag::META, w));

        let mut w = Writer::default();
        let e = &self.enforcement;
        w.u8(match e.match_policy {
            MatchPolicy::Required => 0,
            MatchPolicy::IfPresent => 1,
        });
        w.u8(match e.rate_limit_headers {
            RateLimitHeaders::Ietf => 0,
            RateLimitHeaders::Draft03 => 1,
            RateLimitHeaders::None => 2,
        });
        w.u8(u8::from(e.hide_credentials));
        w.u8(u8::from(!e.cors_preflight_pass));
        w.u32(e.anonymous.unwrap_or(NO_APPLICATION));
        sections.push((tag::ENFORCEMENT, w));

        let mut w = Writer::default();
        w.var(self.strategies.len())?;
        for s in &self.strategies {
            let (kind, names): (u8, &[String]) = match &s.kind {
                StrategyKind::KeyAuth(names) => (0, names),
                StrategyKind::Header(h) => (1, std::slice::from_ref(h)),
            };
            w.u8(kind);
            w.str(&s.name)?;
            w.var(names.len())?;
            for n in names {
                w.str(n)?;
            }
        }
        sections.push((tag::STRATEGIES, w));

        let mut w = Writer::default();
        w.var(self.apis.len())?;
        for a in &self.apis {
            w.str(&a.name)?;
            w.str(&a.version)?;
            w.str(&a.base_path)?;
            w.var(a.hosts.len())?;
            for h in &a.hosts {
                w.str(h)?;
            }
        }
        sections.push((tag::APIS, w));

        let mut w = Writer::default();
        w.var(self.operations.len())?;
        for o in &self.operations {
            w.var(o.api as usize)?;
            w.str(o.method.as_str())?;
            w.str(self.name(o.path))?;
            w.str(self.name(o.id))?;
        }
        sections.push((tag::OPERATIONS, w));

        let mut w = Writer::default();
        w.var(self.packages.len())?;
        for p in &self.packages {
            w.str(&p.id)?;
            w.str(&p.name)?;
            w.str(&p.version)?;
            w.u8(u8::from(p.published));
            limits(&mut w, &p.limits)?;
            w.var(p.operations.len())?;
            for po in &p.operations {
                w.var(po.operation as usize)?;
                match &po.limits {
                    None => w.u8(0),
                    Some(l) => {
                        w.u8(1);
                        limits(&mut w, l)?;
                    }
                }
            }
        }
        sections.push((tag::PACKAGES, w));

        let mut w = Writer::default();
        w.var(self.applications.len())?;
        for a in &self.applications {
            w.str(self.name(a.name))?;
            w.var(a.strategy as usize)?;
            w.var(a.grants.len())?;
            for g in &a.grants {
                match *g {
                    Grant::Api(i) => {
                        w.u8(0);
                        w.var(i as usize)?;
                    }
                    Grant::Package(i) => {
                        w.u8(1);
                        w.var(i as usize)?;
                    }
                }
            }
        }
        sections.push((tag::APPLICATIONS, w));

        let mut w = Writer::default();
        w.var(self.credentials.len())?;
        for c in &self.credentials {
            w.bytes(&c.digest);
            w.u32(c.application);
        }
        sections.push((tag::CREDENTIALS, w));

        sections.sort_by_key(|(t, _)| *t);
        let mut body = Writer::default();
        for (t, w) in &sections {
            body.u32(*t);
            body.len(w.buf.len())?;
            body.bytes(&w.buf);
        }
        let mut out = Writer::default();
        out.bytes(&MAGIC);
        out.u16(MAJOR);
        out.u16(MINOR);
        out.len(body.buf.len())?;
        out.u32(body_checksum(&body.buf));
        out.len(sections.len())?;
        out.bytes(&body.buf);
        Ok(out.buf)
    }
}
