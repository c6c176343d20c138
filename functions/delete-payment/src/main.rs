//! `DELETE /payments/{id}`: deletes a payment (if it is at the `If-Match` version, when given).
//! Its history stays.

use payments_core::App;
use payments_core::domain::ExpectedVersion;
use payments_core::http::{self, ApiError, ApiRequest, ApiResponse};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let app = App::init().await?;
    http::run(&app.identity, |request| delete_payment(app, request)).await
}

async fn delete_payment(app: &App, request: ApiRequest<'_>) -> Result<ApiResponse, ApiError> {
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
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::delete_payment).await;
    }
}
