//! The realistic floor: what the plainest DynamoDB function costs. It builds an SDK client at
//! init the way the SDK's examples do (`aws_config::load_defaults`, plus `DYNAMODB_ENDPOINT`
//! for DynamoDB Local) and makes one strongly consistent `GetItem` per request, for the
//! payment named by the event's `pathParameters.id`, with no parsing, validation or logging.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let shared = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
    if let Ok(endpoint) = std::env::var("DYNAMODB_ENDPOINT") {
        config = config.endpoint_url(endpoint);
    }
    let client = Client::from_conf(config.build());
    let table = std::env::var("TABLE_NAME")?;
    let (client, table) = (&client, table.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let id = event.payload["pathParameters"]["id"]
            .as_str()
            .unwrap_or_default();
        let output = client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(format!("PAYMENT#{id}")))
            .key("sk", AttributeValue::S("CURRENT".to_owned()))
            .consistent_read(true)
            .send()
            .await?;
        let status = if output.item.is_some() { 200 } else { 404 };
        Ok::<_, Error>(json!({"statusCode": status, "body": ""}))
    }))
    .await
}
