//! The calibration filter of the side-by-side Envoy benchmark (`CALIBRATE=1 scripts/bench`).
//!
//! It is the trivial reference filter (`benches/trivial-filter`: reads `:path`, `:authority` and
//! `apikey`, continues) plus one kind of extra work per request, chosen by the plugin
//! configuration, so that the benchmark can price each kind of work a real filter does in Envoy
//! (V8) against the trivial filter, in the same run:
//!
//! | configuration | extra work per request |
//! |---|---|
//! | `calls=N` | N `proxy_get_current_time_nanoseconds` host calls |
//! | `headers=N` | N request headers added (`proxy_add_header_map_value`) |
//! | `code` | one pass through a generated function of 3,500 distinct statements (≈ 60 KB of wasm, run once: code that is cold at each request) |
//! | `loop` | the same number of statements through a 16-statement loop (the same work in ≈ 0.3 KB of code: the control for `code`) |
//! | `lines=N` | N reads, one per cache line, at fixed pseudo-random places of a 16 MiB buffer (data that is cold at each request) |
//! | `contract` | exactly the host calls acepack's allowed, charged request requires (docs/enforcement.md), with constant values and no decision: the clock, a shared-data get and CAS set, a counter, the three `x-ace-*` request headers, and at the response the two rate-limit headers (the floor of what any filter doing acepack's job costs, before its own logic; P2 of docs/budgets.md is measured against it) |
//! | empty | nothing: the trivial filter |
//!
//! The proxy-wasm code is compiled only for `wasm32`; natively this crate is empty.
//!
//! Build: `cargo build --release -p acepack-calibration-filter --target wasm32-wasip1`
//! → `target/wasm32-wasip1/release/acepack_calibration_filter.wasm`.
#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod straight {
    include!(concat!(env!("OUT_DIR"), "/straight.rs"));
}

#[cfg(target_arch = "wasm32")]
mod filter {
    use std::rc::Rc;

    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

    use crate::straight::{looped, straight};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Warn);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
    }}

    /// The extra work of every request.
    #[derive(Debug, Clone, Copy, Default)]
    enum Work {
        #[default]
        Nothing,
        Calls(u32),
        Headers(u32),
        Code,
        Loop,
        Lines(u32),
        Contract,
    }

    impl Work {
        fn parse(config: &str) -> Option<Work> {
            let config = config.trim();
            let count = |v: &str| v.parse::<u32>().ok();
            Some(match config.split_once('=') {
                None if config.is_empty() => Work::Nothing,
                None if config == "code" => Work::Code,
                None if config == "loop" => Work::Loop,
                None if config == "contract" => Work::Contract,
                Some(("calls", n)) => Work::Calls(count(n)?),
                Some(("headers", n)) => Work::Headers(count(n)?),
                Some(("lines", n)) => Work::Lines(count(n)?),
                _ => return None,
            })
        }
    }

    /// Bytes of the `lines` buffer.
    const BUFFER: usize = 16 << 20;
    const LINE: usize = 64;

    /// The plugin: parses its configuration, creates one [`Stream`] per request.
    #[derive(Default)]
    struct Root {
        work: Work,
        buffer: Rc<Vec<u64>>,
        counter: u32,
    }

    impl Context for Root {}

    impl RootContext for Root {
        fn on_configure(&mut self, _size: usize) -> bool {
            let config = self.get_plugin_configuration().unwrap_or_default();
            let Some(work) = std::str::from_utf8(&config).ok().and_then(Work::parse) else {
                proxy_wasm::hostcalls::log(LogLevel::Error, "calibration: unknown configuration").ok();
                return false;
            };
            self.work = work;
            if let Work::Contract = work {
                self.counter =
                    proxy_wasm::hostcalls::define_metric(MetricType::Counter, "calibration.requests").unwrap_or(0);
            }
            if let Work::Lines(_) = work {
                // Filled, so that every page is really there.
                self.buffer = Rc::new((0..BUFFER / 8).map(|i| i as u64).collect());
            }
            true
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Stream {
                work: self.work,
                buffer: Rc::clone(&self.buffer),
                counter: self.counter,
            }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    /// One request.
    struct Stream {
        work: Work,
        buffer: Rc<Vec<u64>>,
        counter: u32,
    }

    /// The shared-data key of `contract`'s one bucket (29 bytes, like acepack's keys).
    const BUCKET: &str = "akCALIBRATIONCALIBRATIONxxxxx";

    impl Context for Stream {}

    impl Stream {
        fn extra(&self, seed: u64) -> u64 {
            let mut y = [seed; 32];
            let mut x = seed;
            match self.work {
                Work::Nothing => {}
                Work::Calls(n) => {
                    for _ in 0..n {
                        let t = proxy_wasm::hostcalls::get_current_time().ok();
                        x ^= t
                            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                            .map_or(0, |d| d.as_nanos() as u64);
                    }
                }
                Work::Headers(n) => {
                    for i in 0..n {
                        self.add_http_request_header(&format!("x-calibration-{i}"), "a-value-of-some-length");
                    }
                }
                Work::Contract => {
                    let t = proxy_wasm::hostcalls::get_current_time().ok();
                    x ^= t
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos() as u64);
                    // A 24-byte value (time + two window levels), written back with its CAS.
                    let (value, cas) = self.get_shared_data(BUCKET);
                    let mut next = value.unwrap_or_else(|| vec![0; 24]);
                    if let Some(b) = next.first_mut() {
                        *b = b.wrapping_add(1);
                    }
                    let _ = self.set_shared_data(BUCKET, Some(&next), cas);
                    let _ = proxy_wasm::hostcalls::increment_metric(self.counter, 1);
                    self.add_http_request_header("x-ace-operation-id", "getFlight");
                    self.add_http_request_header("x-ace-application", "kong-air-ops");
                    self.add_http_request_header("x-ace-package", "org");
                }
                Work::Code => x = straight(x, &mut y),
                Work::Loop => x = looped(x, &mut y),
                Work::Lines(n) => {
                    // The same places on every request: what a lookup in a large table touches.
                    let mut s = 0x1234_5678_u64;
                    let lines = self.buffer.len() * 8 / LINE;
                    for _ in 0..n {
                        s = s
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        let line = (s >> 33) as usize % lines.max(1);
                        x ^= self.buffer.get(line * LINE / 8).copied().unwrap_or(0);
                    }
                }
            }
            x ^ y.iter().fold(0, |a, b| a ^ b)
        }
    }

    impl HttpContext for Stream {
        fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
            let path = self.get_http_request_header(":path");
            let authority = self.get_http_request_header(":authority");
            let key = self.get_http_request_header("apikey");
            let seed = path.as_ref().map_or(0, |p| p.len() as u64);
            let extra = self.extra(std::hint::black_box(seed));
            // Keep the reads and the work observable so that nothing is optimized away.
            std::hint::black_box((path, authority, key, extra));
            Action::Continue
        }

        fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
            if let Work::Contract = self.work {
                self.set_http_response_header("ratelimit-policy", Some("\"org\";q=10000000;w=3600"));
                self.set_http_response_header("ratelimit", Some("\"org\";r=9684206;t=114"));
            }
            Action::Continue
        }
    }
}
