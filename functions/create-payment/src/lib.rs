//! `POST /payments`: creates a payment, idempotently when an `Idempotency-Key` is given.
//!
//! The route's handler; `main.rs` runs it on the Lambda runtime, and tests run it through
//! `payments_core::http::serve` with the events in `events/create-payment/`.

use payments_core::App;
use payments_core::domain::PaymentAttributes;
use payments_core::http::{ApiError, ApiRequest, ApiResponse};
use payments_core::repository::PaymentRepository;

/// Parses the payment, creates it (idempotently when a key is given) and answers 201 with its
/// `Location` and `ETag`.
pub async fn handle<R: PaymentRepository>(
    app: &App<R>,
    request: ApiRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    let organisation = request.organisation()?;
    let idempotency_key = request.idempotency_key()?;
    let attributes = PaymentAttributes::parse_request(&request.json_body()?)?;
    let created = app
        .payments
        .create(organisation, attributes, idempotency_key.as_ref())
        .await?;
    Ok(ApiResponse::created(&created))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_event_replays_with_its_expected_outcome() {
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::handle).await;
    }
}
