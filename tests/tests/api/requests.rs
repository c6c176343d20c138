use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Api, header, payment_request};

#[tokio::test]
async fn health_routes_answer() {
    let api = Api::new();
    let alive = api.get_path("/alive").await;
    assert_eq!(alive.status(), StatusCode::OK);
    assert_eq!(alive.json::<Value>().await.unwrap()["status"], "alive");
    let ready = api.get_path("/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404_and_400() {
    let api = Api::new();
    let missing = api.get("6f1d2e3c-4b5a-4978-8877-665544332211").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let malformed = api.get("not-a-uuid").await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        header(&malformed, "content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn media_types_are_negotiated() {
    let api = Api::new();
    let v1 = api
        .request(Method::POST, "/payments")
        .header("Content-Type", "application/vnd.payments.v1+json")
        .header("Accept", "application/vnd.payments.v1+json")
        .body(payment_request("5.00").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(v1.status(), StatusCode::CREATED);
    assert_eq!(
        header(&v1, "content-type"),
        Some("application/vnd.payments.v1+json")
    );

    let v2 = api
        .request(Method::GET, "/payments")
        .header("Accept", "application/vnd.payments.v2+json")
        .send()
        .await
        .unwrap();
    assert_eq!(v2.status(), StatusCode::NOT_ACCEPTABLE);

    let form = api
        .request(Method::POST, "/payments")
        .header("Content-Type", "text/plain")
        .body("amount=5")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
