//! `footprint N KEY PATH [BUNDLE]`: sends N allowed, charged requests (`GET PATH`, `apikey: KEY`,
//! host `api.example.com`) through the real `.wasm` in the wasmtime host, configured with BUNDLE
//! (default the scale bundle, `target/scale/scale.bundle`). A driver for
//! `benches/envoy/footprint.py`, which runs it under callgrind with wasmtime's perf map on and
//! counts the guest code a request touches, function by function. With `ACEPACK_EVICT_MB=M`,
//! it writes to M MiB of other memory before each request, so that the request finds its code and
//! data out of the caches, as a request in a proxy does (`footprint.py --cold`).

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
    let evict_mib: usize = std::env::var("ACEPACK_EVICT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut other = vec![0u8; evict_mib << 20];
    for i in 0..n {
        for line in other.iter_mut().step_by(64) {
            *line = line.wrapping_add(1);
        }
        std::hint::black_box(&other);
        let r = vm.request(&req).map_err(|e| format!("request {i}: {e}"))?;
        if r.status() != Some(200) {
            return Err(format!("request {i} was not allowed: {:?}", r.status()));
        }
    }
    Ok(())
}
