//! The key that makes a create idempotent.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// An `Idempotency-Key`: 1 to 255 printable ASCII characters, chosen by the client.
///
/// Only its SHA-256 digest is stored, so keys that happen to carry customer data do not end up
/// in the table.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Hex SHA-256 of the key: fixed length, safe inside a DynamoDB key.
    pub fn digest(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }
}

impl FromStr for IdempotencyKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| (0x20..=0x7e).contains(&b))
        {
            return Err("Idempotency-Key must be 1 to 255 printable ASCII characters".to_owned());
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.digest())
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_printable_and_bounded() {
        assert!("order-118".parse::<IdempotencyKey>().is_ok());
        assert!("k".repeat(255).parse::<IdempotencyKey>().is_ok());
        assert!("k".repeat(256).parse::<IdempotencyKey>().is_err());
        assert!("".parse::<IdempotencyKey>().is_err());
        assert!("tab\tkey".parse::<IdempotencyKey>().is_err());
        assert!("clé".parse::<IdempotencyKey>().is_err());
    }

    #[test]
    fn the_same_key_always_has_the_same_digest() {
        let a: IdempotencyKey = "abc".parse().unwrap();
        assert_eq!(
            a.digest(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
