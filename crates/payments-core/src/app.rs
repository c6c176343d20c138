//! What every function builds once per process, before the runtime starts.

use crate::config::{Config, ConfigError, dynamodb_client};
use crate::identity::Identity;
use crate::repository::DynamoDbRepository;
use crate::service::Payments;

/// The payment operations on a repository, and how callers are identified: what every
/// handler is given. The functions run it on the configured DynamoDB table; tests and
/// benchmarks hand the same handlers one on another repository (in memory, instrumented, or
/// DynamoDB answered from a script).
#[derive(Debug)]
pub struct App<R = DynamoDbRepository> {
    pub payments: Payments<R>,
    pub identity: Identity,
}

impl App {
    /// Sets up logging, reads the configuration and builds the DynamoDB client. The result
    /// lives as long as the process, as the Lambda sandbox does, so handlers borrow it as
    /// `&'static` instead of cloning it per request.
    pub async fn init() -> Result<&'static App, ConfigError> {
        crate::telemetry::init();
        tracing::info!(version = crate::VERSION, "function starting");
        let config = Config::from_env()?;
        Ok(Box::leak(Box::new(App::new(&config).await)))
    }

    /// The app for `config`, without touching logging or the process environment.
    pub async fn new(config: &Config) -> App {
        if let Identity::Development {
            organisation_id, ..
        } = &config.identity
        {
            tracing::warn!(
                %organisation_id,
                "AUTH_MODE=none: requests without a JWT organisation claim act as this \
                 organisation. For local development only; never deploy this setting."
            );
        }
        let client = dynamodb_client(config.dynamodb_endpoint.as_deref()).await;
        App {
            payments: Payments::new(
                DynamoDbRepository::new(client, &config.table_name)
                    .with_list_shards(config.list_shards.clone()),
            ),
            identity: config.identity.clone(),
        }
    }
}
