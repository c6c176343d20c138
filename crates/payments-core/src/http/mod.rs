//! The one place requests and errors meet HTTP: media types, identity, ETags, bodies,
//! problem+json, and the request log. Knows nothing of DynamoDB.
//!
//! A function's `main` hands its route handler to [`run`]; tests hand a request to [`serve`].

mod error;
mod json;
mod media;
mod request;
mod response;

use std::future::Future;
use std::time::Instant;

use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use tracing::Instrument;

pub use error::{ApiError, Problem, RETRY_AFTER_SECONDS, cause_chain};
pub use media::{MediaType, PROBLEM_JSON};
pub use request::{ApiRequest, Identity, MAX_BODY_BYTES};
pub use response::{ApiResponse, etag};

/// Serves `handler` on the Lambda runtime until the sandbox is shut down.
pub async fn run<F, Fut>(identity: &'static Identity, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(ApiRequest<'static>) -> Fut + Sync,
    Fut: Future<Output = Result<ApiResponse, ApiError>> + Send,
{
    let handler = &handler;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(serve(identity, request, handler).await)
    }))
    .await
}

/// One request through `handler`: negotiates the response type, runs the handler, turns its
/// error into problem+json, and writes the request's log line.
pub async fn serve<'a, F, Fut>(
    identity: &'a Identity,
    request: Request,
    handler: F,
) -> Response<Body>
where
    F: FnOnce(ApiRequest<'a>) -> Fut,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    let started = Instant::now();
    let method = request.method().to_string();
    let route = route_of(&request);
    let request_id = request_id_of(&request);
    let span = tracing::info_span!("request", request_id = %request_id);

    async move {
        let accept = request
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let result = match MediaType::negotiate(accept) {
            Ok(media_type) => handler(ApiRequest::new(request, identity, media_type))
                .await
                .map(|response| (response, media_type)),
            Err(error) => Err(error),
        };
        let response = match result {
            Ok((response, media_type)) => into_response(response, media_type),
            Err(error) => problem_response(&error),
        };
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(%method, %route, status, latency_ms, "request completed");
        response
    }
    .instrument(span)
    .await
}

fn into_response(response: ApiResponse, media_type: MediaType) -> Response<Body> {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    let body = match response.body {
        Some(bytes) => {
            builder = builder.header(CONTENT_TYPE, media_type.as_str());
            Body::Text(String::from_utf8(bytes).expect("serde_json writes UTF-8"))
        }
        None => Body::Empty,
    };
    builder.body(body).expect("status and headers are valid")
}

/// The problem+json response of `error`. Server errors are logged here, once, with their
/// whole cause chain; clients see only the problem.
pub fn problem_response(error: &ApiError) -> Response<Body> {
    let status = error.status();
    if status.is_server_error() {
        tracing::error!(error = %cause_chain(error), status = status.as_u16(), "request failed");
    }
    let body = serde_json::to_string(&error.problem()).expect("problems always serialize");
    let mut response = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if let Some(seconds) = error.retry_after() {
        response = response.header(RETRY_AFTER, seconds);
    }
    response
        .body(Body::Text(body))
        .expect("status and headers are valid")
}

/// `GET /payments/{id}` style: API Gateway's route key when it names a route, else the method
/// and path (local runs route everything as `$default`).
fn route_of(request: &Request) -> String {
    let route_key = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.as_deref(),
        _ => None,
    };
    match route_key {
        Some(key) if key != "$default" => key.to_owned(),
        _ => format!("{} {}", request.method(), request.raw_http_path()),
    }
}

fn request_id_of(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.request_id.clone().unwrap_or_default()
        }
        _ => String::new(),
    }
}
