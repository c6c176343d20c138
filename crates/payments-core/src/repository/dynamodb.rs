//! [`PaymentRepository`] on DynamoDB, with items mapped by `serde_dynamo`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_attribute_value, to_item};

use super::Shard;
use super::failure::{classify, internal, is_throttling};
use super::{
    Change, Cursor, Deletion, HistoryEntry, IdempotencyRecord, Inserted, Page, PaymentRepository,
    RepositoryError,
};
use super::{ListShards, keys, stored};
use crate::domain::{
    OrganisationId, Payment, PaymentId, StoredAttributes, StoredPayment, Timestamp, Version,
};

/// A payment as an item: the current version (indexed on GSI1 for listing), or a version in
/// its history (with the change that made it; never indexed, never deleted). The attributes
/// are stored compressed ([`stored`]), once for both items of a write.
#[derive(Serialize)]
struct PaymentItem<'a> {
    pk: String,
    sk: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<Change>,
    id: PaymentId,
    organisation_id: OrganisationId,
    version: Version,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[serde(serialize_with = "stored::serialize_bytes")]
    attributes: &'a [u8],
}

impl<'a> PaymentItem<'a> {
    /// The current version, indexed in its organisation's shard of GSI1 (the same shard for
    /// every version of a payment: [`ListShards::shard_of`]).
    fn current<A>(payment: &Payment<A>, attributes: &'a [u8], shards: &ListShards) -> Self {
        Self {
            sk: keys::CURRENT.to_owned(),
            gsi1pk: Some(shards.index_partition(
                payment.organisation_id(),
                payment.created_at(),
                payment.id(),
            )),
            gsi1sk: Some(keys::created_sk(payment.created_at(), payment.id())),
            ..Self::of(payment, attributes)
        }
    }

    fn version<A>(payment: &Payment<A>, change: Change, attributes: &'a [u8]) -> Self {
        Self {
            sk: keys::version_sk(payment.version()),
            change: Some(change),
            ..Self::of(payment, attributes)
        }
    }

    fn of<A>(payment: &Payment<A>, attributes: &'a [u8]) -> Self {
        Self {
            pk: keys::payment_pk(payment.id()),
            sk: String::new(),
            gsi1pk: None,
            gsi1sk: None,
            change: None,
            id: payment.id(),
            organisation_id: payment.organisation_id(),
            version: payment.version(),
            created_at: payment.created_at(),
            updated_at: payment.updated_at(),
            attributes,
        }
    }
}

/// The `deleted` version of a payment's history, as a [`Deletion`] writes it: what the deletion
/// knows without reading the payment. Its attributes (and creation time) are the ones of the
/// version before it, and reading the history puts them back ([`history_entry`]).
#[derive(Serialize, Deserialize)]
struct DeletionItem {
    pk: String,
    sk: String,
    change: Change,
    id: PaymentId,
    organisation_id: OrganisationId,
    version: Version,
    updated_at: Timestamp,
}

impl DeletionItem {
    fn new(deletion: &Deletion) -> Self {
        Self {
            pk: keys::payment_pk(deletion.id),
            sk: keys::version_sk(deletion.version()),
            change: Change::Deleted,
            id: deletion.id,
            organisation_id: deletion.organisation_id,
            version: deletion.version(),
            updated_at: deletion.at,
        }
    }

    /// The history entry of this deletion of `deleted`, the version before it.
    fn into_history_entry(self, deleted: &StoredPayment) -> Result<HistoryEntry, RepositoryError> {
        if self.change != Change::Deleted
            || deleted.id() != self.id
            || deleted.version().next() != self.version
        {
            return Err(RepositoryError::Internal(
                "a deleted version without the version it deletes".into(),
            ));
        }
        Ok(HistoryEntry {
            change: Change::Deleted,
            payment: Payment::restore(
                self.id,
                self.organisation_id,
                self.version,
                deleted.created_at(),
                self.updated_at,
                deleted.attributes().clone(),
            ),
        })
    }
}

/// A history item read back, after the entry of the version before it (if any): a whole
/// version, or a [`DeletionItem`], which takes its attributes from that entry.
fn history_entry(
    item: Item,
    before: Option<&HistoryEntry>,
) -> Result<HistoryEntry, RepositoryError> {
    if item.contains_key("attributes") {
        return ReadItem::read(item)?.into_history_entry();
    }
    let deletion: DeletionItem = from_item(item).map_err(internal)?;
    let before = before.ok_or_else(|| {
        RepositoryError::Internal("a deleted version without the version it deletes".into())
    })?;
    deletion.into_history_entry(&before.payment)
}

/// The item of `payment` as its current version, for tests to fake DynamoDB with.
#[cfg(feature = "testing")]
pub(crate) fn current_item(payment: &Payment) -> HashMap<String, AttributeValue> {
    let attributes = stored::encode(payment.attributes());
    to_item(PaymentItem::current(
        payment,
        &attributes,
        &ListShards::default(),
    ))
    .expect("a payment item serializes")
}

/// A [`PaymentItem`] read back. The keys repeat what the other attributes hold and are not read.
#[derive(Deserialize)]
struct ReadItem {
    #[serde(default)]
    change: Option<Change>,
    id: PaymentId,
    organisation_id: OrganisationId,
    version: Version,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[serde(deserialize_with = "stored::deserialize")]
    attributes: StoredAttributes,
}

impl ReadItem {
    fn read(item: HashMap<String, AttributeValue>) -> Result<Self, RepositoryError> {
        from_item(item).map_err(internal)
    }

    fn into_payment(self) -> StoredPayment {
        Payment::restore(
            self.id,
            self.organisation_id,
            self.version,
            self.created_at,
            self.updated_at,
            self.attributes,
        )
    }

    fn into_history_entry(mut self) -> Result<HistoryEntry, RepositoryError> {
        let change = self.change.take().ok_or_else(|| {
            RepositoryError::Internal("history version without its change".into())
        })?;
        Ok(HistoryEntry {
            change,
            payment: self.into_payment(),
        })
    }
}

/// A payment item's image in a stream record, as Lambda delivers it (`serde_dynamo`'s item),
/// read as the repository reads the item itself.
pub fn stored_payment_of_image(
    image: serde_dynamo::Item,
) -> Result<StoredPayment, RepositoryError> {
    from_item::<_, ReadItem>(image)
        .map(ReadItem::into_payment)
        .map_err(internal)
}

#[derive(Serialize, Deserialize)]
struct IdempotencyItem {
    pk: String,
    sk: String,
    organisation_id: OrganisationId,
    key_digest: String,
    request_digest: String,
    payment_id: PaymentId,
    /// Epoch seconds: the format DynamoDB's TTL reads.
    expires_at: i64,
}

impl IdempotencyItem {
    fn new(record: &IdempotencyRecord) -> Self {
        Self {
            pk: keys::idempotency_pk(record.organisation_id, &record.key_digest),
            sk: keys::IDEMPOTENCY.to_owned(),
            organisation_id: record.organisation_id,
            key_digest: record.key_digest.clone(),
            request_digest: record.request_digest.clone(),
            payment_id: record.payment_id,
            expires_at: record.expires_at.unix_seconds(),
        }
    }

    fn into_record(self) -> Result<IdempotencyRecord, RepositoryError> {
        let expires_at = Timestamp::from_unix_seconds(self.expires_at)
            .ok_or_else(|| RepositoryError::Internal("expires_at out of range".into()))?;
        Ok(IdempotencyRecord {
            organisation_id: self.organisation_id,
            key_digest: self.key_digest,
            request_digest: self.request_digest,
            payment_id: self.payment_id,
            expires_at,
        })
    }
}

/// Transactions that collide with another in flight on the same item are cancelled with
/// `TransactionConflict`; retrying resolves them, because by then the other has committed
/// (and our condition now fails cleanly) or was itself cancelled. DynamoDB throttles a
/// transaction by cancelling it too (`ThrottlingError`), which the SDK does not retry: we do,
/// with the same backoff, and answer 503 if it stays throttled.
const TRANSACTION_ATTEMPTS: u32 = 5;

/// Payments in a DynamoDB table laid out as DESIGN.md section 4 describes.
#[derive(Debug, Clone)]
pub struct DynamoDbRepository {
    client: Client,
    table: String,
    shards: Arc<ListShards>,
}

impl DynamoDbRepository {
    /// The repository on `table`, with every organisation's list index on one shard.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            shards: Arc::default(),
        }
    }

    /// The same repository with the list index sharded as `shards` says (`LIST_SHARDS`).
    pub fn with_list_shards(self, shards: ListShards) -> Self {
        Self {
            shards: Arc::new(shards),
            ..self
        }
    }

    /// Up to `limit` index entries of one GSI1 partition, newest first, below `below` (a
    /// `gsi1sk`), from `start` (the previous query's `LastEvaluatedKey`).
    async fn query_shard(
        &self,
        partition: &str,
        below: Option<&str>,
        limit: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), RepositoryError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .expression_attribute_values(":partition", AttributeValue::S(partition.to_owned()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        let query = match below {
            Some(position) => query
                .key_condition_expression("gsi1pk = :partition AND gsi1sk < :position")
                .expression_attribute_values(":position", AttributeValue::S(position.to_owned())),
            None => query.key_condition_expression("gsi1pk = :partition"),
        };
        let output = query.send().await.map_err(classify)?;
        Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
    }

    /// One history version's item, as stored (strongly consistent).
    async fn version_item(
        &self,
        id: PaymentId,
        version: Version,
    ) -> Result<Option<Item>, RepositoryError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(
                keys::payment_pk(id),
                &keys::version_sk(version),
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item)
    }

    fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (keys::PK.to_owned(), AttributeValue::S(pk)),
            (keys::SK.to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }

    fn put<T: Serialize>(
        &self,
        item: &T,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, RepositoryError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(item).map_err(internal)?))
            .condition_expression(condition)
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The condition for writing `next` over the stored payment: that it is the version before
    /// `next`, of the same organisation and creation, and updated no later than `next` (so
    /// `updated_at` never runs backwards, whatever the writers' clocks).
    fn precedes<A>(
        next: &Payment<A>,
    ) -> Result<(&'static str, HashMap<String, AttributeValue>), RepositoryError> {
        let previous = next.version().previous().ok_or_else(|| {
            RepositoryError::Internal("the first version replaces nothing".into())
        })?;
        Ok((
            "version = :previous AND organisation_id = :organisation \
             AND created_at = :created_at AND updated_at <= :updated_at",
            HashMap::from([
                (
                    ":previous".to_owned(),
                    to_attribute_value(previous).map_err(internal)?,
                ),
                (
                    ":organisation".to_owned(),
                    AttributeValue::S(next.organisation_id().to_string()),
                ),
                (
                    ":created_at".to_owned(),
                    AttributeValue::S(next.created_at().to_string()),
                ),
                (
                    ":updated_at".to_owned(),
                    AttributeValue::S(next.updated_at().to_string()),
                ),
            ]),
        ))
    }

    /// Runs one transaction of `writes`, retrying it on `TransactionConflict`. On a failed
    /// condition, returns which write failed it first, and the item it found there (where
    /// DynamoDB sent it).
    async fn transact(
        &self,
        writes: Vec<(Write, TransactWriteItem)>,
    ) -> Result<Result<(), ConditionFailure>, RepositoryError> {
        let (names, items): (Vec<Write>, Vec<TransactWriteItem>) = writes.into_iter().unzip();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Ok(())),
                Err(error) => error,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                error.as_service_error()
            else {
                return Err(classify(error));
            };
            let reasons = cancelled.cancellation_reasons();
            // One reason per write, in the order they were sent.
            if let Some((write, reason)) = names
                .iter()
                .zip(reasons)
                .find(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
            {
                return Ok(Err(ConditionFailure {
                    write: *write,
                    old_item: reason.item().cloned(),
                }));
            }
            let throttled = reasons.iter().any(|reason| is_throttling(reason.code()));
            let conflicted = reasons
                .iter()
                .any(|reason| reason.code() == Some("TransactionConflict"));
            if !throttled && !conflicted {
                return Err(RepositoryError::Internal(error.into()));
            }
            if attempt >= TRANSACTION_ATTEMPTS {
                return Err(if throttled {
                    RepositoryError::Unavailable(error.into())
                } else {
                    RepositoryError::Conflict
                });
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// The writes of a transaction, by what each writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// The current version of a payment (put, or deleted).
    Current,
    /// A version in a payment's history.
    History,
    /// The record that holds an `Idempotency-Key`.
    IdempotencyRecord,
}

/// Which write of a transaction failed its condition, and the item it found.
struct ConditionFailure {
    write: Write,
    old_item: Option<HashMap<String, AttributeValue>>,
}

/// Stored payments in the 4 KB that one read unit of a query buys (each under 1 KB:
/// `stored.rs`).
const ITEMS_PER_READ_UNIT: usize = 4;

type Item = HashMap<String, AttributeValue>;

/// One shard of a list being merged: the items read from it and not merged yet (with their
/// `gsi1sk`, the merge order), and where its next query starts.
struct ShardReader {
    partition: String,
    items: VecDeque<(String, Item)>,
    next: Option<Item>,
    reads: usize,
}

impl ShardReader {
    fn new(partition: String) -> Self {
        Self {
            partition,
            items: VecDeque::new(),
            next: None,
            reads: 0,
        }
    }

    /// Whether the shard must be read before the merge can go on: all it gave is merged and
    /// it has more (or was never read).
    fn needs_read(&self) -> bool {
        self.items.is_empty() && (self.reads == 0 || self.next.is_some())
    }

    fn add(&mut self, (items, next): (Vec<Item>, Option<Item>)) -> Result<(), RepositoryError> {
        self.reads += 1;
        self.next = next;
        for item in items {
            let position = item
                .get(keys::GSI1_SK)
                .and_then(|value| value.as_s().ok())
                .ok_or_else(|| RepositoryError::Internal("index entry without gsi1sk".into()))?
                .clone();
            self.items.push_back((position, item));
        }
        Ok(())
    }
}

/// Exponential backoff with jitter: 10-20 ms, 20-40 ms, 40-80 ms, ...
fn backoff(attempt: u32) -> Duration {
    let base = 10u64 << attempt.min(6);
    // Sub-second clock noise is jitter enough to break lock-step retries of racing requests.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::from(elapsed.subsec_nanos()))
        .unwrap_or(0);
    Duration::from_millis(base + nanos % base)
}

impl PaymentRepository for DynamoDbRepository {
    async fn insert(
        &self,
        payment: &Payment,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Inserted, RepositoryError> {
        let attributes = stored::encode(payment.attributes());
        let mut writes = vec![
            (
                Write::Current,
                self.put(
                    &PaymentItem::current(payment, &attributes, &self.shards),
                    "attribute_not_exists(pk)",
                    HashMap::new(),
                )?,
            ),
            (
                Write::History,
                self.put(
                    &PaymentItem::version(payment, Change::Created, &attributes),
                    "attribute_not_exists(pk)",
                    HashMap::new(),
                )?,
            ),
        ];
        if let Some(record) = idempotency {
            // An expired record may linger until TTL removes it (up to days): it no longer
            // holds the key. Now is when the payment is created.
            let now = to_attribute_value(payment.created_at().unix_seconds()).map_err(internal)?;
            writes.push((
                Write::IdempotencyRecord,
                self.put(
                    &IdempotencyItem::new(record),
                    "attribute_not_exists(pk) OR expires_at < :now",
                    HashMap::from([(":now".to_owned(), now)]),
                )?,
            ));
        }
        match (self.transact(writes).await?, idempotency) {
            (Ok(()), _) => Ok(Inserted::Created),
            (
                Err(ConditionFailure {
                    write: Write::IdempotencyRecord,
                    old_item,
                }),
                Some(record),
            ) => {
                let old = match old_item {
                    Some(item) => item,
                    None => self
                        .client
                        .get_item()
                        .table_name(&self.table)
                        .set_key(Some(Self::key(
                            keys::idempotency_pk(record.organisation_id, &record.key_digest),
                            keys::IDEMPOTENCY,
                        )))
                        .consistent_read(true)
                        .send()
                        .await
                        .map_err(classify)?
                        .item
                        .ok_or(RepositoryError::Conflict)?,
                };
                let old: IdempotencyItem = from_item(old).map_err(internal)?;
                Ok(Inserted::KeyTaken(old.into_record()?))
            }
            // A new UUID that already exists: not something to explain to a client.
            (Err(_), _) => Err(RepositoryError::Internal("payment id collision".into())),
        }
    }

    async fn get(&self, id: PaymentId) -> Result<Option<StoredPayment>, RepositoryError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(keys::payment_pk(id), keys::CURRENT)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output
            .item
            .map(|item| ReadItem::read(item).map(ReadItem::into_payment))
            .transpose()
    }

    async fn get_version(
        &self,
        id: PaymentId,
        version: Version,
    ) -> Result<Option<HistoryEntry>, RepositoryError> {
        let Some(item) = self.version_item(id, version).await? else {
            return Ok(None);
        };
        if item.contains_key("attributes") {
            return ReadItem::read(item)?.into_history_entry().map(Some);
        }
        // A deletion: the version it deletes holds its attributes (and is never a deletion).
        let before = match version.previous() {
            Some(previous) => self.version_item(id, previous).await?,
            None => None,
        };
        let before = before
            .map(|item| ReadItem::read(item)?.into_history_entry())
            .transpose()?;
        history_entry(item, before.as_ref()).map(Some)
    }

    async fn history(&self, id: PaymentId) -> Result<Vec<HistoryEntry>, RepositoryError> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(keys::payment_pk(id)))
                .expression_attribute_values(
                    ":prefix",
                    AttributeValue::S(keys::VERSION_PREFIX.to_owned()),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in output.items.unwrap_or_default() {
                let entry = history_entry(item, entries.last())?;
                entries.push(entry);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(entries);
            }
        }
    }

    async fn replace(&self, next: &Payment) -> Result<(), RepositoryError> {
        let (condition, values) = Self::precedes(next)?;
        let attributes = stored::encode(next.attributes());
        let writes = vec![
            (
                Write::Current,
                self.put(
                    &PaymentItem::current(next, &attributes, &self.shards),
                    condition,
                    values,
                )?,
            ),
            (
                Write::History,
                self.put(
                    &PaymentItem::version(next, Change::Updated, &attributes),
                    "attribute_not_exists(pk)",
                    HashMap::new(),
                )?,
            ),
        ];
        self.transact(writes)
            .await?
            .map_err(|_| RepositoryError::ConditionFailed)
    }

    async fn remove(&self, deletion: &Deletion) -> Result<(), RepositoryError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(
                keys::payment_pk(deletion.id),
                keys::CURRENT,
            )))
            .condition_expression(
                "version = :version AND organisation_id = :organisation AND updated_at <= :at",
            )
            .expression_attribute_values(
                ":version",
                to_attribute_value(deletion.deletes).map_err(internal)?,
            )
            .expression_attribute_values(
                ":organisation",
                AttributeValue::S(deletion.organisation_id.to_string()),
            )
            .expression_attribute_values(":at", AttributeValue::S(deletion.at.to_string()))
            .build()
            .map_err(internal)?;
        let writes = vec![
            (
                Write::Current,
                TransactWriteItem::builder().delete(delete).build(),
            ),
            (
                Write::History,
                self.put(
                    &DeletionItem::new(deletion),
                    "attribute_not_exists(pk)",
                    HashMap::new(),
                )?,
            ),
        ];
        self.transact(writes)
            .await?
            .map_err(|_| RepositoryError::ConditionFailed)
    }

    /// A k-way merge of the organisation's shards of GSI1 ([`ListShards`]), each queried
    /// newest first below the cursor's position, all at once. One shard (every organisation
    /// that is not sharded) is one query, as before sharding.
    async fn list(
        &self,
        organisation_id: OrganisationId,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, RepositoryError> {
        let below = after.map(|cursor| keys::created_sk(cursor.created_at, cursor.payment_id));
        let count = self
            .shards
            .shards_until(organisation_id, after.map(|cursor| cursor.created_at));
        let mut shards: Vec<ShardReader> = (0..count)
            .map(|n| ShardReader::new(keys::organisation_shard_pk(organisation_id, Shard(n))))
            .collect();
        // One item more than asked tells whether another page exists, so the last page never
        // carries a `next` link that leads to an empty page.
        let wanted = limit + 1;
        // Payments spread evenly, so each shard holds about `wanted / count` of the page. One
        // more each makes a second query of a shard rarer; and up to four cost no more than
        // one, since a query is billed per 4 KB and a stored payment is under 1 KB.
        let first_read = if count == 1 {
            wanted
        } else {
            (wanted.div_ceil(usize::from(count)) + 1)
                .max(ITEMS_PER_READ_UNIT)
                .min(wanted)
        };
        let mut merged = Vec::with_capacity(wanted);
        while merged.len() < wanted {
            // A shard whose next item is not known yet could hold the newest of the rest:
            // read every such shard (all of them at first), at once.
            let unknown: Vec<usize> = (0..shards.len())
                .filter(|&n| shards[n].needs_read())
                .collect();
            if !unknown.is_empty() {
                let remaining = wanted - merged.len();
                let reads = unknown.iter().map(|&n| {
                    let shard = &shards[n];
                    let limit = if shard.reads == 0 {
                        first_read
                    } else {
                        remaining.min(2 * first_read)
                    };
                    self.query_shard(
                        &shard.partition,
                        below.as_deref(),
                        limit,
                        shard.next.clone(),
                    )
                });
                let read = try_join_all(reads).await?;
                for (n, read) in unknown.into_iter().zip(read) {
                    shards[n].add(read)?;
                }
                continue;
            }
            // Every shard's next item is known: the newest of them is the next of the page.
            let Some(newest) = shards
                .iter_mut()
                .filter(|shard| !shard.items.is_empty())
                .max_by(|a, b| a.items[0].0.cmp(&b.items[0].0))
            else {
                break;
            };
            merged.extend(newest.items.pop_front().map(|(_, item)| item));
        }
        let more = merged.len() > limit;
        let payments = merged
            .into_iter()
            .take(limit)
            .map(|item| ReadItem::read(item).map(ReadItem::into_payment))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::new(organisation_id, payments, more))
    }

    async fn ping(&self) -> Result<(), RepositoryError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}
