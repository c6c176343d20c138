//! Creates the payments table in DynamoDB Local unless it exists: `make dev` runs it.
//! Reads `TABLE_NAME` and `DYNAMODB_ENDPOINT`, like the functions.

use payments_core::config::dynamodb_client;
use payments_core::repository::TableDefinition;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME must be set")?;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .map_err(|_| "DYNAMODB_ENDPOINT must be set: this creates tables in DynamoDB Local only")?;
    let client = dynamodb_client(Some(&endpoint)).await;
    TableDefinition::new(&table)
        .create_if_absent(&client)
        .await
        .map_err(|error| payments_core::http::cause_chain(&error))?;
    println!("table {table} is ready at {endpoint}");
    Ok(())
}
