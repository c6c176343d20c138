//! The contract of [`PaymentRepository`], one suite held by both implementations: every test
//! below runs on [`InMemoryRepository`] (`in_memory::`, milliseconds, no Java) and on
//! [`DynamoDbRepository`] against DynamoDB Local (`dynamodb_local::`, `DYNAMODB_ENDPOINT`, one
//! table per test, as `make test` runs it), once as every organisation is by default (one shard
//! of the list index) and once with every organisation's index spread over eight shards
//! (`dynamodb_local_sharded::`).
//!
//! `cargo test -p payments-core --test contract in_memory` runs the in-memory half alone.
//!
//! The times are fixed and far in the future, so that a table's TTL could never remove an
//! idempotency record while a test looks at it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use payments_core::domain::{
    OrganisationId, Payment, PaymentId, StoredPayment, Timestamp, Version,
};
use payments_core::repository::{
    Change, Cursor, Deletion, DynamoDbRepository, HistoryEntry, IdempotencyRecord,
    InMemoryRepository, Inserted, ListShards, PaymentRepository, RepositoryError,
};
use payments_core::testing::{TestTable, attributes_with, example_attributes, organisation};

/// Storage to run the contract on, and what it holds.
trait Store: Sized {
    type Repository: PaymentRepository;

    async fn new() -> Self;

    /// The same store with every organisation's list index on eight shards.
    async fn sharded() -> Self {
        Self::new().await
    }

    fn repository(&self) -> &Self::Repository;

    /// Every item by its `pk` and `sk`, with what it holds.
    async fn items(&self) -> BTreeMap<(String, String), String>;

    /// How many items have a `pk` starting with `pk_prefix` and an `sk` with `sk_prefix`.
    async fn count(&self, pk_prefix: &str, sk_prefix: &str) -> usize {
        self.items()
            .await
            .keys()
            .filter(|(pk, sk)| pk.starts_with(pk_prefix) && sk.starts_with(sk_prefix))
            .count()
    }
}

struct InMemory(InMemoryRepository);

impl Store for InMemory {
    type Repository = InMemoryRepository;

    async fn new() -> Self {
        Self(InMemoryRepository::new())
    }

    fn repository(&self) -> &InMemoryRepository {
        &self.0
    }

    async fn items(&self) -> BTreeMap<(String, String), String> {
        self.0.items()
    }
}

struct DynamoDbLocal {
    table: TestTable,
    repository: DynamoDbRepository,
}

impl Store for DynamoDbLocal {
    type Repository = DynamoDbRepository;

    async fn new() -> Self {
        let table = TestTable::create().await;
        let repository = table.repository();
        Self { table, repository }
    }

    async fn sharded() -> Self {
        let mut store = Self::new().await;
        store.repository = store
            .repository
            .with_list_shards(ListShards::parse("*=8").unwrap());
        store
    }

    fn repository(&self) -> &DynamoDbRepository {
        &self.repository
    }

    async fn items(&self) -> BTreeMap<(String, String), String> {
        let text = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|value| value.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        self.table
            .items()
            .await
            .into_iter()
            .map(|item| {
                let key = (text(&item, "pk"), text(&item, "sk"));
                let sorted: BTreeMap<_, _> = item.into_iter().collect();
                (key, format!("{sorted:?}"))
            })
            .collect()
    }
}

/// A store made with [`Store::sharded`].
struct Sharded<S>(S);

impl<S: Store> Store for Sharded<S> {
    type Repository = S::Repository;

    async fn new() -> Self {
        Self(S::sharded().await)
    }

    fn repository(&self) -> &S::Repository {
        self.0.repository()
    }

    async fn items(&self) -> BTreeMap<(String, String), String> {
        self.0.items().await
    }
}

/// Every test below, on both stores.
macro_rules! contract {
    ($($test:ident),+ $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test::<super::InMemory>().await
                }
            )+
        }

        mod dynamodb_local {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test::<super::DynamoDbLocal>().await
                }
            )+
        }

        mod dynamodb_local_sharded {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test::<super::Sharded<super::DynamoDbLocal>>().await
                }
            )+
        }
    };
}

contract!(
    an_inserted_payment_reads_back_as_it_was_written,
    amounts_and_text_come_back_exactly_as_written,
    an_insert_under_an_id_that_exists_writes_nothing,
    a_key_held_by_a_record_that_has_not_expired_writes_nothing,
    a_key_whose_record_has_expired_is_free_again,
    a_key_belongs_to_one_organisation,
    a_replace_needs_the_version_before_of_the_same_payment_and_no_later_update,
    a_replace_of_a_payment_that_does_not_exist_writes_nothing,
    of_two_replaces_of_one_version_exactly_one_is_written,
    a_remove_deletes_the_current_version_and_keeps_every_version,
    a_remove_at_another_version_writes_nothing,
    a_remove_of_another_organisation_or_before_the_last_update_writes_nothing,
    a_list_is_one_organisation_newest_first_a_page_at_a_time,
    a_last_full_page_has_no_next_cursor,
    a_cursor_continues_after_a_payment_deleted_since,
);

/// 2100-01-01, plus `millis`.
fn at(millis: i64) -> Timestamp {
    let start: Timestamp = "2100-01-01T00:00:00.000Z".parse().unwrap();
    start.plus(time::Duration::milliseconds(millis))
}

fn hours(n: i64) -> i64 {
    n * 3_600_000
}

fn record(payment: &Payment, key_digest: &str, request_digest: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        organisation_id: payment.organisation_id(),
        key_digest: key_digest.to_owned(),
        request_digest: request_digest.to_owned(),
        payment_id: payment.id(),
        expires_at: payment.created_at().plus(time::Duration::hours(24)),
    }
}

fn changes(history: &[HistoryEntry]) -> Vec<(Change, u64)> {
    history
        .iter()
        .map(|entry| (entry.change, entry.payment.version().get()))
        .collect()
}

async fn inserted<S: Store>(store: &S, payment: &Payment) {
    let inserted = store.repository().insert(payment, None).await.unwrap();
    assert_eq!(inserted, Inserted::Created);
}

async fn an_inserted_payment_reads_back_as_it_was_written<S: Store>() {
    let store = S::new().await;
    let payment = Payment::new(organisation(), example_attributes(), at(0));

    inserted(&store, &payment).await;

    let read = store.repository().get(payment.id()).await.unwrap();
    assert_eq!(read, Some(payment.stored()));
    assert_eq!(read.unwrap().parse().unwrap(), payment);
    let history = store.repository().history(payment.id()).await.unwrap();
    assert_eq!(changes(&history), [(Change::Created, 1)]);
    assert_eq!(history[0].payment, payment.stored());
    let first = store
        .repository()
        .get_version(payment.id(), Version::FIRST)
        .await
        .unwrap();
    assert_eq!(first, Some(history[0].clone()));
    assert_eq!(store.count("PAYMENT#", "CURRENT").await, 1);
    assert_eq!(store.count("PAYMENT#", "VERSION#").await, 1);
    assert_eq!(store.items().await.len(), 2, "and nothing else");
}

async fn amounts_and_text_come_back_exactly_as_written<S: Store>() {
    let store = S::new().await;
    let org = organisation();
    for (amount, currency) in [
        ("0.01", "GBP"),
        ("12345678901234.56", "GBP"),
        ("1000", "JPY"),
        ("1.250", "BHD"),
    ] {
        let payment = Payment::new(org, attributes_with(amount, currency), at(0));
        inserted(&store, &payment).await;

        let read = store.repository().get(payment.id()).await.unwrap().unwrap();

        let json: serde_json::Value = serde_json::from_str(read.attributes().json()).unwrap();
        assert_eq!(json["amount"], amount);
        assert_eq!(json["currency"], currency);
        assert_eq!(
            read.attributes().json(),
            serde_json::to_string(payment.attributes()).unwrap()
        );
    }
}

async fn an_insert_under_an_id_that_exists_writes_nothing<S: Store>() {
    let store = S::new().await;
    let payment = Payment::new(organisation(), example_attributes(), at(0));
    inserted(&store, &payment).await;
    let before = store.items().await;
    let again = Payment::create(
        payment.id(),
        payment.organisation_id(),
        attributes_with("1.00", "GBP"),
        at(1),
    );

    let result = store.repository().insert(&again, None).await;

    assert!(
        matches!(result, Err(RepositoryError::Internal(_))),
        "{result:?}"
    );
    assert_eq!(store.items().await, before);
}

async fn a_key_held_by_a_record_that_has_not_expired_writes_nothing<S: Store>() {
    let store = S::new().await;
    let first = Payment::new(organisation(), example_attributes(), at(0));
    let held = record(&first, "digest-of-the-key", "digest-of-the-first-body");
    store
        .repository()
        .insert(&first, Some(&held))
        .await
        .unwrap();
    let before = store.items().await;
    // The record expires 24 hours after the first create, kept to the second.
    for later in [hours(1), hours(24)] {
        let second = Payment::new(first.organisation_id(), example_attributes(), at(later));
        let ours = record(&second, "digest-of-the-key", "digest-of-another-body");

        let result = store
            .repository()
            .insert(&second, Some(&ours))
            .await
            .unwrap();

        let Inserted::KeyTaken(found) = result else {
            panic!("{later} ms later: {result:?}");
        };
        assert_eq!(found.payment_id, first.id());
        assert_eq!(found.request_digest, "digest-of-the-first-body");
        assert_eq!(
            found.expires_at.unix_seconds(),
            held.expires_at.unix_seconds()
        );
        assert_eq!(store.items().await, before, "{later} ms later");
    }
}

async fn a_key_whose_record_has_expired_is_free_again<S: Store>() {
    let store = S::new().await;
    let first = Payment::new(organisation(), example_attributes(), at(0));
    let held = record(&first, "digest-of-the-key", "digest-of-the-first-body");
    store
        .repository()
        .insert(&first, Some(&held))
        .await
        .unwrap();
    let second = Payment::new(
        first.organisation_id(),
        example_attributes(),
        at(hours(24) + 1000),
    );
    let ours = record(&second, "digest-of-the-key", "digest-of-another-body");

    let result = store
        .repository()
        .insert(&second, Some(&ours))
        .await
        .unwrap();

    assert_eq!(result, Inserted::Created);
    assert!(store.repository().get(first.id()).await.unwrap().is_some());
    assert!(store.repository().get(second.id()).await.unwrap().is_some());
    assert_eq!(store.count("IDEMPOTENCY#", "IDEMPOTENCY").await, 1);
    let third = Payment::new(first.organisation_id(), example_attributes(), at(hours(25)));
    let taken = store
        .repository()
        .insert(&third, Some(&record(&third, "digest-of-the-key", "x")))
        .await
        .unwrap();
    let Inserted::KeyTaken(found) = taken else {
        panic!("the key now holds the second payment: {taken:?}");
    };
    assert_eq!(found.payment_id, second.id());
    assert_eq!(found.request_digest, "digest-of-another-body");
}

async fn a_key_belongs_to_one_organisation<S: Store>() {
    let store = S::new().await;
    for _ in 0..2 {
        let payment = Payment::new(organisation(), example_attributes(), at(0));
        let ours = record(&payment, "digest-of-a-shared-key", "digest-of-the-body");

        let result = store
            .repository()
            .insert(&payment, Some(&ours))
            .await
            .unwrap();

        assert_eq!(result, Inserted::Created);
    }
    assert_eq!(store.count("IDEMPOTENCY#", "IDEMPOTENCY").await, 2);
}

async fn a_replace_needs_the_version_before_of_the_same_payment_and_no_later_update<S: Store>() {
    let store = S::new().await;
    let created_at = at(0);
    let payment = Payment::new(organisation(), example_attributes(), created_at);
    inserted(&store, &payment).await;
    let updated_at = at(hours(1));
    let next = payment.revise(attributes_with("2.00", "GBP"), updated_at);
    let before = store.items().await;

    let wrong = [
        (
            "a version that skips one",
            next.revise(attributes_with("2.00", "GBP"), updated_at),
        ),
        (
            "another organisation",
            Payment::create(
                payment.id(),
                organisation(),
                example_attributes(),
                created_at,
            )
            .revise(attributes_with("2.00", "GBP"), updated_at),
        ),
        (
            "another creation time",
            Payment::create(
                payment.id(),
                payment.organisation_id(),
                example_attributes(),
                at(-1),
            )
            .revise(attributes_with("2.00", "GBP"), updated_at),
        ),
    ];
    for (what, next) in &wrong {
        let result = store.repository().replace(next).await;
        assert!(
            matches!(result, Err(RepositoryError::ConditionFailed)),
            "{what}: {result:?}"
        );
        assert_eq!(store.items().await, before, "{what}");
    }

    store.repository().replace(&next).await.unwrap();
    let read = store.repository().get(payment.id()).await.unwrap().unwrap();
    assert_eq!(read, next.stored());

    // An update stamped before the last one (a host whose clock runs behind) is refused.
    let behind = Payment::revision(
        payment.id(),
        payment.organisation_id(),
        next.version(),
        attributes_with("3.00", "GBP"),
        at(hours(1) - 1),
    )
    .unwrap();
    let result = store.repository().replace(&behind).await;
    assert!(
        matches!(result, Err(RepositoryError::ConditionFailed)),
        "{result:?}"
    );
    let again = store.repository().replace(&next).await;
    assert!(
        matches!(again, Err(RepositoryError::ConditionFailed)),
        "the same version twice: {again:?}"
    );
    let history = store.repository().history(payment.id()).await.unwrap();
    assert_eq!(
        changes(&history),
        [(Change::Created, 1), (Change::Updated, 2)]
    );
}

async fn a_replace_of_a_payment_that_does_not_exist_writes_nothing<S: Store>() {
    let store = S::new().await;
    let never = Payment::new(organisation(), example_attributes(), at(0));

    let result = store
        .repository()
        .replace(&never.revise(example_attributes(), at(1)))
        .await;

    assert!(
        matches!(result, Err(RepositoryError::ConditionFailed)),
        "{result:?}"
    );
    assert!(store.items().await.is_empty());
}

async fn of_two_replaces_of_one_version_exactly_one_is_written<S: Store>() {
    let store = S::new().await;
    let payment = Payment::new(organisation(), example_attributes(), at(0));
    inserted(&store, &payment).await;
    let a = payment.revise(attributes_with("1.00", "GBP"), at(1));
    let b = payment.revise(attributes_with("2.00", "GBP"), at(1));

    let (first, second) = tokio::join!(
        store.repository().replace(&a),
        store.repository().replace(&b)
    );

    let written = match (&first, &second) {
        (Ok(()), Err(RepositoryError::ConditionFailed)) => &a,
        (Err(RepositoryError::ConditionFailed), Ok(())) => &b,
        other => panic!("exactly one wins: {other:?}"),
    };
    let read = store.repository().get(payment.id()).await.unwrap().unwrap();
    assert_eq!(&read, &written.stored());
    assert_eq!(store.count("PAYMENT#", "VERSION#").await, 2);
}

async fn a_remove_deletes_the_current_version_and_keeps_every_version<S: Store>() {
    let store = S::new().await;
    let payment = Payment::new(organisation(), example_attributes(), at(0));
    inserted(&store, &payment).await;
    let next = payment.revise(attributes_with("2.00", "GBP"), at(1));
    store.repository().replace(&next).await.unwrap();
    let current = store.repository().get(payment.id()).await.unwrap().unwrap();
    let tombstone = current.deleted(at(2));
    let deletion = Deletion::of(&current, at(2));

    store.repository().remove(&deletion).await.unwrap();

    assert_eq!(store.repository().get(payment.id()).await.unwrap(), None);
    let history = store.repository().history(payment.id()).await.unwrap();
    assert_eq!(
        changes(&history),
        [
            (Change::Created, 1),
            (Change::Updated, 2),
            (Change::Deleted, 3)
        ]
    );
    assert_eq!(history[2].payment, tombstone);
    assert_eq!(
        history[2].payment.attributes(),
        current.attributes(),
        "the deleted version keeps what was deleted"
    );
    assert_eq!(
        store
            .repository()
            .get_version(payment.id(), tombstone.version())
            .await
            .unwrap(),
        Some(history[2].clone()),
        "one version read alone is the same as in the whole history"
    );
    let page = store
        .repository()
        .list(payment.organisation_id(), 10, None)
        .await
        .unwrap();
    assert!(page.payments.is_empty());
    let again = store.repository().remove(&deletion).await;
    assert!(
        matches!(again, Err(RepositoryError::ConditionFailed)),
        "{again:?}"
    );
    assert_eq!(store.count("PAYMENT#", "CURRENT").await, 0);
}

async fn a_remove_at_another_version_writes_nothing<S: Store>() {
    let store = S::new().await;
    let payment = Payment::new(organisation(), example_attributes(), at(0));
    inserted(&store, &payment).await;
    let stale = store.repository().get(payment.id()).await.unwrap().unwrap();
    store
        .repository()
        .replace(&payment.revise(attributes_with("2.00", "GBP"), at(1)))
        .await
        .unwrap();
    let before = store.items().await;

    let result = store
        .repository()
        .remove(&Deletion::of(&stale, at(2)))
        .await;

    assert!(
        matches!(result, Err(RepositoryError::ConditionFailed)),
        "{result:?}"
    );
    assert_eq!(store.items().await, before);
}

async fn a_remove_of_another_organisation_or_before_the_last_update_writes_nothing<S: Store>() {
    let store = S::new().await;
    let payment = Payment::new(organisation(), example_attributes(), at(0));
    inserted(&store, &payment).await;
    let updated = payment.revise(attributes_with("2.00", "GBP"), at(5));
    store.repository().replace(&updated).await.unwrap();
    let current = updated.stored();
    let before = store.items().await;

    let intruder = Deletion {
        organisation_id: organisation(),
        ..Deletion::of(&current, at(6))
    };
    let behind = Deletion {
        at: at(4),
        ..Deletion::of(&current, at(6))
    };
    for deletion in [intruder, behind] {
        let result = store.repository().remove(&deletion).await;
        assert!(
            matches!(result, Err(RepositoryError::ConditionFailed)),
            "{deletion:?}: {result:?}"
        );
    }
    assert_eq!(store.items().await, before);
    assert_eq!(
        Deletion::of(&current, at(4)).at,
        at(5),
        "a clock behind the last update deletes at the last update"
    );
}

/// Every page of `organisation`'s list, `limit` at a time.
async fn pages<S: Store>(
    store: &S,
    organisation: OrganisationId,
    limit: usize,
) -> Vec<Vec<StoredPayment>> {
    let mut pages = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store
            .repository()
            .list(organisation, limit, after.as_ref())
            .await
            .unwrap();
        assert!(page.payments.len() <= limit);
        pages.push(page.payments);
        match page.next {
            Some(next) => after = Some(next),
            None => return pages,
        }
        assert!(pages.len() < 100, "the list ends");
    }
}

async fn a_list_is_one_organisation_newest_first_a_page_at_a_time<S: Store>() {
    let store = S::new().await;
    let (org, other) = (organisation(), organisation());
    let mut created = Vec::new();
    for i in 0..25 {
        // Three at each millisecond: the id orders payments created together.
        let payment = Payment::new(org, example_attributes(), at(i / 3));
        inserted(&store, &payment).await;
        created.push(payment);
        inserted(&store, &Payment::new(other, example_attributes(), at(i))).await;
    }

    let pages = pages(&store, org, 10).await;

    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let listed: Vec<(Timestamp, PaymentId)> = pages
        .iter()
        .flatten()
        .map(|payment| (payment.created_at(), payment.id()))
        .collect();
    let mut expected: Vec<(Timestamp, PaymentId)> = created
        .iter()
        .map(|payment| (payment.created_at(), payment.id()))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(listed, expected, "each once, newest first");
    assert!(pages.iter().flatten().all(|p| p.organisation_id() == org));
}

async fn a_last_full_page_has_no_next_cursor<S: Store>() {
    let store = S::new().await;
    let org = organisation();
    for i in 0..3 {
        inserted(&store, &Payment::new(org, example_attributes(), at(i))).await;
    }

    let page = store.repository().list(org, 3, None).await.unwrap();

    assert_eq!(page.payments.len(), 3);
    assert_eq!(page.next, None);
}

async fn a_cursor_continues_after_a_payment_deleted_since<S: Store>() {
    let store = S::new().await;
    let org = organisation();
    let mut created = Vec::new();
    for i in 0..4 {
        let payment = Payment::new(org, example_attributes(), at(i));
        inserted(&store, &payment).await;
        created.push(payment);
    }
    let first = store.repository().list(org, 2, None).await.unwrap();
    let last_listed = first.payments.last().unwrap().clone();
    store
        .repository()
        .remove(&Deletion::of(&last_listed, at(10)))
        .await
        .unwrap();

    let second = store
        .repository()
        .list(org, 2, first.next.as_ref())
        .await
        .unwrap();

    let ids: BTreeSet<PaymentId> = second.payments.iter().map(|p| p.id()).collect();
    let oldest: BTreeSet<PaymentId> = created[..2].iter().map(|p| p.id()).collect();
    assert_eq!(ids, oldest);
    assert_eq!(second.next, None);
}
