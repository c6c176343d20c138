//! The `payment-events` function: the table's stream, published as payment events.
//!
//! Not a route: the event source mapping of `template.yaml` invokes it with batches of stream
//! records of current payment items (its filter keeps history versions and idempotency
//! records out). `main.rs` runs [`handle`] on the Lambda runtime; tests run it with the
//! records in `events/payment-events/` and with real stream records of DynamoDB Local.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::LambdaEvent;
use payments_core::events::EventBus;

/// Publishes the batch's payment events; answers the records not published, which Lambda
/// retries (`ReportBatchItemFailures`).
pub async fn handle(
    bus: &EventBus,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    Ok(bus.publish(&event.payload.records).await)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_event_replays_with_its_expected_outcome() {
        payments_core::testing::replay_stream_events(env!("CARGO_PKG_NAME"), super::handle).await;
    }
}
