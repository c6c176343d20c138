//! What only the DynamoDB repository has: the items it writes, in the format deployed tables
//! hold (DESIGN.md section 4), and a table that does not answer. What every repository must do
//! is `tests/contract.rs`, on DynamoDB Local too. Each test has its own table.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use payments_core::PaymentError;
use payments_core::domain::{ExpectedVersion, IdempotencyKey, Payment, Timestamp};
use payments_core::repository::{Change, DynamoDbRepository, PaymentRepository};
use payments_core::service::{Created, Payments};
use payments_core::testing::{
    TestTable, attributes_with, example_attributes, organisation, stored_attributes,
};

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item[name]
        .as_s()
        .unwrap_or_else(|_| panic!("{name} is a string"))
        .clone()
}

/// Each attribute's name and DynamoDB type.
fn shape(item: &HashMap<String, AttributeValue>) -> BTreeMap<&str, &'static str> {
    item.iter()
        .map(|(name, value)| {
            let kind = match value {
                AttributeValue::S(_) => "S",
                AttributeValue::N(_) => "N",
                AttributeValue::B(_) => "B",
                other => panic!("{name}: {other:?}"),
            };
            (name.as_str(), kind)
        })
        .collect()
}

#[tokio::test]
async fn a_payment_is_two_items_in_the_format_deployed_tables_hold() {
    let table = TestTable::create().await;
    let created_at: Timestamp = "2026-11-24T09:15:02.481Z".parse().unwrap();
    let payment = Payment::new(organisation(), example_attributes(), created_at);

    table.repository().insert(&payment, None).await.unwrap();

    let items = table.items().await;
    let current = items.iter().find(|i| text(i, "sk") == "CURRENT").unwrap();
    let version = items.iter().find(|i| text(i, "sk") != "CURRENT").unwrap();
    let common = [
        ("attributes", "B"),
        ("created_at", "S"),
        ("id", "S"),
        ("organisation_id", "S"),
        ("pk", "S"),
        ("sk", "S"),
        ("updated_at", "S"),
        ("version", "N"),
    ];
    let mut expected: BTreeMap<&str, &str> = common.into_iter().collect();
    expected.extend([("gsi1pk", "S"), ("gsi1sk", "S")]);
    assert_eq!(shape(current), expected);
    let mut expected: BTreeMap<&str, &str> = common.into_iter().collect();
    expected.insert("change", "S");
    assert_eq!(shape(version), expected);
    let id = payment.id();
    let org = payment.organisation_id();
    assert_eq!(text(current, "pk"), format!("PAYMENT#{id}"));
    assert_eq!(text(current, "gsi1pk"), format!("ORG#{org}"));
    assert_eq!(
        text(current, "gsi1sk"),
        format!("2026-11-24T09:15:02.481Z#{id}")
    );
    assert_eq!(text(version, "sk"), "VERSION#00000000000000000001");
    assert_eq!(text(version, "change"), "created");
    assert_eq!(current["version"].as_n().unwrap(), "1");
    assert_eq!(text(current, "created_at"), "2026-11-24T09:15:02.481Z");
    let attributes = current["attributes"].as_b().unwrap().as_ref();
    assert_eq!(
        attributes[0], 2,
        "the format byte: raw DEFLATE of the JSON with the preset dictionary"
    );
    assert_eq!(
        stored_attributes(current),
        serde_json::to_value(payment.attributes()).unwrap()
    );
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn a_deleted_version_is_stored_without_attributes_and_read_with_those_it_deleted() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let Created::New(payment) = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
    else {
        panic!("a new payment");
    };

    payments
        .delete(
            org,
            payment.id(),
            ExpectedVersion::Exactly(payment.version()),
        )
        .await
        .unwrap();

    let items = table.items().await;
    let deleted = items
        .iter()
        .find(|item| text(item, "sk") == "VERSION#00000000000000000002")
        .unwrap();
    let expected: BTreeMap<&str, &str> = [
        ("change", "S"),
        ("id", "S"),
        ("organisation_id", "S"),
        ("pk", "S"),
        ("sk", "S"),
        ("updated_at", "S"),
        ("version", "N"),
    ]
    .into_iter()
    .collect();
    assert_eq!(shape(deleted), expected);
    assert_eq!(text(deleted, "change"), "deleted");
    assert_eq!(
        items.len(),
        2,
        "version 1 and the deletion; no current item"
    );
    let history = payments.history(org, payment.id()).await.unwrap();
    assert_eq!(
        history[1].payment.attributes(),
        payment.stored().attributes()
    );
    assert_eq!(history[1].payment.created_at(), payment.created_at());
    assert_eq!(history[1].payment.version().get(), 2);
}

#[tokio::test]
async fn a_whole_deleted_version_written_before_0_4_0_reads_back_the_same() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let Created::New(payment) = payments
        .create(org, example_attributes(), None)
        .await
        .unwrap()
    else {
        panic!("a new payment");
    };
    // What 0.3.0 wrote on delete: the current item gone, and a `deleted` version that copies
    // the whole of the version before it.
    let first = table
        .items()
        .await
        .into_iter()
        .find(|item| text(item, "sk") == "VERSION#00000000000000000001")
        .unwrap();
    let mut whole = first.clone();
    whole.insert(
        "sk".into(),
        AttributeValue::S("VERSION#00000000000000000002".into()),
    );
    whole.insert("version".into(), AttributeValue::N("2".into()));
    whole.insert("change".into(), AttributeValue::S("deleted".into()));
    let deleted_at = "2100-01-01T00:00:00.000Z";
    whole.insert("updated_at".into(), AttributeValue::S(deleted_at.into()));
    table
        .client
        .put_item()
        .table_name(&table.name)
        .set_item(Some(whole))
        .send()
        .await
        .unwrap();
    table
        .client
        .delete_item()
        .table_name(&table.name)
        .key("pk", first["pk"].clone())
        .key("sk", AttributeValue::S("CURRENT".into()))
        .send()
        .await
        .unwrap();

    let history = payments.history(org, payment.id()).await.unwrap();

    assert_eq!(history.len(), 2);
    assert_eq!(history[1].change, Change::Deleted);
    assert_eq!(
        history[1].payment,
        payment.deleted(deleted_at.parse().unwrap()).stored()
    );
    let one = table
        .repository()
        .get_version(payment.id(), history[1].payment.version())
        .await
        .unwrap();
    assert_eq!(one, Some(history[1].clone()));
}

#[tokio::test]
async fn amounts_are_stored_as_the_strings_they_were_sent_as() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let org = organisation();
    let amounts = [
        ("0.01", "GBP"),
        ("12345678901234.56", "GBP"),
        ("1000", "JPY"),
        ("1.250", "BHD"),
    ];

    for (amount, currency) in amounts {
        payments
            .create(org, attributes_with(amount, currency), None)
            .await
            .unwrap();
    }

    let mut stored: Vec<(String, String)> = table
        .items()
        .await
        .iter()
        .filter(|item| text(item, "sk") == "CURRENT")
        .map(|item| {
            let attributes = stored_attributes(item);
            let text = |name: &str| {
                attributes[name]
                    .as_str()
                    .expect("stored as a string")
                    .to_owned()
            };
            (text("amount"), text("currency"))
        })
        .collect();
    stored.sort();
    let mut expected: Vec<(String, String)> = amounts
        .iter()
        .map(|(amount, currency)| (amount.to_string(), currency.to_string()))
        .collect();
    expected.sort();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn an_idempotency_record_keeps_the_keys_digest_and_expires_by_ttl_after_24_hours() {
    let table = TestTable::create().await;
    let payments = table.payments();
    let key: IdempotencyKey = "invoice-118".parse().unwrap();
    let before = Timestamp::now();

    payments
        .create(organisation(), example_attributes(), Some(&key))
        .await
        .unwrap();

    let items = table.items().await;
    let record = items
        .iter()
        .find(|item| text(item, "sk") == "IDEMPOTENCY")
        .unwrap();
    let expires_at: i64 = record["expires_at"].as_n().unwrap().parse().unwrap();
    let day = 24 * 3600;
    assert!(
        (before.unix_seconds() + day..=Timestamp::now().unix_seconds() + day).contains(&expires_at),
        "expires_at {expires_at} is epoch seconds, a day after the create"
    );
    assert!(text(record, "pk").ends_with(&key.digest()));
    assert!(
        !items
            .iter()
            .any(|item| format!("{item:?}").contains("invoice-118")),
        "the key itself is stored only as a digest"
    );
}

#[tokio::test]
async fn a_table_that_does_not_answer_is_not_ready() {
    let table = TestTable::create().await;
    assert!(table.payments().ready().await.is_ok());

    let missing = Payments::new(DynamoDbRepository::new(
        table.client.clone(),
        "no-such-table",
    ));

    let ready = missing.ready().await;
    assert!(
        matches!(ready, Err(PaymentError::Unavailable(_))),
        "{ready:?}"
    );
}
