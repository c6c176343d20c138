//! Payment events: each change to a payment, read from the table's stream and published on an
//! EventBridge bus as `PaymentCreated`, `PaymentUpdated` or `PaymentDeleted`, carrying the
//! payment as the API returns it. The contract is `docs/events/` (one JSON Schema per event
//! type, held to this code by `crates/handler-tests/tests/payment_events.rs`); the guarantees
//! are in the README ("Payment events").
//!
//! - [`read_record`]: what one stream record is: a payment event, or a change that is not one
//!   (a history version, an idempotency record, a TTL deletion), or a record that cannot be
//!   read.
//! - [`EventBus::publish`]: a batch of records to `PutEvents`, in order, answering the batch
//!   items that were not published.

mod bus;

use aws_lambda_events::event::dynamodb::EventRecord;
use serde::Serialize;
use serde_dynamo::AttributeValue;

pub use bus::{EventBus, MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES};

use crate::domain::{OrganisationId, PaymentId, StoredPayment, Timestamp, Version};
use crate::repository::{RepositoryError, keys, stored_payment_of_image};

/// The `source` of every payment event.
pub const SOURCE: &str = "payments";

/// What happened to the payment: the event's `detail-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    PaymentCreated,
    PaymentUpdated,
    PaymentDeleted,
}

impl EventType {
    pub const ALL: [EventType; 3] = [
        EventType::PaymentCreated,
        EventType::PaymentUpdated,
        EventType::PaymentDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PaymentCreated => "PaymentCreated",
            EventType::PaymentUpdated => "PaymentUpdated",
            EventType::PaymentDeleted => "PaymentDeleted",
        }
    }
}

/// One payment event: the `detail` of its EventBridge event.
///
/// `payment` is the payment as `GET /payments/{id}` returned it at `version`. A deletion has
/// a version of its own, one after the last, as in the payment's history; its `payment` holds
/// the attributes it was deleted with, and its `updated_at` (and `occurred_at`) is the moment
/// the stream recorded the deletion, to the second (the history version keeps the exact
/// millisecond).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentEvent {
    /// `<payment id>:<version>`: the same for every delivery of the same change, so that a
    /// consumer can drop a repeat (delivery is at least once).
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub organisation_id: OrganisationId,
    pub payment_id: PaymentId,
    pub version: Version,
    pub occurred_at: Timestamp,
    pub payment: StoredPayment,
}

impl PaymentEvent {
    fn new(event_type: EventType, payment: StoredPayment) -> Self {
        Self {
            event_id: format!("{}:{}", payment.id(), payment.version().get()),
            event_type,
            organisation_id: payment.organisation_id(),
            payment_id: payment.id(),
            version: payment.version(),
            occurred_at: payment.updated_at(),
            payment,
        }
    }
}

/// A stream record that is a payment's change but cannot be made into its event. Such a
/// record is reported as a failed batch item, retried, and in the end kept on the on-failure
/// queue: it is never dropped in silence.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{event_name} record without its {image}")]
    MissingImage {
        event_name: String,
        image: &'static str,
    },
    #[error("the image is not a payment item")]
    NotAPayment(#[source] RepositoryError),
    #[error("unknown eventName {0:?}")]
    UnknownEventName(String),
    #[error("the deletion's time is out of range")]
    Time,
}

/// The payment event of `record`, or `None` for a change that is not a payment event: a
/// history version or an idempotency record (which the event source mapping's filter already
/// keeps from the function), or a deletion by DynamoDB's TTL.
pub fn read_record(record: &EventRecord) -> Result<Option<PaymentEvent>, RecordError> {
    let current = matches!(
        record.change.keys.get(keys::SK),
        Some(AttributeValue::S(sk)) if sk == keys::CURRENT
    );
    if !current || deleted_by_ttl(record) {
        return Ok(None);
    }
    let image = |image: &serde_dynamo::Item, name: &'static str| {
        if image.is_empty() {
            return Err(RecordError::MissingImage {
                event_name: record.event_name.clone(),
                image: name,
            });
        }
        stored_payment_of_image(image.clone()).map_err(RecordError::NotAPayment)
    };
    let event = match record.event_name.as_str() {
        "INSERT" => PaymentEvent::new(
            EventType::PaymentCreated,
            image(&record.change.new_image, "NewImage")?,
        ),
        "MODIFY" => PaymentEvent::new(
            EventType::PaymentUpdated,
            image(&record.change.new_image, "NewImage")?,
        ),
        "REMOVE" => {
            let last = image(&record.change.old_image, "OldImage")?;
            let at = record
                .change
                .approximate_creation_date_time
                .timestamp_millis();
            let at = Timestamp::from_unix_millis(at.into()).ok_or(RecordError::Time)?;
            PaymentEvent::new(EventType::PaymentDeleted, last.deleted(at))
        }
        other => return Err(RecordError::UnknownEventName(other.to_owned())),
    };
    Ok(Some(event))
}

/// DynamoDB's TTL deletes as the service principal `dynamodb.amazonaws.com`.
fn deleted_by_ttl(record: &EventRecord) -> bool {
    record.user_identity.as_ref().is_some_and(|identity| {
        identity.type_ == "Service" && identity.principal_id == "dynamodb.amazonaws.com"
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::Payment;
    use crate::testing::{example_attributes, organisation, stored_item};

    fn payment(at: &str) -> Payment {
        Payment::new(organisation(), example_attributes(), at.parse().unwrap())
    }

    fn record(event_name: &str, image: &str, item: Value, approximate: i64) -> EventRecord {
        serde_json::from_value(json!({
            "eventID": "1",
            "eventName": event_name,
            "awsRegion": "eu-west-2",
            "dynamodb": {
                "ApproximateCreationDateTime": approximate,
                "Keys": {"pk": item["pk"], "sk": item["sk"]},
                image: item,
                "SequenceNumber": "100",
                "SizeBytes": 600,
            }
        }))
        .unwrap()
    }

    #[test]
    fn each_change_of_a_current_item_is_its_event() {
        let created = payment("2026-11-24T09:15:02.481Z");
        let insert = record("INSERT", "NewImage", stored_item(&created), 1_795_511_702);
        let event = read_record(&insert).unwrap().unwrap();
        assert_eq!(event.event_type, EventType::PaymentCreated);
        assert_eq!(event.event_id, format!("{}:1", created.id()));
        assert_eq!(event.payment, created.stored());
        assert_eq!(event.occurred_at, created.created_at());

        let updated = created.revise(
            example_attributes(),
            "2026-11-24T09:16:00.000Z".parse().unwrap(),
        );
        let modify = record("MODIFY", "NewImage", stored_item(&updated), 1_795_511_760);
        let event = read_record(&modify).unwrap().unwrap();
        assert_eq!(
            (event.event_type, event.version.get()),
            (EventType::PaymentUpdated, 2)
        );
    }

    #[test]
    fn a_deletion_is_the_next_version_and_never_earlier_than_the_last_change() {
        let last = payment("2026-11-24T09:15:02.481Z");
        // The stream's clock says a second before the payment's last change.
        let remove = record("REMOVE", "OldImage", stored_item(&last), 1_795_511_701);
        let event = read_record(&remove).unwrap().unwrap();
        assert_eq!(event.event_type, EventType::PaymentDeleted);
        assert_eq!(event.version.get(), 2);
        assert_eq!(event.event_id, format!("{}:2", last.id()));
        assert_eq!(event.occurred_at, last.updated_at());
        assert_eq!(event.payment.attributes(), last.stored().attributes());

        let later = record("REMOVE", "OldImage", stored_item(&last), 1_795_511_760);
        let event = read_record(&later).unwrap().unwrap();
        assert_eq!(event.occurred_at.to_string(), "2026-11-24T09:16:00.000Z");
    }

    #[test]
    fn what_is_not_a_payment_change_is_skipped_and_what_cannot_be_read_is_an_error() {
        let item = stored_item(&payment("2026-11-24T09:15:02.481Z"));
        let mut history = item.clone();
        history["sk"] = json!({"S": "VERSION#00000000000000000001"});
        assert!(
            read_record(&record("INSERT", "NewImage", history, 0))
                .unwrap()
                .is_none()
        );
        let mut by_ttl = record("REMOVE", "OldImage", item.clone(), 0);
        by_ttl.user_identity = serde_json::from_value(
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}),
        )
        .unwrap();
        assert!(read_record(&by_ttl).unwrap().is_none());

        let no_image = record("INSERT", "OldImage", item.clone(), 0);
        assert!(matches!(
            read_record(&no_image),
            Err(RecordError::MissingImage {
                image: "NewImage",
                ..
            })
        ));
        let unknown = record("TRUNCATE", "NewImage", item.clone(), 0);
        assert!(matches!(
            read_record(&unknown),
            Err(RecordError::UnknownEventName(_))
        ));
        let mut not_a_payment = item;
        not_a_payment["version"] = json!({"S": "one"});
        assert!(matches!(
            read_record(&record("MODIFY", "NewImage", not_a_payment, 0)),
            Err(RecordError::NotAPayment(_))
        ));
    }
}
