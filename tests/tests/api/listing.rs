use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Api, payment_request};

#[tokio::test]
async fn paging_through_30_new_payments_returns_each_once_newest_first() {
    let api = Api::new();
    let mut ours = Vec::new();
    for i in 0..30 {
        let payment = api
            .created(&payment_request(&format!("{}.00", i + 1)))
            .await;
        ours.push(payment["id"].as_str().unwrap().to_owned());
    }

    // Page until every payment we made has been seen; others may be listed between them.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut order = Vec::new();
    let mut next = Some("/payments?limit=7".to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        assert!(pages <= 1000, "paging does not end");
        let response = api.get_path(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.unwrap();
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 7);
        for payment in data {
            let id = payment["id"].as_str().unwrap().to_owned();
            *seen.entry(id.clone()).or_default() += 1;
            order.push((payment["created_at"].as_str().unwrap().to_owned(), id));
        }
        if ours.iter().all(|id| seen.contains_key(id)) {
            break;
        }
        next = page["links"]["next"].as_str().map(str::to_owned);
    }

    for id in &ours {
        assert_eq!(seen.get(id), Some(&1), "{id} seen {:?} times", seen.get(id));
    }
    assert!(seen.values().all(|&n| n == 1), "a payment appeared twice");
    assert!(
        order.windows(2).all(|w| w[0] >= w[1]),
        "pages are not newest first"
    );
}

#[tokio::test]
async fn a_bad_limit_or_cursor_is_a_bad_request() {
    let api = Api::new();
    for path in [
        "/payments?limit=0",
        "/payments?limit=101",
        "/payments?cursor=not-a-cursor",
    ] {
        let response = api.get_path(path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
}
