//! [`PaymentRepository`] on DynamoDB. A payment's items are written and read attribute by
//! attribute; the rarer items (idempotency records, deletions) are mapped by `serde_dynamo`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
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
struct PaymentItem<'a> {
    pk: String,
    sk: String,
    gsi1pk: Option<String>,
    gsi1sk: Option<String>,
    change: Option<Change>,
    id: PaymentId,
    organisation_id: OrganisationId,
    version: Version,
    created_at: Timestamp,
    updated_at: Timestamp,
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

    /// The item, attribute by attribute (the attributes [`ReadItem`] reads, and the keys).
    fn into_item(self) -> Item {
        let text = |value: String| AttributeValue::S(value);
        let mut item = Item::with_capacity(11);
        item.insert(keys::PK.to_owned(), text(self.pk));
        item.insert(keys::SK.to_owned(), text(self.sk));
        if let Some(partition) = self.gsi1pk {
            item.insert(keys::GSI1_PK.to_owned(), text(partition));
        }
        if let Some(position) = self.gsi1sk {
            item.insert(keys::GSI1_SK.to_owned(), text(position));
        }
        if let Some(change) = self.change {
            item.insert("change".to_owned(), text(change.as_str().to_owned()));
        }
        item.insert("id".to_owned(), text(self.id.to_string()));
        item.insert(
            "organisation_id".to_owned(),
            text(self.organisation_id.to_string()),
        );
        item.insert(
            "version".to_owned(),
            AttributeValue::N(self.version.get().to_string()),
        );
        item.insert("created_at".to_owned(), text(self.created_at.to_string()));
        item.insert("updated_at".to_owned(), text(self.updated_at.to_string()));
        item.insert(
            "attributes".to_owned(),
            AttributeValue::B(Blob::new(self.attributes)),
        );
        item
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
    PaymentItem::current(payment, &attributes, &ListShards::default()).into_item()
}

/// The attributes of a current item that [`ReadItem`] reads.
macro_rules! read_attributes {
    () => {
        "id, organisation_id, version, created_at, updated_at, attributes"
    };
}

/// What a get asks for, as a `ProjectionExpression`: the attributes [`ReadItem`] reads, so that
/// the SDK parses only these (not the keys, which repeat them). DynamoDB bills a read on the
/// whole item either way.
const READ_PROJECTION: &str = read_attributes!();

/// What a list asks for: [`READ_PROJECTION`] and the list index's sort key, by which a list
/// merges its shards.
const LIST_PROJECTION: &str = concat!(read_attributes!(), ", gsi1sk");

/// A [`PaymentItem`] read back. The keys repeat what the other attributes hold and are not read.
struct ReadItem {
    change: Option<Change>,
    id: PaymentId,
    organisation_id: OrganisationId,
    version: Version,
    created_at: Timestamp,
    updated_at: Timestamp,
    attributes: StoredAttributes,
}

impl ReadItem {
    /// Each attribute taken from the SDK's map by name and parsed once, through the `FromStr`
    /// of its domain type. `serde_dynamo` would first copy the whole map, stored attributes
    /// included, into a map of its own: a page of 20 did that 20 times (docs/benchmarks.md,
    /// "Fewer copies on the warm path").
    fn read(item: Item) -> Result<Self, RepositoryError> {
        Ok(Self {
            change: item
                .get("change")
                .map(|_| text_attribute(&item, "change").and_then(parse_change))
                .transpose()?,
            id: parsed_attribute(&item, "id")?,
            organisation_id: parsed_attribute(&item, "organisation_id")?,
            version: version_attribute(&item)?,
            created_at: parsed_attribute(&item, "created_at")?,
            updated_at: parsed_attribute(&item, "updated_at")?,
            attributes: match item.get("attributes") {
                Some(AttributeValue::B(stored)) => stored::decode(stored.as_ref())
                    .map_err(|reason| malformed("attributes", &reason))?,
                _ => return Err(malformed("attributes", "not a binary attribute")),
            },
        })
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

/// An item attribute this code wrote, unreadable: the item was written by something else.
fn malformed(name: &str, reason: &str) -> RepositoryError {
    RepositoryError::Internal(format!("item attribute {name}: {reason}").into())
}

/// The text of the string attribute `name` of `item`.
fn text_attribute<'a>(item: &'a Item, name: &str) -> Result<&'a str, RepositoryError> {
    match item.get(name) {
        Some(AttributeValue::S(text)) => Ok(text),
        Some(_) => Err(malformed(name, "not a string")),
        None => Err(malformed(name, "missing")),
    }
}

/// The string attribute `name` of `item`, parsed by `T`'s `FromStr`.
fn parsed_attribute<T>(item: &Item, name: &str) -> Result<T, RepositoryError>
where
    T: std::str::FromStr<Err = String>,
{
    text_attribute(item, name)?
        .parse()
        .map_err(|reason: String| malformed(name, &reason))
}

/// The number attribute `version` of `item`.
fn version_attribute(item: &Item) -> Result<Version, RepositoryError> {
    match item.get("version") {
        Some(AttributeValue::N(number)) => number
            .parse()
            .ok()
            .and_then(Version::new)
            .ok_or_else(|| malformed("version", "not a version number")),
        _ => Err(malformed("version", "not a number")),
    }
}

fn parse_change(text: &str) -> Result<Change, RepositoryError> {
    Change::ALL
        .into_iter()
        .find(|change| change.as_str() == text)
        .ok_or_else(|| malformed("change", "not a change"))
}

/// A payment item's image in a stream record, as Lambda delivers it (`serde_dynamo`'s item),
/// read as the repository reads the item itself.
pub fn stored_payment_of_image(
    image: serde_dynamo::Item,
) -> Result<StoredPayment, RepositoryError> {
    ReadItem::read(image.into()).map(ReadItem::into_payment)
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
            .projection_expression(LIST_PROJECTION)
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

    fn put(
        &self,
        item: Item,
        condition: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, RepositoryError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
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

    /// Runs one transaction of the writes `writes` makes, retrying it on
    /// `TransactionConflict`. On a failed condition, returns which write failed it first, and
    /// the item it found there (where DynamoDB sent it). The SDK takes the writes by value, so
    /// each attempt makes them again rather than sending a copy kept for a retry that seldom
    /// comes.
    async fn transact(
        &self,
        writes: impl Fn() -> Result<Vec<(Write, TransactWriteItem)>, RepositoryError>,
    ) -> Result<Result<(), ConditionFailure>, RepositoryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (names, items): (Vec<Write>, Vec<TransactWriteItem>) =
                writes()?.into_iter().unzip();
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
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
    async fn insert<A: Serialize + Sync>(
        &self,
        payment: &Payment<A>,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Inserted, RepositoryError> {
        let attributes = stored::encode(payment.attributes());
        let writes = || {
            let mut writes = vec![
                (
                    Write::Current,
                    self.put(
                        PaymentItem::current(payment, &attributes, &self.shards).into_item(),
                        "attribute_not_exists(pk)",
                        HashMap::new(),
                    )?,
                ),
                (
                    Write::History,
                    self.put(
                        PaymentItem::version(payment, Change::Created, &attributes).into_item(),
                        "attribute_not_exists(pk)",
                        HashMap::new(),
                    )?,
                ),
            ];
            if let Some(record) = idempotency {
                // An expired record may linger until TTL removes it (up to days): it no longer
                // holds the key. Now is when the payment is created.
                let now =
                    to_attribute_value(payment.created_at().unix_seconds()).map_err(internal)?;
                writes.push((
                    Write::IdempotencyRecord,
                    self.put(
                        to_item(IdempotencyItem::new(record)).map_err(internal)?,
                        "attribute_not_exists(pk) OR expires_at < :now",
                        HashMap::from([(":now".to_owned(), now)]),
                    )?,
                ));
            }
            Ok(writes)
        };
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
            .projection_expression(READ_PROJECTION)
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

    async fn replace<A: Serialize + Sync>(&self, next: &Payment<A>) -> Result<(), RepositoryError> {
        let attributes = stored::encode(next.attributes());
        let writes = || {
            let (condition, values) = Self::precedes(next)?;
            Ok(vec![
                (
                    Write::Current,
                    self.put(
                        PaymentItem::current(next, &attributes, &self.shards).into_item(),
                        condition,
                        values,
                    )?,
                ),
                (
                    Write::History,
                    self.put(
                        PaymentItem::version(next, Change::Updated, &attributes).into_item(),
                        "attribute_not_exists(pk)",
                        HashMap::new(),
                    )?,
                ),
            ])
        };
        self.transact(writes)
            .await?
            .map_err(|_| RepositoryError::ConditionFailed)
    }

    async fn remove(&self, deletion: &Deletion) -> Result<(), RepositoryError> {
        let writes = || {
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
            Ok(vec![
                (
                    Write::Current,
                    TransactWriteItem::builder().delete(delete).build(),
                ),
                (
                    Write::History,
                    self.put(
                        to_item(DeletionItem::new(deletion)).map_err(internal)?,
                        "attribute_not_exists(pk)",
                        HashMap::new(),
                    )?,
                ),
            ])
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{example_attributes, organisation};

    fn payment() -> Payment {
        let now: Timestamp = "2026-11-24T09:15:02.481Z".parse().unwrap();
        Payment::new(organisation(), example_attributes(), now)
    }

    fn text(item: &Item, name: &str) -> String {
        item[name].as_s().unwrap().clone()
    }

    #[test]
    fn a_current_item_holds_the_keys_the_index_and_every_attribute_the_reader_reads() {
        let payment = payment();
        let attributes = stored::encode(payment.attributes());
        let shards = ListShards::default();
        let item = PaymentItem::current(&payment, &attributes, &shards).into_item();

        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "attributes",
                "created_at",
                "gsi1pk",
                "gsi1sk",
                "id",
                "organisation_id",
                "pk",
                "sk",
                "updated_at",
                "version"
            ]
        );
        assert_eq!(text(&item, "pk"), keys::payment_pk(payment.id()));
        assert_eq!(text(&item, "sk"), keys::CURRENT);
        assert_eq!(
            text(&item, "gsi1sk"),
            keys::created_sk(payment.created_at(), payment.id())
        );
        assert_eq!(text(&item, "id"), payment.id().to_string());
        assert_eq!(text(&item, "created_at"), "2026-11-24T09:15:02.481Z");
        assert_eq!(item["version"].as_n().unwrap(), "1");
        assert_eq!(item["attributes"].as_b().unwrap().as_ref(), &attributes[..]);

        let read = ReadItem::read(item.clone()).unwrap();
        assert_eq!(read.change, None);
        assert_eq!(read.into_payment(), payment.stored());

        // What a get and a list ask DynamoDB for is enough to read the payment back.
        for projection in [READ_PROJECTION, LIST_PROJECTION] {
            let names: Vec<&str> = projection.split(", ").collect();
            let mut projected = item.clone();
            projected.retain(|name, _| names.contains(&name.as_str()));
            assert_eq!(
                ReadItem::read(projected).unwrap().into_payment(),
                payment.stored(),
                "{projection}"
            );
        }
        assert!(
            LIST_PROJECTION
                .split(", ")
                .any(|name| name == keys::GSI1_SK)
        );
    }

    #[test]
    fn a_history_item_records_its_change_and_reads_back() {
        let payment = payment();
        let attributes = stored::encode(payment.attributes());
        let item = PaymentItem::version(&payment, Change::Created, &attributes).into_item();

        assert_eq!(text(&item, "sk"), keys::version_sk(payment.version()));
        assert_eq!(text(&item, "change"), "created");
        assert!(!item.contains_key("gsi1pk") && !item.contains_key("gsi1sk"));
        let entry = ReadItem::read(item).unwrap().into_history_entry().unwrap();
        assert_eq!(entry.change, Change::Created);
        assert_eq!(entry.payment, payment.stored());
    }

    #[test]
    fn an_item_this_code_did_not_write_is_an_internal_error_naming_the_attribute() {
        let payment = payment();
        let attributes = stored::encode(payment.attributes());
        let item =
            || PaymentItem::current(&payment, &attributes, &ListShards::default()).into_item();
        let failure = |item: Item| match ReadItem::read(item) {
            Err(RepositoryError::Internal(cause)) => cause.to_string(),
            Err(other) => panic!("not internal: {other:?}"),
            Ok(_) => panic!("read an item it should not"),
        };

        let mut missing = item();
        missing.remove("id");
        assert_eq!(failure(missing), "item attribute id: missing");

        let with = |name: &str, value: AttributeValue| {
            let mut item = item();
            item.insert(name.into(), value);
            failure(item)
        };
        assert!(
            with("organisation_id", AttributeValue::S("acme".into()))
                .starts_with("item attribute organisation_id: must be a UUID")
        );
        assert_eq!(
            with("version", AttributeValue::S("1".into())),
            "item attribute version: not a number"
        );
        assert_eq!(
            with("version", AttributeValue::N("0".into())),
            "item attribute version: not a version number"
        );
        assert!(
            with("updated_at", AttributeValue::S("yesterday".into()))
                .starts_with("item attribute updated_at: ")
        );
        assert_eq!(
            with("change", AttributeValue::S("renamed".into())),
            "item attribute change: not a change"
        );
        assert_eq!(
            with("attributes", AttributeValue::S("{}".into())),
            "item attribute attributes: not a binary attribute"
        );
        assert!(
            with("attributes", AttributeValue::B(Blob::new(vec![9, 1, 2])))
                .starts_with("item attribute attributes: unknown stored attributes format")
        );
    }
}
