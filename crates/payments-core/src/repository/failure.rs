//! What a DynamoDB error means to the operations: [`classify`] sorts the SDK's errors into
//! [`RepositoryError`]s.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::RepositoryError;

/// Throttling, timeouts, network failures and 5xx answers are [`RepositoryError::Unavailable`]
/// (the SDK has already retried them); anything else is a bug or a misconfiguration.
pub(super) fn classify<E>(error: SdkError<E, HttpResponse>) -> RepositoryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            matches!(
                service.err().code(),
                Some(
                    "ProvisionedThroughputExceededException"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "LimitExceededException"
                        // A retry of a transaction DynamoDB is still running: the SDK retries
                        // it as throttling; still running after the last attempt, the client
                        // may retry later (with its Idempotency-Key).
                        | "TransactionInProgressException"
                )
            ) || service.raw().status().is_server_error()
        }
        _ => false,
    };
    if unavailable {
        RepositoryError::Unavailable(Box::new(error))
    } else {
        RepositoryError::Internal(Box::new(error))
    }
}

/// Whether a transaction's cancellation reason is DynamoDB throttling it: it cancels a
/// throttled transaction rather than failing the call, so the SDK does not retry it.
pub(super) fn is_throttling(reason_code: Option<&str>) -> bool {
    matches!(
        reason_code,
        Some("ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded")
    )
}

/// Any other error, kept as the cause of a [`RepositoryError::Internal`].
pub(super) fn internal(error: impl std::error::Error + Send + Sync + 'static) -> RepositoryError {
    RepositoryError::Internal(Box::new(error))
}
