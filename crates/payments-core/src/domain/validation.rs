//! The one way a payment's members are read and written: untrusted JSON turned into domain
//! values, collecting *every* failing field, and the same values written back.
//!
//! `serde` stops at the first error, but a client fixing a rejected payment wants the whole list,
//! each with its JSON path (`attributes.beneficiary_party.account_number`), type errors and
//! unknown members included. So bodies are read as [`serde_json::Value`] and walked: each leaf
//! type parses itself through [`FromJson`], and each object is a struct declared once with
//! [`json_object!`], which reads its members in order, reports those it does not know, and
//! writes them back as its `Serialize`.

use std::cell::RefCell;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
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

/// Where a value sits in a request body (`attributes.charges_information.sender_charges[0]`),
/// spelt out only when an error names it: a valid body, the usual one, never formats a path.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// The body itself: no name.
    Root,
    /// Member `name` of the object at the path.
    Member(&'a Path<'a>, &'a str),
    /// Entry `index` of the array at the path.
    Index(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, name) => f.write_str(name),
            Path::Member(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

impl From<&Path<'_>> for String {
    fn from(path: &Path<'_>) -> Self {
        path.to_string()
    }
}

impl From<Path<'_>> for String {
    fn from(path: Path<'_>) -> Self {
        path.to_string()
    }
}

/// A domain value that can be parsed from one JSON value, reporting failures against `path`.
pub trait FromJson: Sized {
    fn from_json(value: &Value, path: &Path<'_>, errors: &mut ValidationErrors) -> Option<Self>;

    /// The value of a member that is absent (or `null`); `None`, the default, when the member
    /// is required.
    fn when_absent() -> Option<Self> {
        None
    }

    /// Whether this value is written as no member at all.
    fn is_absent(&self) -> bool {
        false
    }
}

/// A domain value parsed from a JSON string: implement this and get [`FromJson`] for free.
pub trait FromJsonStr: Sized {
    /// Parses `text`; the error is a message that follows the field name ("must be ...").
    fn parse_str(text: &str) -> Result<Self, String>;
}

impl<T: FromJsonStr> FromJson for T {
    fn from_json(value: &Value, path: &Path<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        let Value::String(text) = value else {
            errors.add(path, "must be a string");
            return None;
        };
        T::parse_str(text)
            .map_err(|message| errors.add(path, message))
            .ok()
    }
}

/// An optional member: absent (or `null`) is `None`, and `None` is left out when written.
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &Value, path: &Path<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        T::from_json(value, path, errors).map(Some)
    }

    fn when_absent() -> Option<Self> {
        Some(None)
    }

    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value, path: &Path<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        let Value::Array(items) = value else {
            errors.add(path, "must be an array");
            return None;
        };
        let parsed: Vec<Option<T>> = items
            .iter()
            .enumerate()
            .map(|(index, item)| T::from_json(item, &Path::Index(path, index), errors))
            .collect();
        parsed.into_iter().collect()
    }
}

/// A list of at most `MAX` entries; absent is empty, and it is always written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> List<T, MAX> {
    /// `None` when `items` has more than `MAX` entries.
    pub fn new(items: Vec<T>) -> Option<Self> {
        (items.len() <= MAX).then_some(Self(items))
    }
}

impl<T, const MAX: usize> std::ops::Deref for List<T, MAX> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: FromJson, const MAX: usize> FromJson for List<T, MAX> {
    fn from_json(value: &Value, path: &Path<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        // Counted before the entries are parsed: a 32 KiB body of thousands of bad entries
        // would otherwise answer a problem listing each, over a megabyte.
        if value.as_array().is_some_and(|items| items.len() > MAX) {
            errors.add(path, format!("must have at most {MAX} entries"));
            return None;
        }
        Vec::from_json(value, path, errors).map(Self)
    }

    fn when_absent() -> Option<Self> {
        Some(Self(Vec::new()))
    }
}

impl<T: Serialize, const MAX: usize> Serialize for List<T, MAX> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(Some(self.0.len()))?;
        for item in &self.0 {
            list.serialize_element(item)?;
        }
        list.end()
    }
}

/// The members of one JSON object, read by name. Members nobody asks for are unknown, and
/// [`Fields::close`] reports them.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: Path<'a>,
    /// The names asked for: the members this object knows.
    known: RefCell<Vec<&'static str>>,
    /// How many errors were recorded before this object's, so that its unknown members are
    /// listed first, where a reader of the object meets them.
    errors_before: usize,
}

impl<'a> Fields<'a> {
    /// Opens `value` as an object.
    pub fn open(value: &'a Value, path: &Path<'a>, errors: &mut ValidationErrors) -> Option<Self> {
        let Value::Object(map) = value else {
            errors.add(path, "must be an object");
            return None;
        };
        Some(Self {
            map,
            path: *path,
            known: RefCell::new(Vec::with_capacity(map.len())),
            errors_before: errors.0.len(),
        })
    }

    /// The path of member `name`, for messages about it.
    pub fn path_of<'b>(&'b self, name: &'b str) -> Path<'b> {
        Path::Member(&self.path, name)
    }

    fn get(&self, name: &'static str) -> Option<&'a Value> {
        self.known.borrow_mut().push(name);
        // `null` means absent: clients often send it for optional members.
        self.map.get(name).filter(|value| !value.is_null())
    }

    /// Member `name`: `None` when it is invalid, or absent and required (already reported).
    pub fn member<T: FromJson>(
        &self,
        name: &'static str,
        errors: &mut ValidationErrors,
    ) -> Option<T> {
        match self.get(name) {
            Some(value) => T::from_json(value, &self.path_of(name), errors),
            None => {
                let absent = T::when_absent();
                if absent.is_none() {
                    errors.add(self.path_of(name), "is required");
                }
                absent
            }
        }
    }

    /// Whether member `name` is present (and not `null`).
    pub fn has(&self, name: &'static str) -> bool {
        self.get(name).is_some()
    }

    /// Reports the members nobody asked for, ahead of this object's other errors.
    pub fn close(self, errors: &mut ValidationErrors) {
        let known = self.known.into_inner();
        let unknown = self
            .map
            .keys()
            .filter(|name| !known.contains(&name.as_str()))
            .map(|name| FieldError {
                field: Path::Member(&self.path, name).to_string(),
                message: "is not a known field".to_owned(),
            });
        let at = self.errors_before;
        errors.0.splice(at..at, unknown);
    }
}

/// A value made of members of an object, read and written beside the object's other members:
/// a struct declared with `json_object!` and flattened into its parent (`Names` is `()`), or
/// [`crate::domain::Money`] as an amount and a currency (`Names` says which two members).
pub trait FromMembers: Sized {
    /// The member names this value is read from, when the type does not fix them.
    type Names: Copy;

    /// Reads the members; `None` when one failed (already reported).
    fn from_members(
        fields: &Fields<'_>,
        names: Self::Names,
        errors: &mut ValidationErrors,
    ) -> Option<Self>;

    /// Writes the members; absent ones are left out.
    fn write_members<M: SerializeMap>(
        &self,
        names: Self::Names,
        map: &mut M,
    ) -> Result<(), M::Error>;
}

/// Reads a whole object as a [`FromMembers`] value: unknown members are reported.
pub fn from_object<T: FromMembers>(
    value: &Value,
    path: &Path<'_>,
    names: T::Names,
    errors: &mut ValidationErrors,
) -> Option<T> {
    let fields = Fields::open(value, path, errors)?;
    let parsed = T::from_members(&fields, names, errors);
    fields.close(errors);
    parsed
}

/// Writes a [`FromMembers`] value as an object of its own.
pub fn write_object<T: FromMembers, S: serde::Serializer>(
    value: &T,
    names: T::Names,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    value.write_members(names, &mut map)?;
    map.end()
}

/// Declares a struct that is read from, and written as, one JSON object: each field once.
///
/// A field is the member of the same name: required, unless its type has a value for an
/// absent member ([`FromJson::when_absent`]: an `Option`, a [`List`]). `#[json(flatten)]`
/// marks a field whose own members sit beside the struct's (a party's details, themselves a
/// `json_object!`), and `#[json(flatten("amount", "currency"))]` one read from two named
/// members ([`crate::domain::Money`]). Members nobody reads are reported as unknown. Written
/// back, the members come in field order and absent `Option`s are left out.
macro_rules! json_object {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:expr])*
                $(#[json($($how:tt)*)])?
                $field_vis:vis $field:ident : $type:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[doc = $doc])*
                $field_vis $field: $type,
            )*
        }

        impl $crate::domain::validation::FromMembers for $name {
            type Names = ();

            fn from_members(
                fields: &$crate::domain::validation::Fields<'_>,
                (): (),
                errors: &mut $crate::domain::validation::ValidationErrors,
            ) -> Option<Self> {
                // Every member is read before any `?`, so each failing one is reported.
                $(
                    let $field: Option<$type> =
                        json_object!(@read fields, errors, [$($($how)*)?], $field);
                )*
                Some(Self { $($field: $field?,)* })
            }

            fn write_members<M: serde::ser::SerializeMap>(
                &self,
                (): (),
                map: &mut M,
            ) -> Result<(), M::Error> {
                $(json_object!(@write map, [$($($how)*)?], $field, &self.$field);)*
                Ok(())
            }
        }

        impl $crate::domain::validation::FromJson for $name {
            fn from_json(
                value: &serde_json::Value,
                path: &$crate::domain::validation::Path<'_>,
                errors: &mut $crate::domain::validation::ValidationErrors,
            ) -> Option<Self> {
                $crate::domain::validation::from_object(value, path, (), errors)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $crate::domain::validation::write_object(self, (), serializer)
            }
        }
    };

    (@read $fields:ident, $errors:ident, [], $field:ident) => {
        $fields.member(stringify!($field), $errors)
    };
    (@read $fields:ident, $errors:ident, [flatten], $field:ident) => {
        $crate::domain::validation::FromMembers::from_members($fields, (), $errors)
    };
    (@read $fields:ident, $errors:ident, [flatten($($member:literal),+)], $field:ident) => {
        $crate::domain::validation::FromMembers::from_members($fields, ($($member),+), $errors)
    };

    (@write $map:ident, [], $field:ident, $value:expr) => {
        if !$crate::domain::validation::FromJson::is_absent($value) {
            $map.serialize_entry(stringify!($field), $value)?;
        }
    };
    (@write $map:ident, [flatten], $field:ident, $value:expr) => {
        $crate::domain::validation::FromMembers::write_members($value, (), $map)?
    };
    (@write $map:ident, [flatten($($member:literal),+)], $field:ident, $value:expr) => {
        $crate::domain::validation::FromMembers::write_members($value, ($($member),+), $map)?
    };
}
pub(crate) use json_object;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Word(String);

    impl FromJsonStr for Word {
        fn parse_str(text: &str) -> Result<Self, String> {
            if text.chars().all(char::is_alphabetic) {
                Ok(Word(text.to_owned()))
            } else {
                Err("must be letters".into())
            }
        }
    }

    impl Serialize for Word {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&self.0)
        }
    }

    json_object! {
        #[derive(Debug, PartialEq, Eq)]
        struct Inner {
            c: Option<Word>,
            d: Option<Word>,
        }
    }

    json_object! {
        #[derive(Debug, PartialEq, Eq)]
        struct Outer {
            a: Word,
            b: Option<Word>,
            #[json(flatten)]
            inner: Inner,
            list: List<Word, 2>,
        }
    }

    fn parse(value: Value) -> Result<Outer, Vec<(String, String)>> {
        let mut errors = ValidationErrors::new();
        let parsed = Outer::from_json(&value, &Path::Member(&Path::Root, "root"), &mut errors);
        errors.finish(parsed).map_err(|errors| {
            errors
                .fields()
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect()
        })
    }

    fn reported(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(field, message)| (field.to_string(), message.to_string()))
            .collect()
    }

    #[test]
    fn every_failing_member_is_reported_not_just_the_first() {
        let errors = parse(json!({"b": 1, "c": "1x", "list": ["ok", "n0"], "zzz": 1})).unwrap_err();

        assert_eq!(
            errors,
            reported(&[
                ("root.zzz", "is not a known field"),
                ("root.a", "is required"),
                ("root.b", "must be a string"),
                ("root.c", "must be letters"),
                ("root.list[1]", "must be letters"),
            ])
        );
    }

    #[test]
    fn members_of_a_flattened_struct_are_known_and_the_rest_are_not() {
        let parsed = parse(json!({"a": "x", "c": "y"})).unwrap();
        assert_eq!(parsed.inner.c, Some(Word("y".into())));
        assert_eq!(parsed.inner.d, None);
        assert_eq!(
            parse(json!({"a": "x", "inner": {}})).unwrap_err(),
            reported(&[("root.inner", "is not a known field")])
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let parsed = parse(json!({"a": "x", "b": null, "list": null})).unwrap();
        assert_eq!(parsed.b, None);
        assert!(parsed.list.is_empty());
        assert_eq!(
            parse(json!({"a": null})).unwrap_err(),
            reported(&[("root.a", "is required")])
        );
    }

    #[test]
    fn a_list_longer_than_its_limit_is_refused_before_its_entries_are_read() {
        assert_eq!(
            parse(json!({"a": "x", "list": [1, 2, 3]})).unwrap_err(),
            reported(&[("root.list", "must have at most 2 entries")])
        );
    }

    #[test]
    fn a_non_object_is_rejected() {
        assert_eq!(
            parse(json!([1])).unwrap_err(),
            reported(&[("root", "must be an object")])
        );
    }

    #[test]
    fn a_struct_is_written_back_with_the_members_it_was_read_from() {
        let value = json!({"a": "x", "d": "z", "list": ["p", "q"]});
        let parsed = parse(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
        let text = serde_json::to_string(&parse(json!({"list": [], "a": "x"})).unwrap()).unwrap();
        assert_eq!(
            text, r#"{"a":"x","list":[]}"#,
            "in field order, without absent options, with an empty list"
        );
    }

    #[test]
    fn finish_returns_the_value_only_when_nothing_failed() {
        assert_eq!(ValidationErrors::new().finish(Some(1)).unwrap(), 1);
        let mut errors = ValidationErrors::new();
        errors.add("x", "bad");
        assert!(errors.finish(Some(1)).is_err());
    }
}
