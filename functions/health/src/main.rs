//! The `health` Lambda function (`GET /alive`, `GET /ready`): clients built once, then [`health::handle`]
//! for every request.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let app = payments_core::App::init().await?;
    payments_core::http::run(env!("CARGO_PKG_NAME"), &app.identity, |request| {
        health::handle(app, request)
    })
    .await
}
