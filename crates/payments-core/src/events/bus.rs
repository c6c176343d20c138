//! Publishing a batch of stream records on EventBridge.
//!
//! The records of one invocation come from one stream shard, in the order of their changes. They
//! are published in that order, in `PutEvents` calls within EventBridge's limits, and no call
//! carries two events of one payment, so that version n+1 is never sent before version n has
//! been accepted. Entries that EventBridge reports as failed are sent again, alone; a record
//! still not published after that is answered as a batch item failure, and nothing after it is
//! sent: Lambda retries the shard from the earliest failed record, so what follows it would only
//! be published twice.

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::{PaymentEvent, SOURCE, read_record};
use crate::config::{ConfigError, EventsConfig, eventbridge_client};
use crate::domain::PaymentId;

/// `PutEvents` takes at most 10 entries...
pub const MAX_ENTRIES_PER_CALL: usize = 10;
/// ...and at most 256 KB of them, counted as EventBridge counts an entry's size.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Sends of an entry that EventBridge reported as failed, the first included.
const ATTEMPTS: u32 = 3;

/// How many of `entries`, from the first, go in the next `PutEvents` call: at most
/// [`MAX_ENTRIES_PER_CALL`] and [`MAX_REQUEST_BYTES`], and never two of one payment. At least
/// one, since a single entry is always within the limits (a payment's JSON is far smaller).
fn next_call(entries: &[Entry]) -> usize {
    let mut bytes = 0;
    let mut payments = HashSet::new();
    let fits = entries
        .iter()
        .take(MAX_ENTRIES_PER_CALL)
        .take_while(|entry| {
            bytes += entry.size;
            bytes <= MAX_REQUEST_BYTES && payments.insert(entry.payment_id)
        })
        .count();
    fits.max(1).min(entries.len())
}

/// The bus that payment events are published on.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: Client,
    name: String,
}

/// One record's event, ready to send.
struct Entry {
    /// The record's `SequenceNumber`, which a batch item failure names.
    sequence_number: String,
    payment_id: PaymentId,
    event_id: String,
    entry: PutEventsRequestEntry,
    size: usize,
}

impl EventBus {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// Sets up logging, reads `EVENT_BUS_NAME` (and `EVENTBRIDGE_ENDPOINT`) and builds the
    /// EventBridge client, once per process, as [`crate::App::init`] does for the routes.
    pub async fn init() -> Result<&'static EventBus, ConfigError> {
        crate::telemetry::init();
        tracing::info!(version = crate::VERSION, "function starting");
        let config = EventsConfig::from_env()?;
        let client = eventbridge_client(config.endpoint.as_deref()).await;
        Ok(Box::leak(Box::new(EventBus::new(client, config.bus_name))))
    }

    /// Publishes the payment events of `records`, in order, and answers the records that were
    /// not published (for `ReportBatchItemFailures`).
    pub async fn publish(&self, records: &[EventRecord]) -> DynamoDbEventResponse {
        let mut entries = Vec::with_capacity(records.len());
        let mut not_events = 0;
        let mut unpublished: Vec<String> = Vec::new();
        for (n, record) in records.iter().enumerate() {
            let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
            match read_record(record) {
                Ok(Some(event)) => entries.push(self.entry(sequence_number, &event)),
                Ok(None) => not_events += 1,
                Err(error) => {
                    tracing::error!(
                        sequence_number,
                        event_id = record.event_id,
                        error = %error,
                        cause = ?std::error::Error::source(&error),
                        "stream record is not a readable payment change; it and the rest of the \
                         batch are retried, and kept on the on-failure queue if it never reads"
                    );
                    unpublished.extend(
                        records[n..].iter().map(|record| {
                            record.change.sequence_number.clone().unwrap_or_default()
                        }),
                    );
                    break;
                }
            }
        }
        let published = entries.len();
        let failed = self.send_in_order(entries).await;
        let failed_count = failed.len();
        // Failed entries come before the records not read, which follow them in the stream.
        let failures: Vec<String> = failed.into_iter().chain(unpublished).collect();
        tracing::info!(
            records = records.len(),
            events = published - failed_count,
            not_events,
            failed = failures.len(),
            "batch published"
        );
        let mut response = DynamoDbEventResponse::default();
        response.batch_item_failures = failures
            .into_iter()
            .map(|sequence_number| {
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence_number);
                failure
            })
            .collect();
        response
    }

    fn entry(&self, sequence_number: String, event: &PaymentEvent) -> Entry {
        let detail = serde_json::to_string(event).expect("a payment event serializes");
        let detail_type = event.event_type.as_str();
        // EventBridge's count: 14 bytes for the time, then the UTF-8 bytes of the source, the
        // detail type and the detail (the bus name is not counted).
        let size = 14 + SOURCE.len() + detail_type.len() + detail.len();
        let millis = i64::try_from(event.occurred_at.unix_millis()).unwrap_or(i64::MAX);
        Entry {
            sequence_number,
            payment_id: event.payment_id,
            event_id: event.event_id.clone(),
            entry: PutEventsRequestEntry::builder()
                .event_bus_name(&self.name)
                .source(SOURCE)
                .detail_type(detail_type)
                .time(DateTime::from_millis(millis))
                .detail(detail)
                .build(),
            size,
        }
    }

    /// Sends `entries` call by call; answers the sequence numbers of those not published.
    async fn send_in_order(&self, entries: Vec<Entry>) -> Vec<String> {
        let mut rest = entries;
        while !rest.is_empty() {
            let later = rest.split_off(next_call(&rest));
            let failed = self.send_with_retries(rest).await;
            if !failed.is_empty() {
                // A later entry may be a later version of a failed one; Lambda will retry from
                // the earliest failure, so stop here and give back everything not published.
                return failed
                    .into_iter()
                    .chain(later)
                    .map(|entry| entry.sequence_number)
                    .collect();
            }
            rest = later;
        }
        Vec::new()
    }

    /// One call's entries, the failed ones sent again up to [`ATTEMPTS`] times in all; answers
    /// those never accepted, in their order.
    async fn send_with_retries(&self, mut pending: Vec<Entry>) -> Vec<Entry> {
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            pending = self.send(pending).await;
            if pending.is_empty() {
                break;
            }
        }
        pending
    }

    /// One `PutEvents` call; answers the entries it did not accept.
    async fn send(&self, entries: Vec<Entry>) -> Vec<Entry> {
        let output = self
            .client
            .put_events()
            .set_entries(Some(
                entries.iter().map(|entry| entry.entry.clone()).collect(),
            ))
            .send()
            .await;
        let results = match output {
            Ok(output) if output.failed_entry_count == 0 => return Vec::new(),
            Ok(output) => output.entries.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(
                    entries = entries.len(),
                    error = %aws_sdk_eventbridge::error::DisplayErrorContext(&error),
                    "PutEvents failed"
                );
                return entries;
            }
        };
        // The results are in the order of the entries; one without a result is not known to
        // be published, so it is sent again.
        let mut results = results.into_iter();
        entries
            .into_iter()
            .filter(|entry| {
                let Some(result) = results.next() else {
                    return true;
                };
                let Some(code) = result.error_code() else {
                    return false;
                };
                tracing::warn!(
                    event_id = entry.event_id,
                    sequence_number = entry.sequence_number,
                    error_code = code,
                    error_message = result.error_message().unwrap_or_default(),
                    "PutEvents did not accept an entry"
                );
                true
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(payment: u128, size: usize) -> Entry {
        Entry {
            sequence_number: String::new(),
            payment_id: PaymentId::from(uuid::Uuid::from_u128(payment)),
            event_id: String::new(),
            entry: PutEventsRequestEntry::builder().build(),
            size,
        }
    }

    fn calls(entries: Vec<Entry>) -> Vec<usize> {
        let mut rest = entries;
        let mut calls = Vec::new();
        while !rest.is_empty() {
            let later = rest.split_off(next_call(&rest));
            calls.push(rest.len());
            rest = later;
        }
        calls
    }

    #[test]
    fn a_call_holds_at_most_ten_entries() {
        assert_eq!(
            calls((0..25).map(|n| entry(n, 2_000)).collect()),
            [10, 10, 5]
        );
    }

    #[test]
    fn a_call_holds_at_most_256_kb() {
        // 40 KB each: six fit in 256 KB, a seventh does not.
        assert_eq!(calls((0..10).map(|n| entry(n, 40_000)).collect()), [6, 4]);
        let exactly = MAX_REQUEST_BYTES / 2;
        assert_eq!(
            calls(vec![entry(1, exactly), entry(2, exactly), entry(3, 1)]),
            [2, 1]
        );
    }

    #[test]
    fn a_call_never_holds_two_events_of_one_payment() {
        let entries = [1, 2, 1, 3, 3, 3, 4].map(|payment| entry(payment, 1_000));
        assert_eq!(calls(entries.into()), [2, 2, 1, 2]);
    }
}
