//! `docs/openapi.yaml` against the code, so that the hand-written spec cannot drift from what the
//! service does:
//!
//! - its operations are the template's routes, and only `/alive` and `/ready` need no identity;
//! - its enumerations are the domain's `ALL`, its text limits the `Text<N>` limits, and its
//!   currencies exactly those `Currency` parses, each with the right number of decimals;
//! - its request schema accepts exactly what `PaymentAttributes::parse_request` accepts, over
//!   hundreds of mutations of the example payment (every member removed, replaced by values of
//!   every type and edge, unknown members added), and likewise for ids, `limit`,
//!   `Idempotency-Key` and `If-Match`;
//! - every problem the code can answer is documented, under its status, with its headers;
//! - every response the events in `events/` produce (with DynamoDB Local) has a status the spec
//!   lists for that operation, a documented content type and headers, and a body that validates
//!   against the spec's schema.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use http::HeaderMap;
use lambda_http::{Body, Request};
use payments_core::config::DEFAULT_ORGANISATION_CLAIM;
use payments_core::domain::{
    AccountNumber, AccountNumberCode, BearerCode, Currency, ExpectedVersion, IdempotencyKey,
    MAX_SENDER_CHARGES, Name, PageSize, PaymentAttributes, PaymentId, PaymentScheme, PaymentType,
    Reference, Text, ValidationErrors,
};
use payments_core::http::{self as api, ApiError, ApiResponse, PROBLEM_JSON, problem_response};
use payments_core::identity::Identity;
use payments_core::testing::{cases, example_request, replay_event};
use serde_json::{Value, json};

use handler_tests::Function;

// ---------------------------------------------------------------------------------------------
// The spec, and validators for the schemas inside it.

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = repo_root().join("docs/openapi.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_norway::from_str(&text).expect("docs/openapi.yaml is valid YAML")
    })
}

/// A JSON pointer token for `name` (RFC 6901).
fn token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The pointer of the object at `pointer`, following a `$ref` to another part of the spec.
fn resolve(pointer: &str) -> String {
    let mut pointer = pointer.to_owned();
    while let Some(target) = spec()
        .pointer(&pointer)
        .and_then(|value| value.get("$ref"))
        .and_then(Value::as_str)
    {
        pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{pointer}: only local $refs, not {target}"))
            .to_owned();
    }
    pointer
}

fn at(pointer: &str) -> &'static Value {
    spec()
        .pointer(&resolve(pointer))
        .unwrap_or_else(|| panic!("docs/openapi.yaml has nothing at {pointer}"))
}

/// A validator for the schema at `pointer`, compiled once. The whole spec is the root resource,
/// so the schema's `$ref`s resolve as they do for any OpenAPI 3.1 tool.
fn validator(pointer: &str) -> &'static jsonschema::Validator {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(validator) = cache.lock().unwrap().get(pointer) {
        return validator;
    }
    let mut root = spec().clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    // A URI fragment: the braces of `/payments/{id}` must be percent-encoded.
    let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
    root["$ref"] = json!(format!("#{fragment}"));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"));
    let validator: &'static jsonschema::Validator = Box::leak(Box::new(validator));
    cache.lock().unwrap().insert(pointer.to_owned(), validator);
    validator
}

fn schema_errors(pointer: &str, instance: &Value) -> Vec<String> {
    validator(pointer)
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

fn schema_accepts(pointer: &str, instance: &Value) -> bool {
    validator(pointer).is_valid(instance)
}

/// Every operation: (method in capitals, path, pointer).
fn operations() -> Vec<(String, String, String)> {
    let mut operations = Vec::new();
    for (path, item) in spec()["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                operations.push((
                    method.to_ascii_uppercase(),
                    path.clone(),
                    format!("/paths/{}/{method}", token(path)),
                ));
            }
        }
    }
    operations
}

fn operation(method: &str, path: &str) -> String {
    let pointer = format!("/paths/{}/{}", token(path), method.to_ascii_lowercase());
    assert!(
        spec().pointer(&pointer).is_some(),
        "docs/openapi.yaml has no {method} {path}"
    );
    pointer
}

/// The statuses an operation documents.
fn statuses(operation: &str) -> BTreeSet<u16> {
    at(&format!("{operation}/responses"))
        .as_object()
        .expect("responses")
        .keys()
        .map(|status| status.parse().expect("statuses are numbers"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Routes.

#[test]
fn the_operations_are_the_template_routes_and_only_health_needs_no_identity() {
    let path = repo_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("template.yaml");
    let mut routes = BTreeMap::new();
    for (_, resource) in template["Resources"].as_mapping().expect("Resources") {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            let route = (
                properties["Method"].as_str().unwrap().to_ascii_uppercase(),
                properties["Path"].as_str().unwrap().to_owned(),
            );
            let open = properties["Auth"]["Authorizer"].as_str() == Some("NONE");
            routes.insert(route, open);
        }
    }

    let mut documented = BTreeMap::new();
    for (method, path, pointer) in operations() {
        let operation = at(&pointer);
        let security = operation.get("security").unwrap_or(&spec()["security"]);
        let open = security.as_array().is_some_and(|s| s.is_empty());
        documented.insert((method, path), open);
    }
    assert_eq!(
        documented, routes,
        "docs/openapi.yaml's operations (and which need no identity) are template.yaml's HttpApi routes"
    );
}

#[test]
fn links_name_operations_and_parameters_that_exist() {
    let mut by_id = HashMap::new();
    for (_, path, pointer) in operations() {
        let id = at(&pointer)["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{pointer} has no operationId"));
        by_id.insert(id.to_owned(), (path, pointer));
    }
    let mut links = 0;
    for (_, _, pointer) in operations() {
        for status in statuses(&pointer) {
            let response = at(&format!("{pointer}/responses/{status}"));
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                links += 1;
                let target = link["operationId"].as_str().unwrap();
                let (path, target_pointer) = by_id
                    .get(target)
                    .unwrap_or_else(|| panic!("link {name} names no operation: {target}"));
                let mut parameters: Vec<&Value> = Vec::new();
                for list in [
                    format!("/paths/{}/parameters", token(path)),
                    format!("{target_pointer}/parameters"),
                ] {
                    if let Some(Value::Array(items)) = spec().pointer(&list) {
                        for index in 0..items.len() {
                            parameters.push(at(&format!("{list}/{index}")));
                        }
                    }
                }
                for key in link["parameters"].as_object().unwrap().keys() {
                    let (location, name) = key.split_once('.').unwrap();
                    assert!(
                        parameters
                            .iter()
                            .any(|p| p["in"] == location && p["name"] == name),
                        "link {name} sets {key}, which {target} does not take"
                    );
                }
            }
        }
    }
    assert!(
        links >= 8,
        "the create, get and update responses link onward"
    );
}

#[test]
fn every_status_of_the_design_is_documented_for_its_operation() {
    // DESIGN.md section 2, route by route.
    let design: &[(&str, &str, &[u16])] = &[
        (
            "POST",
            "/payments",
            &[201, 400, 401, 406, 409, 413, 415, 422, 500, 503],
        ),
        ("GET", "/payments", &[200, 400, 401, 406, 500, 503]),
        (
            "GET",
            "/payments/{id}",
            &[200, 400, 401, 404, 406, 500, 503],
        ),
        (
            "PUT",
            "/payments/{id}",
            &[
                200, 400, 401, 404, 406, 409, 412, 413, 415, 422, 428, 500, 503,
            ],
        ),
        (
            "DELETE",
            "/payments/{id}",
            &[204, 400, 401, 404, 406, 409, 412, 500, 503],
        ),
        ("GET", "/alive", &[200, 406, 500]),
        ("GET", "/ready", &[200, 406, 500, 503]),
    ];
    for (method, path, expected) in design {
        let documented = statuses(&operation(method, path));
        let missing: Vec<_> = expected
            .iter()
            .filter(|s| !documented.contains(s))
            .collect();
        assert!(
            missing.is_empty(),
            "{method} {path} does not document {missing:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Enumerations, currencies and limits.

fn enum_values(pointer: &str) -> Vec<String> {
    at(pointer)["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{pointer} has no enum"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn enumerations_are_the_domain_enumerations() {
    fn names<T: ToString>(all: &[T]) -> Vec<String> {
        all.iter().map(ToString::to_string).collect()
    }
    let cases = [
        ("PaymentType", names(PaymentType::ALL)),
        ("PaymentScheme", names(PaymentScheme::ALL)),
        ("AccountNumberCode", names(AccountNumberCode::ALL)),
        ("BearerCode", names(BearerCode::ALL)),
    ];
    for (schema, domain) in cases {
        assert_eq!(
            enum_values(&format!("/components/schemas/{schema}")),
            domain,
            "{schema}"
        );
    }
}

#[test]
fn the_currencies_are_exactly_those_the_domain_accepts() {
    let documented: BTreeSet<String> = enum_values("/components/schemas/Currency")
        .into_iter()
        .collect();
    let letters = b'A'..=b'Z';
    let mut accepted = BTreeSet::new();
    for a in letters.clone() {
        for b in letters.clone() {
            for c in letters.clone() {
                let code = String::from_utf8(vec![a, b, c]).unwrap();
                if code.parse::<Currency>().is_ok() {
                    accepted.insert(code);
                }
            }
        }
    }
    assert_eq!(documented, accepted);
}

#[test]
fn every_currency_allows_exactly_its_minor_unit_of_decimals() {
    // Each place a payment carries an amount beside its currency, as JSON pointers into the
    // example request.
    let pairs = [
        ("/attributes/amount", "/attributes/currency"),
        (
            "/attributes/charges_information/sender_charges/0/amount",
            "/attributes/charges_information/sender_charges/0/currency",
        ),
        (
            "/attributes/charges_information/receiver_charges_amount",
            "/attributes/charges_information/receiver_charges_currency",
        ),
        (
            "/attributes/fx/original_amount",
            "/attributes/fx/original_currency",
        ),
    ];
    let amounts = [
        "1", "1.5", "1.25", "1.125", "1.0625", "1.03125", "10.10", "1.000", "0.5", "0.05", "0.005",
        "0.0005", "0.00005",
    ];
    let mut mismatches = Vec::new();
    for currency in enum_values("/components/schemas/Currency") {
        for (amount_at, currency_at) in pairs {
            for amount in amounts {
                let mut request = example_request();
                *request.pointer_mut(amount_at).unwrap() = json!(amount);
                *request.pointer_mut(currency_at).unwrap() = json!(currency);
                let code = PaymentAttributes::parse_request(&request).is_ok();
                let spec = schema_accepts("/components/schemas/PaymentRequest", &request);
                if code != spec {
                    mismatches.push(format!(
                        "{amount} {currency} at {amount_at}: the code {}, the spec {}",
                        verdict(code),
                        verdict(spec)
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", summary(&mismatches));
}

/// The `N` of a `Text<N>`.
trait Limit {
    const MAX: usize;
}
impl<const N: usize> Limit for Text<N> {
    const MAX: usize = N;
}

#[test]
fn text_and_list_limits_are_the_domain_limits() {
    for (schema, max) in [
        ("Reference", <Reference as Limit>::MAX),
        ("Name", <Name as Limit>::MAX),
        ("AccountNumber", <AccountNumber as Limit>::MAX),
    ] {
        let documented = at(&format!("/components/schemas/{schema}"));
        assert_eq!(documented["maxLength"], json!(max), "{schema}");
        assert_eq!(documented["minLength"], json!(1), "{schema}");
    }
    let charges = at("/components/schemas/ChargesInformation/properties/sender_charges");
    assert_eq!(charges["maxItems"], json!(MAX_SENDER_CHARGES));
}

// ---------------------------------------------------------------------------------------------
// The request schema and the parser, compared on mutations of the example payment.

fn verdict(accepted: bool) -> &'static str {
    if accepted { "accepts" } else { "rejects" }
}

fn summary(mismatches: &[String]) -> String {
    let shown: Vec<&str> = mismatches.iter().take(60).map(String::as_str).collect();
    format!(
        "{} disagreement(s) between docs/openapi.yaml and the code:\n{}",
        mismatches.len(),
        shown.join("\n")
    )
}

/// Values of every JSON type, and the edges of every rule a payment's members follow.
fn candidates() -> Vec<Value> {
    let mut strings: Vec<String> = [
        "",
        " ",
        "\u{3000}",
        "\u{a0}x",
        "a",
        "Z",
        "a\u{0}b",
        "a\tb",
        "a\nb",
        "x\u{7f}",
        "x\u{85}",
        "x\u{9f}",
        "é",
        "0",
        "00",
        "12a",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1e3",
        ".5",
        "1.",
        "01",
        "0.0",
        "0.00",
        "0.01",
        "0.10",
        "1",
        "1.5",
        "1.50",
        "1.505",
        "1.5055",
        "1.50555",
        "250.75",
        "0.0000000001",
        "0.00000000001",
        "1.0000000000",
        "1.00000000000",
        "NaN",
        "Infinity",
        "123456789012345678",
        "1234567890123456789",
        "2026-11-25",
        "2028-02-29",
        "2026-02-29",
        "2026-13-01",
        "2026-1-5",
        "26-11-25",
        "2026-11-25T00:00:00Z",
        "0000-01-01",
        "9999-12-31",
        "GBP",
        "gbp",
        "JPY",
        "BHD",
        "CLF",
        "XXX",
        "XAU",
        "Credit",
        "credit",
        "Debit",
        "DEBIT",
        "FPS",
        "BACS",
        "CHAPS",
        "SEPA",
        "SWIFT",
        "ACH",
        "BBAN",
        "IBAN",
        "iban",
        "SHAR",
        "OUR",
        "BEN",
        "SHARED",
        "null",
        "true",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for length in [33, 34, 35, 36, 139, 140, 141] {
        strings.push("x".repeat(length));
        strings.push("1".repeat(length));
    }
    for length in [34, 35, 36, 140, 141] {
        // Limits count characters, not bytes.
        strings.push("é".repeat(length));
        strings.push("😀".repeat(length));
    }
    let mut values: Vec<Value> = strings.into_iter().map(Value::String).collect();
    values.extend([
        json!(0),
        json!(1),
        json!(9),
        json!(10),
        json!(-1),
        // Integers to JSON Schema, as to the parser: a zero fraction, an exponent, minus zero.
        json!(8.0),
        json!(1e0),
        json!(-0.0),
        json!(9.5),
        json!(10.0),
        json!(1.5),
        json!(250.75),
        json!(1e300),
        json!(u64::MAX),
        json!(true),
        json!(false),
        Value::Null,
        json!([]),
        json!([1]),
        json!(["x"]),
        json!({}),
        json!({"amount": "1.00", "currency": "GBP"}),
        json!({"account_name": "A", "account_number": "1"}),
        json!({"bearer_code": "OUR"}),
        json!({"exchange_rate": "1.1"}),
        json!([{"amount": "1.00", "currency": "GBP"}]),
    ]);
    values
}

/// Pointers to every member and array element of `value`, and to every object in it.
fn pointers(value: &Value, pointer: &str, members: &mut Vec<String>, objects: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            objects.push(pointer.to_owned());
            for (name, member) in map {
                let member_pointer = format!("{pointer}/{}", token(name));
                members.push(member_pointer.clone());
                pointers(member, &member_pointer, members, objects);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let item_pointer = format!("{pointer}/{index}");
                members.push(item_pointer.clone());
                pointers(item, &item_pointer, members, objects);
            }
        }
        _ => {}
    }
}

fn without(request: &Value, pointer: &str) -> Value {
    let mut request = request.clone();
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    match request.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.remove(&last.replace("~1", "/").replace("~0", "~"));
        }
        Value::Array(items) => {
            items.remove(last.parse::<usize>().unwrap());
        }
        _ => unreachable!("{parent} holds {pointer}"),
    }
    request
}

fn with(request: &Value, pointer: &str, value: Value) -> Value {
    let mut request = request.clone();
    match request.pointer_mut(pointer) {
        Some(slot) => *slot = value,
        None => panic!("{pointer} is not in the request"),
    }
    request
}

#[test]
fn the_request_schema_accepts_exactly_what_the_parser_accepts() {
    const SCHEMA: &str = "/components/schemas/PaymentRequest";
    let base = example_request();
    let mut members = Vec::new();
    let mut objects = Vec::new();
    pointers(&base, "", &mut members, &mut objects);

    let mut variants: Vec<(String, Value)> = Vec::new();
    for candidate in [Value::Null, json!([]), json!("x"), json!(1), json!({})] {
        variants.push((format!("the body as {candidate}"), candidate));
    }
    for object in &objects {
        let mut request = base.clone();
        request.pointer_mut(object).unwrap()["unknown_member"] = json!("x");
        variants.push((format!("an unknown member in {object:?}"), request));
    }
    let charges = "/attributes/charges_information/sender_charges";
    for count in [0, 1, MAX_SENDER_CHARGES, MAX_SENDER_CHARGES + 1] {
        let charge = base.pointer(&format!("{charges}/0")).unwrap().clone();
        variants.push((
            format!("{count} sender charges"),
            with(&base, charges, Value::Array(vec![charge; count])),
        ));
    }

    let mut mismatches = Vec::new();
    let mut compared = [0usize; 2];
    let mut compare = |what: &str, request: &Value, mismatches: &mut Vec<String>| {
        let code = PaymentAttributes::parse_request(request).is_ok();
        let spec = schema_accepts(SCHEMA, request);
        compared[usize::from(code)] += 1;
        if code != spec {
            mismatches.push(format!(
                "{what}: the code {}, the spec {}",
                verdict(code),
                verdict(spec)
            ));
        }
    };
    compare("the example", &base, &mut mismatches);
    for (what, request) in &variants {
        compare(what, request, &mut mismatches);
    }
    for member in &members {
        let removed = without(&base, member);
        compare(&format!("without {member}"), &removed, &mut mismatches);
        let in_object = base
            .pointer(member.rsplit_once('/').unwrap().0)
            .unwrap()
            .is_object();
        let optional = in_object && PaymentAttributes::parse_request(&removed).is_ok();
        for candidate in candidates() {
            let request = with(&base, member, candidate.clone());
            if candidate.is_null() && optional {
                // The one documented leniency: a member sent as null counts as absent. The
                // spec describes the canonical form (leave the member out).
                if PaymentAttributes::parse_request(&request).is_err() {
                    mismatches.push(format!("{member} = null is not treated as absent"));
                }
                continue;
            }
            let shown: String = candidate.to_string().chars().take(40).collect();
            compare(&format!("{member} = {shown}"), &request, &mut mismatches);
        }
    }
    assert!(mismatches.is_empty(), "{}", summary(&mismatches));
    let [rejected, accepted] = compared;
    assert!(
        rejected > 2000 && accepted > 500,
        "the mutations exercise both outcomes: {rejected} rejected, {accepted} accepted"
    );
}

#[test]
fn ids_limits_and_idempotency_keys_follow_the_parsers() {
    let uuid = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41";
    let mut mismatches = Vec::new();
    let ids = [
        uuid.to_owned(),
        uuid.to_ascii_uppercase(),
        uuid.replace('-', ""),
        format!("{{{uuid}}}"),
        format!("urn:uuid:{uuid}"),
        format!(" {uuid}"),
        format!("{uuid}0"),
        "".to_owned(),
        "../etc/passwd".to_owned(),
        "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9bzz".to_owned(),
        "0b7c3c525-a0e-4b8e-9d2f-6f1a2c7e9b41".to_owned(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
    ];
    for id in ids {
        let code = id.parse::<PaymentId>().is_ok();
        let spec = schema_accepts("/components/schemas/Uuid", &json!(id));
        if code != spec {
            mismatches.push(format!(
                "id {id:?}: the code {}, the spec {}",
                verdict(code),
                verdict(spec)
            ));
        }
    }
    for limit in -3..=103 {
        let code = limit.to_string().parse::<PageSize>().is_ok();
        let spec = schema_accepts("/components/parameters/Limit/schema", &json!(limit));
        if code != spec {
            mismatches.push(format!(
                "limit {limit}: the code {}, the spec {}",
                verdict(code),
                verdict(spec)
            ));
        }
    }
    let keys = [
        "a".to_owned(),
        "invoice-2026-118".to_owned(),
        " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}".to_owned(),
        "k".repeat(255),
        "k".repeat(256),
        "".to_owned(),
        "tab\tkey".to_owned(),
        "clé".to_owned(),
        "del\u{7f}".to_owned(),
        "nul\u{0}".to_owned(),
    ];
    for key in keys {
        let code = key.parse::<IdempotencyKey>().is_ok();
        let spec = schema_accepts("/components/parameters/IdempotencyKey/schema", &json!(key));
        if code != spec {
            mismatches.push(format!(
                "Idempotency-Key {key:?}: the code {}, the spec {}",
                verdict(code),
                verdict(spec)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", summary(&mismatches));
}

/// What `If-Match: value` means to the code: a version to match (`Some`), or an error.
async fn if_match(value: &str) -> Result<ExpectedVersion, u16> {
    let identity = Identity::Jwt {
        claim: DEFAULT_ORGANISATION_CLAIM.to_owned(),
    };
    let request: Request = http::Request::builder()
        .method("DELETE")
        .uri("/payments/0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41")
        .header("if-match", value)
        .body(Body::Empty)
        .unwrap();
    let found = Mutex::new(None);
    let slot = &found;
    let response = api::serve(&identity, request, |request| async move {
        let expected = request.if_match()?;
        *slot.lock().unwrap() = expected;
        Ok(ApiResponse::no_content())
    })
    .await;
    match found.into_inner().unwrap() {
        Some(expected) => Ok(expected),
        None => Err(response.status().as_u16()),
    }
}

#[tokio::test]
async fn if_match_is_documented_as_the_values_that_name_a_version() {
    let mut mismatches = Vec::new();
    for value in [
        "*",
        "\"1\"",
        "\"42\"",
        "\"1234567890123456789\"",
        "\"0\"",
        "\"01\"",
        "\"+1\"",
        "\"\"1\"\"",
        "W/\"1\"",
        "\"1\", \"2\"",
        "1",
        "\"\"",
        "\"",
        "\"abc\"",
        "\"-1\"",
        "\"1.0\"",
        "\"18446744073709551616\"",
        "",
        "**",
    ] {
        let code = if_match(value).await.is_ok();
        let spec = schema_accepts("/components/schemas/IfMatch", &json!(value));
        if code != spec {
            mismatches.push(format!(
                "If-Match {value:?}: the code {}, the spec {}",
                verdict(code),
                verdict(spec)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", summary(&mismatches));
}

// ---------------------------------------------------------------------------------------------
// Problems.

/// One of every error the HTTP adapter can answer.
fn every_api_error() -> Vec<ApiError> {
    let mut invalid = ValidationErrors::new();
    invalid.add("attributes.amount", "is required");
    let errors = vec![
        ApiError::BadRequest("the request body is not valid JSON".to_owned()),
        ApiError::Unauthorized,
        ApiError::NotFound,
        ApiError::NotAcceptable,
        ApiError::Conflict,
        ApiError::PreconditionFailed,
        ApiError::PayloadTooLarge,
        ApiError::UnsupportedMediaType,
        ApiError::Validation(invalid),
        ApiError::IdempotencyMismatch,
        ApiError::PreconditionRequired,
        ApiError::Unavailable("throttled".into()),
        ApiError::Internal("a bug".into()),
    ];
    for error in &errors {
        // A new variant stops this from compiling: add it to the list above too.
        match error {
            ApiError::BadRequest(_)
            | ApiError::Unauthorized
            | ApiError::NotFound
            | ApiError::NotAcceptable
            | ApiError::Conflict
            | ApiError::PreconditionFailed
            | ApiError::PayloadTooLarge
            | ApiError::UnsupportedMediaType
            | ApiError::Validation(_)
            | ApiError::IdempotencyMismatch
            | ApiError::PreconditionRequired
            | ApiError::Unavailable(_)
            | ApiError::Internal(_) => {}
        }
    }
    errors
}

#[test]
fn every_problem_the_code_answers_is_documented_under_its_status() {
    let mut failures = Vec::new();
    let mut slugs = BTreeSet::new();
    for error in every_api_error() {
        let response = problem_response(&error, "Vx0016abcdEFg=");
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str::<Value>(text).unwrap(),
            other => panic!("a problem body is text, not {other:?}"),
        };
        slugs.insert(body["type"].as_str().unwrap().to_owned());
        let mut documented = 0;
        for (method, path, pointer) in operations() {
            if !statuses(&pointer).contains(&status) {
                continue;
            }
            documented += 1;
            let failures_here =
                check_response(&method, &path, status, response.headers(), Some(&body));
            failures.extend(failures_here.into_iter().map(|f| format!("{error:?}: {f}")));
        }
        if documented == 0 {
            failures.push(format!("{error:?}: no operation documents {status}"));
        }
    }
    assert!(failures.is_empty(), "{}", summary(&failures));

    // And the spec names no problem type the code cannot answer.
    let text = serde_json::to_string(&spec()["components"]["responses"]).unwrap();
    let named: BTreeSet<String> = text
        .split('"')
        .filter(|piece| piece.starts_with("/problems/"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        named, slugs,
        "the problem types of docs/openapi.yaml are the code's"
    );
}

// ---------------------------------------------------------------------------------------------
// A response against the spec.

/// Everything about one response that the spec does not allow, for `method path`.
fn check_response(
    method: &str,
    path: &str,
    status: u16,
    headers: &HeaderMap,
    body: Option<&Value>,
) -> Vec<String> {
    let operation = operation(method, path);
    let mut failures = Vec::new();
    if !statuses(&operation).contains(&status) {
        return vec![format!("{method} {path} does not document status {status}")];
    }
    let response = resolve(&format!("{operation}/responses/{status}"));
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match (at(&response).get("content"), content_type, body) {
        (None, None, None) => {}
        (Some(content), Some(content_type), Some(body)) => {
            if content.get(content_type).is_none() {
                failures.push(format!(
                    "{method} {path} {status}: content type {content_type} is not documented"
                ));
            } else {
                let schema = format!("{response}/content/{}/schema", token(content_type));
                for error in schema_errors(&schema, body) {
                    failures.push(format!("{method} {path} {status}: {error}"));
                }
            }
        }
        (content, content_type, body) => failures.push(format!(
            "{method} {path} {status}: documented content {}, got content type {content_type:?} and body {body:?}",
            content.is_some()
        )),
    }
    for (name, _) in at(&response)["headers"].as_object().into_iter().flatten() {
        let header = resolve(&format!("{response}/headers/{}", token(name)));
        let value = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
        match value {
            None if at(&header)["required"] == json!(true) => failures.push(format!(
                "{method} {path} {status}: the required header {name} is missing"
            )),
            None => {}
            Some(value) => {
                let schema = format!("{header}/schema");
                let value = match at(&schema)["type"].as_str() {
                    Some("integer") => value.parse::<i64>().map_or(json!(value), |n| json!(n)),
                    _ => json!(value),
                };
                for error in schema_errors(&schema, &value) {
                    failures.push(format!("{method} {path} {status}: header {name}: {error}"));
                }
            }
        }
    }
    if status == 204 && body.is_some() {
        failures.push(format!("{method} {path} 204 has a body"));
    }
    if status >= 400
        && content_type.is_some_and(|c| c != PROBLEM_JSON)
        && status != 401
        && status != 429
    {
        failures.push(format!("{method} {path} {status} is not problem+json"));
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// The replayed events' responses against the spec (DynamoDB Local).

#[tokio::test]
async fn every_replayed_response_is_one_the_spec_documents() {
    let mut failures = Vec::new();
    let mut checked = BTreeMap::<&str, usize>::new();
    for function in Function::ALL {
        for case in cases(function.name()) {
            let replayed = replay_event(function.name(), &case, |app, request| {
                function.handle(app, request)
            })
            .await
            .unwrap_or_else(|e| panic!("{}/{case}: {e}", function.name()));
            let (method, path) = replayed.event["routeKey"]
                .as_str()
                .and_then(|key| key.split_once(' '))
                .unwrap_or_else(|| panic!("{}/{case}: no routeKey", function.name()));
            let response = &replayed.response;
            let body = match response.body() {
                Body::Empty => None,
                Body::Text(text) => Some(serde_json::from_str::<Value>(text).unwrap()),
                Body::Binary(bytes) => Some(serde_json::from_slice::<Value>(bytes).unwrap()),
                _ => panic!("unexpected body"),
            };
            let status = response.status().as_u16();
            failures.extend(
                check_response(method, path, status, response.headers(), body.as_ref())
                    .into_iter()
                    .map(|failure| format!("{}/{case}.json: {failure}", function.name())),
            );
            *checked.entry(function.name()).or_default() += 1;
        }
    }
    assert!(failures.is_empty(), "{}", summary(&failures));
    assert_eq!(
        checked.len(),
        6,
        "every function's events were replayed: {checked:?}"
    );
}
