//! DynamoDB capacity per API operation, measured on the repository's own calls: an SDK
//! interceptor on the client asks every call for `ReturnConsumedCapacity::INDEXES` and records
//! what DynamoDB (Local) reports, beside the AWS figure computed from the sizes of the items
//! read and written, the list index's writes included (GSI1 projects every attribute, so each
//! write of a current item also writes its index entry). The repository is not changed for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};

type Item = HashMap<String, AttributeValue>;

/// One DynamoDB call and what it cost.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: &'static str,
    /// Items read (GetItem, Query) or written (TransactWriteItems), and their sizes in bytes.
    pub item_sizes: Vec<usize>,
    pub strongly_consistent: bool,
    /// What DynamoDB reported (`ConsumedCapacity.CapacityUnits`), if anything.
    pub reported: Option<f64>,
    /// Read and write units on AWS, from the item sizes (on-demand and provisioned alike):
    /// the table's, and GSI1's (the index entries the writes put or delete).
    pub aws_read: f64,
    pub aws_write: f64,
    pub aws_index_write: f64,
}

/// The interceptor; clone it into a client config and read [`CapacityMeter::take`].
#[derive(Debug, Clone, Default)]
pub struct CapacityMeter {
    calls: Arc<Mutex<Vec<Call>>>,
    /// Items last seen by key, for a transactional Delete (billed on the deleted item's size)
    /// and a Put over an existing item (billed on the larger of old and new), and their index
    /// entries.
    sizes: Arc<Mutex<HashMap<(String, String), Seen>>>,
    pending_writes: Arc<Mutex<Vec<usize>>>,
    pending_index_writes: Arc<Mutex<f64>>,
}

/// An item's size and the GSI1 partition it is indexed under, if any.
#[derive(Debug, Clone)]
struct Seen {
    size: usize,
    index_partition: Option<String>,
}

impl CapacityMeter {
    /// The calls made since the last `take`.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn remember(&self, item: &Item) -> usize {
        let size = item_size(item);
        if let Some(key) = key_of(item) {
            let index_partition = index_partition(item);
            self.sizes.lock().unwrap().insert(
                key,
                Seen {
                    size,
                    index_partition,
                },
            );
        }
        size
    }

    fn known(&self, key: &Item) -> Option<Seen> {
        self.sizes.lock().unwrap().get(&key_of(key)?).cloned()
    }

    fn known_size(&self, key: &Item) -> Option<usize> {
        self.known(key).map(|seen| seen.size)
    }
}

fn index_partition(item: &Item) -> Option<String> {
    item.get("gsi1pk")?.as_s().ok().cloned()
}

/// GSI1 write units of replacing `old` (if any) by an item of `new_size` indexed under
/// `new_partition` (if any): AWS's rules for a global secondary index, with the entry the size
/// of the item (the index projects every attribute). An entry put or deleted is one write of
/// its size; one rewritten under the same key is one write; one that moves is a delete and a
/// put.
fn index_write_units(old: Option<&Seen>, new_size: usize, new_partition: Option<&str>) -> f64 {
    let old_partition = old.and_then(|seen| seen.index_partition.as_deref());
    match (old_partition, new_partition) {
        (None, None) => 0.0,
        (None, Some(_)) => write_units(new_size),
        (Some(_), None) => write_units(old.map_or(0, |seen| seen.size)),
        (Some(old_key), Some(new_key)) if old_key == new_key => {
            write_units(new_size.max(old.map_or(0, |seen| seen.size)))
        }
        (Some(_), Some(_)) => write_units(old.map_or(0, |seen| seen.size)) + write_units(new_size),
    }
}

fn key_of(item: &Item) -> Option<(String, String)> {
    let text = |name: &str| item.get(name)?.as_s().ok().cloned();
    Some((text("pk")?, text("sk")?))
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        // DynamoDB bills a read on the whole item, whatever the repository's projection asks
        // for: the meter asks for whole items, to size them (and know them by their keys).
        if let Some(input) = input.downcast_mut::<GetItemInput>() {
            input.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
            input.projection_expression = None;
        } else if let Some(input) = input.downcast_mut::<QueryInput>() {
            input.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
            input.projection_expression = None;
        } else if let Some(input) = input.downcast_mut::<TransactWriteItemsInput>() {
            input.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
            let mut writes = Vec::new();
            let mut index_writes = 0.0;
            for item in input.transact_items.iter().flatten() {
                if let Some(put) = &item.put {
                    let new = item_size(&put.item);
                    let old = self.known(&put.item);
                    writes.push(new.max(old.as_ref().map_or(0, |seen| seen.size)));
                    index_writes +=
                        index_write_units(old.as_ref(), new, index_partition(&put.item).as_deref());
                    self.remember(&put.item);
                } else if let Some(delete) = &item.delete {
                    let old = self.known(&delete.key);
                    index_writes += index_write_units(old.as_ref(), 0, None);
                    writes.push(old.map_or(0, |seen| seen.size));
                } else if let Some(update) = &item.update {
                    writes.push(self.known_size(&update.key).unwrap_or(0));
                } else if item.condition_check.is_some() {
                    writes.push(0);
                }
            }
            *self.pending_writes.lock().unwrap() = writes;
            *self.pending_index_writes.lock().unwrap() = index_writes;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            // A cancelled transaction (a condition failed) reports no capacity; what it would
            // cost if billed in full is the upper bound shown.
            let sizes = std::mem::take(&mut *self.pending_writes.lock().unwrap());
            let index_writes = std::mem::take(&mut *self.pending_index_writes.lock().unwrap());
            if !sizes.is_empty() {
                self.calls.lock().unwrap().push(Call {
                    operation: "TransactWriteItems, cancelled",
                    aws_write: sizes.iter().map(|size| 2.0 * write_units(*size)).sum(),
                    aws_index_write: index_writes,
                    item_sizes: sizes,
                    strongly_consistent: true,
                    reported: None,
                    aws_read: 0.0,
                });
            }
            return Ok(());
        };
        let reported = |capacity: Option<&ConsumedCapacity>| capacity?.capacity_units();
        let call = if let Some(output) = output.downcast_ref::<GetItemOutput>() {
            let sizes: Vec<usize> = output.item.iter().map(|item| self.remember(item)).collect();
            Call {
                operation: "GetItem",
                aws_read: read_units(sizes.iter().sum(), true),
                item_sizes: sizes,
                strongly_consistent: true,
                reported: reported(output.consumed_capacity()),
                aws_write: 0.0,
                aws_index_write: 0.0,
            }
        } else if let Some(output) = output.downcast_ref::<QueryOutput>() {
            let sizes: Vec<usize> = output.items().iter().map(item_size).collect();
            // Queries on a global secondary index are eventually consistent.
            Call {
                operation: "Query",
                aws_read: read_units(sizes.iter().sum(), false),
                item_sizes: sizes,
                strongly_consistent: false,
                reported: reported(output.consumed_capacity()),
                aws_write: 0.0,
                aws_index_write: 0.0,
            }
        } else if let Some(output) = output.downcast_ref::<TransactWriteItemsOutput>() {
            let sizes = std::mem::take(&mut *self.pending_writes.lock().unwrap());
            let index_writes = std::mem::take(&mut *self.pending_index_writes.lock().unwrap());
            Call {
                operation: "TransactWriteItems",
                // A transactional write costs two write units per KB of each item; the index
                // entries DynamoDB maintains for it are standard writes.
                aws_write: sizes.iter().map(|size| 2.0 * write_units(*size)).sum(),
                aws_index_write: index_writes,
                item_sizes: sizes,
                strongly_consistent: true,
                reported: output
                    .consumed_capacity()
                    .iter()
                    .filter_map(|c| c.capacity_units())
                    .reduce(|a, b| a + b),
                aws_read: 0.0,
            }
        } else {
            return Ok(());
        };
        self.calls.lock().unwrap().push(call);
        Ok(())
    }
}

/// Read units for `bytes` read in one request: one per 4 KB (rounded up) strongly consistent,
/// half that eventually consistent; never less than one 4 KB block.
pub fn read_units(bytes: usize, strongly_consistent: bool) -> f64 {
    let blocks = bytes.div_ceil(4096).max(1) as f64;
    if strongly_consistent {
        blocks
    } else {
        blocks / 2.0
    }
}

/// Write units for one item of `bytes`: one per 1 KB, rounded up, at least one.
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// An item's size as DynamoDB bills it: attribute names plus values (AWS's published rules;
/// numbers and nested types approximately).
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(blob) => blob.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, v)| 1 + name.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// One byte per two significant digits, plus one.
fn number_size(number: &str) -> usize {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_units_round_up_to_4_kb_blocks() {
        assert_eq!(read_units(1, true), 1.0);
        assert_eq!(read_units(4096, true), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(30_000, false), 4.0);
    }

    #[test]
    fn write_units_round_up_to_1_kb() {
        assert_eq!(write_units(0), 1.0);
        assert_eq!(write_units(1024), 1.0);
        assert_eq!(write_units(1025), 2.0);
    }

    #[test]
    fn index_writes_follow_the_entry() {
        let seen = |partition: Option<&str>| Seen {
            size: 963,
            index_partition: partition.map(str::to_owned),
        };
        assert_eq!(index_write_units(None, 963, Some("ORG#a")), 1.0, "created");
        assert_eq!(index_write_units(None, 963, None), 0.0, "a history version");
        assert_eq!(
            index_write_units(Some(&seen(Some("ORG#a"))), 963, Some("ORG#a")),
            1.0,
            "updated in place"
        );
        assert_eq!(
            index_write_units(Some(&seen(Some("ORG#a"))), 963, Some("ORG#a#1")),
            2.0,
            "moved"
        );
        assert_eq!(
            index_write_units(Some(&seen(Some("ORG#a"))), 0, None),
            1.0,
            "deleted"
        );
    }

    #[test]
    fn an_item_is_its_names_and_values() {
        let item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("PAYMENT#1".to_owned())),
            ("version".to_owned(), AttributeValue::N("100".to_owned())),
        ]);
        assert_eq!(item_size(&item), 2 + 9 + 7 + 2);
    }
}
