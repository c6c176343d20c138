//! EventBridge answered in-process: the SDK's own client, whose HTTP calls go to a function
//! that records each `PutEvents` call's entries and fails the ones a test chooses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::infallible_client_fn;
use serde_json::{Value, json};

use crate::events::EventBus;

/// The bus name the fake's [`EventBus`] publishes to.
pub const BUS: &str = "payments-test-bus";

/// An EventBridge that keeps what it is sent.
#[derive(Clone, Default)]
pub struct FakeEventBridge {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Each call's entries, as sent.
    calls: Vec<Vec<Value>>,
    /// The entries accepted, in order.
    published: Vec<Value>,
    /// Event ids to fail, and how many more times.
    failures: HashMap<String, usize>,
}

impl FakeEventBridge {
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry whose detail has this `event_id` fails the next `times` calls that carry it
    /// (`usize::MAX`: every call).
    pub fn fail(&self, event_id: impl Into<String>, times: usize) {
        self.state
            .lock()
            .unwrap()
            .failures
            .insert(event_id.into(), times);
    }

    /// Each `PutEvents` call's entries, in the order sent: `source`, `detail-type`, `detail`
    /// (parsed), `time` and `event-bus-name`.
    pub fn calls(&self) -> Vec<Vec<Value>> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The entries EventBridge accepted, in order.
    pub fn published(&self) -> Vec<Value> {
        self.state.lock().unwrap().published.clone()
    }

    /// The `event_id`s of the accepted entries, in order.
    pub fn published_ids(&self) -> Vec<String> {
        self.published()
            .iter()
            .map(|entry| entry["detail"]["event_id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// An [`EventBus`] on this EventBridge.
    pub fn bus(&self) -> EventBus {
        let state = self.state.clone();
        let http_client = infallible_client_fn(move |request: http::Request<_>| {
            let body: Value = request
                .body()
                .bytes()
                .and_then(|bytes| serde_json::from_slice(bytes).ok())
                .expect("a PutEvents body is JSON");
            let response = state.lock().unwrap().put_events(&body);
            http::Response::builder()
                .status(200)
                .header("content-type", "application/x-amz-json-1.1")
                .body(response.to_string())
                .unwrap()
        });
        let config = aws_sdk_eventbridge::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .http_client(http_client)
            .build();
        EventBus::new(aws_sdk_eventbridge::Client::from_conf(config), BUS)
    }
}

impl State {
    fn put_events(&mut self, body: &Value) -> Value {
        let entries: Vec<Value> = body["Entries"]
            .as_array()
            .expect("PutEvents has Entries")
            .iter()
            .map(|entry| {
                let detail = entry["Detail"].as_str().expect("an entry has a Detail");
                json!({
                    "source": entry["Source"],
                    "detail-type": entry["DetailType"],
                    "detail": serde_json::from_str::<Value>(detail).expect("Detail is JSON"),
                    "time": entry["Time"],
                    "event-bus-name": entry["EventBusName"],
                })
            })
            .collect();
        let mut results = Vec::new();
        let mut failed = 0;
        for entry in &entries {
            let id = entry["detail"]["event_id"].as_str().unwrap_or_default();
            match self.failures.get_mut(id) {
                Some(times) if *times > 0 => {
                    *times = times.saturating_sub(1);
                    failed += 1;
                    results.push(json!({
                        "ErrorCode": "InternalFailure",
                        "ErrorMessage": "chosen to fail by the test",
                    }));
                }
                _ => {
                    self.published.push(entry.clone());
                    results.push(json!({ "EventId": uuid::Uuid::new_v4().to_string() }));
                }
            }
        }
        self.calls.push(entries);
        json!({ "FailedEntryCount": failed, "Entries": results })
    }
}
