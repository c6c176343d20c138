//! The hello-world floor: a `lambda_runtime` binary that answers every event with a fixed
//! API Gateway response, written as the runtime's own examples write it (`#[tokio::main]`, so a
//! multi-threaded runtime). The functions run on a single-threaded one, which starts faster
//! still (docs/benchmarks.md, "One thread").

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({"statusCode": 200, "body": "hello"}))
    }))
    .await
}
