//! `make capacity`: where the write units of a workload land, from the code's own keys.
//!
//! DynamoDB takes at most 1,000 write units a second on one partition key (of the table, or of
//! a global secondary index, whose throttling refuses the table's write too). For each
//! workload, one second of creates, each followed by one update, is laid out with the keys the
//! repository writes ([`keys::payment_pk`] for the payment's items, and
//! [`ListShards::index_partition`] for its GSI1 entry), each write costing what the capacity
//! meter measured for that operation against DynamoDB Local (table and index units apart).
//! The busiest key of each kind is what throttles first.

use std::collections::HashMap;
use std::fmt::Write as _;

use payments_core::domain::{OrganisationId, PaymentId, Timestamp};
use payments_core::repository::{ListShards, keys};
use serde_json::Value;

/// What one partition key takes, a second.
pub const PARTITION_WCU: f64 = 1_000.0;
/// The target for the list index: half of it, leaving room for bursts and a second workload.
pub const INDEX_TARGET_WCU: f64 = 500.0;

/// Write units of one operation, on the table and on GSI1, as measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteCost {
    pub table: f64,
    pub index: f64,
}

/// The measured costs the model needs: a create and an update (`If-Match` a version).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    pub create: WriteCost,
    pub update: WriteCost,
}

impl Costs {
    /// From the rows of the capacity table (`aws_write_units`, `aws_index_write_units`).
    pub fn from_rows(rows: &[Value]) -> Option<Self> {
        let cost = |operation: &str| {
            let row = rows.iter().find(|row| row["operation"] == operation)?;
            Some(WriteCost {
                table: row["aws_write_units"].as_f64()?,
                index: row["aws_index_write_units"].as_f64()?,
            })
        };
        Some(Self {
            create: cost("create")?,
            update: cost("update (If-Match: version)")?,
        })
    }
}

/// Organisations creating payments at a steady rate, each created payment updated once.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub organisations: usize,
    pub creates_per_second: usize,
    /// The list index shards of every organisation of the workload.
    pub shards: u16,
}

/// Write units a second on the busiest key of each kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub table: f64,
    pub index: f64,
    /// The busiest index key with the creates alone (no update).
    pub index_creates_only: f64,
    /// Index partition keys written.
    pub index_keys: usize,
}

/// One second of `workload`, laid out on the repository's keys.
pub fn busiest(workload: Workload, costs: Costs) -> Load {
    let start: Timestamp = "2100-01-01T00:00:00.000Z".parse().expect("a timestamp");
    let mut table: HashMap<String, f64> = HashMap::new();
    let mut index: HashMap<String, f64> = HashMap::new();
    let mut index_creates: HashMap<String, f64> = HashMap::new();
    for _ in 0..workload.organisations {
        let organisation: OrganisationId = uuid::Uuid::new_v4().into();
        let shards = if workload.shards > 1 {
            ListShards::parse(&format!("{organisation}={}", workload.shards))
                .expect("a valid shard count")
        } else {
            ListShards::default()
        };
        for n in 0..workload.creates_per_second {
            let millis = (n * 1000 / workload.creates_per_second) as i64;
            let created_at = start.plus(time::Duration::milliseconds(millis));
            let id = PaymentId::generate(created_at);
            // The current version and its history versions share the payment's partition.
            *table.entry(keys::payment_pk(id)).or_default() +=
                costs.create.table + costs.update.table;
            let entry = shards.index_partition(organisation, created_at, id);
            *index.entry(entry.clone()).or_default() += costs.create.index + costs.update.index;
            *index_creates.entry(entry).or_default() += costs.create.index;
        }
    }
    let max = |map: &HashMap<String, f64>| map.values().copied().fold(0.0, f64::max);
    Load {
        table: max(&table),
        index: max(&index),
        index_creates_only: max(&index_creates),
        index_keys: index.len(),
    }
}

/// The workloads `make capacity` prints.
pub fn workloads() -> Vec<(&'static str, Workload)> {
    let one = |creates_per_second, shards| Workload {
        organisations: 1,
        creates_per_second,
        shards,
    };
    vec![
        (
            "10,000 organisations at 1 create/s each",
            Workload {
                organisations: 10_000,
                creates_per_second: 1,
                shards: 1,
            },
        ),
        ("one organisation at 1,000 creates/s", one(1_000, 1)),
        ("one organisation at 1,000 creates/s", one(1_000, 8)),
        ("one organisation at 10,000 creates/s", one(10_000, 1)),
        ("one organisation at 10,000 creates/s", one(10_000, 32)),
        ("one organisation at 10,000 creates/s", one(10_000, 40)),
    ]
}

/// The model's tables: write units on the busiest keys, and what a page of the list costs
/// (from the capacity table's list rows).
pub fn report(rows: &[Value]) -> String {
    let mut out = String::new();
    let Some(costs) = Costs::from_rows(rows) else {
        return "capacity model: the capacity table has no create or update row\n".to_owned();
    };
    let _ = writeln!(
        out,
        "\nWrite units a second on the busiest partition key, one second of each workload \
         (each create followed by one update), at the measured costs: create {} table + {} \
         GSI1 WCU, update {} + {}. One key takes {PARTITION_WCU} WCU/s; the list index's \
         target is {INDEX_TARGET_WCU}.\n",
        costs.create.table, costs.create.index, costs.update.table, costs.update.index
    );
    let _ = writeln!(
        out,
        "| workload | shards | busiest table key | busiest GSI1 key | GSI1, creates alone | GSI1 keys | within 1,000 | within {INDEX_TARGET_WCU} |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|:---:|:---:|");
    for (name, workload) in workloads() {
        let load = busiest(workload, costs);
        let mark = |ok: bool| if ok { "yes" } else { "**no**" };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            workload.shards,
            load.table,
            load.index,
            load.index_creates_only,
            load.index_keys,
            mark(load.index <= PARTITION_WCU && load.table <= PARTITION_WCU),
            mark(load.index <= INDEX_TARGET_WCU),
        );
    }

    let _ = writeln!(
        out,
        "\nA page of the list, as measured (Queries are eventually consistent, 0.5 RCU per \
         4 KB each, at least 0.5):\n\n| list | Queries | AWS RCU |\n|---|---:|---:|"
    );
    for row in rows {
        let operation = row["operation"].as_str().unwrap_or_default();
        if !operation.starts_with("list") {
            continue;
        }
        let queries = row["calls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|call| call.as_str().is_some_and(|call| call.starts_with("Query")))
            .count();
        let _ = writeln!(
            out,
            "| {operation} | {queries} | {} |",
            row["aws_read_units"].as_f64().unwrap_or(0.0)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COSTS: Costs = Costs {
        create: WriteCost {
            table: 4.0,
            index: 1.0,
        },
        update: WriteCost {
            table: 4.0,
            index: 1.0,
        },
    };

    fn one_second(organisations: usize, creates_per_second: usize, shards: u16) -> Load {
        let workload = Workload {
            organisations,
            creates_per_second,
            shards,
        };
        busiest(workload, COSTS)
    }

    #[test]
    fn one_shard_puts_an_organisation_on_one_index_key() {
        let load = one_second(1, 1_000, 1);
        assert_eq!(load.index_keys, 1);
        assert_eq!(load.index, 2_000.0);
        assert_eq!(load.index_creates_only, 1_000.0);
        assert_eq!(load.table, 8.0, "every payment has its own table key");
    }

    #[test]
    fn shards_share_an_organisation_evenly() {
        let load = one_second(1, 10_000, 32);
        assert_eq!(load.index_keys, 32);
        // 625 a key on average, with a standard deviation of about 35; the busiest of 32 is
        // some two above, and five above would be a hash that does not spread.
        assert!((625.0..=800.0).contains(&load.index), "{}", load.index);
        assert!(
            load.index_creates_only <= 400.0,
            "{}",
            load.index_creates_only
        );
    }

    #[test]
    fn many_small_organisations_spread_by_themselves() {
        let load = one_second(10_000, 1, 1);
        assert_eq!(load.index_keys, 10_000);
        assert_eq!(load.index, 2.0);
    }
}
