//! Media types: v1 is `application/json` or `application/vnd.payments.v1+json`, and a response
//! echoes the one the client asked for.

use super::ApiError;

/// The payment media types this API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`: the current version, v1.
    Json,
    /// `application/vnd.payments.v1+json`: v1, named explicitly.
    PaymentsV1,
}

/// Errors use this type whatever the client accepts (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

impl MediaType {
    pub fn as_str(&self) -> &'static str {
        match self {
            MediaType::Json => "application/json",
            MediaType::PaymentsV1 => "application/vnd.payments.v1+json",
        }
    }

    /// The type of a request body, from its `Content-Type`; 415 for anything else.
    pub fn of_content(content_type: Option<&str>) -> Result<Self, ApiError> {
        let content_type = content_type.ok_or(ApiError::UnsupportedMediaType)?;
        let (essence, parameters) = split(content_type);
        let charset_ok = parameters.iter().all(|(name, value)| {
            !name.eq_ignore_ascii_case("charset") || value.eq_ignore_ascii_case("utf-8")
        });
        match Self::named(&essence) {
            Some(media_type) if charset_ok => Ok(media_type),
            _ => Err(ApiError::UnsupportedMediaType),
        }
    }

    /// The response type for an `Accept` header: the acceptable range with the highest `q`,
    /// earliest first among equals; `application/json` when the header is absent or blank.
    /// 406 when no range admits a type we serve (another version, `text/html`, ...).
    pub fn negotiate(accept: Option<&str>) -> Result<Self, ApiError> {
        let Some(accept) = accept.filter(|value| !value.trim().is_empty()) else {
            return Ok(MediaType::Json);
        };
        let mut best: Option<(u16, MediaType)> = None;
        for range in accept.split(',') {
            let (essence, parameters) = split(range);
            let quality = parameters
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("q"))
                .map_or(Some(1000), |(_, value)| quality(value));
            let Some(quality) = quality else {
                return Err(ApiError::BadRequest(
                    "Accept has a malformed q value".to_owned(),
                ));
            };
            let served = match essence.as_str() {
                "*/*" | "application/*" => Some(MediaType::Json),
                other => Self::named(other),
            };
            if let Some(served) = served
                && quality > 0
                && best.is_none_or(|(best_quality, _)| quality > best_quality)
            {
                best = Some((quality, served));
            }
        }
        best.map(|(_, media_type)| media_type)
            .ok_or(ApiError::NotAcceptable)
    }

    fn named(essence: &str) -> Option<Self> {
        match essence {
            "application/json" => Some(MediaType::Json),
            "application/vnd.payments.v1+json" => Some(MediaType::PaymentsV1),
            _ => None,
        }
    }
}

/// `type/subtype; a=b` into the lowercased essence and its parameters.
fn split(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let parameters = parts
        .filter_map(|part| {
            let (name, value) = part.split_once('=')?;
            Some((
                name.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect();
    (essence, parameters)
}

/// A q-value in thousandths: `0`, `0.5`, `1.000`; `None` when malformed.
fn quality(text: &str) -> Option<u16> {
    let (integer, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match integer {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_served_when_nothing_is_asked() {
        assert_eq!(MediaType::negotiate(None).unwrap(), MediaType::Json);
        assert_eq!(MediaType::negotiate(Some("*/*")).unwrap(), MediaType::Json);
        assert_eq!(
            MediaType::negotiate(Some("application/*")).unwrap(),
            MediaType::Json
        );
    }

    #[test]
    fn the_versioned_type_is_echoed() {
        let asked = Some("application/vnd.payments.v1+json");
        assert_eq!(MediaType::negotiate(asked).unwrap(), MediaType::PaymentsV1);
    }

    #[test]
    fn another_version_or_type_is_not_acceptable() {
        for accept in [
            "application/vnd.payments.v2+json",
            "text/html",
            "application/xml",
            "application/json;q=0",
        ] {
            assert!(
                matches!(
                    MediaType::negotiate(Some(accept)),
                    Err(ApiError::NotAcceptable)
                ),
                "{accept}"
            );
        }
    }

    #[test]
    fn the_highest_quality_acceptable_range_wins() {
        let accept = Some(
            "application/vnd.payments.v2+json, application/json;q=0.5, application/vnd.payments.v1+json;q=0.9",
        );
        assert_eq!(MediaType::negotiate(accept).unwrap(), MediaType::PaymentsV1);
    }

    #[test]
    fn a_malformed_quality_is_a_bad_request() {
        assert!(matches!(
            MediaType::negotiate(Some("application/json;q=2")),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn request_bodies_must_be_json_in_utf8() {
        assert_eq!(
            MediaType::of_content(Some("application/json")).unwrap(),
            MediaType::Json
        );
        assert_eq!(
            MediaType::of_content(Some("Application/JSON; charset=UTF-8")).unwrap(),
            MediaType::Json
        );
        assert_eq!(
            MediaType::of_content(Some("application/vnd.payments.v1+json")).unwrap(),
            MediaType::PaymentsV1
        );
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/json; charset=latin1"),
            Some("application/vnd.payments.v2+json"),
        ] {
            assert!(matches!(
                MediaType::of_content(content_type),
                Err(ApiError::UnsupportedMediaType)
            ));
        }
    }
}
