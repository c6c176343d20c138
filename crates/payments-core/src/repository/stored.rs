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
//! which any language's standard library reads:
//!
//! - format 1: raw DEFLATE of the JSON;
//! - format 2: raw DEFLATE of the JSON with `stored-dictionary.txt` (beside this file) as the
//!   preset dictionary, the field names and common codes a payment's JSON repeats. A reader
//!   passes the file to its inflater (zlib's `inflateSetDictionary`, Python's
//!   `zlib.decompressobj(-15, zdict=...)`). The file can never change: a new dictionary is a new
//!   format byte.
//!
//! Both are read, so a value is read whichever release wrote it. What is read back is checked to
//! be a JSON object and kept as text ([`StoredAttributes`]): this service wrote it from
//! attributes that passed every rule.

use std::cell::RefCell;

use serde::Serialize;
use zlib_rs::{Deflate, DeflateFlush, Inflate, InflateFlush, Status};

use crate::domain::StoredAttributes;

/// The first byte of a stored value: raw DEFLATE of the attributes' JSON.
const DEFLATED_JSON: u8 = 1;

/// The first byte of a stored value: raw DEFLATE of the attributes' JSON, with [`DICTIONARY`].
const DEFLATED_JSON_WITH_DICTIONARY: u8 = 2;

/// The preset dictionary of format 2. Its bytes are part of the format.
const DICTIONARY: &[u8] = include_bytes!("stored-dictionary.txt");

/// DEFLATE level 1, zlib-rs's fastest: fixed Huffman codes, so nothing to build per value, and
/// with the dictionary a payment's field names are short matches. A payment takes about two
/// thirds of format 1's bytes, in about a quarter of the time (docs/benchmarks.md, "A preset
/// dictionary").
const LEVEL: i32 = 1;

/// A request body is at most 32 KiB, so attributes that inflate to more than this are not ours.
const MAX_JSON: usize = 64 * 1024;

/// DEFLATE's largest window, which a reader must allow for: 2^15 bytes.
const WINDOW_BITS: u8 = 15;

/// The stored form of `attributes`, parsed from a request or as they were stored: format 2.
pub(super) fn encode(attributes: &impl Serialize) -> Vec<u8> {
    thread_local! {
        /// One deflater, reset for each value: a new one is about 370 KB of fresh pages.
        static DEFLATE: RefCell<Deflate> = RefCell::new(Deflate::new(LEVEL, false, WINDOW_BITS));
    }
    let json = serde_json::to_vec(attributes).expect("attributes always serialize");
    DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        deflated(
            deflate,
            DEFLATED_JSON_WITH_DICTIONARY,
            Some(DICTIONARY),
            &json,
        )
    })
}

/// `json` behind the `format` byte, in raw DEFLATE from a fresh or reset `deflate`, with
/// `dictionary` as its preset dictionary if there is one.
fn deflated(deflate: &mut Deflate, format: u8, dictionary: Option<&[u8]>, json: &[u8]) -> Vec<u8> {
    if let Some(dictionary) = dictionary {
        deflate
            .set_dictionary(dictionary)
            .expect("a new or reset stream takes a dictionary");
    }
    let mut stored = vec![0; 1 + zlib_rs::compress_bound(json.len())];
    stored[0] = format;
    let status = deflate.compress(json, &mut stored[1..], DeflateFlush::Finish);
    assert_eq!(status, Ok(Status::StreamEnd), "the bound holds any input");
    stored.truncate(1 + deflate.total_out() as usize);
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
    let dictionary = match stored.first() {
        Some(&DEFLATED_JSON) => None,
        Some(&DEFLATED_JSON_WITH_DICTIONARY) => Some(DICTIONARY),
        format => return Err(format!("unknown stored attributes format {format:?}")),
    };
    thread_local! {
        /// One inflater, reset for each value: a page inflates one value per payment.
        static INFLATE: RefCell<Inflate> = RefCell::new(Inflate::new(false, WINDOW_BITS));
    }
    INFLATE.with_borrow_mut(|inflate| inflate_into_json(inflate, &stored[1..], dictionary))
}

fn inflate_into_json(
    inflate: &mut Inflate,
    compressed: &[u8],
    dictionary: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    let fail = |reason: &str| format!("stored attributes do not inflate: {reason}");
    inflate.reset(false);
    if let Some(dictionary) = dictionary {
        inflate
            .set_dictionary(dictionary)
            .map_err(|error| fail(error.as_str()))?;
    }
    // Attributes compress at least twofold; the buffer doubles if that was not enough.
    let mut json = vec![0; (compressed.len() * 4).clamp(256, MAX_JSON)];
    loop {
        let (read, written) = (inflate.total_in() as usize, inflate.total_out() as usize);
        let status = inflate
            .decompress(
                &compressed[read..],
                &mut json[written..],
                InflateFlush::NoFlush,
            )
            .map_err(|error| fail(error.as_str()))?;
        let written = inflate.total_out() as usize;
        match status {
            Status::StreamEnd => {
                json.truncate(written);
                return Ok(json);
            }
            _ if written == json.len() && json.len() < MAX_JSON => {
                json.resize((json.len() * 2).min(MAX_JSON), 0);
            }
            _ if written == json.len() => return Err(fail("longer than any request")),
            _ => return Err(fail("cut short")),
        }
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::testing::example_attributes;

    /// A value of `format`: `json` in raw DEFLATE, with [`DICTIONARY`] if the format has one.
    fn deflated(format: u8, json: &[u8]) -> Vec<u8> {
        let dictionary = (format == DEFLATED_JSON_WITH_DICTIONARY).then_some(DICTIONARY);
        super::deflated(
            &mut Deflate::new(LEVEL, false, WINDOW_BITS),
            format,
            dictionary,
            json,
        )
    }

    #[test]
    fn attributes_come_back_exactly_as_stored() {
        let attributes = example_attributes();
        let stored = encode(&attributes);
        assert_eq!(stored[0], DEFLATED_JSON_WITH_DICTIONARY);
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
    fn every_format_is_read() {
        let expected = StoredAttributes::of(&example_attributes());
        let json = expected.json().as_bytes();
        // Written by 0.4.1 (miniz_oxide, level 1), byte for byte.
        let format_1 = include_bytes!("testdata/format-1-example.bin");
        assert_eq!(format_1[0], DEFLATED_JSON);
        assert_eq!(decode(format_1).unwrap(), expected);
        let format_2 = deflated(DEFLATED_JSON_WITH_DICTIONARY, json);
        assert_eq!(decode(&format_2).unwrap(), expected);
        // Formats in turn on one thread's inflater: nothing of one value is left for the next.
        for value in [&format_2[..], format_1, &format_2, format_1] {
            assert_eq!(decode(value).unwrap(), expected);
        }
    }

    #[test]
    fn the_dictionary_of_format_2_is_the_one_values_were_written_with() {
        // Every value of format 2 needs these exact bytes to be read: a new dictionary is a new
        // format byte, never an edit of this file.
        let digest = Sha256::digest(DICTIONARY);
        assert_eq!(
            format!("{digest:x}"),
            "3c17bde6a4f276d9c7e5e6accffb569bd7071a2fb9ec64bdb1a627b2494de87b"
        );
    }

    #[test]
    fn a_full_payment_is_stored_in_well_under_a_kilobyte() {
        let stored = encode(&example_attributes());
        assert!(stored.len() < 450, "{} bytes", stored.len());
        // The same attributes again, on the same thread's deflater: the same bytes.
        assert_eq!(encode(&example_attributes()), stored);
    }

    #[test]
    fn values_that_are_not_stored_attributes_are_refused() {
        let stored = encode(&example_attributes());
        let mut unknown_format = stored.clone();
        unknown_format[0] = 3;
        let mut corrupt = stored.clone();
        corrupt.truncate(stored.len() / 2);
        let json = StoredAttributes::of(&example_attributes())
            .json()
            .to_owned();
        let mut without_its_dictionary = deflated(DEFLATED_JSON_WITH_DICTIONARY, json.as_bytes());
        without_its_dictionary[0] = DEFLATED_JSON;
        for format in [DEFLATED_JSON, DEFLATED_JSON_WITH_DICTIONARY] {
            let bad_values = [
                deflated(format, b"[1, 2]"),
                deflated(format, b"{\"amount\": "),
                deflated(format, &[0xff, 0xfe]),
                deflated(format, &[b' '; MAX_JSON + 1]),
            ];
            for bad in bad_values {
                assert!(decode(&bad).is_err(), "{bad:?}");
            }
        }
        for bad in [vec![], unknown_format, corrupt, without_its_dictionary] {
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
        let json = serde_json::to_vec(&json).unwrap();

        let read = decode(&deflated(DEFLATED_JSON_WITH_DICTIONARY, &json)).unwrap();

        let errors = read.parse().unwrap_err();
        assert_eq!(errors.fields()[0].field, "debtor_party.account_number");
    }
}
