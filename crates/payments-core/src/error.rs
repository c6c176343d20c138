//! The errors of the payment operations. A request that fails to parse never reaches them
//! (its [`crate::domain::ValidationErrors`] go straight to the HTTP adapter); storage's errors
//! become these in one place ([`crate::service`]), and the HTTP adapter maps each to a status
//! in one place ([`crate::http::ApiError::status`]). Nothing here knows about HTTP.

/// A boxed error kept as the cause of an [`PaymentError::Unavailable`] or
/// [`PaymentError::Internal`], for the logs only.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// No such payment, or it belongs to another organisation: the two are indistinguishable.
    #[error("payment not found")]
    NotFound,

    /// A conditional write found another version than the one expected.
    #[error("the payment has changed since the version expected")]
    PreconditionFailed,

    /// Concurrent writers kept colliding on the same item; the client may retry.
    #[error("a concurrent request is changing the same payment")]
    Conflict,

    /// The `Idempotency-Key` was used before with a different request body.
    #[error("the idempotency key was already used with a different request")]
    IdempotencyMismatch,

    /// The list cursor is malformed, tampered with, or belongs to another organisation.
    #[error("the cursor is not valid for this list")]
    InvalidCursor,

    /// Storage is unreachable, throttled or timed out after the SDK's retries, or does not
    /// answer a readiness check.
    #[error("storage is unavailable")]
    Unavailable(#[source] Cause),

    /// Anything else: a bug, a corrupt item, a misconfiguration.
    #[error("internal error")]
    Internal(#[source] Cause),
}
