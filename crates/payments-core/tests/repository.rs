//! The payment operations against a real DynamoDB Local: conditional writes, transactions,
//! idempotency, pagination, history and tenancy. Each test has its own table.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::AttributeValue;
use payments_core::PaymentError;
use payments_core::domain::{
    ExpectedVersion, IdempotencyKey, PageSize, Payment, PaymentId, Timestamp, Version,
};
use payments_core::repository::{Change, PaymentRepository};
use payments_core::service::{Created, Payments};
use payments_core::testing::{
    Instrumented, TestTable, attributes_with, example_attributes, organisation, stored_attributes,
};

/// The payment a create made, which was not an idempotent repeat.
trait NewPayment {
    fn into_new(self) -> Payment;
}

impl NewPayment for Created {
    fn into_new(self) -> Payment {
        match self {
            Created::New(payment) => payment,
            Created::Replayed(payment) => panic!("replayed {payment:?}"),
        }
    }
}

fn version(n: u64) -> ExpectedVersion {
    ExpectedVersion::Exactly(Version::new(n).unwrap())
}

#[tokio::test]
async fn a_created_payment_reads_back_unchanged() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();

    let created = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap();
    let read = payments.get(org, created.id()).await.unwrap();

    let created = created.into_new();
    assert_eq!(read, created.stored());
    assert_eq!(read.version().get(), 1);
    assert_eq!(read.created_at(), read.updated_at());
    assert_eq!(table.count("PAYMENT#", "CURRENT").await, 1);
    assert_eq!(table.count("PAYMENT#", "VERSION#").await, 1);
}

#[tokio::test]
async fn amounts_come_back_exactly_as_stored_and_are_stored_as_strings() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();

    for (amount, currency) in [
        ("0.01", "GBP"),
        ("12345678901234.56", "GBP"),
        ("1000", "JPY"),
        ("1.250", "BHD"),
    ] {
        let created = payments
            .create(org, attributes_with(amount, currency), None)
            .await
            .unwrap();
        let read = payments.get(org, created.id()).await.unwrap();
        let json = serde_json::to_value(&read).unwrap();
        assert_eq!(json["attributes"]["amount"], amount);
        assert_eq!(json["attributes"]["currency"], currency);
    }
    let items = table.items().await;
    assert_eq!(items.len(), 8, "4 payments and their first versions");
    let mut stored: Vec<String> = items
        .iter()
        .map(|item| {
            let amount = &stored_attributes(item)["amount"];
            amount
                .as_str()
                .expect("amounts are stored as strings")
                .to_owned()
        })
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        ["0.01", "0.01", "1.250", "1.250", "1000", "1000"]
            .into_iter()
            .chain(["12345678901234.56"; 2])
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_update_at_the_current_version_bumps_it_and_keeps_identity() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let created = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .into_new();

    let updated = payments
        .update(
            org,
            created.id(),
            version(1),
            attributes_with("99.99", "EUR"),
        )
        .await
        .unwrap();

    assert_eq!(updated.version().get(), 2);
    assert_eq!(updated.id(), created.id());
    assert_eq!(updated.created_at(), created.created_at());
    assert_eq!(updated.organisation_id(), org);
    let read = payments.get(org, created.id()).await.unwrap();
    assert_eq!(read, updated.stored());
    assert_eq!(
        read.parse().unwrap().attributes().money.to_string(),
        "99.99 EUR"
    );
}

#[tokio::test]
async fn an_update_naming_its_version_writes_without_reading_and_reads_only_to_explain_a_failure() {
    let table = TestTable::create().await;
    let payments = Payments::new(Instrumented::new(table.repository()));
    let reads = || payments.repository().reads();
    let org = organisation();
    let id = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();

    let updated = payments
        .update(org, id, version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();
    assert_eq!(reads(), 0, "one conditional write, no read");
    assert_eq!(updated.version().get(), 2);
    assert_eq!(payments.get(org, id).await.unwrap(), updated.stored());
    assert_eq!(reads(), 1);

    let stale = payments
        .update(org, id, version(1), attributes_with("3.00", "GBP"))
        .await;
    assert!(
        matches!(stale, Err(PaymentError::PreconditionFailed)),
        "{stale:?}"
    );
    let foreign = payments
        .update(
            organisation(),
            id,
            version(2),
            attributes_with("3.00", "GBP"),
        )
        .await;
    assert!(
        matches!(foreign, Err(PaymentError::NotFound)),
        "{foreign:?}"
    );
    assert_eq!(reads(), 3, "each failed condition is explained by one read");

    payments
        .update(
            org,
            id,
            ExpectedVersion::Any,
            attributes_with("4.00", "GBP"),
        )
        .await
        .unwrap();
    assert_eq!(reads(), 4, "If-Match: * reads the version it replaces");
    assert_eq!(table.count("PAYMENT#", "VERSION#").await, 3);
}

#[tokio::test]
async fn an_update_never_moves_updated_at_back_even_from_a_clock_behind() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    // Written by a host whose clock runs a minute ahead of this one.
    let ahead = Timestamp::now().plus(time::Duration::minutes(1));
    let created = Payment::new(org, example_attributes(), ahead);
    table.repository().insert(&created, None).await.unwrap();

    let updated = payments
        .update(
            org,
            created.id(),
            version(1),
            attributes_with("2.00", "GBP"),
        )
        .await
        .unwrap();

    assert_eq!(updated.version().get(), 2);
    assert_eq!(updated.updated_at(), ahead);
    assert_eq!(
        payments.get(org, created.id()).await.unwrap(),
        updated.stored()
    );
}

#[tokio::test]
async fn an_update_keeps_created_at_even_where_the_id_says_otherwise() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    // Imported, say: the id is a UUIDv7 of another moment than the payment's creation.
    let created_at: Timestamp = "2025-01-02T03:04:05.006Z".parse().unwrap();
    let created = Payment::create(
        PaymentId::generate(Timestamp::now()),
        org,
        example_attributes(),
        created_at,
    );
    table.repository().insert(&created, None).await.unwrap();

    let updated = payments
        .update(
            org,
            created.id(),
            version(1),
            attributes_with("2.00", "GBP"),
        )
        .await
        .unwrap();

    assert_eq!(updated.created_at(), created_at);
    assert_eq!(
        payments.get(org, created.id()).await.unwrap(),
        updated.stored()
    );
}

#[tokio::test]
async fn an_update_at_a_stale_version_fails_and_changes_nothing() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let id = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();
    payments
        .update(org, id, version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();
    let before = table.items().await;

    let stale = payments
        .update(org, id, version(1), attributes_with("3.00", "GBP"))
        .await;

    assert!(
        matches!(stale, Err(PaymentError::PreconditionFailed)),
        "{stale:?}"
    );
    let mut after = table.items().await;
    let mut before = before;
    let key =
        |item: &std::collections::HashMap<String, AttributeValue>| format!("{:?}", item.get("sk"));
    before.sort_by_key(key);
    after.sort_by_key(key);
    assert_eq!(before, after, "a failed update must write nothing");
    assert_eq!(payments.get(org, id).await.unwrap().version().get(), 2);
}

#[tokio::test]
async fn if_match_any_updates_whatever_the_version() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let id = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();

    let updated = payments
        .update(
            org,
            id,
            ExpectedVersion::Any,
            attributes_with("5.00", "GBP"),
        )
        .await
        .unwrap();

    assert_eq!(updated.version().get(), 2);
}

#[tokio::test]
async fn a_delete_removes_the_payment_and_history_keeps_every_version_in_order() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let id = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();
    payments
        .update(org, id, version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();

    payments.delete(org, id, version(2)).await.unwrap();

    assert!(matches!(
        payments.get(org, id).await,
        Err(PaymentError::NotFound)
    ));
    assert_eq!(table.count("PAYMENT#", "CURRENT").await, 0);
    let history = payments.history(org, id).await.unwrap();
    let changes: Vec<_> = history
        .iter()
        .map(|e| (e.change, e.payment.version().get()))
        .collect();
    assert_eq!(
        changes,
        [
            (Change::Created, 1),
            (Change::Updated, 2),
            (Change::Deleted, 3)
        ]
    );
    assert_eq!(
        history[2]
            .payment
            .parse()
            .unwrap()
            .attributes()
            .money
            .to_string(),
        "2.00 GBP"
    );
}

#[tokio::test]
async fn a_delete_at_a_stale_version_fails_and_the_payment_stays() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let id = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();
    payments
        .update(org, id, version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();

    let result = payments.delete(org, id, version(1)).await;

    assert!(matches!(result, Err(PaymentError::PreconditionFailed)));
    assert_eq!(payments.get(org, id).await.unwrap().version().get(), 2);
}

#[tokio::test]
async fn an_update_after_a_delete_does_not_resurrect_the_payment() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let id = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();
    payments
        .delete(org, id, ExpectedVersion::Any)
        .await
        .unwrap();

    let result = payments
        .update(org, id, ExpectedVersion::Any, example_attributes())
        .await;

    assert!(matches!(result, Err(PaymentError::NotFound)), "{result:?}");
    assert_eq!(table.count("PAYMENT#", "CURRENT").await, 0);
}

#[tokio::test]
async fn another_organisations_payment_is_not_found_and_untouched() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let (owner, intruder) = (organisation(), organisation());
    let id = payments
        .create(owner, example_attributes(), None)
        .await
        .unwrap()
        .id();

    assert!(matches!(
        payments.get(intruder, id).await,
        Err(PaymentError::NotFound)
    ));
    assert!(matches!(
        payments
            .update(intruder, id, ExpectedVersion::Any, example_attributes())
            .await,
        Err(PaymentError::NotFound)
    ));
    assert!(matches!(
        payments.delete(intruder, id, ExpectedVersion::Any).await,
        Err(PaymentError::NotFound)
    ));
    assert!(matches!(
        payments.history(intruder, id).await,
        Err(PaymentError::NotFound)
    ));
    assert_eq!(payments.get(owner, id).await.unwrap().version().get(), 1);
}

#[tokio::test]
async fn an_idempotent_repeat_returns_the_same_payment_and_writes_nothing() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let key: IdempotencyKey = "order-118".parse().unwrap();

    let first = payments
        .create(org, example_attributes(), Some(&key))
        .await
        .unwrap();
    let repeat = payments
        .create(org, example_attributes(), Some(&key))
        .await
        .unwrap();

    let (Created::New(first), Created::Replayed(repeat)) = (first, repeat) else {
        panic!("the first creates, the second replays");
    };
    assert_eq!(repeat, first.stored());
    assert_eq!(table.count("PAYMENT#", "CURRENT").await, 1);
    assert_eq!(table.count("PAYMENT#", "VERSION#").await, 1);
    assert_eq!(table.count("IDEMPOTENCY#", "IDEMPOTENCY").await, 1);
}

#[tokio::test]
async fn an_idempotency_key_reused_with_another_body_is_refused() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let key: IdempotencyKey = "order-118".parse().unwrap();
    payments
        .create(org, example_attributes(), Some(&key))
        .await
        .unwrap();

    let reused = payments
        .create(org, attributes_with("1.00", "GBP"), Some(&key))
        .await;

    assert!(
        matches!(reused, Err(PaymentError::IdempotencyMismatch)),
        "{reused:?}"
    );
    assert_eq!(table.count("PAYMENT#", "CURRENT").await, 1);
}

#[tokio::test]
async fn idempotency_keys_belong_to_one_organisation() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let key: IdempotencyKey = "shared-key".parse().unwrap();

    let a = payments
        .create(organisation(), example_attributes(), Some(&key))
        .await
        .unwrap();
    let b = payments
        .create(organisation(), example_attributes(), Some(&key))
        .await
        .unwrap();

    assert_ne!(a.id(), b.id());
    assert!(matches!(b, Created::New(_)));
}

#[tokio::test]
async fn the_idempotency_record_expires_after_24_hours() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    payments
        .create(org, example_attributes(), Some(&"ttl".parse().unwrap()))
        .await
        .unwrap();

    let items = table.items().await;
    let record = items
        .iter()
        .find(|item| item["pk"].as_s().unwrap().starts_with("IDEMPOTENCY#"))
        .unwrap();
    let expires_at: i64 = record["expires_at"].as_n().unwrap().parse().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (expires_at - now - 86_400).abs() < 60,
        "expires_at {expires_at}, now {now}"
    );
    assert!(
        !record["pk"].as_s().unwrap().contains("ttl"),
        "the key itself is stored only as a digest"
    );
}

#[tokio::test]
async fn listing_pages_through_45_payments_newest_first_each_exactly_once() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let (org, other) = (organisation(), organisation());
    let mut created = Vec::new();
    for _ in 0..45 {
        created.push(
            payments
                .create(org, example_attributes(), None)
                .await
                .unwrap()
                .into_new(),
        );
    }
    for _ in 0..5 {
        payments
            .create(other, example_attributes(), None)
            .await
            .unwrap();
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = payments
            .list(org, "10".parse::<PageSize>().unwrap(), cursor.as_deref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.payments.len() <= 10);
        seen.extend(page.payments);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 45);
    assert!(seen.iter().all(|p| p.organisation_id() == org));
    let ids: HashSet<_> = seen.iter().map(|p| p.id()).collect();
    assert_eq!(ids.len(), 45, "no payment twice");
    assert!(
        seen.windows(2)
            .all(|w| (w[0].created_at(), w[0].id()) > (w[1].created_at(), w[1].id())),
        "newest first"
    );
    let expected: HashSet<_> = created.iter().map(|p| p.id()).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_last_full_page_has_no_next_cursor() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    for _ in 0..3 {
        payments
            .create(org, example_attributes(), None)
            .await
            .unwrap();
    }

    let page = payments
        .list(org, "3".parse().unwrap(), None)
        .await
        .unwrap();

    assert_eq!(page.payments.len(), 3);
    assert_eq!(page.next_cursor, None);
}

#[tokio::test]
async fn another_organisations_cursor_is_refused() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let (org, other) = (organisation(), organisation());
    for _ in 0..2 {
        payments
            .create(other, example_attributes(), None)
            .await
            .unwrap();
    }
    let foreign = payments
        .list(other, "1".parse().unwrap(), None)
        .await
        .unwrap()
        .next_cursor
        .unwrap();

    let result = payments
        .list(org, "1".parse().unwrap(), Some(&foreign))
        .await;

    assert!(
        matches!(result, Err(PaymentError::InvalidCursor)),
        "{result:?}"
    );
    let garbage = payments
        .list(org, PageSize::default(), Some("not-a-cursor"))
        .await;
    assert!(matches!(garbage, Err(PaymentError::InvalidCursor)));
}

#[tokio::test]
async fn two_tasks_racing_to_update_one_version_exactly_one_wins() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let id = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
        .id();

    let (a, b) = tokio::join!(
        payments.update(org, id, version(1), attributes_with("1.00", "GBP")),
        payments.update(org, id, version(1), attributes_with("2.00", "GBP")),
    );

    let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{a:?} / {b:?}");
    let loser = if a.is_ok() { b } else { a };
    assert!(
        matches!(loser, Err(PaymentError::PreconditionFailed)),
        "{loser:?}"
    );
    assert_eq!(payments.get(org, id).await.unwrap().version().get(), 2);
    assert_eq!(payments.history(org, id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn readiness_reports_whether_the_table_answers() {
    let table = TestTable::create().await;
    assert!(table.payments().ready().await.is_ok());

    let missing = payments_core::service::Payments::new(
        payments_core::repository::DynamoDbRepository::new(table.client.clone(), "no-such-table"),
    );
    assert!(missing.ready().await.is_err());
}
