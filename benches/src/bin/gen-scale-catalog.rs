//! `gen-scale-catalog OUT_DIR [--scale F] [--seed N]`: writes the scale catalog of docs/budgets.md
//! (`catalog.json`, `specs/*.json`, and `probes.json`: requests with known outcomes) into OUT_DIR
//! and prints its counts. `--scale 0.1` writes a tenth of it. Compile it with
//! `target/release/acepack compile OUT_DIR/catalog.json -o BUNDLE` (or `scripts/gen-scale-catalog
//! --compile`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use acepack_benches::{Config, Plan};

const USAGE: &str = "usage: gen-scale-catalog OUT_DIR [--scale F] [--seed N]";

fn main() -> ExitCode {
    let mut out: Option<PathBuf> = None;
    let mut config = Config::budget();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scale" => match args.next().and_then(|v| v.parse::<f64>().ok()) {
                Some(f) if f > 0.0 && f.is_finite() => {
                    let seed = config.seed;
                    config = Config::scaled(f);
                    config.seed = seed;
                }
                _ => return usage("--scale needs a positive number"),
            },
            "--seed" => match args.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(s) => config.seed = s,
                None => return usage("--seed needs an integer"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other if out.is_none() && !other.starts_with('-') => out = Some(PathBuf::from(other)),
            other => return usage(&format!("unexpected argument {other:?}")),
        }
    }
    let Some(out) = out else {
        return usage("OUT_DIR is required");
    };
    let t0 = Instant::now();
    let plan = Plan::new(&config);
    let summary = match plan.write(&out) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gen-scale-catalog: {}: {e}", out.display());
            return ExitCode::from(2);
        }
    };
    // A closed stdout (`| head`) is not an error worth a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", config.stamp());
    let _ = writeln!(stdout, "{summary}");
    let _ = writeln!(
        stdout,
        "generated in {:.2} s: {}",
        t0.elapsed().as_secs_f64(),
        out.join("catalog.json").display()
    );
    ExitCode::SUCCESS
}

fn usage(message: &str) -> ExitCode {
    eprintln!("gen-scale-catalog: {message}\n{USAGE}");
    ExitCode::from(2)
}
