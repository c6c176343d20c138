//! The `get-payment` Lambda function (`GET /payments/{id}`): clients built once, then [`get_payment::handle`]
//! for every request.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let app = payments_core::App::init().await?;
    payments_core::http::run(env!("CARGO_PKG_NAME"), &app.identity, |request| {
        get_payment::handle(app, request)
    })
    .await
}
