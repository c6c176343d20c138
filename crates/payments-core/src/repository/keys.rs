//! The table's attribute names and the formats of its key values (DESIGN.md section 4).

use super::shards::Shard;
use crate::domain::{OrganisationId, PaymentId, Timestamp, Version};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const EXPIRES_AT: &str = "expires_at";

pub const CURRENT: &str = "CURRENT";
pub const IDEMPOTENCY: &str = "IDEMPOTENCY";
pub const VERSION_PREFIX: &str = "VERSION#";

pub fn payment_pk(id: PaymentId) -> String {
    format!("PAYMENT#{id}")
}

/// Zero-padded to the width of a `u64`, so versions sort as numbers.
pub fn version_sk(version: Version) -> String {
    format!("{VERSION_PREFIX}{:020}", version.get())
}

pub fn organisation_pk(id: OrganisationId) -> String {
    format!("ORG#{id}")
}

/// The GSI1 partition of one of an organisation's shards ([`super::shards`]): shard 0 is the
/// organisation's own `ORG#<org>`, the others `ORG#<org>#<shard>`.
pub fn organisation_shard_pk(id: OrganisationId, shard: Shard) -> String {
    match shard {
        Shard(0) => organisation_pk(id),
        Shard(n) => format!("ORG#{id}#{n}"),
    }
}

pub fn parse_organisation_pk(text: &str) -> Option<OrganisationId> {
    text.strip_prefix("ORG#")?.parse().ok()
}

/// `<created_at>#<id>`: timestamps have a fixed width, so this sorts by creation time and
/// the id breaks ties between payments created in the same millisecond.
pub fn created_sk(created_at: Timestamp, id: PaymentId) -> String {
    format!("{created_at}#{id}")
}

pub fn parse_created_sk(text: &str) -> Option<(Timestamp, PaymentId)> {
    let (created_text, id) = text.split_once('#')?;
    let created_at: Timestamp = created_text.parse().ok()?;
    // Only the canonical spelling, so a decoded key re-encodes to the same bytes.
    if created_at.to_string() != created_text {
        return None;
    }
    Some((created_at, id.parse().ok()?))
}

pub fn idempotency_pk(organisation_id: OrganisationId, key_digest: &str) -> String {
    format!("IDEMPOTENCY#{organisation_id}#{key_digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_sort_as_numbers() {
        let v = |n| version_sk(Version::new(n).unwrap());
        assert!(v(9) < v(10));
        assert!(v(99) < v(100));
        assert_eq!(v(1), "VERSION#00000000000000000001");
    }

    #[test]
    fn shard_zero_is_the_organisation_itself() {
        let org = "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60".parse().unwrap();
        assert_eq!(organisation_shard_pk(org, Shard(0)), organisation_pk(org));
        assert_eq!(
            organisation_shard_pk(org, Shard(7)),
            "ORG#5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60#7"
        );
        // A cursor names the organisation, never a shard.
        assert_eq!(
            parse_organisation_pk(&organisation_shard_pk(org, Shard(7))),
            None
        );
    }

    #[test]
    fn created_keys_parse_back_only_in_canonical_form() {
        let id = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41".parse().unwrap();
        let at = "2026-11-24T09:15:02.481Z".parse().unwrap();
        assert_eq!(parse_created_sk(&created_sk(at, id)), Some((at, id)));
        assert_eq!(
            parse_created_sk("2026-11-24T10:15:02.481+01:00#0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41"),
            None
        );
    }
}
