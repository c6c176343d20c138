//! What the routes read from a request, each turned into a domain value or an [`ApiError`].

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use super::json::StrictJson;
use super::{ApiError, MediaType};
use crate::domain::{
    ExpectedVersion, IdempotencyKey, OrganisationId, PageSize, PaymentId, Version,
};
use crate::identity::Identity;

/// Request bodies larger than this are refused with 413: a payment is a few KiB.
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// A request on its way through a route, with the media type negotiated for the response.
pub struct ApiRequest<'a> {
    inner: Request,
    identity: &'a Identity,
    media_type: MediaType,
}

impl<'a> ApiRequest<'a> {
    pub(super) fn new(inner: Request, identity: &'a Identity, media_type: MediaType) -> Self {
        Self {
            inner,
            identity,
            media_type,
        }
    }

    /// The negotiated response media type.
    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    fn header(&self, name: &str) -> Result<Option<&str>, ApiError> {
        self.inner
            .headers()
            .get(name)
            .map(|value| {
                value
                    .to_str()
                    .map_err(|_| ApiError::BadRequest(format!("{name} must be printable ASCII")))
            })
            .transpose()
    }

    /// The caller's organisation, from the claim the [`Identity`] names; 401 when the
    /// request carries none.
    pub fn organisation(&self) -> Result<OrganisationId, ApiError> {
        let claimed = match self.inner.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context
                .authorizer
                .as_ref()
                .and_then(|authorizer| authorizer.jwt.as_ref())
                .and_then(|jwt| jwt.claims.get(self.identity.claim())),
            _ => None,
        };
        self.identity
            .organisation(claimed.map(String::as_str))
            .ok_or(ApiError::Unauthorized)
    }

    /// The `{id}` of `/payments/{id}`; 400 unless it is a UUID.
    pub fn payment_id(&self) -> Result<PaymentId, ApiError> {
        let from_route = self.inner.path_parameters_ref().and_then(|p| p.first("id"));
        // Routers that do not fill path parameters still give the raw path.
        let id = match from_route {
            Some(id) => id.to_owned(),
            None => self
                .inner
                .raw_http_path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        id.parse().map_err(|_| {
            ApiError::BadRequest("the payment id in the path must be a UUID".to_owned())
        })
    }

    /// The JSON body; 415 for another content type, 413 past [`MAX_BODY_BYTES`], 400 when
    /// it is not JSON or repeats a member name in an object.
    pub fn json_body(&self) -> Result<Value, ApiError> {
        let body: &[u8] = self.inner.body();
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        MediaType::of_content(self.header("content-type")?)?;
        serde_json::from_slice::<StrictJson>(body)
            .map(|strict| strict.0)
            .map_err(|error| {
                ApiError::BadRequest(match error.classify() {
                    // Our own message (a duplicate member): safe and useful to return.
                    serde_json::error::Category::Data => {
                        format!("the request body is not valid: {error}")
                    }
                    _ => "the request body is not valid JSON".to_owned(),
                })
            })
    }

    /// `If-Match` of a PUT: 428 when absent.
    pub fn required_if_match(&self) -> Result<ExpectedVersion, ApiError> {
        self.if_match()?.ok_or(ApiError::PreconditionRequired)
    }

    /// `If-Match`, if present: `*` or the strong ETag `"<version>"` of one version.
    ///
    /// A list of ETags, or a weak one, can never be a single strong match on a version we
    /// hold, so those are 412 rather than 400 (RFC 9110 section 13.1.1).
    pub fn if_match(&self) -> Result<Option<ExpectedVersion>, ApiError> {
        let Some(value) = self.header("if-match")? else {
            return Ok(None);
        };
        let value = value.trim();
        if value == "*" {
            return Ok(Some(ExpectedVersion::Any));
        }
        let tags: Vec<&str> = value.split(',').map(str::trim).collect();
        let well_formed = |tag: &str| {
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"')
        };
        if !tags.iter().all(|tag| well_formed(tag)) {
            return Err(ApiError::BadRequest(
                "If-Match must be * or an ETag such as \"1\"".to_owned(),
            ));
        }
        // Strong ETags match character by character (RFC 9110 section 8.8.3.2): `"01"`, `"+1"`
        // and `""1""` are not `"1"`. Weak ones (`W/"1"`) never match.
        let strong_versions: Vec<Version> = tags
            .iter()
            .filter_map(|tag| {
                let digits = tag.strip_prefix('"')?.strip_suffix('"')?;
                let version = Version::new(digits.parse().ok()?)?;
                (version.to_string() == digits).then_some(version)
            })
            .collect();
        match strong_versions.as_slice() {
            [version] if tags.len() == 1 => Ok(Some(ExpectedVersion::Exactly(*version))),
            _ => Err(ApiError::PreconditionFailed),
        }
    }

    /// `Idempotency-Key`, if present; 400 when malformed.
    pub fn idempotency_key(&self) -> Result<Option<IdempotencyKey>, ApiError> {
        self.header("idempotency-key")?
            .map(|key| key.parse().map_err(ApiError::BadRequest))
            .transpose()
    }

    /// `limit` (1-100, default 20) and `cursor` of a list request; 400 when malformed.
    pub fn page(&self) -> Result<(PageSize, Option<String>), ApiError> {
        let query = self.inner.query_string_parameters_ref();
        let limit = match query.and_then(|q| q.first("limit")) {
            Some(text) => text.parse().map_err(ApiError::BadRequest)?,
            None => PageSize::default(),
        };
        let cursor = query.and_then(|q| q.first("cursor")).map(str::to_owned);
        Ok((limit, cursor))
    }

    /// The path without query, as the client sent it.
    pub fn path(&self) -> &str {
        self.inner.raw_http_path()
    }
}
