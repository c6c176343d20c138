//! How a payment's attributes are kept in an item: the API's own JSON, compressed.
//!
//! DynamoDB bills a write per started kilobyte of item (twice that in a transaction, and once
//! more for the list index's entry, which holds every attribute of a current item) and a read
//! per 4 KB (summed over a query's items), attribute names included. As a DynamoDB map, a full
//! payment's attributes are mostly field names, and put its items over a kilobyte; compressed,
//! they leave the items under one, which halves the write units of every create, update and
//! delete (table and index alike) and cuts those of a list page (the sizes and units:
//! docs/benchmarks.md, `make capacity`).
//!
//! The value is one format byte, then the attributes' JSON (exactly as the API returns them:
//! amounts are decimal strings, nothing is rounded) compressed with raw DEFLATE (RFC 1951),
//! which any language's standard library reads. The format byte lets a later format be read
//! beside this one. What is read back is checked to be a JSON object and kept as text
//! ([`StoredAttributes`]): this service wrote it from attributes that passed every rule.

use serde::Serialize;
use serde::de::{self, Deserializer, Visitor};

use crate::domain::StoredAttributes;

/// The first byte of a stored value: raw DEFLATE of the attributes' JSON.
const DEFLATED_JSON: u8 = 1;

/// DEFLATE level: 1, the fastest, compresses a payment nearly as small as the best level
/// does (docs/benchmarks.md, "Figures the code refers to").
const LEVEL: u8 = 1;

/// A request body is at most 32 KiB, so attributes that inflate to more than this are not ours.
const MAX_JSON: usize = 64 * 1024;

/// The stored form of `attributes`, parsed from a request or as they were stored.
pub(super) fn encode(attributes: &impl Serialize) -> Vec<u8> {
    let json = serde_json::to_vec(attributes).expect("attributes always serialize");
    let compressed = miniz_oxide::deflate::compress_to_vec(&json, LEVEL);
    let mut stored = Vec::with_capacity(1 + compressed.len());
    stored.push(DEFLATED_JSON);
    stored.extend_from_slice(&compressed);
    stored
}

/// The attributes of a stored value, as they were stored.
pub(super) fn decode(stored: &[u8]) -> Result<StoredAttributes, String> {
    let json = String::from_utf8(json(stored)?)
        .map_err(|_| "stored attributes are not UTF-8".to_owned())?;
    StoredAttributes::from_json(json)
        .ok_or_else(|| "stored attributes are not a JSON object".to_owned())
}

/// The JSON text inside a stored value.
pub(crate) fn json(stored: &[u8]) -> Result<Vec<u8>, String> {
    let Some((&DEFLATED_JSON, compressed)) = stored.split_first() else {
        return Err(format!(
            "unknown stored attributes format {:?}",
            stored.first()
        ));
    };
    miniz_oxide::inflate::decompress_to_vec_with_limit(compressed, MAX_JSON)
        .map_err(|error| format!("stored attributes do not inflate: {error}"))
}

/// `serialize_with` for stored attributes already encoded.
pub(super) fn serialize_bytes<S: serde::Serializer>(
    stored: &&[u8],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(stored)
}

/// `deserialize_with` for a stored value: a binary attribute, decoded.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<StoredAttributes, D::Error> {
    struct Stored;

    impl Visitor<'_> for Stored {
        type Value = StoredAttributes;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a binary attribute of stored payment attributes")
        }

        fn visit_bytes<E: de::Error>(self, stored: &[u8]) -> Result<Self::Value, E> {
            decode(stored).map_err(E::custom)
        }
    }

    deserializer.deserialize_bytes(Stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::example_attributes;

    fn deflated(json: &[u8]) -> Vec<u8> {
        let mut value = vec![DEFLATED_JSON];
        value.extend(miniz_oxide::deflate::compress_to_vec(json, 1));
        value
    }

    #[test]
    fn attributes_come_back_exactly_as_stored() {
        let attributes = example_attributes();
        let stored = encode(&attributes);
        assert_eq!(stored[0], DEFLATED_JSON);
        let read = decode(&stored).unwrap();
        assert_eq!(read, StoredAttributes::of(&attributes));
        assert_eq!(read.parse().unwrap(), attributes);
        // Amounts keep their exact decimal text.
        let json: serde_json::Value = serde_json::from_str(read.json()).unwrap();
        assert_eq!(json["amount"], "250.75");
        assert_eq!(json["fx"]["exchange_rate"], "1.17000");
        assert_eq!(encode(&read), stored, "stored again as they were");
    }

    #[test]
    fn a_full_payment_is_stored_in_well_under_a_kilobyte() {
        let stored = encode(&example_attributes());
        assert!(stored.len() < 700, "{} bytes", stored.len());
    }

    #[test]
    fn values_that_are_not_stored_attributes_are_refused() {
        let stored = encode(&example_attributes());
        let mut unknown_format = stored.clone();
        unknown_format[0] = 2;
        let mut corrupt = stored.clone();
        corrupt.truncate(stored.len() / 2);
        let bomb = deflated(&[b' '; MAX_JSON + 1]);
        for bad in [
            vec![],
            unknown_format,
            corrupt,
            deflated(b"[1, 2]"),
            deflated(b"{\"amount\": "),
            deflated(&[0xff, 0xfe]),
            bomb,
        ] {
            assert!(decode(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stored_attributes_are_not_checked_again_until_parsed() {
        let mut json = serde_json::to_value(example_attributes()).unwrap();
        json["debtor_party"]
            .as_object_mut()
            .unwrap()
            .remove("account_number");

        let read = decode(&deflated(&serde_json::to_vec(&json).unwrap())).unwrap();

        let errors = read.parse().unwrap_err();
        assert_eq!(errors.fields()[0].field, "debtor_party.account_number");
    }
}
