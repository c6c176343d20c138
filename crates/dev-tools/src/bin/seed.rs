//! Puts in place the payments that replayed events take as given, so that an event of `events/`
//! can be replayed through a function (`sam local invoke`, `cargo lambda invoke`) against
//! DynamoDB Local (`make seed EVENT=events/get-payment/found.json` runs this):
//!
//! ```sh
//! seed events/get-payment/found.json...
//! ```
//!
//! Reads `given` of each event's expectation (`<case>.expected.json` beside it) and writes, with the attributes of
//! `docs/payment-request.json`:
//! - `payments` (`[{"id", "organisation_id", "version"}]`): each payment, up to its version. A
//!   payment already at its version is left alone, so a seed can be run again; one that has
//!   moved past it, or was deleted, is an error (start DynamoDB Local afresh);
//! - `random_payments` (`[{"organisation_id", "count"}]`): that many new payments, each time.
//!
//! The other kinds of `given` (earlier events, storage states) are for the in-process replay
//! of `make test` only. Reads `TABLE_NAME` and `DYNAMODB_ENDPOINT`, like the functions.

use std::path::Path;

use payments_core::config::dynamodb_client;
use payments_core::domain::{
    OrganisationId, Payment, PaymentAttributes, PaymentId, Timestamp, Version,
};
use payments_core::http::cause_chain;
use payments_core::repository::{DynamoDbRepository, PaymentRepository};
use serde_json::Value;

type Error = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let events: Vec<String> = std::env::args().skip(1).collect();
    if events.is_empty() {
        return Err("usage: seed EVENT.json... (events/<function>/<case>.json)".into());
    }
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME must be set")?;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .map_err(|_| "DYNAMODB_ENDPOINT must be set: this seeds DynamoDB Local only")?;
    let repository = DynamoDbRepository::new(dynamodb_client(Some(&endpoint)).await, &table);
    let attributes = example_attributes()?;
    for event in &events {
        // The expectation beside the event (or the expectation itself).
        let path = match event.strip_suffix(".expected.json") {
            Some(_) => event.clone(),
            None => format!("{}.expected.json", event.trim_end_matches(".json")),
        };
        let given = Given::read(Path::new(&path)).map_err(|error| format!("{path}: {error}"))?;
        for &(id, organisation_id, version) in &given.payments {
            seed(&repository, id, organisation_id, version, &attributes)
                .await
                .map_err(|error| format!("{path}: payment {id}: {error}"))?;
            println!("{path}: payment {id} of {organisation_id} is at version {version}");
        }
        for &(organisation_id, count) in &given.random_payments {
            for _ in 0..count {
                let payment = Payment::new(organisation_id, attributes.clone(), Timestamp::now());
                repository
                    .insert(&payment, None)
                    .await
                    .map_err(|error| format!("{path}: {}", cause_chain(&error)))?;
            }
            println!("{path}: {count} new payments of {organisation_id}");
        }
    }
    Ok(())
}

/// What an expectation takes as given, of what this tool can put in place.
struct Given {
    payments: Vec<(PaymentId, OrganisationId, Version)>,
    random_payments: Vec<(OrganisationId, u64)>,
}

impl Given {
    fn read(path: &Path) -> Result<Self, Error> {
        let expectation: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let given = &expectation["given"];
        for other in ["replayed_first", "storage", "eventbridge_fails"] {
            if !given[other].is_null() {
                return Err(format!("given.{other} is for the replay of make test only").into());
            }
        }
        let list = |name: &str| given[name].as_array().cloned().unwrap_or_default();
        let text = |seed: &Value, name: &str| -> Result<String, Error> {
            Ok(seed[name]
                .as_str()
                .ok_or(format!("{name} is not a string"))?
                .to_owned())
        };
        let payments = list("payments")
            .iter()
            .map(|seed| {
                let version = seed["version"].as_u64().unwrap_or(1);
                Ok((
                    text(seed, "id")?.parse()?,
                    text(seed, "organisation_id")?.parse()?,
                    Version::new(version).ok_or("version must be at least 1")?,
                ))
            })
            .collect::<Result<_, Error>>()?;
        let random_payments = list("random_payments")
            .iter()
            .map(|seed| {
                Ok((
                    text(seed, "organisation_id")?.parse()?,
                    seed["count"].as_u64().ok_or("count is not a number")?,
                ))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            payments,
            random_payments,
        })
    }
}

/// The attributes of `docs/payment-request.json`, the README's example payment.
fn example_attributes() -> Result<PaymentAttributes, Error> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/payment-request.json");
    let request: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    PaymentAttributes::parse_request(&request).map_err(|errors| format!("{errors}").into())
}

/// Brings payment `id` to `version`: created if absent, revised while behind.
async fn seed(
    repository: &DynamoDbRepository,
    id: PaymentId,
    organisation_id: OrganisationId,
    version: Version,
    attributes: &PaymentAttributes,
) -> Result<(), String> {
    let mut payment = match repository.get(id).await.map_err(|e| cause_chain(&e))? {
        Some(payment) if payment.organisation_id() != organisation_id => {
            return Err(format!(
                "exists in organisation {}",
                payment.organisation_id()
            ));
        }
        Some(payment) => payment,
        None => {
            let payment =
                Payment::create(id, organisation_id, attributes.clone(), Timestamp::now());
            repository.insert(&payment, None).await.map_err(|e| {
                format!("cannot be created (deleted earlier?): {}", cause_chain(&e))
            })?;
            payment.stored()
        }
    };
    if payment.version() > version {
        return Err(format!(
            "is already at version {}: start DynamoDB Local afresh to replay this event",
            payment.version()
        ));
    }
    while payment.version() < version {
        let next = payment.revise(attributes.clone(), Timestamp::now());
        repository
            .replace(&next)
            .await
            .map_err(|e| cause_chain(&e))?;
        payment = next.stored();
    }
    Ok(())
}
