//! Spawning bootstraps against the [`RuntimeApi`]: cold starts and peak RSS.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dynamodb_proxy::DynamoDbProxy;
use crate::eventbridge::{self, LocalEventBridge};
use crate::runtime_api::{Invocation, OutcomeKind, RuntimeApi};

/// How long one process may take to poll or to answer before the run counts as failed.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A binary to measure, and the event it is fed.
#[derive(Debug, Clone)]
pub struct Target {
    /// The function's name (`get-payment`) or the floor's (`floor-hello`).
    pub name: String,
    pub binary: PathBuf,
    /// `events/<function>/<case>.json`.
    pub event: PathBuf,
    pub expected: Expected,
    /// The event changes the payment it names at the version it was created with, or deletes
    /// it, so each invocation needs a payment of its own.
    pub consumes_payment: bool,
}

/// What a correct answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// An API Gateway response with this `statusCode`.
    Status(u16),
    /// A stream batch answered with an empty `batchItemFailures`: every record published.
    NoBatchItemFailures,
    /// No answer: the process is stopped at its first poll and only its init is timed. For a
    /// peer's binary (`bench run --peer`), which reads a table of its own design from a
    /// DynamoDB it finds by itself, so it has nothing to answer here.
    InitOnly,
}

/// The process environment of a Lambda sandbox (provided.al2023, 128 MB, as the template
/// deploys), with credentials in the environment as Lambda gives them, the local table, and the
/// local EventBridge (read by `payment-events` alone; the others ignore it, as they would an
/// unknown variable in Lambda).
pub fn lambda_environment(
    function: &str,
    runtime_api: &str,
    table: &str,
    dynamodb_endpoint: &str,
    eventbridge_endpoint: &str,
) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            &format!("/aws/lambda/{function}"),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/24/[$LATEST]bench"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ("_HANDLER", "bootstrap"),
        ("TZ", ":UTC"),
        ("LANG", "en_US.UTF-8"),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        ("TABLE_NAME", table),
        ("DYNAMODB_ENDPOINT", dynamodb_endpoint),
        ("EVENT_BUS_NAME", eventbridge::BUS_NAME),
        ("EVENTBRIDGE_ENDPOINT", eventbridge_endpoint),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// The CA certificates as Lambda's provided.al2023 lays them out: one PEM bundle, and a
/// certificate directory without the one-file-per-certificate links of Debian's
/// /etc/ssl/certs. The SDK's TLS set-up reads the bundle and every file of the directory at
/// init, so on a Debian host, left alone, it would read some 140 files more than in Lambda, and
/// every binary's init would be longer alike (docs/benchmarks.md, "Trust store").
/// `BENCH_TRUST_STORE=host` keeps the host's layout.
pub fn al2023_trust_store(work_dir: &Path) -> Result<Vec<(String, String)>, String> {
    let bundle = [
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .find(|path| Path::new(path).is_file())
    .ok_or("no CA bundle found (BENCH_TRUST_STORE=host to use the host's layout)")?;
    let directory = std::path::absolute(work_dir.join("empty-cert-dir"))
        .map_err(|e| format!("{}: {e}", work_dir.display()))?;
    std::fs::create_dir_all(&directory).map_err(|e| format!("{}: {e}", directory.display()))?;
    Ok(vec![
        ("SSL_CERT_FILE".to_owned(), bundle.to_owned()),
        (
            "SSL_CERT_DIR".to_owned(),
            directory.to_string_lossy().into_owned(),
        ),
    ])
}

/// One cold start: process start to first `next` poll, and to the first response.
#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    pub init: Duration,
    /// `None` for a target that is timed to its first poll only ([`Expected::InitOnly`]).
    pub total: Option<Duration>,
    /// Of `total`, the time DynamoDB Local took to answer the function's calls.
    pub dynamodb: Duration,
    /// Of `total`, the time the local EventBridge took to answer (`payment-events`).
    pub eventbridge: Duration,
}

/// Peak memory over many warm invocations of one process.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmHWM` of `/proc/<pid>/status`, in KiB.
    pub peak_rss_kib: u64,
    pub invocations: usize,
    /// Wall time from the first to the last response, over `invocations - 1` invocations.
    pub warm_per_invocation: Duration,
}

/// Spawns bootstraps with an environment and a log file.
pub struct Spawner<'a> {
    pub api: &'a RuntimeApi,
    /// What the bootstraps' `DYNAMODB_ENDPOINT` points at.
    pub proxy: &'a DynamoDbProxy,
    /// What the bootstraps' `EVENTBRIDGE_ENDPOINT` points at.
    pub eventbridge: &'a LocalEventBridge,
    pub environment: Vec<(String, String)>,
    pub log_dir: PathBuf,
}

impl Spawner<'_> {
    fn spawn(&self, target: &Target) -> Result<Child, String> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_dir.join(format!("{}.log", target.name)))
            .map_err(|e| format!("log file: {e}"))?;
        let log_err = log.try_clone().map_err(|e| format!("log file: {e}"))?;
        let mut environment = self.environment.clone();
        for (name, value) in &mut environment {
            if name == "AWS_LAMBDA_FUNCTION_NAME" {
                value.clone_from(&target.name);
            }
        }
        Command::new(&target.binary)
            // A group of its own, so that stopping it stops whatever it started too (a
            // profiling wrapper, say).
            .process_group(0)
            .env_clear()
            .envs(environment)
            .current_dir(self.log_dir.as_path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("{}: {e}", target.binary.display()))
    }

    /// Starts `target` with one invocation queued and times its cold start.
    pub fn cold_start(&self, target: &Target, event: Arc<Vec<u8>>) -> Result<ColdStart, String> {
        self.api.reset();
        self.api.enqueue(invocation(0, event));
        self.proxy.reset();
        self.eventbridge.reset();
        let started = Instant::now();
        let mut child = self.spawn(target)?;
        let polled = self.api.wait_first_poll(TIMEOUT);
        if target.expected == Expected::InitOnly {
            stop(&mut child);
            let polled = polled.ok_or_else(|| format!("{}: no poll", target.name))?;
            return Ok(ColdStart {
                init: polled - started,
                total: None,
                dynamodb: Duration::ZERO,
                eventbridge: Duration::ZERO,
            });
        }
        let outcomes = self.api.wait_outcomes(1, TIMEOUT);
        let dynamodb = self.proxy.service_time();
        let eventbridge = self.eventbridge.service_time();
        stop(&mut child);
        let polled = polled.ok_or_else(|| describe_failure(target, &outcomes, "no poll"))?;
        let outcome = outcomes
            .first()
            .ok_or_else(|| format!("{}: no response within {TIMEOUT:?}", target.name))?;
        check(target, &outcome.kind, &outcome.body)?;
        Ok(ColdStart {
            init: polled - started,
            total: Some(outcome.at - started),
            dynamodb,
            eventbridge,
        })
    }

    /// Feeds `events` to one process, one after another, and reads its peak RSS at the end.
    pub fn memory(&self, target: &Target, events: Vec<Arc<Vec<u8>>>) -> Result<Memory, String> {
        self.api.reset();
        let count = events.len();
        for (index, event) in events.into_iter().enumerate() {
            self.api.enqueue(invocation(index, event));
        }
        let mut child = self.spawn(target)?;
        // Generous (DynamoDB Local answers in milliseconds), but bounded if a process hangs.
        let allowed = TIMEOUT + Duration::from_millis(100) * u32::try_from(count).unwrap_or(0);
        let outcomes = self.api.wait_outcomes(count, allowed);
        let peak = peak_rss_kib(child.id());
        stop(&mut child);
        if outcomes.len() < count {
            return Err(describe_failure(target, &outcomes, "too few responses"));
        }
        for outcome in &outcomes {
            check(target, &outcome.kind, &outcome.body)?;
        }
        let span = outcomes[count - 1].at - outcomes[0].at;
        Ok(Memory {
            peak_rss_kib: peak.ok_or("no /proc status")?,
            invocations: count,
            warm_per_invocation: span / u32::try_from(count.max(2) - 1).unwrap_or(1),
        })
    }
}

fn invocation(index: usize, event: Arc<Vec<u8>>) -> Invocation {
    Invocation {
        request_id: format!("00000000-0000-4000-8000-{index:012}"),
        event,
    }
}

fn stop(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signals the process group this driver created for the child, nothing else.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn describe_failure(
    target: &Target,
    outcomes: &[crate::runtime_api::Outcome],
    what: &str,
) -> String {
    let detail = outcomes
        .iter()
        .find(|outcome| outcome.kind != OutcomeKind::Response)
        .map(|outcome| String::from_utf8_lossy(&outcome.body).into_owned())
        .unwrap_or_default();
    format!(
        "{}: {what} (responses: {}) {detail}; see its log under .run/bench",
        target.name,
        outcomes.len()
    )
}

/// A run counts only if the function did its work: an answer of another kind (a 500, a batch
/// item failure) would time a failure path.
fn check(target: &Target, kind: &OutcomeKind, body: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    if *kind != OutcomeKind::Response {
        return Err(format!("{}: {kind:?}: {text}", target.name));
    }
    let response: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let correct = match target.expected {
        Expected::Status(status) => response["statusCode"].as_u64() == Some(u64::from(status)),
        Expected::NoBatchItemFailures => response["batchItemFailures"]
            .as_array()
            .is_some_and(Vec::is_empty),
        // Never asked: `cold_start` stops such a process before it answers.
        Expected::InitOnly => false,
    };
    if !correct {
        return Err(format!(
            "{}: expected {:?}: {text}",
            target.name, target.expected
        ));
    }
    Ok(())
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The bytes of an event file, with the payment id `from` replaced by `to` where given.
pub fn read_event(path: &Path, replace: Option<(&str, &str)>) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = match replace {
        Some((from, to)) => text.replace(from, to),
        None => text,
    };
    Ok(text.into_bytes())
}
