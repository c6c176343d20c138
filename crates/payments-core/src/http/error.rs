//! Every error a client can see, its status, and its RFC 9457 problem+json body.

use http::StatusCode;
use serde::Serialize;

use crate::domain::{FieldError, ValidationErrors};
use crate::error::{Cause, PaymentError};

/// Seconds a client should wait before retrying a 503 (or a 409 from a write race).
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// An error answered to a client. [`ApiError::status`] is the one place statuses are decided.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON, or a path id, `limit`, `cursor` or header is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: the request carries no organisation.
    #[error("the request carries no organisation identity")]
    Unauthorized,
    /// 404: no such payment in the caller's organisation.
    #[error("no such payment")]
    NotFound,
    /// 406: `Accept` names no type or version this API serves.
    #[error("the Accept header asks for a media type this API does not serve")]
    NotAcceptable,
    /// 409: concurrent writes kept colliding; retrying is safe.
    #[error("a concurrent request is changing the same payment")]
    Conflict,
    /// 412: `If-Match` does not name the current version.
    #[error("If-Match does not match the current version of the payment")]
    PreconditionFailed,
    /// 413: the body is larger than [`super::MAX_BODY_BYTES`].
    #[error("the request body is larger than 32 KiB")]
    PayloadTooLarge,
    /// 415: the body is not `application/json` or `application/vnd.payments.v1+json`.
    #[error("the request body must be application/json or application/vnd.payments.v1+json")]
    UnsupportedMediaType,
    /// 422: the payment failed validation; every failing field is listed.
    #[error("the payment is not valid")]
    Validation(ValidationErrors),
    /// 422: the `Idempotency-Key` was used before with a different body.
    #[error("the Idempotency-Key was already used with a different request body")]
    IdempotencyMismatch,
    /// 428: a PUT without `If-Match`.
    #[error("this request must carry If-Match with the payment's current ETag")]
    PreconditionRequired,
    /// 503: storage is unavailable or throttled; the cause is logged, not returned.
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] Cause),
    /// 500: anything unexpected; the cause is logged with the request id, not returned.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::IdempotencyMismatch => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The last segment of the problem `type` URI: stable, documented, safe to branch on.
    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound => "not-found",
            ApiError::NotAcceptable => "not-acceptable",
            ApiError::Conflict => "conflict",
            ApiError::PreconditionFailed => "precondition-failed",
            ApiError::PayloadTooLarge => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::Validation(_) => "validation-failed",
            ApiError::IdempotencyMismatch => "idempotency-key-reused",
            ApiError::PreconditionRequired => "precondition-required",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Whether the client may retry after [`RETRY_AFTER_SECONDS`].
    pub fn retry_after(&self) -> Option<u32> {
        matches!(self, ApiError::Unavailable(_) | ApiError::Conflict).then_some(RETRY_AFTER_SECONDS)
    }

    /// The RFC 9457 problem document. Only this error's own words reach the client: causes
    /// (SDK messages and the like) stay in the logs.
    pub fn problem(&self) -> Problem<'_> {
        let status = self.status();
        Problem {
            problem_type: format!("/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.to_string(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.fields()),
                _ => None,
            },
            request_id: None,
        }
    }
}

/// An RFC 9457 problem details document.
#[derive(Debug, Serialize)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<&'a [FieldError]>,
    /// API Gateway's id of the request (an extension member): what a client quotes to find it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
}

impl<'a> Problem<'a> {
    pub fn with_request_id(self, request_id: Option<&'a str>) -> Self {
        Self { request_id, ..self }
    }
}

impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::NotFound => ApiError::NotFound,
            PaymentError::PreconditionFailed => ApiError::PreconditionFailed,
            PaymentError::Conflict => ApiError::Conflict,
            PaymentError::IdempotencyMismatch => ApiError::IdempotencyMismatch,
            PaymentError::InvalidCursor => {
                ApiError::BadRequest("cursor is not valid for this list".to_owned())
            }
            PaymentError::Unavailable(cause) => ApiError::Unavailable(cause),
            PaymentError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors)
    }
}

/// The whole `source()` chain of an error on one line, for the one log line that records it.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problems_list_every_field() {
        let mut errors = ValidationErrors::new();
        errors.add("attributes.amount", "must be positive");
        errors.add("attributes.currency", "is required");
        let error = ApiError::Validation(errors);
        let body = serde_json::to_value(error.problem()).unwrap();
        assert_eq!(body["status"], 422);
        assert_eq!(body["type"], "/problems/validation-failed");
        assert_eq!(body["title"], "Unprocessable Entity");
        assert_eq!(body["errors"][1]["field"], "attributes.currency");
    }

    #[test]
    fn internal_causes_never_reach_the_problem() {
        let error = ApiError::Internal("secret SDK message: arn:aws:dynamodb".into());
        let body = serde_json::to_string(&error.problem()).unwrap();
        assert!(!body.contains("secret"));
        assert!(!body.contains("errors"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn unavailable_asks_clients_to_retry() {
        let error = ApiError::from(PaymentError::Unavailable("throttled".into()));
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.retry_after(), Some(RETRY_AFTER_SECONDS));
        assert_eq!(ApiError::NotFound.retry_after(), None);
    }

    #[test]
    fn each_payment_error_maps_to_its_status() {
        let cases = [
            (PaymentError::NotFound, 404),
            (PaymentError::PreconditionFailed, 412),
            (PaymentError::Conflict, 409),
            (PaymentError::IdempotencyMismatch, 422),
            (PaymentError::InvalidCursor, 400),
            (PaymentError::Internal("x".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status().as_u16(), status);
        }
    }

    #[test]
    fn the_cause_chain_is_joined_for_the_log() {
        let error = PaymentError::Unavailable("connection refused".into());
        assert_eq!(
            cause_chain(&error),
            "storage is unavailable: connection refused"
        );
    }
}
