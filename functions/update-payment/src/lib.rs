//! `PUT /payments/{id}`: replaces a payment's attributes if `If-Match` names its current version.
//!
//! The route's handler; `main.rs` runs it on the Lambda runtime, and tests run it through
//! `payments_core::http::serve` with the events in `events/update-payment/`.

use lambda_http::http::StatusCode;
use payments_core::App;
use payments_core::domain::PaymentAttributes;
use payments_core::http::{ApiError, ApiRequest, ApiResponse};
use payments_core::repository::PaymentRepository;

/// Replaces the attributes when `If-Match` names the current version; answers the new version.
pub async fn handle<R: PaymentRepository>(
    app: &App<R>,
    request: ApiRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    let organisation = request.organisation()?;
    let id = request.payment_id()?;
    let expected = request.required_if_match()?;
    let attributes = PaymentAttributes::parse_request(&request.json_body()?)?;
    let payment = app
        .payments
        .update(organisation, id, expected, attributes)
        .await?;
    Ok(ApiResponse::payment(StatusCode::OK, &payment))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_event_replays_with_its_expected_outcome() {
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::handle).await;
    }
}
