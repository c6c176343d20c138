//! Helpers for tests (feature `testing`): example payments, a clock the test sets, an
//! instrumented repository, tables in DynamoDB Local, an in-process EventBridge, and the
//! replay of `events/`.
//!
//! A test against DynamoDB Local makes its own table, so tests run in parallel without seeing
//! each other's data. DynamoDB Local runs in memory for the test run and goes with it, so
//! tables need no dropping; a test that fills one with thousands of items drops it
//! ([`TableDefinition::delete`]) to give DynamoDB Local its memory back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::App;
use crate::config::{Config, dynamodb_client};
use crate::domain::{OrganisationId, Payment, PaymentAttributes, Timestamp};
use crate::identity::Identity;
use crate::repository::{DynamoDbRepository, TableDefinition};
use crate::service::{Clock, Payments};

/// A fresh table in DynamoDB Local.
pub struct TestTable {
    pub name: String,
    pub client: Client,
}

/// DynamoDB Local's URL, from `DYNAMODB_ENDPOINT`. `make test` starts it and sets this.
pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMODB_ENDPOINT is not set: these tests need DynamoDB Local. \
             Run them with `make test`, which starts it."
        )
    })
}

impl TestTable {
    pub async fn create() -> Self {
        let client = dynamodb_client(Some(&endpoint())).await;
        let name = format!("payments-test-{}", uuid::Uuid::new_v4().simple());
        TableDefinition::new(&name)
            .create_if_absent(&client)
            .await
            .expect("DynamoDB Local creates the test table");
        Self { name, client }
    }

    pub fn repository(&self) -> DynamoDbRepository {
        DynamoDbRepository::new(self.client.clone(), &self.name)
    }

    pub fn payments(&self) -> Payments<DynamoDbRepository> {
        Payments::new(self.repository())
    }

    /// An [`App`] on this table, identifying callers by the JWT claim `organisation_id`.
    pub async fn app(&self) -> &'static App {
        let config = Config {
            table_name: self.name.clone(),
            dynamodb_endpoint: Some(endpoint()),
            identity: Identity::Jwt {
                claim: crate::config::DEFAULT_ORGANISATION_CLAIM.to_owned(),
            },
            list_shards: Default::default(),
        };
        Box::leak(Box::new(App::new(&config).await))
    }

    /// Drops the table, giving DynamoDB Local its memory back: for tests that fill one with
    /// thousands of items. Clean-up only: a DynamoDB Local too busy to answer in time fails
    /// no test.
    pub async fn delete(self) {
        if let Err(error) = TableDefinition::new(&self.name).delete(&self.client).await {
            eprintln!("test table {} left in DynamoDB Local: {error}", self.name);
        }
    }

    /// Every item in the table, for asserting what was (and was not) written.
    pub async fn items(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.name)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan of the test table");
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// How many items have a `pk` starting with `prefix` and an `sk` starting with `sk_prefix`.
    pub async fn count(&self, prefix: &str, sk_prefix: &str) -> usize {
        let text = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        self.items()
            .await
            .iter()
            .filter(|item| {
                text(item, "pk").starts_with(prefix) && text(item, "sk").starts_with(sk_prefix)
            })
            .count()
    }
}

/// The JSON of a payment item's stored (compressed) attributes, for asserting what was stored.
pub fn stored_attributes(item: &HashMap<String, AttributeValue>) -> Value {
    let stored = item["attributes"].as_b().expect("attributes are binary");
    let json = crate::repository::stored_json(stored.as_ref()).expect("stored attributes");
    serde_json::from_slice(&json).expect("stored attributes are JSON")
}

/// The item the repository stores as the current version of `payment`, in DynamoDB's JSON
/// wire format: what a fake DynamoDB answers a `GetItem` with.
pub fn stored_item(payment: &Payment) -> Value {
    fn wire(value: &AttributeValue) -> Value {
        use base64::Engine;
        match value {
            AttributeValue::S(text) => json!({ "S": text }),
            AttributeValue::N(number) => json!({ "N": number }),
            AttributeValue::B(blob) => json!({
                "B": base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
            }),
            AttributeValue::Bool(value) => json!({ "BOOL": value }),
            AttributeValue::L(values) => {
                json!({ "L": values.iter().map(wire).collect::<Vec<_>>() })
            }
            AttributeValue::M(map) => json!({ "M": map_wire(map) }),
            other => panic!("not in a payment item: {other:?}"),
        }
    }
    fn map_wire(map: &HashMap<String, AttributeValue>) -> Value {
        Value::Object(
            map.iter()
                .map(|(name, value)| (name.clone(), wire(value)))
                .collect(),
        )
    }
    map_wire(&crate::repository::current_item(payment))
}

/// A random organisation.
pub fn organisation() -> OrganisationId {
    OrganisationId::from(uuid::Uuid::new_v4())
}

/// The full example payment request of DESIGN.md (`{"attributes": {...}}`).
pub fn example_request() -> Value {
    json!({
        "attributes": {
            "amount": "250.75",
            "currency": "GBP",
            "beneficiary_party": {
                "account_name": "A Okafor",
                "account_number": "41209377",
                "account_number_code": "BBAN",
                "account_type": 0,
                "address": "12 Harbour Row Portsmouth PO1 3AB",
                "bank_id": "402716",
                "bank_id_code": "GBDSC",
                "name": "Adaeze Okafor"
            },
            "charges_information": {
                "bearer_code": "SHAR",
                "sender_charges": [
                    { "amount": "2.50", "currency": "GBP" },
                    { "amount": "3.00", "currency": "EUR" }
                ],
                "receiver_charges_amount": "1.25",
                "receiver_charges_currency": "GBP"
            },
            "debtor_party": {
                "account_name": "M Lindqvist",
                "account_number": "GB82WEST12345698765432",
                "account_number_code": "IBAN",
                "address": "7 Mill Lane Cambridge CB2 1RX",
                "bank_id": "309493",
                "bank_id_code": "GBDSC",
                "name": "Maja Lindqvist"
            },
            "end_to_end_reference": "Invoice 2026-118",
            "fx": {
                "contract_reference": "FX2026-0042",
                "exchange_rate": "1.17000",
                "original_amount": "293.38",
                "original_currency": "EUR"
            },
            "numeric_reference": "4471102",
            "payment_id": "700112233445566778",
            "payment_purpose": "Consulting services November",
            "payment_scheme": "FPS",
            "payment_type": "Credit",
            "processing_date": "2026-11-25",
            "reference": "Consulting invoice 118",
            "scheme_payment_sub_type": "InternetBanking",
            "scheme_payment_type": "ImmediatePayment",
            "sponsor_party": {
                "account_number": "56781234",
                "bank_id": "123123",
                "bank_id_code": "GBDSC"
            }
        }
    })
}

/// The example's attributes with `amount` and `currency` replaced.
pub fn attributes_with(amount: &str, currency: &str) -> PaymentAttributes {
    let mut request = example_request();
    request["attributes"]["amount"] = json!(amount);
    request["attributes"]["currency"] = json!(currency);
    PaymentAttributes::parse_request(&request).expect("a valid payment")
}

/// The example's attributes.
pub fn example_attributes() -> PaymentAttributes {
    PaymentAttributes::parse_request(&example_request()).expect("the example is valid")
}

/// A clock that stands still until the test moves it, shared by its clones.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    pub fn new(now: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// Moves the clock on by `duration` (back, if it is negative).
    pub fn advance(&self, duration: time::Duration) {
        let mut now = self.0.lock().expect("the clock's lock");
        *now = now.plus(duration);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("the clock's lock")
    }
}

pub mod emf;
mod eventbridge;
mod instrumented;
mod replay;
mod stream_replay;

pub use eventbridge::FakeEventBridge;
pub use instrumented::Instrumented;
pub use replay::{Replayed, cases, events_dir, replay_event, replay_events};
pub use stream_replay::{Filtered, StreamExpectation, replay_stream_events, stream_expectation};
