//! The list index spread over shards (`LIST_SHARDS`, repository/shards.rs), against DynamoDB
//! Local: a list is still each of the organisation's payments exactly once, newest first,
//! whatever the shards, the page size, payments created meanwhile, or a change of the count.
//! (The whole repository contract also runs sharded: `tests/contract.rs`.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;

use payments_core::domain::{OrganisationId, PageSize, Payment, PaymentId, Timestamp};
use payments_core::error::PaymentError;
use payments_core::repository::{
    Cursor, Deletion, DynamoDbRepository, Inserted, ListShards, Page, PaymentRepository,
    RepositoryError,
};
use payments_core::service::Payments;
use payments_core::testing::{TestTable, example_attributes, organisation};

/// 2100-01-01, plus `millis`.
fn at(millis: i64) -> Timestamp {
    let start: Timestamp = "2100-01-01T00:00:00.000Z".parse().unwrap();
    start.plus(time::Duration::milliseconds(millis))
}

fn shards(text: &str) -> ListShards {
    ListShards::parse(text).unwrap()
}

/// Inserts `payment`. DynamoDB Local, on two cores beside the other suites, sometimes answers
/// after the client has given up: then the payment is looked for, and inserted again only if
/// that attempt did not land.
async fn insert(repository: &DynamoDbRepository, payment: &Payment) {
    for _ in 0..5 {
        match repository.insert(payment, None).await {
            Ok(inserted) => return assert_eq!(inserted, Inserted::Created),
            Err(RepositoryError::Unavailable(_)) => {
                if let Ok(Some(_)) = repository.get(payment.id()).await {
                    return;
                }
            }
            Err(error) => panic!("insert: {error:?}"),
        }
    }
    panic!("DynamoDB Local did not take a payment in five attempts");
}

/// `count` payments of `organisation`, `per_millisecond` created in each millisecond from
/// `at(start)`, inserted four at a time.
async fn insert_many(
    repository: &DynamoDbRepository,
    organisation: OrganisationId,
    start: i64,
    count: i64,
    per_millisecond: i64,
) -> Vec<Payment> {
    let payments: Vec<Payment> = (0..count)
        .map(|n| {
            Payment::new(
                organisation,
                example_attributes(),
                at(start + n / per_millisecond),
            )
        })
        .collect();
    for chunk in payments.chunks(4) {
        let mut tasks = tokio::task::JoinSet::new();
        for payment in chunk {
            let (repository, payment) = (repository.clone(), payment.clone());
            tasks.spawn(async move { insert(&repository, &payment).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    }
    payments
}

/// Positions in the list order: newest first, the id breaking ties.
fn newest_first<'a>(
    payments: impl IntoIterator<Item = &'a Payment>,
) -> Vec<(Timestamp, PaymentId)> {
    let mut positions: Vec<_> = payments
        .into_iter()
        .map(|payment| (payment.created_at(), payment.id()))
        .collect();
    positions.sort_by(|a, b| b.cmp(a));
    positions
}

/// One page; read again if DynamoDB Local answers too late (as [`insert`] does).
async fn list(
    repository: &DynamoDbRepository,
    organisation: OrganisationId,
    limit: usize,
    after: Option<&Cursor>,
) -> Page {
    for _ in 0..5 {
        match repository.list(organisation, limit, after).await {
            Ok(page) => return page,
            Err(RepositoryError::Unavailable(_)) => continue,
            Err(error) => panic!("list: {error:?}"),
        }
    }
    panic!("DynamoDB Local did not answer a list in five attempts");
}

/// Every page of `organisation`'s list, `limit` at a time, checking that every page but the
/// last is full and only the last has no cursor.
async fn list_all(
    repository: &DynamoDbRepository,
    organisation: OrganisationId,
    limit: usize,
) -> Vec<(Timestamp, PaymentId)> {
    let mut listed = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = list(repository, organisation, limit, after.as_ref()).await;
        assert!(
            page.payments
                .iter()
                .all(|payment| payment.organisation_id() == organisation)
        );
        listed.extend(page.payments.iter().map(|p| (p.created_at(), p.id())));
        match page.next {
            Some(next) => {
                assert_eq!(page.payments.len(), limit, "only the last page is short");
                after = Some(next);
            }
            None => return listed,
        }
    }
}

/// The GSI1 partition of every current payment of `organisation`, by payment id.
async fn index_partitions(
    table: &TestTable,
    organisation: OrganisationId,
) -> BTreeMap<String, String> {
    let text = |item: &HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|value| value.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    table
        .items()
        .await
        .iter()
        .filter(|item| {
            text(item, "sk") == "CURRENT"
                && text(item, "organisation_id") == organisation.to_string()
        })
        .map(|item| (text(item, "id"), text(item, "gsi1pk")))
        .collect()
}

#[tokio::test]
async fn five_hundred_payments_list_once_each_newest_first_from_eight_shards() {
    let table = TestTable::create().await;
    let (org, other) = (organisation(), organisation());
    let repository = table
        .repository()
        .with_list_shards(shards(&format!("{org}=8 {other}=8")));
    // Five to a millisecond: the id orders the payments created together, across shards.
    let created = insert_many(&repository, org, 0, 500, 5).await;
    insert_many(&repository, other, 0, 40, 5).await;
    let expected = newest_first(&created);

    for limit in [7, 100] {
        assert_eq!(
            list_all(&repository, org, limit).await,
            expected,
            "limit {limit}"
        );
    }

    let mut per_partition: BTreeMap<String, usize> = BTreeMap::new();
    for partition in index_partitions(&table, org).await.into_values() {
        *per_partition.entry(partition).or_default() += 1;
    }
    let expected_partitions: BTreeSet<String> = std::iter::once(format!("ORG#{org}"))
        .chain((1..8).map(|n| format!("ORG#{org}#{n}")))
        .collect();
    assert_eq!(
        per_partition.keys().cloned().collect::<BTreeSet<_>>(),
        expected_partitions
    );
    // 62.5 each expected; the binomial spread is about 7.4.
    assert!(
        per_partition.values().all(|n| (30..=100).contains(n)),
        "{per_partition:?}"
    );
    table.delete().await;
}

#[tokio::test]
async fn an_organisation_with_payments_in_only_some_shards_lists_them_all() {
    let table = TestTable::create().await;
    let org = organisation();
    let repository = table
        .repository()
        .with_list_shards(shards(&format!("{org}=32")));

    let empty = repository.list(org, 20, None).await.unwrap();
    assert!(empty.payments.is_empty());
    assert_eq!(empty.next, None);

    let created = insert_many(&repository, org, 0, 3, 1).await;
    let used: BTreeSet<String> = index_partitions(&table, org).await.into_values().collect();
    assert!(used.len() <= 3);

    assert_eq!(list_all(&repository, org, 2).await, newest_first(&created));
    let one_page = repository.list(org, 3, None).await.unwrap();
    assert_eq!(one_page.payments.len(), 3);
    assert_eq!(one_page.next, None, "a last full page has no cursor");
}

#[tokio::test]
async fn a_cursor_of_another_organisation_or_tampered_with_is_refused() {
    let table = TestTable::create().await;
    let (org, other) = (organisation(), organisation());
    let repository = table
        .repository()
        .with_list_shards(shards(&format!("{org}=8 {other}=8")));
    insert_many(&repository, org, 0, 5, 1).await;
    insert_many(&repository, other, 0, 5, 1).await;
    let payments = Payments::new(repository);
    let size: PageSize = "2".parse().unwrap();
    let cursor = payments
        .list(org, size, None)
        .await
        .unwrap()
        .next_cursor
        .unwrap();

    assert!(matches!(
        payments.list(other, size, Some(&cursor)).await,
        Err(PaymentError::InvalidCursor)
    ));
    let mut tampered = cursor.clone();
    tampered.replace_range(10..11, if &cursor[10..11] == "A" { "B" } else { "A" });
    assert!(matches!(
        payments.list(org, size, Some(&tampered)).await,
        Err(PaymentError::InvalidCursor)
    ));
    let second = payments.list(org, size, Some(&cursor)).await.unwrap();
    assert_eq!(second.payments.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_list_read_while_32_writers_create_payments_skips_and_repeats_none() {
    let table = TestTable::create().await;
    let org = organisation();
    let repository = table
        .repository()
        .with_list_shards(shards(&format!("{org}=8")));
    let before = insert_many(&repository, org, 0, 200, 2).await;

    // 32 writers, each creating payments newer than all before, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(Mutex::new(Vec::new()));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..32 {
        let (repository, stop, written) = (repository.clone(), stop.clone(), written.clone());
        writers.spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let payment = Payment::new(org, example_attributes(), at(10_000 + n * 32 + writer));
                n += 1;
                // DynamoDB Local on two cores times some out; those were not created.
                match repository.insert(&payment, None).await {
                    Ok(Inserted::Created) => written.lock().unwrap().push(payment),
                    other => eprintln!("writer {writer}: {other:?}"),
                }
                // About 80 creates a second in all: DynamoDB Local runs one transaction at a
                // time (docs/benchmarks.md), and the list must get a word in.
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            }
        });
    }
    while written.lock().unwrap().len() < 64 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let written_before_first_page: Vec<Payment> = written.lock().unwrap().clone();

    let listed = list_all(&repository, org, 7).await;
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let total_written = written.lock().unwrap().len();

    let unique: BTreeSet<_> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "no payment listed twice");
    let mut sorted = listed.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(listed, sorted, "newest first");
    for payment in before.iter().chain(&written_before_first_page) {
        assert!(
            unique.contains(&(payment.created_at(), payment.id())),
            "{} was created before the first page and is missing",
            payment.id()
        );
    }
    assert!(
        total_written > written_before_first_page.len(),
        "the writers went on while the list was read"
    );
    table.delete().await;
}

#[tokio::test]
async fn payments_from_before_and_after_a_change_of_count_list_as_one() {
    let table = TestTable::create().await;
    let org = organisation();
    // Two shards; then a period of eight from at(100) is added, before it begins.
    let two = table
        .repository()
        .with_list_shards(shards(&format!("{org}=2")));
    let older = insert_many(&two, org, 0, 100, 1).await;
    let grown = table
        .repository()
        .with_list_shards(shards(&format!("{org}=2 {org}=8@{}", at(100))));
    let newer = insert_many(&grown, org, 100, 100, 1).await;

    let expected = newest_first(older.iter().chain(&newer));
    assert_eq!(list_all(&grown, org, 7).await, expected);
    assert_eq!(list_all(&grown, org, 100).await, expected);

    let partitions = index_partitions(&table, org).await;
    let shards_of = |payments: &[Payment]| -> BTreeSet<String> {
        payments
            .iter()
            .map(|payment| partitions[&payment.id().to_string()].clone())
            .collect()
    };
    assert_eq!(
        shards_of(&older),
        BTreeSet::from([format!("ORG#{org}"), format!("ORG#{org}#1")])
    );
    assert_eq!(shards_of(&newer).len(), 8);

    // An update and a delete after the change rewrite the entry where it is; nothing moves.
    let updated = older[10].revise(example_attributes(), at(500));
    grown.replace(&updated).await.unwrap();
    let deleted = older[20].stored();
    grown
        .remove(&Deletion::of(&deleted, at(500)))
        .await
        .unwrap();
    let after = index_partitions(&table, org).await;
    assert_eq!(
        after[&updated.id().to_string()],
        partitions[&updated.id().to_string()]
    );
    assert!(!after.contains_key(&deleted.id().to_string()));
    let expected = newest_first(
        older
            .iter()
            .chain(&newer)
            .filter(|payment| payment.id() != deleted.id()),
    );
    assert_eq!(list_all(&grown, org, 7).await, expected);
    table.delete().await;
}

#[tokio::test]
async fn an_organisation_not_sharded_keeps_its_single_partition() {
    let table = TestTable::create().await;
    let (org, hot) = (organisation(), organisation());
    let repository = table
        .repository()
        .with_list_shards(shards(&format!("{hot}=16")));
    let created = insert_many(&repository, org, 0, 30, 1).await;

    let partitions: BTreeSet<String> = index_partitions(&table, org).await.into_values().collect();
    assert_eq!(partitions, BTreeSet::from([format!("ORG#{org}")]));
    assert_eq!(list_all(&repository, org, 7).await, newest_first(&created));
}
