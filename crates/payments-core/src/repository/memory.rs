//! [`PaymentRepository`] in memory, on the same contract as [`super::DynamoDbRepository`]
//! (`tests/contract.rs` holds both to it): for tests of the operations that run in
//! milliseconds, without DynamoDB Local.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use super::{
    Change, Cursor, Deletion, HistoryEntry, IdempotencyRecord, Inserted, Page, PaymentRepository,
    RepositoryError, keys,
};
use crate::domain::{OrganisationId, Payment, PaymentId, StoredPayment, Timestamp, Version};

/// Payments in memory, shared by every clone. A write holds the one lock from its conditions
/// to its last change, so it is all or nothing, as a DynamoDB transaction is.
#[derive(Debug, Clone, Default)]
pub struct InMemoryRepository {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    current: HashMap<PaymentId, StoredPayment>,
    history: BTreeMap<(PaymentId, Version), HistoryEntry>,
    idempotency: HashMap<(OrganisationId, String), IdempotencyRecord>,
}

impl InMemoryRepository {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked holding the lock left nothing half-written: every write checks
        // its conditions before changing anything.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every item as the table would hold it, by its `pk` and `sk`, with what it holds: for
    /// asserting what was (and was not) written.
    pub fn items(&self) -> BTreeMap<(String, String), String> {
        let state = self.state();
        let payment =
            |payment: &StoredPayment| serde_json::to_string(payment).expect("a payment serializes");
        let mut items = BTreeMap::new();
        for (id, current) in &state.current {
            items.insert(
                (keys::payment_pk(*id), keys::CURRENT.to_owned()),
                payment(current),
            );
        }
        for ((id, version), entry) in &state.history {
            items.insert(
                (keys::payment_pk(*id), keys::version_sk(*version)),
                format!("{:?} {}", entry.change, payment(&entry.payment)),
            );
        }
        for ((organisation_id, key_digest), record) in &state.idempotency {
            items.insert(
                (
                    keys::idempotency_pk(*organisation_id, key_digest),
                    keys::IDEMPOTENCY.to_owned(),
                ),
                format!("{record:?}"),
            );
        }
        items
    }
}

impl State {
    /// The condition of [`PaymentRepository::replace`]: the
    /// current version is the one before `next`, of the same organisation and creation, and
    /// updated no later; and `next` is not in the history yet.
    fn precedes<A>(&self, next: &Payment<A>) -> Result<bool, RepositoryError> {
        let previous = next.version().previous().ok_or_else(|| {
            RepositoryError::Internal("the first version replaces nothing".into())
        })?;
        let current = self.current.get(&next.id()).is_some_and(|current| {
            current.version() == previous
                && current.organisation_id() == next.organisation_id()
                && current.created_at() == next.created_at()
                && current.updated_at() <= next.updated_at()
        });
        Ok(current && !self.history.contains_key(&(next.id(), next.version())))
    }

    fn record(&mut self, change: Change, payment: StoredPayment) {
        self.history.insert(
            (payment.id(), payment.version()),
            HistoryEntry { change, payment },
        );
    }
}

impl PaymentRepository for InMemoryRepository {
    async fn insert<A: Serialize + Sync>(
        &self,
        payment: &Payment<A>,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Inserted, RepositoryError> {
        let mut state = self.state();
        if state.current.contains_key(&payment.id())
            || state
                .history
                .contains_key(&(payment.id(), payment.version()))
        {
            return Err(RepositoryError::Internal("payment id collision".into()));
        }
        if let Some(record) = idempotency {
            let key = (record.organisation_id, record.key_digest.clone());
            // Expiry is kept to the second, as DynamoDB's TTL attribute keeps it, and a record
            // past it no longer holds its key, although TTL may not have removed it yet.
            if let Some(held) = state.idempotency.get(&key)
                && held.expires_at.unix_seconds() >= payment.created_at().unix_seconds()
            {
                return Ok(Inserted::KeyTaken(held.clone()));
            }
            let expires_at = Timestamp::from_unix_seconds(record.expires_at.unix_seconds())
                .ok_or_else(|| RepositoryError::Internal("expiry out of range".into()))?;
            state.idempotency.insert(
                key,
                IdempotencyRecord {
                    expires_at,
                    ..record.clone()
                },
            );
        }
        let stored = payment.stored();
        state.current.insert(payment.id(), stored.clone());
        state.record(Change::Created, stored);
        Ok(Inserted::Created)
    }

    async fn get(&self, id: PaymentId) -> Result<Option<StoredPayment>, RepositoryError> {
        Ok(self.state().current.get(&id).cloned())
    }

    async fn get_version(
        &self,
        id: PaymentId,
        version: Version,
    ) -> Result<Option<HistoryEntry>, RepositoryError> {
        Ok(self.state().history.get(&(id, version)).cloned())
    }

    async fn history(&self, id: PaymentId) -> Result<Vec<HistoryEntry>, RepositoryError> {
        let state = self.state();
        Ok(state
            .history
            .range((id, Version::FIRST)..)
            .take_while(|((entry_id, _), _)| *entry_id == id)
            .map(|(_, entry)| entry.clone())
            .collect())
    }

    async fn replace<A: Serialize + Sync>(&self, next: &Payment<A>) -> Result<(), RepositoryError> {
        let mut state = self.state();
        if !state.precedes(next)? {
            return Err(RepositoryError::ConditionFailed);
        }
        let stored = next.stored();
        state.current.insert(next.id(), stored.clone());
        state.record(Change::Updated, stored);
        Ok(())
    }

    async fn remove(&self, deletion: &Deletion) -> Result<(), RepositoryError> {
        let mut state = self.state();
        let Some(current) = state.current.get(&deletion.id).filter(|current| {
            current.version() == deletion.deletes
                && current.organisation_id() == deletion.organisation_id
                && current.updated_at() <= deletion.at
        }) else {
            return Err(RepositoryError::ConditionFailed);
        };
        if state
            .history
            .contains_key(&(deletion.id, deletion.version()))
        {
            return Err(RepositoryError::ConditionFailed);
        }
        // As the DynamoDB repository reads it back: the attributes of the version deleted.
        let deleted = Payment::restore(
            deletion.id,
            deletion.organisation_id,
            deletion.version(),
            current.created_at(),
            deletion.at,
            current.attributes().clone(),
        );
        state.current.remove(&deletion.id);
        state.record(Change::Deleted, deleted);
        Ok(())
    }

    async fn list(
        &self,
        organisation_id: OrganisationId,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, RepositoryError> {
        let state = self.state();
        // The list index's sort key, newest first, after the cursor's.
        let sort_key =
            |payment: &StoredPayment| keys::created_sk(payment.created_at(), payment.id());
        let after = after.map(|cursor| keys::created_sk(cursor.created_at, cursor.payment_id));
        let mut listed: Vec<(String, &StoredPayment)> = state
            .current
            .values()
            .filter(|payment| payment.organisation_id() == organisation_id)
            .map(|payment| (sort_key(payment), payment))
            .filter(|(key, _)| after.as_ref().is_none_or(|after| key < after))
            .collect();
        listed.sort_by(|a, b| b.0.cmp(&a.0));
        let more = listed.len() > limit;
        let payments: Vec<StoredPayment> = listed
            .into_iter()
            .take(limit)
            .map(|(_, payment)| payment.clone())
            .collect();
        Ok(Page::new(organisation_id, payments, more))
    }

    async fn ping(&self) -> Result<(), RepositoryError> {
        Ok(())
    }
}
