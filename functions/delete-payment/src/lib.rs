//! `DELETE /payments/{id}`: deletes a payment (if it is at the `If-Match` version, when given).
//! Its history stays.
//!
//! The route's handler; `main.rs` runs it on the Lambda runtime, and tests run it through
//! `payments_core::http::serve` with the events in `events/delete-payment/`.

use payments_core::App;
use payments_core::domain::ExpectedVersion;
use payments_core::http::{ApiError, ApiRequest, ApiResponse};
use payments_core::repository::PaymentRepository;

/// Deletes the payment (at the `If-Match` version, when given) and answers 204.
pub async fn handle<R: PaymentRepository>(
    app: &App<R>,
    request: ApiRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    let organisation = request.organisation()?;
    let id = request.payment_id()?;
    let expected = request.if_match()?.unwrap_or(ExpectedVersion::Any);
    app.payments.delete(organisation, id, expected).await?;
    Ok(ApiResponse::no_content())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_event_replays_with_its_expected_outcome() {
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::handle).await;
    }
}
