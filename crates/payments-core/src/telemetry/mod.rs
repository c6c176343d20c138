//! What the functions tell their operators: logs, one JSON object per line, which CloudWatch
//! Logs (and Lambda's JSON log format) index by field; [`metrics`] as EMF lines; and
//! [`xray`] subsegments of the DynamoDB calls ([`DynamoDbTelemetry`]).
//!
//! A request's DynamoDB calls report to the request they are made for through [`in_request`],
//! which [`crate::http::serve`] runs every handler in.

mod dynamodb;
pub mod metrics;
pub mod xray;

use std::cell::Cell;
use std::future::Future;

pub use dynamodb::DynamoDbTelemetry;
use metrics::Capacity;
use xray::TraceContext;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// Installs the JSON log subscriber, writing to standard output.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Installs the JSON log subscriber, writing to `writer` (the benchmarks write to a sink).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    // `try_init`: a test binary may call this more than once.
    let _ = subscriber(writer).try_init();
}

/// The JSON log subscriber, writing to `writer`: what [`init`] installs, and what a test
/// installs for itself to read the lines a request writes.
///
/// The levels come from `RUST_LOG`, else from Lambda's `AWS_LAMBDA_LOG_LEVEL` (set by the
/// function's `LoggingConfig`), else `info`. `RUST_LOG` takes a level and per-target levels,
/// as in `RUST_LOG=info,aws_smithy_runtime=debug` (`tracing_subscriber`'s `Targets`: the same
/// syntax as `EnvFilter` without its span and field filters, which with its regex engine
/// made every function larger: docs/benchmarks.md, "Figures the code refers to").
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let levels = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .or_else(|| {
            let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok()?;
            level.to_ascii_lowercase().parse::<Targets>().ok()
        })
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer);
    tracing_subscriber::registry().with(levels).with(json)
}

/// What the calls made for one request report to it.
struct Request {
    trace: Option<TraceContext>,
    capacity: Cell<Capacity>,
}

tokio::task_local! {
    static REQUEST: Request;
}

/// Runs `future` as one request of the trace `trace`: the DynamoDB calls it makes are
/// subsegments of that trace, and the capacity they consumed is given back with its output.
pub async fn in_request<F: Future>(
    trace: Option<TraceContext>,
    future: F,
) -> (F::Output, Capacity) {
    let request = Request {
        trace,
        capacity: Cell::default(),
    };
    REQUEST
        .scope(request, async move {
            let output = future.await;
            (output, REQUEST.with(|request| request.capacity.get()))
        })
        .await
}

/// Adds `capacity` to the current request's; nothing outside a request.
fn consumed(capacity: Capacity) {
    let _ = REQUEST.try_with(|request| {
        let mut total = request.capacity.get();
        total.read += capacity.read;
        total.write += capacity.write;
        request.capacity.set(total);
    });
}

/// The current request's trace, if it has one.
fn trace() -> Option<TraceContext> {
    REQUEST
        .try_with(|request| request.trace.clone())
        .ok()
        .flatten()
}
