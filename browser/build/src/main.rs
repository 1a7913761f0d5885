//! `acepack-browser-build IN.wasm OUT_DIR`: runs wasm-bindgen (the library behind
//! `wasm-bindgen-cli`, pinned to the `wasm-bindgen` crate's exact version) on the acepack-browser
//! wasm and writes `acepack_browser.js` + `acepack_browser_bg.wasm` for the `no-modules` target:
//! a classic script that defines `wasm_bindgen`, which works from `file://` where ES modules and
//! `fetch()` of sibling files do not. `acepack portal --engine OUT_DIR` copies them into the site.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [input, out] = args.as_slice() else {
        eprintln!("usage: acepack-browser-build IN.wasm OUT_DIR");
        return ExitCode::from(2);
    };
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    let result = bindgen
        .input_path(input)
        .out_name("acepack_browser")
        .no_modules(true)
        .and_then(|b| b.typescript(false).generate(out));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("acepack-browser-build: {}: {e:#}", input.display());
            ExitCode::from(1)
        }
    }
}
