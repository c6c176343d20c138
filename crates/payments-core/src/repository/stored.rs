//! How a payment's attributes are kept in an item: the API's own JSON, compressed.
//!
//! DynamoDB bills a write per started kilobyte of item (twice that in a transaction) and a read
//! per 4 KB (summed over a query's items), attribute names included. As a DynamoDB map, the
//! attributes of a full payment (`docs/payment-request.json`) take 1,067 bytes, 590 of them
//! field names, so every such item was over 1 KB. Compressed, the same attributes take 619
//! bytes and the whole item 963: a create, update or delete costs 4 WCU instead of 8, and a
//! page of 20 from a list 2.5 RCU instead of 4 (docs/benchmarks.md).
//!
//! The value is one format byte, then the attributes' JSON (exactly as the API returns them:
//! amounts are decimal strings, nothing is rounded) compressed with raw DEFLATE (RFC 1951),
//! which any language's standard library reads. The format byte lets a later format be read
//! beside this one. What is read back is parsed by the same domain types as a request.

use serde::de::{self, Deserializer, Visitor};

use crate::domain::PaymentAttributes;

/// The first byte of a stored value: raw DEFLATE of the attributes' JSON.
const DEFLATED_JSON: u8 = 1;

/// DEFLATE level: 1 (the fastest) compresses a payment within 5% of the best level's size.
const LEVEL: u8 = 1;

/// A request body is at most 32 KiB, so attributes that inflate to more than this are not ours.
const MAX_JSON: usize = 64 * 1024;

/// The stored form of `attributes`.
pub(super) fn encode(attributes: &PaymentAttributes) -> Vec<u8> {
    let json = serde_json::to_vec(attributes).expect("attributes always serialize");
    let compressed = miniz_oxide::deflate::compress_to_vec(&json, LEVEL);
    let mut stored = Vec::with_capacity(1 + compressed.len());
    stored.push(DEFLATED_JSON);
    stored.extend_from_slice(&compressed);
    stored
}

/// The attributes of a stored value, parsed as a request's are.
pub(super) fn decode(stored: &[u8]) -> Result<PaymentAttributes, String> {
    let value = serde_json::from_slice(&json(stored)?)
        .map_err(|error| format!("stored attributes are not JSON: {error}"))?;
    PaymentAttributes::parse(&value).map_err(|errors| format!("stored attributes: {errors}"))
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
) -> Result<PaymentAttributes, D::Error> {
    struct Stored;

    impl Visitor<'_> for Stored {
        type Value = PaymentAttributes;

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

    #[test]
    fn attributes_come_back_exactly_as_stored() {
        let attributes = example_attributes();
        let stored = encode(&attributes);
        assert_eq!(stored[0], DEFLATED_JSON);
        assert_eq!(decode(&stored).unwrap(), attributes);
        // Amounts keep their exact decimal text.
        let json: serde_json::Value = serde_json::from_slice(&json(&stored).unwrap()).unwrap();
        assert_eq!(json["amount"], "250.75");
        assert_eq!(json["fx"]["exchange_rate"], "1.17000");
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
        let not_attributes = {
            let mut value = vec![DEFLATED_JSON];
            value.extend(miniz_oxide::deflate::compress_to_vec(br#"{"amount":1}"#, 1));
            value
        };
        let without_account = {
            let mut json = serde_json::to_value(example_attributes()).unwrap();
            json["debtor_party"]
                .as_object_mut()
                .unwrap()
                .remove("account_number");
            let json = serde_json::to_vec(&json).unwrap();
            let mut value = vec![DEFLATED_JSON];
            value.extend(miniz_oxide::deflate::compress_to_vec(&json, 1));
            value
        };
        let bomb = {
            let mut value = vec![DEFLATED_JSON];
            value.extend(miniz_oxide::deflate::compress_to_vec(
                &[b' '; MAX_JSON + 1],
                1,
            ));
            value
        };
        for bad in [
            vec![],
            unknown_format,
            corrupt,
            not_attributes,
            without_account,
            bomb,
        ] {
            assert!(decode(&bad).is_err(), "{bad:?}");
        }
    }
}
