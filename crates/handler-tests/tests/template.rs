//! `template.yaml` and `local/env.json` against the code that reads them: what the functions
//! are given when deployed is safe (the organisation comes from the JWT authorizer's claim,
//! storage is DynamoDB's own), and what `sam local` gives them runs against DynamoDB Local in
//! `AUTH_MODE=none`, with no variable the template does not declare (SAM drops those silently).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use payments_core::config::{Config, ConfigError};
use payments_core::identity::Identity;
use payments_core::repository::ListShards;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> serde_norway::Value {
    let path = repo_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).expect("template.yaml is valid YAML")
}

/// The variables every function is deployed with: the template's Globals, and a function's own
/// (none today) on top. `!Ref` to a parameter reads as the parameter's default (as `sam local`
/// resolves it); any other intrinsic function as `<resolved>`, since what AWS makes of it (a
/// table's name) is never empty.
fn deployed_environment(
    template: &serde_norway::Value,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    let resolve = |value: &serde_norway::Value| -> String {
        // (serde_norway's `as_str` sees through a tag: look for one first.)
        if let serde_norway::Value::Tagged(tagged) = value {
            let default = (tagged.tag == "Ref")
                .then(|| tagged.value.as_str())
                .flatten()
                .and_then(|name| template["Parameters"][name]["Default"].as_str());
            return default.unwrap_or("<resolved>").to_owned();
        }
        value
            .as_str()
            .expect("a string or an intrinsic function")
            .to_owned()
    };
    let variables = |value: &serde_norway::Value| -> BTreeMap<String, String> {
        value
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.as_str().unwrap().to_owned(), resolve(value)))
            .collect()
    };
    let mut functions = BTreeMap::new();
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let mut environment = variables(globals);
        environment.extend(variables(
            &resource["Properties"]["Environment"]["Variables"],
        ));
        functions.insert(name.as_str().unwrap().to_owned(), environment);
    }
    assert!(!functions.is_empty(), "template.yaml declares no function");
    functions
}

fn local_environment() -> BTreeMap<String, String> {
    let path = repo_root().join("local/env.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let env: Value = serde_json::from_str(&text).expect("local/env.json is JSON");
    env["Parameters"]
        .as_object()
        .expect("local/env.json sets its variables for every function, under Parameters")
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().expect("a string").to_owned()))
        .collect()
}

fn config_of(environment: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
    Config::from_lookup(|name| environment.get(name).cloned())
}

#[test]
fn deployed_functions_require_the_jwt_claim_and_use_dynamodb_itself() {
    for (function, environment) in deployed_environment(&template()) {
        assert_eq!(environment["AUTH_MODE"], "jwt", "{function}");
        assert_eq!(environment["DEFAULT_ORGANISATION_ID"], "", "{function}");
        assert_eq!(environment["DYNAMODB_ENDPOINT"], "", "{function}");
        let config = config_of(&environment).unwrap_or_else(|e| panic!("{function}: {e}"));
        assert!(
            matches!(config.identity, Identity::Jwt { .. }),
            "{function} would serve requests without a JWT claim: {:?}",
            config.identity
        );
        assert_eq!(config.dynamodb_endpoint, None, "{function}");
        // One value for all (a Global): a writer and the list must agree on every shard.
        assert_eq!(environment["LIST_SHARDS"], "", "{function}");
        assert_eq!(config.list_shards, ListShards::default(), "{function}");
    }
}

#[test]
fn sam_local_runs_every_function_against_dynamodb_local_as_the_development_organisation() {
    let local = local_environment();
    for (function, deployed) in deployed_environment(&template()) {
        for name in local.keys() {
            assert!(
                deployed.contains_key(name),
                "local/env.json sets {name}, which {function} does not declare: sam local would drop it"
            );
        }
        let mut environment = deployed.clone();
        environment.extend(local.clone());
        let config = config_of(&environment).unwrap_or_else(|e| panic!("{function}: {e}"));
        assert_eq!(
            config.identity,
            Identity::Development {
                claim: "organisation_id".to_owned(),
                organisation_id: "00000000-0000-4000-8000-000000000001".parse().unwrap(),
            },
            "{function}"
        );
        assert_eq!(
            config.dynamodb_endpoint.as_deref(),
            Some("http://host.docker.internal:8000"),
            "{function}"
        );
        assert_eq!(config.table_name, "payments", "{function}");
    }
}

#[test]
fn an_empty_variable_is_unset_so_it_never_turns_authentication_off() {
    let environment = BTreeMap::from([
        ("TABLE_NAME".to_owned(), "payments".to_owned()),
        ("AUTH_MODE".to_owned(), String::new()),
        ("DEFAULT_ORGANISATION_ID".to_owned(), String::new()),
        ("DYNAMODB_ENDPOINT".to_owned(), String::new()),
    ]);
    let config = config_of(&environment).unwrap();
    assert!(matches!(config.identity, Identity::Jwt { .. }));
    assert_eq!(config.dynamodb_endpoint, None);

    let none_without_organisation = BTreeMap::from([
        ("TABLE_NAME".to_owned(), "payments".to_owned()),
        ("AUTH_MODE".to_owned(), "none".to_owned()),
        ("DEFAULT_ORGANISATION_ID".to_owned(), String::new()),
    ]);
    assert!(matches!(
        config_of(&none_without_organisation),
        Err(ConfigError::Missing(_))
    ));
}
