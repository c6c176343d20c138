//! The `payment-events` Lambda function (the table's stream): the EventBridge client built
//! once, then [`payment_events::handle`] for every batch of stream records.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let bus = payments_core::events::EventBus::init().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        payment_events::handle(bus, event)
    }))
    .await
}
