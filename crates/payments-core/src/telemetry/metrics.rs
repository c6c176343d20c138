//! Business and cost metrics as CloudWatch Embedded Metric Format (EMF) lines: one JSON object
//! per request on standard output, from which CloudWatch Logs makes metrics, with no agent and
//! no call on the request's path.
//!
//! Dimensions are bounded: the stack's namespace, and the operation (one per function). Never
//! an organisation or a payment id, which would make a metric per tenant. Each operation
//! writes the same metrics on every request, zeros included, so a rate over them is a rate.

use std::fmt::Write as _;

use http::Method;

/// The namespace of a stack's metrics unless `METRICS_NAMESPACE` names another.
pub const DEFAULT_NAMESPACE: &str = "payments";

/// DynamoDB capacity units a request consumed, as DynamoDB reported them
/// (`ReturnConsumedCapacity=TOTAL`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capacity {
    pub read: f64,
    pub write: f64,
}

/// What one request did, as far as its metrics go: its method and outcome, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics {
    pub method: Method,
    pub status: u16,
    /// A create answered from its `Idempotency-Key` (`Idempotent-Replayed: true`).
    pub replayed: bool,
    pub capacity: Capacity,
    /// Lambda's request id, to find the request's log lines from a metric's.
    pub request_id: String,
}

impl RequestMetrics {
    /// The metrics of this request, as `(name, unit, value)`: those of its method, every time.
    pub fn values(&self) -> Vec<(&'static str, &'static str, f64)> {
        let count = |happened: bool| f64::from(u8::from(happened));
        let status = self.status;
        let mut values = Vec::with_capacity(7);
        match self.method {
            Method::POST => {
                values.push((
                    "PaymentsCreated",
                    "Count",
                    count(status == 201 && !self.replayed),
                ));
                values.push((
                    "IdempotentReplays",
                    "Count",
                    count(status == 201 && self.replayed),
                ));
            }
            Method::PUT => values.push(("PaymentsUpdated", "Count", count(status == 200))),
            Method::DELETE => values.push(("PaymentsDeleted", "Count", count(status == 204))),
            _ => {}
        }
        let writes = self.method != Method::GET && self.method != Method::HEAD;
        if matches!(self.method, Method::PUT | Method::DELETE) {
            values.push(("PreconditionFailures", "Count", count(status == 412)));
        }
        if writes {
            values.push(("Conflicts", "Count", count(status == 409)));
        }
        values.push(("Unavailable", "Count", count(status == 503)));
        values.push(("ConsumedReadCapacity", "None", self.capacity.read));
        if writes {
            values.push(("ConsumedWriteCapacity", "None", self.capacity.write));
        }
        values
    }
}

/// Writes the EMF line of each request of one operation.
#[derive(Debug, Clone)]
pub struct Emf {
    namespace: String,
    operation: String,
}

impl Emf {
    /// Lines for `operation`, in the namespace `METRICS_NAMESPACE` names (the template sets the
    /// stack's name), else [`DEFAULT_NAMESPACE`].
    pub fn from_env(operation: &str) -> Self {
        let namespace = std::env::var("METRICS_NAMESPACE")
            .ok()
            .filter(|namespace| !namespace.is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        Self::new(namespace, operation)
    }

    pub fn new(namespace: impl Into<String>, operation: &str) -> Self {
        Self {
            namespace: namespace.into(),
            operation: operation.to_owned(),
        }
    }

    /// The EMF object of `metrics` at `timestamp_ms`, with `ColdStart` 1 on a sandbox's first
    /// request (absent after it: its sum is the number of cold starts). One line, no newline.
    pub fn line(&self, metrics: &RequestMetrics, cold_start: bool, timestamp_ms: u64) -> String {
        let mut values = metrics.values();
        if cold_start {
            values.push(("ColdStart", "Count", 1.0));
        }
        let definitions: Vec<_> = values
            .iter()
            .map(|(name, unit, _)| serde_json::json!({"Name": name, "Unit": unit}))
            .collect();
        let mut line = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["Operation"]],
                    "Metrics": definitions,
                }],
            },
            "Operation": self.operation,
            "request_id": metrics.request_id,
        });
        for (name, _, value) in values {
            line[name] = value.into();
        }
        let mut text = String::with_capacity(640);
        let _ = write!(text, "{line}");
        text
    }

    /// Writes the line of `metrics` to standard output, now.
    pub fn write(&self, metrics: &RequestMetrics, cold_start: bool) {
        use std::io::Write as _;
        let now = crate::domain::Timestamp::now().unix_millis();
        let mut line = self.line(metrics, cold_start, u64::try_from(now).unwrap_or(0));
        line.push('\n');
        // One write of the whole line, so a log line written beside it never splits it.
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, status: u16, replayed: bool) -> RequestMetrics {
        RequestMetrics {
            method,
            status,
            replayed,
            capacity: Capacity {
                read: 0.5,
                write: 4.0,
            },
            request_id: "c6af9ac6-7b61-11e6-9a41-93e812345678".to_owned(),
        }
    }

    fn metric<'a>(line: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
        line.get(name)
    }

    #[test]
    fn a_line_is_emf_with_every_metric_defined_and_given() {
        let emf = Emf::new("payments-dev", "create-payment");
        let line: serde_json::Value =
            serde_json::from_str(&emf.line(&request(Method::POST, 201, false), true, 42)).unwrap();

        assert_eq!(line["_aws"]["Timestamp"], 42);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "payments-dev");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Operation"]]));
        assert_eq!(line["Operation"], "create-payment");
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "PaymentsCreated",
                "IdempotentReplays",
                "Conflicts",
                "Unavailable",
                "ConsumedReadCapacity",
                "ConsumedWriteCapacity",
                "ColdStart"
            ]
        );
        for name in names {
            assert!(line[name].is_number(), "{name} has no value");
        }
        assert_eq!(line["PaymentsCreated"], 1.0);
        assert_eq!(line["IdempotentReplays"], 0.0);
        assert_eq!(line["ConsumedWriteCapacity"], 4.0);
        assert_eq!(line["ColdStart"], 1.0);
    }

    /// What the README says the stack's custom metrics number: the six route functions'
    /// metrics (create, update, delete, and get, list and health on GET), and a ColdStart each.
    #[test]
    fn the_route_functions_write_thirty_metrics() {
        let per_method = |method| request(method, 200, false).values().len();
        let operations = [
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::GET,
            Method::GET,
            Method::GET,
        ];
        let metrics: usize = operations.iter().cloned().map(per_method).sum();
        assert_eq!(metrics + operations.len(), 30);
    }

    #[test]
    fn each_outcome_counts_once() {
        let emf = Emf::new("p", "op");
        let line = |method, status, replayed| -> serde_json::Value {
            serde_json::from_str(&emf.line(&request(method, status, replayed), false, 0)).unwrap()
        };

        let replay = line(Method::POST, 201, true);
        assert_eq!(replay["IdempotentReplays"], 1.0);
        assert_eq!(replay["PaymentsCreated"], 0.0);
        assert!(metric(&replay, "ColdStart").is_none());

        let stale = line(Method::PUT, 412, false);
        assert_eq!(stale["PreconditionFailures"], 1.0);
        assert_eq!(stale["PaymentsUpdated"], 0.0);

        let conflict = line(Method::DELETE, 409, false);
        assert_eq!(conflict["Conflicts"], 1.0);
        assert_eq!(conflict["PaymentsDeleted"], 0.0);

        let unavailable = line(Method::GET, 503, false);
        assert_eq!(unavailable["Unavailable"], 1.0);
        assert!(metric(&unavailable, "ConsumedWriteCapacity").is_none());
        assert!(metric(&unavailable, "Conflicts").is_none());
    }
}
