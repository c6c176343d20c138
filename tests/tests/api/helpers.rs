use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// A client of the API under test.
pub struct Api {
    base: String,
    token: Option<String>,
    client: Client,
}

impl Api {
    pub fn new() -> Self {
        let base = std::env::var("BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:9000".to_owned());
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: std::env::var("AUTH_TOKEN").ok().filter(|t| !t.is_empty()),
            client: Client::new(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn create(&self, body: &Value, idempotency_key: Option<&str>) -> Response {
        let mut request = self.request(reqwest::Method::POST, "/payments").json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        send(request).await
    }

    /// Creates a payment and returns its JSON.
    pub async fn created(&self, body: &Value) -> Value {
        let response = self.create(body, None).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn get(&self, id: &str) -> Response {
        send(self.request(reqwest::Method::GET, &format!("/payments/{id}"))).await
    }

    pub async fn update(&self, id: &str, if_match: Option<&str>, body: &Value) -> Response {
        let mut request = self
            .request(reqwest::Method::PUT, &format!("/payments/{id}"))
            .json(body);
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        send(request).await
    }

    pub async fn delete(&self, id: &str, if_match: Option<&str>) -> Response {
        let mut request = self.request(reqwest::Method::DELETE, &format!("/payments/{id}"));
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        send(request).await
    }

    /// `GET` of a path that starts with `/`, such as a `links.next`.
    pub async fn get_path(&self, path: &str) -> Response {
        send(self.request(reqwest::Method::GET, path)).await
    }
}

/// Sends a request. Under `cargo lambda watch` (`E2E_STACK=cargo-lambda`) a `GET` that meets the
/// emulator's own 500 is sent again, up to twice. That 500 is text/plain, where every answer of
/// the API is JSON: the emulator's runtime API answers a function's `POST .../response` before
/// it has read the body, and now and then (about one large answer in a few hundred, a page of
/// payments rather than a payment) the answer is lost on its way to the caller. A `GET` is safe
/// to repeat; no other method and no other answer is repeated.
async fn send(request: RequestBuilder) -> Response {
    let repeatable = std::env::var("E2E_STACK").as_deref() == Ok("cargo-lambda")
        && request
            .try_clone()
            .and_then(|copy| copy.build().ok())
            .is_some_and(|built| built.method() == reqwest::Method::GET);
    for _ in 0..2 {
        let Some(copy) = request.try_clone().filter(|_| repeatable) else {
            break;
        };
        let response = send_once(copy).await;
        if !is_cargo_lambda_own_500(&response) {
            return response;
        }
        eprintln!("e2e: cargo lambda watch's own 500 on a GET; sending it again");
    }
    send_once(request).await
}

async fn send_once(request: RequestBuilder) -> Response {
    request
        .send()
        .await
        .expect("the API answers: is `make dev` running, or BASE_URL set?")
}

fn is_cargo_lambda_own_500(response: &Response) -> bool {
    response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && header(response, "content-type").is_some_and(|t| t.starts_with("text/plain"))
}

/// A valid payment request, with `amount` as given.
pub fn payment_request(amount: &str) -> Value {
    json!({
        "attributes": {
            "amount": amount,
            "currency": "GBP",
            "beneficiary_party": {
                "account_name": "A Okafor",
                "account_number": "41209377",
                "account_number_code": "BBAN",
                "bank_id": "402716",
                "bank_id_code": "GBDSC",
                "name": "Adaeze Okafor"
            },
            "debtor_party": {
                "account_name": "M Lindqvist",
                "account_number": "GB82WEST12345698765432",
                "account_number_code": "IBAN",
                "name": "Maja Lindqvist"
            },
            "end_to_end_reference": "Invoice 2026-118",
            "payment_scheme": "FPS",
            "payment_type": "Credit",
            "processing_date": "2026-11-25",
            "reference": "Consulting invoice 118"
        }
    })
}

pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A key no other run has used.
pub fn unique_key() -> String {
    format!("e2e-{}", uuid::Uuid::new_v4())
}
