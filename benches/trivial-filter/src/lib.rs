//! The reference filter of the side-by-side Envoy benchmark (`scripts/bench`, docs/budgets.md P2).
//!
//! It does the least a real access-control filter must do: in `on_http_request_headers` it reads
//! three request headers (`:path`, `:authority` and `apikey`) through the proxy-wasm SDK, one host
//! call each, and lets the request continue. What acepack adds on top of this filter is the cost of
//! its own work; what this filter adds over Envoy without a filter is the cost of proxy-wasm itself
//! (a VM call per stream and per callback, the context objects, the header copies).
//!
//! The proxy-wasm code is compiled only for `wasm32`; natively this crate is empty, so that
//! `cargo build --workspace` and `cargo test --workspace` work on the host.
//!
//! Build: `cargo build --release -p acepack-trivial-filter --target wasm32-wasip1`
//! → `target/wasm32-wasip1/release/acepack_trivial_filter.wasm`.
#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod filter {
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Warn);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
    }}

    /// The plugin: creates one [`Stream`] per request.
    struct Root;

    impl Context for Root {}

    impl RootContext for Root {
        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Stream))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    /// One request.
    struct Stream;

    impl Context for Stream {}

    impl HttpContext for Stream {
        fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
            let path = self.get_http_request_header(":path");
            let authority = self.get_http_request_header(":authority");
            let key = self.get_http_request_header("apikey");
            // Keep the reads observable so that nothing is optimized away.
            std::hint::black_box((path, authority, key));
            Action::Continue
        }
    }
}
