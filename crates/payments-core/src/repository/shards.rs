//! Write sharding of the list index: how many GSI1 partitions an organisation's payments are
//! spread over (DESIGN.md section 4, "One organisation at thousands of payments a second").
//!
//! GSI1's partition key is the organisation and its sort key only grows, so DynamoDB cannot
//! split one organisation's index entries by heat: every index write of an organisation lands
//! on one partition, which takes at most 1,000 write units a second, and when the index is
//! throttled DynamoDB refuses the table write too. An organisation that needs more is given
//! `n` shards: payment `p` is indexed under `ORG#<org>#<k>` with `k = fnv1a(p.id) mod n`
//! (shard 0 keeps the plain `ORG#<org>`, so an organisation that never needs sharding, and
//! every payment written before sharding existed, is where it always was). Listing merges the
//! shards' queries, newest first.
//!
//! The count belongs to a period: `n` shards for payments created from a given moment on. A
//! payment's shard therefore follows from what it stores (its organisation, creation time and
//! id), so an update or delete rewrites the same index entry and never moves it, and the count
//! can grow (or shrink) later by adding a period that starts in the future, without rewriting
//! a single item. A period must never be edited or removed once payments were created in it.

use std::collections::HashMap;
use std::fmt;

use crate::domain::{OrganisationId, PaymentId, Timestamp};

/// More shards than this would make a page of a sharded organisation cost more than 20 read
/// units (one query per shard, half a unit at least each): docs/benchmarks.md, "Capacity".
pub const MAX_SHARDS: u16 = 40;

/// From `from` on (from the beginning when `None`), payments are spread over `shards`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Period {
    from: Option<Timestamp>,
    shards: u16,
}

/// The shard counts of the organisations that have more than one (`LIST_SHARDS`). Every other
/// organisation has the table's default, one shard (the single index partition it always had)
/// unless `*` sets another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListShards {
    /// Each named organisation's periods, oldest first.
    organisations: HashMap<OrganisationId, Vec<Period>>,
    /// The periods of every organisation not named, oldest first.
    default: Vec<Period>,
}

/// `LIST_SHARDS` that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidListShards(String);

impl ListShards {
    /// Parses `LIST_SHARDS`: entries separated by spaces, commas or newlines, each
    /// `<organisation id>=<shards>` (from the beginning) or `<organisation id>=<shards>@<from>`
    /// (for payments created at or after the RFC 3339 timestamp `<from>`). `*` in place of the
    /// organisation id sets the count of every organisation not named.
    ///
    /// `5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60=32@2027-01-01T00:00:00.000Z` spreads that
    /// organisation's payments created in 2027 and later over 32 shards; the older ones stay
    /// on one.
    pub fn parse(text: &str) -> Result<Self, InvalidListShards> {
        let invalid = |entry: &str, reason: &str| {
            InvalidListShards(format!(
                "{entry:?}: {reason} (expected <organisation id>=<shards>[@<from>], \
                 with 1 to {MAX_SHARDS} shards)"
            ))
        };
        let mut organisations: HashMap<OrganisationId, Vec<Period>> = HashMap::new();
        let mut default = Vec::new();
        for entry in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
        {
            let (organisation, rest) = entry
                .split_once('=')
                .ok_or_else(|| invalid(entry, "no '='"))?;
            let organisation: Option<OrganisationId> = match organisation {
                "*" => None,
                id => Some(
                    id.parse()
                        .map_err(|_| invalid(entry, "not an organisation id"))?,
                ),
            };
            let (shards, from) = match rest.split_once('@') {
                Some((shards, from)) => (shards, Some(from)),
                None => (rest, None),
            };
            let shards: u16 = shards
                .parse()
                .ok()
                .filter(|n| (1..=MAX_SHARDS).contains(n))
                .ok_or_else(|| invalid(entry, "not a shard count"))?;
            let from = from
                .map(|from| {
                    from.parse::<Timestamp>()
                        .map_err(|_| invalid(entry, "not an RFC 3339 timestamp"))
                })
                .transpose()?;
            let periods = match organisation {
                Some(id) => organisations.entry(id).or_default(),
                None => &mut default,
            };
            if periods.iter().any(|period| period.from == from) {
                return Err(invalid(entry, "a second period starting at the same time"));
            }
            periods.push(Period { from, shards });
        }
        for periods in organisations.values_mut().chain([&mut default]) {
            // `None` (the beginning) sorts first.
            periods.sort_by_key(|period| period.from);
        }
        Ok(Self {
            organisations,
            default,
        })
    }

    /// The periods of `organisation`, oldest first; none when it has one shard throughout.
    fn periods(&self, organisation: OrganisationId) -> &[Period] {
        self.organisations
            .get(&organisation)
            .unwrap_or(&self.default)
    }

    /// How many shards the payments of `organisation` created at `created_at` are spread over.
    fn count_at(&self, organisation: OrganisationId, created_at: Timestamp) -> u16 {
        self.periods(organisation)
            .iter()
            .rev()
            .find(|period| period.from.is_none_or(|from| from <= created_at))
            .map_or(1, |period| period.shards)
    }

    /// The shard of a payment's index entry. The same for every version of the payment.
    pub fn shard_of(
        &self,
        organisation: OrganisationId,
        created_at: Timestamp,
        id: PaymentId,
    ) -> Shard {
        let count = self.count_at(organisation, created_at);
        Shard((fnv1a(id.as_uuid().as_bytes()) % u64::from(count)) as u16)
    }

    /// The GSI1 partition key of a payment's index entry: its organisation's key, in the
    /// payment's shard.
    pub fn index_partition(
        &self,
        organisation: OrganisationId,
        created_at: Timestamp,
        id: PaymentId,
    ) -> String {
        super::keys::organisation_shard_pk(
            organisation,
            self.shard_of(organisation, created_at, id),
        )
    }

    /// The shards that can hold payments of `organisation` created at or before `until` (at any
    /// time when `None`): `0..n`, where `n` is the largest count of the periods that had begun.
    pub fn shards_until(&self, organisation: OrganisationId, until: Option<Timestamp>) -> u16 {
        self.periods(organisation)
            .iter()
            .filter(|period| match (period.from, until) {
                (Some(from), Some(until)) => from <= until,
                _ => true,
            })
            .map(|period| period.shards)
            .max()
            .unwrap_or(1)
    }
}

/// One of an organisation's index partitions; 0 is the organisation's original one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard(pub u16);

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// 64-bit FNV-1a. Fixed forever: it decides where existing index entries are.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60";

    fn org() -> OrganisationId {
        ORG.parse().unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn an_organisation_not_named_has_one_shard() {
        let shards = ListShards::parse("").unwrap();
        let id = PaymentId::generate(at("2026-12-01T00:00:00.000Z"));
        assert_eq!(
            shards.shard_of(org(), at("2026-12-01T00:00:00.000Z"), id),
            Shard(0)
        );
        assert_eq!(shards.shards_until(org(), None), 1);
    }

    #[test]
    fn payments_spread_evenly_over_the_shards() {
        let shards = ListShards::parse(&format!("{ORG}=32")).unwrap();
        let created_at = at("2026-12-01T00:00:00.000Z");
        let mut counts = [0u32; 32];
        for _ in 0..32_000 {
            let shard = shards.shard_of(org(), created_at, PaymentId::generate(created_at));
            counts[usize::from(shard.0)] += 1;
        }
        // 1,000 expected in each; binomial spread is about 31.
        assert!(
            counts.iter().all(|n| (850..=1150).contains(n)),
            "{counts:?}"
        );
    }

    #[test]
    fn the_count_belongs_to_the_period_a_payment_was_created_in() {
        let shards =
            ListShards::parse(&format!("{ORG}=4@2027-01-01T00:00:00.000Z,{ORG}=2")).unwrap();
        let before = at("2026-12-31T23:59:59.999Z");
        let after = at("2027-01-01T00:00:00.000Z");
        assert_eq!(shards.count_at(org(), before), 2);
        assert_eq!(shards.count_at(org(), after), 4);
        assert_eq!(shards.shards_until(org(), Some(before)), 2);
        assert_eq!(shards.shards_until(org(), Some(after)), 4);
        assert_eq!(shards.shards_until(org(), None), 4);
        let only_later = ListShards::parse(&format!("{ORG}=8@2027-01-01T00:00:00.000Z")).unwrap();
        assert_eq!(only_later.count_at(org(), before), 1);
        assert_eq!(only_later.shards_until(org(), Some(before)), 1);
    }

    #[test]
    fn a_star_sets_every_organisation_not_named() {
        let shards = ListShards::parse(&format!("*=4 {ORG}=16")).unwrap();
        let other = "11111111-1111-4111-8111-111111111111".parse().unwrap();
        assert_eq!(shards.shards_until(org(), None), 16);
        assert_eq!(shards.shards_until(other, None), 4);
    }

    #[test]
    fn the_shard_of_an_id_never_changes() {
        // Index entries already written depend on these values.
        let id: PaymentId = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41".parse().unwrap();
        let shards = ListShards::parse(&format!("{ORG}=32")).unwrap();
        let shard = shards.shard_of(org(), at("2026-12-01T00:00:00.000Z"), id);
        assert_eq!(shard, Shard((fnv1a(id.as_uuid().as_bytes()) % 32) as u16));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn bad_settings_are_refused_with_the_entry_named() {
        for (text, entry) in [
            ("x=2".to_owned(), "x=2".to_owned()),
            (ORG.to_owned(), ORG.to_owned()),
            (format!("{ORG}=0"), format!("{ORG}=0")),
            (format!("{ORG}=41"), format!("{ORG}=41")),
            (format!("{ORG}=two"), format!("{ORG}=two")),
            (format!("{ORG}=2@yesterday"), format!("{ORG}=2@yesterday")),
            (format!("{ORG}=2 {ORG}=4"), format!("{ORG}=4")),
        ] {
            let error = ListShards::parse(&text).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("{entry:?}: ")),
                "{text}: {error}"
            );
        }
    }
}
