//! `make load`: a fixed number of clients send a mix of creates, reads, lists and conditional
//! updates to the API for a fixed time, then every payment whose create was acknowledged is
//! read back. Prints throughput, latency percentiles, answers per status and errors; exits
//! non-zero if an acknowledged payment is missing or an update acknowledged is not stored.
//!
//! ```text
//! load [--clients N] [--seconds T] [--base-url URL]     (16, 20, http://127.0.0.1:9000)
//! ```
//!
//! Every request goes to `--base-url` only, with a timeout; the run is bounded in time and in
//! requests ([`MAX_REQUESTS`]), so it stops by itself.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::Value;
use tokio::task::JoinSet;

/// The payment every create sends (the README's example).
const PAYMENT_REQUEST: &str = include_str!("../../../../docs/payment-request.json");
/// A ceiling on the measured requests of one run, whatever the clients and time asked.
const MAX_REQUESTS: u64 = 1_000_000;
/// One request of the measured run: far above any sane answer, so a hang shows as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The warm-up: `cargo lambda watch` compiles each function on its first request.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Debug)]
struct Options {
    clients: usize,
    seconds: u64,
    base_url: String,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Options {
            clients: 16,
            seconds: 20,
            base_url: "http://127.0.0.1:9000".to_owned(),
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--clients" => options.clients = number(&flag, &value()?, 1..=256)?,
                "--seconds" => options.seconds = number(&flag, &value()?, 1..=600)?,
                "--base-url" => options.base_url = value()?.trim_end_matches('/').to_owned(),
                "--help" | "-h" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        if !options.base_url.starts_with("http://") && !options.base_url.starts_with("https://") {
            return Err(format!(
                "--base-url must be an http(s) URL: {}",
                options.base_url
            ));
        }
        Ok(options)
    }
}

const USAGE: &str = "usage: load [--clients N (1-256, default 16)] [--seconds T (1-600, default 20)] \
                     [--base-url URL (default http://127.0.0.1:9000)]";

fn number<T>(flag: &str, text: &str, range: std::ops::RangeInclusive<T>) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    text.parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or(format!(
            "{flag} must be a number from {} to {}",
            range.start(),
            range.end()
        ))
}

/// What the clients do, and what each expects to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Operation {
    Create,
    Get,
    List,
    Update,
}

impl Operation {
    fn expected(self) -> StatusCode {
        match self {
            Operation::Create => StatusCode::CREATED,
            _ => StatusCode::OK,
        }
    }
}

/// A payment a client created, as last acknowledged.
#[derive(Debug, Clone)]
struct Acknowledged {
    id: String,
    version: u64,
}

/// What one client saw.
#[derive(Debug, Default)]
struct Observed {
    latencies: Vec<Duration>,
    /// Answers per operation and status.
    statuses: BTreeMap<(Operation, u16), u64>,
    /// Unexpected answers and failed requests, with what went wrong (a few kept per client).
    errors: u64,
    examples: Vec<String>,
    payments: Vec<Acknowledged>,
}

impl Observed {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.examples.len() < 3 {
            self.examples.push(what);
        }
    }
}

struct Api {
    client: Client,
    base_url: String,
    body: Value,
}

impl Api {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url))
            .timeout(REQUEST_TIMEOUT)
    }

    fn create(&self, key: &str) -> RequestBuilder {
        self.request(Method::POST, "/payments")
            .header("Idempotency-Key", key)
            .json(&self.body)
    }

    fn get(&self, id: &str) -> RequestBuilder {
        self.request(Method::GET, &format!("/payments/{id}"))
    }

    fn list(&self) -> RequestBuilder {
        self.request(Method::GET, "/payments?limit=20")
    }

    fn update(&self, payment: &Acknowledged) -> RequestBuilder {
        self.request(Method::PUT, &format!("/payments/{}", payment.id))
            .header("If-Match", format!("\"{}\"", payment.version))
            .json(&self.body)
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let api = Arc::new(Api {
        client: Client::new(),
        base_url: options.base_url.clone(),
        body: serde_json::from_str(PAYMENT_REQUEST).expect("docs/payment-request.json is JSON"),
    });
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default();

    println!(
        "warming up {} (each function answers once)",
        options.base_url
    );
    if let Err(message) = warm_up(&api, run).await {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }

    println!(
        "load: {} clients for {} s against {}",
        options.clients, options.seconds, options.base_url
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let budget = Arc::new(AtomicU64::new(MAX_REQUESTS));
    let mut clients = JoinSet::new();
    for number in 0..options.clients {
        let (api, budget) = (api.clone(), budget.clone());
        clients.spawn(client(
            api,
            format!("load-{run}-{number}"),
            deadline,
            budget,
        ));
    }
    let mut observed = Vec::new();
    while let Some(joined) = clients.join_next().await {
        observed.push(joined.expect("a client does not panic"));
    }
    let elapsed = started.elapsed();

    let missing = verify(&api, &observed).await;
    report(&observed, elapsed, &missing);
    let succeeded = observed.iter().any(|o| !o.payments.is_empty());
    if missing.is_empty() && succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One request of each kind, with a long timeout, until each has answered as expected once.
async fn warm_up(api: &Api, run: u128) -> Result<(), String> {
    let warm = |request: RequestBuilder| request.timeout(WARM_UP_TIMEOUT);
    let created = send_json(warm(api.create(&format!("load-{run}-warm-up")))).await?;
    let payment = Acknowledged {
        id: created["id"]
            .as_str()
            .ok_or("a created payment has an id")?
            .to_owned(),
        version: 1,
    };
    send_json(warm(api.get(&payment.id))).await?;
    send_json(warm(api.list())).await?;
    send_json(warm(api.update(&payment))).await?;
    Ok(())
}

async fn send_json(request: RequestBuilder) -> Result<Value, String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("warm-up answered {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("warm-up answered {status} with {e}"))
}

/// One client: until `deadline`, creates a payment about a third of the time, otherwise reads
/// one of its own, lists, or updates one of its own at the version it last saw.
async fn client(
    api: Arc<Api>,
    name: String,
    deadline: Instant,
    budget: Arc<AtomicU64>,
) -> Observed {
    let mut observed = Observed::default();
    let mut random = XorShift::seeded(&name);
    let mut sequence = 0u64;
    while Instant::now() < deadline && take_one(&budget) {
        let roll = random.below(100);
        let mine = observed.payments.len();
        let (operation, chosen) = match roll {
            _ if mine == 0 => (Operation::Create, None),
            0..30 => (Operation::Create, None),
            30..65 => (Operation::Get, Some(random.below(mine as u64) as usize)),
            65..80 => (Operation::List, None),
            _ => (Operation::Update, Some(random.below(mine as u64) as usize)),
        };
        let request = match (operation, chosen) {
            (Operation::Create, _) => {
                sequence += 1;
                api.create(&format!("{name}-{sequence}"))
            }
            (Operation::Get, Some(i)) => api.get(&observed.payments[i].id),
            (Operation::Update, Some(i)) => api.update(&observed.payments[i]),
            _ => api.list(),
        };
        let sent = Instant::now();
        let result = request.send().await;
        let answer = match result {
            Ok(response) => {
                let status = response.status();
                response.text().await.map(|body| (status, body))
            }
            Err(error) => Err(error),
        };
        observed.latencies.push(sent.elapsed());
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                observed.error(format!("{operation:?}: {error}"));
                continue;
            }
        };
        *observed
            .statuses
            .entry((operation, status.as_u16()))
            .or_default() += 1;
        if status != operation.expected() {
            observed.error(format!("{operation:?} answered {status}: {body}"));
            continue;
        }
        let version = || {
            serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|payment| {
                    Some((
                        payment["id"].as_str()?.to_owned(),
                        payment["version"].as_u64()?,
                    ))
                })
        };
        match (operation, chosen, version()) {
            (Operation::Create, _, Some((id, version))) => {
                observed.payments.push(Acknowledged { id, version });
            }
            (Operation::Update, Some(i), Some((_, version))) => {
                observed.payments[i].version = version
            }
            (Operation::Create | Operation::Update, _, None) => {
                observed.error(format!("{operation:?} answered {status} without a payment"));
            }
            _ => {}
        }
    }
    observed
}

fn take_one(budget: &AtomicU64) -> bool {
    budget
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok()
}

/// Reads back every acknowledged payment, a few at a time; returns those missing or older
/// than acknowledged.
async fn verify(api: &Arc<Api>, observed: &[Observed]) -> Vec<String> {
    let payments: Vec<Acknowledged> = observed.iter().flat_map(|o| o.payments.clone()).collect();
    println!("verifying {} acknowledged payments", payments.len());
    let chunks: Vec<Vec<Acknowledged>> = payments.chunks(64).map(<[_]>::to_vec).collect();
    let mut missing = Vec::new();
    for chunk in chunks {
        let mut reads = JoinSet::new();
        for payment in chunk {
            let api = api.clone();
            reads.spawn(async move {
                let read = send_json(api.get(&payment.id).timeout(REQUEST_TIMEOUT)).await;
                match read {
                    Ok(stored) if stored["version"].as_u64() >= Some(payment.version) => None,
                    Ok(stored) => Some(format!(
                        "{}: version {} stored, {} acknowledged",
                        payment.id, stored["version"], payment.version
                    )),
                    Err(error) => Some(format!("{}: {error}", payment.id)),
                }
            });
        }
        while let Some(joined) = reads.join_next().await {
            missing.extend(joined.expect("a read does not panic"));
        }
    }
    missing
}

fn report(observed: &[Observed], elapsed: Duration, missing: &[String]) {
    let mut latencies: Vec<Duration> = observed.iter().flat_map(|o| o.latencies.clone()).collect();
    latencies.sort_unstable();
    let requests = latencies.len();
    let percentile = |p: f64| {
        let index = ((requests as f64 * p).ceil() as usize).clamp(1, requests.max(1)) - 1;
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let mut statuses: BTreeMap<(Operation, u16), u64> = BTreeMap::new();
    for o in observed {
        for (key, count) in &o.statuses {
            *statuses.entry(*key).or_default() += count;
        }
    }
    let errors: u64 = observed.iter().map(|o| o.errors).sum();
    let acknowledged: usize = observed.iter().map(|o| o.payments.len()).sum();

    println!();
    println!("requests      {requests} in {:.1} s", elapsed.as_secs_f64());
    println!(
        "throughput    {:.1} requests/s",
        requests as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency (ms)  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0)
    );
    println!("answers");
    for ((operation, status), count) in &statuses {
        println!("  {:<8} {status}  {count}", format!("{operation:?}"));
    }
    println!("errors        {errors}");
    for example in observed.iter().flat_map(|o| &o.examples).take(10) {
        println!("  {}", example.chars().take(300).collect::<String>());
    }
    println!("acknowledged  {acknowledged} payments created");
    println!("missing       {} after the run", missing.len());
    for payment in missing.iter().take(10) {
        println!("  {payment}");
    }
}

/// A small deterministic generator: the mix needs no more, and a client's run can be replayed.
struct XorShift(u64);

impl XorShift {
    fn seeded(name: &str) -> Self {
        let seed = name.bytes().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
        });
        Self(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn defaults_are_sixteen_clients_for_twenty_seconds_on_the_local_stack() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.clients, 16);
        assert_eq!(options.seconds, 20);
        assert_eq!(options.base_url, "http://127.0.0.1:9000");
    }

    #[test]
    fn a_run_is_bounded() {
        assert!(parse(&["--clients", "0"]).is_err());
        assert!(parse(&["--clients", "257"]).is_err());
        assert!(parse(&["--seconds", "601"]).is_err());
        assert!(parse(&["--base-url", "ftp://example"]).is_err());
        assert!(parse(&["--verbose"]).is_err());
        let options = parse(&[
            "--clients",
            "4",
            "--seconds",
            "5",
            "--base-url",
            "http://127.0.0.1:9100/",
        ])
        .unwrap();
        assert_eq!((options.clients, options.seconds), (4, 5));
        assert_eq!(options.base_url, "http://127.0.0.1:9100");
    }
}
