//! The payments service's shared crate: the domain, the DynamoDB repository, the payment
//! operations, and the HTTP adapter that the six Lambda functions share.
//!
//! - [`domain`]: types that cannot hold a bad value, and request parsing. No AWS, no HTTP.
//! - [`repository`]: the [`repository::PaymentRepository`] trait and its DynamoDB implementation.
//! - [`service`]: the operations the routes call, with tenancy, concurrency and idempotency.
//! - [`http`]: requests, responses, media types and problem+json.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod identity;
pub mod repository;
pub mod service;
pub mod telemetry;

#[cfg(feature = "testing")]
pub mod testing;

pub use app::App;
pub use error::PaymentError;
