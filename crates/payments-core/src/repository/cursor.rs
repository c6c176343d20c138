//! The list cursor: one position in an organisation's list, encoded for a URL as a GSI1
//! `LastEvaluatedKey`.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{OrganisationId, PaymentId, Timestamp};

use super::keys;

/// A position in an organisation's list of payments: the last payment of the previous page.
///
/// It travels as the URL-safe base64 of the GSI1 `LastEvaluatedKey` that position had before
/// the index was sharded (`pk`, `sk`, `gsi1pk` of the organisation's shard 0, `gsi1sk`), so
/// cursors issued before sharding still work: one position serves every shard, since the
/// list's order (`gsi1sk`) is one order across them. Decoding checks every key, so a cursor a
/// client edited can only ever point at a position inside the organisation it names, and
/// [`crate::service::Payments::list`] rejects one that names another organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub organisation_id: OrganisationId,
    pub created_at: Timestamp,
    pub payment_id: PaymentId,
}

/// A cursor that is not one this API issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed cursor")]
pub struct MalformedCursor;

/// Cursors are short; anything longer is not one of ours and is not worth decoding.
const MAX_ENCODED_LEN: usize = 512;

impl Cursor {
    /// The URL-safe text of this cursor.
    pub fn encode(&self) -> String {
        let key = BTreeMap::from([
            ("pk", keys::payment_pk(self.payment_id)),
            ("sk", keys::CURRENT.to_owned()),
            ("gsi1pk", keys::organisation_pk(self.organisation_id)),
            ("gsi1sk", keys::created_sk(self.created_at, self.payment_id)),
        ]);
        let json = serde_json::to_vec(&key).expect("a map of strings always serializes");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Parses the text made by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Self, MalformedCursor> {
        if text.len() > MAX_ENCODED_LEN {
            return Err(MalformedCursor);
        }
        let json = URL_SAFE_NO_PAD.decode(text).map_err(|_| MalformedCursor)?;
        let key: HashMap<String, String> =
            serde_json::from_slice(&json).map_err(|_| MalformedCursor)?;
        let field = |name: &str| key.get(name).map(String::as_str).ok_or(MalformedCursor);
        if key.len() != 4 || field("sk")? != keys::CURRENT {
            return Err(MalformedCursor);
        }
        let organisation_id =
            keys::parse_organisation_pk(field("gsi1pk")?).ok_or(MalformedCursor)?;
        let (created_at, payment_id) =
            keys::parse_created_sk(field("gsi1sk")?).ok_or(MalformedCursor)?;
        if field("pk")? != keys::payment_pk(payment_id) {
            return Err(MalformedCursor);
        }
        Ok(Self {
            organisation_id,
            created_at,
            payment_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            organisation_id: "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60".parse().unwrap(),
            created_at: "2026-11-24T09:15:02.481Z".parse().unwrap(),
            payment_id: "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41".parse().unwrap(),
        }
    }

    #[test]
    fn a_cursor_decodes_to_what_was_encoded() {
        let encoded = cursor().encode();
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(Cursor::decode(&encoded), Ok(cursor()));
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for text in [
            "",
            "abc",
            "!!!",
            &"A".repeat(600),
            &URL_SAFE_NO_PAD.encode("[1,2]"),
        ] {
            assert_eq!(Cursor::decode(text), Err(MalformedCursor), "{text}");
        }
    }

    #[test]
    fn a_cursor_whose_keys_disagree_is_rejected() {
        let tampered = serde_json::json!({
            "pk": "PAYMENT#11111111-1111-4111-8111-111111111111",
            "sk": "CURRENT",
            "gsi1pk": "ORG#5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60",
            "gsi1sk": "2026-11-24T09:15:02.481Z#0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41",
        });
        let text = URL_SAFE_NO_PAD.encode(tampered.to_string());
        assert_eq!(Cursor::decode(&text), Err(MalformedCursor));
    }

    #[test]
    fn a_cursor_with_an_extra_key_is_rejected() {
        let mut value: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor().encode()).unwrap()).unwrap();
        value["extra"] = "x".into();
        let text = URL_SAFE_NO_PAD.encode(value.to_string());
        assert_eq!(Cursor::decode(&text), Err(MalformedCursor));
    }
}
