//! Exact money: decimal amounts bound to an ISO 4217 currency and its minor unit.
//!
//! Amounts travel as strings (`"100.21"`) in JSON and in DynamoDB, and are held as
//! [`rust_decimal::Decimal`], which keeps the scale it was given: `"1.10"` stays `"1.10"`.
//! Nothing here is ever a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use super::validation::{
    Fields, FromJson, FromJsonStr, FromMembers, Path, ValidationErrors, from_object, write_object,
};

/// An ISO 4217 currency in active use, with the number of digits of its minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

impl Currency {
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point that an amount in this currency may have (GBP 2, JPY 0).
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }
}

impl FromStr for Currency {
    type Err = String;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        CURRENCIES
            .binary_search_by(|(known, _)| (*known).cmp(code))
            .map(|index| {
                let (code, minor_units) = CURRENCIES[index];
                Currency { code, minor_units }
            })
            .map_err(|_| "must be an ISO 4217 currency code in use, such as GBP".to_owned())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl FromJsonStr for Currency {
    fn parse_str(text: &str) -> Result<Self, String> {
        text.parse()
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

/// Active ISO 4217 codes and their minor units, sorted by code for binary search.
/// Fund codes without a minor unit (XAU, XDR, XTS, XXX, ...) are not money a payment can move.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2),
    ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BHD", 3), ("BIF", 0),
    ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2),
    ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2), ("CHE", 2), ("CHF", 2),
    ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2), ("COU", 2), ("CRC", 2),
    ("CUP", 2), ("CVE", 2), ("CZK", 2), ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2),
    ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2), ("FJD", 2), ("FKP", 2), ("GBP", 2),
    ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0), ("GTQ", 2), ("GYD", 2),
    ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2), ("INR", 2),
    ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2),
    ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2),
    ("KZT", 2), ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3),
    ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2),
    ("MRU", 2), ("MUR", 2), ("MVR", 2), ("MWK", 2), ("MXN", 2), ("MXV", 2), ("MYR", 2),
    ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2), ("NOK", 2), ("NPR", 2), ("NZD", 2),
    ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2), ("PKR", 2), ("PLN", 2),
    ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0), ("SAR", 2),
    ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2),
    ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2),
    ("THB", 2), ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2),
    ("TWD", 2), ("TZS", 2), ("UAH", 2), ("UGX", 0), ("USD", 2), ("USN", 2), ("UYI", 0),
    ("UYU", 2), ("UYW", 4), ("UZS", 2), ("VED", 2), ("VES", 2), ("VND", 0), ("VUV", 0),
    ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2), ("XOF", 0), ("XPF", 0), ("YER", 2),
    ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

/// Decimal places a [`PositiveDecimal`] may carry at all; money is further limited by its currency.
const MAX_SCALE: usize = 10;
/// Integer digits a [`PositiveDecimal`] may carry: far beyond any payment, well inside `Decimal`.
const MAX_INTEGER_DIGITS: usize = 18;

/// A strictly positive decimal written in plain notation: `"0.01"`, `"1000"`, `"1.17000"`.
///
/// No sign, exponent, spaces, leading zeros or bare points, so there is exactly one way to write
/// each value at a given scale, and it is returned as it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveDecimal(Decimal);

impl PositiveDecimal {
    pub fn value(&self) -> Decimal {
        self.0
    }

    /// Digits after the decimal point, as written.
    pub fn scale(&self) -> u32 {
        self.0.scale()
    }
}

impl FromStr for PositiveDecimal {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const SYNTAX: &str =
            "must be a positive decimal number written as a string, such as \"100.21\"";
        let (integer, fraction) = match text.split_once('.') {
            Some((integer, fraction)) => (integer, Some(fraction)),
            None => (text, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(integer) || fraction.is_some_and(|f| !digits(f)) {
            return Err(SYNTAX.to_owned());
        }
        if integer.len() > 1 && integer.starts_with('0') {
            return Err("must not have leading zeros".to_owned());
        }
        if integer.len() > MAX_INTEGER_DIGITS {
            return Err(format!(
                "must have at most {MAX_INTEGER_DIGITS} digits before the decimal point"
            ));
        }
        if fraction.is_some_and(|f| f.len() > MAX_SCALE) {
            return Err(format!("must have at most {MAX_SCALE} decimal places"));
        }
        let value = Decimal::from_str_exact(text).map_err(|_| SYNTAX.to_owned())?;
        if value.is_zero() {
            return Err("must be greater than zero".to_owned());
        }
        Ok(Self(value))
    }
}

impl fmt::Display for PositiveDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Decimal` keeps the scale it was parsed with, so this prints the text it came from.
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromJsonStr for PositiveDecimal {
    fn parse_str(text: &str) -> Result<Self, String> {
        text.parse()
    }
}

impl Serialize for PositiveDecimal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An amount of a currency, with no more decimal places than the currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    amount: PositiveDecimal,
    currency: Currency,
}

impl Money {
    /// Binds `amount` to `currency`; the error is the message for the amount's field.
    pub fn new(amount: PositiveDecimal, currency: Currency) -> Result<Self, String> {
        if amount.scale() > currency.minor_units() {
            return Err(match currency.minor_units() {
                0 => format!("must be a whole number in {currency}"),
                n => format!("must have at most {n} decimal places in {currency}"),
            });
        }
        Ok(Self { amount, currency })
    }

    pub fn amount(&self) -> PositiveDecimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// Money as two members of an object, its amount and its currency, named by the object:
/// `amount` and `currency` in a payment, `original_amount` and `original_currency` in its
/// foreign exchange.
impl FromMembers for Money {
    type Names = (&'static str, &'static str);

    fn from_members(
        fields: &Fields<'_>,
        (amount, currency): Self::Names,
        errors: &mut ValidationErrors,
    ) -> Option<Self> {
        let amount_value = fields.member(amount, errors);
        let currency_value = fields.member(currency, errors);
        Money::new(amount_value?, currency_value?)
            .map_err(|message| errors.add(fields.path_of(amount), message))
            .ok()
    }

    fn write_members<M: SerializeMap>(
        &self,
        (amount, currency): Self::Names,
        map: &mut M,
    ) -> Result<(), M::Error> {
        map.serialize_entry(amount, &self.amount)?;
        map.serialize_entry(currency, &self.currency)
    }
}

/// Optional money: both members, or neither.
impl FromMembers for Option<Money> {
    type Names = (&'static str, &'static str);

    fn from_members(
        fields: &Fields<'_>,
        names: Self::Names,
        errors: &mut ValidationErrors,
    ) -> Option<Self> {
        if !fields.has(names.0) && !fields.has(names.1) {
            return Some(None);
        }
        Money::from_members(fields, names, errors).map(Some)
    }

    fn write_members<M: SerializeMap>(
        &self,
        names: Self::Names,
        map: &mut M,
    ) -> Result<(), M::Error> {
        match self {
            Some(money) => money.write_members(names, map),
            None => Ok(()),
        }
    }
}

/// Money on its own, as an entry of a list of charges: `{"amount": "2.50", "currency": "GBP"}`.
const ON_ITS_OWN: (&str, &str) = ("amount", "currency");

impl FromJson for Money {
    fn from_json(value: &Value, path: &Path<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        from_object(value, path, ON_ITS_OWN, errors)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        write_object(self, ON_ITS_OWN, serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str, currency: &str) -> Result<Money, String> {
        Money::new(amount.parse()?, currency.parse()?)
    }

    #[test]
    fn currencies_are_sorted_for_binary_search() {
        assert!(CURRENCIES.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn known_currencies_carry_their_minor_units() {
        for (code, units) in [("GBP", 2), ("JPY", 0), ("BHD", 3), ("EUR", 2), ("CLF", 4)] {
            assert_eq!(
                code.parse::<Currency>().unwrap().minor_units(),
                units,
                "{code}"
            );
        }
    }

    #[test]
    fn unknown_and_fund_currency_codes_are_rejected() {
        for code in ["XXX", "XAU", "gbp", "GB", "GBPP", "", "ABC"] {
            assert!(code.parse::<Currency>().is_err(), "{code}");
        }
    }

    #[test]
    fn amounts_round_trip_exactly_as_written() {
        for text in [
            "0.01",
            "12345678901234.56",
            "1000",
            "1.10",
            "250.75",
            "1.17000",
        ] {
            assert_eq!(text.parse::<PositiveDecimal>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn malformed_amounts_are_rejected() {
        for text in [
            "-1",
            "0",
            "0.00",
            "1e3",
            "+1",
            " 1",
            "1 ",
            ".5",
            "1.",
            "01",
            "1,5",
            "NaN",
            "",
            "1.2.3",
            "0x10",
            "1234567890123456789",
        ] {
            assert!(
                text.parse::<PositiveDecimal>().is_err(),
                "{text:?} was accepted"
            );
        }
    }

    #[test]
    fn an_amount_may_not_be_finer_than_its_currency() {
        assert!(money("100.21", "GBP").is_ok());
        assert!(money("1.234", "GBP").is_err());
        assert!(money("1000", "JPY").is_ok());
        assert!(money("100.5", "JPY").is_err());
        assert!(money("1.234", "BHD").is_ok());
        assert!(money("1.2345", "BHD").is_err());
    }

    #[test]
    fn trailing_zeros_within_the_minor_unit_are_kept() {
        assert_eq!(money("2.50", "GBP").unwrap().amount().to_string(), "2.50");
    }
}
