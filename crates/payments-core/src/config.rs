//! Process configuration, read once from the environment at start.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use aws_smithy_http_client::{Builder as HttpClientBuilder, ConnectorBuilder, tls};

use crate::domain::OrganisationId;
use crate::identity::Identity;
use crate::repository::ListShards;
use crate::telemetry::{DynamoDbTelemetry, xray};

/// The organisation claim of the JWT authorizer unless `ORGANISATION_CLAIM` names another.
pub const DEFAULT_ORGANISATION_CLAIM: &str = "organisation_id";

/// The SDK gives up on one DynamoDB call (all its retries included) after this long, well
/// inside the functions' 10 s timeout, so a slow DynamoDB gets a 503 rather than a killed
/// sandbox.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// One attempt: DynamoDB answers in milliseconds, so a slow attempt is better retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The SDK's standard retry mode, with backoff, for throttling and transient errors.
pub const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Everything a function reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `DYNAMODB_ENDPOINT`: DynamoDB Local's URL; unset in AWS.
    pub dynamodb_endpoint: Option<String>,
    /// `AUTH_MODE` (`jwt`, the default, or `none`), `ORGANISATION_CLAIM` and
    /// `DEFAULT_ORGANISATION_ID`.
    pub identity: Identity,
    /// `LIST_SHARDS`: the organisations whose list index is spread over more than one shard
    /// ([`ListShards::parse`]). Every function of a table must read the same value.
    pub list_shards: ListShards,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    ///
    /// A variable set to the empty string is unset: template.yaml declares `AUTH_MODE`,
    /// `DEFAULT_ORGANISATION_ID` and `DYNAMODB_ENDPOINT` for every function (so that `sam local`
    /// can override them), with empty values where AWS needs none.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let table_name = lookup("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let claim =
            lookup("ORGANISATION_CLAIM").unwrap_or_else(|| DEFAULT_ORGANISATION_CLAIM.to_owned());
        let identity = match lookup("AUTH_MODE").as_deref() {
            None | Some("jwt") => Identity::Jwt { claim },
            Some("none") => {
                let organisation_id = lookup("DEFAULT_ORGANISATION_ID")
                    .ok_or(ConfigError::Missing(
                        "DEFAULT_ORGANISATION_ID (required by AUTH_MODE=none)",
                    ))?
                    .parse::<OrganisationId>()
                    .map_err(|reason| ConfigError::Invalid {
                        name: "DEFAULT_ORGANISATION_ID",
                        reason,
                    })?;
                Identity::Development {
                    claim,
                    organisation_id,
                }
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "AUTH_MODE",
                    reason: format!("{other:?} is neither \"jwt\" nor \"none\""),
                });
            }
        };
        let list_shards =
            ListShards::parse(&lookup("LIST_SHARDS").unwrap_or_default()).map_err(|error| {
                ConfigError::Invalid {
                    name: "LIST_SHARDS",
                    reason: error.to_string(),
                }
            })?;
        Ok(Self {
            table_name,
            dynamodb_endpoint: lookup("DYNAMODB_ENDPOINT"),
            identity,
            list_shards,
        })
    }
}

/// `EVENT_BUS_NAME` and `EVENTBRIDGE_ENDPOINT`: where the `payment-events` function publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    /// `EVENT_BUS_NAME`: the EventBridge bus's name or ARN.
    pub bus_name: String,
    /// `EVENTBRIDGE_ENDPOINT`: another EventBridge endpoint (a local emulator); unset in AWS.
    pub endpoint: Option<String>,
}

impl EventsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`; an empty value is unset, as for [`Config`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup = |name: &str| lookup(name).filter(|value| !value.is_empty());
        Ok(Self {
            bus_name: lookup("EVENT_BUS_NAME").ok_or(ConfigError::Missing("EVENT_BUS_NAME"))?,
            endpoint: lookup("EVENTBRIDGE_ENDPOINT"),
        })
    }
}

/// The DynamoDB client, on [`sdk_config`], reporting its calls to the request they are made
/// for ([`DynamoDbTelemetry`]): their capacity to its metrics, and subsegments of its trace to
/// the X-Ray daemon that `AWS_XRAY_DAEMON_ADDRESS` names (Lambda sets it when tracing is on).
pub async fn dynamodb_client(endpoint: Option<&str>) -> Client {
    dynamodb_client_with(endpoint, DynamoDbTelemetry::new(xray::Daemon::from_env())).await
}

/// The DynamoDB client of [`dynamodb_client`], with `telemetry` (tests name their own daemon).
pub async fn dynamodb_client_with(endpoint: Option<&str>, telemetry: DynamoDbTelemetry) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config(endpoint).await)
        .interceptor(telemetry)
        .build();
    Client::from_conf(config)
}

/// The EventBridge client, on [`sdk_config`].
pub async fn eventbridge_client(endpoint: Option<&str>) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&sdk_config(endpoint).await)
}

/// The certificates the functions' TLS trusts, read from the environment at start.
///
/// Every AWS endpoint the functions call (DynamoDB, EventBridge) presents a certificate of
/// Amazon Trust Services, whose five roots are compiled in. Trusting only them is what AWS
/// calls pinning to its CAs, and it spares every cold start the system store: rustls reads and
/// parses each of the host's 140-odd certificates (the bundle, and the directory of one file
/// per CA where there is one) when the client is built, which was most of a function's init
/// (docs/benchmarks.md, "Speed (issue 16)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustAnchors {
    /// The five roots of Amazon Trust Services: the default.
    AmazonTrustServices,
    /// `AWS_CA_BUNDLE`: the PEM certificates of that file, in their place (a TLS-inspecting
    /// proxy, a private endpoint with another CA).
    Bundle(String),
    /// The host's store, for the China regions (`cn-*`), whose endpoints are not known here
    /// to chain to those roots.
    System,
}

/// The compiled-in roots of [`TrustAnchors::AmazonTrustServices`].
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

impl TrustAnchors {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// An empty value is unset, as for [`Config`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let lookup = |name: &str| lookup(name).filter(|value| !value.is_empty());
        if let Some(path) = lookup("AWS_CA_BUNDLE") {
            return TrustAnchors::Bundle(path);
        }
        let region = lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION"));
        if region.is_some_and(|region| region.starts_with("cn-")) {
            return TrustAnchors::System;
        }
        TrustAnchors::AmazonTrustServices
    }

    /// The SDK's TLS settings that trust these anchors. A bundle that cannot be read stops the
    /// function at init, saying which file, rather than failing every request.
    fn tls_context(&self) -> TlsContext {
        let store = match self {
            TrustAnchors::AmazonTrustServices => {
                TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)
            }
            TrustAnchors::Bundle(path) => {
                TrustStore::empty().with_pem_certificate(std::fs::read(path).unwrap_or_else(
                    |error| panic!("AWS_CA_BUNDLE names {path}, which cannot be read: {error}"),
                ))
            }
            TrustAnchors::System => TrustStore::default(),
        };
        TlsContext::builder()
            .with_trust_store(store)
            .build()
            .expect("a TLS context of a trust store")
    }
}

/// What every AWS client here is built on: timeouts and retries set for Lambda, and a local
/// endpoint (DynamoDB Local) when one is given (with placeholder credentials and region if the
/// environment has none, since DynamoDB Local accepts any).
///
/// In a Lambda sandbox the credentials and region are in the environment, the first place the
/// SDK's default chains look; naming those two providers skips building the rest of the chains
/// (profile files, SSO, web identity, ECS, IMDS), work at every cold start (measured in
/// docs/benchmarks.md, "Figures the code refers to"). Anywhere else, or if the sandbox ever
/// lacks them, the default chains.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(OPERATION_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build();
    // The SDK's default HTTPS client (hyper 1, rustls, proxy settings from the environment),
    // with ring as rustls' crypto provider in place of aws-lc-rs, trusting [`TrustAnchors`].
    let tls_context = TrustAnchors::from_env().tls_context();
    let http_client =
        HttpClientBuilder::new().build_with_connector_fn(move |settings, components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::Ring,
                ))
                .tls_context(tls_context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        });
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    // Lambda sets all three.
    let lambda_region = env("AWS_LAMBDA_FUNCTION_NAME")
        .and(env("AWS_ACCESS_KEY_ID"))
        .and(env("AWS_REGION"));
    if let Some(region) = lambda_region {
        loader = loader
            .region(Region::new(region))
            .credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
        let env_set = |name: &str| std::env::var_os(name).is_some();
        if !env_set("AWS_REGION") && !env_set("AWS_DEFAULT_REGION") {
            loader = loader.region(Region::from_static("us-east-1"));
        }
        if !env_set("AWS_ACCESS_KEY_ID") {
            loader = loader
                .credentials_provider(Credentials::new("local", "local", None, None, "local"));
        }
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn anchors(vars: &[(&str, &str)]) -> TrustAnchors {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        TrustAnchors::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn aws_endpoints_are_trusted_through_the_amazon_roots_unless_told_otherwise() {
        assert_eq!(
            anchors(&[("AWS_REGION", "eu-west-1")]),
            TrustAnchors::AmazonTrustServices
        );
        assert_eq!(anchors(&[]), TrustAnchors::AmazonTrustServices);
        assert_eq!(
            anchors(&[("AWS_REGION", "eu-west-1"), ("AWS_CA_BUNDLE", "")]),
            TrustAnchors::AmazonTrustServices,
            "an empty value is unset"
        );
        assert_eq!(
            anchors(&[
                ("AWS_CA_BUNDLE", "/opt/proxy-ca.pem"),
                ("AWS_REGION", "cn-north-1")
            ]),
            TrustAnchors::Bundle("/opt/proxy-ca.pem".to_owned())
        );
        assert_eq!(
            anchors(&[("AWS_REGION", "cn-northwest-1")]),
            TrustAnchors::System
        );
        assert_eq!(
            anchors(&[("AWS_DEFAULT_REGION", "cn-north-1")]),
            TrustAnchors::System
        );
    }

    #[test]
    fn the_compiled_in_roots_are_the_five_of_amazon_trust_services() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;

        let roots: Vec<CertificateDer> =
            CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let names = [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ];
        assert_eq!(roots.len(), names.len());
        for (root, name) in roots.iter().zip(names) {
            assert!(
                root.windows(name.len()).any(|w| w == name.as_bytes()),
                "{name}"
            );
        }
        // Each builds into the TLS settings the clients use.
        TrustAnchors::AmazonTrustServices.tls_context();
        TrustAnchors::System.tls_context();
    }

    #[test]
    fn a_bundle_is_read_at_start_and_one_that_cannot_be_read_stops_the_function() {
        let path = std::env::temp_dir().join(format!("ca-bundle-{}.pem", std::process::id()));
        std::fs::write(&path, AMAZON_TRUST_SERVICES_ROOTS).unwrap();
        TrustAnchors::Bundle(path.display().to_string()).tls_context();
        std::fs::remove_file(&path).unwrap();

        let missing = std::panic::catch_unwind(|| {
            TrustAnchors::Bundle(path.display().to_string()).tls_context()
        })
        .unwrap_err();
        let message = missing.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("AWS_CA_BUNDLE names "), "{message}");
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn jwt_identity_is_the_default() {
        let config = config(&[("TABLE_NAME", "payments")]).unwrap();
        assert_eq!(
            config.identity,
            Identity::Jwt {
                claim: "organisation_id".to_owned()
            }
        );
        assert_eq!(config.dynamodb_endpoint, None);
    }

    #[test]
    fn development_identity_needs_a_default_organisation() {
        assert!(config(&[("TABLE_NAME", "t"), ("AUTH_MODE", "none")]).is_err());
        assert!(
            config(&[
                ("TABLE_NAME", "t"),
                ("AUTH_MODE", "none"),
                ("DEFAULT_ORGANISATION_ID", "x")
            ])
            .is_err()
        );
        let config = config(&[
            ("TABLE_NAME", "t"),
            ("AUTH_MODE", "none"),
            (
                "DEFAULT_ORGANISATION_ID",
                "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60",
            ),
        ])
        .unwrap();
        assert!(matches!(config.identity, Identity::Development { .. }));
    }

    #[test]
    fn an_unknown_auth_mode_is_refused_rather_than_guessed() {
        assert!(config(&[("TABLE_NAME", "t"), ("AUTH_MODE", "off")]).is_err());
    }

    #[test]
    fn list_shards_are_read_and_checked() {
        let org = "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60";
        let sharded = config(&[("TABLE_NAME", "t"), ("LIST_SHARDS", &format!("{org}=8"))]).unwrap();
        assert_eq!(
            sharded.list_shards.shards_until(org.parse().unwrap(), None),
            8
        );
        assert!(matches!(
            config_error(&[("TABLE_NAME", "t"), ("LIST_SHARDS", "x=8")]),
            ConfigError::Invalid {
                name: "LIST_SHARDS",
                ..
            }
        ));
        let unset = config(&[("TABLE_NAME", "t"), ("LIST_SHARDS", "")]).unwrap();
        assert_eq!(unset.list_shards, ListShards::default());
    }

    fn config_error(vars: &[(&str, &str)]) -> ConfigError {
        config(vars).unwrap_err()
    }

    #[test]
    fn the_table_name_is_required() {
        assert!(matches!(
            config(&[]),
            Err(ConfigError::Missing("TABLE_NAME"))
        ));
    }
}
