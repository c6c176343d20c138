//! Where payments are kept: the [`PaymentRepository`] trait, its DynamoDB implementation on
//! the single-table design of DESIGN.md section 4, and an in-memory one held to the same
//! contract (`tests/contract.rs`). `AttributeValue` never leaves this module.

mod cursor;
mod dynamodb;
mod failure;
pub mod keys;
mod memory;
mod shards;
mod stored;
mod table;

use std::future::Future;

use serde::{Deserialize, Serialize};

pub use cursor::Cursor;
pub use dynamodb::{DynamoDbRepository, stored_payment_of_image};
pub use memory::InMemoryRepository;
pub use shards::{InvalidListShards, ListShards, MAX_SHARDS, Shard};
pub use table::TableDefinition;

#[cfg(feature = "testing")]
pub(crate) use dynamodb::current_item;
#[cfg(feature = "testing")]
pub(crate) use stored::json as stored_json;

use crate::domain::{OrganisationId, Payment, PaymentId, StoredPayment, Timestamp, Version};
use crate::error::Cause;

/// What a history version records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Created,
    Updated,
    Deleted,
}

impl Change {
    pub const ALL: [Change; 3] = [Change::Created, Change::Updated, Change::Deleted];

    /// As items and events spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Deleted => "deleted",
        }
    }
}

/// One version of a payment as it was, and the change that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub change: Change,
    pub payment: StoredPayment,
}

/// A deletion of a payment's current version, which it is conditional on: the payment is of
/// `organisation_id`, at version `deletes`, and was updated no later than `at`. Its history
/// records the version after `deletes` as `deleted`, at `at`. It carries no attributes, so it
/// is written without reading the payment: the deleted version's attributes are the ones of
/// the version it deletes, which the history holds already, and reading the history gives them
/// back on the `deleted` version (as [`HistoryEntry::payment`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deletion {
    pub id: PaymentId,
    pub organisation_id: OrganisationId,
    pub deletes: Version,
    pub at: Timestamp,
}

impl Deletion {
    /// The deletion of `current`, now, or at its last update if the clock is behind it (a
    /// history's time never runs backwards).
    pub fn of(current: &StoredPayment, now: Timestamp) -> Self {
        Self {
            id: current.id(),
            organisation_id: current.organisation_id(),
            deletes: current.version(),
            at: now.max(current.updated_at()),
        }
    }

    /// The version the deletion has in the history.
    pub fn version(&self) -> Version {
        self.deletes.next()
    }
}

/// The record that makes a create idempotent: which payment a key created, from which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub organisation_id: OrganisationId,
    /// SHA-256 of the `Idempotency-Key`.
    pub key_digest: String,
    /// SHA-256 of the request's parsed attributes.
    pub request_digest: String,
    pub payment_id: PaymentId,
    /// When DynamoDB's TTL may delete the record; after it the key is free again.
    pub expires_at: Timestamp,
}

/// The result of [`PaymentRepository::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The payment, its first history version and the idempotency record (if any) were written.
    Created,
    /// Nothing was written: the idempotency key is held by this unexpired record.
    KeyTaken(IdempotencyRecord),
}

/// One page of an organisation's payments, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub payments: Vec<StoredPayment>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl Page {
    /// `payments` of `organisation_id`; when `more` follow them, the next page starts after
    /// the last of these.
    fn new(organisation_id: OrganisationId, payments: Vec<StoredPayment>, more: bool) -> Self {
        let next = match payments.last() {
            Some(last) if more => Some(Cursor {
                organisation_id,
                created_at: last.created_at(),
                payment_id: last.id(),
            }),
            _ => None,
        };
        Self { payments, next }
    }
}

/// Storage failures, as the operations need to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// A conditional write found the item in another state than expected.
    #[error("condition check failed")]
    ConditionFailed,
    /// Concurrent transactions on the same items kept conflicting after our retries.
    #[error("transaction conflict")]
    Conflict,
    /// Throttled, timed out, unreachable, or a 5xx, after the SDK's own retries.
    #[error("DynamoDB unavailable")]
    Unavailable(#[source] Cause),
    /// Anything else, including an item that does not deserialize.
    #[error("DynamoDB request failed")]
    Internal(#[source] Cause),
}

/// The storage the payment operations need. Every mutation writes its history version in the
/// same transaction, so the two can never disagree.
pub trait PaymentRepository: Send + Sync {
    /// Writes a new payment at version 1 with its `created` history version and, when given,
    /// its idempotency record, all or nothing.
    fn insert<A: Serialize + Sync>(
        &self,
        payment: &Payment<A>,
        idempotency: Option<&IdempotencyRecord>,
    ) -> impl Future<Output = Result<Inserted, RepositoryError>> + Send;

    /// The current version of a payment (strongly consistent), whichever organisation owns it.
    fn get(
        &self,
        id: PaymentId,
    ) -> impl Future<Output = Result<Option<StoredPayment>, RepositoryError>> + Send;

    /// One history version of a payment (strongly consistent).
    fn get_version(
        &self,
        id: PaymentId,
        version: Version,
    ) -> impl Future<Output = Result<Option<HistoryEntry>, RepositoryError>> + Send;

    /// Every history version of a payment, oldest first.
    fn history(
        &self,
        id: PaymentId,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, RepositoryError>> + Send;

    /// Writes `next` as the current version and records it as `updated`, on condition that
    /// the stored payment is the version before `next`, of the same organisation and creation,
    /// updated no later than `next`; [`RepositoryError::ConditionFailed`] when it is not (or
    /// there is none).
    fn replace<A: Serialize + Sync>(
        &self,
        next: &Payment<A>,
    ) -> impl Future<Output = Result<(), RepositoryError>> + Send;

    /// Deletes the current version and records the version after it as `deleted`, on the
    /// condition [`Deletion`] names; [`RepositoryError::ConditionFailed`] when it does not hold
    /// (or there is no payment).
    fn remove(
        &self,
        deletion: &Deletion,
    ) -> impl Future<Output = Result<(), RepositoryError>> + Send;

    /// Up to `limit` of an organisation's payments, newest first, after `after`.
    fn list(
        &self,
        organisation_id: OrganisationId,
        limit: usize,
        after: Option<&Cursor>,
    ) -> impl Future<Output = Result<Page, RepositoryError>> + Send;

    /// Whether the table answers.
    fn ping(&self) -> impl Future<Output = Result<(), RepositoryError>> + Send;
}
