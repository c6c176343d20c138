//! `POST /payments`: creates a payment, idempotently when an `Idempotency-Key` is given.

use payments_core::App;
use payments_core::domain::PaymentAttributes;
use payments_core::http::{self, ApiError, ApiRequest, ApiResponse};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let app = App::init().await?;
    http::run(&app.identity, |request| create_payment(app, request)).await
}

async fn create_payment(app: &App, request: ApiRequest<'_>) -> Result<ApiResponse, ApiError> {
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
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::create_payment).await;
    }
}
