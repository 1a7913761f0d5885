//! `footprint N KEY PATH [BUNDLE]`: sends N allowed, charged requests (`GET PATH`, `apikey: KEY`,
//! host `api.example.com`) through the real `.wasm` in the wasmtime host, configured with BUNDLE
//! (default the scale bundle, `target/scale/scale.bundle`). A driver for
//! `benches/envoy/footprint.py`, which runs it under callgrind with wasmtime's perf map on and
//! counts the guest code a request touches, function by function.

use acepack_host_tests::{filter_wasm_path, Host, HostOptions, Request, VmOptions};

const USAGE: &str = "usage: footprint N KEY PATH [BUNDLE]";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(key), Some(path)) = (args.first(), args.get(1), args.get(2)) else {
        return Err(USAGE.into());
    };
    let n: usize = n.parse().map_err(|_| USAGE.to_string())?;
    let bundle_path = args.get(3).map_or("target/scale/scale.bundle", String::as_str);
    let bundle = std::fs::read(bundle_path).map_err(|e| format!("{bundle_path}: {e}"))?;
    let wasm = filter_wasm_path().map_err(|e| e.to_string())?;
    let host = Host::load_with(wasm, HostOptions::default()).map_err(|e| e.to_string())?;
    let mut vm = host
        .configured_vm(VmOptions::with_config(bundle))
        .map_err(|e| e.to_string())?;
    let req = Request::get(path.as_bytes())
        .header("apikey", key.clone().into_bytes())
        .header("host", "api.example.com");
    for i in 0..n {
        let r = vm.request(&req).map_err(|e| format!("request {i}: {e}"))?;
        if r.status() != Some(200) {
            return Err(format!("request {i} was not allowed: {:?}", r.status()));
        }
    }
    Ok(())
}
