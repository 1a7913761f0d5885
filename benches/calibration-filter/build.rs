//! Generates `straight.rs`: `straight`, one function of `STATEMENTS` distinct statements and no
//! loop, so that running it touches about 60 KB of wasm code once (the `code` knob of the
//! calibration filter); and `looped`, the same kind of statements, 16 of them in a loop run
//! `STATEMENTS / 16` times (the `loop` knob: the same work in a few hundred bytes of code).

use std::fmt::Write as _;

/// Statements of the straight-line function (about 18 bytes of wasm each).
const STATEMENTS: usize = 3_500;

fn main() {
    let mut src = String::new();
    let _ = writeln!(
        src,
        "/// Statements in [`straight`] (and, for the `loop` knob, per request)."
    );
    let _ = writeln!(src, "pub const STATEMENTS: usize = {STATEMENTS};");
    let _ = writeln!(src, "/// Mixes `x` through {STATEMENTS} distinct statements.");
    let _ = writeln!(src, "#[inline(never)]");
    let _ = writeln!(src, "pub fn straight(mut x: u64, y: &mut [u64; 32]) -> u64 {{");
    // A fixed LCG: the same code on every build.
    let mut s: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        s >> 11
    };
    let mut statement = |indent: &str| {
        let (a, b, c, r) = (next() % 32, next() % 32, next() | 1, next() % 62 + 1);
        format!("{indent}x = (x ^ y[{a}]).wrapping_mul({c:#x}).rotate_left({r}); y[{b}] = x;\n")
    };
    for _ in 0..STATEMENTS {
        src.push_str(&statement("    "));
    }
    let _ = writeln!(src, "    x\n}}");
    let _ = writeln!(
        src,
        "/// {STATEMENTS} statements like [`straight`]'s, 16 distinct ones in a loop."
    );
    let _ = writeln!(src, "#[inline(never)]");
    let _ = writeln!(src, "pub fn looped(mut x: u64, y: &mut [u64; 32]) -> u64 {{");
    let _ = writeln!(src, "    for _ in 0..std::hint::black_box(STATEMENTS / 16) {{");
    for _ in 0..16 {
        src.push_str(&statement("        "));
    }
    let _ = writeln!(src, "    }}\n    x\n}}");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("straight.rs"), src).expect("OUT_DIR is writable");
    println!("cargo::rerun-if-changed=build.rs");
}
