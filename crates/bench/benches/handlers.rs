//! Warm overhead: CPU time of one request through each function's handler, with DynamoDB
//! answered in-process, so the figure is our code plus the SDK (event parsing, validation,
//! marshalling, signing, the request log line) and no network.
//!
//! `cargo bench -p bench --bench handlers` (scripts/bench.sh runs it with short warm-up and
//! measurement times). Measured in thread CPU time rather than wall time: the machine is
//! shared, and preemption by other processes is not our cost.
//!
//! The handlers are the functions' own (`<function>::handle`, from each function crate's lib),
//! served by `payments_core::http::serve` as `payments_core::http::run` serves them in Lambda;
//! `payment_events::handle`, not a route, is called as `lambda_runtime` calls it, with a parsed
//! batch of stream records, and publishes to an in-process EventBridge.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use criterion::BenchmarkGroup;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lambda_http::http::StatusCode;
use lambda_runtime::{Context, LambdaEvent};
use payments_core::App;
use payments_core::config::{
    Config, DEFAULT_ORGANISATION_CLAIM, dynamodb_client, eventbridge_client,
};
use payments_core::events::{EventBus, MAX_ENTRIES_PER_CALL};
use payments_core::http::{self, ApiError, ApiRequest, ApiResponse};
use payments_core::identity::Identity;
use payments_core::repository::DynamoDbRepository;
use payments_core::service::Payments;
use serde_json::{Value, json};

const TABLE: &str = "payments";
/// The payment the event fixtures name.
const FIXTURE_PAYMENT: &str = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41";

/// DynamoDB in memory: answers each operation (by its `X-Amz-Target`) with a fixed body, its
/// items cut to the request's `ProjectionExpression` as DynamoDB cuts them, and can keep the
/// last request body, from which the fixtures are made.
/// Fixed answers by operation name, and by operation and projection once asked for.
type Answers = Arc<Mutex<Vec<(&'static str, Vec<u8>)>>>;
type ProjectedAnswers = Arc<Mutex<HashMap<(String, String), Vec<u8>>>>;

#[derive(Debug, Clone, Default)]
struct InProcessDynamoDb {
    answers: Answers,
    projected: ProjectedAnswers,
    last_request: Option<Arc<Mutex<Vec<u8>>>>,
}

impl InProcessDynamoDb {
    fn answer(&self, operation: &'static str, body: Vec<u8>) {
        self.answers.lock().unwrap().push((operation, body));
    }

    /// The answer to `operation`, its items cut to `projection` (made on first use).
    fn answer_to(&self, operation: &str, projection: Option<&str>) -> Vec<u8> {
        let full = || {
            self.answers
                .lock()
                .unwrap()
                .iter()
                .find(|(name, _)| *name == operation)
                .map_or_else(|| b"{}".to_vec(), |(_, body)| body.clone())
        };
        let Some(projection) = projection else {
            return full();
        };
        self.projected
            .lock()
            .unwrap()
            .entry((operation.to_owned(), projection.to_owned()))
            .or_insert_with(|| project(&full(), projection))
            .clone()
    }
}

/// The `ProjectionExpression` of a request body (plain attribute names, as the repository
/// writes them), found without parsing the body on the measured thread.
fn projection_of(body: &[u8]) -> Option<&str> {
    const KEY: &str = "\"ProjectionExpression\":\"";
    let body = std::str::from_utf8(body).ok()?;
    let start = body.find(KEY)? + KEY.len();
    let length = body[start..].find('"')?;
    Some(&body[start..start + length])
}

/// `answer` with its `Item` or `Items` holding only the attributes `projection` names.
fn project(answer: &[u8], projection: &str) -> Vec<u8> {
    let names: Vec<&str> = projection.split(',').map(str::trim).collect();
    let keep = |item: &mut Value| {
        if let Some(item) = item.as_object_mut() {
            item.retain(|name, _| names.contains(&name.as_str()));
        }
    };
    let mut answer: Value = serde_json::from_slice(answer).expect("answers are JSON");
    if let Some(item) = answer.get_mut("Item") {
        keep(item);
    }
    if let Some(Value::Array(items)) = answer.get_mut("Items") {
        items.iter_mut().for_each(keep);
    }
    answer.to_string().into_bytes()
}

impl HttpConnector for InProcessDynamoDb {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or_default();
        let body = request.body().bytes().unwrap_or_default();
        if let Some(last) = &self.last_request {
            *last.lock().unwrap() = body.to_vec();
        }
        ok(
            self.answer_to(operation, projection_of(body)),
            "application/x-amz-json-1.0",
        )
    }
}

/// A 200 with `body`, answered at once.
fn ok(body: Vec<u8>, content_type: &'static str) -> HttpConnectorFuture {
    let mut response = HttpResponse::new(
        StatusCode::OK.as_u16().try_into().expect("200 is a status"),
        SdkBody::from(body),
    );
    response.headers_mut().insert("content-type", content_type);
    HttpConnectorFuture::ready(Ok(response))
}

impl HttpClient for InProcessDynamoDb {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.clone().into_shared()
    }
}

/// EventBridge in memory, accepting every entry of every `PutEvents` with a fixed answer. It
/// keeps only a count of the entries: `payments_core::testing::FakeEventBridge` keeps each
/// entry, so would grow over a criterion run, and parses each request on the measured thread.
#[derive(Debug, Clone)]
struct InProcessEventBridge {
    /// The answer to a call of n entries, at index n: as many results as entries.
    answers: Arc<Vec<Vec<u8>>>,
    accepted: Arc<AtomicUsize>,
}

impl InProcessEventBridge {
    fn new() -> Self {
        let answer = |entries: usize| {
            let results: Vec<Value> = (0..entries)
                .map(|n| json!({ "EventId": format!("00000000-0000-4000-8000-{n:012}") }))
                .collect();
            json!({ "FailedEntryCount": 0, "Entries": results })
                .to_string()
                .into_bytes()
        };
        Self {
            answers: Arc::new((0..=MAX_ENTRIES_PER_CALL).map(answer).collect()),
            accepted: Arc::default(),
        }
    }
}

impl HttpConnector for InProcessEventBridge {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // One `"EventBusName"` key per entry; an entry's detail is a JSON string, its quotes
        // escaped, so nothing in it matches. Cheaper than parsing the body.
        let entries = request
            .body()
            .bytes()
            .and_then(|body| std::str::from_utf8(body).ok())
            .map_or(0, |body| body.matches("\"EventBusName\"").count());
        self.accepted.fetch_add(entries, Ordering::Relaxed);
        let body = self
            .answers
            .get(entries)
            .expect("PutEvents takes at most MAX_ENTRIES_PER_CALL entries")
            .clone();
        ok(body, "application/x-amz-json-1.1")
    }
}

impl HttpClient for InProcessEventBridge {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.clone().into_shared()
    }
}

/// payment-events' bus on its client as `EventBus::init` builds it (same timeouts, retries,
/// signing), on the in-process EventBridge.
async fn event_bus(eventbridge: &InProcessEventBridge) -> EventBus {
    let base = eventbridge_client(Some("http://eventbridge.bench.invalid")).await;
    let client = aws_sdk_eventbridge::Client::from_conf(
        base.config()
            .to_builder()
            .http_client(eventbridge.clone())
            .build(),
    );
    EventBus::new(client, "payments-bench")
}

/// The function's client (same timeouts, retries, signing) on the in-process DynamoDB.
async fn app(dynamodb: &InProcessDynamoDb) -> (&'static App, Client) {
    let config = Config {
        table_name: TABLE.to_owned(),
        dynamodb_endpoint: Some("http://dynamodb.bench.invalid".to_owned()),
        identity: Identity::Jwt {
            claim: DEFAULT_ORGANISATION_CLAIM.to_owned(),
        },
        list_shards: Default::default(),
    };
    let base = dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
    let client = Client::from_conf(
        base.config()
            .to_builder()
            .http_client(dynamodb.clone())
            .build(),
    );
    let app = Box::leak(Box::new(App {
        payments: Payments::new(DynamoDbRepository::new(client.clone(), &config.table_name)),
        identity: config.identity,
    }));
    (app, client)
}

fn event(path: &str) -> String {
    let path = format!("{}/../../events/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One request through `handler` as the function's runtime would hand it over.
async fn invoke<F, Fut>(app: &'static App, event: &str, handler: F) -> u16
where
    F: FnOnce(&'static App, ApiRequest<'static>) -> Fut,
    Fut: std::future::Future<Output = Result<ApiResponse, ApiError>>,
{
    let request = lambda_http::request::from_str(event).expect("an HTTP API event");
    let response = http::serve(&app.identity, request, |request| handler(app, request)).await;
    response.status().as_u16()
}

fn handlers(c: &mut Criterion<ThreadCpuTime>) {
    // The functions' log subscriber, writing to nowhere: formatting the request log line is
    // part of a request's cost, the write to stdout is not ours to optimise.
    payments_core::telemetry::init_with_writer(std::io::sink);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    // The stored item comes from a real create: the body of its TransactWriteItems.
    let recorder = InProcessDynamoDb {
        last_request: Some(Arc::default()),
        ..InProcessDynamoDb::default()
    };
    let create_event = event("create-payment/created.json");
    let (recording_app, _) = runtime.block_on(app(&recorder));
    let status = runtime.block_on(invoke(recording_app, &create_event, create_payment::handle));
    assert_eq!(status, 201, "the create event creates");
    let written: Value = serde_json::from_slice(&recorder.last_request.unwrap().lock().unwrap())
        .expect("TransactWriteItems is JSON");
    let mut item = written["TransactItems"][0]["Put"]["Item"].clone();
    let created_id = item["id"]["S"]
        .as_str()
        .expect("the item has an id")
        .to_owned();
    let item: Value = serde_json::from_str(
        &item
            .take()
            .to_string()
            .replace(&created_id, FIXTURE_PAYMENT),
    )
    .expect("still JSON");

    let dynamodb = InProcessDynamoDb::default();
    dynamodb.answer("GetItem", json!({ "Item": item }).to_string().into_bytes());
    let page: Vec<Value> = (0..20).map(|_| item.clone()).collect();
    dynamodb.answer(
        "Query",
        json!({ "Items": page, "Count": 20, "ScannedCount": 20 })
            .to_string()
            .into_bytes(),
    );
    dynamodb.answer("TransactWriteItems", b"{}".to_vec());
    dynamodb.answer(
        "DescribeTable",
        json!({"Table": {"TableName": TABLE, "TableStatus": "ACTIVE"}})
            .to_string()
            .into_bytes(),
    );
    let (app, client) = runtime.block_on(app(&dynamodb));

    let mut group = c.benchmark_group("handlers");
    macro_rules! bench {
        ($name:literal, $event:expr, $handler:expr, $status:literal) => {{
            let event: String = $event;
            assert_eq!(
                runtime.block_on(invoke(app, &event, $handler)),
                $status,
                "{} answers {}",
                $name,
                $status
            );
            group.bench_function($name, |b| {
                b.iter(|| runtime.block_on(invoke(app, &event, $handler)))
            });
        }};
    }
    bench!(
        "get-payment",
        event("get-payment/found.json"),
        get_payment::handle,
        200
    );
    bench!(
        "list-payments",
        event("list-payments/default-limit.json"),
        list_payments::handle,
        200
    );
    bench!(
        "create-payment",
        event("create-payment/created.json"),
        create_payment::handle,
        201
    );
    // If-Match: "1" on a payment this service created: one conditional write, no read.
    bench!(
        "update-payment",
        event("update-payment/updated.json").replace(FIXTURE_PAYMENT, &created_id),
        update_payment::handle,
        200
    );
    // If-Match: *: the current version is read first.
    bench!(
        "update-payment-if-match-any",
        event("update-payment/updated-if-match-any.json"),
        update_payment::handle,
        200
    );
    bench!(
        "delete-payment",
        event("delete-payment/deleted.json"),
        delete_payment::handle,
        204
    );
    bench!("health", event("health/ready.json"), health::handle, 200);
    // No DynamoDB call: what the HTTP adapter, event parsing and the log line cost alone.
    bench!(
        "health-alive",
        event("health/alive.json"),
        health::handle,
        200
    );
    bench_payment_events(&mut group, &runtime);

    // The SDK alone: the realistic floor's GetItem, on the same client.
    group.bench_function("floor-getitem", |b| {
        b.iter(|| {
            runtime.block_on(async {
                client
                    .get_item()
                    .table_name(TABLE)
                    .key(
                        "pk",
                        AttributeValue::S(format!("PAYMENT#{FIXTURE_PAYMENT}")),
                    )
                    .key("sk", AttributeValue::S("CURRENT".to_owned()))
                    .consistent_read(true)
                    .send()
                    .await
                    .expect("an answer")
            })
        })
    });
    group.finish();
}

/// One invocation of payment-events: a batch of stream records, ten creates of ten payments,
/// so one full `PutEvents` call. Parsed once, as `lambda_runtime` parses it before the
/// handler; each iteration's copy is made outside the measurement.
fn bench_payment_events(
    group: &mut BenchmarkGroup<'_, ThreadCpuTime>,
    runtime: &tokio::runtime::Runtime,
) {
    let eventbridge = InProcessEventBridge::new();
    let bus = runtime.block_on(event_bus(&eventbridge));
    let batch: Event =
        serde_json::from_str(&event("payment-events/eventbridge-fails-three-once.json"))
            .expect("a DynamoDB stream event");
    let records = batch.records.len();
    let invocation = LambdaEvent::new(batch, Context::default());
    // A batch item failure, or records skipped as not payment changes, would be a cheaper
    // path than publishing them all.
    let response = runtime
        .block_on(payment_events::handle(&bus, invocation.clone()))
        .expect("the batch is handled");
    assert!(
        response.batch_item_failures.is_empty(),
        "every record is published: {response:?}"
    );
    assert_eq!(
        eventbridge.accepted.load(Ordering::Relaxed),
        records,
        "one entry per record"
    );
    group.bench_function(format!("payment-events (batch of {records})"), |b| {
        b.iter_batched(
            || invocation.clone(),
            |invocation| runtime.block_on(payment_events::handle(&bus, invocation)),
            BatchSize::SmallInput,
        )
    });
}

/// CPU time of the calling thread (the current-thread runtime runs everything on it).
struct ThreadCpuTime;

static WALL_TIME: WallTime = WallTime;

fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write to; the clock id is a constant Linux knows.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }

    fn end(&self, started: Duration) -> Duration {
        thread_cpu_time().saturating_sub(started)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, like wall time.
        WALL_TIME.formatter()
    }
}

fn cpu_time() -> Criterion<ThreadCpuTime> {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = cpu_time();
    targets = handlers
}
criterion_main!(benches);
