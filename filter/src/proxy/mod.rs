//! The proxy-wasm glue: the ABI 0.2.1 exports Envoy calls, a per-VM [`Filter`] that loads the
//! bundle into an [`Engine`], and per-request handling that reads the request headers once, asks
//! the engine, and applies the decision. All policy lives in the engine; this module only moves
//! bytes between the host and it.
//!
//! The exports are written out here rather than taken from the proxy-wasm SDK's dispatcher: the
//! SDK boxes a context per stream in a SipHash map and exports every callback (body, trailers,
//! log…), each of which Envoy then calls; measured in Envoy (V8), that framework cost about
//! 4–7 µs of CPU per request (A/B runs of otherwise identical builds, README "Benchmarks"), more than
//! a warm decision. A stream here costs nothing until it is charged: only charged streams keep state
//! (their rate-limit headers, until the response).

mod abi;
mod claims;
mod global;

use std::borrow::Cow;
use std::cell::RefCell;

use smallvec::SmallVec;

use crate::engine::{Allow, Decision, Deny, Engine, Headers, Hide, KeyCache, Reason, Request};
use crate::headers::{deny_headers, RateLimitState};
use crate::limiter::{SetResult, Store, StoreError, Stored};
use crate::pending::Pending;
use abi::{LogLevel, Map};

/// `proxy_on_request_headers` / `proxy_on_response_headers` results.
const CONTINUE: u32 = 0;
const PAUSE: u32 = 1;

/// Metric ids, defined once per VM.
#[derive(Debug, Default, Clone)]
struct Metrics {
    allowed: u32,
    passed: u32,
    denied: [u32; Reason::ALL.len()],
    /// Plugin configurations refused by `on_configure` (the previous bundle kept serving).
    config_rejected: u32,
    /// Bucket keys this Envoy created in shared data, and their bytes (key + value). Envoy never
    /// deletes a shared-data key, so these are the store's size (docs/envoy.md, "Live updates").
    keys_created: u32,
    key_bytes_created: u32,
    /// Calls to the rate limit service this Envoy has in flight (a gauge; global modes).
    global_calls: u32,
}

impl Metrics {
    fn define() -> Metrics {
        let counter = |name: &str| abi::define_counter(name).unwrap_or(u32::MAX);
        let mut m = Metrics {
            allowed: counter("acepack.requests_allowed"),
            passed: counter("acepack.requests_passed"),
            denied: [0; Reason::ALL.len()],
            config_rejected: counter("acepack.config_rejected"),
            keys_created: counter("acepack.shared_data_keys_created"),
            key_bytes_created: counter("acepack.shared_data_bytes_created"),
            global_calls: abi::define_gauge("acepack.global_calls_in_flight").unwrap_or(u32::MAX),
        };
        for (slot, reason) in m.denied.iter_mut().zip(Reason::ALL) {
            *slot = counter(&format!("acepack.requests_denied.{}", reason.as_str()));
        }
        m
    }

    fn denied(&self, reason: Reason) {
        if let Some(pos) = Reason::ALL.iter().position(|r| *r == reason) {
            if let Some(id) = self.denied.get(pos) {
                abi::increment(*id, 1);
            }
        }
    }
}

/// Everything one VM keeps. A VM runs on one worker thread and one callback at a time.
#[derive(Default)]
struct Filter {
    engine: Option<Engine>,
    metrics: Option<Metrics>,
    /// Registered keys seen by this VM (spares their SHA-256).
    keys: KeyCache,
    /// Charged streams waiting for their response headers, by context id (removed at the response
    /// or when the stream is deleted, so bounded by the streams in flight).
    pending: Pending<RateLimitState>,
    /// Where response header values are formatted (kept: no allocation per response).
    scratch: String,
    /// Requests waiting for, or decided by, the rate limit service (global modes).
    global: global::Global,
}

thread_local! {
    static FILTER: RefCell<Filter> = RefCell::new(Filter::default());
}

/// Runs `f` on this VM's [`Filter`]; `None` if it is already in use (a re-entrant callback).
fn with_filter<T>(f: impl FnOnce(&mut Filter) -> T) -> Option<T> {
    FILTER.with(|cell| cell.try_borrow_mut().ok().map(|mut filter| f(&mut filter)))
}

/// The reactor's start function, which the host calls once. Calling `__wasm_call_ctors` here
/// (as crt1-reactor and the proxy-wasm SDK do) also keeps wasm-ld from wrapping every export in
/// a "command" wrapper that runs the constructors before and wasi-libc's exit-time destructors
/// (stdio flushing) after each call — work it would do at every callback of every stream.
#[no_mangle]
pub extern "C" fn _initialize() {
    abi::call_ctors();
}

#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

/// Memory for the host to copy into; taken back by [`abi`] as [`abi::HostBytes`].
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    abi::allocate(size)
}

#[no_mangle]
pub extern "C" fn proxy_on_vm_start(_root_id: u32, _size: usize) -> bool {
    true
}

#[no_mangle]
pub extern "C" fn proxy_on_configure(_root_id: u32, _size: usize) -> bool {
    with_filter(Filter::configure).unwrap_or(false)
}

#[no_mangle]
pub extern "C" fn proxy_on_request_headers(context_id: u32, _headers: usize, _end_of_stream: bool) -> u32 {
    // A request the filter cannot look at (a re-entrant call, which Envoy does not make) is refused.
    with_filter(|f| f.request_headers(context_id)).unwrap_or_else(|| fail_closed(Reason::HostUnavailable))
}

/// Refuses a request with 503 when there is no engine to ask (`not_configured`) or the filter
/// cannot be reached (`host_unavailable`): never admit what was not decided.
fn fail_closed(reason: Reason) -> u32 {
    let _ = abi::send_response(503, &[("content-type", "application/json")], reason.body().as_bytes());
    PAUSE
}

#[no_mangle]
pub extern "C" fn proxy_on_response_headers(context_id: u32, _headers: usize, _end_of_stream: bool) -> u32 {
    with_filter(|f| f.response_headers(context_id));
    CONTINUE
}

/// Proxy-wasm shared data as the limiter's store. Counts the bucket keys it creates: a key read
/// as missing and then written is new (a racing creator's insert fails, see [`crate::limiter`]).
struct SharedData<'a> {
    metrics: Option<&'a Metrics>,
    /// The last key read as missing (only then allocated: a first request of a bucket).
    missing: Option<Vec<u8>>,
}

impl Store for SharedData<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Stored>, StoreError> {
        match abi::get_shared(key) {
            Ok(Some((value, cas))) => Ok(Some((SmallVec::from_slice(&value), cas))),
            Ok(None) => {
                self.missing = Some(key.to_vec());
                Ok(None)
            }
            Err(_) => Err(StoreError),
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8], cas: u32) -> Result<SetResult, StoreError> {
        match abi::set_shared(key, value, cas) {
            Ok(()) => {
                if let (Some(m), true) = (self.metrics, self.missing.as_deref() == Some(key)) {
                    abi::increment(m.keys_created, 1);
                    abi::increment(m.key_bytes_created, (key.len() + value.len()) as i64);
                    self.missing = None;
                }
                Ok(SetResult::Ok)
            }
            Err(abi::Status(abi::CAS_MISMATCH)) => Ok(SetResult::CasMismatch),
            Err(_) => Err(StoreError),
        }
    }
}

/// Request headers as the host serialized them. Values are checked for UTF-8 only when the engine
/// asks for them; a value that is not UTF-8 reads as U+FFFD, which no registered key is.
struct RawHeaders<'a>(&'a [(&'a [u8], &'a [u8])]);

impl Headers for RawHeaders<'_> {
    fn get(&self, lower_name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(lower_name.as_bytes()))
            .map(|(_, v)| utf8(v))
    }
}

/// Whether `name` is the lower-case ASCII name `lower`, ignoring the case of letters: a letter's
/// case is its 0x20 bit, and `b | 0x20` equals a lower-case letter only for that letter's two
/// cases.
#[inline(always)]
fn is_named<const N: usize>(name: &[u8], lower: &[u8; N]) -> bool {
    name.len() == N && starts_named(name, lower)
}

/// Whether `name` starts with `lower` in the sense of [`is_named`]. `lower` is a constant, so
/// this unrolls into one compare per byte (no wide-integer arithmetic, which wasm emulates).
#[inline(always)]
fn starts_named<const N: usize>(name: &[u8], lower: &[u8; N]) -> bool {
    let Some(head) = name.first_chunk::<N>() else {
        return false;
    };
    head.iter()
        .zip(lower)
        .all(|(&b, &l)| b | if l.is_ascii_lowercase() { 0x20 } else { 0 } == l)
}

/// Whether a header name is in the `x-ace-` namespace, which only the filter may set.
fn is_ace(name: &[u8]) -> bool {
    starts_named(name, b"x-ace-")
}

/// What one pass over the request headers finds: the first `:method`, `:path`, `:authority` and
/// `host` values, and whether any `x-ace-*` header was sent. Names are compared case-insensitively
/// (Envoy lower-cases them; other hosts might not) and by length first.
#[derive(Default)]
struct Seen<'a> {
    method: &'a [u8],
    path: &'a [u8],
    authority: Option<&'a [u8]>,
    host: Option<&'a [u8]>,
    spoofed: bool,
}

impl<'a> Seen<'a> {
    fn of(pairs: &[(&'a [u8], &'a [u8])]) -> Seen<'a> {
        let (mut method, mut path) = (None, None);
        let mut seen = Seen::default();
        for &(name, value) in pairs {
            let slot = match name.len() {
                7 if is_named(name, b":method") => &mut method,
                5 if is_named(name, b":path") => &mut path,
                10 if is_named(name, b":authority") => &mut seen.authority,
                4 if is_named(name, b"host") => &mut seen.host,
                _ => {
                    seen.spoofed |= is_ace(name);
                    continue;
                }
            };
            slot.get_or_insert(value);
        }
        seen.method = method.unwrap_or_default();
        seen.path = path.unwrap_or_default();
        seen
    }
}

/// A header value as `&str`; not UTF-8 reads as U+FFFD, which matches nothing.
fn utf8(value: &[u8]) -> &str {
    abi::ascii(value)
        .or_else(|| std::str::from_utf8(value).ok())
        .unwrap_or("\u{fffd}")
}

/// Header bytes as text: valid UTF-8 as is, anything else with the offending bytes
/// percent-encoded (so a non-UTF-8 path still canonicalizes the way an upstream would see it).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(s) = abi::ascii(bytes) {
        return Cow::Borrowed(s);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() * 3);
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            Cow::Owned(out)
        }
    }
}

/// The IP of `source.address` (`1.2.3.4:5678`, `[::1]:5678`), without the port.
fn client_ip() -> Option<String> {
    let raw = abi::property(&["source", "address"]).ok().flatten()?;
    let s = String::from_utf8(raw.to_vec()).ok()?;
    let ip = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or("").to_owned()
    } else {
        s.rsplit_once(':').map(|(ip, _)| ip.to_owned()).unwrap_or(s)
    };
    Some(ip)
}

fn deny(engine: &Engine, metrics: Option<&Metrics>, d: &Deny) {
    if let Some(m) = metrics {
        m.denied(d.reason);
    }
    let headers = deny_headers(engine, d);
    let pairs: SmallVec<[(&str, &str); 5]> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if abi::send_response(d.status, &pairs, d.reason.body().as_bytes()).is_err() {
        abi::log(LogLevel::Error, "acepack: the host refused a local response");
    }
}

/// Removes every client-sent `x-ace-*` request header (`spoofed` is the request's header list
/// when it has any): only the filter may set them, on every request it forwards — allowed,
/// passed through under `if_present`, or a CORS preflight.
fn strip_spoofed(spoofed: Option<&[(&[u8], &[u8])]>) {
    for (name, _) in spoofed.unwrap_or_default() {
        if is_ace(name) {
            let _ = abi::remove_header(Map::RequestHeaders, name);
        }
    }
}

/// Applies an allow: `x-ace-*` request headers (spoofed ones removed first) and credential hiding.
fn allow(engine: &Engine, a: &Allow, spoofed: Option<&[(&[u8], &[u8])]>) {
    let b = engine.bundle();
    // Spoofed x-ace-* headers first, then ours (added: no copy is left to replace).
    strip_spoofed(spoofed);
    if let Some(op) = b.operations.get(a.operation as usize) {
        let _ = abi::add_header(Map::RequestHeaders, "x-ace-operation-id", b.name(op.id));
    }
    if let Some(app) = b.applications.get(a.application as usize) {
        let _ = abi::add_header(Map::RequestHeaders, "x-ace-application", b.name(app.name));
    }
    if let Some(p) = a.package.and_then(|p| b.packages.get(p as usize)) {
        let _ = abi::add_header(Map::RequestHeaders, "x-ace-package", &p.id);
    }
    match &a.hide {
        Some(Hide::Header(name)) => {
            let _ = abi::remove_header(Map::RequestHeaders, name.as_bytes());
        }
        Some(Hide::Path(path)) => {
            let _ = abi::set_header(Map::RequestHeaders, ":path", path);
        }
        None => {}
    }
}

impl Filter {
    /// Loads the plugin configuration: the bundle's bytes, or the JSON form carrying it
    /// ([`crate::plugin_config`]). A failure keeps the previous engine, if any, counts
    /// `acepack.config_rejected`, logs one line and makes Envoy reject the configuration.
    fn configure(&mut self) -> bool {
        let started = abi::now_us().unwrap_or(0);
        if self.metrics.is_none() {
            self.metrics = Some(Metrics::define());
        }
        let accepted = self.load(started);
        if !accepted {
            if let Some(m) = &self.metrics {
                abi::increment(m.config_rejected, 1);
            }
        }
        accepted
    }

    fn load(&mut self, started: u64) -> bool {
        let config = match abi::plugin_configuration() {
            Ok(c) => c,
            Err(s) => {
                abi::log(
                    LogLevel::Error,
                    &format!("acepack: cannot read the plugin configuration (host status {})", s.0),
                );
                return false;
            }
        };
        let bytes = match crate::plugin_config::bundle_bytes(&config) {
            Ok(b) => b,
            Err(e) => {
                abi::log(LogLevel::Error, &format!("acepack: configuration rejected: {e}"));
                return false;
            }
        };
        match Engine::load(&bytes) {
            Ok(engine) => {
                let b = engine.bundle();
                abi::log(
                    LogLevel::Info,
                    &format!(
                        "acepack: loaded bundle of {} ({} operations, {} packages, {} applications, {} credentials) in {} ms",
                        b.catalog,
                        b.operations.len(),
                        b.packages.len(),
                        b.applications.len(),
                        b.credentials.len(),
                        abi::now_us().unwrap_or(0).saturating_sub(started) / 1_000
                    ),
                );
                self.engine = Some(engine);
                // Credentials of the previous bundle may be gone.
                self.keys = KeyCache::new();
                true
            }
            Err(e) => {
                abi::log(
                    LogLevel::Error,
                    &format!(
                        "acepack: configuration rejected, invalid bundle ({} bytes{}): {e}",
                        bytes.len(),
                        if crate::plugin_config::is_json(&config) {
                            ", from JSON"
                        } else {
                            ""
                        }
                    ),
                );
                false
            }
        }
    }

    fn request_headers(&mut self, context_id: u32) -> u32 {
        let Some(engine) = &self.engine else {
            // Never configured successfully.
            return fail_closed(Reason::NotConfigured);
        };
        let metrics = self.metrics.as_ref();
        let host_unavailable = Deny {
            status: 503,
            reason: Reason::HostUnavailable,
            retry_after: None,
            www_authenticate: false,
            operation: None,
            application: None,
            charge: None,
        };
        let Ok(raw) = abi::header_map(Map::RequestHeaders) else {
            deny(engine, metrics, &host_unavailable);
            return PAUSE;
        };
        let mut pairs: SmallVec<[(&[u8], &[u8]); 24]> = SmallVec::new();
        abi::pairs(&raw, &mut pairs);
        let seen = Seen::of(&pairs);
        let headers = RawHeaders(&pairs);
        let method = utf8(seen.method);
        let authority = utf8(seen.authority.or(seen.host).unwrap_or_default());
        let path = text(seen.path);
        let anonymous = engine.bundle().enforcement.anonymous.is_some();
        let ip = if anonymous { client_ip() } else { None };
        let request = Request {
            method,
            path: &path,
            authority,
            headers: &headers,
            client_ip: ip.as_deref(),
        };
        // Buckets refill by this clock: deciding at a made-up time could admit or refuse anyone.
        let Ok(now) = abi::now_us() else {
            deny(engine, metrics, &host_unavailable);
            return PAUSE;
        };
        let mut store = SharedData { metrics, missing: None };
        match engine.decide_with_claims(&request, &claims::HostClaims, &mut store, Some(&mut self.keys), now) {
            Decision::Pass => {
                if let Some(m) = metrics {
                    abi::increment(m.passed, 1);
                }
                strip_spoofed(seen.spoofed.then_some(&pairs[..]));
                CONTINUE
            }
            Decision::Allow(a) if a.charge.is_some() && global::settings(engine).is_some() => {
                self.global
                    .start(engine, metrics, context_id, &a, seen.spoofed.then_some(&pairs[..]))
            }
            Decision::Allow(a) => {
                if let Some(m) = metrics {
                    abi::increment(m.allowed, 1);
                }
                allow(engine, &a, seen.spoofed.then_some(&pairs[..]));
                if let Some(state) = a.charge.as_ref().and_then(RateLimitState::of) {
                    self.pending.insert(context_id, state);
                }
                CONTINUE
            }
            Decision::Deny(d) => {
                deny(engine, metrics, &d);
                PAUSE
            }
        }
    }

    /// Adds the rate-limit headers of a charged stream to the upstream's response.
    fn response_headers(&mut self, context_id: u32) {
        let Some(engine) = &self.engine else {
            return;
        };
        let Some(state) = self.pending.remove(context_id) else {
            self.global.response_headers(engine, context_id, &mut self.scratch);
            return;
        };
        state.emit(engine, &mut self.scratch, |name, value| {
            let _ = abi::set_header(Map::ResponseHeaders, name, value);
        });
    }
}
