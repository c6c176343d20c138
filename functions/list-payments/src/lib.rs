//! `GET /payments`: the caller's organisation's payments, newest first, a page at a time.
//!
//! The route's handler; `main.rs` runs it on the Lambda runtime, and tests run it through
//! `payments_core::http::serve` with the events in `events/list-payments/`.

use payments_core::App;
use payments_core::http::{ApiError, ApiRequest, ApiResponse};
use payments_core::repository::PaymentRepository;

/// Answers one page of the caller's payments, with `self` and `next` links.
pub async fn handle<R: PaymentRepository>(
    app: &App<R>,
    request: ApiRequest<'_>,
) -> Result<ApiResponse, ApiError> {
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
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::handle).await;
    }
}
