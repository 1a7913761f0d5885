//! `acepack-ratelimit-service`: serves the Envoy rate limit API from a limits file and Redis.
//!
//! Prints `listening on ADDR` on stdout once it accepts connections (so callers that asked for
//! port 0 learn the port), and errors on stderr with exit status 1.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// An Envoy rate limit service (envoy.service.ratelimit.v3) on limitador with Redis storage.
#[derive(Parser)]
#[command(name = "acepack-ratelimit-service", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Redis URL for the counters.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Limits file in limitador's YAML format (`acepack limits CATALOG --for limitador`).
    #[arg(long)]
    limits: PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("acepack-ratelimit-service: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), acepack_ratelimit_service::Error> {
    let limits = acepack_ratelimit_service::load_limits(&args.limits)?;
    let limiter = acepack_ratelimit_service::redis_limiter(&args.redis, limits).await?;
    let listener = acepack_ratelimit_service::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout();
    writeln!(out, "listening on {addr}")?;
    out.flush()?;
    acepack_ratelimit_service::serve(listener, acepack_ratelimit_service::Service::new(limiter)).await
}
