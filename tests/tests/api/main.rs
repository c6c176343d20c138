//! End-to-end tests over HTTP, against `BASE_URL` (default `http://127.0.0.1:9000`, the stack
//! of `make dev`) with `AUTH_TOKEN` as a bearer token when set (a deployed stage).
//!
//! Other tests, and other people on a deployed stage, may create payments in the same
//! organisation at the same time: the tests only make claims about payments they created.

mod helpers;
mod hostile;
mod lifecycle;
mod listing;
mod requests;
