//! R1 (docs/budgets.md, docs/enforcement.md#rate-limits): limits are exact across Envoy's workers. A burst of 10×N requests,
//! each on its own connection, from 8 client threads against one N/minute bucket must admit at
//! least N and at most N + ⌊N × burst seconds / 60⌋ (the tokens refilled during the burst).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use acepack_envoy::{Request, Scenario};

/// burst.yaml: 30/minute.
const N: usize = 30;
const CLIENT_THREADS: usize = 8;

struct Outcome {
    admitted: usize,
    limited: usize,
    other: Vec<String>,
    took: Duration,
}

fn burst(s: &Scenario, key: &str) -> Outcome {
    let total = 10 * N;
    let next = AtomicUsize::new(0);
    let admitted = AtomicUsize::new(0);
    let limited = AtomicUsize::new(0);
    let other = Mutex::new(Vec::new());
    let addr = s.envoy.addr();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CLIENT_THREADS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    break;
                }
                let req = Request::get(&format!("/v1/flights/B{i}")).header("apikey", key);
                match req.send(addr) {
                    Ok(r) if r.status == 200 => {
                        admitted.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) if r.status == 429 => {
                        limited.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => other.lock().unwrap().push(r.summary()),
                    Err(e) => other.lock().unwrap().push(format!("I/O error: {e}")),
                }
            });
        }
    });
    Outcome {
        admitted: admitted.into_inner(),
        limited: limited.into_inner(),
        other: other.into_inner().unwrap(),
        took: start.elapsed(),
    }
}

#[test]
fn bursts_across_two_workers_admit_exactly_the_limit() {
    let s = Scenario::start("burst-r1", "burst.yaml", Some("routes.yaml"));
    let mut report = Vec::new();
    let mut total_admitted = 0;
    for key in [
        "k-burst-1",
        "k-burst-2",
        "k-burst-3",
        "k-burst-4",
        "k-burst-5",
        "k-burst-6",
    ] {
        let o = burst(&s, key);
        let secs = o.took.as_secs_f64();
        let max = N + (N as f64 * secs / 60.0).floor() as usize;
        report.push(format!(
            "{key}: {} admitted, {} limited in {secs:.2}s (allowed range {N}..={max})",
            o.admitted, o.limited
        ));
        assert!(
            o.other.is_empty(),
            "only 200 and 429 expected: {:?}",
            &o.other[..o.other.len().min(5)]
        );
        assert!(
            (N..=max).contains(&o.admitted),
            "R1 violated: {}",
            report.last().unwrap()
        );
        assert_eq!(o.admitted + o.limited, 10 * N);
        total_admitted += o.admitted;
    }
    eprintln!("{}", report.join("\n"));
    assert_eq!(
        s.upstream.count(),
        total_admitted,
        "exactly the admitted requests reached the upstream"
    );
    // The bursts really ran on both workers.
    let per_worker = s.envoy.connections_per_worker();
    assert!(
        per_worker.iter().all(|&c| c > 0),
        "both workers must serve the burst: {per_worker:?}"
    );
    assert!(per_worker.iter().sum::<u64>() >= (60 * N) as u64, "{per_worker:?}");
}
