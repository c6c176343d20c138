//! template.yaml's table is [`TableDefinition`]: the table the stack deploys has the keys, list
//! index, projection, TTL attribute and stream that local runs and tests create from the code
//! (and that the repository reads and writes).
//!
//! template.yaml is read with `serde_norway`, which keeps CloudFormation's short forms (`!Ref`,
//! `!Sub`) as YAML tags; the table's key properties hold none.

use std::path::Path;

use payments_core::repository::TableDefinition;
use serde_norway::Value;

fn table() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let template: Value = serde_norway::from_str(&text).expect("template.yaml is YAML");
    let table = template["Resources"]["PaymentsTable"].clone();
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    table["Properties"].clone()
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value:?} is not a string"))
}

/// `[{AttributeName, KeyType}]` as (name, type) pairs.
fn template_keys(schema: &Value) -> Vec<(String, String)> {
    schema
        .as_sequence()
        .expect("a key schema is a list")
        .iter()
        .map(|key| {
            (
                text(&key["AttributeName"]).to_owned(),
                text(&key["KeyType"]).to_owned(),
            )
        })
        .collect()
}

fn code_keys(schema: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Vec<(String, String)> {
    schema
        .iter()
        .map(|key| {
            (
                key.attribute_name().to_owned(),
                key.key_type().as_str().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_table_is_billed_on_demand() {
    assert_eq!(
        text(&table()["BillingMode"]),
        TableDefinition::billing_mode().as_str()
    );
}

#[test]
fn the_key_attributes_and_key_schema_are_the_definitions() {
    let table = table();
    let declared: Vec<(String, String)> = table["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|attribute| {
            (
                text(&attribute["AttributeName"]).to_owned(),
                text(&attribute["AttributeType"]).to_owned(),
            )
        })
        .collect();
    let defined: Vec<(String, String)> = TableDefinition::attribute_definitions()
        .iter()
        .map(|attribute| {
            (
                attribute.attribute_name().to_owned(),
                attribute.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(declared, defined);
    assert_eq!(
        template_keys(&table["KeySchema"]),
        code_keys(&TableDefinition::key_schema())
    );
}

#[test]
fn the_list_index_has_the_definitions_name_keys_and_projection() {
    let table = table();
    let declared = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("GlobalSecondaryIndexes");
    let defined = TableDefinition::global_secondary_indexes();
    assert_eq!(declared.len(), defined.len());
    for (declared, defined) in declared.iter().zip(&defined) {
        assert_eq!(text(&declared["IndexName"]), defined.index_name());
        assert_eq!(
            template_keys(&declared["KeySchema"]),
            code_keys(defined.key_schema())
        );
        let projection = defined.projection().expect("a projection");
        assert_eq!(
            text(&declared["Projection"]["ProjectionType"]),
            projection
                .projection_type()
                .expect("a projection type")
                .as_str()
        );
    }
}

#[test]
fn ttl_is_on_the_definitions_attribute() {
    let ttl = &table()["TimeToLiveSpecification"];
    assert_eq!(
        text(&ttl["AttributeName"]),
        TableDefinition::time_to_live_attribute()
    );
    assert_eq!(ttl["Enabled"].as_bool(), Some(true));
}

#[test]
fn the_stream_carries_the_definitions_view() {
    let defined = TableDefinition::stream_specification();
    assert!(defined.stream_enabled());
    assert_eq!(
        text(&table()["StreamSpecification"]["StreamViewType"]),
        defined.stream_view_type().expect("a view type").as_str()
    );
}
