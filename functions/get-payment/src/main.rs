//! `GET /payments/{id}`: one payment of the caller's organisation, with its ETag.

use lambda_http::http::StatusCode;
use payments_core::App;
use payments_core::http::{self, ApiError, ApiRequest, ApiResponse};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let app = App::init().await?;
    http::run(&app.identity, |request| get_payment(app, request)).await
}

async fn get_payment(app: &App, request: ApiRequest<'_>) -> Result<ApiResponse, ApiError> {
    let organisation = request.organisation()?;
    let id = request.payment_id()?;
    let payment = app.payments.get(organisation, id).await?;
    Ok(ApiResponse::payment(StatusCode::OK, &payment))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_event_replays_with_its_expected_outcome() {
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::get_payment).await;
    }
}
