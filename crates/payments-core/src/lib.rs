//! The payments service's shared crate: the domain, the repositories, the payment operations,
//! and the HTTP adapter that the six Lambda functions share.
//!
//! - [`domain`]: types that cannot hold a bad value, and the one parser that builds them from
//!   requests and stored attributes. No AWS, no HTTP.
//! - [`repository`]: the [`repository::PaymentRepository`] trait, its DynamoDB implementation
//!   and an in-memory one on the same contract.
//! - [`service`]: the operations the routes call, with tenancy, concurrency and idempotency,
//!   at the time of an injected [`service::Clock`].
//! - [`events`]: the table's stream published as payment events on EventBridge.
//! - [`identity`]: whose organisation a request acts for.
//! - [`http`]: requests, responses, media types, deadlines and problem+json.
//! - [`app`]: what a handler is given; [`config`]: what a function reads at start.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod identity;
pub mod repository;
pub mod service;
pub mod telemetry;

#[cfg(feature = "testing")]
pub mod testing;

pub use app::App;

/// The release this build is: the workspace's version, which the stack's tags, the OpenAPI
/// document and CHANGELOG.md name too. Every function logs it when it starts.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub use error::PaymentError;
