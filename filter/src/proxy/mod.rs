//! The proxy-wasm glue: a root context that loads the bundle into an [`Engine`], and per-request
//! contexts that read the request headers once, ask the engine, and apply the decision. All policy
//! lives in the engine; this module only moves bytes between the host and it.

mod abi;

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use smallvec::SmallVec;

use crate::engine::{Allow, Decision, Deny, Engine, Headers, Hide, KeyCache, Reason, Request};
use crate::headers::{allow_response_headers, deny_headers, HeaderList};
use crate::limiter::{SetResult, Store, StoreError, Stored};
use abi::Map;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Metric ids, defined once per VM.
#[derive(Debug, Default, Clone)]
struct Metrics {
    allowed: u32,
    passed: u32,
    denied: [u32; Reason::ALL.len()],
}

impl Metrics {
    fn define() -> Metrics {
        let counter = |name: &str| abi::define_counter(name).unwrap_or(u32::MAX);
        let mut m = Metrics {
            allowed: counter("acepack.requests_allowed"),
            passed: counter("acepack.requests_passed"),
            denied: [0; 7],
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

struct Shared {
    engine: Engine,
    metrics: Metrics,
    /// Registered keys seen by this VM (spares their SHA-256); one VM runs one stream at a time.
    keys: RefCell<KeyCache>,
}

#[derive(Default)]
struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = match abi::plugin_configuration() {
            Ok(c) => c,
            Err(s) => {
                abi::log(
                    4,
                    &format!("acepack: cannot read the plugin configuration (host status {})", s.0),
                );
                return false;
            }
        };
        match Engine::load(&config) {
            Ok(engine) => {
                let b = engine.bundle();
                abi::log(
                    2,
                    &format!(
                        "acepack: loaded bundle of {} ({} operations, {} packages, {} applications, {} credentials)",
                        b.catalog,
                        b.operations.len(),
                        b.packages.len(),
                        b.applications.len(),
                        b.credentials.len()
                    ),
                );
                let metrics = self
                    .shared
                    .as_ref()
                    .map(|s| s.metrics.clone())
                    .unwrap_or_else(Metrics::define);
                self.shared = Some(Rc::new(Shared {
                    engine,
                    metrics,
                    keys: RefCell::new(KeyCache::new()),
                }));
                true
            }
            Err(e) => {
                abi::log(
                    4,
                    &format!(
                        "acepack: invalid bundle in plugin configuration ({} bytes): {e}",
                        config.len()
                    ),
                );
                false
            }
        }
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            shared: self.shared.clone(),
            response_headers: HeaderList::new(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    shared: Option<Rc<Shared>>,
    /// Rate-limit headers to add to the upstream's response.
    response_headers: HeaderList,
}

impl Context for Stream {}

/// Proxy-wasm shared data as the limiter's store.
struct SharedData;

impl Store for SharedData {
    fn get(&mut self, key: &[u8]) -> Result<Option<Stored>, StoreError> {
        match abi::get_shared(key) {
            Ok(Some((value, cas))) => Ok(Some((SmallVec::from_vec(value), cas))),
            Ok(None) => Ok(None),
            Err(_) => Err(StoreError),
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8], cas: u32) -> Result<SetResult, StoreError> {
        match abi::set_shared(key, value, cas) {
            Ok(()) => Ok(SetResult::Ok),
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
            .map(|(_, v)| std::str::from_utf8(v).unwrap_or("\u{fffd}"))
    }
}

/// Header bytes as text: valid UTF-8 as is, anything else with the offending bytes
/// percent-encoded (so a non-UTF-8 path still canonicalizes the way an upstream would see it).
fn text(bytes: &[u8]) -> Cow<'_, str> {
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
    let s = String::from_utf8(raw).ok()?;
    let ip = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or("").to_owned()
    } else {
        s.rsplit_once(':').map(|(ip, _)| ip.to_owned()).unwrap_or(s)
    };
    Some(ip)
}

impl Stream {
    fn deny(&mut self, shared: &Shared, d: &Deny) {
        shared.metrics.denied(d.reason);
        let headers = deny_headers(&shared.engine, d);
        let pairs: SmallVec<[(&str, &str); 5]> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if abi::send_response(d.status, &pairs, d.reason.body().as_bytes()).is_err() {
            abi::log(4, "acepack: the host refused a local response");
        }
    }

    fn allow(&mut self, shared: &Shared, a: &Allow, request: &[(&[u8], &[u8])]) {
        abi::increment(shared.metrics.allowed, 1);
        let b = shared.engine.bundle();
        // Spoofed x-ace-* headers first, then ours (added: no copy is left to replace).
        for (name, _) in request {
            if name.len() >= 6 && name.get(..6).is_some_and(|p| p.eq_ignore_ascii_case(b"x-ace-")) {
                let _ = abi::remove_header(Map::RequestHeaders, name);
            }
        }
        if let Some(op) = b.operations.get(a.operation as usize) {
            let _ = abi::add_header(Map::RequestHeaders, "x-ace-operation-id", &op.id);
        }
        if let Some(app) = b.applications.get(a.application as usize) {
            let _ = abi::add_header(Map::RequestHeaders, "x-ace-application", &app.name);
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
        self.response_headers = allow_response_headers(&shared.engine, a);
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _n: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Never configured: fail closed.
            let _ = abi::send_response(
                503,
                &[("content-type", "application/json")],
                Reason::LimiterUnavailable.body().as_bytes(),
            );
            return Action::Pause;
        };
        let raw = match abi::header_map(Map::RequestHeaders) {
            Ok(raw) => raw,
            Err(_) => {
                self.deny(
                    &shared,
                    &Deny {
                        status: 503,
                        reason: Reason::LimiterUnavailable,
                        retry_after: None,
                        www_authenticate: false,
                        operation: None,
                        application: None,
                        charge: None,
                    },
                );
                return Action::Pause;
            }
        };
        let mut pairs: SmallVec<[(&[u8], &[u8]); 24]> = SmallVec::new();
        abi::pairs(&raw, &mut pairs);
        let headers = RawHeaders(&pairs);
        let method = headers.get(":method").unwrap_or("");
        let authority = headers.get(":authority").or_else(|| headers.get("host")).unwrap_or("");
        let raw_path = pairs.iter().find(|(k, _)| *k == b":path").map_or(&b""[..], |(_, v)| *v);
        let path = text(raw_path);
        let anonymous = shared.engine.bundle().enforcement.anonymous.is_some();
        let ip = if anonymous { client_ip() } else { None };
        let request = Request {
            method,
            path: &path,
            authority,
            headers: &headers,
            client_ip: ip.as_deref(),
        };
        let now = abi::now_us().unwrap_or(0);
        let decision = match shared.keys.try_borrow_mut() {
            Ok(mut keys) => shared
                .engine
                .decide_cached(&request, &mut SharedData, Some(&mut keys), now),
            Err(_) => shared.engine.decide(&request, &mut SharedData, now),
        };
        match decision {
            Decision::Pass => {
                abi::increment(shared.metrics.passed, 1);
                Action::Continue
            }
            Decision::Allow(a) => {
                self.allow(&shared, &a, &pairs);
                Action::Continue
            }
            Decision::Deny(d) => {
                self.deny(&shared, &d);
                Action::Pause
            }
        }
    }

    fn on_http_response_headers(&mut self, _n: usize, _end_of_stream: bool) -> Action {
        for (name, value) in self.response_headers.drain(..) {
            let _ = abi::set_header(Map::ResponseHeaders, name, &value);
        }
        Action::Continue
    }
}
