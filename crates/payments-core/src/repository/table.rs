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

/// The payments table: `pk`/`sk`, GSI1 on `gsi1pk`/`gsi1sk` for listing, TTL on `expires_at`.
#[derive(Debug, Clone)]
pub struct TableDefinition {
    pub name: String,
}

impl TableDefinition {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// Creates the table (on-demand, with a NEW_AND_OLD_IMAGES stream) and turns on TTL, waiting
    /// until it is active. Does nothing if the table exists. For local runs and tests: in AWS
    /// the table belongs to the SAM stack.
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

        let string_key = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set")
        };
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .expect("name and type are set")
        };
        let created = client
            .create_table()
            .table_name(&self.name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string_key(keys::PK))
            .attribute_definitions(string_key(keys::SK))
            .attribute_definitions(string_key(keys::GSI1_PK))
            .attribute_definitions(string_key(keys::GSI1_SK))
            .key_schema(key(keys::PK, KeyType::Hash))
            .key_schema(key(keys::SK, KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(keys::GSI1)
                    .key_schema(key(keys::GSI1_PK, KeyType::Hash))
                    .key_schema(key(keys::GSI1_SK, KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .expect("index name and keys are set"),
            )
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .expect("stream_enabled is set"),
            )
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
                    .attribute_name(keys::EXPIRES_AT)
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
