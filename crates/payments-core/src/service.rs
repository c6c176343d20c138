//! The payment operations the routes call: tenancy, concurrency and idempotency rules on top
//! of a [`PaymentRepository`], at the time a [`Clock`] tells.

use std::future::Future;

use crate::domain::{
    ExpectedVersion, IdempotencyKey, OrganisationId, PageSize, Payment, PaymentAttributes,
    PaymentId, StoredAttributes, StoredPayment, Timestamp, Version, hex_sha256,
};
use crate::error::PaymentError;
use crate::repository::{
    Cursor, Deletion, HistoryEntry, IdempotencyRecord, Inserted, PaymentRepository, RepositoryError,
};

/// How long an `Idempotency-Key` holds its payment.
pub const IDEMPOTENCY_WINDOW: time::Duration = time::Duration::hours(24);

/// With `If-Match: *` a writer that loses a race re-reads and tries again this many times.
const ANY_VERSION_ATTEMPTS: u32 = 3;

/// Where the operations read the time: the host's clock in the functions, one the test sets
/// in tests of expiry and of hosts whose clocks disagree. A type parameter of [`Payments`]
/// rather than a trait object, so that a function that never reads the time (health) carries
/// no clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The host's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The result of [`Payments::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// This request created the payment.
    New(StoredPayment),
    /// The `Idempotency-Key` had already created this payment, given back as it was created;
    /// nothing new was written.
    Replayed(StoredPayment),
}

impl Created {
    /// The payment's id, whether this request created it or replayed it.
    pub fn id(&self) -> PaymentId {
        match self {
            Created::New(payment) => payment.id(),
            Created::Replayed(payment) => payment.id(),
        }
    }

    /// The payment's version: the first.
    pub fn version(&self) -> Version {
        match self {
            Created::New(payment) => payment.version(),
            Created::Replayed(payment) => payment.version(),
        }
    }
}

/// One page of [`Payments::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPage {
    pub payments: Vec<StoredPayment>,
    /// The opaque cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

/// The payment operations, each scoped to the caller's organisation, at the time `C` tells.
#[derive(Debug, Clone)]
pub struct Payments<R, C = SystemClock> {
    repository: R,
    clock: C,
}

impl From<RepositoryError> for PaymentError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::ConditionFailed => PaymentError::PreconditionFailed,
            RepositoryError::Conflict => PaymentError::Conflict,
            RepositoryError::Unavailable(cause) => PaymentError::Unavailable(cause),
            RepositoryError::Internal(cause) => PaymentError::Internal(cause),
        }
    }
}

impl<R: PaymentRepository> Payments<R> {
    /// The operations on `repository`, at the host's time.
    pub fn new(repository: R) -> Self {
        Self::with_clock(repository, SystemClock)
    }
}

impl<R: PaymentRepository, C: Clock> Payments<R, C> {
    /// The operations on `repository`, at the time `clock` tells.
    pub fn with_clock(repository: R, clock: C) -> Self {
        Self { repository, clock }
    }

    pub fn repository(&self) -> &R {
        &self.repository
    }

    /// Creates a payment at version 1. With an `Idempotency-Key`, a repeat of the same request
    /// returns the payment the first one created (as it was created) and writes nothing; the
    /// same key with different attributes is [`PaymentError::IdempotencyMismatch`].
    pub async fn create(
        &self,
        organisation_id: OrganisationId,
        attributes: PaymentAttributes,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<Created, PaymentError> {
        let now = self.clock.now();
        // Serialized once: the text stored is the text answered (and digested).
        let payment = Payment::new(organisation_id, attributes, now).stored();
        let request_digest = idempotency_key.map(|_| request_digest(payment.attributes()));
        let record = idempotency_key
            .zip(request_digest)
            .map(|(key, request_digest)| IdempotencyRecord {
                organisation_id,
                key_digest: key.digest(),
                request_digest,
                payment_id: payment.id(),
                expires_at: now.plus(IDEMPOTENCY_WINDOW),
            });

        match self.repository.insert(&payment, record.as_ref()).await? {
            Inserted::Created => Ok(Created::New(payment)),
            Inserted::KeyTaken(existing) => {
                let ours = record.expect("only a create with a key finds it taken");
                if existing.request_digest != ours.request_digest {
                    return Err(PaymentError::IdempotencyMismatch);
                }
                // The first version is the payment exactly as the first request created it,
                // even if it has been updated or deleted since.
                let first = self
                    .repository
                    .get_version(existing.payment_id, Version::FIRST)
                    .await?
                    .ok_or_else(|| {
                        PaymentError::Internal("idempotency record without its payment".into())
                    })?;
                Ok(Created::Replayed(first.payment))
            }
        }
    }

    /// The current version of a payment of `organisation_id`.
    pub async fn get(
        &self,
        organisation_id: OrganisationId,
        id: PaymentId,
    ) -> Result<StoredPayment, PaymentError> {
        match self.repository.get(id).await? {
            Some(payment) if payment.organisation_id() == organisation_id => Ok(payment),
            // Another organisation's payment is indistinguishable from none at all.
            _ => Err(PaymentError::NotFound),
        }
    }

    /// Replaces the attributes of a payment if it is still at the `expected` version.
    ///
    /// A PUT names the version it replaces and carries the whole of the new one, and the id
    /// of a payment this service created says when it was created: with those, the new
    /// version is written in one conditional transaction, without reading the payment first.
    /// Only when that condition fails (no such payment, another organisation's, another
    /// version, or a clock behind the last update) is the payment read, to tell which.
    pub async fn update(
        &self,
        organisation_id: OrganisationId,
        id: PaymentId,
        expected: ExpectedVersion,
        attributes: PaymentAttributes,
    ) -> Result<StoredPayment, PaymentError> {
        if let ExpectedVersion::Exactly(version) = expected
            && let Some(next) = Payment::revision(
                id,
                organisation_id,
                version,
                attributes.clone(),
                self.clock.now(),
            )
        {
            let next = next.stored();
            match self.repository.replace(&next).await {
                Ok(()) => return Ok(next),
                Err(RepositoryError::ConditionFailed) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let attributes = &attributes;
        self.write_current(organisation_id, id, expected, |current| async move {
            let next = current
                .revise(attributes.clone(), self.clock.now())
                .stored();
            self.repository.replace(&next).await.map(|()| next)
        })
        .await
    }

    /// Deletes a payment, if it is at the `expected` version when one is given. Its history
    /// stays, with a `deleted` version on top.
    ///
    /// A DELETE that names its version is one conditional transaction, without reading the
    /// payment first: the `deleted` version holds no attributes of its own ([`Deletion`]). As
    /// for a PUT, only when the condition fails is the payment read, to tell which answer.
    pub async fn delete(
        &self,
        organisation_id: OrganisationId,
        id: PaymentId,
        expected: ExpectedVersion,
    ) -> Result<(), PaymentError> {
        if let ExpectedVersion::Exactly(version) = expected {
            let deletion = Deletion {
                id,
                organisation_id,
                deletes: version,
                at: self.clock.now(),
            };
            match self.repository.remove(&deletion).await {
                Ok(()) => return Ok(()),
                Err(RepositoryError::ConditionFailed) => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.write_current(organisation_id, id, expected, |current| async move {
            let deletion = Deletion::of(&current, self.clock.now());
            self.repository.remove(&deletion).await
        })
        .await
    }

    /// Reads the current payment, checks it is at `expected`, and hands it to `write`, which
    /// writes on condition that it is still current. With `If-Match: *` a write that lost a
    /// race to another writer reads again and retries, and losing every time is a 409; with a
    /// version, losing is a 412.
    async fn write_current<T, F, Fut>(
        &self,
        organisation_id: OrganisationId,
        id: PaymentId,
        expected: ExpectedVersion,
        write: F,
    ) -> Result<T, PaymentError>
    where
        F: Fn(StoredPayment) -> Fut,
        Fut: Future<Output = Result<T, RepositoryError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self.get(organisation_id, id).await?;
            if !expected.matches(current.version()) {
                return Err(PaymentError::PreconditionFailed);
            }
            match write(current).await {
                Ok(written) => return Ok(written),
                Err(RepositoryError::ConditionFailed) if expected == ExpectedVersion::Any => {
                    if attempt >= ANY_VERSION_ATTEMPTS {
                        // It named no version, so no precondition failed: it kept losing races
                        // to other writers, which the client may retry (409, Retry-After).
                        return Err(PaymentError::Conflict);
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// A page of the organisation's payments, newest first. `cursor` is the `next_cursor` of
    /// the previous page; one made for another organisation is [`PaymentError::InvalidCursor`].
    pub async fn list(
        &self,
        organisation_id: OrganisationId,
        limit: PageSize,
        cursor: Option<&str>,
    ) -> Result<PaymentPage, PaymentError> {
        let after = cursor
            .map(|text| Cursor::decode(text).map_err(|_| PaymentError::InvalidCursor))
            .transpose()?;
        if after.is_some_and(|cursor| cursor.organisation_id != organisation_id) {
            return Err(PaymentError::InvalidCursor);
        }
        let page = self
            .repository
            .list(organisation_id, limit.get(), after.as_ref())
            .await?;
        Ok(PaymentPage {
            payments: page.payments,
            next_cursor: page.next.map(|cursor| cursor.encode()),
        })
    }

    /// Every version of a payment of `organisation_id`, oldest first, including after delete.
    pub async fn history(
        &self,
        organisation_id: OrganisationId,
        id: PaymentId,
    ) -> Result<Vec<HistoryEntry>, PaymentError> {
        let entries = self.repository.history(id).await?;
        match entries.first() {
            Some(first) if first.payment.organisation_id() == organisation_id => Ok(entries),
            _ => Err(PaymentError::NotFound),
        }
    }

    /// Whether storage answers. Whatever stops it (a missing table, an unreachable or
    /// throttled DynamoDB), the service is unavailable rather than broken:
    /// [`PaymentError::Unavailable`], so that a deploy check or load balancer waits.
    pub async fn ready(&self) -> Result<(), PaymentError> {
        self.repository
            .ping()
            .await
            .map_err(|error| PaymentError::Unavailable(error.into()))
    }
}

/// The digest an idempotent repeat must match: of the parsed attributes, so the same payment
/// sent with other whitespace or member order is still the same request.
fn request_digest(attributes: &StoredAttributes) -> String {
    hex_sha256(attributes.json().as_bytes())
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
