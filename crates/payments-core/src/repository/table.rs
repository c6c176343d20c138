//! The one definition of the payments table: key names, key formats, the list index, TTL.
//! `template.yaml` declares the same table for AWS; local runs and tests create it from here.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use super::RepositoryError;
use super::dynamodb::classify;

/// Attribute names and the formats of key values.
pub(crate) mod keys {
    use crate::domain::{OrganisationId, PaymentId, Timestamp, Version};

    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const GSI1: &str = "gsi1";
    pub const GSI1_PK: &str = "gsi1pk";
    pub const GSI1_SK: &str = "gsi1sk";
    pub const EXPIRES_AT: &str = "expires_at";

    pub const CURRENT: &str = "CURRENT";
    pub const IDEMPOTENCY: &str = "IDEMPOTENCY";

    pub fn payment_pk(id: PaymentId) -> String {
        format!("PAYMENT#{id}")
    }

    /// Zero-padded to the width of a `u64`, so versions sort as numbers.
    pub fn version_sk(version: Version) -> String {
        format!("VERSION#{:020}", version.get())
    }

    pub const VERSION_PREFIX: &str = "VERSION#";

    pub fn organisation_pk(id: OrganisationId) -> String {
        format!("ORG#{id}")
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
}

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

#[cfg(test)]
mod tests {
    use super::keys::*;

    #[test]
    fn version_keys_sort_as_numbers() {
        let v = |n| version_sk(crate::domain::Version::new(n).unwrap());
        assert!(v(9) < v(10));
        assert!(v(99) < v(100));
        assert_eq!(v(1), "VERSION#00000000000000000001");
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
