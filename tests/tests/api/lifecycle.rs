use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Api, header, payment_request, unique_key};

#[tokio::test]
async fn a_payment_lives_through_create_get_update_and_delete() {
    let api = Api::new();

    // Create.
    let response = api.create(&payment_request("100.21"), None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "etag"), Some("\"1\""));
    let location = header(&response, "location").unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/payments/{id}"));
    assert_eq!(created["version"], 1);
    assert_eq!(created["attributes"]["amount"], "100.21");

    // Get.
    let response = api.get(&id).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "etag"), Some("\"1\""));
    assert_eq!(response.json::<Value>().await.unwrap(), created);

    // Update without If-Match, with it, and again with the now stale version.
    let changed = payment_request("200.00");
    let response = api.update(&id, None, &changed).await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_REQUIRED);
    let response = api.update(&id, Some("\"1\""), &changed).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "etag"), Some("\"2\""));
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["attributes"]["amount"], "200.00");
    assert_eq!(updated["created_at"], created["created_at"]);
    let response = api
        .update(&id, Some("\"1\""), &payment_request("300.00"))
        .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        header(&response, "content-type"),
        Some("application/problem+json")
    );
    assert_eq!(api.get(&id).await.json::<Value>().await.unwrap(), updated);

    // Delete with a stale version, then the current one; then it is gone.
    assert_eq!(
        api.delete(&id, Some("\"1\"")).await.status(),
        StatusCode::PRECONDITION_FAILED
    );
    let response = api.delete(&id, Some("\"2\"")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.text().await.unwrap(), "");
    let response = api.get(&id).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        header(&response, "content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn an_idempotent_repeat_returns_the_same_payment() {
    let api = Api::new();
    let key = unique_key();
    let body = payment_request("42.00");

    let first = api.create(&body, Some(&key)).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(header(&first, "idempotent-replayed"), None);
    let first: Value = first.json().await.unwrap();

    let repeat = api.create(&body, Some(&key)).await;
    assert_eq!(repeat.status(), StatusCode::CREATED);
    assert_eq!(header(&repeat, "idempotent-replayed"), Some("true"));
    assert_eq!(repeat.json::<Value>().await.unwrap(), first);

    let reused = api.create(&payment_request("43.00"), Some(&key)).await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = reused.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/idempotency-key-reused");
}

#[tokio::test]
async fn an_invalid_payment_is_refused_with_every_failing_field() {
    let api = Api::new();
    let mut body = payment_request("1.234");
    body["attributes"]["processing_date"] = "2026-02-30".into();
    body["attributes"]["colour"] = "blue".into();

    let response = api.create(&body, None).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        header(&response, "content-type"),
        Some("application/problem+json")
    );
    let problem: Value = response.json().await.unwrap();
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "attributes.amount",
            "attributes.colour",
            "attributes.processing_date"
        ]
    );
}
