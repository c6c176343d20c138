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
