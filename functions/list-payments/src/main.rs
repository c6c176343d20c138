//! `GET /payments`: the caller's organisation's payments, newest first, a page at a time.

use payments_core::App;
use payments_core::http::{self, ApiError, ApiRequest, ApiResponse};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let app = App::init().await?;
    http::run(&app.identity, |request| list_payments(app, request)).await
}

async fn list_payments(app: &App, request: ApiRequest<'_>) -> Result<ApiResponse, ApiError> {
    let organisation = request.organisation()?;
    let (limit, cursor) = request.page()?;
    let page = app
        .payments
        .list(organisation, limit, cursor.as_deref())
        .await?;
    Ok(ApiResponse::page(&page, limit, cursor.as_deref()))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_event_replays_with_its_expected_outcome() {
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::list_payments).await;
    }
}
