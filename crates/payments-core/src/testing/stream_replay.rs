//! Replays the stream events in `events/payment-events/` (the JSON Lambda delivers from the
//! table's stream) through the `payment-events` handler, with EventBridge answered in-process,
//! and checks each against the expectation beside it (`<case>.expected.json`):
//!
//! ```json
//! {
//!   "given": {"eventbridge_fails": {"<event id>": 1}},
//!   "expect": {
//!     "filter": ["pass", "drop"],
//!     "published": [{"detail-type": "PaymentCreated", "detail": {"/version": 1}}],
//!     "put_events_calls": 1,
//!     "batch_item_failures": ["<sequence number>"]
//!   }
//! }
//! ```
//!
//! `published` lists every entry EventBridge accepted, in order, each checked by JSON pointers
//! into its `detail` (with the shapes of [`super::replay`]); `filter` says, record by record,
//! whether the event source mapping's filter in `template.yaml` lets it through (checked by
//! `crates/handler-tests/tests/payment_events.rs`; the handler is given every record, as `sam
//! local invoke` gives it).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use serde::Deserialize;
use serde_json::Value;

use super::FakeEventBridge;
use super::replay::{cases_in, events_dir, matches_value, read_json};
use crate::events::{EventBus, SOURCE};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamExpectation {
    #[serde(default)]
    pub given: StreamGiven,
    pub expect: StreamExpected,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamGiven {
    /// Entries EventBridge fails, by event id, and how many times.
    #[serde(default)]
    pub eventbridge_fails: BTreeMap<String, usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamExpected {
    /// Per record, `pass` or `drop`: what the template's filter does with it.
    pub filter: Vec<Filtered>,
    pub published: Vec<PublishedEntry>,
    #[serde(default)]
    pub put_events_calls: Option<usize>,
    #[serde(default)]
    pub batch_item_failures: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filtered {
    Pass,
    Drop,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedEntry {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    #[serde(default)]
    pub detail: BTreeMap<String, Value>,
}

/// The expectation of `events/<function>/<case>.json`.
pub fn stream_expectation(function: &str, case: &str) -> StreamExpectation {
    read_json(&events_dir(function).join(format!("{case}.expected.json")))
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Replays every stream event of `function` through `handler`, panicking with every mismatch.
pub async fn replay_stream_events<F, Fut>(function: &str, handler: F)
where
    F: Fn(&'static EventBus, LambdaEvent<Event>) -> Fut + Copy,
    Fut: Future<Output = Result<DynamoDbEventResponse, lambda_http::Error>>,
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

async fn replay_case<F, Fut>(dir: &Path, case: &str, handler: F) -> Result<(), String>
where
    F: Fn(&'static EventBus, LambdaEvent<Event>) -> Fut + Copy,
    Fut: Future<Output = Result<DynamoDbEventResponse, lambda_http::Error>>,
{
    let expectation: StreamExpectation = read_json(&dir.join(format!("{case}.expected.json")))?;
    let event: Event = read_json(&dir.join(format!("{case}.json")))?;
    let records = event.records.len();
    let eventbridge = FakeEventBridge::new();
    for (id, times) in &expectation.given.eventbridge_fails {
        eventbridge.fail(id.clone(), *times);
    }
    let bus: &'static EventBus = Box::leak(Box::new(eventbridge.bus()));
    let response = handler(bus, LambdaEvent::new(event, Context::default()))
        .await
        .map_err(|error| format!("handler failed: {error}"))?;

    let expected = &expectation.expect;
    let mut problems = Vec::new();
    if expected.filter.len() != records {
        problems.push(format!(
            "filter names {} records, the event has {records}",
            expected.filter.len()
        ));
    }
    let failures: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone().unwrap_or_default())
        .collect();
    if failures != expected.batch_item_failures {
        problems.push(format!(
            "batch item failures {failures:?}, expected {:?}",
            expected.batch_item_failures
        ));
    }
    let published = eventbridge.published();
    if published.len() != expected.published.len() {
        problems.push(format!(
            "{} entries published, expected {}",
            published.len(),
            expected.published.len()
        ));
    }
    for (n, (got, want)) in published.iter().zip(&expected.published).enumerate() {
        if got["source"] != SOURCE || got["event-bus-name"] != super::eventbridge::BUS {
            problems.push(format!("entry {n}: source or bus {got}"));
        }
        if got["detail-type"] != want.detail_type.as_str() {
            problems.push(format!(
                "entry {n}: detail-type {}, expected {}",
                got["detail-type"], want.detail_type
            ));
        }
        for (pointer, value) in &want.detail {
            let found = got["detail"].pointer(pointer);
            if !matches_value(found, value) {
                problems.push(format!(
                    "entry {n}: detail {pointer}: {found:?}, expected {value}"
                ));
            }
        }
    }
    if let Some(calls) = expected.put_events_calls {
        let made = eventbridge.calls().len();
        if made != calls {
            problems.push(format!("{made} PutEvents calls, expected {calls}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
