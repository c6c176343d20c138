//! The small value types a payment is made of. Each has one fallible constructor, so a value that
//! exists is a valid one.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::validation::{FromJson, FromJsonStr, Path, ValidationErrors};

/// Writes the type as its `Display` text, and reads it from a request's JSON string through
/// `FromStr`.
macro_rules! text_value {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl FromJsonStr for $type {
            fn parse_str(text: &str) -> Result<Self, String> {
                text.parse()
                    .map_err(|error: <$type as FromStr>::Err| error.to_string())
            }
        }
    };
}

/// A [`text_value!`] that storage also keeps as a plain attribute of its items (ids, times),
/// read back through the same `FromStr`.
macro_rules! stored_text_value {
    ($type:ty) => {
        text_value!($type);

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Free text of 1 to `MAX` characters with no control characters (ISO 20022 style limits:
/// references 35, names and addresses 140).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text<const MAX: usize>(String);

/// A reference such as `end_to_end_reference`: at most 35 characters.
pub type Reference = Text<35>;
/// A name or an address: at most 140 characters.
pub type Name = Text<140>;
/// An account number: an IBAN is at most 34 characters.
pub type AccountNumber = Text<34>;

impl<const MAX: usize> Text<MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> FromStr for Text<MAX> {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Err("must not be empty".to_owned());
        }
        if text.chars().count() > MAX {
            return Err(format!("must be at most {MAX} characters"));
        }
        if text.chars().any(char::is_control) {
            return Err("must not contain control characters".to_owned());
        }
        Ok(Self(text.to_owned()))
    }
}

impl<const MAX: usize> fmt::Display for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> Serialize for Text<MAX> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<const MAX: usize> FromJsonStr for Text<MAX> {
    fn parse_str(text: &str) -> Result<Self, String> {
        text.parse()
    }
}

/// `numeric_reference`: 1 to 35 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumericReference(String);

impl FromStr for NumericReference {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() || text.len() > 35 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be 1 to 35 digits".to_owned());
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for NumericReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
text_value!(NumericReference);

/// `account_type`: a small non-negative integer code (0 is a personal account).
///
/// JSON has one kind of number, so `8.0` is the integer 8, as JSON Schema (and so
/// `docs/openapi.yaml`) reads it; it is written back as `8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AccountType(u8);

impl FromJson for AccountType {
    fn from_json(value: &Value, path: &Path<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        let code = value
            .as_f64()
            .filter(|number| number.fract() == 0.0 && (0.0..=9.0).contains(number));
        match code {
            // A whole number from 0 to 9: the cast is exact.
            Some(code) => Some(Self(code as u8)),
            None => {
                errors.add(path, "must be an integer from 0 to 9");
                None
            }
        }
    }
}

/// Declares a closed enumeration that travels as its exact spelling.
macro_rules! enumeration {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $(stringify!($variant) => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of {}",
                        [$(stringify!($variant)),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        text_value!($name);
    };
}

enumeration!(
    /// Whether the payment credits or debits the beneficiary.
    PaymentType { Credit, Debit }
);
enumeration!(
    /// The clearing scheme that carries the payment.
    PaymentScheme { FPS, BACS, CHAPS, SEPA, SWIFT }
);
enumeration!(
    /// How an account number is written.
    AccountNumberCode { BBAN, IBAN }
);
enumeration!(
    /// Who bears the charges: shared, the debtor (OUR) or the beneficiary (BEN).
    BearerCode { SHAR, OUR, BEN }
);

/// The date a payment is processed: a real calendar date written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProcessingDate(Date);

impl FromStr for ProcessingDate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let format = format_description!("[year]-[month]-[day]");
        if text.len() != 10 {
            return Err("must be a date written YYYY-MM-DD".to_owned());
        }
        Date::parse(text, format)
            .map(Self)
            .map_err(|_| "must be a real date written YYYY-MM-DD".to_owned())
    }
}

impl fmt::Display for ProcessingDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = format_description!("[year]-[month]-[day]");
        let text = self.0.format(format).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}
text_value!(ProcessingDate);

/// A moment, held to the millisecond and always written as RFC 3339 UTC with three fractional
/// digits (`2026-11-24T09:15:02.481Z`), so that timestamps sort as text: the list index relies
/// on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    /// Seconds since the Unix epoch, as DynamoDB's TTL wants them.
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The whole second `seconds` after the Unix epoch (as DynamoDB's TTL keeps moments).
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self)
    }

    /// This moment plus `duration`.
    pub fn plus(&self, duration: time::Duration) -> Self {
        Self(self.0 + duration)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i128 {
        self.0.unix_timestamp_nanos() / 1_000_000
    }

    /// The moment `millis` milliseconds after the Unix epoch.
    pub fn from_unix_millis(millis: i128) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
            .ok()
            .map(Self)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(moment: OffsetDateTime) -> Self {
        let moment = moment.to_offset(time::UtcOffset::UTC);
        let millis = moment.millisecond();
        Self(
            moment
                .replace_millisecond(millis)
                .expect("a millisecond read from a valid time is valid"),
        )
    }
}

impl FromStr for Timestamp {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Self::from)
            .map_err(|_| "must be an RFC 3339 timestamp".to_owned())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let text = self.0.format(format).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}
stored_text_value!(Timestamp);

/// Declares a UUID-backed identifier.
macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                // Only the canonical hyphenated form: one spelling per id keeps keys unique.
                if text.len() != 36 {
                    return Err("must be a UUID such as 0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41".to_owned());
                }
                Uuid::try_parse(text)
                    .map(|uuid| Self(uuid))
                    .map_err(|_| "must be a UUID such as 0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41".to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        stored_text_value!($name);
    };
}

identifier!(
    /// The server-assigned identifier of a payment.
    PaymentId
);
identifier!(
    /// The organisation (tenant) that owns a payment.
    OrganisationId
);

impl PaymentId {
    /// A new identifier for a payment created at `created_at`: a UUIDv7 (RFC 9562), whose
    /// first 48 bits are that millisecond and the rest random. Ids sort by creation time, and
    /// the id alone tells when its payment was created (see [`PaymentId::created_at`]).
    pub fn generate(created_at: Timestamp) -> Self {
        let millis = u64::try_from(created_at.unix_millis()).unwrap_or(0);
        let (seconds, millis) = (millis / 1000, millis % 1000);
        let moment =
            uuid::Timestamp::from_unix(uuid::NoContext, seconds, millis as u32 * 1_000_000);
        Self(Uuid::new_v7(moment))
    }

    /// The moment a UUIDv7 id records: when its payment was created, for the ids
    /// [`PaymentId::generate`] makes. `None` for other kinds of UUID.
    pub fn created_at(&self) -> Option<Timestamp> {
        if self.0.get_version() != Some(uuid::Version::SortRand) {
            return None;
        }
        let (seconds, nanos) = self.0.get_timestamp()?.to_unix();
        Timestamp::from_unix_millis(i128::from(seconds) * 1000 + i128::from(nanos / 1_000_000))
    }
}

/// The version of a payment: 1 when created, one more on every change. Also its strong ETag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version(NonZeroU64);

impl Version {
    pub const FIRST: Version = Version(NonZeroU64::MIN);

    pub fn new(value: u64) -> Option<Self> {
        NonZeroU64::new(value).map(Self)
    }

    pub fn get(&self) -> u64 {
        self.0.get()
    }

    /// The version after this one.
    pub fn next(&self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// The version before this one; `None` for the first.
    pub fn previous(&self) -> Option<Self> {
        Self::new(self.get() - 1)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What a conditional write expects to find: a given version, or any current version (`*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    Exactly(Version),
    Any,
}

impl ExpectedVersion {
    pub fn matches(&self, current: Version) -> bool {
        match self {
            ExpectedVersion::Exactly(expected) => *expected == current,
            ExpectedVersion::Any => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_longer_than_its_limit_is_rejected() {
        assert!("a".repeat(35).parse::<Reference>().is_ok());
        assert!("a".repeat(36).parse::<Reference>().is_err());
        assert!(
            "é".repeat(140).parse::<Name>().is_ok(),
            "limits count characters, not bytes"
        );
        assert!("a".repeat(141).parse::<Name>().is_err());
    }

    #[test]
    fn blank_text_and_control_characters_are_rejected() {
        assert!("".parse::<Name>().is_err());
        assert!("   ".parse::<Name>().is_err());
        assert!("a\u{0}b".parse::<Name>().is_err());
        assert!("a\nb".parse::<Name>().is_err());
    }

    #[test]
    fn numeric_reference_is_digits_only() {
        assert!("4471102".parse::<NumericReference>().is_ok());
        assert!("44a".parse::<NumericReference>().is_err());
        assert!("1".repeat(36).parse::<NumericReference>().is_err());
    }

    #[test]
    fn enumerations_accept_exact_spellings_only() {
        assert_eq!(
            "Credit".parse::<PaymentType>().unwrap(),
            PaymentType::Credit
        );
        assert!("credit".parse::<PaymentType>().is_err());
        assert_eq!(
            "SWIFT".parse::<PaymentScheme>().unwrap(),
            PaymentScheme::SWIFT
        );
        assert!("ACH".parse::<PaymentScheme>().is_err());
        assert!("IBAN".parse::<AccountNumberCode>().is_ok());
        assert!("SWIFT".parse::<AccountNumberCode>().is_err());
        assert!("SHAR".parse::<BearerCode>().is_ok());
        assert!("SHARED".parse::<BearerCode>().is_err());
    }

    #[test]
    fn processing_date_must_be_a_real_calendar_date() {
        assert_eq!(
            "2026-11-25".parse::<ProcessingDate>().unwrap().to_string(),
            "2026-11-25"
        );
        assert!("2028-02-29".parse::<ProcessingDate>().is_ok());
        for text in [
            "2026-02-30",
            "2026-13-01",
            "26-11-25",
            "2026-1-5",
            "2026-11-25T00:00:00Z",
            "",
        ] {
            assert!(text.parse::<ProcessingDate>().is_err(), "{text}");
        }
    }

    #[test]
    fn timestamps_are_written_to_the_millisecond_in_utc() {
        let moment: Timestamp = "2026-11-24T10:15:02.481734+01:00".parse().unwrap();
        assert_eq!(moment.to_string(), "2026-11-24T09:15:02.481Z");
        let whole: Timestamp = "2026-11-24T09:15:02Z".parse().unwrap();
        assert_eq!(whole.to_string(), "2026-11-24T09:15:02.000Z");
    }

    #[test]
    fn identifiers_must_be_canonical_uuids() {
        let text = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41";
        assert_eq!(text.parse::<PaymentId>().unwrap().to_string(), text);
        for bad in [
            "",
            "not-a-uuid",
            "0b7c3c525a0e4b8e9d2f6f1a2c7e9b41",
            "../etc/passwd",
        ] {
            assert!(bad.parse::<PaymentId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_generated_id_records_its_creation_time_to_the_millisecond() {
        let created_at: Timestamp = "2026-11-24T09:15:02.481Z".parse().unwrap();
        let id = PaymentId::generate(created_at);
        assert_eq!(id.as_uuid().get_version_num(), 7);
        assert_eq!(id.created_at(), Some(created_at));
        assert_ne!(id, PaymentId::generate(created_at), "the rest is random");
        let later = PaymentId::generate("2026-11-24T09:15:02.482Z".parse().unwrap());
        assert!(
            id.to_string() < later.to_string(),
            "ids sort by creation time as text"
        );
        let v4: PaymentId = "0b7c3c52-5a0e-4b8e-9d2f-6f1a2c7e9b41".parse().unwrap();
        assert_eq!(v4.created_at(), None);
    }

    #[test]
    fn expected_version_any_matches_every_version() {
        let v2 = Version::FIRST.next();
        assert!(ExpectedVersion::Any.matches(v2));
        assert!(ExpectedVersion::Exactly(v2).matches(v2));
        assert!(!ExpectedVersion::Exactly(Version::FIRST).matches(v2));
    }
}
