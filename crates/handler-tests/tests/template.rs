//! `template.yaml` and `local/env.json` against the code that reads them: what the functions
//! are given when deployed is safe (the organisation comes from the JWT authorizer's claim,
//! storage is DynamoDB's own), and what `sam local` gives them runs against DynamoDB Local in
//! `AUTH_MODE=none`, with no variable the template does not declare (SAM drops those silently).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use payments_core::config::{Config, ConfigError, EventsConfig};
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

/// The statements of a function's inline policies, with the actions each allows.
fn statements(template: &serde_norway::Value, function: &str) -> Vec<(Vec<String>, String)> {
    let policies = template["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{function} has inline policies"));
    let mut found = Vec::new();
    for policy in policies {
        for statement in policy["Statement"].as_sequence().expect("statements") {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            let actions = statement["Action"]
                .as_sequence()
                .expect("a list of actions")
                .iter()
                .map(|action| action.as_str().unwrap().to_owned())
                .collect();
            // The resource as written: the intrinsic functions' tags and arguments.
            let resource = serde_norway::to_string(&statement["Resource"]).unwrap();
            found.push((actions, resource));
        }
    }
    found
}

#[test]
fn payment_events_may_publish_on_its_bus_and_read_its_stream_only() {
    let template = template();
    let statements = statements(&template, "PaymentEventsFunction");
    let resource_of = |action: &str| -> Vec<&String> {
        statements
            .iter()
            .filter(|(actions, _)| actions.iter().any(|a| a == action))
            .map(|(_, resource)| resource)
            .collect()
    };
    let put = resource_of("events:PutEvents");
    assert_eq!(put.len(), 1);
    assert!(
        put[0].contains("PaymentEventBus.Arn") && put[0].contains("event-bus/${EventBusName}"),
        "PutEvents on the stack's bus, or the bus named: {}",
        put[0]
    );
    for action in [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ] {
        assert_eq!(
            resource_of(action),
            vec!["!GetAtt PaymentsTable.StreamArn\n"],
            "{action}"
        );
    }
    assert_eq!(
        resource_of("dynamodb:ListStreams"),
        vec!["!Sub ${PaymentsTable.Arn}/stream/*\n"]
    );
    assert_eq!(
        resource_of("sqs:SendMessage"),
        vec!["!GetAtt PaymentEventsDeadLetterQueue.Arn\n"]
    );
    let allowed: Vec<&String> = statements.iter().flat_map(|(a, _)| a).collect();
    assert_eq!(allowed.len(), 6, "nothing else: {allowed:?}");
    // No function but this one may publish events; this one touches no table item.
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        // SAM's DynamoDB event would add AWSLambdaDynamoDBExecutionRole (every stream).
        for (_, event) in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            assert_ne!(event["Type"].as_str(), Some("DynamoDB"), "{name}");
        }
        if name != "PaymentEventsFunction" {
            let actions: Vec<String> = self::statements(&template, name)
                .into_iter()
                .flat_map(|(actions, _)| actions)
                .collect();
            assert!(!actions.iter().any(|a| a.starts_with("events:")), "{name}");
        }
    }
}

#[test]
fn the_stream_mapping_filters_bisects_retries_and_keeps_what_it_cannot_publish() {
    let template = template();
    let mapping = &template["Resources"]["PaymentEventsStream"];
    assert_eq!(
        mapping["Type"].as_str(),
        Some("AWS::Lambda::EventSourceMapping")
    );
    let properties = &mapping["Properties"];
    let text = |value: &serde_norway::Value| serde_norway::to_string(value).unwrap();
    // The alias, so that a deployment's traffic shifting and rollback cover the stream too.
    assert_eq!(
        text(&properties["FunctionName"]),
        "!Ref PaymentEventsFunction.Alias\n"
    );
    assert_eq!(
        text(&properties["EventSourceArn"]),
        "!GetAtt PaymentsTable.StreamArn\n"
    );
    let filters = properties["FilterCriteria"]["Filters"]
        .as_sequence()
        .unwrap();
    assert_eq!(filters.len(), 1);
    let pattern: Value = serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).unwrap();
    assert_eq!(
        pattern,
        serde_json::json!({"dynamodb": {"Keys": {"sk": {"S": ["CURRENT"]}}}})
    );
    assert_eq!(
        properties["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    assert_eq!(
        properties["BisectBatchOnFunctionError"].as_bool(),
        Some(true)
    );
    let retries = properties["MaximumRetryAttempts"].as_u64().unwrap();
    assert!((1..=10_000).contains(&retries));
    // Given up on while the stream (24 hours) still holds the record, so it can be read again.
    let age = properties["MaximumRecordAgeInSeconds"].as_u64().unwrap();
    assert!((60..=12 * 3600).contains(&age), "{age}");
    assert_eq!(
        properties["StartingPosition"].as_str(),
        Some("TRIM_HORIZON")
    );
    assert_eq!(
        text(&properties["DestinationConfig"]["OnFailure"]["Destination"]),
        "!GetAtt PaymentEventsDeadLetterQueue.Arn\n"
    );
    // The table's stream carries both images, which a deletion's event needs.
    assert_eq!(
        template["Resources"]["PaymentsTable"]["Properties"]["StreamSpecification"]
            ["StreamViewType"]
            .as_str(),
        Some("NEW_AND_OLD_IMAGES")
    );
    // The queue's depth and the function's iterator age are alarmed.
    let alarmed: Vec<(String, String)> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|resource| resource["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .filter(|alarm| alarm["Properties"]["MetricName"].is_string())
        .map(|alarm| {
            (
                alarm["Properties"]["MetricName"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                text(&alarm["Properties"]["Dimensions"][0]["Value"]),
            )
        })
        .collect();
    assert!(alarmed.contains(&(
        "ApproximateNumberOfMessagesVisible".to_owned(),
        "!GetAtt PaymentEventsDeadLetterQueue.QueueName\n".to_owned()
    )));
    assert!(alarmed.contains(&(
        "IteratorAge".to_owned(),
        "!Ref PaymentEventsFunction\n".to_owned()
    )));
}

#[test]
fn payment_events_is_deployed_with_the_bus_and_no_local_endpoint() {
    let template = template();
    let environment = &deployed_environment(&template)["PaymentEventsFunction"];
    assert_eq!(environment["EVENT_BUS_NAME"], "<resolved>");
    assert_eq!(environment["EVENTBRIDGE_ENDPOINT"], "");
    let config = EventsConfig::from_lookup(|name| environment.get(name).cloned()).unwrap();
    assert_eq!(config.endpoint, None);
}

fn resources_of_type<'a>(
    template: &'a serde_norway::Value,
    kind: &str,
) -> Vec<(&'a str, &'a serde_norway::Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(name, resource)| (name.as_str().unwrap(), resource))
        .collect()
}

/// `!Ref X` (or `!GetAtt X.Y`) as written, to `X`.
fn referenced(value: &serde_norway::Value) -> Option<String> {
    match value {
        serde_norway::Value::Tagged(tagged) if tagged.tag == "Ref" || tagged.tag == "GetAtt" => {
            tagged
                .value
                .as_str()
                .map(|name| name.split('.').next().unwrap().to_owned())
        }
        _ => None,
    }
}

#[test]
fn every_payments_route_requires_its_scope_and_only_health_is_open() {
    let template = template();
    let mut routes = Vec::new();
    for (name, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        for (_, event) in function["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            let method = properties["Method"].as_str().unwrap().to_owned();
            let path = properties["Path"].as_str().unwrap().to_owned();
            let auth = &properties["Auth"];
            if path.starts_with("/payments") {
                assert!(
                    auth["Authorizer"].is_null(),
                    "{method} {path}: the JWT authorizer"
                );
                let scopes: Vec<Option<String>> = auth["AuthorizationScopes"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("{method} {path} requires no scope"))
                    .iter()
                    .map(referenced)
                    .collect();
                let wanted = if method == "GET" {
                    "ReadScope"
                } else {
                    "WriteScope"
                };
                assert_eq!(scopes, vec![Some(wanted.to_owned())], "{method} {path}");
            } else {
                assert_eq!(name, "HealthFunction", "{method} {path}");
                assert_eq!(auth["Authorizer"].as_str(), Some("NONE"));
            }
            routes.push((method, path));
        }
    }
    routes.sort();
    assert_eq!(routes.len(), 7, "{routes:?}");
    for scope in ["ReadScope", "WriteScope"] {
        assert!(
            template["Parameters"][scope]["Default"].is_string(),
            "{scope}"
        );
    }
    assert_ne!(
        template["Parameters"]["ReadScope"]["Default"],
        template["Parameters"]["WriteScope"]["Default"]
    );
}

#[test]
fn every_function_deploys_through_an_alias_rolled_back_on_alarms_that_exist() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["AutoPublishAlias"].as_str(), Some("live"));
    assert_eq!(
        referenced(&globals["DeploymentPreference"]["Type"]).as_deref(),
        Some("DeploymentType")
    );
    let alarms: Vec<&str> = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for (name, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let rollback: Vec<String> = function["Properties"]["DeploymentPreference"]["Alarms"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name} has no rollback alarms"))
            .iter()
            .map(|alarm| referenced(alarm).expect("!Ref to an alarm"))
            .collect();
        for alarm in &rollback {
            assert!(
                alarms.contains(&alarm.as_str()),
                "{name}: {alarm} is not an alarm"
            );
        }
        // Its own errors, always; the API's 5xx rate for the routes.
        let errors = &template["Resources"][rollback[0].as_str()]["Properties"];
        assert_eq!(errors["MetricName"].as_str(), Some("Errors"), "{name}");
        assert_eq!(
            referenced(&errors["Dimensions"][0]["Value"]).as_deref(),
            Some(name)
        );
        let is_route = function["Properties"]["Events"].is_mapping();
        assert_eq!(
            rollback.contains(&"ApiServerErrorRateAlarm".to_owned()),
            is_route,
            "{name}"
        );
    }
    let types = template["Parameters"]["DeploymentType"]["AllowedValues"]
        .as_sequence()
        .unwrap();
    assert!(types.iter().any(|t| t.as_str() == Some("AllAtOnce")));
    assert!(
        template["Parameters"]["DeploymentType"]["Default"]
            .as_str()
            .unwrap()
            .starts_with("Canary")
    );
}

#[test]
fn every_alarm_notifies_the_alarm_topic() {
    let template = template();
    let alarms = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 13, "{} alarms", alarms.len());
    for (name, alarm) in alarms {
        for actions in ["AlarmActions", "OKActions"] {
            let targets: Vec<Option<String>> = alarm["Properties"][actions]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name} has no {actions}"))
                .iter()
                .map(referenced)
                .collect();
            assert_eq!(targets, vec![Some("AlarmTopic".to_owned())], "{name}");
        }
    }
    // What the issue asks to be alarmed, by metric.
    let metrics: Vec<String> = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .flat_map(|(_, alarm)| {
            let properties = &alarm["Properties"];
            let single = properties["MetricName"].as_str().map(str::to_owned);
            let math = properties["Metrics"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|m| m["MetricStat"]["Metric"]["MetricName"].as_str())
                .map(str::to_owned)
                .collect::<Vec<_>>();
            single.into_iter().chain(math)
        })
        .collect();
    for metric in [
        "5xx",
        "Latency",
        "Errors",
        "Throttles",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "SystemErrors",
        "IteratorAge",
        "ApproximateNumberOfMessagesVisible",
    ] {
        assert!(metrics.iter().any(|m| m == metric), "no alarm on {metric}");
    }
    let errors_alarms = metrics.iter().filter(|m| *m == "Errors").count();
    let functions = resources_of_type(&template, "AWS::Serverless::Function").len();
    assert_eq!(errors_alarms, functions, "one Errors alarm per function");
}

#[test]
fn the_dashboard_names_only_resources_of_the_stack() {
    let template = template();
    let dashboard = &template["Resources"]["Dashboard"]["Properties"]["DashboardBody"];
    let serde_norway::Value::Tagged(body) = dashboard else {
        panic!("DashboardBody is a !Sub");
    };
    assert_eq!(body.tag, "Sub");
    let text = body.value.as_str().unwrap();
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').unwrap() + start;
        names.push(rest[start + 2..end].to_owned());
        rest = &rest[end..];
    }
    for name in &names {
        let resource = name.split('.').next().unwrap();
        assert!(
            name == "AWS::Region"
                || name == "AWS::StackName"
                || !template["Resources"][resource].is_null()
                || !template["Parameters"][resource].is_null(),
            "the dashboard names {name}, which the stack does not have"
        );
    }
    // Substituted, it is JSON; every function, the API, the table and the queue are on it.
    let mut substituted = text.to_owned();
    for name in &names {
        substituted = substituted.replace(&format!("${{{name}}}"), "x");
    }
    let body: Value = serde_json::from_str(&substituted).expect("the dashboard body is JSON");
    assert!(body["widgets"].as_array().unwrap().len() >= 8);
    for (function, _) in resources_of_type(&template, "AWS::Serverless::Function") {
        assert!(names.iter().any(|n| n == function), "{function}");
    }
    for resource in [
        "PaymentsApi",
        "PaymentsTable",
        "PaymentEventsDeadLetterQueue.QueueName",
    ] {
        assert!(names.iter().any(|n| n == resource), "{resource}");
    }
    // No account, region or name written in: another stack's dashboard would show this one.
    assert!(!text.contains("arn:aws"), "{text}");
}

/// The dashboard's EMF widgets read the namespace the functions write to, and only metrics
/// an operation writes: a metric misnamed here would be an empty graph, not an error.
#[test]
fn the_dashboards_emf_metrics_are_ones_the_functions_write() {
    use payments_core::telemetry::metrics::{Capacity, RequestMetrics};

    let template = template();
    let namespace =
        &template["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"];
    assert_eq!(
        serde_norway::to_string(namespace).unwrap().trim(),
        "!Ref AWS::StackName"
    );
    let serde_norway::Value::Tagged(body) =
        &template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    else {
        panic!("DashboardBody is a !Sub");
    };
    let text = body
        .value
        .as_str()
        .unwrap()
        .replace("${AWS::StackName}", "STACK");
    let mut plain = text.clone();
    while let Some(start) = plain.find("${") {
        let end = plain[start..].find('}').unwrap() + start;
        plain.replace_range(start..=end, "x");
    }
    let body: Value = serde_json::from_str(&plain).unwrap();
    let mut checked = 0;
    for widget in body["widgets"].as_array().unwrap() {
        for metric in widget["properties"]["metrics"].as_array().unwrap() {
            if metric[0] != "STACK" {
                continue;
            }
            let (name, operation) = (metric[1].as_str().unwrap(), metric[3].as_str().unwrap());
            assert_eq!(metric[2], "Operation", "{metric}");
            let method = match operation {
                "create-payment" => http::Method::POST,
                "update-payment" => http::Method::PUT,
                "delete-payment" => http::Method::DELETE,
                "get-payment" | "list-payments" | "health" => http::Method::GET,
                other => panic!("{other} is no operation that writes metrics"),
            };
            assert!(
                repo_root().join("functions").join(operation).is_dir(),
                "{operation}"
            );
            let written = RequestMetrics {
                method,
                status: 200,
                replayed: false,
                capacity: Capacity::default(),
                request_id: String::new(),
            }
            .values();
            assert!(
                name == "ColdStart" || written.iter().any(|(written, _, _)| *written == name),
                "{operation} writes no {name}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} EMF metrics on the dashboard");
}

#[test]
fn a_deploy_with_samconfigs_placeholder_issuer_or_audience_is_refused() {
    let template = template();
    let rule = serde_norway::to_string(&template["Rules"]["JwtSettingsAreReal"]).unwrap();
    let samconfig = std::fs::read_to_string(repo_root().join("samconfig.toml")).unwrap();
    let mut checked = 0;
    for line in samconfig
        .lines()
        .filter(|line| line.starts_with("parameter_overrides"))
    {
        for setting in line.trim_end_matches('"').split(' ') {
            let Some((name, value)) = setting.split_once('=') else {
                continue;
            };
            if name == "JwtIssuer" || name == "JwtAudience" {
                assert!(value.contains("REPLACE-ME"), "{setting}: not a placeholder");
                assert!(
                    rule.contains(value),
                    "template.yaml's rule does not refuse samconfig.toml's {setting}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4, "an issuer and an audience for dev and prod");
    assert!(rule.contains("AssertDescription"));
}
