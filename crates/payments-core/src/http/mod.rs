//! The one place requests and errors meet HTTP: media types, the caller's claims, ETags,
//! bodies, problem+json, and the request log. Knows nothing of DynamoDB.
//!
//! A function's `main` hands its route handler to [`run`]; tests hand a request to [`serve`].

mod error;
mod json;
mod media;
mod request;
mod response;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use tracing::Instrument;

use crate::identity::Identity;
use crate::telemetry::{
    self,
    metrics::{Capacity, Emf, RequestMetrics},
    xray::TraceContext,
};

pub use error::{ApiError, Problem, RETRY_AFTER_SECONDS, cause_chain};
pub use media::{MediaType, PROBLEM_JSON};
pub use request::{ApiRequest, MAX_BODY_BYTES};
pub use response::{ApiResponse, IDEMPOTENT_REPLAYED, etag};

/// A request still running this long before its invocation's deadline answers 503 with
/// `Retry-After`: time to write that answer and hand it to the runtime. Each DynamoDB call
/// gives up after [`crate::config::OPERATION_TIMEOUT`], but one request can make several (read,
/// then write, each retried), and at the deadline Lambda kills the sandbox without an answer,
/// and the next request pays a cold start.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// How long a request that comes with no invocation deadline may run: one served outside the
/// Lambda runtime, as tests and hand-built events are, or by an emulator that sends no real
/// deadline.
pub const TIME_WITHOUT_DEADLINE: Duration = Duration::from_secs(8);

/// How long `request` may run from `now`: until [`DEADLINE_MARGIN`] before the deadline of
/// its invocation, which the runtime puts in the request's Lambda context (from the Runtime
/// API's `Lambda-Runtime-Deadline-Ms`, so from the function's configured timeout), or
/// [`TIME_WITHOUT_DEADLINE`] when there is none. A deadline already past when the request
/// starts is no real invocation's (Lambda hands over an invocation before its deadline, while
/// `cargo lambda watch` sends a constant 600000, a moment in 1970), and counts as none.
fn time_allowed(request: &Request, now: SystemTime) -> Duration {
    let left = request
        .lambda_context_ref()
        .and_then(|context| context.deadline().duration_since(now).ok());
    match left {
        Some(left) => left.saturating_sub(DEADLINE_MARGIN),
        None => TIME_WITHOUT_DEADLINE,
    }
}

/// Serves `handler`, the route of `operation` (the function's name: its metrics' dimension),
/// on the Lambda runtime until the sandbox is shut down. Each request writes its log line and
/// its metrics' EMF line.
pub async fn run<F, Fut>(
    operation: &'static str,
    identity: &'static Identity,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    F: Fn(ApiRequest<'static>) -> Fut + Sync,
    Fut: Future<Output = Result<ApiResponse, ApiError>> + Send,
{
    static COLD: AtomicBool = AtomicBool::new(true);
    let handler = &handler;
    let emf = &Emf::from_env(operation);
    lambda_http::run(service_fn(move |request: Request| async move {
        let (response, metrics) = serve_measured(identity, request, handler).await;
        emf.write(&metrics, COLD.swap(false, Ordering::Relaxed));
        Ok::<_, std::convert::Infallible>(response)
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
    serve_measured(identity, request, handler).await.0
}

/// [`serve`], with what the request did for its metrics: its outcome, and the DynamoDB
/// capacity its calls consumed. Its DynamoDB calls are subsegments of the invocation's trace.
pub async fn serve_measured<'a, F, Fut>(
    identity: &'a Identity,
    request: Request,
    handler: F,
) -> (Response<Body>, RequestMetrics)
where
    F: FnOnce(ApiRequest<'a>) -> Fut,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    let started = Instant::now();
    let method = request.method().clone();
    let route = route_of(&request);
    let ids = RequestIds::of(&request);
    let trace = TraceContext::parse(&ids.trace);
    let allowed = time_allowed(&request, SystemTime::now());
    let span = tracing::info_span!(
        "request",
        request_id = %ids.lambda,
        apigw_request_id = %ids.api_gateway,
        trace_id = %ids.trace,
    );

    async move {
        // An Accept that is not ASCII is malformed, like any header we read: 400, not ignored.
        let negotiated = match request.headers().get(http::header::ACCEPT) {
            Some(accept) => match accept.to_str() {
                Ok(accept) => MediaType::negotiate(Some(accept)),
                Err(_) => Err(ApiError::BadRequest(
                    "Accept must be printable ASCII".to_owned(),
                )),
            },
            None => MediaType::negotiate(None),
        };
        let (result, capacity) = match negotiated {
            Ok(media_type) => {
                // On the heap: the handler's future holds its SDK calls' (kilobytes), and each
                // wrapper below (the deadline, the telemetry scope, the span) would otherwise
                // hold and move a copy of it (docs/benchmarks.md, "Fewer copies on the warm path").
                let handled = Box::pin(handler(ApiRequest::new(request, identity, media_type)));
                // A write in flight when the deadline passes may still commit: as after any
                // 503, the client retries (a create with its Idempotency-Key).
                let (outcome, capacity) =
                    telemetry::in_request(trace, tokio::time::timeout(allowed, handled)).await;
                let result = match outcome {
                    Ok(result) => result.map(|response| (response, media_type)),
                    Err(_) => Err(ApiError::Unavailable(
                        format!(
                            "no answer within the {allowed:?} the invocation's deadline allowed"
                        )
                        .into(),
                    )),
                };
                (result, capacity)
            }
            Err(error) => (Err(error), Capacity::default()),
        };
        let response = match result {
            Ok((response, media_type)) => into_response(response, media_type),
            Err(error) => problem_response(&error, &ids.api_gateway),
        };
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(%method, %route, status, latency_ms, "request completed");
        let metrics = RequestMetrics {
            replayed: response.headers().contains_key(IDEMPOTENT_REPLAYED),
            method,
            status,
            capacity,
            request_id: ids.lambda,
        };
        (response, metrics)
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

/// The problem+json response of `error` to the request API Gateway knows as `request_id`.
/// Server errors are logged here, once, with their whole cause chain; clients see only the
/// problem, and the request id to quote.
pub fn problem_response(error: &ApiError, request_id: &str) -> Response<Body> {
    let status = error.status();
    if status.is_server_error() {
        tracing::error!(error = %cause_chain(error), status = status.as_u16(), "request failed");
    }
    let problem = error
        .problem()
        .with_request_id((!request_id.is_empty()).then_some(request_id));
    let body = serde_json::to_string(&problem).expect("problems always serialize");
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

/// The ids one request is known by, on every log line of it (README, "Finding one request"):
/// Lambda's (the function's log group, and the access log's `integrationRequestId`), API
/// Gateway's (the access log's `requestId`, the `apigw-requestid` response header, and a
/// problem's `request_id`), and the X-Ray trace's. Empty where the request has none (served
/// outside Lambda or API Gateway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    pub lambda: String,
    pub api_gateway: String,
    pub trace: String,
}

impl RequestIds {
    pub fn of(request: &Request) -> Self {
        let context = request.lambda_context_ref();
        let api_gateway = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
            _ => None,
        };
        Self {
            lambda: context.map(|c| c.request_id.clone()).unwrap_or_default(),
            api_gateway: api_gateway.unwrap_or_default(),
            trace: context
                .and_then(|c| c.xray_trace_id.clone())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(accept: Option<&str>) -> Request {
        let mut builder = http::Request::builder().method("GET").uri("/payments");
        if let Some(accept) = accept {
            builder = builder.header("accept", accept);
        }
        builder.body(Body::Empty).unwrap()
    }

    fn identity() -> Identity {
        Identity::Jwt {
            claim: "organisation_id".to_owned(),
        }
    }

    fn body_json(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    /// `request` as the Lambda runtime hands it over, its invocation due to end at
    /// `deadline` (whole milliseconds, as the Runtime API gives it).
    fn invoked(request: Request, deadline: SystemTime) -> Request {
        let mut context = lambda_http::Context::default();
        let millis = deadline.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        context.deadline = u64::try_from(millis.as_millis()).unwrap();
        request.with_lambda_context(context)
    }

    #[test]
    fn a_request_may_run_until_a_margin_before_its_invocations_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let ten_seconds_left = invoked(request(None), now + Duration::from_secs(10));
        let nearly_out = invoked(request(None), now + DEADLINE_MARGIN / 2);
        let cargo_lambda_watch = invoked(
            request(None),
            SystemTime::UNIX_EPOCH + Duration::from_millis(600_000),
        );

        assert_eq!(
            time_allowed(&ten_seconds_left, now),
            Duration::from_secs(10) - DEADLINE_MARGIN
        );
        assert_eq!(time_allowed(&nearly_out, now), Duration::ZERO);
        assert_eq!(time_allowed(&request(None), now), TIME_WITHOUT_DEADLINE);
        assert_eq!(
            time_allowed(&cargo_lambda_watch, now),
            TIME_WITHOUT_DEADLINE,
            "a deadline already past is no real invocation's"
        );
    }

    #[tokio::test]
    async fn a_request_out_of_time_answers_503_and_asks_to_be_retried() {
        let late = invoked(request(None), SystemTime::now() + DEADLINE_MARGIN / 2);

        let response = serve(&identity(), late, |_| std::future::pending()).await;

        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        assert_eq!(body_json(&response)["type"], "/problems/unavailable");
    }

    #[tokio::test]
    async fn an_unexpected_error_is_a_500_problem_without_its_cause() {
        let response = serve(&identity(), request(None), |_| async {
            Err(ApiError::Internal(
                "arn:aws:dynamodb:secret-table exploded".into(),
            ))
        })
        .await;

        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        let body = body_json(&response);
        assert_eq!(body["status"], 500);
        assert_eq!(body["type"], "/problems/internal");
        assert!(!body.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn unavailable_and_conflict_tell_the_client_when_to_retry() {
        for (error, status) in [
            (ApiError::Unavailable("throttled".into()), 503),
            (ApiError::Conflict, 409),
        ] {
            let response = serve(&identity(), request(None), |_| async { Err(error) }).await;
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()[RETRY_AFTER], "1");
            assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        }
    }

    #[tokio::test]
    async fn an_unacceptable_accept_is_406_before_the_handler_runs() {
        let response = serve(
            &identity(),
            request(Some("application/vnd.payments.v2+json")),
            |_| async { panic!("the handler must not run") },
        )
        .await;

        assert_eq!(response.status(), 406);
        assert_eq!(body_json(&response)["type"], "/problems/not-acceptable");
    }

    #[tokio::test]
    async fn a_success_carries_the_negotiated_type_and_its_headers() {
        let response = serve(
            &identity(),
            request(Some("application/vnd.payments.v1+json")),
            |_| async {
                Ok(
                    ApiResponse::json(http::StatusCode::OK, &serde_json::json!({"ok": true}))
                        .with_header(http::header::ETAG, "\"3\"".to_owned()),
                )
            },
        )
        .await;

        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/vnd.payments.v1+json"
        );
        assert_eq!(response.headers()[http::header::ETAG], "\"3\"");
        assert_eq!(body_json(&response), serde_json::json!({"ok": true}));
    }

    #[tokio::test]
    async fn a_request_without_a_claim_is_401_in_jwt_mode_and_the_default_in_development() {
        let organisation = |identity: Identity| async move {
            let response = serve(&identity, request(None), |request| async move {
                let organisation = request.organisation()?;
                Ok(ApiResponse::json(
                    http::StatusCode::OK,
                    &serde_json::json!({"organisation": organisation.to_string()}),
                ))
            })
            .await;
            (response.status().as_u16(), body_json(&response))
        };

        let (status, body) = organisation(identity()).await;
        assert_eq!(status, 401);
        assert_eq!(body["type"], "/problems/unauthorized");

        let development = Identity::Development {
            claim: "organisation_id".to_owned(),
            organisation_id: "00000000-0000-4000-8000-000000000001".parse().unwrap(),
        };
        let (status, body) = organisation(development).await;
        assert_eq!(status, 200);
        assert_eq!(body["organisation"], "00000000-0000-4000-8000-000000000001");
    }

    #[tokio::test]
    async fn a_problem_without_a_gateway_request_id_has_none() {
        let response = serve(&identity(), request(None), |_| async {
            Err::<ApiResponse, _>(ApiError::NotFound)
        })
        .await;
        assert_eq!(response.status(), 404);
        assert!(body_json(&response).get("request_id").is_none());
    }
}
