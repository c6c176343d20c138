//! CloudWatch's embedded metric format, checked as its published specification states it, so
//! the functions' lines are checked by something other than the code that writes them.

use std::collections::BTreeMap;

use serde_json::Value;

/// CloudWatch's units (`MetricDatum.Unit`).
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The metrics of one EMF line, by name, if the line is a valid EMF document:
/// - a JSON object whose `_aws` has a `Timestamp` (milliseconds) and `CloudWatchMetrics`, an
///   array of directives;
/// - each directive has a `Namespace`, `Dimensions` (an array of dimension sets, each an array
///   of at most 30 names of top-level string members) and `Metrics` (at most 100 definitions,
///   each a `Name` and an optional known `Unit`);
/// - every metric's value is a top-level member: a number, or an array of up to 100 numbers
///   (whose sum is given here).
pub fn metrics_of(line: &str) -> Result<BTreeMap<String, f64>, String> {
    if line.contains('\n') {
        return Err("an EMF document is one line".to_owned());
    }
    let root: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = root.as_object().ok_or("not a JSON object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    if !aws.get("Timestamp").is_some_and(Value::is_u64) {
        return Err("_aws.Timestamp is not a number of milliseconds".to_owned());
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    let mut metrics = BTreeMap::new();
    for directive in directives {
        let namespace = directive.get("Namespace").and_then(Value::as_str);
        if namespace.is_none_or(|namespace| namespace.trim().is_empty()) {
            return Err("a directive has no Namespace".to_owned());
        }
        let dimension_sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("a directive's Dimensions is not an array")?;
        for set in dimension_sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err("a dimension set has more than 30 dimensions".to_owned());
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                if !root.get(name).is_some_and(Value::is_string) {
                    return Err(format!("dimension {name} has no string value"));
                }
            }
        }
        let definitions = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("a directive's Metrics is not an array")?;
        if definitions.len() > 100 {
            return Err("more than 100 metrics in a directive".to_owned());
        }
        for definition in definitions {
            let name = definition
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("a metric has no Name")?;
            if let Some(unit) = definition.get("Unit")
                && !unit.as_str().is_some_and(|unit| UNITS.contains(&unit))
            {
                return Err(format!("metric {name} has the unknown unit {unit}"));
            }
            let value = match root.get(name) {
                Some(Value::Number(number)) => number.as_f64(),
                Some(Value::Array(values)) if values.len() <= 100 => {
                    values.iter().map(Value::as_f64).sum::<Option<f64>>()
                }
                _ => None,
            }
            .ok_or_else(|| format!("metric {name} has no numeric value"))?;
            if metrics.insert(name.to_owned(), value).is_some() {
                return Err(format!("metric {name} is defined twice"));
            }
        }
    }
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["Operation"]],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"Operation":"op","A":1}"#;

    #[test]
    fn the_specification_is_held() {
        assert_eq!(metrics_of(GOOD).unwrap()["A"], 1.0);
        for (broken, why) in [
            (GOOD.replace(r#""Timestamp":1,"#, ""), "no timestamp"),
            (GOOD.replace(r#""Namespace":"n","#, ""), "no namespace"),
            (GOOD.replace(r#","A":1"#, ""), "no value"),
            (GOOD.replace(r#""A":1"#, r#""A":"1""#), "a string value"),
            (
                GOOD.replace(r#""Operation":"op","#, ""),
                "no dimension value",
            ),
            (GOOD.replace("Count", "Payments"), "an unknown unit"),
            (format!("{GOOD}\n"), "two lines"),
        ] {
            assert!(metrics_of(&broken).is_err(), "{why} was accepted");
        }
    }
}
