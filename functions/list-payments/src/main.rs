//! The `list-payments` Lambda function (`GET /payments`): clients built once, then [`list_payments::handle`]
//! for every request.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let app = payments_core::App::init().await?;
    payments_core::http::run(env!("CARGO_PKG_NAME"), &app.identity, |request| {
        list_payments::handle(app, request)
    })
    .await
}
