//! Hostile bodies over HTTP, through whatever carries requests to the functions (API Gateway,
//! `sam local start-api`, `cargo lambda watch`): each is a 4xx problem+json from the function,
//! never a 5xx. The handlers meet the same inputs, and many more, in
//! `crates/handler-tests/tests/hostile.rs`; here the question is what the stack in between does
//! with them.

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::helpers::{Api, header};

/// The local emulator that serves `BASE_URL`, from `E2E_STACK`: each answers one kind of request
/// itself, before any function runs, and that answer (only to that request) is excused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stack {
    /// API Gateway (a deployed stage), or anything that passes every request on.
    Deployed,
    /// `sam local start-api` cannot build an event from a body that is not UTF-8 and answers
    /// its own 502 `{"message": "Internal server error"}` (API Gateway base64-encodes it).
    SamLocal,
    /// `cargo lambda watch` answers a text/plain 500 of its own to the same body.
    CargoLambda,
}

impl Stack {
    fn from_env() -> Self {
        match std::env::var("E2E_STACK").as_deref() {
            Ok("sam-local") => Stack::SamLocal,
            Ok("cargo-lambda") => Stack::CargoLambda,
            Ok("") | Err(_) => Stack::Deployed,
            Ok(other) => panic!("E2E_STACK must be sam-local or cargo-lambda, not {other:?}"),
        }
    }

    /// Whether `status` and `body` are this emulator's own answer to a body that is not UTF-8.
    fn own_answer_to_non_utf8(self, status: StatusCode, content_type: &str, body: &[u8]) -> bool {
        match self {
            Stack::Deployed => false,
            Stack::SamLocal => {
                status == StatusCode::BAD_GATEWAY
                    && serde_json::from_slice::<Value>(body).ok()
                        == Some(serde_json::json!({"message": "Internal server error"}))
            }
            Stack::CargoLambda => {
                status == StatusCode::INTERNAL_SERVER_ERROR
                    && content_type.starts_with("text/plain")
            }
        }
    }
}

/// What came back, read whole.
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

async fn answer(response: Response) -> Answer {
    let status = response.status();
    let content_type = header(&response, "content-type").unwrap_or("").to_owned();
    let body = response.bytes().await.expect("a body").to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

fn assert_client_problem(case: &str, answer: &Answer) {
    assert!(
        answer.status.is_client_error(),
        "{case}: status {}, expected a 4xx (body: {})",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.content_type, "application/problem+json", "{case}");
    let problem: Value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|e| panic!("{case}: the problem is not JSON: {e}"));
    assert_eq!(problem["status"], answer.status.as_u16(), "{case}");
    assert!(problem["type"].as_str().is_some(), "{case}: {problem}");
}

/// `method path` with a JSON content type, `If-Match: "1"` (which PUT requires before it reads a
/// body) and `body`.
async fn send(api: &Api, method: Method, path: &str, body: Vec<u8>) -> Answer {
    let response = api
        .request(method, path)
        .header("Content-Type", "application/json")
        .header("If-Match", "\"1\"")
        .body(body)
        .send()
        .await
        .expect("the API answers");
    answer(response).await
}

/// Bodies that are valid UTF-8, each of which the function itself must refuse with a 4xx.
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let mut megabyte = br#"{"attributes":{"reference":""#.to_vec();
    megabyte.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    megabyte.extend(br#""}}"#);
    vec![
        ("a 1 MB body", megabyte),
        ("JSON nested 30,000 deep", deep.into_bytes()),
        (
            "a NUL in a string",
            br#"{"attributes":{"amount":"1\u0000","currency":"GBP"}}"#.to_vec(),
        ),
        ("a raw NUL byte", b"{\"attributes\":\0}".to_vec()),
        (
            "duplicate members",
            br#"{"attributes":{"amount":"1.00","amount":"1000.00"}}"#.to_vec(),
        ),
        (
            "a huge number",
            format!(r#"{{"attributes":{{"amount":1{}}}}}"#, "0".repeat(5_000)).into_bytes(),
        ),
        (
            "an exponent past any float",
            br#"{"attributes":{"amount":1e999999}}"#.to_vec(),
        ),
        ("not JSON", b"{\"attributes\":".to_vec()),
        ("an empty body", Vec::new()),
    ]
}

#[tokio::test]
async fn hostile_bodies_are_client_problems_on_every_route_that_reads_one() {
    let api = Api::new();
    // A payment nobody has: the body must be refused before it is looked up.
    let payment = "/payments/6f1d2e3c-4b5a-4978-8877-665544332211";
    for (case, body) in hostile_bodies() {
        let created = send(&api, Method::POST, "/payments", body.clone()).await;
        assert_client_problem(&format!("POST {case}"), &created);
        let updated = send(&api, Method::PUT, payment, body).await;
        assert_client_problem(&format!("PUT {case}"), &updated);
    }
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_refused_by_the_function_or_the_emulator_alone() {
    let api = Api::new();
    let stack = Stack::from_env();
    let mut excused = 0;
    for body in [
        b"\xff\xfe".to_vec(),
        b"{\"attributes\":\"\xc3\x28\"}".to_vec(),
    ] {
        let answer = send(&api, Method::POST, "/payments", body).await;
        if stack.own_answer_to_non_utf8(answer.status, &answer.content_type, &answer.body) {
            excused += 1;
            continue;
        }
        assert_client_problem("POST a body that is not UTF-8", &answer);
    }
    if excused > 0 {
        eprintln!("excused {excused} answer(s) of {stack:?} itself to a body that is not UTF-8");
    }
}
