//! `GET /alive` (the process answers; no I/O) and `GET /ready` (the table answers).
//!
//! The route's handler; `main.rs` runs it on the Lambda runtime, and tests run it through
//! `payments_core::http::serve` with the events in `events/health/`.

use lambda_http::http::StatusCode;
use payments_core::App;
use payments_core::http::{ApiError, ApiRequest, ApiResponse};
use payments_core::repository::PaymentRepository;
use serde_json::json;

/// `/ready` asks the table; any other path is `/alive`, which does no I/O.
pub async fn handle<R: PaymentRepository>(
    app: &App<R>,
    request: ApiRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    if request.path().ends_with("/ready") {
        app.payments.ready().await?;
        Ok(ApiResponse::json(
            StatusCode::OK,
            &json!({"status": "ready"}),
        ))
    } else {
        Ok(ApiResponse::json(
            StatusCode::OK,
            &json!({"status": "alive"}),
        ))
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn every_event_replays_with_its_expected_outcome() {
        payments_core::testing::replay_events(env!("CARGO_PKG_NAME"), super::handle).await;
    }
}
