//! The `create-payment` Lambda function (`POST /payments`): clients built once, then [`create_payment::handle`]
//! for every request.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let app = payments_core::App::init().await?;
    payments_core::http::run(env!("CARGO_PKG_NAME"), &app.identity, |request| {
        create_payment::handle(app, request)
    })
    .await
}
