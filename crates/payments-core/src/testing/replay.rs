//! Replays the API Gateway events in `events/<function>/` through a function's handler and
//! checks each against the expectation beside it (`<case>.expected.json`).
//!
//! An expectation reads:
//!
//! ```json
//! {
//!   "given": {
//!     "payments": [{"id": "…", "organisation_id": "…", "version": 2}],
//!     "random_payments": [{"organisation_id": "…", "count": 3}],
//!     "replayed_first": ["created-with-key.json"],
//!     "storage": "ready | missing_table | unreachable"
//!   },
//!   "expect": {
//!     "status": 200,
//!     "headers": {"content-type": "application/json", "etag": "\"2\""},
//!     "body": {"/version": 2, "/links/next": "<present>", "/data": "<length:2>"},
//!     "stored": {"current": 1, "versions": 2, "idempotency": 0},
//!     "metrics": {"PaymentsUpdated": 1, "PreconditionFailures": 0}
//!   }
//! }
//! ```
//!
//! Body checks are JSON pointers; `"<present>"`, `"<absent>"` and `"<length:N>"` match shape
//! rather than value. Every case's metrics line must be valid EMF ([`super::emf::metrics_of`]);
//! `metrics` names values it must carry. Each case runs on its own table. An event without an expectation, or an
//! expectation without an event, fails the replay, so none is forgotten.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::Value;

use super::{TestTable, example_attributes};
use crate::App;
use crate::config::{Config, DEFAULT_ORGANISATION_CLAIM};
use crate::domain::{OrganisationId, Payment, PaymentId, Timestamp};
use crate::http::{self, ApiError, ApiRequest, ApiResponse};
use crate::identity::Identity;
use crate::repository::PaymentRepository;
use crate::telemetry::metrics::{Emf, RequestMetrics};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    #[serde(default)]
    given: Given,
    expect: Expected,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Given {
    #[serde(default)]
    payments: Vec<SeedPayment>,
    #[serde(default)]
    random_payments: Vec<RandomPayments>,
    #[serde(default)]
    replayed_first: Vec<String>,
    #[serde(default)]
    storage: Storage,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedPayment {
    id: PaymentId,
    organisation_id: OrganisationId,
    #[serde(default = "first_version")]
    version: u64,
}

fn first_version() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomPayments {
    organisation_id: OrganisationId,
    count: usize,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Storage {
    #[default]
    Ready,
    /// The function's table does not exist.
    MissingTable,
    /// Nothing listens at the DynamoDB endpoint.
    Unreachable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: BTreeMap<String, Value>,
    #[serde(default)]
    stored: Option<Stored>,
    #[serde(default)]
    metrics: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Stored {
    current: usize,
    versions: usize,
    #[serde(default)]
    idempotency: usize,
}

/// The folder of `function`'s events.
pub fn events_dir(function: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(function)
}

/// Replays every event of `function` through `handler`, panicking with every mismatch found.
pub async fn replay_events<F, Fut>(function: &str, handler: F)
where
    F: Fn(&'static App, ApiRequest<'static>) -> Fut + Copy,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    let dir = events_dir(function);
    let cases = cases_in(&dir);
    assert!(!cases.is_empty(), "{} has no events", dir.display());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(failure) = replay_case(&dir, case, handler).await {
            failures.push(format!("{function}/{case}.json: {failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "replay failures:\n{}",
        failures.join("\n")
    );
}

/// The case names of `function`'s events, checking that events and expectations come in pairs.
pub fn cases(function: &str) -> Vec<String> {
    cases_in(&events_dir(function))
}

pub(super) fn cases_in(dir: &Path) -> Vec<String> {
    let mut events = Vec::new();
    let mut expectations = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(case) = name.strip_suffix(".expected.json") {
            expectations.push(case.to_owned());
        } else if let Some(case) = name.strip_suffix(".json") {
            events.push(case.to_owned());
        } else {
            panic!("{}/{name}: events are .json files", dir.display());
        }
    }
    events.sort();
    expectations.sort();
    for case in &events {
        assert!(
            expectations.contains(case),
            "{case}.json has no {case}.expected.json"
        );
    }
    for case in &expectations {
        assert!(
            events.contains(case),
            "{case}.expected.json has no {case}.json"
        );
    }
    events
}

/// One event replayed with what its expectation's `given` asks for: the event as sent, the
/// response, and the table it ran against.
pub struct Replayed {
    pub event: Value,
    pub response: Response<Body>,
    pub table: TestTable,
    /// The EMF line the function would write for it.
    pub emf: String,
}

/// Replays `events/<function>/<case>.json` through `handler` after setting up its `given`
/// (seeded payments, earlier events, storage state), on a table of its own. For checks beyond
/// the expectation, such as the OpenAPI spec's.
pub async fn replay_event<F, Fut>(
    function: &str,
    case: &str,
    handler: F,
) -> Result<Replayed, String>
where
    F: Fn(&'static App, ApiRequest<'static>) -> Fut + Copy,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    let dir = events_dir(function);
    let expectation: Expectation = read_json(&dir.join(format!("{case}.expected.json")))?;
    replay_with(&dir, case, &expectation.given, handler).await
}

async fn replay_with<F, Fut>(
    dir: &Path,
    case: &str,
    given: &Given,
    handler: F,
) -> Result<Replayed, String>
where
    F: Fn(&'static App, ApiRequest<'static>) -> Fut + Copy,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    let table = TestTable::create().await;
    seed(&table, given).await;
    let app = app_for(&table, &given.storage).await;
    for earlier in &given.replayed_first {
        invoke(app, &dir.join(earlier), handler).await?;
    }
    let (event, response, metrics) =
        invoke(app, &dir.join(format!("{case}.json")), handler).await?;
    let function = dir
        .file_name()
        .map_or(String::new(), |name| name.to_string_lossy().into_owned());
    let emf = Emf::new("payments-replay", &function).line(&metrics, false, 0);
    Ok(Replayed {
        event,
        response,
        table,
        emf,
    })
}

async fn replay_case<F, Fut>(dir: &Path, case: &str, handler: F) -> Result<(), String>
where
    F: Fn(&'static App, ApiRequest<'static>) -> Fut + Copy,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    let expectation: Expectation = read_json(&dir.join(format!("{case}.expected.json")))?;
    let Replayed {
        response,
        table,
        emf,
        ..
    } = replay_with(dir, case, &expectation.given, handler).await?;
    let (status, headers, body) = outcome(&response)?;

    let expected = &expectation.expect;
    let mut problems = Vec::new();
    if status != expected.status {
        problems.push(format!(
            "status {status}, expected {} (body: {body})",
            expected.status
        ));
    }
    for (name, want) in &expected.headers {
        let got = headers.get(name.to_ascii_lowercase().as_str());
        if !matches_text(got.map(String::as_str), want) {
            problems.push(format!("header {name}: {got:?}, expected {want}"));
        }
    }
    for (pointer, want) in &expected.body {
        let got = body.pointer(pointer);
        if !matches_value(got, want) {
            problems.push(format!("body {pointer}: {got:?}, expected {want}"));
        }
    }
    if let Some(stored) = &expected.stored {
        let found = Stored {
            current: table.count("PAYMENT#", "CURRENT").await,
            versions: table.count("PAYMENT#", "VERSION#").await,
            idempotency: table.count("IDEMPOTENCY#", "IDEMPOTENCY").await,
        };
        if &found != stored {
            problems.push(format!("stored {found:?}, expected {stored:?}"));
        }
    }
    match super::emf::metrics_of(&emf) {
        Ok(values) => {
            for (name, want) in &expected.metrics {
                let got = values.get(name);
                if got != Some(want) {
                    problems.push(format!("metric {name}: {got:?}, expected {want}"));
                }
            }
        }
        Err(invalid) => problems.push(format!("metrics line {emf}: {invalid}")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

type Outcome = (u16, BTreeMap<String, String>, Value);

async fn invoke<F, Fut>(
    app: &'static App,
    path: &Path,
    handler: F,
) -> Result<(Value, Response<Body>, RequestMetrics), String>
where
    F: Fn(&'static App, ApiRequest<'static>) -> Fut + Copy,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let event = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let request = lambda_http::request::from_str(&text)
        .map_err(|e| format!("{} is not an HTTP API event: {e}", path.display()))?;
    let (response, metrics) =
        http::serve_measured(&app.identity, request, |request| handler(app, request)).await;
    Ok((event, response, metrics))
}

/// Status, headers (lowercase names) and JSON body (`null` when empty) of a response.
fn outcome(response: &Response<Body>) -> Result<Outcome, String> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = match response.body() {
        Body::Empty => Value::Null,
        Body::Text(text) => {
            serde_json::from_str(text).map_err(|e| format!("body is not JSON: {e}"))?
        }
        Body::Binary(bytes) => {
            serde_json::from_slice(bytes).map_err(|e| format!("body is not JSON: {e}"))?
        }
        _ => return Err("unexpected body kind".to_owned()),
    };
    Ok((status, headers, body))
}

async fn app_for(table: &TestTable, storage: &Storage) -> &'static App {
    let (table_name, endpoint) = match storage {
        Storage::Ready => (table.name.clone(), super::endpoint()),
        Storage::MissingTable => ("no-such-table".to_owned(), super::endpoint()),
        // A port nothing listens on: connections are refused at once.
        Storage::Unreachable => (table.name.clone(), "http://127.0.0.1:9".to_owned()),
    };
    let config = Config {
        table_name,
        dynamodb_endpoint: Some(endpoint),
        identity: Identity::Jwt {
            claim: DEFAULT_ORGANISATION_CLAIM.to_owned(),
        },
        list_shards: Default::default(),
    };
    Box::leak(Box::new(App::new(&config).await))
}

async fn seed(table: &TestTable, given: &Given) {
    let repository = table.repository();
    for seed in &given.payments {
        let mut payment = Payment::create(
            seed.id,
            seed.organisation_id,
            example_attributes(),
            Timestamp::now(),
        );
        repository
            .insert(&payment, None)
            .await
            .expect("seed payment");
        while payment.version().get() < seed.version {
            let next = payment.revise(example_attributes(), Timestamp::now());
            repository.replace(&next).await.expect("seed version");
            payment = next;
        }
    }
    for batch in &given.random_payments {
        for _ in 0..batch.count {
            let payment = Payment::new(
                batch.organisation_id,
                example_attributes(),
                Timestamp::now(),
            );
            repository
                .insert(&payment, None)
                .await
                .expect("seed payment");
        }
    }
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn matches_text(got: Option<&str>, want: &str) -> bool {
    match want {
        "<present>" => got.is_some(),
        "<absent>" => got.is_none(),
        want => got == Some(want),
    }
}

pub(super) fn matches_value(got: Option<&Value>, want: &Value) -> bool {
    match want.as_str() {
        Some("<present>") => got.is_some_and(|v| !v.is_null()),
        Some("<absent>") => got.is_none_or(Value::is_null),
        Some(shape) if shape.starts_with("<length:") => {
            let length = shape
                .trim_start_matches("<length:")
                .trim_end_matches('>')
                .parse::<usize>()
                .ok();
            let got_length = got.and_then(|v| {
                v.as_array()
                    .map(Vec::len)
                    .or_else(|| v.as_str().map(str::len))
            });
            length.is_some() && got_length == length
        }
        _ => got == Some(want),
    }
}
