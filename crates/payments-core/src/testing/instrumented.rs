//! A repository for tests of what the operations do between their storage calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::example_attributes;
use crate::domain::{OrganisationId, Payment, PaymentId, StoredPayment, Timestamp, Version};
use crate::repository::{
    Cursor, Deletion, HistoryEntry, IdempotencyRecord, Inserted, Page, PaymentRepository,
    RepositoryError,
};

type Hook = Box<dyn Fn(PaymentId) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A repository that counts the reads of current payments made through it and can run a hook
/// just before each conditional write (another writer committing first, say).
pub struct Instrumented<R> {
    inner: R,
    reads: AtomicUsize,
    before_write: Option<Hook>,
}

impl<R> Instrumented<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            reads: AtomicUsize::new(0),
            before_write: None,
        }
    }

    /// Runs `hook` with the payment's id before each `replace` and `remove`.
    pub fn before_write<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(PaymentId) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.before_write = Some(Box::new(move |id| Box::pin(hook(id))));
        self
    }

    /// `inner`, where just before each of our conditional writes another writer commits the
    /// payment's next version: every race is lost, deterministically.
    pub fn losing_every_race(inner: R) -> Self
    where
        R: PaymentRepository + Clone + 'static,
    {
        let other_writer = inner.clone();
        Self::new(inner).before_write(move |id| {
            let other_writer = other_writer.clone();
            async move {
                let stored = other_writer.get(id).await.unwrap().expect("a payment");
                let next = stored.revise(example_attributes(), Timestamp::now());
                other_writer.replace(&next).await.unwrap();
            }
        })
    }

    /// How many current payments have been read through this repository.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    async fn about_to_write(&self, id: PaymentId) {
        if let Some(hook) = &self.before_write {
            hook(id).await;
        }
    }
}

impl<R: PaymentRepository> PaymentRepository for Instrumented<R> {
    async fn insert<A: Serialize + Sync>(
        &self,
        payment: &Payment<A>,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Inserted, RepositoryError> {
        self.inner.insert(payment, idempotency).await
    }

    async fn get(&self, id: PaymentId) -> Result<Option<StoredPayment>, RepositoryError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(id).await
    }

    async fn get_version(
        &self,
        id: PaymentId,
        version: Version,
    ) -> Result<Option<HistoryEntry>, RepositoryError> {
        self.inner.get_version(id, version).await
    }

    async fn history(&self, id: PaymentId) -> Result<Vec<HistoryEntry>, RepositoryError> {
        self.inner.history(id).await
    }

    async fn replace<A: Serialize + Sync>(&self, next: &Payment<A>) -> Result<(), RepositoryError> {
        self.about_to_write(next.id()).await;
        self.inner.replace(next).await
    }

    async fn remove(&self, deletion: &Deletion) -> Result<(), RepositoryError> {
        self.about_to_write(deletion.id).await;
        self.inner.remove(deletion).await
    }

    async fn list(
        &self,
        organisation_id: OrganisationId,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, RepositoryError> {
        self.inner.list(organisation_id, limit, after).await
    }

    async fn ping(&self) -> Result<(), RepositoryError> {
        self.inner.ping().await
    }
}
