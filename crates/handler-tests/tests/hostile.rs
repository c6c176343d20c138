//! A corpus of hostile inputs, replayed through the six functions' handlers as API Gateway would
//! deliver them: events from `events/` with their body, headers, path, query or identity made
//! hostile. For every input the service must answer a 4xx `application/problem+json` whose
//! `status` is the response's, within [`ANSWER_WITHIN`], and leave the table exactly as it was:
//! no payment, version or idempotency record written, changed or removed (the tests that attack
//! a payment seed one first).
//!
//! Storage is DynamoDB Local (`DYNAMODB_ENDPOINT`), one table per test.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Request};
use payments_core::App;
use payments_core::domain::{OrganisationId, Payment, PaymentId, Timestamp};
use payments_core::http::{self as api, PROBLEM_JSON};
use payments_core::repository::{Cursor, PaymentRepository};
use payments_core::testing::{TestTable, example_attributes, example_request};
use serde_json::{Value, json};

use handler_tests::Function;

/// A hang is a failure: every request must be answered within this.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// The payment and organisation of the events in `events/`.
const PAYMENT_ID: &str = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41";
const ORGANISATION_ID: &str = "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60";
const ANOTHER_ORGANISATION_ID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

// ---------------------------------------------------------------------------------------------
// Hostile cases: an event, changed.

/// One hostile request.
struct Case {
    name: String,
    function: Function,
    event: Value,
    /// Header values set as bytes after the event is parsed: API Gateway passes on bytes that
    /// an event's JSON strings cannot carry (obs-text).
    raw_headers: Vec<(&'static str, Vec<u8>)>,
}

impl Case {
    fn new(name: impl Into<String>, function: Function) -> Self {
        Self {
            name: name.into(),
            function,
            event: function.base_event(),
            raw_headers: Vec::new(),
        }
    }

    /// The body as sent: text when it is UTF-8, otherwise base64-encoded, as API Gateway
    /// delivers bodies that are not text.
    fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        match std::str::from_utf8(body) {
            Ok(text) => {
                self.event["body"] = json!(text);
                self.event["isBase64Encoded"] = json!(false);
            }
            Err(_) => return self.base64_body(body),
        }
        self
    }

    fn base64_body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.event["body"] = json!(STANDARD.encode(body));
        self.event["isBase64Encoded"] = json!(true);
        self
    }

    fn json(self, body: &Value) -> Self {
        self.body(body.to_string())
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.event["headers"][name.to_ascii_lowercase()] = json!(value);
        self
    }

    fn without_header(mut self, name: &str) -> Self {
        if let Some(headers) = self.event["headers"].as_object_mut() {
            headers.remove(&name.to_ascii_lowercase());
        }
        self
    }

    fn raw_header(mut self, name: &'static str, value: &[u8]) -> Self {
        self.raw_headers.push((name, value.to_vec()));
        self
    }

    /// `/payments/{id}` with `id` as both the raw path and the path parameter.
    fn id(mut self, id: &str) -> Self {
        let path = format!("/payments/{id}");
        self.event["rawPath"] = json!(path);
        self.event["requestContext"]["http"]["path"] = json!(path);
        self.event["pathParameters"] = json!({ "id": id });
        self
    }

    fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        let mut parameters = serde_json::Map::new();
        for (name, value) in pairs {
            parameters.insert((*name).to_owned(), json!(value));
        }
        let raw: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect();
        self.event["rawQueryString"] = json!(raw.join("&"));
        self.event["queryStringParameters"] = Value::Object(parameters);
        self
    }

    fn claims(mut self, claims: Value) -> Self {
        self.event["requestContext"]["authorizer"]["jwt"]["claims"] = claims;
        self
    }

    fn request(&self) -> Result<Request, String> {
        let mut request = lambda_http::request::from_str(&self.event.to_string())
            .map_err(|e| format!("not an HTTP API event: {e}"))?;
        for (name, value) in &self.raw_headers {
            let value = HeaderValue::from_bytes(value).map_err(|e| format!("{name}: {e}"))?;
            request
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
        Ok(request)
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The example payment's request body.
fn payment() -> Value {
    example_request()
}

// ---------------------------------------------------------------------------------------------
// Running a corpus.

/// Every item of the table, in key order, to compare before and after.
async fn snapshot(table: &TestTable) -> Vec<HashMap<String, AttributeValue>> {
    let key = |item: &HashMap<String, AttributeValue>| {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        (text("pk"), text("sk"))
    };
    let mut items = table.items().await;
    items.sort_by_key(key);
    items
}

/// A table holding the events' payment at version 1, and an app on it that identifies callers
/// by their JWT claim, as in AWS.
async fn seeded() -> (TestTable, &'static App) {
    let table = TestTable::create().await;
    let payment = Payment::create(
        PAYMENT_ID.parse::<PaymentId>().unwrap(),
        ORGANISATION_ID.parse::<OrganisationId>().unwrap(),
        example_attributes(),
        Timestamp::now(),
    );
    table
        .repository()
        .insert(&payment, None)
        .await
        .expect("seed payment");
    let app = table.app().await;
    (table, app)
}

/// Why `case` was not rejected as it must be, if it was not.
async fn rejection_failure(app: &'static App, case: &Case) -> Option<String> {
    let request = match case.request() {
        Ok(request) => request,
        Err(error) => return Some(error),
    };
    let function = case.function;
    let answer = tokio::time::timeout(
        ANSWER_WITHIN,
        api::serve(&app.identity, request, |request| {
            function.handle(app, request)
        }),
    )
    .await;
    let Ok(response) = answer else {
        return Some(format!("no answer within {ANSWER_WITHIN:?}"));
    };
    let status = response.status();
    if !status.is_client_error() {
        return Some(format!("status {status}, not 4xx"));
    }
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type != Some(PROBLEM_JSON) {
        return Some(format!("{status} with content type {content_type:?}"));
    }
    let problem: Value = match response.body() {
        Body::Text(text) => match serde_json::from_str(text) {
            Ok(problem) => problem,
            Err(e) => return Some(format!("{status} body is not JSON: {e}")),
        },
        other => return Some(format!("{status} body is not text: {other:?}")),
    };
    let well_formed = problem["status"] == json!(status.as_u16())
        && problem["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/"))
        && problem["title"].is_string()
        && problem["detail"].is_string();
    if !well_formed {
        return Some(format!("{status} with a malformed problem: {problem}"));
    }
    None
}

/// Sends every case and asserts each is rejected with a 4xx problem, in time, with nothing
/// written.
async fn assert_rejected_without_writes(table: &TestTable, app: &'static App, cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let mut before = snapshot(table).await;
    let mut failures = Vec::new();
    for case in &cases {
        let mut problems = Vec::new();
        if let Some(failure) = rejection_failure(app, case).await {
            problems.push(failure);
        }
        let after = snapshot(table).await;
        if after != before {
            problems.push(format!(
                "changed the table ({} items before, {} after)",
                before.len(),
                after.len()
            ));
            before = after;
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{:?} {}: {}",
                case.function,
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile inputs were not rejected cleanly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `build` applied to both functions that take a payment body: create, and update of the
/// seeded payment with its current `If-Match` (so an accepted body would write).
fn for_bodies(name: &str, build: impl Fn(Case) -> Case) -> Vec<Case> {
    vec![
        build(Case::new(name, Function::CreatePayment)),
        build(Case::new(name, Function::UpdatePayment).header("if-match", "\"1\"")),
    ]
}

// ---------------------------------------------------------------------------------------------
// The corpus.

#[tokio::test]
async fn malformed_bodies_are_rejected_without_writes() {
    let (table, app) = seeded().await;
    let valid = payment().to_string();
    let mut bodies: Vec<(String, Vec<u8>)> = vec![
        ("an empty body".into(), Vec::new()),
        ("whitespace only".into(), b" \n\t ".to_vec()),
        ("truncated JSON (1 byte)".into(), valid[..1].into()),
        (
            "truncated JSON (half)".into(),
            valid[..valid.len() / 2].into(),
        ),
        (
            "truncated JSON (all but the last byte)".into(),
            valid[..valid.len() - 1].into(),
        ),
        (
            "truncated inside a string".into(),
            br#"{"attributes": {"amount": "25"#.to_vec(),
        ),
        ("a lone brace".into(), b"}".to_vec()),
        (
            "two JSON documents".into(),
            format!("{valid} {valid}").into(),
        ),
        ("trailing garbage".into(), format!("{valid} x").into()),
        ("a comment".into(), format!("// payment\n{valid}").into()),
        ("single quotes".into(), valid.replace('"', "'").into()),
        (
            "a trailing comma".into(),
            format!("{},}}", &valid[..valid.len() - 1]).into(),
        ),
        ("NaN".into(), br#"{"attributes": {"amount": NaN}}"#.to_vec()),
        (
            "Infinity".into(),
            br#"{"attributes": {"amount": Infinity}}"#.to_vec(),
        ),
        (
            "a number beyond f64".into(),
            br#"{"attributes": {"amount": 1e400}}"#.to_vec(),
        ),
        (
            "an integer of 20000 digits".into(),
            format!(
                r#"{{"attributes": {{"account_type": 1{}}}}}"#,
                "0".repeat(20_000)
            )
            .into(),
        ),
        (
            "deeply nested arrays".into(),
            "[".repeat(30_000).into_bytes(),
        ),
        (
            "deeply nested objects".into(),
            r#"{"a":"#.repeat(5_000).into_bytes(),
        ),
        (
            "deeply nested attributes".into(),
            format!(
                r#"{{"attributes": {}1{}}}"#,
                r#"{"amount":"#.repeat(3_000),
                "}".repeat(3_000)
            )
            .into(),
        ),
        (
            "a byte-order mark".into(),
            format!("\u{feff}{valid}").into(),
        ),
        (
            "a raw NUL byte between members".into(),
            format!("\0{valid}").into(),
        ),
        (
            "a raw NUL byte in a string".into(),
            valid.replacen("A Okafor", "A O\0kafor", 1).into(),
        ),
        (
            "a raw control character in a string".into(),
            valid.replacen("A Okafor", "A O\u{1}kafor", 1).into(),
        ),
        (
            "a lone surrogate escape".into(),
            valid.replacen("A Okafor", "A O\\ud800kafor", 1).into(),
        ),
        (
            "invalid escape".into(),
            valid.replacen("A Okafor", "A O\\xkafor", 1).into(),
        ),
        // Not UTF-8: API Gateway passes these base64-encoded.
        ("a lone 0xFF byte".into(), vec![0xff]),
        (
            "random bytes".into(),
            (0..=255u8).rev().cycle().take(2_000).collect(),
        ),
        ("an overlong NUL (C0 80)".into(), {
            let mut body = valid.clone().into_bytes();
            let at = valid.find("A Okafor").unwrap() + 1;
            body.splice(at..at, [0xc0, 0x80]);
            body
        }),
        ("a truncated UTF-8 sequence".into(), {
            let mut body = valid.clone().into_bytes();
            let at = valid.find("A Okafor").unwrap() + 1;
            body.splice(at..at, [0xe2, 0x82]);
            body
        }),
        ("UTF-16".into(), {
            valid
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>()
        }),
        // Past 32 KiB: refused before parsing.
        ("32 KiB and a byte of spaces".into(), {
            let mut body = valid.clone().into_bytes();
            body.resize(32 * 1024 + 1, b' ');
            body
        }),
        ("a 1 MB string member".into(), {
            let mut request = payment();
            request["attributes"]["reference"] = json!("x".repeat(1 << 20));
            request.to_string().into()
        }),
        ("1 MB of open brackets".into(), vec![b'['; 1 << 20]),
        (
            "1 MB of random bytes".into(),
            (0..1u64 << 20).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
    ];
    bodies.push(("1 MB of NUL bytes".into(), vec![0; 1 << 20]));
    // Duplicate member names: which one counts would depend on the parser.
    let attributes = payment()["attributes"].to_string();
    for (name, body) in [
        (
            "attributes twice",
            format!(r#"{{"attributes": {attributes}, "attributes": {attributes}}}"#),
        ),
        (
            "amount twice",
            valid.replacen(
                r#""amount":"250.75""#,
                r#""amount":"1.00","amount":"250.75""#,
                1,
            ),
        ),
        (
            "a party member twice",
            valid.replacen(
                r#""account_name":"A Okafor""#,
                r#""account_name":"Someone Else","account_name":"A Okafor""#,
                1,
            ),
        ),
        (
            "a sender charge's currency twice",
            valid.replacen(
                r#""currency":"EUR""#,
                r#""currency":"EUR","currency":"EUR""#,
                1,
            ),
        ),
    ] {
        assert_ne!(body, valid, "{name}: the body was changed");
        bodies.push((format!("duplicate member names: {name}"), body.into_bytes()));
    }

    let mut cases = Vec::new();
    for (name, body) in &bodies {
        cases.extend(for_bodies(name, |case| case.body(body)));
    }
    // The same bytes, base64-encoded by API Gateway even when they are text.
    for (name, body) in bodies.iter().take(6) {
        cases.extend(for_bodies(&format!("{name}, base64-encoded"), |case| {
            case.base64_body(body)
        }));
    }
    assert_rejected_without_writes(&table, app, cases).await;
}

/// Pointers to every member and array element of `value`.
fn members(value: &Value, pointer: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (name, member) in map {
                let member_pointer = format!("{pointer}/{name}");
                out.push(member_pointer.clone());
                members(member, &member_pointer, out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let item_pointer = format!("{pointer}/{index}");
                out.push(item_pointer.clone());
                members(item, &item_pointer, out);
            }
        }
        _ => {}
    }
}

fn with(request: &Value, pointer: &str, value: Value) -> Value {
    let mut request = request.clone();
    *request.pointer_mut(pointer).unwrap() = value;
    request
}

#[tokio::test]
async fn nulls_wrong_types_and_unknown_members_are_rejected_without_writes() {
    let (table, app) = seeded().await;
    let base = payment();
    let mut pointers = Vec::new();
    members(&base, "", &mut pointers);

    let mut bodies: Vec<(String, Value)> = Vec::new();
    for body in [
        Value::Null,
        json!([]),
        json!("x"),
        json!(1),
        json!(true),
        json!({}),
    ] {
        bodies.push((format!("the body {body}"), body));
    }
    bodies.push(("attributes null".into(), json!({"attributes": null})));
    let mut all_null = base.clone();
    for value in all_null["attributes"].as_object_mut().unwrap().values_mut() {
        *value = Value::Null;
    }
    bodies.push(("every attribute null".into(), all_null));
    let mut parties_null = base.clone();
    for party in ["beneficiary_party", "debtor_party", "sponsor_party"] {
        for value in parties_null["attributes"][party]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            *value = Value::Null;
        }
    }
    bodies.push(("every party member null".into(), parties_null));
    for required in [
        "amount",
        "currency",
        "beneficiary_party",
        "debtor_party",
        "payment_scheme",
        "payment_type",
        "processing_date",
    ] {
        bodies.push((
            format!("{required} null"),
            with(&base, &format!("/attributes/{required}"), Value::Null),
        ));
    }
    for party in ["beneficiary_party", "debtor_party"] {
        for required in ["account_name", "account_number"] {
            bodies.push((
                format!("{party}.{required} null"),
                with(
                    &base,
                    &format!("/attributes/{party}/{required}"),
                    Value::Null,
                ),
            ));
        }
    }
    // Every member, replaced by a value of every other JSON type.
    for pointer in &pointers {
        let original = base.pointer(pointer).unwrap();
        for wrong in [
            json!(7),
            json!(2.5),
            json!(true),
            json!("x"),
            json!([]),
            json!({}),
        ] {
            let same_type = std::mem::discriminant(original) == std::mem::discriminant(&wrong)
                || (original.is_number() && wrong.is_number());
            if !same_type {
                bodies.push((format!("{pointer} = {wrong}"), with(&base, pointer, wrong)));
            }
        }
    }
    // Unknown members at every level, and very many of them.
    for object in [
        "",
        "/attributes",
        "/attributes/beneficiary_party",
        "/attributes/sponsor_party",
        "/attributes/charges_information",
        "/attributes/charges_information/sender_charges/0",
        "/attributes/fx",
    ] {
        let mut request = base.clone();
        request.pointer_mut(object).unwrap()["id"] = json!(PAYMENT_ID);
        bodies.push((format!("an unknown member in {object:?}"), request));
    }
    for (name, value) in [
        ("version", json!(7)),
        ("organisation_id", json!(ANOTHER_ORGANISATION_ID)),
    ] {
        let mut request = base.clone();
        request[name] = value;
        bodies.push((format!("a client-sent {name}"), request));
    }
    let mut many = base.clone();
    for index in 0..3_000 {
        many["attributes"][format!("u{index}")] = json!(0);
    }
    bodies.push(("3000 unknown members".into(), many));
    bodies.push((
        "21 sender charges".into(),
        with(
            &base,
            "/attributes/charges_information/sender_charges",
            json!(vec![json!({"amount": "1.00", "currency": "GBP"}); 21]),
        ),
    ));
    bodies.push((
        "5000 empty sender charges".into(),
        with(
            &base,
            "/attributes/charges_information/sender_charges",
            json!(vec![json!({}); 5_000]),
        ),
    ));
    // Huge numbers, and text that is too long or not text.
    for (pointer, value) in [
        (
            "/attributes/amount",
            json!(123_456_789_012_345_678_901_234_567_890_f64),
        ),
        ("/attributes/amount", json!("1".repeat(20_000))),
        (
            "/attributes/amount",
            json!(format!("0.{}1", "0".repeat(1_000))),
        ),
        ("/attributes/amount", json!("1e400")),
        (
            "/attributes/beneficiary_party/account_type",
            json!(u64::MAX),
        ),
        (
            "/attributes/beneficiary_party/account_type",
            json!(i64::MIN),
        ),
        ("/attributes/beneficiary_party/account_type", json!(1e300)),
        ("/attributes/fx/exchange_rate", json!("9".repeat(5_000))),
        ("/attributes/reference", json!("x".repeat(36))),
        ("/attributes/reference", json!("\u{0}")),
        ("/attributes/reference", json!("a\u{0}b")),
        ("/attributes/payment_purpose", json!("é".repeat(141))),
        ("/attributes/numeric_reference", json!("1".repeat(36))),
        ("/attributes/processing_date", json!("2026-02-30")),
        ("/attributes/processing_date", json!("+02026-11-25")),
        ("/attributes/currency", json!("XXX")),
        ("/attributes/currency", json!("gbp")),
        ("/attributes/payment_scheme", json!("FPS\u{0}")),
    ] {
        let shown: String = value.to_string().chars().take(40).collect();
        bodies.push((format!("{pointer} = {shown}"), with(&base, pointer, value)));
    }

    let mut cases = Vec::new();
    for (name, body) in &bodies {
        cases.extend(for_bodies(name, |case| case.json(body)));
    }
    assert!(cases.len() > 300, "{} cases", cases.len());
    assert_rejected_without_writes(&table, app, cases).await;
}

#[tokio::test]
async fn hostile_headers_are_rejected_without_writes() {
    let (table, app) = seeded().await;
    let big = |unit: &str| unit.repeat(64 * 1024 / unit.len());
    let (big_garbage, big_accept, big_etags) = (big("x"), big("text/html, "), big("\"1\","));
    let mut cases = Vec::new();

    // Content-Type of a payment body.
    for (name, content_type) in [
        ("text/plain", "text/plain"),
        ("XML", "application/xml"),
        ("a form", "application/x-www-form-urlencoded"),
        ("multipart", "multipart/form-data; boundary=x"),
        ("Latin-1 JSON", "application/json; charset=latin1"),
        ("UTF-16 JSON", "application/json; charset=utf-16"),
        ("another version", "application/vnd.payments.v2+json"),
        ("a list of types", "application/json, text/plain"),
        ("a wildcard", "*/*"),
        ("an empty type", ""),
        ("garbage", ";;;=="),
        ("64 KiB of garbage", &big_garbage),
    ] {
        cases.extend(for_bodies(&format!("Content-Type {name}"), |case| {
            case.header("content-type", content_type)
        }));
    }
    cases.extend(for_bodies("no Content-Type", |case| {
        case.without_header("content-type")
    }));
    cases.extend(for_bodies("a Content-Type that is not ASCII", |case| {
        case.raw_header("content-type", b"application/json; charset=\xe9")
    }));

    // Accept, on every function.
    for function in Function::ALL {
        for (name, accept) in [
            ("another version", "application/vnd.payments.v2+json"),
            ("HTML", "text/html"),
            ("JSON at q=0", "application/json;q=0"),
            ("a q above 1", "application/json;q=2"),
            ("a q that is not a number", "application/json;q=abc"),
            ("a q with 4 decimals", "application/json;q=0.0001"),
            ("64 KiB of unserved types", &big_accept),
        ] {
            let case = Case::new(format!("Accept {name}"), function).header("accept", accept);
            cases.push(match function {
                Function::UpdatePayment => case.header("if-match", "\"1\""),
                _ => case,
            });
        }
    }

    // If-Match on the seeded payment (at version 1), for update and delete.
    for (name, if_match) in [
        ("empty", ""),
        ("garbage", "garbage"),
        ("a lone quote", "\""),
        ("an empty ETag", "\"\""),
        ("weak", "W/\"1\""),
        ("a list naming the current version twice", "\"1\", \"1\""),
        ("version 0", "\"0\""),
        ("a later version", "\"2\""),
        ("a negative version", "\"-1\""),
        ("a version beyond u64", "\"99999999999999999999999\""),
        ("unquoted", "1"),
        ("64 KiB of ETags", &big_etags),
        ("64 KiB of garbage", &big_garbage),
    ] {
        cases.push(
            Case::new(format!("If-Match {name}"), Function::UpdatePayment)
                .header("if-match", if_match),
        );
        cases.push(
            Case::new(format!("If-Match {name}"), Function::DeletePayment)
                .header("if-match", if_match),
        );
    }
    cases.push(Case::new("no If-Match", Function::UpdatePayment).without_header("if-match"));
    for function in [Function::UpdatePayment, Function::DeletePayment] {
        cases.push(
            Case::new("an If-Match that is not ASCII", function)
                .raw_header("if-match", b"\"1\xe9\""),
        );
    }

    // Idempotency-Key of a create.
    for (name, key) in [
        ("empty", "".to_owned()),
        ("256 characters", "k".repeat(256)),
        ("64 KiB", big("k")),
        ("with a tab", "a\tb".to_owned()),
    ] {
        cases.push(
            Case::new(format!("Idempotency-Key {name}"), Function::CreatePayment)
                .header("idempotency-key", &key),
        );
    }
    cases.push(
        Case::new(
            "an Idempotency-Key that is not ASCII",
            Function::CreatePayment,
        )
        .raw_header("idempotency-key", "clé".as_bytes()),
    );
    cases.push(
        Case::new("an Idempotency-Key of obs-text", Function::CreatePayment)
            .raw_header("idempotency-key", b"cl\xe9"),
    );
    assert_rejected_without_writes(&table, app, cases).await;
}

#[tokio::test]
async fn hostile_ids_in_paths_are_rejected_without_writes() {
    let (table, app) = seeded().await;
    let ids = [
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "../../etc/passwd".to_owned(),
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        "..\\..\\windows\\win.ini".to_owned(),
        format!("{PAYMENT_ID}/../x"),
        format!("{PAYMENT_ID}/"),
        format!("{PAYMENT_ID}%00"),
        format!("{PAYMENT_ID}\u{0}"),
        format!("{PAYMENT_ID}\n"),
        format!(" {PAYMENT_ID}"),
        format!("{{{PAYMENT_ID}}}"),
        format!("urn:uuid:{PAYMENT_ID}"),
        PAYMENT_ID.replace('-', ""),
        format!("PAYMENT#{PAYMENT_ID}"),
        "CURRENT".to_owned(),
        format!("{PAYMENT_ID}#CURRENT"),
        "*".to_owned(),
        "null".to_owned(),
        "%".to_owned(),
        "{id}".to_owned(),
        "\u{661}".repeat(36),
        "é".repeat(36),
        "a".repeat(10_000),
        // http::Uri, which lambda_http builds from the path, stops at 64 KiB; API Gateway's own
        // limit on a request line is far lower.
        "0".repeat(60_000),
        // Well-formed, but not a payment of the caller's: 404.
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "ffffffff-ffff-ffff-ffff-ffffffffffff".to_owned(),
    ];
    let mut cases = Vec::new();
    for id in &ids {
        let shown: String = id.chars().take(40).collect();
        let name = format!("id {shown:?} ({} bytes)", id.len());
        cases.push(Case::new(&name, Function::GetPayment).id(id));
        cases.push(Case::new(&name, Function::UpdatePayment).id(id));
        cases.push(Case::new(&name, Function::DeletePayment).id(id));
    }
    // A router that gives no path parameter: the id comes from the raw path.
    for function in [
        Function::GetPayment,
        Function::UpdatePayment,
        Function::DeletePayment,
    ] {
        let mut case = Case::new("no path parameter and a trailing slash", function);
        case.event["pathParameters"] = Value::Null;
        case.event["rawPath"] = json!("/payments/");
        cases.push(case);
    }
    assert_rejected_without_writes(&table, app, cases).await;
}

#[tokio::test]
async fn hostile_limits_and_cursors_are_rejected() {
    let (table, app) = seeded().await;
    let foreign = Cursor {
        organisation_id: ANOTHER_ORGANISATION_ID.parse().unwrap(),
        created_at: "2026-11-24T09:15:02.481Z".parse().unwrap(),
        payment_id: PAYMENT_ID.parse().unwrap(),
    }
    .encode();
    let own = Cursor {
        organisation_id: ORGANISATION_ID.parse().unwrap(),
        ..Cursor::decode(&foreign).unwrap()
    }
    .encode();
    let encoded = |json: &str| URL_SAFE_NO_PAD.encode(json);
    let mut cases = Vec::new();
    for limit in [
        "0",
        "-1",
        "101",
        "1e2",
        "abc",
        "",
        "99999999999999999999",
        "+5",
        " 5",
        "5 ",
        "0x10",
        "5.0",
        "½",
        "\u{661}",
        "\u{0}",
        "1,2",
    ] {
        cases.push(
            Case::new(format!("limit {limit:?}"), Function::ListPayments)
                .query(&[("limit", limit)]),
        );
    }
    let long = "A".repeat(600);
    let huge = "A".repeat(60_000);
    let cursors = [
        ("empty".to_owned(), String::new()),
        ("not base64".to_owned(), "!!!".to_owned()),
        ("short garbage".to_owned(), "abc".to_owned()),
        ("600 characters".to_owned(), long),
        ("60 KB".to_owned(), huge),
        ("an array".to_owned(), encoded("[1,2]")),
        ("null".to_owned(), encoded("null")),
        ("an empty object".to_owned(), encoded("{}")),
        ("another organisation's".to_owned(), foreign.clone()),
        ("padded".to_owned(), format!("{own}==")),
        ("with a trailing byte".to_owned(), format!("{own}A")),
        ("with a path".to_owned(), format!("../{own}")),
        ("with a NUL".to_owned(), format!("{own}\u{0}")),
        (
            "whose keys disagree".to_owned(),
            encoded(&format!(
                r#"{{"pk":"PAYMENT#11111111-1111-4111-8111-111111111111","sk":"CURRENT","gsi1pk":"ORG#{ORGANISATION_ID}","gsi1sk":"2026-11-24T09:15:02.481Z#{PAYMENT_ID}"}}"#
            )),
        ),
        (
            "naming a history item".to_owned(),
            encoded(&format!(
                r#"{{"pk":"PAYMENT#{PAYMENT_ID}","sk":"VERSION#00000000000000000001","gsi1pk":"ORG#{ORGANISATION_ID}","gsi1sk":"2026-11-24T09:15:02.481Z#{PAYMENT_ID}"}}"#
            )),
        ),
        (
            "with an extra key".to_owned(),
            encoded(&format!(
                r#"{{"pk":"PAYMENT#{PAYMENT_ID}","sk":"CURRENT","gsi1pk":"ORG#{ORGANISATION_ID}","gsi1sk":"2026-11-24T09:15:02.481Z#{PAYMENT_ID}","x":"y"}}"#
            )),
        ),
        (
            "with keys of other types".to_owned(),
            encoded(r#"{"pk":1,"sk":true,"gsi1pk":null,"gsi1sk":[]}"#),
        ),
    ];
    let standard = STANDARD.encode(URL_SAFE_NO_PAD.decode(&own).unwrap());
    assert_ne!(
        standard, own,
        "the cursor's standard base64 differs from its URL-safe one"
    );
    let cursors = cursors
        .into_iter()
        .chain([("standard base64".to_owned(), standard)]);
    for (name, cursor) in cursors {
        cases.push(
            Case::new(format!("cursor {name}"), Function::ListPayments)
                .query(&[("cursor", &cursor)]),
        );
    }
    assert_rejected_without_writes(&table, app, cases).await;
}

#[tokio::test]
async fn requests_without_a_valid_identity_are_rejected_without_writes() {
    let (table, app) = seeded().await;
    let functions = [
        Function::CreatePayment,
        Function::ListPayments,
        Function::GetPayment,
        Function::UpdatePayment,
        Function::DeletePayment,
    ];
    let mut cases = Vec::new();
    for function in functions {
        for (name, claim) in [
            ("not a UUID", json!("not-a-uuid")),
            ("empty", json!("")),
            ("a path", json!("../../organisations/x")),
            ("a key", json!(format!("ORG#{ORGANISATION_ID}"))),
            ("10 KB", json!("0".repeat(10_000))),
        ] {
            cases.push(
                Case::new(format!("organisation claim {name}"), function)
                    .claims(json!({ "organisation_id": claim })),
            );
        }
        cases.push(Case::new("no organisation claim", function).claims(json!({"sub": "x"})));
        let mut case = Case::new("no authorizer", function);
        case.event["requestContext"]["authorizer"] = Value::Null;
        cases.push(case);
    }
    assert_rejected_without_writes(&table, app, cases).await;
}

/// An `Accept` that is not ASCII is malformed like any other header we read: 400, not ignored.
#[tokio::test]
async fn an_accept_that_is_not_ascii_is_rejected_without_writes() {
    let (table, app) = seeded().await;
    let cases = for_bodies("an Accept that is not ASCII", |case| {
        case.raw_header("accept", b"application/json\xe9")
    });
    assert_rejected_without_writes(&table, app, cases).await;
}

/// A 32 KiB body of thousands of bad entries must not answer a problem of megabytes (each
/// entry's errors listed): too many sender charges is one error, found before the entries
/// are parsed.
#[tokio::test]
async fn a_problem_stays_small_whatever_the_body() {
    const MAX_PROBLEM_BYTES: usize = 256 * 1024;
    let (table, app) = seeded().await;
    let mut failures = Vec::new();
    for charges in [json!(vec![json!(1); 15_000]), json!(vec![json!({}); 5_000])] {
        let body = with(
            &payment(),
            "/attributes/charges_information/sender_charges",
            charges,
        );
        for case in for_bodies("thousands of bad sender charges", |case| case.json(&body)) {
            let response = api::serve(&app.identity, case.request().unwrap(), |request| {
                case.function.handle(app, request)
            })
            .await;
            let size = match response.body() {
                Body::Text(text) => text.len(),
                _ => 0,
            };
            if response.status() != StatusCode::UNPROCESSABLE_ENTITY || size > MAX_PROBLEM_BYTES {
                failures.push(format!(
                    "{:?}: {} of {size} bytes",
                    case.function,
                    response.status()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(table.items().await.len(), 2, "nothing was written");
}
