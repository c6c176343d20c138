//! A replayed event's log lines carry the three ids of its request, and its problem body API
//! Gateway's. A test binary of its own: `tracing` caches per call site whether anyone listens,
//! and tests on other threads with no subscriber would race the one installed here.

use std::sync::{Arc, Mutex};

use lambda_http::{Body, Request, RequestExt};
use payments_core::http::{ApiError, ApiResponse, RequestIds, serve};
use payments_core::identity::Identity;
use serde_json::Value;

/// The lines written to a buffer by the functions' own log subscriber.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn json(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// A replayed event, as the Lambda runtime hands it over: with its invocation's context.
fn replayed_in_lambda(case: &str) -> Request {
    let path = format!("{}/../../events/{case}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut context = lambda_http::Context::default();
    context.request_id = "8f5e2b1c-0d3a-4c7e-9b61-5a2f0e4d7c18".to_owned();
    context.xray_trace_id = Some(
        "Root=1-6746f1a2-3c0d5e7f9a1b2c3d4e5f6a7b;Parent=53995c3f42cd8ad8;Sampled=1".to_owned(),
    );
    lambda_http::request::from_str(&text)
        .unwrap()
        .with_lambda_context(context)
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_three_ids_and_a_problem_the_gateways() {
    let lines = Lines::default();
    let writer = lines.clone();
    let _guard =
        tracing::subscriber::set_default(payments_core::telemetry::subscriber(move || {
            writer.clone()
        }));
    let request = replayed_in_lambda("get-payment/not-found");
    let ids = RequestIds::of(&request);
    assert_eq!(ids.api_gateway, "Vx0019abcdEFg=");
    let identity = Identity::Jwt {
        claim: "organisation_id".to_owned(),
    };

    let response = serve(&identity, request, |_| async {
        tracing::warn!("a line the handler writes");
        Err::<ApiResponse, _>(ApiError::Internal("a cause the client never sees".into()))
    })
    .await;

    assert_eq!(response.status(), 500);
    let Body::Text(body) = response.body() else {
        panic!("a problem body");
    };
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["request_id"], "Vx0019abcdEFg=");
    assert!(!body.to_string().contains("a cause the client never sees"));
    let logged = lines.json();
    assert_eq!(logged.len(), 3, "{logged:#?}");
    for line in &logged {
        let span = &line["span"];
        assert_eq!(
            span["request_id"], "8f5e2b1c-0d3a-4c7e-9b61-5a2f0e4d7c18",
            "{line}"
        );
        assert_eq!(span["apigw_request_id"], "Vx0019abcdEFg=", "{line}");
        assert!(
            span["trace_id"]
                .as_str()
                .unwrap()
                .starts_with("Root=1-6746f1a2-"),
            "{line}"
        );
    }
}
