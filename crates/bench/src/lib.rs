//! `make bench`: what the functions cost beside two reference floors, as DESIGN.md section 8
//! asks. Figures are printed, never asserted: nothing here fails a build on a time.
//!
//! - [`runtime_api`]: a local Lambda Runtime API that the bootstraps poll.
//! - [`cold`]: process start to first `next` poll (init) and to first response, and peak RSS.
//! - [`dynamodb_proxy`]: how much of a first response is DynamoDB Local's own time.
//! - [`eventbridge`]: the EventBridge that `payment-events` publishes to, and its own time.
//! - [`capacity`]: DynamoDB capacity units per API operation.
//! - [`capacity_model`]: where a workload's write units land, from the code's keys.
//! - [`report`]: the summary table of `docs/benchmarks.md`.

pub mod capacity;
pub mod capacity_model;
pub mod cold;
pub mod dynamodb_proxy;
pub mod eventbridge;
pub mod report;
pub mod runtime_api;
pub mod stats;
