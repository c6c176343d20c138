//! The successful responses of the routes.

use http::StatusCode;
use http::header::{ETAG, HeaderName, LOCATION};
use serde::Serialize;

use crate::domain::{PageSize, Payment, StoredPayment};
use crate::service::{Created, PaymentPage};

/// The header that marks a create answered from its `Idempotency-Key`.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A successful response; [`super::serve`] adds the negotiated `Content-Type`.
#[derive(Debug)]
pub struct ApiResponse {
    pub(super) status: StatusCode,
    pub(super) headers: Vec<(HeaderName, String)>,
    pub(super) body: Option<Vec<u8>>,
}

impl ApiResponse {
    /// `status` with `body` as JSON.
    pub fn json(status: StatusCode, body: &impl Serialize) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Some(serde_json::to_vec(body).expect("response bodies always serialize")),
        }
    }

    /// 204 with no body.
    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A payment, with its version as a strong `ETag`.
    pub fn payment<A: Serialize>(status: StatusCode, payment: &Payment<A>) -> Self {
        Self::json(status, payment).with_header(ETAG, etag(payment))
    }

    /// 201 with the payment and its `Location`; an idempotent repeat says so in
    /// `Idempotent-Replayed: true`.
    pub fn created(created: &Created) -> Self {
        let response = match created {
            Created::New(payment) => Self::payment(StatusCode::CREATED, payment),
            Created::Replayed(payment) => Self::payment(StatusCode::CREATED, payment)
                .with_header(IDEMPOTENT_REPLAYED, "true".to_owned()),
        };
        response.with_header(LOCATION, format!("/payments/{}", created.id()))
    }

    /// A list page: `{"data": [...], "links": {"self": ..., "next": ...}}`.
    pub fn page(page: &PaymentPage, limit: PageSize, cursor: Option<&str>) -> Self {
        let link = |cursor: Option<&str>| match cursor {
            Some(cursor) => format!("/payments?limit={limit}&cursor={cursor}"),
            None => format!("/payments?limit={limit}"),
        };
        Self::json(
            StatusCode::OK,
            &PageBody {
                data: &page.payments,
                links: Links {
                    this: link(cursor.filter(|c| is_url_safe(c))),
                    next: page.next_cursor.as_deref().map(|next| link(Some(next))),
                },
            },
        )
    }

    pub fn with_header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The body of a list page. Written field by field, not through `serde_json::Value`, which
/// would parse every payment's stored attributes again.
#[derive(Serialize)]
struct PageBody<'a> {
    data: &'a [StoredPayment],
    links: Links,
}

#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    next: Option<String>,
}

/// The strong ETag of a payment: its version, quoted.
pub fn etag<A>(payment: &Payment<A>) -> String {
    format!("\"{}\"", payment.version())
}

/// Cursors we issue are base64url; anything else is not echoed into a link.
fn is_url_safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
