//! Every rule of a payment request (DESIGN.md section 3), each with a passing and a failing case.

use serde_json::{Value, json};

use super::*;

fn example() -> Value {
    crate::testing::example_request()
}

fn minimal() -> Value {
    json!({
        "attributes": {
            "amount": "10.00",
            "currency": "GBP",
            "payment_scheme": "FPS",
            "payment_type": "Credit",
            "processing_date": "2026-11-25",
            "beneficiary_party": { "account_name": "A", "account_number": "1" },
            "debtor_party": { "account_name": "B", "account_number": "2" }
        }
    })
}

/// The example with the member at `path` (dot-separated, under `attributes`) set to `value`,
/// or removed when `value` is `None`.
fn with(path: &str, value: Option<Value>) -> Value {
    let mut body = example();
    let mut node = &mut body["attributes"];
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        node = &mut node[*part];
    }
    let last = parts[parts.len() - 1];
    match value {
        Some(value) => node[last] = value,
        None => {
            node.as_object_mut().unwrap().remove(last);
        }
    }
    body
}

/// The fields reported for `body`, in order.
fn failing_fields(body: &Value) -> Vec<String> {
    match PaymentAttributes::parse_request(body) {
        Ok(_) => vec![],
        Err(errors) => errors.fields().iter().map(|e| e.field.clone()).collect(),
    }
}

fn assert_rejected(body: Value, field: &str) {
    let fields = failing_fields(&body);
    assert_eq!(fields, [field], "expected only {field} to fail");
}

#[test]
fn the_full_example_is_accepted_and_serialises_back_to_the_same_attributes() {
    let body = example();
    let attributes = PaymentAttributes::parse_request(&body).expect("example is valid");
    assert_eq!(
        serde_json::to_value(&attributes).unwrap(),
        body["attributes"]
    );
}

#[test]
fn a_minimal_payment_is_accepted() {
    assert_eq!(failing_fields(&minimal()), Vec::<String>::new());
}

#[test]
fn an_amount_finer_than_pence_is_rejected_for_gbp() {
    assert_rejected(with("amount", Some(json!("1.234"))), "attributes.amount");
}

#[test]
fn a_fractional_amount_is_rejected_for_jpy_and_a_whole_one_accepted() {
    let mut body = with("amount", Some(json!("100.5")));
    body["attributes"]["currency"] = json!("JPY");
    assert_rejected(body.clone(), "attributes.amount");
    body["attributes"]["amount"] = json!("1000");
    assert_eq!(failing_fields(&body), Vec::<String>::new());
}

#[test]
fn three_decimal_places_are_accepted_for_bhd() {
    let mut body = with("amount", Some(json!("1.234")));
    body["attributes"]["currency"] = json!("BHD");
    assert_eq!(failing_fields(&body), Vec::<String>::new());
}

#[test]
fn negative_zero_and_exponent_amounts_are_rejected() {
    for amount in ["-1", "0", "0.00", "1e3", "", "ten"] {
        assert_rejected(with("amount", Some(json!(amount))), "attributes.amount");
    }
}

#[test]
fn an_amount_sent_as_a_json_number_is_rejected() {
    assert_rejected(with("amount", Some(json!(100.21))), "attributes.amount");
    assert_rejected(with("amount", Some(json!(100))), "attributes.amount");
}

#[test]
fn an_unknown_currency_is_rejected() {
    assert_rejected(with("currency", Some(json!("XXX"))), "attributes.currency");
    assert_rejected(with("currency", Some(json!("gbp"))), "attributes.currency");
}

#[test]
fn an_impossible_processing_date_is_rejected() {
    assert_rejected(
        with("processing_date", Some(json!("2026-02-30"))),
        "attributes.processing_date",
    );
    assert_rejected(
        with("processing_date", Some(json!("25/11/2026"))),
        "attributes.processing_date",
    );
}

#[test]
fn each_required_member_is_reported_when_missing() {
    for path in [
        "amount",
        "currency",
        "payment_type",
        "payment_scheme",
        "processing_date",
        "beneficiary_party.account_name",
        "beneficiary_party.account_number",
        "debtor_party.account_name",
        "debtor_party.account_number",
    ] {
        assert_rejected(with(path, None), &format!("attributes.{path}"));
    }
}

#[test]
fn a_missing_party_is_reported() {
    assert_rejected(
        with("beneficiary_party", None),
        "attributes.beneficiary_party",
    );
}

#[test]
fn enumerations_are_checked() {
    for (path, bad) in [
        ("payment_type", "Refund"),
        ("payment_scheme", "ACH"),
        ("beneficiary_party.account_number_code", "SWIFT"),
        ("charges_information.bearer_code", "SHARED"),
    ] {
        assert_rejected(with(path, Some(json!(bad))), &format!("attributes.{path}"));
    }
}

#[test]
fn a_36_character_end_to_end_reference_is_rejected_and_35_accepted() {
    assert_rejected(
        with("end_to_end_reference", Some(json!("a".repeat(36)))),
        "attributes.end_to_end_reference",
    );
    let body = with("end_to_end_reference", Some(json!("a".repeat(35))));
    assert_eq!(failing_fields(&body), Vec::<String>::new());
}

#[test]
fn names_and_addresses_are_limited_to_140_characters() {
    assert_rejected(
        with("beneficiary_party.name", Some(json!("n".repeat(141)))),
        "attributes.beneficiary_party.name",
    );
    assert_rejected(
        with("debtor_party.address", Some(json!("n".repeat(141)))),
        "attributes.debtor_party.address",
    );
    let body = with("debtor_party.address", Some(json!("n".repeat(140))));
    assert_eq!(failing_fields(&body), Vec::<String>::new());
}

#[test]
fn unknown_fields_are_rejected_not_dropped() {
    assert_rejected(with("colour", Some(json!("red"))), "attributes.colour");
    assert_rejected(
        with("debtor_party.nickname", Some(json!("M"))),
        "attributes.debtor_party.nickname",
    );
    let mut body = example();
    body["id"] = json!("0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41");
    assert_eq!(failing_fields(&body), ["id"]);
}

#[test]
fn every_failing_field_is_reported_at_once() {
    let mut body = with("amount", Some(json!("1.234")));
    body["attributes"]["currency"] = json!("GBP");
    body["attributes"]["processing_date"] = json!("2026-02-30");
    body["attributes"]["beneficiary_party"]
        .as_object_mut()
        .unwrap()
        .remove("account_number");
    body["attributes"]["fx"]["exchange_rate"] = json!(1.17);
    let fields = failing_fields(&body);
    for expected in [
        "attributes.amount",
        "attributes.processing_date",
        "attributes.beneficiary_party.account_number",
        "attributes.fx.exchange_rate",
    ] {
        assert!(
            fields.contains(&expected.to_owned()),
            "{expected} missing from {fields:?}"
        );
    }
    assert_eq!(fields.len(), 4);
}

#[test]
fn sender_charges_are_checked_one_by_one() {
    assert_rejected(
        with(
            "charges_information.sender_charges",
            Some(
                json!([{"amount": "2.50", "currency": "GBP"}, {"amount": "2.505", "currency": "EUR"}]),
            ),
        ),
        "attributes.charges_information.sender_charges[1].amount",
    );
}

#[test]
fn receiver_charges_need_an_amount_and_a_currency_together() {
    assert_rejected(
        with("charges_information.receiver_charges_currency", None),
        "attributes.charges_information.receiver_charges_currency",
    );
}

#[test]
fn fx_original_amount_follows_its_own_currency() {
    assert_rejected(
        with("fx.original_amount", Some(json!("293.385"))),
        "attributes.fx.original_amount",
    );
}

#[test]
fn the_body_must_be_an_object_with_attributes() {
    assert_eq!(failing_fields(&json!([])), [""]);
    assert_eq!(failing_fields(&json!({})), ["attributes"]);
    assert_eq!(failing_fields(&json!({"attributes": "x"})), ["attributes"]);
}

#[test]
fn null_optional_members_are_treated_as_absent() {
    let body = with("fx", Some(Value::Null));
    let attributes = PaymentAttributes::parse_request(&body).unwrap();
    assert!(attributes.fx.is_none());
}

#[test]
fn a_payment_keeps_its_identity_when_revised() {
    let attributes = PaymentAttributes::parse_request(&example()).unwrap();
    let created_at: Timestamp = "2026-11-24T09:15:02.481Z".parse().unwrap();
    let payment = Payment::new(
        "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60".parse().unwrap(),
        attributes.clone(),
        created_at,
    );
    let earlier: Timestamp = "2026-11-24T09:15:01.000Z".parse().unwrap();
    let revised = payment.revise(attributes, earlier);
    assert_eq!(revised.id(), payment.id());
    assert_eq!(revised.organisation_id(), payment.organisation_id());
    assert_eq!(revised.created_at(), created_at);
    assert_eq!(revised.version().get(), 2);
    assert_eq!(
        revised.updated_at(),
        created_at,
        "a skewed clock never moves updated_at back"
    );
}

#[test]
fn a_new_payment_has_an_id_that_says_when_it_was_created() {
    let created_at: Timestamp = "2026-11-24T09:15:02.481Z".parse().unwrap();
    let payment = Payment::new(
        "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60".parse().unwrap(),
        PaymentAttributes::parse_request(&example()).unwrap(),
        created_at,
    );
    assert_eq!(payment.created_at(), created_at);
    assert_eq!(payment.id().created_at(), Some(created_at));
}

#[test]
fn a_revision_made_without_reading_is_what_revise_makes() {
    let created_at: Timestamp = "2026-11-24T09:15:02.481Z".parse().unwrap();
    let now: Timestamp = "2026-11-24T10:00:00.000Z".parse().unwrap();
    let payment = Payment::new(
        "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60".parse().unwrap(),
        PaymentAttributes::parse_request(&example()).unwrap(),
        created_at,
    );
    let attributes =
        PaymentAttributes::parse_request(&with("amount", Some(json!("1.00")))).unwrap();
    let unread = Payment::revision(
        payment.id(),
        payment.organisation_id(),
        payment.version(),
        attributes.clone(),
        now,
    );
    assert_eq!(unread, Some(payment.revise(attributes.clone(), now)));

    let not_ours: PaymentId = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41".parse().unwrap();
    let org = payment.organisation_id();
    assert_eq!(
        Payment::revision(not_ours, org, Version::FIRST, attributes, now),
        None,
        "an id that does not say when its payment was created needs a read"
    );
}

#[test]
fn a_payment_serialises_as_the_shared_example() {
    let text = r#"{"type":"Payment","id":"0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41","version":1,
        "organisation_id":"5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60",
        "created_at":"2026-11-24T09:15:02.481Z","updated_at":"2026-11-24T09:15:02.481Z"}"#;
    let mut value: Value = serde_json::from_str(text).unwrap();
    value["attributes"] = example()["attributes"].clone();
    let payment = Payment::create(
        "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41".parse().unwrap(),
        "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60".parse().unwrap(),
        PaymentAttributes::parse_request(&example()).unwrap(),
        "2026-11-24T09:15:02.481Z".parse().unwrap(),
    );
    assert_eq!(serde_json::to_value(&payment).unwrap(), value);
}

/// The attributes' JSON is what storage keeps and what an `Idempotency-Key`'s request digest is
/// taken of: a change to it would break both for payments already stored.
#[test]
fn attributes_are_written_exactly_as_storage_and_idempotency_keys_expect() {
    let full = PaymentAttributes::parse_request(&example()).unwrap();
    assert_eq!(
        serde_json::to_string(&full).unwrap(),
        r#"{"amount":"250.75","currency":"GBP","beneficiary_party":{"account_name":"A Okafor","account_number":"41209377","account_number_code":"BBAN","account_type":0,"address":"12 Harbour Row Portsmouth PO1 3AB","bank_id":"402716","bank_id_code":"GBDSC","name":"Adaeze Okafor"},"debtor_party":{"account_name":"M Lindqvist","account_number":"GB82WEST12345698765432","account_number_code":"IBAN","address":"7 Mill Lane Cambridge CB2 1RX","bank_id":"309493","bank_id_code":"GBDSC","name":"Maja Lindqvist"},"sponsor_party":{"account_number":"56781234","bank_id":"123123","bank_id_code":"GBDSC"},"charges_information":{"bearer_code":"SHAR","sender_charges":[{"amount":"2.50","currency":"GBP"},{"amount":"3.00","currency":"EUR"}],"receiver_charges_amount":"1.25","receiver_charges_currency":"GBP"},"fx":{"contract_reference":"FX2026-0042","exchange_rate":"1.17000","original_amount":"293.38","original_currency":"EUR"},"end_to_end_reference":"Invoice 2026-118","numeric_reference":"4471102","payment_id":"700112233445566778","payment_purpose":"Consulting services November","payment_scheme":"FPS","payment_type":"Credit","processing_date":"2026-11-25","reference":"Consulting invoice 118","scheme_payment_sub_type":"InternetBanking","scheme_payment_type":"ImmediatePayment"}"#
    );
    let mut body = minimal();
    body["attributes"]["charges_information"] = json!({"bearer_code": "OUR"});
    let minimal = PaymentAttributes::parse_request(&body).unwrap();
    assert_eq!(
        serde_json::to_string(&minimal).unwrap(),
        r#"{"amount":"10.00","currency":"GBP","beneficiary_party":{"account_name":"A","account_number":"1"},"debtor_party":{"account_name":"B","account_number":"2"},"charges_information":{"bearer_code":"OUR","sender_charges":[]},"payment_scheme":"FPS","payment_type":"Credit","processing_date":"2026-11-25"}"#,
        "absent options left out, absent sender charges written as none"
    );
}

#[test]
fn an_account_type_is_a_whole_number_from_0_to_9_however_json_writes_it() {
    for (sent, read) in [
        (json!(0), 0),
        (json!(9), 9),
        (json!(8.0), 8),
        (json!(-0.0), 0),
        (json!(1e0), 1),
    ] {
        let body = with("beneficiary_party.account_type", Some(sent.clone()));
        let attributes = PaymentAttributes::parse_request(&body)
            .unwrap_or_else(|errors| panic!("{sent}: {errors:?}"));
        let written = serde_json::to_value(&attributes).unwrap();
        assert_eq!(
            written["beneficiary_party"]["account_type"],
            json!(read),
            "{sent}"
        );
    }
    for sent in [
        json!(10),
        json!(-1),
        json!(8.5),
        json!(10.0),
        json!("8"),
        json!(1e300),
    ] {
        assert_rejected(
            with("beneficiary_party.account_type", Some(sent)),
            "attributes.beneficiary_party.account_type",
        );
    }
}

#[test]
fn more_than_20_sender_charges_are_refused() {
    let charge = json!({"amount": "2.50", "currency": "GBP"});
    let twenty = with(
        "charges_information.sender_charges",
        Some(json!(vec![charge.clone(); MAX_SENDER_CHARGES])),
    );
    assert_eq!(failing_fields(&twenty), Vec::<String>::new());
    assert_rejected(
        with(
            "charges_information.sender_charges",
            Some(json!(vec![charge; MAX_SENDER_CHARGES + 1])),
        ),
        "attributes.charges_information.sender_charges",
    );
}

#[test]
fn stored_attributes_are_parsed_by_the_rules_of_a_request() {
    let mut stored = example()["attributes"].clone();
    stored["beneficiary_party"]["account_type"] = json!(12);
    stored["charges_information"]["sender_charges"] = json!(vec![
        json!({"amount": "2.50", "currency": "GBP"});
        MAX_SENDER_CHARGES + 1
    ]);

    let errors = PaymentAttributes::parse(&stored).unwrap_err();

    let fields: Vec<&str> = errors.fields().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "beneficiary_party.account_type",
            "charges_information.sender_charges"
        ]
    );
}
