//! The rules of the payment operations, on the in-memory repository and a clock the tests set.

use super::*;
use crate::domain::{IdempotencyKey, PaymentAttributes};
use crate::repository::{Change, InMemoryRepository};
use crate::testing::{
    Instrumented, ManualClock, attributes_with, example_attributes, organisation,
};

/// The operations on an empty in-memory repository, at 2100-01-01 until the test moves the clock.
fn payments() -> (Payments<InMemoryRepository, ManualClock>, ManualClock) {
    let clock = ManualClock::new("2100-01-01T00:00:00.000Z".parse().unwrap());
    (
        Payments::with_clock(InMemoryRepository::new(), clock.clone()),
        clock,
    )
}

fn version(n: u64) -> ExpectedVersion {
    ExpectedVersion::Exactly(Version::new(n).unwrap())
}

fn key(text: &str) -> IdempotencyKey {
    text.parse().unwrap()
}

fn created(result: Result<Created, PaymentError>) -> StoredPayment {
    match result {
        Ok(Created::New(payment)) => payment,
        other => panic!("expected a new payment, got {other:?}"),
    }
}

fn replayed(result: Result<Created, PaymentError>) -> StoredPayment {
    match result {
        Ok(Created::Replayed(payment)) => payment,
        other => panic!("expected a replay, got {other:?}"),
    }
}

fn count(payments: &Payments<InMemoryRepository, ManualClock>, sk_prefix: &str) -> usize {
    payments
        .repository()
        .items()
        .keys()
        .filter(|(_, sk)| sk.starts_with(sk_prefix))
        .count()
}

#[tokio::test]
async fn a_new_payment_is_version_1_created_now_under_an_id_that_says_so() {
    let (payments, clock) = payments();
    let org = organisation();

    let payment = created(payments.create(org, example_attributes(), None).await);

    assert_eq!(payment.version(), Version::FIRST);
    assert_eq!(payment.organisation_id(), org);
    assert_eq!(payment.created_at(), clock.now());
    assert_eq!(payment.updated_at(), clock.now());
    assert_eq!(payment.id().created_at(), Some(clock.now()));
    assert_eq!(
        payments.get(org, payment.id()).await.unwrap(),
        payment.stored()
    );
}

#[tokio::test]
async fn an_idempotent_repeat_answers_the_first_version_and_writes_nothing() {
    let (payments, clock) = payments();
    let org = organisation();
    let first = created(
        payments
            .create(org, example_attributes(), Some(&key("k")))
            .await,
    );
    clock.advance(time::Duration::minutes(5));
    payments
        .update(org, first.id(), version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();
    let before = payments.repository().items();

    let repeat = replayed(
        payments
            .create(org, example_attributes(), Some(&key("k")))
            .await,
    );

    assert_eq!(
        repeat,
        first.stored(),
        "as it was created, not as it is now"
    );
    assert_eq!(payments.repository().items(), before);
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_refused_and_writes_nothing() {
    let (payments, _) = payments();
    let org = organisation();
    created(
        payments
            .create(org, example_attributes(), Some(&key("k")))
            .await,
    );
    let before = payments.repository().items();

    let reused = payments
        .create(org, attributes_with("1.00", "GBP"), Some(&key("k")))
        .await;

    assert!(
        matches!(reused, Err(PaymentError::IdempotencyMismatch)),
        "{reused:?}"
    );
    assert_eq!(payments.repository().items(), before);
}

#[tokio::test]
async fn a_repeat_that_sends_null_for_an_absent_member_is_the_same_request() {
    let (payments, _) = payments();
    let org = organisation();
    let mut absent = crate::testing::example_request();
    absent["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("reference");
    let mut null = absent.clone();
    null["attributes"]["reference"] = serde_json::Value::Null;
    let parse = |body| PaymentAttributes::parse_request(&body).unwrap();
    let first = created(payments.create(org, parse(absent), Some(&key("k"))).await);

    let repeat = replayed(payments.create(org, parse(null), Some(&key("k"))).await);

    assert_eq!(repeat.id(), first.id());
}

#[tokio::test]
async fn an_expired_idempotency_key_can_be_used_again() {
    let (payments, clock) = payments();
    let org = organisation();
    let first = created(
        payments
            .create(org, example_attributes(), Some(&key("k")))
            .await,
    );

    clock.advance(IDEMPOTENCY_WINDOW - time::Duration::seconds(1));
    let within = payments
        .create(org, attributes_with("1.00", "GBP"), Some(&key("k")))
        .await;
    assert!(
        matches!(within, Err(PaymentError::IdempotencyMismatch)),
        "a second before expiry the key still holds the first payment: {within:?}"
    );

    clock.advance(time::Duration::seconds(2));
    let second = created(
        payments
            .create(org, attributes_with("1.00", "GBP"), Some(&key("k")))
            .await,
    );

    assert_ne!(second.id(), first.id());
    let repeat = replayed(
        payments
            .create(org, attributes_with("1.00", "GBP"), Some(&key("k")))
            .await,
    );
    assert_eq!(
        repeat.id(),
        second.id(),
        "the key now holds the second payment"
    );
    assert_eq!(count(&payments, "CURRENT"), 2);
    assert_eq!(count(&payments, "IDEMPOTENCY"), 1);
}

#[tokio::test]
async fn keys_belong_to_one_organisation() {
    let (payments, _) = payments();

    let a = created(
        payments
            .create(organisation(), example_attributes(), Some(&key("k")))
            .await,
    );
    let b = created(
        payments
            .create(organisation(), example_attributes(), Some(&key("k")))
            .await,
    );

    assert_ne!(a.id(), b.id());
}

#[tokio::test]
async fn an_update_naming_its_version_writes_without_reading_and_reads_only_to_explain_a_failure() {
    let clock = ManualClock::new("2100-01-01T00:00:00.000Z".parse().unwrap());
    let payments =
        Payments::with_clock(Instrumented::new(InMemoryRepository::new()), clock.clone());
    let reads = || payments.repository().reads();
    let org = organisation();
    let id = created(payments.create(org, example_attributes(), None).await).id();
    clock.advance(time::Duration::seconds(1));

    let updated = payments
        .update(org, id, version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();
    assert_eq!(reads(), 0, "one conditional write, no read");
    assert_eq!(updated.version().get(), 2);
    assert_eq!(updated.updated_at(), clock.now());

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
    assert_eq!(reads(), 2, "each failed condition is explained by one read");

    payments
        .update(
            org,
            id,
            ExpectedVersion::Any,
            attributes_with("4.00", "GBP"),
        )
        .await
        .unwrap();
    assert_eq!(reads(), 3, "If-Match: * reads the version it replaces");
    let history = payments.history(org, id).await.unwrap();
    let versions: Vec<u64> = history.iter().map(|e| e.payment.version().get()).collect();
    assert_eq!(versions, [1, 2, 3]);
}

#[tokio::test]
async fn a_delete_naming_its_version_writes_without_reading_and_reads_only_to_explain_a_failure() {
    let clock = ManualClock::new("2100-01-01T00:00:00.000Z".parse().unwrap());
    let payments =
        Payments::with_clock(Instrumented::new(InMemoryRepository::new()), clock.clone());
    let reads = || payments.repository().reads();
    let org = organisation();
    let first = created(payments.create(org, example_attributes(), None).await);
    let second = created(payments.create(org, example_attributes(), None).await);
    clock.advance(time::Duration::seconds(1));

    payments.delete(org, first.id(), version(1)).await.unwrap();
    assert_eq!(reads(), 0, "one conditional write, no read");

    let stale = payments.delete(org, second.id(), version(2)).await;
    let foreign = payments
        .delete(organisation(), second.id(), version(1))
        .await;
    let gone = payments.delete(org, first.id(), version(1)).await;
    assert!(
        matches!(stale, Err(PaymentError::PreconditionFailed)),
        "{stale:?}"
    );
    assert!(
        matches!(foreign, Err(PaymentError::NotFound)),
        "{foreign:?}"
    );
    assert!(matches!(gone, Err(PaymentError::NotFound)), "{gone:?}");
    assert_eq!(reads(), 3, "each failed condition is explained by one read");

    payments
        .delete(org, second.id(), ExpectedVersion::Any)
        .await
        .unwrap();
    assert_eq!(
        reads(),
        4,
        "If-Match absent or *: reads the version it deletes"
    );

    let history = payments.history(org, first.id()).await.unwrap();
    let deleted = &history[1];
    assert_eq!(deleted.change, Change::Deleted);
    assert_eq!(deleted.payment, first.deleted(clock.now()).stored());
}

#[tokio::test]
async fn a_delete_on_a_clock_behind_the_last_update_deletes_at_the_last_update() {
    let repository = InMemoryRepository::new();
    let ahead = ManualClock::new("2100-01-01T00:01:00.000Z".parse().unwrap());
    let behind = ManualClock::new("2100-01-01T00:00:00.000Z".parse().unwrap());
    let org = organisation();
    let id = created(
        Payments::with_clock(repository.clone(), ahead.clone())
            .create(org, example_attributes(), None)
            .await,
    )
    .id();
    let on_a_host_behind = Payments::with_clock(repository, behind);

    on_a_host_behind.delete(org, id, version(1)).await.unwrap();

    let history = on_a_host_behind.history(org, id).await.unwrap();
    assert_eq!(history[1].change, Change::Deleted);
    assert_eq!(history[1].payment.updated_at(), ahead.now());
}

#[tokio::test]
async fn a_clock_behind_the_last_update_never_moves_updated_at_back() {
    let repository = InMemoryRepository::new();
    let ahead = ManualClock::new("2100-01-01T00:01:00.000Z".parse().unwrap());
    let behind = ManualClock::new("2100-01-01T00:00:00.000Z".parse().unwrap());
    let on_a_host_ahead = Payments::with_clock(repository.clone(), ahead.clone());
    let on_a_host_behind = Payments::with_clock(repository, behind);
    let org = organisation();
    let id = created(
        on_a_host_ahead
            .create(org, example_attributes(), None)
            .await,
    )
    .id();

    let updated = on_a_host_behind
        .update(org, id, version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();
    let updated_again = on_a_host_behind
        .update(
            org,
            id,
            ExpectedVersion::Any,
            attributes_with("3.00", "GBP"),
        )
        .await
        .unwrap();

    assert_eq!(updated.version().get(), 2);
    assert_eq!(updated.updated_at(), ahead.now());
    assert_eq!(updated_again.updated_at(), ahead.now());
    let stored = on_a_host_behind.get(org, id).await.unwrap();
    assert_eq!(stored, updated_again.stored());
}

#[tokio::test]
async fn an_update_keeps_created_at_even_where_the_id_says_otherwise() {
    let (payments, clock) = payments();
    let org = organisation();
    // Imported, say: the id is a UUIDv7 of another moment than the payment's creation.
    let created_at: Timestamp = "2099-01-02T03:04:05.006Z".parse().unwrap();
    let imported = Payment::create(
        PaymentId::generate(clock.now()),
        org,
        example_attributes(),
        created_at,
    );
    payments.repository().insert(&imported, None).await.unwrap();

    let updated = payments
        .update(
            org,
            imported.id(),
            version(1),
            attributes_with("2.00", "GBP"),
        )
        .await
        .unwrap();

    assert_eq!(updated.created_at(), created_at);
    assert_eq!(updated.version().get(), 2);
}

#[tokio::test]
async fn a_stale_update_or_delete_fails_and_writes_nothing() {
    let (payments, _) = payments();
    let org = organisation();
    let id = created(payments.create(org, example_attributes(), None).await).id();
    payments
        .update(org, id, version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();
    let before = payments.repository().items();

    let update = payments
        .update(org, id, version(1), attributes_with("3.00", "GBP"))
        .await;
    let delete = payments.delete(org, id, version(1)).await;

    assert!(
        matches!(update, Err(PaymentError::PreconditionFailed)),
        "{update:?}"
    );
    assert!(
        matches!(delete, Err(PaymentError::PreconditionFailed)),
        "{delete:?}"
    );
    assert_eq!(payments.repository().items(), before);
}

#[tokio::test]
async fn a_delete_keeps_every_version_and_a_later_write_finds_nothing() {
    let (payments, _) = payments();
    let org = organisation();
    let id = created(payments.create(org, example_attributes(), None).await).id();
    payments
        .update(org, id, version(1), attributes_with("2.00", "GBP"))
        .await
        .unwrap();

    payments.delete(org, id, version(2)).await.unwrap();

    assert!(matches!(
        payments.get(org, id).await,
        Err(PaymentError::NotFound)
    ));
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
    for result in [
        payments
            .update(org, id, ExpectedVersion::Any, example_attributes())
            .await
            .map(|_| ()),
        payments
            .update(org, id, version(3), example_attributes())
            .await
            .map(|_| ()),
        payments.delete(org, id, ExpectedVersion::Any).await,
    ] {
        assert!(matches!(result, Err(PaymentError::NotFound)), "{result:?}");
    }
    assert_eq!(count(&payments, "CURRENT"), 0);
}

#[tokio::test]
async fn another_organisations_payment_is_not_found_and_untouched() {
    let (payments, _) = payments();
    let (owner, intruder) = (organisation(), organisation());
    let id = created(payments.create(owner, example_attributes(), None).await).id();
    let before = payments.repository().items();

    assert!(matches!(
        payments.get(intruder, id).await,
        Err(PaymentError::NotFound)
    ));
    for result in [
        payments
            .update(intruder, id, ExpectedVersion::Any, example_attributes())
            .await
            .map(|_| ()),
        payments
            .update(intruder, id, version(1), example_attributes())
            .await
            .map(|_| ()),
        payments.delete(intruder, id, ExpectedVersion::Any).await,
        payments.history(intruder, id).await.map(|_| ()),
    ] {
        assert!(matches!(result, Err(PaymentError::NotFound)), "{result:?}");
    }
    assert_eq!(payments.repository().items(), before);
}

#[tokio::test]
async fn a_list_pages_through_the_organisations_payments_with_opaque_cursors() {
    let (payments, clock) = payments();
    let (org, other) = (organisation(), organisation());
    let mut created_ids = Vec::new();
    for _ in 0..5 {
        created_ids.push(created(payments.create(org, example_attributes(), None).await).id());
        created(payments.create(other, example_attributes(), None).await);
        clock.advance(time::Duration::milliseconds(1));
    }
    created_ids.reverse();

    let first = payments
        .list(org, "3".parse().unwrap(), None)
        .await
        .unwrap();
    let cursor = first.next_cursor.clone().expect("a second page");
    let second = payments
        .list(org, "3".parse().unwrap(), Some(&cursor))
        .await
        .unwrap();

    let listed: Vec<PaymentId> = first
        .payments
        .iter()
        .chain(&second.payments)
        .map(|p| p.id())
        .collect();
    assert_eq!(listed, created_ids, "newest first, each once");
    assert_eq!(second.next_cursor, None);
}

#[tokio::test]
async fn a_cursor_of_another_organisation_or_none_of_ours_is_refused() {
    let (payments, _) = payments();
    let (org, other) = (organisation(), organisation());
    for _ in 0..2 {
        created(payments.create(other, example_attributes(), None).await);
    }
    let foreign = payments
        .list(other, "1".parse().unwrap(), None)
        .await
        .unwrap()
        .next_cursor
        .unwrap();

    for cursor in [foreign.as_str(), "not-a-cursor"] {
        let result = payments.list(org, PageSize::default(), Some(cursor)).await;
        assert!(
            matches!(result, Err(PaymentError::InvalidCursor)),
            "{cursor}: {result:?}"
        );
    }
}

#[tokio::test]
async fn writers_without_a_version_that_keep_losing_races_get_conflict() {
    let payments = Payments::new(Instrumented::losing_every_race(InMemoryRepository::new()));
    let org = organisation();
    let id = created(payments.create(org, example_attributes(), None).await).id();

    let deleted = payments.delete(org, id, ExpectedVersion::Any).await;
    let updated = payments
        .update(org, id, ExpectedVersion::Any, example_attributes())
        .await;

    assert!(
        matches!(deleted, Err(PaymentError::Conflict)),
        "{deleted:?}"
    );
    assert!(
        matches!(updated, Err(PaymentError::Conflict)),
        "{updated:?}"
    );
    assert!(payments.get(org, id).await.is_ok(), "not deleted");
}

#[tokio::test]
async fn storage_that_answers_is_ready() {
    let (payments, _) = payments();
    assert!(payments.ready().await.is_ok());
}

#[test]
fn the_request_digest_is_of_the_same_bytes_whichever_release_stored_the_key() {
    // Before 0.5.1 the digest was of the parsed attributes serialised on their own; now it is
    // of the stored text. Records already written must still match a repeat.
    let attributes = example_attributes();
    let canonical = serde_json::to_vec(&attributes).unwrap();
    assert_eq!(
        request_digest(&StoredAttributes::of(&attributes)),
        hex_sha256(&canonical)
    );
}
