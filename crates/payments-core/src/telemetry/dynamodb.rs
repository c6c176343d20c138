//! What every DynamoDB call tells the request it is made for: the capacity it consumed (for
//! the request's metrics) and, in a sampled trace, an X-Ray subsegment. One SDK interceptor on
//! the functions' client, so the repository's code stays as it is.

use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::error::{BoxError, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::describe_table::{DescribeTableError, DescribeTableInput};
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryError, QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use super::metrics::Capacity;
use super::xray::{Daemon, Subsegment};

/// The interceptor. Sends subsegments to `daemon` when there is one.
#[derive(Debug, Clone, Default)]
pub struct DynamoDbTelemetry {
    daemon: Option<Arc<Daemon>>,
}

impl DynamoDbTelemetry {
    pub fn new(daemon: Option<Daemon>) -> Self {
        Self {
            daemon: daemon.map(Arc::new),
        }
    }
}

/// One call in flight, in its own config bag.
#[derive(Debug, Clone)]
struct Call {
    started: SystemTime,
    /// Kept only when subsegments are sent.
    table: Option<String>,
    attempts: u32,
}

impl Storable for Call {
    type Storer = StoreReplace<Self>;
}

impl Intercept for DynamoDbTelemetry {
    fn name(&self) -> &'static str {
        "DynamoDbTelemetry"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        let total = Some(ReturnConsumedCapacity::Total);
        let table = if let Some(input) = input.downcast_mut::<GetItemInput>() {
            input.return_consumed_capacity = total;
            input.table_name.as_deref()
        } else if let Some(input) = input.downcast_mut::<QueryInput>() {
            input.return_consumed_capacity = total;
            input.table_name.as_deref()
        } else if let Some(input) = input.downcast_mut::<TransactWriteItemsInput>() {
            input.return_consumed_capacity = total;
            input.transact_items.iter().flatten().find_map(|item| {
                let put = item.put.as_ref().map(|put| put.table_name.as_str());
                let delete = item
                    .delete
                    .as_ref()
                    .map(|delete| delete.table_name.as_str());
                let update = item
                    .update
                    .as_ref()
                    .map(|update| update.table_name.as_str());
                let check = item.condition_check.as_ref().map(|c| c.table_name.as_str());
                put.or(delete).or(update).or(check)
            })
        } else if let Some(input) = input.downcast_ref::<DescribeTableInput>() {
            input.table_name.as_deref()
        } else {
            None
        };
        let table = self.daemon.as_ref().and(table).map(str::to_owned);
        cfg.interceptor_state().store_put(Call {
            started: SystemTime::now(),
            table,
            attempts: 0,
        });
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(mut call) = cfg.load::<Call>().cloned() {
            call.attempts += 1;
            cfg.interceptor_state().store_put(call);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let outcome = context.output_or_error();
        if let Some(Ok(output)) = outcome {
            let units = |capacity: Option<&ConsumedCapacity>| {
                capacity.and_then(ConsumedCapacity::capacity_units)
            };
            let capacity = if let Some(output) = output.downcast_ref::<GetItemOutput>() {
                Capacity {
                    read: units(output.consumed_capacity()).unwrap_or(0.0),
                    write: 0.0,
                }
            } else if let Some(output) = output.downcast_ref::<QueryOutput>() {
                Capacity {
                    read: units(output.consumed_capacity()).unwrap_or(0.0),
                    write: 0.0,
                }
            } else if let Some(output) = output.downcast_ref::<TransactWriteItemsOutput>() {
                Capacity {
                    read: 0.0,
                    write: output
                        .consumed_capacity()
                        .iter()
                        .filter_map(|capacity| capacity.capacity_units())
                        .sum(),
                }
            } else {
                Capacity::default()
            };
            super::consumed(capacity);
        }

        let Some(daemon) = &self.daemon else {
            return Ok(());
        };
        let Some(trace) = super::trace().filter(|trace| trace.sampled) else {
            return Ok(());
        };
        let call = cfg.load::<Call>();
        let error_code = match outcome {
            Some(Err(error)) => error.as_operation_error().and_then(|error| {
                error
                    .downcast_ref::<GetItemError>()
                    .and_then(|e| e.code())
                    .or_else(|| error.downcast_ref::<QueryError>().and_then(|e| e.code()))
                    .or_else(|| {
                        error
                            .downcast_ref::<TransactWriteItemsError>()
                            .and_then(|e| e.code())
                    })
                    .or_else(|| {
                        error
                            .downcast_ref::<DescribeTableError>()
                            .and_then(|e| e.code())
                    })
            }),
            _ => None,
        };
        let response = context.response();
        let subsegment = Subsegment {
            service: "DynamoDB",
            operation: cfg.load::<Metadata>().map_or("", Metadata::name),
            region: cfg.load::<Region>().map_or("", Region::as_ref),
            table_name: call.and_then(|call| call.table.as_deref()),
            request_id: response.and_then(|response| response.headers().get("x-amzn-requestid")),
            started: call.map_or_else(SystemTime::now, |call| call.started),
            ended: SystemTime::now(),
            status: response.map(|response| response.status().as_u16()),
            retries: call.map_or(0, |call| call.attempts.saturating_sub(1)),
            error_code,
        };
        daemon.send(&trace, &subsegment);
        Ok(())
    }
}
