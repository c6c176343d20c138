//! Turning untrusted JSON into domain values while collecting *every* failing field.
//!
//! `serde` stops at the first error, but a client fixing a rejected payment wants the whole list,
//! each with its JSON path (`attributes.beneficiary_party.account_number`). So request bodies are
//! read as [`serde_json::Value`] and walked with [`Fields`]; each leaf type parses itself through
//! [`FromJson`].

use serde::Serialize;
use serde_json::{Map, Value};

/// One field that failed validation, named by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every field of a request that failed validation. Never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` failed with `message`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(value)` when nothing failed, otherwise every recorded error.
    ///
    /// `value` is `None` exactly when a required part failed, so an empty error list with no
    /// value would be a bug in a parser; it is reported against the root rather than panicking.
    pub fn finish<T>(mut self, value: Option<T>) -> Result<T, ValidationErrors> {
        match value {
            Some(value) if self.is_empty() => Ok(value),
            _ => {
                if self.is_empty() {
                    self.add("", "is invalid");
                }
                Err(self)
            }
        }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<_> = self.0.iter().map(|e| e.field.as_str()).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

/// A domain value that can be parsed from one JSON value, reporting failures against `path`.
pub trait FromJson: Sized {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self>;
}

/// A domain value parsed from a JSON string: implement this and get [`FromJson`] for free.
pub trait FromJsonStr: Sized {
    /// Parses `text`; the error is a message that follows the field name ("must be ...").
    fn parse_str(text: &str) -> Result<Self, String>;
}

impl<T: FromJsonStr> FromJson for T {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        let Value::String(text) = value else {
            errors.add(path, "must be a string");
            return None;
        };
        T::parse_str(text)
            .map_err(|message| errors.add(path, message))
            .ok()
    }
}

/// The members of one JSON object, read by name. Members that nobody asks for are unknown
/// fields, and are reported as such by [`Fields::finish`].
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
    known: &'static [&'static str],
}

impl<'a> Fields<'a> {
    /// Opens `value` as an object whose only allowed members are `known`.
    pub fn open(
        value: &'a Value,
        path: &str,
        known: &'static [&'static str],
        errors: &mut ValidationErrors,
    ) -> Option<Self> {
        let Value::Object(map) = value else {
            errors.add(path, "must be an object");
            return None;
        };
        for name in map.keys() {
            if !known.contains(&name.as_str()) {
                errors.add(join(path, name), "is not a known field");
            }
        }
        Some(Self {
            map,
            path: path.to_owned(),
            known,
        })
    }

    /// The path of member `name`, for messages about it.
    pub fn path_of(&self, name: &str) -> String {
        join(&self.path, name)
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        debug_assert!(
            self.known.contains(&name),
            "{name} is not declared as known"
        );
        // `null` means absent: clients often send it for optional members.
        self.map.get(name).filter(|value| !value.is_null())
    }

    /// Member `name` as sent (absent when missing or `null`), for checks on its shape that
    /// must come before it is parsed.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.get(name)
    }

    /// A member that must be present and valid.
    pub fn required<T: FromJson>(&self, name: &str, errors: &mut ValidationErrors) -> Option<T> {
        match self.get(name) {
            Some(value) => T::from_json(value, &self.path_of(name), errors),
            None => {
                errors.add(self.path_of(name), "is required");
                None
            }
        }
    }

    /// A member that may be absent: `Some(None)` when absent, `None` when present but
    /// invalid (already reported), so `?` stops at a failure and keeps an absence.
    pub fn optional<T: FromJson>(
        &self,
        name: &str,
        errors: &mut ValidationErrors,
    ) -> Option<Option<T>> {
        match self.get(name) {
            Some(value) => T::from_json(value, &self.path_of(name), errors).map(Some),
            None => Some(None),
        }
    }

    /// Whether member `name` is present (and not `null`).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        let Value::Array(items) = value else {
            errors.add(path, "must be an array");
            return None;
        };
        let parsed: Vec<Option<T>> = items
            .iter()
            .enumerate()
            .map(|(index, item)| T::from_json(item, &format!("{path}[{index}]"), errors))
            .collect();
        parsed.into_iter().collect()
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Word;
    impl FromJsonStr for Word {
        fn parse_str(text: &str) -> Result<Self, String> {
            if text.chars().all(char::is_alphabetic) {
                Ok(Word)
            } else {
                Err("must be letters".into())
            }
        }
    }

    #[test]
    fn unknown_members_are_reported_with_their_path() {
        let mut errors = ValidationErrors::new();
        let value = json!({"a": "x", "zzz": 1});
        Fields::open(&value, "root", &["a"], &mut errors).unwrap();
        assert_eq!(errors.fields()[0].field, "root.zzz");
        assert_eq!(errors.fields()[0].message, "is not a known field");
    }

    #[test]
    fn every_failing_member_is_reported_not_just_the_first() {
        let mut errors = ValidationErrors::new();
        let value = json!({"a": 1, "b": "1x", "list": ["ok", "n0"]});
        let fields = Fields::open(&value, "", &["a", "b", "c", "list"], &mut errors).unwrap();
        assert!(fields.required::<Word>("a", &mut errors).is_none());
        assert!(fields.required::<Word>("b", &mut errors).is_none());
        assert!(fields.required::<Word>("c", &mut errors).is_none());
        assert!(fields.required::<Vec<Word>>("list", &mut errors).is_none());
        let reported: Vec<_> = errors
            .fields()
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            reported,
            [
                ("a", "must be a string"),
                ("b", "must be letters"),
                ("c", "is required"),
                ("list[1]", "must be letters"),
            ]
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let mut errors = ValidationErrors::new();
        let value = json!({"a": null});
        let fields = Fields::open(&value, "", &["a"], &mut errors).unwrap();
        assert!(matches!(
            fields.optional::<Word>("a", &mut errors),
            Some(None)
        ));
        assert!(errors.is_empty());
    }

    #[test]
    fn a_non_object_is_rejected() {
        let mut errors = ValidationErrors::new();
        assert!(Fields::open(&json!([1]), "attributes", &[], &mut errors).is_none());
        assert_eq!(errors.fields()[0].field, "attributes");
    }

    #[test]
    fn finish_returns_the_value_only_when_nothing_failed() {
        assert_eq!(ValidationErrors::new().finish(Some(1)).unwrap(), 1);
        let mut errors = ValidationErrors::new();
        errors.add("x", "bad");
        assert!(errors.finish(Some(1)).is_err());
    }
}
