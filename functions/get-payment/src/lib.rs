//! `GET /payments/{id}`: one payment of the caller's organisation, with its ETag.
//!
//! The route's handler; `main.rs` runs it on the Lambda runtime, and tests run it through
//! `payments_core::http::serve` with the events in `events/get-payment/`.

use lambda_http::http::StatusCode;
use payments_core::App;
use payments_core::http::{ApiError, ApiRequest, ApiResponse};
use payments_core::repository::PaymentRepository;

/// Answers the caller's payment with its `ETag`.
pub async fn handle<R: PaymentRepository>(
    app: &App<R>,
    request: ApiRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    let organisation = request.organisation()?;
    let id = request.payment_id()?;
    let payment = app.payments.get(organisation, id).await?;
    Ok(ApiResponse::payment(StatusCode::OK, &payment))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_event_replays_with_its_expected_outcome() {
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::handle).await;
    }
}
