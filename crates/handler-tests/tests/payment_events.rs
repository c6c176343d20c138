//! The `payment-events` function on real stream records: payments created, updated and deleted
//! through the service on DynamoDB Local (its stream on), the records read back with the
//! streams API, passed through the event source mapping's filter as `template.yaml` declares
//! it, and handed to the handler as Lambda would. EventBridge is answered in-process
//! ([`FakeEventBridge`]). Also: every event published is valid against its schema in
//! `docs/events/`, which stay generated from `docs/openapi.yaml`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use base64::Engine;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use payments_core::config::sdk_config;
use payments_core::domain::{ExpectedVersion, IdempotencyKey, OrganisationId, StoredPayment};
use payments_core::events::EventType;
use payments_core::testing::{
    FakeEventBridge, Filtered, TestTable, attributes_with, cases, endpoint, example_attributes,
    organisation, stream_expectation,
};
use serde_json::{Value, json};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> serde_norway::Value {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// The patterns of the stream mapping's `FilterCriteria`.
fn template_filters() -> Vec<Value> {
    let template = template();
    let filters =
        &template["Resources"]["PaymentEventsStream"]["Properties"]["FilterCriteria"]["Filters"];
    let filters: Vec<Value> = filters
        .as_sequence()
        .expect("the stream mapping has filters")
        .iter()
        .map(|filter| {
            serde_json::from_str(filter["Pattern"].as_str().expect("a Pattern string"))
                .expect("a Pattern is JSON")
        })
        .collect();
    assert!(!filters.is_empty());
    filters
}

/// Lambda's event filtering for the parts of its pattern syntax these filters use: nested
/// objects and arrays of exact values. Anything else fails the test, rather than be guessed.
fn pattern_matches(pattern: &Value, event: &Value) -> bool {
    let fields = pattern.as_object().expect("a pattern is an object");
    fields.iter().all(|(name, wanted)| {
        let found = event.get(name);
        match wanted {
            Value::Object(_) => found.is_some_and(|found| pattern_matches(wanted, found)),
            Value::Array(values) => found.is_some_and(|found| {
                values.iter().any(|value| {
                    assert!(
                        !value.is_object() && !value.is_array(),
                        "filter operator {value} is not modelled by this test"
                    );
                    value == found
                })
            }),
            other => panic!("pattern value {other} is not an array or an object"),
        }
    })
}

fn passes_filter(filters: &[Value], record: &Value) -> bool {
    filters.iter().any(|filter| pattern_matches(filter, record))
}

/// A stream attribute in the JSON Lambda delivers (DynamoDB's wire format).
fn wire(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(text) => json!({ "S": text }),
        AttributeValue::N(number) => json!({ "N": number }),
        AttributeValue::B(blob) => {
            json!({ "B": base64::engine::general_purpose::STANDARD.encode(blob.as_ref()) })
        }
        AttributeValue::Bool(value) => json!({ "BOOL": value }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::L(values) => json!({ "L": values.iter().map(wire).collect::<Vec<_>>() }),
        AttributeValue::M(map) => json!({ "M": wire_map(map) }),
        other => panic!("not in a payments item: {other:?}"),
    }
}

fn wire_map(map: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        map.iter()
            .map(|(name, value)| (name.clone(), wire(value)))
            .collect(),
    )
}

/// Every record of `table`'s stream so far, as the JSON of a Lambda DynamoDB event record.
async fn stream_records(table: &TestTable) -> Vec<Value> {
    let stream_arn = table
        .client
        .describe_table()
        .table_name(&table.name)
        .send()
        .await
        .unwrap()
        .table
        .and_then(|table| table.latest_stream_arn)
        .expect("the table has a stream");
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk_config(Some(&endpoint())).await);
    let description = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    let mut records = Vec::new();
    for shard in description.shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(current) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .unwrap();
            if page.records().is_empty() {
                break;
            }
            for record in page.records() {
                let change = record.dynamodb().unwrap();
                let mut dynamodb = json!({
                    "ApproximateCreationDateTime":
                        change.approximate_creation_date_time().map(|at| at.secs()),
                    "Keys": wire_map(change.keys().unwrap()),
                    "SequenceNumber": change.sequence_number(),
                    "SizeBytes": change.size_bytes(),
                    "StreamViewType": change.stream_view_type().map(|view| view.as_str()),
                });
                if let Some(image) = change.new_image() {
                    dynamodb["NewImage"] = wire_map(image);
                }
                if let Some(image) = change.old_image() {
                    dynamodb["OldImage"] = wire_map(image);
                }
                let mut lambda = json!({
                    "eventID": record.event_id(),
                    "eventName": record.event_name().map(|name| name.as_str()),
                    "eventVersion": record.event_version(),
                    "eventSource": "aws:dynamodb",
                    "awsRegion": record.aws_region(),
                    "dynamodb": dynamodb,
                    "eventSourceARN": stream_arn,
                });
                if let Some(identity) = record.user_identity() {
                    lambda["userIdentity"] = json!({ "type": identity.r#type(), "principalId": identity.principal_id() });
                }
                records.push(lambda);
            }
            iterator = page.next_shard_iterator;
        }
    }
    records
}

fn sequence_number(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs the handler on `records` (Lambda event record JSON) and answers the failed items.
async fn handle(eventbridge: &FakeEventBridge, records: &[Value]) -> Vec<String> {
    let event: Event = serde_json::from_value(json!({ "Records": records }))
        .expect("the records are a Lambda DynamoDB event");
    let bus = Box::leak(Box::new(eventbridge.bus()));
    let response = payment_events::handle(bus, LambdaEvent::new(event, Context::default()))
        .await
        .expect("the handler answers");
    response
        .batch_item_failures
        .into_iter()
        .map(|failure| failure.item_identifier.unwrap())
        .collect()
}

fn api_json(payment: &StoredPayment) -> Value {
    serde_json::to_value(payment).unwrap()
}

#[tokio::test]
async fn real_stream_records_become_exactly_the_payment_events_in_order() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org: OrganisationId = organisation();
    let key: IdempotencyKey = "order-7731".parse().unwrap();

    // A with an idempotency key (its record is in the stream too), then B; A updated; B deleted;
    // A updated again and deleted.
    let a = payments
        .create(org, example_attributes(), Some(&key))
        .await
        .unwrap()
        .id();
    let a1 = payments.get(org, a).await.unwrap();
    let b = payments
        .create(org, attributes_with("10.00", "EUR"), None)
        .await
        .unwrap()
        .id();
    let b1 = payments.get(org, b).await.unwrap();
    payments
        .update(
            org,
            a,
            ExpectedVersion::Exactly(a1.version()),
            attributes_with("99.99", "GBP"),
        )
        .await
        .unwrap();
    let a2 = payments.get(org, a).await.unwrap();
    payments.delete(org, b, ExpectedVersion::Any).await.unwrap();
    payments
        .update(
            org,
            a,
            ExpectedVersion::Any,
            attributes_with("100.00", "USD"),
        )
        .await
        .unwrap();
    let a3 = payments.get(org, a).await.unwrap();
    payments
        .delete(org, a, ExpectedVersion::Exactly(a3.version()))
        .await
        .unwrap();

    let records = stream_records(&table).await;
    // 6 changes to current items, 6 history versions, 1 idempotency record.
    assert_eq!(records.len(), 13, "{records:#?}");
    let filters = template_filters();
    let passed: Vec<Value> = records
        .iter()
        .filter(|record| passes_filter(&filters, record))
        .cloned()
        .collect();
    assert_eq!(
        passed.len(),
        6,
        "only current payment items pass the filter"
    );
    assert!(
        passed
            .iter()
            .all(|r| r["dynamodb"]["Keys"]["sk"]["S"] == "CURRENT")
    );

    let eventbridge = FakeEventBridge::new();
    assert_eq!(handle(&eventbridge, &passed).await, Vec::<String>::new());
    let published = eventbridge.published();
    let kinds: Vec<(&str, String)> = published
        .iter()
        .map(|entry| {
            (
                entry["detail-type"].as_str().unwrap(),
                entry["detail"]["event_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("PaymentCreated", format!("{a}:1")),
            ("PaymentCreated", format!("{b}:1")),
            ("PaymentUpdated", format!("{a}:2")),
            ("PaymentDeleted", format!("{b}:2")),
            ("PaymentUpdated", format!("{a}:3")),
            ("PaymentDeleted", format!("{a}:4")),
        ]
    );
    // The payment exactly as the API returned it at that version.
    for (entry, payment) in published.iter().zip([&a1, &b1, &a2]) {
        assert_eq!(entry["detail"]["payment"], api_json(payment));
        assert_eq!(entry["detail"]["organisation_id"], org.to_string());
        assert_eq!(entry["detail"]["occurred_at"], json!(payment.updated_at()));
        assert_eq!(entry["source"], "payments");
    }
    assert_eq!(published[4]["detail"]["payment"], api_json(&a3));
    assert_eq!(
        published[2]["detail"]["payment"]["attributes"]["amount"],
        "99.99"
    );
    // A deletion: the attributes it was deleted with, at the next version, deleted after its
    // last change.
    let deleted = &published[3]["detail"];
    assert_eq!(deleted["version"], 2);
    assert_eq!(deleted["payment"]["version"], 2);
    assert_eq!(
        deleted["payment"]["attributes"],
        api_json(&b1)["attributes"]
    );
    assert_eq!(deleted["payment"]["created_at"], json!(b1.created_at()));
    let occurred: payments_core::domain::Timestamp =
        deleted["occurred_at"].as_str().unwrap().parse().unwrap();
    assert!(occurred >= b1.updated_at());

    // Unfiltered (as `sam local invoke` delivers a fixture), the handler's own check skips the
    // history versions and the idempotency record: the same six events.
    let unfiltered = FakeEventBridge::new();
    assert_eq!(handle(&unfiltered, &records).await, Vec::<String>::new());
    assert_eq!(unfiltered.published_ids(), eventbridge.published_ids());

    for entry in published.iter().chain(&unfiltered.published()) {
        assert_eq!(schema_errors(entry), Vec::<String>::new(), "{entry:#}");
    }
}

#[tokio::test]
async fn failed_entries_are_reported_exactly_and_a_redelivery_publishes_each_once() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let mut ids = Vec::new();
    for n in 0..10 {
        let amount = format!("{}.00", n + 1);
        let created = payments
            .create(org, attributes_with(&amount, "GBP"), None)
            .await
            .unwrap();
        ids.push(created.id());
    }
    let filters = template_filters();
    let records: Vec<Value> = stream_records(&table)
        .await
        .into_iter()
        .filter(|record| passes_filter(&filters, record))
        .collect();
    assert_eq!(records.len(), 10);

    // EventBridge fails 3 entries of 10 on every attempt.
    let failing = [2, 5, 9];
    let eventbridge = FakeEventBridge::new();
    for n in failing {
        eventbridge.fail(format!("{}:1", ids[n]), usize::MAX);
    }
    let failures = handle(&eventbridge, &records).await;
    let expected: Vec<String> = failing
        .iter()
        .map(|&n| sequence_number(&records[n]))
        .collect();
    assert_eq!(failures, expected);
    // One call, then the three alone, twice more; the seven others published once.
    let calls = eventbridge.calls();
    assert_eq!(
        calls.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 3, 3]
    );
    let published: HashSet<String> = eventbridge.published_ids().into_iter().collect();
    assert_eq!(published.len(), 7);
    assert_eq!(eventbridge.published_ids().len(), 7);

    // Lambda retries the shard from the earliest failed record (the checkpoint); EventBridge is
    // back. Each of the three is published exactly once.
    let retry_from = failing[0];
    let recovered = FakeEventBridge::new();
    assert_eq!(
        handle(&recovered, &records[retry_from..]).await,
        Vec::<String>::new()
    );
    let again = recovered.published_ids();
    for n in failing {
        let id = format!("{}:1", ids[n]);
        assert_eq!(again.iter().filter(|p| **p == id).count(), 1, "{id}");
        assert!(!published.contains(&id));
    }
    // Everything is now published at least once; repeats carry the same event id.
    let all: HashSet<String> = published.into_iter().chain(again).collect();
    assert_eq!(all.len(), 10);
}

#[tokio::test]
async fn no_call_carries_two_versions_of_one_payment_and_versions_go_out_in_order() {
    let case = "batch-of-25";
    let event: Event = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(format!("events/payment-events/{case}.json")))
            .unwrap(),
    )
    .unwrap();
    let eventbridge = FakeEventBridge::new();
    let bus = Box::leak(Box::new(eventbridge.bus()));
    let response = payment_events::handle(bus, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let calls = eventbridge.calls();
    assert!(calls.iter().all(|call| call.len() <= 10));
    for call in &calls {
        let payments: HashSet<&str> = call
            .iter()
            .map(|entry| entry["detail"]["payment_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            payments.len(),
            call.len(),
            "one call, two events of a payment"
        );
    }
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for entry in eventbridge.published() {
        let id = entry["detail"]["payment_id"].as_str().unwrap().to_owned();
        let version = entry["detail"]["version"].as_u64().unwrap();
        let previous = last.insert(id.clone(), version).unwrap_or(0);
        assert_eq!(
            version,
            previous + 1,
            "{id}: version {version} after {previous}"
        );
    }
    assert_eq!(eventbridge.published().len(), 25);
}

#[test]
fn the_fixtures_say_what_the_template_filter_does_with_each_record() {
    let filters = template_filters();
    for case in cases("payment-events") {
        let path = repo_root().join(format!("events/payment-events/{case}.json"));
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let expectation = stream_expectation("payment-events", &case);
        let records = event["Records"].as_array().unwrap();
        assert_eq!(records.len(), expectation.expect.filter.len(), "{case}");
        for (n, (record, expected)) in records.iter().zip(&expectation.expect.filter).enumerate() {
            let passes = passes_filter(&filters, record);
            assert_eq!(
                passes,
                *expected == Filtered::Pass,
                "{case}: record {n}: the template's filter {}",
                if passes { "passes it" } else { "drops it" }
            );
        }
    }
}

#[tokio::test]
async fn every_event_the_fixtures_publish_is_valid_against_its_schema() {
    let mut checked = 0;
    for case in cases("payment-events") {
        let path = repo_root().join(format!("events/payment-events/{case}.json"));
        let event: Event = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let records: Vec<EventRecord> = event.records;
        let eventbridge = FakeEventBridge::new();
        eventbridge.bus().publish(&records).await;
        for entry in eventbridge.published() {
            assert_eq!(
                schema_errors(&entry),
                Vec::<String>::new(),
                "{case}: {entry:#}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} events checked");
}

#[test]
fn the_schemas_refuse_what_is_not_a_payment_event() {
    let created = json!({
        "source": "payments",
        "detail-type": "PaymentCreated",
        "detail": {
            "event_id": "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41:1",
            "type": "PaymentCreated",
            "organisation_id": "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60",
            "payment_id": "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41",
            "version": 1,
            "occurred_at": "2026-11-24T09:15:02.481Z",
            "payment": example_payment(),
        }
    });
    assert_eq!(schema_errors(&created), Vec::<String>::new());
    let broken: [(&str, Value); 5] = [
        ("/detail/payment/attributes/amount", json!(250.75)),
        ("/detail/event_id", json!("not-an-id")),
        ("/detail/version", json!(2)),
        ("/detail-type", json!("PaymentUpdated")),
        ("/source", json!("aws.payments")),
    ];
    for (pointer, value) in broken {
        let mut event = created.clone();
        *event.pointer_mut(pointer).unwrap() = value;
        assert!(!schema_errors(&event).is_empty(), "{pointer} accepted");
    }
}

/// The example payment of DESIGN.md, as the API returns it.
fn example_payment() -> Value {
    json!({
        "type": "Payment",
        "id": "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41",
        "version": 1,
        "organisation_id": "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60",
        "created_at": "2026-11-24T09:15:02.481Z",
        "updated_at": "2026-11-24T09:15:02.481Z",
        "attributes": serde_json::to_value(example_attributes()).unwrap(),
    })
}

#[test]
fn the_schemas_are_generated_from_the_openapi_payment_and_name_every_event_type() {
    let spec: Value = {
        let text = std::fs::read_to_string(repo_root().join("docs/openapi.yaml")).unwrap();
        serde_norway::from_str(&text).unwrap()
    };
    let components = &spec["components"]["schemas"];
    for event_type in EventType::ALL {
        let schema = schema_of(event_type.as_str());
        assert_eq!(
            schema["properties"]["detail-type"]["const"],
            event_type.as_str()
        );
        assert_eq!(
            schema["properties"]["source"]["const"],
            payments_core::events::SOURCE
        );
        let defs = schema["$defs"].as_object().unwrap();
        assert!(defs.contains_key("Payment"));
        for (name, def) in defs {
            let from_spec = serde_json::to_string(&components[name])
                .unwrap()
                .replace("#/components/schemas/", "#/$defs/");
            assert_eq!(
                def,
                &serde_json::from_str::<Value>(&from_spec).unwrap(),
                "docs/events/{event_type:?}.schema.json's {name} differs from docs/openapi.yaml: \
                 run `.venv/bin/python scripts/event-schemas.py`"
            );
        }
    }
}

fn schema_of(detail_type: &str) -> Value {
    let path = repo_root().join(format!("docs/events/{detail_type}.schema.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What is wrong with `entry` (an event: `source`, `detail-type`, `detail`) by the schema of
/// its `detail-type`.
fn schema_errors(entry: &Value) -> Vec<String> {
    let detail_type = entry["detail-type"]
        .as_str()
        .expect("an event has a detail-type");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema_of(detail_type))
        .unwrap_or_else(|e| panic!("{detail_type}'s schema does not compile: {e}"));
    validator
        .iter_errors(entry)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}
