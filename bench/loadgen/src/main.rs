//! Tessera's load generator: N workers run one scenario against one or more servers on
//! loopback for a fixed time (or a fixed number of operations), record every operation's
//! latency in an HDR histogram, count failures by status, and print one JSON object.
//!
//! An *operation* is what a scenario counts: one request for the simple scenarios, a round
//! of concurrent refreshes for `refresh-contention`, a whole browser login for `login`.
//! State a scenario needs (codes, refresh tokens, device codes) is made before the clock
//! starts; see `scenario.rs`.

mod browser;
mod fapi;
mod grpc;
mod scenario;

use clap::Parser;
use hdrhistogram::Histogram;
use scenario::{Outcome, Scenario, Setup};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
#[command(about = "Load generator for Tessera's benchmark suite (loopback only)")]
pub struct Args {
    /// The issuer URL; repeat it to spread operations over replicas (round robin).
    #[arg(long = "target", required = true)]
    pub targets: Vec<String>,
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Concurrent workers (for `refresh-contention`: token chains, each refreshed 8 at once).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds to run (after setup).
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Stop after this many operations (whichever comes first with `duration`).
    #[arg(long)]
    pub count: Option<u64>,
    /// Operations per second, all workers together; default: as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long, default_value = "example-app")]
    pub client_id: String,
    #[arg(long, default_value = "ZXhhbXBsZS1hcHAtc2VjcmV0")]
    pub client_secret: String,
    #[arg(long, default_value = "http://127.0.0.1:5555/callback")]
    pub redirect_uri: String,
    /// The password database user for `login`.
    #[arg(long, default_value = "admin@example.com")]
    pub user: String,
    #[arg(long, default_value = "password")]
    pub password: String,
    /// The connector that hands out codes without a password (for code and refresh pools).
    #[arg(long, default_value = "mock")]
    pub code_connector: String,
    /// The connector of the password login.
    #[arg(long, default_value = "local")]
    pub login_connector: String,
    #[arg(long, default_value = "/keys")]
    pub jwks_path: String,
    #[arg(long, default_value = "/token/introspect")]
    pub introspect_path: String,
    /// Extra form fields (`k=v`) for client_credentials requests (the peer's `resource`).
    #[arg(long = "cc-param")]
    pub cc_params: Vec<String>,
    /// Extra form fields for the client_credentials request that makes the token to introspect.
    #[arg(long = "introspect-token-param")]
    pub introspect_token_params: Vec<String>,
    /// `scope` of client_credentials requests (none by default: one signature, no ID token).
    #[arg(long)]
    pub cc_scope: Option<String>,
    /// The gRPC API's address (`http://127.0.0.1:PORT`), for the `grpc-*` scenarios.
    #[arg(long)]
    pub grpc_target: Option<String>,
    /// Clients the `grpc-list-clients` setup creates (all workers together) before listing.
    #[arg(long, default_value_t = 100)]
    pub grpc_clients: u64,
    /// The FAPI scenarios' client (private_key_jwt) and its private key (PKCS#8 PEM), whose
    /// public half the server has as the client's `jwks`.
    #[arg(long, default_value = "fapi-bench")]
    pub fapi_client_id: String,
    #[arg(long, default_value = "bench/fapi-client.pem")]
    pub fapi_key: String,
    /// Refreshes sent at once on one token by `refresh-contention`.
    #[arg(long, default_value_t = 8)]
    pub fan_out: usize,
}

/// One worker's tally; merged at the end.
struct Tally {
    latency: Histogram<u64>,
    ops: u64,
    failures: BTreeMap<String, u64>,
    checks: BTreeMap<String, i64>,
}

impl Tally {
    fn new() -> Result<Self, String> {
        // 1 µs to 120 s, 3 significant figures.
        let latency = Histogram::new_with_bounds(1, 120_000_000, 3).map_err(|e| e.to_string())?;
        Ok(Self { latency, ops: 0, failures: BTreeMap::new(), checks: BTreeMap::new() })
    }

    fn merge(&mut self, other: Tally) -> Result<(), String> {
        self.latency.add(&other.latency).map_err(|e| e.to_string())?;
        self.ops += other.ops;
        for (k, v) in other.failures {
            *self.failures.entry(k).or_default() += v;
        }
        for (k, v) in other.checks {
            *self.checks.entry(k).or_default() += v;
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match run(args).await {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(args: Args) -> Result<Value, String> {
    if let Some(bad) = args.targets.iter().chain(&args.grpc_target).find(|t| !is_loopback(t)) {
        return Err(format!("refusing a non-loopback target: {bad}"));
    }
    let args = Arc::new(args);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(args.concurrency * args.fan_out.max(1) + 4)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;

    let setup_started = Instant::now();
    let mut preparing = Vec::new();
    for worker in 0..args.concurrency {
        let (http, args) = (http.clone(), args.clone());
        preparing.push(tokio::spawn(async move { Setup::prepare(&http, &args, worker).await }));
    }
    let mut workers = Vec::new();
    for handle in preparing {
        workers.push(handle.await.map_err(|e| e.to_string())??);
    }
    let setup_secs = setup_started.elapsed().as_secs_f64();

    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration);
    let mut handles = Vec::new();
    for (index, mut state) in workers.into_iter().enumerate() {
        let (http, args, issued) = (http.clone(), args.clone(), issued.clone());
        handles.push(tokio::spawn(async move {
            let mut tally = Tally::new()?;
            let mut round = index as u64;
            while Instant::now() < deadline {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if args.count.is_some_and(|c| n >= c) {
                    break;
                }
                if let Some(rate) = args.rate {
                    // Operation n starts at n / rate seconds: an open-loop schedule.
                    let at = started + Duration::from_secs_f64(n as f64 / rate);
                    if at >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(at.into()).await;
                }
                let target = &args.targets[(round as usize) % args.targets.len()];
                round += 1;
                let began = Instant::now();
                let outcome = state.step(&http, &args, target).await;
                if matches!(outcome, Outcome::Done) {
                    break;
                }
                let micros = began.elapsed().as_micros() as u64;
                tally.latency.saturating_record(micros.max(1));
                tally.ops += 1;
                match outcome {
                    Outcome::Ok | Outcome::Done => {}
                    Outcome::Failed(why) => *tally.failures.entry(why).or_default() += 1,
                }
            }
            let home = &args.targets[index % args.targets.len()];
            state.finish(&http, &args, home).await;
            for (k, v) in state.checks() {
                *tally.checks.entry(k).or_default() += v;
            }
            Ok::<Tally, String>(tally)
        }));
    }
    let mut total = Tally::new()?;
    for handle in handles {
        total.merge(handle.await.map_err(|e| e.to_string())??)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(report(&args, &total, elapsed, setup_secs))
}

fn report(args: &Args, t: &Tally, elapsed: f64, setup_secs: f64) -> Value {
    let ms = |q: f64| t.latency.value_at_quantile(q) as f64 / 1000.0;
    let failed: u64 = t.failures.values().sum();
    json!({
        "scenario": args.scenario.name(),
        "targets": args.targets,
        "concurrency": args.concurrency,
        "ops": t.ops,
        "ok": t.ops - failed,
        "failed": failed,
        "failures": t.failures,
        "elapsed_s": elapsed,
        "setup_s": setup_secs,
        "ops_per_s": if elapsed > 0.0 { (t.ops - failed) as f64 / elapsed } else { 0.0 },
        "latency_ms": {
            "p50": ms(0.50), "p90": ms(0.90), "p99": ms(0.99), "max": t.latency.max() as f64 / 1000.0,
            "mean": t.latency.mean() / 1000.0,
        },
        "checks": t.checks,
    })
}

fn is_loopback(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .is_some_and(|h| h == "127.0.0.1" || h == "localhost" || h == "[::1]")
}

/// `k=v` pairs from the command line.
pub fn pairs(raw: &[String]) -> Vec<(String, String)> {
    raw.iter().filter_map(|p| p.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect()
}
