//! The one definition of the payments table: its keys, the list index, TTL and stream.
//! `template.yaml` declares the same table for AWS; local runs and tests create it from here.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use super::RepositoryError;
use super::failure::classify;
use super::keys;

/// The payments table: `pk`/`sk`, GSI1 on `gsi1pk`/`gsi1sk` for listing, TTL on `expires_at`,
/// and a stream of new and old images. Each part is a function, so that `create_if_absent`
/// and the test that holds template.yaml to this definition (`tests/table_definition.rs`)
/// read the same values.
#[derive(Debug, Clone)]
pub struct TableDefinition {
    pub name: String,
}

impl TableDefinition {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// On-demand: no capacity to plan.
    pub fn billing_mode() -> BillingMode {
        BillingMode::PayPerRequest
    }

    /// Every key attribute, of the table and of its index: all strings.
    pub fn attribute_definitions() -> Vec<AttributeDefinition> {
        [keys::PK, keys::SK, keys::GSI1_PK, keys::GSI1_SK]
            .into_iter()
            .map(|name| {
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("name and type are set")
            })
            .collect()
    }

    /// `pk` and `sk`.
    pub fn key_schema() -> Vec<KeySchemaElement> {
        key_schema(keys::PK, keys::SK)
    }

    /// GSI1, the list index: `gsi1pk` (the organisation) and `gsi1sk` (creation time and id),
    /// projecting every attribute, so a page of payments is one query.
    pub fn global_secondary_indexes() -> Vec<GlobalSecondaryIndex> {
        vec![
            GlobalSecondaryIndex::builder()
                .index_name(keys::GSI1)
                .set_key_schema(Some(key_schema(keys::GSI1_PK, keys::GSI1_SK)))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("index name and keys are set"),
        ]
    }

    /// The attribute DynamoDB's TTL reads: when an idempotency record may be deleted.
    pub fn time_to_live_attribute() -> &'static str {
        keys::EXPIRES_AT
    }

    /// The stream, for future consumers: every change with the item before and after it.
    pub fn stream_specification() -> StreamSpecification {
        StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewAndOldImages)
            .build()
            .expect("stream_enabled is set")
    }

    /// Creates the table and turns on TTL, waiting until it is active. Does nothing if the
    /// table exists. For local runs and tests: in AWS the table belongs to the SAM stack.
    pub async fn create_if_absent(&self, client: &Client) -> Result<(), RepositoryError> {
        use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;

        match client.describe_table().table_name(&self.name).send().await {
            Ok(_) => return Ok(()),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(DescribeTableError::ResourceNotFoundException(_))
                ) => {}
            Err(error) => return Err(classify(error)),
        }

        let created = client
            .create_table()
            .table_name(&self.name)
            .billing_mode(Self::billing_mode())
            .set_attribute_definitions(Some(Self::attribute_definitions()))
            .set_key_schema(Some(Self::key_schema()))
            .set_global_secondary_indexes(Some(Self::global_secondary_indexes()))
            .stream_specification(Self::stream_specification())
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Another process created it between our describe and create.
            Err(error) if error.code() == Some("ResourceInUseException") => return Ok(()),
            Err(error) => return Err(classify(error)),
        }

        client
            .update_time_to_live()
            .table_name(&self.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(Self::time_to_live_attribute())
                    .build()
                    .expect("enabled and attribute name are set"),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Deletes the table; tests use it to clean up after themselves.
    pub async fn delete(&self, client: &Client) -> Result<(), RepositoryError> {
        client
            .delete_table()
            .table_name(&self.name)
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// A hash key `hash` and a range key `range`.
fn key_schema(hash: &str, range: &str) -> Vec<KeySchemaElement> {
    [(hash, KeyType::Hash), (range, KeyType::Range)]
        .into_iter()
        .map(|(name, key_type)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .expect("name and type are set")
        })
        .collect()
}
